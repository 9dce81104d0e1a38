#!/usr/bin/env python
"""Benchmark crmkit's contracts, payments and payment plans against hand-written SQL.

Part A — create contracts. N contracts (default 2,000), each with 3 product lines, one
``crm.contracts.create(rep, {...})`` call each. Baseline per contract, one transaction: the
number sequence upsert (``INSERT … ON CONFLICT … DO UPDATE … RETURNING``), ``INSERT`` of the
contract row, ``INSERT`` of its log row.

Part B — approve payments. N payments (default 1,000), each created and submitted through the
facade to a one-step payment flow (finance role), then approved one call each with
``crm.approvals.approve(finance, "payment", id)``. Baseline per payment, one transaction:
versioned ``UPDATE`` of the approval instance (its JSON document edited in SQL), ``DELETE`` of
its waiting row, ``UPDATE`` of the payment status, ``SELECT SUM`` of the contract's effective
payments, ``UPDATE`` of the contract's received amounts, ``INSERT`` of the two log rows.

Part C — due payment plans (回款提醒). P plans (default 100,000 over 25,000 contracts, ~800 of
them in the reminder range) loaded with ``bulk_insert`` and the row mappers;
``crm.contracts.due_plans(actor)`` for an ALL-scope admin and for a SELF-scope rep against ONE
hand-written SELECT of the due plans joined to their received sums.

Part D — received sums at scale. ``uow.plans.received_by_contract(<1,000 contract ids>)`` over
M payments (default 1,000,000 on PostgreSQL, 200,000 on SQLite) against the hand-written
``GROUP BY``.

Part C's contracts and plans are loaded first, so parts A and B write into tables that already
hold 25,000 contracts. Both engines (a SQLite file in a temp dir, PostgreSQL in a private
schema); crmkit and the hand-written SQL work on the same tables. Run
``python bench/bench_contracts.py --help``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
from _common import (
    Statements,
    add_cpu_option,
    add_postgres_options,
    analyze,
    banner,
    choose_postgres,
    postgres_engine,
    print_report,
    sqlite_engine,
    use_clock,
)
from sqlalchemy import Connection, Engine

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.base import bulk_insert
from crmkit.adapters.sqlalchemy.rows import PAYMENT_PLAN_ROWS, RECORD_ROWS
from crmkit.adapters.sqlalchemy.tables import contracts, payment_plans, payments, team_members
from crmkit.entities import User
from crmkit.entities.approvals import ApprovalInstance, ApprovalStatus
from crmkit.entities.contracts import CONTRACT, PAYMENT, Contract, Payment, PaymentPlan
from crmkit.entities.sales import ProductLine
from crmkit.serialization import structure

NOW = datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
"""The fixed clock: 10:00 on 2026-11-27 in Shanghai (crmkit's default zone)."""
TODAY = date(2026, 11, 27)
DAY = TODAY.strftime("%Y%m%d")
LOAD_CHUNK = 10_000
"""Rows per bulk_insert while loading."""
EFFECTIVE_SQL = "('approved', 'not_required')"
REPS = 10
DUE_LIMIT = 1000
"""Plans one due_plans call returns at most (its own limit; the hand-written SELECT's LIMIT)."""
"""Reps owning the contracts of part C (the SELF rep owns one in ten)."""


# -- helpers ----------------------------------------------------------------------------------


class Sql:
    """Hand-written statements sent with ``exec_driver_sql``: written with ``?`` marks (turned
    into ``%s`` for psycopg) and values in the form each driver stores for crmkit's columns."""

    def __init__(self, engine: Engine) -> None:
        self.pg = engine.dialect.name == "postgresql"

    def text(self, statement: str) -> str:
        return statement.replace("?", "%s") if self.pg else statement

    def run(self, conn: Connection, statement: str, *values: Any) -> Any:
        return conn.exec_driver_sql(self.text(statement), tuple(values))

    def money(self, value: Decimal) -> Any:
        return value if self.pg else str(value)

    def day(self, value: date) -> Any:
        return value if self.pg else value.isoformat()

    def stamp(self, value: datetime) -> Any:
        naive = value.astimezone(UTC).replace(tzinfo=None)
        return naive if self.pg else naive.isoformat(sep=" ", timespec="microseconds")

    @property
    def false(self) -> str:
        return "false" if self.pg else "0"


def load(conn: Connection, target: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Rows straight into crmkit's table (COPY on PostgreSQL, executemany on SQLite)."""
    for start in range(0, len(rows), LOAD_CHUNK):
        bulk_insert(conn, target, rows[start:start + LOAD_CHUNK])


TABLES = ("crm_contracts", "crm_payments", "crm_payment_plans", "crm_team_members",
          "crm_approval_instances", "crm_approval_waiting", "crm_operation_log")
"""The tables whose statistics are refreshed after a load."""


def median_ms(seconds: Sequence[float]) -> float:
    return statistics.median(seconds) * 1e3


@dataclass
class Result:
    """One line of the table: crmkit and every hand-written variant, per call."""

    label: str
    size: str
    crmkit_s: list[float] = field(default_factory=list)
    hand_s: dict[str, list[float]] = field(default_factory=dict)
    crmkit_statements: list[int] = field(default_factory=list)
    hand_statements: list[int] = field(default_factory=list)
    breakdown: Counter[str] = field(default_factory=Counter)
    """crmkit's statements by verb and table, over all its calls."""

    def per_call(self) -> str:
        calls = len(self.crmkit_statements)
        return ", ".join(f"{k} {round(v / calls, 3):g}" for k, v in self.breakdown.most_common())

    def best(self) -> tuple[str, float]:
        return min(((k, median_ms(v)) for k, v in self.hand_s.items()), key=lambda kv: kv[1])

    def cells(self, engine: str) -> list[str]:
        crm = median_ms(self.crmkit_s)
        name, hand = self.best()
        return [
            f"{engine} {self.label}",
            self.size,
            f"{crm:,.2f}",
            f"{hand:,.2f}",
            name,
            f"{crm / hand:.1f}x",
            f"{statistics.mean(self.crmkit_statements):,.1f}",
            f"{statistics.mean(self.hand_statements):,.1f}",
        ]

    def drift(self) -> str:
        """Median of the first and of the last tenth of the calls, crmkit then hand."""
        tenth = max(1, len(self.crmkit_s) // 10)
        hand = next(iter(self.hand_s.values()))
        return " / ".join(f"{side} {median_ms(runs[:tenth]):.2f} → {median_ms(runs[-tenth:]):.2f}"
                          for side, runs in (("crmkit", self.crmkit_s), ("hand", hand)))

    def variants(self) -> str:
        return ", ".join(f"{k} {median_ms(v):,.2f}" for k, v in self.hand_s.items())


def interleaved(jobs: Mapping[str, Callable[[], float]], repeats: int) -> dict[str, list[float]]:
    """Every job ``repeats + 1`` times in turn; the first round is a discarded warm-up."""
    runs: dict[str, list[float]] = {key: [] for key in jobs}
    for attempt in range(repeats + 1):
        for key, job in jobs.items():
            elapsed = job()
            if attempt:
                runs[key].append(elapsed)
    return runs


# -- the org ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    crm: CRM
    admin: User
    reps: tuple[User, ...]
    finance: User
    customer_id: str
    product_ids: tuple[str, ...]


def build_org(storage: SqlStorage) -> Org:
    """Admin, ten reps, a finance user, one customer of rep 0, three products; numbers with six
    digits (so a day holds up to 999,999 contracts)."""
    storage.create_schema()
    crm = CRM(storage, clock=FixedClock(NOW))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总",
                          admin_password="bench-pass-2024")
    top = crm.org.list_departments(admin)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(admin)}
    reps = tuple(
        crm.org.add_user(admin, {"mobile": f"139000000{n:02d}", "name": f"销售{n}",
                                 "department_id": top.id, "role_ids": [roles["sales_rep"]]})
        for n in range(REPS)
    )
    finance = crm.org.add_user(admin, {"mobile": "13700000000", "name": "钱会计",
                                       "department_id": top.id,
                                       "role_ids": [roles["finance"]]})
    customer = crm.customers.create(reps[0], {"name": "华为"})
    products = tuple(
        crm.products.create(admin, {"name": f"CRM 模块 {n}", "code": f"CRM-{n}",
                                    "price": "1000", "unit": "套"}).id
        for n in range(3)
    )
    for service in (crm.contracts, crm.payments):
        prefix = "HT" if service is crm.contracts else "HK"
        service.set_number_rule(admin, {"prefix": prefix, "digits": 6})
    crm.approvals.define_flow(admin, {
        "kind": "payment", "name": "回款审批", "start": "finance",
        "nodes": [{"type": "approver", "id": "finance", "source": "role",
                   "role_id": roles["finance"]}]})
    return Org(crm, admin, reps, finance, customer.id, products)


def line_payload(org: Org) -> list[dict[str, str]]:
    return [{"product_id": pid, "quantity": "2", "discount": "10"} for pid in org.product_ids]


# -- part A: create contracts -----------------------------------------------------------------


@dataclass(frozen=True)
class Priced:
    """What the hand-written side knows of the catalogue (read once): the lines as stored."""

    lines_json: str
    lines: list[dict[str, Any]]
    amount: Decimal


def price_lines(engine: Engine, org: Org) -> Priced:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT id, name, price, unit FROM crm_products ORDER BY id").all()
    by_id = {r[0]: r for r in rows}
    lines, amount = [], Decimal("0.00")
    for pid in org.product_ids:
        _, name, price, unit = by_id[pid]
        subtotal = (Decimal(str(price)) * 2 * Decimal("0.90")).quantize(Decimal("0.01"))
        amount += subtotal
        lines.append({"product_id": pid, "name": name, "price": f"{Decimal(str(price)):.2f}",
                      "quantity": "2", "discount": "10", "unit": unit,
                      "subtotal": f"{subtotal:.2f}"})
    return Priced(json.dumps(lines), lines, amount)


def hand_create(sql: Sql, engine: Engine, n: int, rep: str, customer: str, priced: Priced
                ) -> None:
    """One contract as a hand-written app writes it: number, row, log row."""
    with engine.begin() as conn:
        seq = sql.run(conn, "INSERT INTO crm_sequences (name, period, value) VALUES (?, ?, 1) "
                      "ON CONFLICT (name, period) DO UPDATE SET value = crm_sequences.value + 1 "
                      "RETURNING value", "contract_hand", DAY).scalar_one()
        number, cid, now = f"HH{DAY}{seq:06d}", f"hc{n:07d}", sql.stamp(NOW)
        name, amount = f"合同 {n}", sql.money(priced.amount)
        sql.run(conn, "INSERT INTO crm_contracts (id, number, customer_id, owner_id, created_by, "
                "created_at, updated_at, version, name, amount, order_date, lines, "
                "order_discount, received_amount, unreceived_amount, approval_status, custom) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, 0, 0, ?, 'draft', '{}')",
                cid, number, customer, rep, rep, now, now, name, amount, sql.day(TODAY),
                priced.lines_json, amount)
        changes = json.dumps([
            {"field": "name", "old": None, "new": name},
            {"field": "customer_id", "old": None, "new": customer},
            {"field": "owner_id", "old": None, "new": rep},
            {"field": "number", "old": None, "new": number},
            {"field": "amount", "old": None, "new": str(priced.amount)},
            {"field": "order_date", "old": None, "new": TODAY.isoformat()},
            {"field": "lines", "old": None, "new": priced.lines},
            {"field": "approval_status", "old": None, "new": "draft"},
            {"field": "unreceived_amount", "old": None, "new": str(priced.amount)},
        ])
        sql.run(conn, "INSERT INTO crm_operation_log (id, record_kind, record_id, actor_id, at, "
                "action, changes, note) VALUES (?, 'contract', ?, ?, ?, 'create', ?, '')",
                f"hl{n:07d}", cid, rep, now, changes)


def bench_create(engine: Engine, org: Org, stmts: Statements, n: int) -> Result:
    """crmkit and hand-written creations alternate, so both see the same table sizes."""
    crm, rep, sql = org.crm, org.reps[0], Sql(engine)
    priced = price_lines(engine, org)
    payload = {"customer_id": org.customer_id, "order_date": TODAY.isoformat(),
               "lines": line_payload(org)}
    result = Result("A create contract", f"{n:,} contracts")
    result.hand_s["3 stmts"] = []
    stmts.reset()
    made: list[Contract] = []
    for i in range(n):
        data = {**payload, "name": f"合同 {i}"}
        seconds, count, contract = stmts.measure(lambda: crm.contracts.create(rep, data))  # noqa: B023
        made.append(contract)
        result.crmkit_s.append(seconds)
        result.crmkit_statements.append(count)
        seconds, count, _ = stmts.measure(
            lambda: hand_create(sql, engine, i, rep.id, org.customer_id, priced),  # noqa: B023
            breakdown=False)
        result.hand_s["3 stmts"].append(seconds)
        result.hand_statements.append(count)
    result.breakdown = stmts.kinds
    check_created(engine, made, priced, n)
    return result


def check_created(engine: Engine, made: Sequence[Contract], priced: Priced, n: int) -> None:
    """Both sides wrote n contracts with the same amount and lines, numbered 1..n."""
    if len({c.number for c in made}) != n or any(c.amount != priced.amount for c in made):
        raise AssertionError("crmkit contracts: numbers not unique or amounts differ")
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT substr(number, 1, 2), count(*), count(DISTINCT number), min(amount), "
            "max(amount) FROM crm_contracts GROUP BY substr(number, 1, 2) ORDER BY 1").all()
        lines = conn.exec_driver_sql("SELECT lines FROM crm_contracts "
                                     "WHERE substr(number, 1, 2) = 'HH' LIMIT 1").scalar_one()
    found = {r[0]: r[1:] for r in rows}
    for prefix in ("HH", "HT"):
        count, distinct, low, high = found.get(prefix, (0, 0, 0, 0))
        if (count, distinct) != (n, n) or Decimal(str(low)) != Decimal(str(high)):
            raise AssertionError(f"{prefix} contracts: {found.get(prefix)} (expected {n})")
    if (json.loads(lines) if isinstance(lines, str) else lines) != json.loads(
            json.dumps(RECORD_ROWS[CONTRACT].to_row(made[0])["lines"])):
        raise AssertionError(f"the hand-written lines differ from crmkit's: {lines} against "
                             f"{RECORD_ROWS[CONTRACT].to_row(made[0])['lines']}")


