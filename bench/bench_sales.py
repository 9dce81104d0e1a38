#!/usr/bin/env python
"""Benchmark crmkit's batch sales operations against hand-written SQL.

Part A — lead conversion. 10,000 leads (each naming a contact person) are converted in ONE
``crm.leads.convert(actor, ids)`` call: 10,000 customers and 10,000 contacts are created, the
leads are marked converted and 30,000 operation-log entries are written. The baseline does the
same writes by hand: ``INSERT … SELECT`` customers and contacts from the leads, one
``UPDATE crm_leads``, ``INSERT … SELECT`` the log entries.

Part B — batch transfer with cascade. 100,000 customers, each with one contact and one
opportunity, are given to another user in ONE ``crm.customers.transfer(actor, ids, to,
move_related=("contact", "opportunity", "contract"))`` call (300,000 owner changes, 300,000
log entries). The baseline: one ``UPDATE`` per table and ``INSERT … SELECT`` the log entries.

Both run on SQLite (a file in a temp dir) and PostgreSQL, each side on its own copy of the data
in the same tables. Run ``python bench/bench_sales.py --help``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import (
    Statements,
    add_cpu_option,
    add_postgres_options,
    add_profile_option,
    analyze,
    banner,
    choose_postgres,
    on_each_engine,
    print_report,
    profiled,
    timed_call,
    use_clock,
)
from sqlalchemy import Connection, Engine, func, select

from crmkit import CRM
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.base import bulk_insert
from crmkit.adapters.sqlalchemy.rows import RECORD_ROWS
from crmkit.adapters.sqlalchemy.tables import (
    contacts,
    customers,
    leads,
    opportunities,
)
from crmkit.entities import User
from crmkit.entities.leads import LEAD, Lead
from crmkit.entities.sales import (
    CONTACT,
    CUSTOMER,
    OPPORTUNITY,
    Contact,
    Customer,
    Opportunity,
    ProductLine,
)
from crmkit.workflow.arguments import MAX_IDS

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
LOAD_CHUNK = 10_000
"""Rows per executemany while loading."""
RELATED = ("contact", "opportunity", "contract")
"""What the cascade moves along with the customers (contracts: none here, still looked up)."""


# -- helpers ----------------------------------------------------------------------------------


def load(conn: Connection, target: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Rows straight into crmkit's table (COPY on PostgreSQL, executemany on SQLite)."""
    for start in range(0, len(rows), LOAD_CHUNK):
        bulk_insert(conn, target, rows[start:start + LOAD_CHUNK])


@dataclass
class Result:
    label: str
    rows: int
    crmkit_s: list[float] = field(default_factory=list)
    hand_s: list[float] = field(default_factory=list)
    crmkit_statements: Counter[str] = field(default_factory=Counter)
    hand_statements: int = 0
    calls: int = 1
    """Facade calls the records took (at most ``MAX_IDS`` ids per call)."""

    def cells(self) -> list[str]:
        crm, hand = statistics.median(self.crmkit_s), statistics.median(self.hand_s)
        total = sum(self.crmkit_statements.values())
        return [
            self.label,
            f"{self.rows:,}",
            f"{self.calls:,}",
            f"{crm * 1e3:,.0f}",
            f"{hand * 1e3:,.0f}",
            f"{crm / hand:.2f}x",
            f"{total:,}",
            f"{total / self.calls:,.1f}",
            f"{self.hand_statements / self.calls:,.1f}",
        ]


# -- the org ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    crm: CRM
    admin: User
    reps: tuple[User, ...]


def build_org(storage: SqlStorage) -> Org:
    storage.create_schema()
    crm = CRM(storage)
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总",
                          admin_password="bench-pass-2024")
    top = crm.org.list_departments(admin)[0]
    role = next(r.id for r in crm.org.list_roles(admin) if r.code == "sales_rep")
    reps = tuple(
        crm.org.add_user(admin, {"mobile": f"1390000000{n}", "name": f"销售{n}",
                                 "department_id": top.id, "role_ids": [role]})
        for n in range(4)
    )
    return Org(crm, admin, reps)


