#!/usr/bin/env python
"""Benchmark the analysis reports (统计分析) of a manager against hand-written GROUP BY SQL.

The data is bench_dashboard's (``--users`` sales people in a department subtree and as many
outside it; ``--opportunities``, ``--contracts``, payments, customers and follow-ups over two
years), plus product lines on every third contract (JSON ``lines``: two products) and one
payment plan per payment. The manager asks, through the facade, for the employee report of
this month, the product report of this year (per month), the payments report of this year (per
month) and the customers-by-source report of this year, for the subtree. The baseline is
hand-written SQL strings doing the same GROUP BY work with the owner ids already in hand.

Run ``python bench/bench_reports.py --help``; ``--quick`` for a smoke run; ``--cpu`` to time
this process's CPU (SQLite: the whole work; PostgreSQL: the client side only).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from _common import (
    add_cpu_option,
    use_clock,
)
from bench_dashboard import (
    EFFECTIVE_SQL,
    _case,
    _params,
    build,
    parse_sizes,
    run,
    time_cases,
)
from sqlalchemy import Connection, Engine, text

from crmkit.adapters.sqlalchemy.base import bulk_insert
from crmkit.adapters.sqlalchemy.tables import payment_plans
from crmkit.entities.statistics import Bucket, Granularity, PeriodKind
from crmkit.policies.periods import buckets, period, window

CHUNK = 20_000
FIRST_AT = datetime(2025, 1, 1, tzinfo=UTC)


def add_lines_and_plans(engine: Engine, args: argparse.Namespace) -> float:
    """Two product lines on every third contract; one plan per payment (its contract's), the
    payment set against it. Returns the seconds it took."""
    started = time.perf_counter()
    lines = json.dumps([
        {"product_id": "prod-a", "name": "A", "price": "100.00", "quantity": "2.5",
         "discount": "0", "unit": None, "subtotal": "250.00"},
        {"product_id": "prod-b", "name": "B", "price": "10.00", "quantity": "1",
         "discount": "0", "unit": None, "subtotal": "10.00"}])
    postgres = engine.dialect.name == "postgresql"
    value = "CAST(:lines AS JSONB)" if postgres else ":lines"
    modulo = "CAST(substr(id, 2) AS INTEGER) % 3 = 0"
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE crm_contracts SET lines = {value} WHERE {modulo}"),
                     {"lines": lines})
        count = args.contracts // 2
        for start in range(0, count, CHUNK):
            rows = []
            for n in range(start, min(count, start + CHUNK)):
                planned = date(2025, 1, 1) + timedelta(days=n % 730)
                rows.append({"id": f"n{n:08d}", "contract_id": f"k{n:08d}",
                             "customer_id": f"c{n:08d}", "period": 1, "amount": Decimal("1000.00"),
                             "planned_date": planned, "created_by": None,
                             "created_at": FIRST_AT, "method": None, "remind_days": 0,
                             "remark": None, "voided": False, "version": 1,
                             "remind_on": planned})
            bulk_insert(conn, payment_plans, rows)
        conn.execute(text("UPDATE crm_payments SET plan_id = 'n' || substr(id, 2)"))
        conn.exec_driver_sql("ANALYZE")
    return time.perf_counter() - started


# -- the hand-written baseline ----------------------------------------------------------------


def hand_employees(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    """Per owner: customers, follow-ups per method, leads per outcome, opportunities per
    status, approved contracts and payments — one GROUP BY statement each."""
    at, day = _params(cut, False), _params(cut, True)
    found: list[Any] = []
    found += conn.execute(text(
        f"SELECT owner_id, count(*) FROM crm_customers WHERE owner_id IN ({owners}) "
        "AND created_at >= :s0 AND created_at < :se GROUP BY owner_id"), at).all()
    found += conn.execute(text(
        f"SELECT author_id, method, count(*) FROM crm_followups WHERE author_id IN ({owners}) "
        "AND at >= :s0 AND at < :se GROUP BY author_id, method"), at).all()
    found += conn.execute(text(
        f"SELECT owner_id, converted, count(*) FROM crm_leads WHERE owner_id IN ({owners}) "
        "AND created_at >= :s0 AND created_at < :se GROUP BY owner_id, converted"), at).all()
    found += conn.execute(text(
        f"SELECT owner_id, status, count(*) FROM crm_opportunities WHERE owner_id IN ({owners})"
        " AND created_at >= :s0 AND created_at < :se GROUP BY owner_id, status"), at).all()
    found += conn.execute(text(
        f"SELECT owner_id, count(*), sum(amount) FROM crm_contracts WHERE owner_id IN "
        f"({owners}) AND {EFFECTIVE_SQL} AND ((order_date IS NOT NULL AND order_date >= :s0 "
        "AND order_date < :se) OR (order_date IS NULL AND created_at >= :t0 AND "
        "created_at < :te)) GROUP BY owner_id"),
        {**day, **_params(cut, False, "t")}).all()
    found += conn.execute(text(
        f"SELECT owner_id, sum(amount) FROM crm_payments WHERE owner_id IN ({owners}) AND "
        f"{EFFECTIVE_SQL} AND paid_on >= :s0 AND paid_on < :se GROUP BY owner_id"), day).all()
    return found


def hand_products(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    postgres = conn.dialect.name == "postgresql"
    each = ("jsonb_array_elements(c.lines) AS line" if postgres
            else "json_each(c.lines) AS line")
    field = ("(line.value ->> '{0}')" if postgres else "json_extract(line.value, '$.{0}')")
    return list(conn.execute(text(
        f"SELECT CASE WHEN c.order_date IS NOT NULL THEN {_case('c.order_date', cut)} "
        f"ELSE {_case('c.created_at', cut, 't')} END AS b, {field.format('product_id')} AS p, "
        f"count(*), sum(CAST({field.format('subtotal')} AS NUMERIC)), "
        f"sum(CAST({field.format('quantity')} AS NUMERIC)) "
        f"FROM crm_contracts AS c JOIN {each} ON 1 = 1 "
        f"WHERE c.owner_id IN ({owners}) AND c.{EFFECTIVE_SQL} AND "
        "((c.order_date IS NOT NULL AND c.order_date >= :s0 AND c.order_date < :se) OR "
        "(c.order_date IS NULL AND c.created_at >= :t0 AND c.created_at < :te)) "
        "GROUP BY b, p"), {**_params(cut, True), **_params(cut, False, "t")}).all())


def hand_payments(conn: Connection, owners: str, cut: Sequence[Bucket], today: date
                  ) -> list[Any]:
    day = _params(cut, True)
    plans = (f"FROM crm_payment_plans AS p JOIN crm_contracts AS c ON c.id = p.contract_id "
             f"WHERE c.owner_id IN ({owners}) AND NOT p.voided AND c.{EFFECTIVE_SQL} AND "
             "p.planned_date >= :s0 AND p.planned_date < :se")
    received = (f"coalesce((SELECT sum(m.amount) FROM crm_payments AS m WHERE "
                f"m.plan_id = p.id AND m.{EFFECTIVE_SQL}), 0)")
    bucket = _case("p.planned_date", cut)
    found = list(conn.execute(text(
        f"SELECT {bucket} AS b, count(*), sum(p.amount) {plans} GROUP BY b"), day).all())
    found += conn.execute(text(
        f"SELECT {_case('paid_on', cut)} AS b, count(*), sum(amount) FROM crm_payments "
        f"WHERE owner_id IN ({owners}) AND {EFFECTIVE_SQL} AND paid_on >= :s0 AND "
        "paid_on < :se GROUP BY b"), day).all()
    found += conn.execute(text(
        f"SELECT {bucket} AS b, count(*), sum(p.amount - {received}) {plans} AND "
        f"p.planned_date < :today AND {received} < p.amount GROUP BY b"),
        {**day, "today": today}).all()
    return found


def hand_customers(conn: Connection, owners: str, cut: Sequence[Bucket]) -> list[Any]:
    return list(conn.execute(text(
        f"SELECT source, count(*) FROM crm_customers WHERE owner_id IN ({owners}) AND "
        "created_at >= :s0 AND created_at < :se GROUP BY source"), _params(cut, False)).all())


# -- one engine -------------------------------------------------------------------------------


def bench_engine(name: str, engine: Engine, args: argparse.Namespace
                 ) -> tuple[list[list[str]], list[str]]:
    crm, manager, subtree, _, inside, load_s = build(engine, args)
    extra_s = add_lines_and_plans(engine, args)
    owners = ", ".join(f"'{u}'" for u in inside)   # ids made here: safe to inline
    subject = {"department_ids": [subtree]}
    tz = crm.runtime.tz
    today = date(2026, 12, 15)
    month, year = period(PeriodKind.THIS_MONTH, today), period(PeriodKind.THIS_YEAR, today)
    months = buckets(year, Granularity.MONTH, tz)

    def hand(work: Callable[[Connection], list[Any]]) -> Callable[[], int]:
        def run() -> int:
            with engine.connect() as conn:
                return len(work(conn))
        return run

    reports = crm.reports
    cases: list[tuple[str, Callable[[], object], Callable[[], int]]] = [
        ("employees this month", lambda: reports.employees(manager, subject),
         hand(lambda c: hand_employees(c, owners, (window(month, tz),)))),
        ("products this year", lambda: reports.products(manager, subject),
         hand(lambda c: hand_products(c, owners, months))),
        ("payments this year", lambda: reports.payments(manager, subject),
         hand(lambda c: hand_payments(c, owners, months, today))),
        ("customers by source", lambda: reports.customers(manager, "source", subject),
         hand(lambda c: hand_customers(c, owners, (window(year, tz),)))),
    ]
    rows = time_cases(name, cases, args.repeats)
    notes = [f"  {name}: load {load_s:.1f} s + lines and plans {extra_s:.1f} s; subject: "
             f"{len(inside):,} users"]
    return rows, notes


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_cpu_option(parser)
    args = parse_sizes(parser, argv)
    use_clock(args)
    return run("reports", "The analysis reports of a manager over a department subtree "
               f"({'CPU' if args.cpu else 'wall'} time)", args,
               lambda name, engine: bench_engine(name, engine, args))


if __name__ == "__main__":
    sys.exit(main())
