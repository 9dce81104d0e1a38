#!/usr/bin/env python
"""Benchmark ``crm.customers.detail`` — a customer with its contacts, opportunities,
contracts, payment plans and payments, each cut to the viewer — against hand-written SQL.

The data: ``--customers`` background customers (100,000; quick 5,000), each with a contact,
an opportunity, a contract in force with two payment plans and one effective payment,
owned round-robin by ten reps of 销售部 and one rep of 其他部; and the customer under test,
owned by a rep, with ``--related`` (50; quick 20) contacts, opportunities and contracts (each
with two plans and an effective payment) of that rep and a fifth as many of the outsider,
which the viewer must not see.

Viewers: the owning rep (本人), the manager of 销售部 (本部门及下属部门: 12 owners) and the
administrator (全部). crmkit: the facade call. Hand: the statements a developer would write
for the same screen in one transaction — the customer; per related kind ``SELECT … WHERE
customer_id = … AND (owner_id IN (<owners>) OR id IN (SELECT record_id FROM
crm_team_members …))`` (no scope clause for the administrator); the plans of the visible
contracts; the effective amounts received per plan; the customer's team, attachments and
log. Both sides must list the same number of records.

Run ``python bench/bench_detail.py --help``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from _common import (
    add_postgres_options,
    banner,
    choose_postgres,
    on_each_engine,
    print_report,
    round_robin,
    timed_call,
)
from bench_leads import StatementLog
from bench_sales import load
from sqlalchemy import Connection, Engine, text

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.rows import PAYMENT_PLAN_ROWS, RECORD_ROWS
from crmkit.adapters.sqlalchemy.tables import (
    contacts,
    contracts,
    customers,
    opportunities,
    payment_plans,
    payments,
)
from crmkit.entities import User
from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import CONTRACT, EFFECTIVE, PAYMENT, Contract, Payment, PaymentPlan
from crmkit.entities.sales import CONTACT, CUSTOMER, OPPORTUNITY, Contact, Customer, Opportunity

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
TARGET = "TARGET"
KINDS = (("contact", CONTACT), ("opportunity", OPPORTUNITY), ("contract", CONTRACT),
         ("payment", PAYMENT))


@dataclass
class Org:
    crm: CRM
    admin: User
    manager: User
    reps: list[User]
    outsider: User


def build_org(engine: Engine) -> Org:
    storage = SqlStorage(engine)
    storage.create_schema()
    crm = CRM(storage, clock=FixedClock(T0))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(admin) if r.code}
    sales = crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
    other = crm.org.add_department(admin, {"name": "其他部", "parent_id": top.id})

    def user(n: int, department: str, role: str, supervisor: str | None = None) -> User:
        return crm.org.add_user(admin, {"mobile": f"139{n:08d}", "name": f"员工{n}",
                                        "department_id": department, "role_ids": [roles[role]],
                                        "supervisor_id": supervisor})

    manager = user(0, sales.id, "sales_manager")
    reps = [user(n, sales.id, "sales_rep", manager.id) for n in range(1, 11)]
    return Org(crm, admin, manager, reps, user(99, other.id, "sales_rep"))


def rows_for(prefix: str, customer_id: str | None, owners: Sequence[str], n: int
             ) -> dict[Any, list[dict[str, Any]]]:
    """``n`` of each related record (and ``n`` customers when ``customer_id`` is None), owned
    round-robin by ``owners``: a contact, an opportunity, a contract in force with two plans
    and one effective payment against the first."""
    made: dict[Any, list[dict[str, Any]]] = {t: [] for t in (
        customers, contacts, opportunities, contracts, payment_plans, payments)}
    for i in range(n):
        owner = owners[i % len(owners)]
        cid = customer_id or f"{prefix}C{i:07d}"
        if customer_id is None:
            made[customers].append(RECORD_ROWS[CUSTOMER].to_row(Customer(
                id=cid, name=f"{prefix} 客户 {i:07d}", owner_id=owner, created_by=owner,
                created_at=T0, updated_at=T0, received_at=T0)))
        made[contacts].append(RECORD_ROWS[CONTACT].to_row(Contact(
            id=f"{prefix}K{i:07d}", name=f"联系人 {i}", customer_id=cid, owner_id=owner,
            created_by=owner, created_at=T0, updated_at=T0)))
        made[opportunities].append(RECORD_ROWS[OPPORTUNITY].to_row(Opportunity(
            id=f"{prefix}O{i:07d}", name=f"商机 {i}", customer_id=cid, owner_id=owner,
            created_by=owner, created_at=T0, updated_at=T0, stage_group_id="G1")))
        contract = f"{prefix}H{i:07d}"
        made[contracts].append(RECORD_ROWS[CONTRACT].to_row(Contract(
            id=contract, name=f"合同 {i}", customer_id=cid, owner_id=owner, created_by=owner,
            created_at=T0, updated_at=T0, amount=Decimal("300.00"),
            approval_status=ApprovalStatus.NOT_REQUIRED, received_amount=Decimal("100.00"),
            unreceived_amount=Decimal("200.00"))))
        for period in (1, 2):
            made[payment_plans].append(PAYMENT_PLAN_ROWS.to_row(PaymentPlan(
                id=f"{prefix}P{i:07d}{period}", contract_id=contract, customer_id=cid,
                period=period, amount=Decimal("150.00"), planned_date=date(2026, period, 28),
                created_by=owner, created_at=T0)))
        made[payments].append(RECORD_ROWS[PAYMENT].to_row(Payment(
            id=f"{prefix}M{i:07d}", contract_id=contract, customer_id=cid, owner_id=owner,
            created_by=owner, created_at=T0, updated_at=T0, amount=Decimal("100.00"),
            plan_id=f"{prefix}P{i:07d}1", approval_status=ApprovalStatus.NOT_REQUIRED)))
    return made


def load_data(engine: Engine, org: Org, n_customers: int, n_related: int) -> float:
    everyone = [u.id for u in (*org.reps, org.outsider)]
    start = time.perf_counter()
    with engine.begin() as conn:
        target = RECORD_ROWS[CUSTOMER].to_row(Customer(
            id=TARGET, name="被测客户", owner_id=org.reps[0].id, created_by=org.reps[0].id,
            created_at=T0, updated_at=T0, received_at=T0))
        load(conn, customers, [target])
        for made in (rows_for("B", None, everyone, n_customers),
                     rows_for("T", TARGET, [org.reps[0].id], n_related),
                     rows_for("X", TARGET, [org.outsider.id], max(1, n_related // 5))):
            for table, rows in made.items():
                if rows:
                    load(conn, table, rows)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")  # both engines: plans from real statistics
    return time.perf_counter() - start


def hand_detail(conn: Connection, owners: Sequence[str] | None, viewer: str) -> int:
    """The detail screen in hand-written SQL; returns how many related records it lists."""
    listed = 0
    conn.execute(text("SELECT * FROM crm_customers WHERE id = :id"), {"id": TARGET}).all()
    visible: dict[str, Sequence[Any]] = {}
    for kind, _name in KINDS:
        table = {"contact": "crm_contacts", "opportunity": "crm_opportunities",
                 "contract": "crm_contracts", "payment": "crm_payments"}[kind]
        scope = "" if owners is None else (
            " AND (owner_id IN ({}) OR id IN (SELECT record_id FROM crm_team_members "
            "WHERE record_kind = :kind AND user_id = :viewer))".format(
                ", ".join(f"'{o}'" for o in owners)))
        visible[kind] = conn.execute(
            text(f"SELECT * FROM {table} WHERE customer_id = :id{scope} ORDER BY id"),
            {"id": TARGET, "kind": kind, "viewer": viewer}).all()
        listed += len(visible[kind])
    contract_ids = [r.id for r in visible["contract"]]
    plans = conn.execute(text(
        "SELECT * FROM crm_payment_plans WHERE contract_id IN ({}) "
        "ORDER BY contract_id, period, id".format(", ".join(f"'{c}'" for c in contract_ids))
    )).all() if contract_ids else []
    if plans:
        effective = ", ".join(f"'{s.value}'" for s in EFFECTIVE)
        conn.execute(text(
            "SELECT plan_id, sum(amount) FROM crm_payments WHERE plan_id IN ({}) AND "
            "approval_status IN ({}) GROUP BY plan_id".format(
                ", ".join(f"'{p.id}'" for p in plans), effective))).all()
    for statement in (
            "SELECT * FROM crm_team_members WHERE record_kind = 'customer' AND record_id = :id",
            "SELECT * FROM crm_attachments WHERE record_kind = 'customer' AND record_id = :id",
            "SELECT * FROM crm_operation_log WHERE record_kind = 'customer' AND record_id = :id "
            "ORDER BY at DESC, id DESC"):
        conn.execute(text(statement), {"id": TARGET}).all()
    return listed + len(plans)


def crmkit_count(detail: Any) -> int:
    return (len(detail.contacts) + len(detail.opportunities) + len(detail.contracts)
            + len(detail.payments) + len(detail.payment_plans))


def bench_engine(name: str, engine: Engine, args: argparse.Namespace
                 ) -> tuple[list[list[str]], list[str]]:
    org = build_org(engine)
    load_s = load_data(engine, org, args.customers, args.related)
    log = StatementLog(engine)
    crm = org.crm
    viewers = (("rep", org.reps[0], [org.reps[0].id]),
               ("manager", org.manager, [org.manager.id, *(r.id for r in org.reps)]),
               ("admin", org.admin, None))
    rows: list[list[str]] = []
    for label, viewer, owners in viewers:
        for _ in range(2):  # the viewer's roles and scopes are kept from the second call on
            crm.customers.detail(viewer, TARGET)
        with log.capturing() as seen:
            crm.customers.detail(viewer, TARGET)
        crm_statements = len(seen)

        def run(job: str, viewer: User = viewer, owners: list[str] | None = owners
                ) -> tuple[float, int]:
            if job == "crmkit":
                elapsed, detail = timed_call(lambda: crm.customers.detail(viewer, TARGET))
                return elapsed, crmkit_count(detail)
            with engine.begin() as conn:
                return timed_call(lambda: hand_detail(conn, owners, viewer.id))

        medians, listed = round_robin({"crmkit": "crmkit", "hand": "hand"}, args.repeats, run)
        rows.append([f"{name} detail as {label}", f"{listed:,}",
                     f"{medians['crmkit'] * 1e3:.2f}", f"{medians['hand'] * 1e3:.2f}",
                     f"{medians['crmkit'] / medians['hand']:.1f}x", str(crm_statements)])
        print("  done:", "  ".join(rows[-1]), flush=True)
    notes = [f"  {name} load of {args.customers:,} customers with their related records: "
             f"{load_s:.1f} s"]
    return rows, notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--customers", type=int,
                        help="background customers (100,000; quick 5,000)")
    parser.add_argument("--related", type=int,
                        help="contacts, opportunities, contracts of the customer (50; quick 20)")
    parser.add_argument("--repeats", type=int, help="timed calls per side (default 50; quick 5)")
    parser.add_argument("--quick", action="store_true", help="small run for smoke tests (<30 s)")
    args = parser.parse_args(argv)
    args.customers = args.customers or (5_000 if args.quick else 100_000)
    args.related = args.related or (20 if args.quick else 50)
    args.repeats = args.repeats or (5 if args.quick else 50)
    pg_url, pg_version = choose_postgres(args)
    started = time.perf_counter()
    print(banner("customer detail", pg_version, args.quick), flush=True)
    results, notes = on_each_engine(pg_url, "crmkit_bench_detail",
                                    lambda name, engine: bench_engine(name, engine, args))
    title = (
        f"crm.customers.detail vs hand-written SQL on the same engine, median of "
        f"{args.repeats} calls\n"
        "  records = contacts, opportunities, contracts, payments and plans listed (both sides);\n"
        "  crmkit ms = the facade call (its own transaction, roles, scope, mapping);\n"
        "  hand ms = the same SELECTs written by hand, one transaction; ratio = crmkit / hand."
    )
    headers = ["engine viewer", "records", "crmkit ms", "hand ms", "ratio", "crmkit stmts"]
    print_report(title, headers, results, notes, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