# -- part B: approve payments -----------------------------------------------------------------


def hand_approve(sql: Sql, engine: Engine, n: int, payment_id: str, approver: str) -> None:
    """What a hand-written approval of a one-step payment writes."""
    now, at = sql.stamp(NOW), NOW.isoformat()
    entry = json.dumps({"actor_id": approver, "action": "approve", "at": at, "comment": "",
                        "step": 0, "node_id": "finance"})
    if sql.pg:
        document = ("jsonb_set(document || jsonb_build_object('status', 'approved', 'current', 1, "
                    "'version', version + 1, 'finished_at', ?::text, "
                    "'history', (document -> 'history') || ?::jsonb), "
                    "'{steps,0,approved_by}', jsonb_build_array(?::text))")
    else:
        document = ("json_set(document, '$.status', 'approved', '$.current', 1, "
                    "'$.version', version + 1, '$.finished_at', ?, "
                    "'$.history[#]', json(?), '$.steps[0].approved_by', json_array(?))")
    with engine.begin() as conn:
        instance = sql.run(
            conn, f"UPDATE crm_approval_instances SET status = 'approved', version = version + 1, "
            f"document = {document} WHERE record_kind = 'payment' AND record_id = ? "
            "AND version = ? AND status IN ('pending', 'in_review') AND EXISTS (SELECT 1 FROM "
            "crm_approval_waiting w WHERE w.instance_id = crm_approval_instances.id "
            "AND w.user_id = ?) RETURNING id", at, entry, approver, payment_id, 1, approver,
        ).scalar_one_or_none()
        if instance is None:
            raise AssertionError(f"payment {payment_id}: no pending approval for {approver}")
        sql.run(conn, "DELETE FROM crm_approval_waiting WHERE instance_id = ?", instance)
        contract = sql.run(
            conn, "UPDATE crm_payments SET approval_status = 'approved', approval_id = ?, "
            "version = version + 1, updated_at = ? WHERE id = ? RETURNING contract_id",
            instance, now, payment_id).scalar_one()
        total = "coalesce(sum(amount), 0)" if sql.pg else "coalesce(sum(round(amount * 100)), 0)"
        received = sql.run(
            conn, f"SELECT {total} FROM crm_payments WHERE contract_id = ? "
            f"AND approval_status IN {EFFECTIVE_SQL}", contract).scalar_one()
        received = received if sql.pg else (Decimal(int(received)) / 100).quantize(
            Decimal("0.01"))
        sql.run(conn, "UPDATE crm_contracts SET received_amount = ?, "
                "unreceived_amount = amount - ?, version = version + 1, updated_at = ? "
                "WHERE id = ?", sql.money(received), sql.money(received), now, contract)
        status = json.dumps([{"field": "approval_status", "old": "pending", "new": "approved"}])
        amounts = json.dumps([{"field": "received_amount", "old": None, "new": str(received)}])
        sql.run(conn, "INSERT INTO crm_operation_log (id, record_kind, record_id, actor_id, at, "
                "action, changes, note) VALUES (?, 'payment', ?, ?, ?, 'approval.approve', ?, ''), "
                "(?, 'contract', ?, ?, ?, 'received', ?, '')",
                f"hb{n:07d}a", payment_id, approver, now, status,
                f"hb{n:07d}r", contract, approver, now, amounts)