def _text(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _true(conn: Connection) -> str:
    return "true" if conn.dialect.name == "postgresql" else "1"


def _now_sql(conn: Connection, at: datetime) -> str:
    """A naive-UTC timestamp literal as crmkit stores it."""
    text = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return f"timestamp '{text}'" if conn.dialect.name == "postgresql" else _text(text)


# -- part A: convert leads --------------------------------------------------------------------


def make_leads(prefix: str, n: int, owner: str) -> list[dict[str, Any]]:
    return [
        RECORD_ROWS[LEAD].to_row(Lead(
            id=f"{prefix}{i:07d}", name=f"{prefix} 公司 {i:07d}", owner_id=owner,
            created_by=owner, created_at=T0, updated_at=T0, contact_name=f"联系人 {i}",
            mobile=f"138{i:08d}", phone="010-12345678", email=f"p{i}@example.cn",
            source="广告", industry="IT", level="A", address="北京市海淀区",
            remark="bench", next_contact_at=T0 + timedelta(days=3),
        ))
        for i in range(n)
    ]


def hand_convert(conn: Connection, lo: str, hi: str, at: datetime) -> None:
    """What a hand-written conversion of the leads ``lo`` ≤ id < ``hi`` writes: customers,
    contacts, converted leads, log."""
    now, true = _now_sql(conn, at), _true(conn)
    chosen = f"l.id >= {_text(lo)} AND l.id < {_text(hi)}"
    cid, kid = "'hc' || l.id", "'hk' || l.id"
    false = "false" if conn.dialect.name == "postgresql" else "0"
    conn.exec_driver_sql(
        "INSERT INTO crm_customers (id, name, owner_id, created_by, created_at, updated_at, "
        "version, level, industry, source, deal_status, phone, mobile, email, address, remark, "
        "next_contact_at, locked, received_at, lead_id, custom) "
        f"SELECT {cid}, l.name, l.owner_id, l.owner_id, {now}, {now}, 1, l.level, l.industry, "
        f"l.source, '未成交', l.phone, l.mobile, l.email, l.address, l.remark, "
        f"l.next_contact_at, {false}, {now}, l.id, '{{}}' "
        f"FROM crm_leads l WHERE {chosen}"
    )
    conn.exec_driver_sql(
        "INSERT INTO crm_contacts (id, name, customer_id, owner_id, created_by, created_at, "
        'updated_at, version, mobile, phone, email, decision_maker, "primary", custom) '
        f"SELECT {kid}, l.contact_name, {cid}, l.owner_id, "
        f"l.owner_id, {now}, {now}, 1, l.mobile, l.phone, l.email, "
        f"{false}, {true}, '{{}}' "
        f"FROM crm_leads l WHERE {chosen} AND l.contact_name IS NOT NULL"
    )
    conn.exec_driver_sql(
        f"UPDATE crm_leads SET converted = {true}, converted_at = {now}, "
        "customer_id = 'hc' || id, version = version + 1, "
        f"updated_at = {now} WHERE id >= {_text(lo)} AND id < {_text(hi)}"
    )
    for kind, source, action in (("customer", "'hc'", "create"), ("contact", "'hk'", "create"),
                                 ("lead", "''", "convert")):
        conn.exec_driver_sql(
            "INSERT INTO crm_operation_log (id, record_kind, record_id, actor_id, at, action, "
            "changes, note) "
            f"SELECT 'hl{kind[:2]}' || l.id, '{kind}', {source} || l.id, l.owner_id, {now}, "
            f"'{action}', '[]', '' "
            f"FROM crm_leads l WHERE {chosen}"
        )


def batches(prefix: str, n: int) -> list[tuple[list[str], str, str]]:
    """The ids ``<prefix><0000000>`` … in calls of at most ``MAX_IDS`` (what one facade call
    takes), each with its id range [lo, hi) for the hand-written side."""
    return [([f"{prefix}{i:07d}" for i in range(start, min(n, start + MAX_IDS))],
             f"{prefix}{start:07d}", f"{prefix}{min(n, start + MAX_IDS):07d}"
             if start + MAX_IDS < n else prefix + "~")
            for start in range(0, n, MAX_IDS)]


def timed_round(stmts: Statements, result: Result, ours: Callable[[], None],
                hand: Callable[[], None], top: int) -> str:
    """One round: crmkit's calls (under cProfile when ``top``: its report is returned) and the
    hand-written side, each timed and its statements counted into ``result``."""
    stmts.reset()
    report = ""
    if top:
        with stmts.counting():
            seconds, (_, report) = timed_call(lambda: profiled(ours, top))
    else:
        seconds, _, _ = stmts.measure(ours)
    result.crmkit_s.append(seconds)
    result.crmkit_statements = Counter(stmts.kinds)
    seconds, result.hand_statements, _ = stmts.measure(hand, breakdown=False)
    result.hand_s.append(seconds)
    return report


def bench_convert(engine: Engine, org: Org, stmts: Statements, n: int, repeats: int,
                  top: int) -> tuple[Result, str]:
    """Each round converts N fresh leads per side, in calls of ``MAX_IDS`` (one transaction
    each, as a host calls the facade; the hand-written side commits per batch alike)."""
    crm, owner = org.crm, org.reps[0].id
    result = Result("convert leads", n)
    report = ""
    for round_no in range(repeats):
        mine, theirs = f"A{round_no}x", f"B{round_no}x"
        with engine.begin() as conn:
            load(conn, leads, make_leads(mine, n, owner))
            load(conn, leads, make_leads(theirs, n, owner))
        analyze(engine, TABLES)

        def ours() -> None:
            for ids, _, _ in batches(mine, n):  # noqa: B023
                crm.leads.convert(org.admin, ids)

        def hand() -> None:
            for _, lo, hi in batches(theirs, n):  # noqa: B023
                with engine.begin() as conn:
                    hand_convert(conn, lo, hi, T0)

        report = timed_round(stmts, result, ours, hand, top if round_no == 0 else 0) or report
        result.calls = len(batches(mine, n))
        check_conversion(engine, mine, "", n)
        check_conversion(engine, theirs, "hc", n)
    return result, report


def check_conversion(engine: Engine, prefix: str, customer_prefix: str, n: int) -> None:
    """Both sides must have written the same rows."""
    upper = prefix + "~"
    with engine.connect() as conn:
        converted = conn.execute(select(func.count()).where(
            leads.c.id >= prefix, leads.c.id < upper, leads.c.converted.is_(True),
            leads.c.customer_id.is_not(None))).scalar_one()
        made = conn.execute(select(func.count()).where(
            customers.c.lead_id >= prefix, customers.c.lead_id < upper)).scalar_one()
        people = conn.execute(select(func.count()).select_from(contacts).join(
            customers, customers.c.id == contacts.c.customer_id).where(
            customers.c.lead_id >= prefix, customers.c.lead_id < upper)).scalar_one()
    if (converted, made, people) != (n, n, n):
        raise AssertionError(f"conversion {prefix}: {converted} leads, {made} customers, "
                             f"{people} contacts (expected {n} each)")
    del customer_prefix


# -- part B: transfer customers with cascade --------------------------------------------------


def make_customers(prefix: str, n: int, owner: str) -> tuple[list[dict[str, Any]], ...]:
    line = ProductLine("P1", "服务器", Decimal("12.50"), Decimal("2"), Decimal("0"), "台",
                       Decimal("25.00"))
    made_customers, made_contacts, made_opportunities = [], [], []
    for i in range(n):
        cid = f"{prefix}C{i:07d}"
        made_customers.append(RECORD_ROWS[CUSTOMER].to_row(Customer(
            id=cid, name=f"{prefix} 客户 {i:07d}", owner_id=owner, created_by=owner,
            created_at=T0, updated_at=T0, level="B", industry="IT", source="广告",
            mobile=f"139{i:08d}", received_at=T0)))
        made_contacts.append(RECORD_ROWS[CONTACT].to_row(Contact(
            id=f"{prefix}K{i:07d}", name=f"联系人 {i}", customer_id=cid, owner_id=owner,
            created_by=owner, created_at=T0, updated_at=T0, primary=True)))
        made_opportunities.append(RECORD_ROWS[OPPORTUNITY].to_row(Opportunity(
            id=f"{prefix}O{i:07d}", name=f"商机 {i}", customer_id=cid, owner_id=owner,
            created_by=owner, created_at=T0, updated_at=T0, stage_group_id="G1",
            amount=Decimal("25.00"), lines=(line,))))
    return made_customers, made_contacts, made_opportunities


def hand_transfer(conn: Connection, lo: str, hi: str, old: str, new: str, at: datetime,
                  tag: str) -> None:
    """Owner changes of the customers ``lo`` ≤ id < ``hi`` and of their children owned by the
    old owner, the new owner off those records' teams, one log entry per record (as crmkit
    writes); log ids start with ``tag``."""
    now = _now_sql(conn, at)
    chosen = f"id >= {_text(lo)} AND id < {_text(hi)}"
    mine = f"SELECT id FROM crm_customers WHERE {chosen} AND owner_id = {_text(old)}"
    for kind, table_name in (("contact", "crm_contacts"), ("opportunity", "crm_opportunities")):
        moving = f"customer_id IN ({mine}) AND owner_id = {_text(old)}"
        conn.exec_driver_sql(
            "INSERT INTO crm_operation_log (id, record_kind, record_id, actor_id, at, action, "
            "changes, note) "
            f"SELECT {_text(tag + kind[:2])} || id, '{kind}', id, NULL, {now}, "
            f"'transfer', '[{{\"field\": \"owner_id\", \"old\": \"{old}\", \"new\": \"{new}\"}}]',"
            f" '' FROM {table_name} WHERE {moving}"
        )
        conn.exec_driver_sql(
            f"UPDATE {table_name} SET owner_id = {_text(new)}, version = version + 1, "
            f"updated_at = {now} WHERE {moving}"
        )
        conn.exec_driver_sql(
            f"DELETE FROM crm_team_members WHERE record_kind = '{kind}' AND user_id = "
            f"{_text(new)} AND record_id IN (SELECT id FROM {table_name} WHERE "
            f"customer_id IN ({mine.replace(_text(old), _text(new))}))"
        )
    conn.exec_driver_sql(
        "INSERT INTO crm_operation_log (id, record_kind, record_id, actor_id, at, action, "
        "changes, note) "
        f"SELECT {_text(tag + 'cu')} || id, 'customer', id, NULL, {now}, "
        f"'transfer', '[{{\"field\": \"owner_id\", \"old\": \"{old}\", \"new\": \"{new}\"}}]', "
        f"'' FROM crm_customers WHERE {chosen} AND owner_id = {_text(old)}"
    )
    conn.exec_driver_sql(
        f"UPDATE crm_customers SET owner_id = {_text(new)}, version = version + 1, "
        f"updated_at = {now}, received_at = {now}, pool_warned_at = NULL "
        f"WHERE {chosen} AND owner_id = {_text(old)}"
    )
    conn.exec_driver_sql(
        f"DELETE FROM crm_team_members WHERE record_kind = 'customer' AND user_id = "
        f"{_text(new)} AND record_id IN (SELECT id FROM crm_customers WHERE {chosen})"
    )


TABLES = ("crm_leads", "crm_customers", "crm_contacts", "crm_opportunities",
          "crm_operation_log", "crm_team_members")
"""What the rounds write: their statistics are refreshed after each load and round."""


def check_transfer(engine: Engine, prefix: str, owner: str, n: int) -> None:
    upper = prefix + "~"
    with engine.connect() as conn:
        counts = tuple(
            conn.execute(select(func.count()).where(
                t.c.id >= prefix, t.c.id < upper, t.c.owner_id == owner)).scalar_one()
            for t in (customers, contacts, opportunities)
        )
    if counts != (n, n, n):
        raise AssertionError(f"transfer {prefix}: {counts} owned by {owner} (expected {n} each)")


def bench_transfer(engine: Engine, org: Org, stmts: Statements, n: int, repeats: int,
                   top: int) -> tuple[Result, float, str]:
    """Each side owns its own N customers; round k moves them between two users and back, in
    calls of ``MAX_IDS`` customers (one transaction each, on both sides)."""
    crm = org.crm
    a, b, c, d = (u.id for u in org.reps)
    start = time.perf_counter()
    with engine.begin() as conn:
        for prefix, owner in (("X", a), ("Y", c)):
            made = make_customers(prefix, n, owner)
            for target, rows in zip((customers, contacts, opportunities), made, strict=True):
                load(conn, target, rows)
    analyze(engine, TABLES)
    load_s = time.perf_counter() - start
    result = Result("transfer customers + cascade", n)
    report = ""
    for round_no in range(repeats):
        (src, dst), (hsrc, hdst) = ((a, b), (c, d)) if round_no % 2 == 0 else ((b, a), (d, c))
        at = T0 + timedelta(days=round_no + 1)

        def ours() -> None:
            for ids, _, _ in batches("XC", n):
                crm.customers.transfer(org.admin, ids, dst,  # noqa: B023
                                       move_related=RELATED)

        def hand() -> None:
            for k, (_, lo, hi) in enumerate(batches("YC", n)):
                with engine.begin() as conn:
                    hand_transfer(conn, lo, hi, hsrc, hdst, at,  # noqa: B023
                                  f"h{round_no}Y{k}")  # noqa: B023

        report = timed_round(stmts, result, ours, hand, top if round_no == 0 else 0) or report
        result.calls = len(batches("XC", n))
        check_transfer(engine, "X", dst, n)
        check_transfer(engine, "Y", hdst, n)
        analyze(engine, TABLES)  # fresh statistics for the next round, as autovacuum would give
        del src
    return result, load_s, report


# -- engines ----------------------------------------------------------------------------------


def bench_engine(name: str, engine: Engine, args: argparse.Namespace
                 ) -> tuple[list[list[str]], list[str]]:
    storage = SqlStorage(engine)
    org = build_org(storage)
    stmts = Statements(engine)
    rows: list[list[str]] = []
    notes: list[str] = []
    converted, converted_profile = bench_convert(engine, org, stmts, args.leads, args.repeats,
                                                 args.profile)
    moved, load_s, moved_profile = bench_transfer(engine, org, stmts, args.customers,
                                                  args.repeats, args.profile)
    for result, report in ((converted, converted_profile), (moved, moved_profile)):
        rows.append([f"{name} {result.cells()[0]}", *result.cells()[1:]])
        print("  done:", "  ".join(rows[-1]), flush=True)
        breakdown = ", ".join(f"{k} {v / result.calls:,.1f}"
                              for k, v in result.crmkit_statements.most_common())
        notes.append(f"  {name} {result.label}: crmkit statements per call: {breakdown}")
        if report:
            notes.append(f"  {name} {result.label}: cProfile, first round\n{report}")
    notes.append(f"  {name} load of 2 x {args.customers:,} customers/contacts/opportunities: "
                 f"{load_s:.1f} s")
    return rows, notes


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--leads", type=int,
                        help="leads converted in one call (10,000; quick 1,000)")
    parser.add_argument("--customers", type=int,
                        help="customers transferred in one call (100,000; quick 5,000)")
    parser.add_argument("--repeats", type=int, help="timed rounds (default 3; quick 1)")
    parser.add_argument("--quick", action="store_true", help="small run for smoke tests (<30 s)")
    add_profile_option(parser, "the first crmkit round of each part")
    add_cpu_option(parser)
    args = parser.parse_args(argv)
    use_clock(args)
    args.leads = args.leads or (1_000 if args.quick else 10_000)
    args.customers = args.customers or (5_000 if args.quick else 100_000)
    args.repeats = args.repeats or (1 if args.quick else 3)

    pg_url, pg_version = choose_postgres(args)

    started = time.perf_counter()
    print(banner("sales", pg_version, args.quick), flush=True)
    results, notes = on_each_engine(pg_url, "crmkit_bench_sales",
                                    lambda name, engine: bench_engine(name, engine, args),
                                    sqlite=not args.no_sqlite)
    title = (
        f"Batch operations through the facade vs hand-written SQL on the same engine, median of "
        f"{args.repeats} round(s)\n"
        f"  crmkit ms = the facade calls of {MAX_IDS:,} records each (one transaction each: "
        "validation, log, notification);\n"
        "  hand ms = INSERT ... SELECT / UPDATE statements writing the same rows, one "
        "transaction per batch alike;\n"
        "  ratio = crmkit / hand; stmts = statements sent to the driver (executemany = one), "
        "in all and per call."
    )
    headers = ["engine operation", "records", "calls", "crmkit ms", "hand ms", "ratio",
               "crmkit stmts", "per call", "hand per call"]
    print_report(title, headers, results, notes, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
