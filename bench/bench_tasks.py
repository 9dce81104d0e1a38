#!/usr/bin/env python
"""Benchmark the task calls a host makes against hand-written SQL on the same engine.

Every crmkit figure is the FACADE call (argument checks, the acting user and roles, the scope,
the statements, the mapping to entities and the workbench policy included); each hand-written
variant runs in its own transaction as the facade's calls do:

- ``workbench``: ``crm.workbench.workbench(rep)`` — every task the rep owns or takes part in,
  with the rep's placements; hand: ``SELECT … FROM crm_tasks WHERE owner_id = :me OR id IN
  (SELECT record_id FROM crm_team_members …)`` and ``SELECT … FROM crm_task_placements``;
- ``workbench undone``: the same with ``{"done": False}``; hand: ``AND NOT done``;
- ``related_to``: ``crm.tasks.related_to(viewer, [customer])`` — the tasks naming one customer
  that the viewer sees (the timeline's question); hand: one join of ``crm_record_links`` and
  ``crm_tasks`` with the viewer's scope written out;
- ``move``: ``crm.workbench.move(rep, task, "next", 3)``; hand: the column's placements, then
  one upsert.

``--tasks`` tasks (200,000 by default; 20,000 with ``--quick``) belong to 1,000 owners; the rep
owns ``--mine`` of them (300) and takes part in 100 more; every task names one of
``tasks / 10`` customers. ``stmts`` counts the statements a facade call sends.

Run ``python bench/bench_tasks.py --help``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
from _common import (
    add_postgres_options,
    banner,
    choose_postgres,
    postgres_engine,
    print_report,
    sqlite_engine,
)
from bench_sales import Statements
from sqlalchemy import Engine, insert, text

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.rows import RECORD_ROWS
from crmkit.adapters.sqlalchemy.tables import (
    metadata,
    record_links,
    task_placements,
    team_members,
)
from crmkit.entities.records import RecordRef
from crmkit.entities.tasks import Priority, Task
from crmkit.policies.order_keys import key_between

T0 = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
OWNERS = 1000
SHARED = 100
"""Tasks of others the rep takes part in."""


def load(engine: Engine, crm: CRM, rep_id: str, n_tasks: int, mine: int) -> list[str]:
    """The bench's tasks, team rows, links and placements in bulk; the rep's task ids."""
    rows: list[dict[str, Any]] = []
    team: list[dict[str, str]] = []
    links: list[dict[str, str]] = []
    placements: list[dict[str, str]] = []
    rep_tasks: list[str] = []
    customers = max(n_tasks // 10, 1)
    for n in range(n_tasks):
        owner = rep_id if n < mine else f"owner{n % OWNERS:04d}"
        task = Task(f"t{n:08d}", f"任务{n}", owner, owner, T0 + timedelta(seconds=n),
                    T0 + timedelta(seconds=n), priority=Priority("high" if n % 4 else "low"),
                    due_date=date(2026, 1, 5) + timedelta(days=n % 30), done=n % 3 == 0,
                    done_at=T0 if n % 3 == 0 else None,
                    related=(RecordRef("customer", f"c{n % customers:07d}"),))
        if mine <= n < mine + SHARED:
            task = attrs.evolve(task, participant_ids=frozenset({rep_id}))
            team.append({"record_kind": "task", "record_id": task.id, "user_id": rep_id,
                         "access": "read"})
        rows.append(RECORD_ROWS["task"].to_row(task))
        links.append({"source_kind": "task", "source_id": task.id, "target_kind": "customer",
                      "target_id": task.related[0].id})
        if owner == rep_id:
            rep_tasks.append(task.id)
            if n % 3:
                placements.append({"user_id": rep_id, "task_id": task.id,
                                   "bucket": ("today", "next", "later")[n % 3],
                                   "order_key": key_after(placements)})
    table = crm.runtime.kinds["task"].table
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(metadata.tables[table]), rows[start:start + 10_000])
            conn.execute(insert(record_links), links[start:start + 10_000])
        conn.execute(insert(team_members), team)
        conn.execute(insert(task_placements), placements)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    return rep_tasks


def key_after(placed: Sequence[dict[str, str]]) -> str:
    """A valid order key after the last one placed (columns share one ascending series)."""
    return key_between(placed[-1]["order_key"] if placed else None, None)


def hand(engine: Engine, statements: Sequence[tuple[str, dict[str, Any]]]) -> Callable[[], int]:
    """The hand-written variant: its statements in one transaction; the rows fetched."""
    compiled = [(text(sql), params) for sql, params in statements]

    def run() -> int:
        with engine.begin() as conn:
            return sum(len(conn.execute(s, p).all()) for s, p in compiled)
    return run


UPSERT = ("INSERT INTO crm_task_placements (user_id, task_id, bucket, order_key) "
            "VALUES (:u, :t, 'next', :k) ON CONFLICT (user_id, task_id) DO UPDATE SET "
            "bucket = excluded.bucket, order_key = excluded.order_key")
"""The hand-written placement write (SQLite and PostgreSQL alike)."""


def median(runs: int, fn: Callable[[], object]) -> float:
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        fn()
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_engine(name: str, engine: Engine, args: argparse.Namespace) -> list[list[str]]:
    storage = SqlStorage(engine)
    storage.create_schema()
    crm = CRM(storage, clock=FixedClock(T0 + timedelta(days=3)))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="管理员")
    top = crm.org.list_departments(admin)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(admin)}
    rep = crm.org.add_user(admin, {"mobile": "13900000001", "name": "销售", "department_id":
                                   top.id, "role_ids": [roles["sales_rep"]]})
    rep_tasks = load(engine, crm, rep.id, args.tasks, args.mine)
    customers = max(args.tasks // 10, 1)
    counter = Statements(engine)
    team = ("id IN (SELECT record_id FROM crm_team_members WHERE record_kind = 'task' "
            "AND user_id = :me)")
    columns = ", ".join(RECORD_ROWS["task"].columns)
    mine_sql = f"SELECT {columns} FROM crm_tasks WHERE (owner_id = :me OR {team})"
    placed = ("SELECT user_id, task_id, bucket, order_key FROM crm_task_placements "
              "WHERE user_id = :me ORDER BY order_key, task_id")
    me = {"me": rep.id}
    rep_customer = {"c": f"c{0:07d}", "me": rep.id}
    related = (f"SELECT {', '.join('t.' + c for c in RECORD_ROWS['task'].columns)} "
               "FROM crm_record_links l JOIN crm_tasks t ON t.id = l.source_id "
               "WHERE l.target_kind = 'customer' AND l.target_id = :c AND l.source_kind = 'task'")
    keys = [key_between(None, None)]

    def move_hand() -> int:
        with engine.begin() as conn:
            rows = conn.execute(text(
                "SELECT task_id, order_key FROM crm_task_placements WHERE user_id = :me AND "
                "bucket = 'next' ORDER BY order_key, task_id"), me).all()
            conn.execute(text(UPSERT),
                         {"u": rep.id, "t": rep_tasks[1], "k": keys[-1]})
            keys.append(key_between(None, keys[-1]))
            return len(rows)

    cases: list[tuple[str, Callable[[], object], Callable[[], int]]] = [
        ("workbench", lambda: crm.workbench.workbench(rep),
         hand(engine, [(mine_sql, me), (placed, me)])),
        ("workbench undone", lambda: crm.workbench.workbench(rep, {"done": False}),
         hand(engine, [(mine_sql + " AND NOT done", me), (placed, me)])),
        ("related_to rep", lambda: crm.tasks.related_to(
            rep, [RecordRef("customer", rep_customer["c"])]),
         hand(engine, [(related + f" AND (t.owner_id = :me OR t.{team})", rep_customer)])),
        ("related_to admin", lambda: crm.tasks.related_to(
            admin, [RecordRef("customer", f"c{customers // 2:07d}")]),
         hand(engine, [(related, {"c": f"c{customers // 2:07d}"})])),
        ("move", lambda: crm.workbench.move(rep, rep_tasks[1], "next", 3), move_hand),
    ]
    out = []
    for label, facade, written in cases:
        facade()                          # warm: the org snapshot and scopes are cached
        with counter.counting() as seen:
            facade()
        stmts = sum(seen.values())
        crm_time = median(args.repeats, facade)
        hand_time = median(args.repeats, written)
        out.append([f"{name} {label}", f"{crm_time * 1000:.2f}", f"{hand_time * 1000:.2f}",
                    f"{crm_time / hand_time:.2f}", str(stmts)])
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--quick", action="store_true", help="20,000 tasks, fewer repeats")
    parser.add_argument("--tasks", type=int, help="tasks to load (default 200,000)")
    parser.add_argument("--mine", type=int, default=300, help="tasks the rep owns")
    parser.add_argument("--repeats", type=int, help="timed runs per call (default 15)")
    args = parser.parse_args(argv)
    args.tasks = args.tasks or (20_000 if args.quick else 200_000)
    args.repeats = args.repeats or (5 if args.quick else 15)
    url, version = choose_postgres(args)
    started = time.perf_counter()
    print(banner("tasks", version, args.quick, f", {args.tasks:,} tasks"))
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        rows += bench_engine("sqlite", sqlite_engine(directory), args)
    if url is not None:
        with postgres_engine(url) as engine:
            rows += bench_engine("postgresql", engine, args)
    print_report("facade call vs hand-written SQL (median ms)",
                 ["call", "crmkit", "hand", "ratio", "stmts"], rows,
                 ["crmkit: the facade call; hand: its statements in one transaction, rows "
                  "fetched, not mapped.", "stmts: statements a warm facade call sends "
                  "(BEGIN and the org-version read included)."], started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