def make_payments(org: Org, n: int, side: str) -> list[str]:
    """n/10 contracts in force (无需审批: no contract flow) and n payments of 100.00 on them,
    each created and submitted to the payment flow through the facade."""
    crm, rep = org.crm, org.reps[0]
    data = {"customer_id": org.customer_id, "lines": line_payload(org)}
    held = [crm.contracts.create(rep, {**data, "name": f"{side} 回款合同 {k}"}, submit=True).id
            for k in range(max(1, n // 10))]
    return [
        crm.payments.create(rep, {"contract_id": held[i % len(held)], "paid_on": TODAY.isoformat(),
                                  "amount": "100", "method": "电汇"}, submit=True).id
        for i in range(n)
    ]


def bench_approve(engine: Engine, org: Org, stmts: Statements, n: int) -> tuple[Result, float]:
    crm, finance, sql = org.crm, org.finance, Sql(engine)
    start = time.perf_counter()
    mine, theirs = make_payments(org, n, "crmkit"), make_payments(org, n, "hand")
    setup_s = time.perf_counter() - start
    analyze(engine, TABLES)
    result = Result("B approve payment", f"{n:,} payments")
    result.hand_s["6 stmts"] = []
    stmts.reset()
    for i in range(n):
        seconds, count, _ = stmts.measure(
            lambda: crm.approvals.approve(finance, "payment", mine[i]))  # noqa: B023
        result.crmkit_s.append(seconds)
        result.crmkit_statements.append(count)
        seconds, count, _ = stmts.measure(
            lambda: hand_approve(sql, engine, i, theirs[i], finance.id),  # noqa: B023
            breakdown=False)
        result.hand_s["6 stmts"].append(seconds)
        result.hand_statements.append(count)
    result.breakdown = stmts.kinds
    check_approved(engine, mine, theirs)
    return result, setup_s


def check_approved(engine: Engine, mine: Sequence[str], theirs: Sequence[str]) -> None:
    """Same statuses, received amounts, waiting rows and approval documents (read back as
    crmkit entities, ids aside) on both sides."""
    sql = Sql(engine)
    among = "= ANY(?)" if sql.pg else "IN (SELECT value FROM json_each(?))"

    def side(conn: Connection, ids: Sequence[str]) -> tuple[Any, ...]:
        chosen = list(ids) if sql.pg else json.dumps(list(ids))
        approved = sql.run(conn, "SELECT count(*) FROM crm_payments WHERE approval_status = "
                           f"'approved' AND id {among}", chosen).scalar_one()
        received = sql.run(conn, "SELECT sum(received_amount), sum(unreceived_amount) FROM "
                           "crm_contracts WHERE id IN (SELECT contract_id FROM crm_payments "
                           f"WHERE id {among})", chosen).one()
        waiting = sql.run(conn, "SELECT count(*) FROM crm_approval_waiting w JOIN "
                          "crm_approval_instances i ON i.id = w.instance_id WHERE i.record_id "
                          f"{among}", chosen).scalar_one()
        document = sql.run(conn, "SELECT document FROM crm_approval_instances WHERE "
                           "record_kind = 'payment' AND record_id = ?", ids[-1]).scalar_one()
        instance = structure(json.loads(document) if isinstance(document, str) else document,
                             ApprovalInstance)
        return (approved, tuple(Decimal(str(v)).quantize(Decimal("0.01")) for v in received),
                waiting, attrs.evolve(instance, id="", record_id=""))

    with engine.connect() as conn:
        ours, hand = side(conn, mine), side(conn, theirs)
    if ours != hand or ours[0] != len(mine) or ours[3].status is not ApprovalStatus.APPROVED:
        raise AssertionError(f"approvals differ:\n  crmkit {ours}\n  hand   {hand}")


# -- part C: due payment plans ----------------------------------------------------------------


@dataclass(frozen=True)
class PlanData:
    plans: int
    contracts: int
    in_range: int
    """Plans not void whose reminder day has come (what ``due()`` reads)."""


def seed_plans(engine: Engine, org: Org, n_plans: int, n_contracts: int, due: int, seed: int
               ) -> PlanData:
    """Contracts ``C…`` owned by the ten reps in turn (every 97th void); plans ``P…``, plan g
    of contract g // per. Every stride-th plan is in the reminder range (planned 30 days ago
    to 9 days ahead, remind 10 days before); of those, one in 11 is void, and one in four each
    has an approved payment of its full amount (done), of half (partial), a pending payment
    (not counted) or none (drawn with ``seed``). The other plans are planned 30–730 days
    ahead. Rep 0 is on the team of every 50th contract (read)."""
    per = max(1, n_plans // n_contracts)
    stride = max(1, n_plans // due)
    reps = [r.id for r in org.reps]
    line = ProductLine(org.product_ids[0], "CRM 模块 0", Decimal("1000.00"), Decimal("2"),
                       Decimal("10"), "套", Decimal("1800.00"))
    made_contracts = [RECORD_ROWS[CONTRACT].to_row(Contract(
        id=f"C{c:07d}", name=f"计划合同 {c}", customer_id=f"CU{c % 5000:05d}",
        owner_id=reps[c % REPS], created_by=reps[c % REPS], created_at=NOW, updated_at=NOW,
        number=f"SC{c:08d}", amount=Decimal("100000.00"), lines=(line,),
        approval_status=ApprovalStatus.VOID if c % 97 == 5 else ApprovalStatus.APPROVED,
        unreceived_amount=Decimal("100000.00"))) for c in range(n_contracts)]
    made_plans, made_payments, in_range = [], [], 0
    draw = random.Random(seed)
    for g in range(n_plans):
        c = min(g // per, n_contracts - 1)
        owner = reps[c % REPS]
        amount = Decimal(1000 + g % 9000) + Decimal("0.50")
        k, due_plan = g // stride, g % stride == 0
        voided, state = due_plan and draw.randrange(11) == 0, draw.randrange(4)
        if due_plan:
            planned, remind = TODAY + timedelta(days=k % 40 - 30), 10
            in_range += not voided
        else:
            planned, remind = TODAY + timedelta(days=30 + g % 700), g % 8
        plan = PaymentPlan(f"P{g:07d}", f"C{c:07d}", f"CU{c % 5000:05d}", g % per + 1,
                           amount, planned, owner, NOW, "电汇", remind, None, voided)
        made_plans.append(PAYMENT_PLAN_ROWS.to_row(plan))
        if due_plan and state != 3:
            paid = amount if state != 1 else (amount / 2).quantize(Decimal("0.01"))
            status = ApprovalStatus.PENDING if state == 2 else ApprovalStatus.APPROVED
            made_payments.append(RECORD_ROWS[PAYMENT].to_row(Payment(
                id=f"Y{g:07d}", contract_id=f"C{c:07d}", owner_id=owner, created_by=owner,
                created_at=NOW, updated_at=NOW, number=f"HKC{g:08d}",
                customer_id=f"CU{c % 5000:05d}", plan_id=f"P{g:07d}", paid_on=TODAY,
                amount=paid, method="电汇", approval_status=status)))
    team = [{"record_kind": "contract", "record_id": f"C{c:07d}", "user_id": reps[0],
             "access": "read"} for c in range(7, n_contracts, 50)]
    with engine.begin() as conn:
        load(conn, contracts, made_contracts)
        load(conn, payment_plans, made_plans)
        load(conn, payments, made_payments)
        load(conn, team_members, team)
    analyze(engine, TABLES)
    return PlanData(n_plans, n_contracts, in_range)


def hand_due(sql: Sql, variant: str, scope: str | None) -> str:
    """ONE SELECT: the due plans (not void, contract not void, not fully received) with their
    received sums, by planned date then id. ``scope``: the rep whose own contracts and team
    contracts are visible (None: all)."""
    day = f"date '{TODAY.isoformat()}'" if sql.pg else f"'{TODAY.isoformat()}'"
    seen = "" if scope is None else (
        f" AND (c.owner_id = '{scope}' OR c.id IN (SELECT record_id FROM crm_team_members "
        f"WHERE record_kind = 'contract' AND user_id = '{scope}'))")
    due = f"p.remind_on <= {day} AND p.voided = {sql.false}"
    if variant == "group-by":
        return (
            "SELECT p.*, coalesce(r.received, 0) AS received FROM crm_payment_plans p "
            "JOIN crm_contracts c ON c.id = p.contract_id "
            "LEFT JOIN (SELECT y.plan_id, sum(y.amount) AS received FROM crm_payments y "
            f"JOIN crm_payment_plans q ON q.id = y.plan_id WHERE q.remind_on <= {day} "
            f"AND y.approval_status IN {EFFECTIVE_SQL} GROUP BY y.plan_id) r "
            f"ON r.plan_id = p.id WHERE {due} AND c.approval_status <> 'void'{seen} "
            "AND coalesce(r.received, 0) < p.amount ORDER BY p.planned_date, p.id"
            f" LIMIT {DUE_LIMIT}"
        )
    return (
        "SELECT * FROM (SELECT p.*, (SELECT coalesce(sum(y.amount), 0) FROM crm_payments y "
        f"WHERE y.plan_id = p.id AND y.approval_status IN {EFFECTIVE_SQL}) AS received "
        "FROM crm_payment_plans p JOIN crm_contracts c ON c.id = p.contract_id "
        f"WHERE {due} AND c.approval_status <> 'void'{seen}) s "
        "WHERE s.received < s.amount ORDER BY s.planned_date, s.id"
        f" LIMIT {DUE_LIMIT}"
    )


def bench_due(engine: Engine, org: Org, stmts: Statements, data: PlanData, repeats: int
              ) -> tuple[list[Result], list[str]]:
    crm, sql = org.crm, Sql(engine)
    results, notes = [], []
    for who, actor, scope in (("ALL", org.admin, None), ("SELF", org.reps[0], org.reps[0].id)):
        queries = {v: hand_due(sql, v, scope) for v in ("group-by", "correlated")}
        views = crm.contracts.due_plans(actor, limit=DUE_LIMIT)
        ours = [(v.plan.id, v.received) for v in views]
        with engine.connect() as conn:
            theirs = {v: [(r.id, Decimal(str(r.received)).quantize(Decimal("0.01")))
                          for r in conn.exec_driver_sql(q).all()] for v, q in queries.items()}
        if theirs["group-by"] != theirs["correlated"]:
            raise AssertionError(f"due plans {who}: the hand-written variants differ")
        if ours != theirs["group-by"]:
            raise AssertionError(f"due plans {who}: crmkit {len(ours)} rows, hand "
                                 f"{len(theirs['group-by'])}")
        stmts.reset()
        counts: list[int] = []

        def ours_job(actor: User = actor, counts: list[int] = counts) -> float:
            seconds, count, _ = stmts.measure(
                lambda: crm.contracts.due_plans(actor, limit=DUE_LIMIT))
            counts.append(count)
            return seconds

        def hand_job(query: str) -> Callable[[], float]:
            def run() -> float:
                with engine.connect() as conn:
                    seconds, _, _ = stmts.measure(lambda: conn.exec_driver_sql(query).all(),
                                                  breakdown=False)
                return seconds
            return run

        jobs = {"crmkit": ours_job, **{v: hand_job(q) for v, q in queries.items()}}
        runs = interleaved(jobs, repeats)
        truth = len(theirs["group-by"])
        result = Result(f"C due plans {who}", f"{data.plans:,} plans, {truth:,} due"
                        + ("" if len(ours) == truth else f" (crmkit {len(ours):,})"))
        result.crmkit_s = runs.pop("crmkit")
        result.hand_s = runs
        result.crmkit_statements = counts
        result.hand_statements = [1]
        results.append(result)
        result.breakdown = stmts.kinds
        notes.append(f"  C due plans {who}: crmkit statements per call: {result.per_call()}; "
                     f"hand variants (ms): {result.variants()}")
    notes.append(f"  C data: {data.plans:,} plans over {data.contracts:,} contracts, "
                 f"{data.in_range:,} in the reminder range (not void)")
    return results, notes


# -- part D: received sums at scale -----------------------------------------------------------


def seed_payments(engine: Engine, org: Org, n_payments: int, n_contracts: int) -> None:
    """Payments ``Z…`` on contracts ``D…`` (g mod n_contracts): 8 in 10 approved, 1 pending,
    1 void (by g div n_contracts, so each contract has all three). Rows are copies of one
    ``RECORD_ROWS[PAYMENT].to_row`` row with the varying columns set."""
    rep = org.reps[0].id
    template = RECORD_ROWS[PAYMENT].to_row(Payment(
        id="", contract_id="", owner_id=rep, created_by=rep, created_at=NOW, updated_at=NOW,
        customer_id="CU00000", paid_on=TODAY, amount=Decimal("1.00"), method="电汇",
        approval_status=ApprovalStatus.APPROVED))
    statuses = ["approved"] * 8 + ["pending", "void"]
    with engine.begin() as conn:
        for start in range(0, n_payments, LOAD_CHUNK):
            rows = [{**template, "id": f"Z{g:08d}", "number": f"HKD{g:08d}",
                     "contract_id": f"D{g % n_contracts:07d}",
                     "amount": Decimal(100 + g % 900) + Decimal(g % 100) / 100,
                     "approval_status": statuses[g // n_contracts % 10]}
                    for g in range(start, min(n_payments, start + LOAD_CHUNK))]
            bulk_insert(conn, payments, rows)
    analyze(engine, TABLES)


def bench_received(engine: Engine, storage: SqlStorage, org: Org, stmts: Statements,
                   n_payments: int, n_ids: int, repeats: int, seed: int
                   ) -> tuple[Result, str, float]:
    n_contracts = max(n_ids, n_payments // 20)
    start = time.perf_counter()
    seed_payments(engine, org, n_payments, n_contracts)
    load_s = time.perf_counter() - start
    ids = sorted(f"D{c:07d}" for c in random.Random(seed).sample(range(n_contracts), n_ids))
    sql = Sql(engine)
    listed = ", ".join(f"'{i}'" for i in ids)
    total = "sum(amount)" if sql.pg else "sum(round(amount * 100))"
    shape = (f"SELECT contract_id, {total} FROM crm_payments WHERE contract_id {{}} "
             f"AND approval_status IN {EFFECTIVE_SQL} GROUP BY contract_id")
    variants: dict[str, tuple[str, tuple[Any, ...]]] = {"in-list": (shape.format(f"IN ({listed})"),
                                                                    ())}
    if sql.pg:
        variants["any-array"] = (shape.format("= ANY(%s)"), (ids,))
    else:
        variants["json-each"] = (shape.format("IN (SELECT value FROM json_each(?))"),
                                 (json.dumps(ids),))

    def hand_cents(rows: Sequence[Any]) -> dict[str, Decimal]:
        return {k: Decimal(v) if sql.pg else Decimal(int(v)).scaleb(-2) for k, v in rows}

    with storage.transaction() as uow:
        expected = uow.plans.received_by_contract(ids)
    counts: list[int] = []

    def ours_job() -> float:
        with storage.transaction() as uow:
            seconds, count, found = stmts.measure(lambda: uow.plans.received_by_contract(ids))
        counts.append(count)
        if found != expected:
            raise AssertionError("received_by_contract changed between runs")
        return seconds

    def hand_job(statement: str, params: tuple[Any, ...]) -> Callable[[], float]:
        def run() -> float:
            with engine.connect() as conn:
                seconds, _, rows = stmts.measure(
                    lambda: conn.exec_driver_sql(statement, params).all(), breakdown=False)
            if hand_cents(rows) != expected:
                raise AssertionError("the hand-written sums differ from crmkit's")
            return seconds
        return run

    jobs = {"crmkit": ours_job, **{k: hand_job(*v) for k, v in variants.items()}}
    runs = interleaved(jobs, repeats)
    result = Result("D received by contract", f"{n_ids:,} of {n_payments:,} payments")
    result.crmkit_s = runs.pop("crmkit")
    result.hand_s = runs
    result.crmkit_statements = counts
    result.hand_statements = [1]
    note = (f"  D received by contract: {len(expected):,} sums; hand variants (ms): "
            f"{result.variants()}; load of {n_payments:,} payments over {n_contracts:,} "
            f"contracts {load_s:.1f} s")
    return result, note, load_s


# -- engines ----------------------------------------------------------------------------------


def bench_engine(name: str, engine: Engine, args: argparse.Namespace, n_payments: int
                 ) -> tuple[list[list[str]], list[str]]:
    storage = SqlStorage(engine)
    start = time.perf_counter()
    org = build_org(storage)
    stmts = Statements(engine)
    rows: list[list[str]] = []
    notes: list[str] = [f"{name}:"]

    def done(result: Result) -> None:
        rows.append(result.cells(name))
        print("  done:", "  ".join(rows[-1]), flush=True)

    start_c = time.perf_counter()
    data = seed_plans(engine, org, args.plans, args.plan_contracts, args.due, args.seed)
    seed_s = time.perf_counter() - start_c
    created = bench_create(engine, org, stmts, args.contracts)
    done(created)
    notes.append(f"  A create contract: crmkit statements per contract: {created.per_call()}")
    notes.append(f"  A first / last tenth of the calls (ms): {created.drift()}")
    approved, setup_s = bench_approve(engine, org, stmts, args.approvals)
    done(approved)
    notes.append(f"  B approve payment: crmkit statements per approval: {approved.per_call()}")
    notes.append(f"  B first / last tenth of the calls (ms): {approved.drift()}")
    notes.append(f"  B setup: 2 x {args.approvals:,} payments created and submitted through the "
                 f"facade, {setup_s:.1f} s")
    due, more = bench_due(engine, org, stmts, data, args.repeats)
    for result in due:
        done(result)
    notes += more
    notes.append(f"  C load (before part A): {seed_s:.1f} s")
    received, note, _ = bench_received(engine, storage, org, stmts, n_payments, args.ids,
                                       args.repeats, args.seed)
    done(received)
    notes.append(note)
    notes.append(f"  {name} wall time {time.perf_counter() - start:.0f} s")
    return rows, notes


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--contracts", type=int,
                        help="A: contracts created, one call each (2,000; quick 200)")
    parser.add_argument("--approvals", type=int,
                        help="B: payments approved, one call each (1,000; quick 100)")
    parser.add_argument("--plans", type=int, help="C: payment plans (100,000; quick 10,000)")
    parser.add_argument("--plan-contracts", type=int,
                        help="C: contracts the plans belong to (25,000; quick 2,500)")
    parser.add_argument("--due", type=int,
                        help="C: plans in the reminder range, about (800; quick 400); both "
                        f"sides return at most {DUE_LIMIT:,}")
    parser.add_argument("--payments", type=int,
                        help="D: payments on PostgreSQL (1,000,000; quick 50,000)")
    parser.add_argument("--sqlite-payments", type=int,
                        help="D: payments on SQLite (200,000; quick 50,000)")
    parser.add_argument("--ids", type=int, default=1000,
                        help="D: contract ids summed in one call (default 1,000)")
    parser.add_argument("--repeats", type=int,
                        help="C and D: timed runs per variant (default 7; quick 3)")
    parser.add_argument("--seed", type=int, default=2024,
                        help="C: seed for the due plans' payments; D: for the id sample")
    parser.add_argument("--quick", action="store_true",
                        help="small run for smoke tests (under a minute)")
    add_cpu_option(parser)
    args = parser.parse_args(argv)
    use_clock(args)
    quick = args.quick
    args.contracts = args.contracts or (200 if quick else 2_000)
    args.approvals = args.approvals or (100 if quick else 1_000)
    args.plans = args.plans or (10_000 if quick else 100_000)
    args.plan_contracts = args.plan_contracts or (2_500 if quick else 25_000)
    args.due = args.due or (400 if quick else 800)
    args.payments = args.payments or (50_000 if quick else 1_000_000)
    args.sqlite_payments = args.sqlite_payments or (50_000 if quick else 200_000)
    args.repeats = args.repeats or (3 if quick else 7)
    args.ids = min(args.ids, args.payments, args.sqlite_payments)

    pg_url, pg_version = choose_postgres(args)

    started = time.perf_counter()
    print(banner("contracts", pg_version, quick), flush=True)
    results: list[list[str]] = []
    notes: list[str] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as directory:
            engine = sqlite_engine(directory)
            rows, more = bench_engine("sqlite", engine, args, args.sqlite_payments)
            engine.dispose()
        results += rows
        notes += more
    if pg_url:
        with postgres_engine(pg_url, "crmkit_bench_contracts") as engine:
            rows, more = bench_engine("pg", engine, args, args.payments)
        results += rows
        notes += more
    title = (
        "Contracts and payments: crmkit vs hand-written SQL on the same engine and tables\n"
        "  A, B: one facade call per record, crmkit and hand-written calls alternating; median "
        "ms per call;\n"
        f"  C, D: one call, median of {args.repeats} runs after a warm-up, variants in turn;\n"
        "  ratio = crmkit / best hand; stmts = statements sent to the driver per call (mean; "
        "BEGIN counts on SQLite, COPY does not)."
    )
    headers = ["engine part", "size", "crmkit ms", "hand ms", "best hand", "ratio",
               "crmkit stmts", "hand stmts"]
    print_report(title, headers, results, notes, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
