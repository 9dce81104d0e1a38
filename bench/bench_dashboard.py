#!/usr/bin/env python
"""Benchmark the dashboard (仪表盘) of a manager against hand-written GROUP BY SQL.

An org of ``--users`` sales people (500 by default) in a department subtree under one manager
(plus as many outside it) owns ``--opportunities`` opportunities (1,000,000), ``--contracts``
approved-or-not contracts (500,000), half as many payments, and as many customers and
follow-ups as contracts, spread over two years. The manager asks, through the facade, for
the 销售简报 of this month and of this year (each against the previous period), the 销售漏斗 of
this year and the monthly 销售趋势 of this year, for the subtree (``{"department_ids":
[subtree]}``). The baseline is hand-written SQL strings doing the same GROUP BY work with the
owner ids already in hand (as a host that resolved them itself would): one statement per
measure, the same CASE over the bucket bounds, SUM(amount).

Run ``python bench/bench_dashboard.py --help``; ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
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
from sqlalchemy import Connection, Engine, text

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.base import bulk_insert
from crmkit.adapters.sqlalchemy.rows import FOLLOWUP_ROWS, RECORD_ROWS
from crmkit.adapters.sqlalchemy.tables import (
    contracts,
    customers,
    followups,
    opportunities,
    payments,
)
from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import Contract, Payment
from crmkit.entities.records import FollowUp
from crmkit.entities.sales import Customer, Opportunity, OpportunityStatus
from crmkit.entities.statistics import Bucket, Granularity, PeriodKind
from crmkit.policies.periods import buckets, period, window, with_previous

NOW = datetime(2026, 12, 15, 2, 0, tzinfo=UTC)   # 15 Dec 2026, 10:00 in Beijing
FIRST = datetime(2025, 1, 1, tzinfo=UTC)
SPAN_S = int((NOW - FIRST).total_seconds())
CHUNK = 20_000
STATUSES = [ApprovalStatus.APPROVED] * 6 + [ApprovalStatus.NOT_REQUIRED,
                                            ApprovalStatus.PENDING, ApprovalStatus.DRAFT]
OUTCOMES = [OpportunityStatus.IN_PROGRESS] * 6 + [OpportunityStatus.WON,
                                                 OpportunityStatus.LOST]


# -- the data ---------------------------------------------------------------------------------


def build(engine: Engine, args: argparse.Namespace) -> tuple[CRM, Any, str, str, list[str],
                                                              float]:
    """The org through the facade, the records bulk-inserted; returns the CRM, the manager,
    the subtree's department id, the stage group id, the subtree's user ids and load seconds."""
    crm = CRM(SqlStorage(engine), clock=FixedClock(NOW))
    crm.storage.create_schema()
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(admin)}
    sales = crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
    other = crm.org.add_department(admin, {"name": "渠道部", "parent_id": top.id})
    manager = crm.org.add_user(admin, {"mobile": "13900000000", "name": "李经理",
                                       "department_id": sales.id,
                                       "role_ids": [roles["sales_manager"]]})
    teams = [crm.org.add_department(admin, {"name": f"{n}组", "parent_id": sales.id}).id
             for n in range(10)]
    inside: list[str] = [manager.id]
    outside: list[str] = []
    for n in range(2 * args.users):
        mine = n % 2 == 0
        user = crm.org.add_user(admin, {
            "mobile": f"139{n + 1:08d}", "name": f"员工{n}",
            "department_id": teams[n % 10] if mine else other.id,
            "role_ids": [roles["sales_rep"]]})
        (inside if mine else outside).append(user.id)
    group = crm.opportunities.add_stage_group(admin, {"name": "流程", "stages": [
        {"name": f"阶段{n}", "win_rate": str(10 * (n + 1))} for n in range(5)]})
    stage_ids = [s.id for s in group.stages]
    owners = inside + outside
    rnd = random.Random(7)

    def moment() -> datetime:
        return FIRST + timedelta(seconds=rnd.randrange(SPAN_S))

    def amount() -> Decimal:
        return Decimal(rnd.randrange(100_00, 500_000_00)).scaleb(-2)

    makers: list[tuple[Any, int, Callable[[int], dict[str, Any]]]] = [
        (customers, args.contracts, lambda n: RECORD_ROWS["customer"].to_row(Customer(
            f"c{n:08d}", f"客户{n}", rnd.choice(owners), None, t := moment(), t,
            last_followup_at=moment() if rnd.random() < 0.7 else None, received_at=t))),
        (opportunities, args.opportunities, lambda n: RECORD_ROWS["opportunity"].to_row(
            Opportunity(f"o{n:08d}", "商机", f"c{n % args.contracts:08d}", rnd.choice(owners),
                        None, t := moment(), t, group.id, stage_id=rnd.choice(stage_ids),
                        status=rnd.choice(OUTCOMES), amount=amount()))),
        (contracts, args.contracts, lambda n: RECORD_ROWS["contract"].to_row(Contract(
            f"k{n:08d}", "合同", f"c{n:08d}", rnd.choice(owners), None, t := moment(), t,
            amount=amount(), order_date=None if rnd.random() < 0.2 else _local_day(t),
            approval_status=rnd.choice(STATUSES)))),
        (payments, args.contracts // 2, lambda n: RECORD_ROWS["payment"].to_row(Payment(
            f"m{n:08d}", f"k{n:08d}", rnd.choice(owners), None, t := moment(), t,
            paid_on=_local_day(t), amount=amount(), approval_status=rnd.choice(STATUSES)))),
        (followups, args.contracts, lambda n: FOLLOWUP_ROWS.to_row(FollowUp(
            f"f{n:08d}", "customer", f"c{n:08d}", rnd.choice(owners), "打电话", "聊过",
            t := moment(), t))),
    ]
    started = time.perf_counter()
    with engine.begin() as conn:
        for table, count, make in makers:
            for start in range(0, count, CHUNK):
                bulk_insert(conn, table, [make(n) for n in range(start, min(count,
                                                                            start + CHUNK))])
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return crm, manager, sales.id, group.id, inside, time.perf_counter() - started


def _local_day(moment: datetime) -> date:
    return (moment + timedelta(hours=8)).date()


# -- the hand-written baseline ----------------------------------------------------------------


def _case(column: str, cut: Sequence[Bucket], prefix: str = "s") -> str:
    if len(cut) == 1:
        return "0"
    whens = " ".join(f"WHEN {column} < :{prefix}{i} THEN {i - 1}" for i in range(1, len(cut)))
    return f"CASE {whens} ELSE {len(cut) - 1} END"


def _params(cut: Sequence[Bucket], dated: bool, prefix: str = "s") -> dict[str, Any]:
    """The buckets' starts (``s0`` …) and end (``se``) as days or naive UTC instants."""
    def value(day: date | None, at: datetime | None) -> Any:
        if dated:
            return day
        assert at is not None
        return at.astimezone(UTC).replace(tzinfo=None)
    found = {f"{prefix}{i}": value(b.first_day, b.start_at) for i, b in enumerate(cut)}
    found[f"{prefix}e"] = value(cut[-1].end_day, cut[-1].end_at)
    return found


