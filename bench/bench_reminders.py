#!/usr/bin/env python
"""Benchmark the reminder scan (提醒) against hand-written SQL.

200,000 customers (by default) of 500 owners: 4 % with a next-contact time today, 4 % overdue
within the scan's 30-day look-back (a quarter of those followed up since), the rest later, older or
without one. Timed on SQLite (a file in a temp dir) and PostgreSQL, each run starting with no
reminder sent:

- ``scan``: ``crm.reminders.scan(SystemActor)`` — every source (contacts on every kind, tasks,
  contracts, payment plans, pools), the keys recorded, one notification per reminder;
- by hand: one SELECT of the due customers with the rule written out (next contact before
  tomorrow, within the look-back, no follow-up since, an owner), the keys and texts made in
  Python, one ``INSERT … ON CONFLICT DO NOTHING RETURNING`` of the keys (executemany);
- ``scan again``: the same scan once everything was sent (nothing new), against the same SELECT
  and INSERT by hand.

Run ``python bench/bench_reminders.py --help``.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from _common import (
    add_postgres_options,
    banner,
    choose_postgres,
    postgres_engine,
    print_report,
    round_robin,
    sqlite_engine,
)
from sqlalchemy import Engine, and_, delete, or_, select

from crmkit import CRM, SystemActor
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import UUID7Ids
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.base import dialect_insert
from crmkit.adapters.sqlalchemy.tables import customers as customer_table
from crmkit.adapters.sqlalchemy.tables import sent_reminders
from crmkit.entities.sales import CUSTOMER
from crmkit.testing.pool import sample_customer

SCANNER = SystemActor("bench: reminder scan")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
"""10:00 on 1 Dec in Beijing."""
TOMORROW = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
"""Local midnight ending 1 Dec."""
SINCE = TOMORROW - timedelta(days=31)
"""Local midnight 30 days before today."""


def customers(count: int, seed: int) -> list[Any]:
    rng = random.Random(seed)
    owners = [f"u{n:04d}" for n in range(500)]
    made = []
    for n in range(count):
        draw = rng.random()
        nxt: datetime | None = None
        last: datetime | None = None
        if draw < 0.04:
            nxt = NOW + timedelta(hours=rng.randint(-1, 5))
        elif draw < 0.08:
            nxt = NOW - timedelta(days=rng.randint(1, 29), hours=rng.randint(0, 23))
            if rng.random() < 0.25:  # followed up since: no reminder
                last = nxt + timedelta(hours=1)
        elif draw < 0.5:
            nxt = NOW + timedelta(days=rng.choice([-90, -60, 3, 10, 40]))
        made.append(sample_customer(f"c{n:07d}", owner_id=rng.choice(owners),
                                    next_contact_at=nxt, last_followup_at=last))
    return made


def by_hand(engine: Engine) -> int:
    """The same reminders written out: one SELECT, keys and texts in Python, the INSERTs."""
    c = customer_table.c
    sent = 0
    with engine.begin() as conn:
        rows = conn.execute(
            select(c.id, c.name, c.owner_id, c.next_contact_at)
            .where(c.owner_id.is_not(None), c.next_contact_at < TOMORROW,
                   c.next_contact_at >= SINCE,
                   or_(c.last_followup_at.is_(None),
                       and_(c.last_followup_at < c.next_contact_at)))).all()
        new = []
        for rid, name, owner, due in rows:
            kind = "contact.today" if due >= TOMORROW - timedelta(days=1) else "contact.overdue"
            new.append({"key": f"{kind} {owner} customer {rid} {due.isoformat()}",
                        "due": due.date(), "sent_at": NOW,
                        "text": f"今日需联系客户「{name}」"})
        if new:
            statement = (dialect_insert(conn, sent_reminders)
                         .on_conflict_do_nothing(index_elements=["key"])
                         .returning(sent_reminders.c.key))
            sent = len(conn.execute(statement, [{k: v for k, v in row.items() if k != "text"}
                                                for row in new]).all())
    return sent


def run_engine(name: str, engine: Engine, rows: list[Any], repeats: int) -> list[list[str]]:
    storage = SqlStorage(engine)
    storage.create_schema()
    with storage.transaction() as uow:
        uow.records(CUSTOMER).add_many(rows)
    crm = CRM(storage, clock=FixedClock(NOW), ids=UUID7Ids(), notifier=OutboxNotifier())
    crm.org.setup(admin_mobile="13800000000", admin_name="王总")

    def fresh() -> None:
        with engine.begin() as conn:
            conn.execute(delete(sent_reminders))

    def scan() -> int:
        return len(crm.reminders.scan(SCANNER).sent)

    def job(which: tuple[str, bool]) -> tuple[float, int]:
        variant, again = which
        if not again:
            fresh()
        started = time.perf_counter()
        count = scan() if variant == "crmkit" else by_hand(engine)
        elapsed = time.perf_counter() - started
        return elapsed, (count if not again else 0)

    out = []
    for label, again in (("scan", False), ("scan again", True)):
        if again:
            fresh()
            scan()
        medians, count = round_robin({"crmkit": ("crmkit", again), "hand": ("hand", again)},
                                     repeats, job)
        out.append([f"{name} {label}", f"{count:,}", f"{medians['crmkit'] * 1000:.0f}",
                    f"{medians['hand'] * 1000:.0f}", f"{medians['crmkit'] / medians['hand']:.2f}"])
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--quick", action="store_true", help="20,000 rows, 3 repeats")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    add_postgres_options(parser)
    args = parser.parse_args()
    rows_count = 20_000 if args.quick else args.rows
    repeats = 3 if args.quick else args.repeats
    pg_url, pg_version = choose_postgres(args)
    started = time.perf_counter()
    print(banner("reminder scan", pg_version, args.quick, f", {rows_count:,} customers"))
    rows = customers(rows_count, args.seed)
    table_rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as directory:
        table_rows += run_engine("SQLite", sqlite_engine(directory), rows, repeats)
    if pg_url:
        with postgres_engine(pg_url, "crmkit_bench_reminders") as engine:
            table_rows += run_engine("PostgreSQL", engine, rows, repeats)
    print_report("reminder scan (median ms)",
                 ["engine / call", "sent", "crmkit", "by hand", "ratio"], table_rows,
                 ["scan: every source of crm.reminders (only customers hold due items here); "
                  "by hand: the customers' SELECT and the key INSERTs.",
                  "scan again: everything was sent already; the same reads, nothing new."],
                 started)


if __name__ == "__main__":
    main()
