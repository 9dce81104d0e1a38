#!/usr/bin/env python
"""Benchmark the calendar window (``crm.schedules.calendar``) against hand-written SQL.

A rep's calendar for one week and for one month, on a table of ``--events`` schedules (100,000
by default; 10,000 with ``--quick``) owned by ``--users`` users over three years (2024–2026):
one in twenty repeats weekly (half of those ten times, a quarter until a date a year on, a
quarter without end), one in ten invites one or two other users as participants.

- facade: the whole call — argument checks, the acting user and roles, the scope, the two reads
  (events of the user that start before the window's end and whose series ends at or after
  its start; and those that repeat without end), the row mapping and the expansion of the
  repeats into occurrences;
- hand: one SELECT a developer would write for the same candidate rows (own or participating
  through the team table, same time conditions), rows as tuples, no expansion.

``stmts`` counts the statements the facade call sends (BEGIN not counted). The script checks
that both read the same candidate events before printing.

Run ``python bench/bench_calendar.py --help``.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import attrs
from _common import (
    add_postgres_options,
    banner,
    choose_postgres,
    postgres_engine,
    print_report,
    round_robin,
    sqlite_engine,
)
from bench_leads import StatementLog
from sqlalchemy import Engine, text

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities.calendar import CalendarEvent, Frequency, RepeatRule
from crmkit.entities.kinds import SCHEDULE_KIND
from crmkit.entities.records import Access, TeamMember
from crmkit.policies.recurrence import series_end
from crmkit.testing.builders import sample_org

SH = ZoneInfo("Asia/Shanghai")
FIRST = datetime(2024, 1, 1, tzinfo=SH)
DAYS = 3 * 365
CHUNK = 5000
WINDOWS = {"week": (datetime(2026, 11, 2, tzinfo=SH), datetime(2026, 11, 9, tzinfo=SH)),
           "month": (datetime(2026, 11, 1, tzinfo=SH), datetime(2026, 12, 1, tzinfo=SH))}
HAND = """
SELECT id, title, starts_at, ends_at, repeat FROM crm_calendar_events
WHERE (owner_id = :user OR id IN (SELECT record_id FROM crm_team_members
                                  WHERE record_kind = 'schedule' AND user_id = :user))
  AND starts_at < :end AND (series_ends_at >= :start OR series_ends_at IS NULL)
"""


def _event(n: int, owner: str, others: Sequence[str], rng: random.Random) -> CalendarEvent:
    start = FIRST + timedelta(days=rng.randrange(DAYS), hours=rng.randrange(8, 19))
    repeat = None
    if rng.random() < 0.05:
        ending = rng.randrange(4)
        repeat = RepeatRule(Frequency.WEEKLY, count=10 if ending < 2 else None,
                            until=(start + timedelta(days=365)).date() if ending == 2 else None)
    invited = frozenset()
    if rng.random() < 0.1:
        invited = frozenset(rng.sample(others, rng.randint(1, 2)))
    at = datetime(2026, 1, 1, tzinfo=UTC)
    event = CalendarEvent(f"E{n:07d}", owner, f"日程 {n}", start, start + timedelta(hours=1),
                          owner, at, at, participant_ids=invited - {owner}, repeat=repeat)
    return attrs.evolve(event, series_ends_at=series_end(event, SH))


def load(crm: CRM, users: Sequence[str], n_events: int, seed: int) -> None:
    """Events in chunks through the storage port (one INSERT per chunk), participants as
    read-only team rows."""
    rng = random.Random(seed)
    for first in range(0, n_events, CHUNK):
        events = [_event(n, users[n % len(users)], users, rng)
                  for n in range(first, min(first + CHUNK, n_events))]
        with crm.storage.transaction() as uow:
            uow.records(SCHEDULE_KIND).add_many(events)
            uow.team.put_many([TeamMember("schedule", e.id, u, Access.READ)
                               for e in events for u in sorted(e.participant_ids)])


def bench_engine(name: str, engine: Engine, args: argparse.Namespace) -> list[list[str]]:
    storage = SqlStorage(engine)
    storage.create_schema()
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    org = sample_org(CRM(storage, clock=clock), clock=clock)
    crm = org.crm
    users = [org.rep.id, org.manager.id] + [
        org.user(f"137{n:08d}", f"销售{n}", org.group, "sales_rep").id
        for n in range(args.users - 2)]
    started = time.perf_counter()
    load(crm, users, args.events, args.seed)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    print(f"{name}: loaded {args.events:,} events in {time.perf_counter() - started:.1f} s",
          file=sys.stderr)
    log = StatementLog(engine)
    rows = []
    for label, (start, end) in WINDOWS.items():
        def facade(start: datetime = start, end: datetime = end) -> tuple[float, int]:
            began = time.perf_counter()
            entries = crm.schedules.calendar(org.rep, start, end)
            return time.perf_counter() - began, len({e.event.id for e in entries})

        def hand(start: datetime = start, end: datetime = end) -> tuple[float, int]:
            began = time.perf_counter()
            with engine.begin() as conn:
                found = conn.execute(text(HAND), {
                    "user": org.rep.id, "start": start.astimezone(UTC).replace(tzinfo=None),
                    "end": end.astimezone(UTC).replace(tzinfo=None)}).all()
            return time.perf_counter() - began, len(found)

        candidates = hand()[1]
        jobs: dict[str, Callable[[], tuple[float, int]]] = {"facade": facade}
        medians = {"facade": round_robin(jobs, args.repeats, lambda job: job())[0]["facade"],
                   "hand": round_robin({"hand": hand}, args.repeats,
                                       lambda job: job())[0]["hand"]}
        with log.capturing() as seen:
            shown = facade()[1]
        with engine.begin() as conn:
            stored = conn.execute(text(
                "SELECT count(*) FROM crm_calendar_events WHERE owner_id = :u"),
                {"u": org.rep.id}).scalar_one()
        if shown > candidates:
            raise AssertionError(f"the facade shows {shown} events, the SQL read {candidates}")
        rows.append([f"{name} {label}", f"{stored:,}", f"{candidates:,}", f"{shown:,}",
                     str(len([s for s in seen if not s[0].startswith("BEGIN")])),
                     f"{medians['facade'] * 1000:.2f}", f"{medians['hand'] * 1000:.2f}",
                     f"{medians['facade'] / medians['hand']:.1f}x"])
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--quick", action="store_true", help="10,000 events, 3 repeats")
    parser.add_argument("--events", type=int, help="schedules to load (default 100,000)")
    parser.add_argument("--users", type=int, default=50, help="owners (default 50)")
    parser.add_argument("--repeats", type=int, help="timed runs per call (default 7)")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    args.events = args.events or (10_000 if args.quick else 100_000)
    args.repeats = args.repeats or (3 if args.quick else 7)
    pg_url, pg_version = choose_postgres(args)
    started = time.perf_counter()
    print(banner("calendar", pg_version, args.quick))
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as directory:
        engine = sqlite_engine(directory)
        rows += bench_engine("sqlite", engine, args)
        engine.dispose()
    if pg_url is not None:
        with postgres_engine(pg_url, "crmkit_calendar") as engine:
            rows += bench_engine("pg", engine, args)
    print_report("crm.schedules.calendar for one rep", [
        "engine window", "rep's events", "read", "shown", "stmts", "facade ms", "hand ms",
        "ratio"], rows, [
        "read = candidate events (own or participating, reaching the window); shown = events "
        "with an occurrence in it;",
        "facade = the whole call incl. expansion; hand = one SELECT of the candidates, tuples."],
        started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