EFFECTIVE_SQL = "approval_status IN ('approved', 'not_required')"


def hand_contracts(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    """Approved contracts by deal day: order_date, else created_at."""
    return list(conn.execute(text(
        f"SELECT CASE WHEN order_date IS NOT NULL THEN {_case('order_date', cut)} "
        f"ELSE {_case('created_at', cut, 't')} END AS b, count(*), sum(amount) "
        f"FROM crm_contracts WHERE owner_id IN ({owners}) AND {EFFECTIVE_SQL} AND "
        "((order_date IS NOT NULL AND order_date >= :s0 AND order_date < :se) OR "
        "(order_date IS NULL AND created_at >= :t0 AND created_at < :te)) GROUP BY b"),
        {**_params(cut, True), **_params(cut, False, "t")}).all())


def hand_payments(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    return list(conn.execute(text(
        f"SELECT {_case('paid_on', cut)} AS b, count(*), sum(amount) FROM crm_payments "
        f"WHERE owner_id IN ({owners}) AND {EFFECTIVE_SQL} AND paid_on >= :s0 AND paid_on < :se "
        "GROUP BY b"), _params(cut, True)).all())


def hand_tallies(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    """The brief's measures by hand, one GROUP BY statement each."""
    at = _params(cut, False)
    found: list[Any] = []
    for table in ("crm_customers", "crm_contacts", "crm_opportunities"):
        total = "sum(amount)" if table == "crm_opportunities" else "0"
        found += conn.execute(text(
            f"SELECT {_case('created_at', cut)} AS b, count(*), {total} FROM {table} "
            f"WHERE owner_id IN ({owners}) AND created_at >= :s0 AND created_at < :se "
            "GROUP BY b"), at).all()
    found += hand_contracts(conn, owners, cut) + hand_payments(conn, owners, cut)
    found += conn.execute(text(
        f"SELECT {_case('at', cut)} AS b, count(*) FROM crm_followups "
        f"WHERE author_id IN ({owners}) AND at >= :s0 AND at < :se GROUP BY b"), at).all()
    return found


def hand_funnel(conn: Connection, owners: str, group_id: str, cut: Sequence[Bucket]
                ) -> list[Any]:
    return list(conn.execute(text(
        "SELECT CASE WHEN status = 'in_progress' THEN stage_id ELSE status END AS k, count(*), "
        "sum(amount) FROM crm_opportunities WHERE stage_group_id = :g AND "
        f"owner_id IN ({owners}) AND created_at >= :s0 AND created_at < :se GROUP BY k"),
        {"g": group_id, **_params(cut, False)}).all())


def hand_trend(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    return hand_contracts(conn, owners, cut) + hand_payments(conn, owners, cut)


# -- one engine -------------------------------------------------------------------------------


def bench_engine(name: str, engine: Engine, args: argparse.Namespace
                 ) -> tuple[list[list[str]], list[str]]:
    crm, manager, subtree, group_id, inside, load_s = build(engine, args)
    owners = ", ".join(f"'{u}'" for u in inside)   # ids made here: safe to inline
    subject = {"department_ids": [subtree]}
    tz = crm.runtime.tz
    today = date(2026, 12, 15)
    month, year = period(PeriodKind.THIS_MONTH, today), period(PeriodKind.THIS_YEAR, today)

    def hand(work: Callable[[Connection], list[Any]]) -> Callable[[], int]:
        def run() -> int:
            with engine.connect() as conn:
                return len(work(conn))
        return run

    cases: list[tuple[str, Callable[[], object], Callable[[], int]]] = [
        ("brief this month", lambda: crm.dashboard.brief(manager, subject),
         hand(lambda c: hand_tallies(c, owners, with_previous(month, tz)))),
        ("brief this year", lambda: crm.dashboard.brief(manager, subject, "this_year"),
         hand(lambda c: hand_tallies(c, owners, with_previous(year, tz)))),
        ("funnel this year", lambda: crm.dashboard.funnel(manager, group_id, subject,
                                                          "this_year"),
         hand(lambda c: hand_funnel(c, owners, group_id, (window(year, tz),)))),
        ("trend this year", lambda: crm.dashboard.trend(manager, subject),
         hand(lambda c: hand_trend(c, owners, buckets(year, Granularity.MONTH, tz)))),
    ]
    rows = time_cases(name, cases, args.repeats)
    notes = [f"  {name}: load of {args.opportunities:,} opportunities, {args.contracts:,} "
             f"contracts/customers/follow-ups, {args.contracts // 2:,} payments: {load_s:.1f} s;"
             f" subject: {len(inside):,} users"]
    return rows, notes


def time_cases(name: str, cases: Sequence[tuple[str, Callable[[], object], Callable[[], int]]],
               repeats: int) -> list[list[str]]:
    """Each (label, facade call, hand-written baseline) timed round robin: a report row of
    medians in ms and their ratio."""
    rows: list[list[str]] = []
    for label, facade, baseline in cases:
        jobs: dict[str, Callable[[], object]] = {"crmkit": facade, "hand": baseline}
        medians, _ = round_robin(jobs, repeats, lambda job: (timed_call(job)[0], 0))
        ratio = medians["crmkit"] / medians["hand"]
        rows.append([f"{name} {label}", f"{medians['crmkit'] * 1000:,.1f}",
                     f"{medians['hand'] * 1000:,.1f}", f"{ratio:.2f}"])
        print("  done:", "  ".join(rows[-1]), flush=True)
    return rows


def parse_sizes(parser: argparse.ArgumentParser, argv: Sequence[str] | None
                ) -> argparse.Namespace:
    """The data sizes (and PostgreSQL options) of the dashboard's data, quick or full."""
    add_postgres_options(parser)
    parser.add_argument("--users", type=int, help="users in the subtree (500; quick 50)")
    parser.add_argument("--opportunities", type=int, help="opportunities (1,000,000; quick "
                        "20,000)")
    parser.add_argument("--contracts", type=int, help="contracts (500,000; quick 10,000)")
    parser.add_argument("--repeats", type=int, help="timed rounds (default 5; quick 2)")
    parser.add_argument("--quick", action="store_true", help="small run for smoke tests")
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    args = parser.parse_args(argv)
    args.users = args.users or (50 if args.quick else 500)
    args.opportunities = args.opportunities or (20_000 if args.quick else 1_000_000)
    args.contracts = args.contracts or (10_000 if args.quick else 500_000)
    args.repeats = args.repeats or (2 if args.quick else 5)
    return args


def run(what: str, heading: str, args: argparse.Namespace,
        bench: Callable[[str, Engine], tuple[list[list[str]], list[str]]]) -> int:
    """Run ``bench`` on SQLite then PostgreSQL and print its rows under ``heading``."""
    pg_url, pg_version = choose_postgres(args)
    started = time.perf_counter()
    print(banner(what, pg_version, args.quick), flush=True)
    results, notes = on_each_engine(pg_url, f"crmkit_bench_{what}", bench,
                                    sqlite=not args.no_sqlite)
    title = (
        f"{heading}, median of {args.repeats} round(s)\n"
        "  crmkit ms = the facade call (permission, subject in scope, periods, one aggregate "
        "statement per figure);\n"
        "  hand ms = hand-written GROUP BY strings with the owner ids in hand; ratio = crmkit / "
        "hand."
    )
    print_report(title, ["engine question", "crmkit ms", "hand ms", "ratio"], results, notes,
                 started)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_sizes(argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0]),
                       argv)
    return run("dashboard", "The dashboard of a manager over a department subtree", args,
               lambda name, engine: bench_engine(name, engine, args))


if __name__ == "__main__":
    sys.exit(main())
