#!/usr/bin/env python
"""Benchmark the 公海 reclaim sweep against hand-written SQL.

1,000,000 customers (by default) owned by the members of one pool, about 10 % of them due
under the pool's two rules (30 days without a follow-up, skipping 已成交 customers and those with
an opportunity in progress; no deal within 150 days for level A, 160 for level B). Timed, on
SQLite (a file in a temp dir) and PostgreSQL, each run in a transaction that is rolled back:

- ``sweep``: ``crm.pool.sweep(SWEEPER)`` — customers moved, team rows dropped, one log entry per
  customer, one notification per owner — against the same writes by hand: one UPDATE with the
  rules written out, the team DELETE, ``INSERT … SELECT`` of the log entries, the per-owner
  counts (on PostgreSQL also as one statement with data-modifying CTEs);
- ``reclaim``: the adapter's part alone, ``SqlPools.reclaim(spec, now)``, against the UPDATE
  and the team DELETE;
- ``dry run``: ``crm.pool.sweep(SWEEPER, dry_run=True)`` against a hand-written SELECT of
  (id, owner, first matching rule).

Run ``python bench/bench_pool.py --help``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from _common import (
    add_cpu_option,
    add_postgres_options,
    banner,
    choose_postgres,
    explain,
    postgres_engine,
    print_report,
    round_robin,
    short_sql,
    sqlite_engine,
    timed_call,
    use_clock,
)
from sqlalchemy import Connection, Engine, event, insert

from crmkit import CRM, SystemActor
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import UUID7Ids
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.pool import SqlPools
from crmkit.adapters.sqlalchemy.tables import users
from crmkit.entities import User
from crmkit.entities.pool import Pool
from crmkit.policies.reclaim import cutoff, pool_members, reclaim_spec
from crmkit.policies.scopes import OrgIndex

SWEEPER = SystemActor("bench: pool sweep")

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
"""The sweep's "now": 10:00 on 1 Dec in Beijing."""
RULES = [
    {"type": "followup", "days": 30},
    {"type": "deal", "days_by_level": {"A": 150, "B": 160},
     "reclaim_with_open_opportunities": True},
]
DAYS = {"followup": 30, "A": 150, "B": 160}


class Rollback(Exception):
    """Ends a timed run: everything it wrote is rolled back."""


# -- helpers ----------------------------------------------------------------------------------


class StatementCapture:
    """Every (SQL, parameters) SQLAlchemy sends while :attr:`on` is set, for ``--explain``."""

    def __init__(self, engine: Engine) -> None:
        self.on = False
        self.seen: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._capture)

    def _capture(self, conn: Connection, cursor: Any, statement: str, params: Any, *_: Any
                 ) -> None:
        if self.on:
            self.seen.append((statement, params))


# -- data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    storage: SqlStorage
    crm: CRM
    admin: User
    pool: Pool
    department_id: str
    member_ids: tuple[str, ...]


def naive(at: datetime) -> str:
    """``at`` as crmkit stores it: naive UTC text with microseconds."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")


def build(engine: Engine, n_users: int) -> Setup:
    """Schema, an admin, a sales department of ``n_users`` reps (bulk-inserted) and the pool."""
    storage = SqlStorage(engine)
    storage.create_schema()
    crm = CRM(storage, clock=FixedClock(NOW), ids=UUID7Ids(), notifier=OutboxNotifier())
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    sales = crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
    member_ids = tuple(f"u{n:05d}" for n in range(n_users))
    with storage.transaction() as uow:
        uow.connection.execute(insert(users), [
            {"id": uid, "mobile": f"139{n:08d}", "name": uid, "gender": "unknown",
             "department_id": sales.id, "status": "active", "version": 1}
            for n, uid in enumerate(member_ids)])
        uow.bump_org_version()
    pool = crm.pool.create_pool(admin, {
        "name": "销售公海", "admin_ids": [admin.id], "member_department_ids": [sales.id],
        "rules": RULES})
    return Setup(storage, crm, admin, pool, sales.id, member_ids)


# Customer g (0-based) is owned by member g·7919 mod n; level A/B/C/D by g mod 4; 已成交 when
# g mod 5 = 0; locked when g mod 50 = 0; received (g·7919 mod 180) days + 1 hour before now; its
# last follow-up 35 days before now when g mod 20 = 3 (stale), else g mod 20 days before; an
# opportunity (created g mod 90 days before now, in progress when g mod 14 = 0) when g mod 7 = 0;
# a team member when g mod 97 = 0.

_PG_CUSTOMERS = """
INSERT INTO crm_customers (id, name, owner_id, created_by, created_at, updated_at, version,
    level, deal_status, locked, received_at, last_followup_at, custom)
SELECT 'c' || lpad(g::text, 7, '0'), 'customer ' || g,
       u.ids[1 + mod(g::bigint * 7919, cardinality(u.ids))], NULL,
       t.received, t.received, 1,
       (ARRAY['A', 'B', 'C', 'D'])[1 + mod(g, 4)],
       CASE WHEN mod(g, 5) = 0 THEN '已成交' ELSE '未成交' END,
       mod(g, 50) = 0, t.received,
       timestamp '{now}' - make_interval(days => CASE WHEN mod(g, 20) = 3 THEN 35
                                                     ELSE mod(g, 20) END),
       '{{}}'::jsonb
FROM (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users WHERE department_id = '{dept}') u,
     generate_series(0, {rows} - 1) g,
     LATERAL (SELECT timestamp '{now}' - make_interval(days => mod(g::bigint * 7919, 180)::int,
                                                       hours => 1) AS received) t
"""
_PG_OPPORTUNITIES = """
INSERT INTO crm_opportunities (id, name, customer_id, owner_id, created_at, updated_at,
    stage_group_id, version, status, amount, lines, order_discount, contact_ids, custom)
SELECT 'o' || lpad(g::text, 7, '0'), 'opportunity ' || g, 'c' || lpad(g::text, 7, '0'), NULL,
       t.at, t.at, 'g1', 1, CASE WHEN mod(g, 14) = 0 THEN 'in_progress' ELSE 'won' END,
       0, '[]'::jsonb, 0, '[]'::jsonb, '{{}}'::jsonb
FROM generate_series(0, {rows} - 1, 7) g,
     LATERAL (SELECT timestamp '{now}' - make_interval(days => mod(g, 90)) AS at) t
"""
_PG_TEAM = """
INSERT INTO crm_team_members (record_kind, record_id, user_id, access)
SELECT 'customer', 'c' || lpad(g::text, 7, '0'),
       u.ids[1 + mod(g::bigint * 104729, cardinality(u.ids))], 'read'
FROM (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users WHERE department_id = '{dept}') u,
     generate_series(0, {rows} - 1, 97) g
"""
_SQLITE_CUSTOMERS = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {rows} - 1)
INSERT INTO crm_customers (id, name, owner_id, created_by, created_at, updated_at, version,
    level, deal_status, locked, received_at, last_followup_at, custom)
SELECT printf('c%07d', g), 'customer ' || g,
       (SELECT id FROM bench_members WHERE rn = (g * 7919) % {users}), NULL,
       r, r, 1, substr('ABCD', 1 + g % 4, 1),
       CASE WHEN g % 5 = 0 THEN '已成交' ELSE '未成交' END, g % 50 = 0, r,
       datetime('{now}', printf('-%d days', CASE WHEN g % 20 = 3 THEN 35 ELSE g % 20 END))
           || '.000000',
       '{{}}'
FROM (SELECT g, datetime('{now}', printf('-%d days', (g * 7919) % 180), '-1 hours')
                || '.000000' AS r FROM s)
"""
_SQLITE_OPPORTUNITIES = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 7 FROM s WHERE g + 7 < {rows})
INSERT INTO crm_opportunities (id, name, customer_id, owner_id, created_at, updated_at,
    stage_group_id, version, status, amount, lines, order_discount, contact_ids, custom)
SELECT printf('o%07d', g), 'opportunity ' || g, printf('c%07d', g), NULL, a, a, 'g1', 1,
       CASE WHEN g % 14 = 0 THEN 'in_progress' ELSE 'won' END, 0, '[]', 0, '[]', '{{}}'
FROM (SELECT g, datetime('{now}', printf('-%d days', g % 90)) || '.000000' AS a FROM s)
"""
_SQLITE_TEAM = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 97 FROM s WHERE g + 97 < {rows})
INSERT INTO crm_team_members (record_kind, record_id, user_id, access)
SELECT 'customer', printf('c%07d', g),
       (SELECT id FROM bench_members WHERE rn = (g * 104729) % {users}), 'read'
FROM s
"""


def load(setup: Setup, n_rows: int) -> float:
    """Customers, opportunities and team rows in a few INSERT … SELECT; then statistics."""
    start = time.perf_counter()
    engine = setup.storage.engine
    fill = {"rows": n_rows, "now": naive(NOW)[:19], "dept": setup.department_id,
            "users": len(setup.member_ids)}
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            for sql in (_PG_CUSTOMERS, _PG_OPPORTUNITIES, _PG_TEAM):
                conn.exec_driver_sql(sql.format(**fill))
        else:
            conn.exec_driver_sql(
                "CREATE TEMP TABLE bench_members (rn INTEGER PRIMARY KEY, id TEXT NOT NULL)")
            conn.exec_driver_sql(
                "INSERT INTO bench_members SELECT row_number() OVER (ORDER BY id) - 1, id "
                f"FROM crm_users WHERE department_id = '{setup.department_id}'")
            for sql in (_SQLITE_CUSTOMERS, _SQLITE_OPPORTUNITIES, _SQLITE_TEAM):
                conn.exec_driver_sql(sql.format(**fill))
            conn.exec_driver_sql("DROP TABLE bench_members")
            conn.exec_driver_sql("ANALYZE")
    vacuum(engine, analyze=True)
    return time.perf_counter() - start


def vacuum(engine: Engine, *, analyze: bool = False) -> None:
    """PostgreSQL: clear the dead rows a rolled-back run left (every run starts alike)."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for name in ("crm_customers", "crm_team_members", "crm_operation_log",
                     "crm_opportunities", "crm_users"):
            conn.exec_driver_sql(f"VACUUM {'ANALYZE ' if analyze else ''}{name}")


# -- hand-written SQL -------------------------------------------------------------------------


def _lit(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _ts(conn: Connection, at: datetime) -> str:
    text = naive(at)
    return f"timestamp '{text}'" if conn.dialect.name == "postgresql" else _lit(text)


@dataclass(frozen=True)
class Hand:
    """The hand-written statements for one engine, owners given as ``owners`` (SQL)."""

    where: str
    rule: str
    set_: str
    moved: str
    log_changes: str

    @classmethod
    def build(cls, conn: Connection, setup: Setup, owners: str) -> Hand:
        postgres = conn.dialect.name == "postgresql"
        c30, c150, c160 = (_ts(conn, cutoff(NOW, DAYS[k], TZ)) for k in ("followup", "A", "B"))
        now, pool = _ts(conn, NOW), _lit(setup.pool.id)
        false = "false" if postgres else "0"
        followup = (
            f"(c.deal_status <> '已成交' AND c.received_at < {c30} "
            f"AND (c.last_followup_at IS NULL OR c.last_followup_at < {c30}) "
            "AND NOT EXISTS (SELECT 1 FROM crm_opportunities o WHERE o.customer_id = c.id "
            "AND o.status = 'in_progress'))"
        )
        deal = (
            f"(c.deal_status <> '已成交' AND ((c.level = 'A' AND c.received_at < {c150}) "
            f"OR (c.level = 'B' AND c.received_at < {c160})))"
        )
        where = (f"c.owner_id IN ({owners}) AND c.locked = {false} AND c.pool_id IS NULL "
                 f"AND ({followup} OR {deal})")
        rule = f"CASE WHEN {followup} THEN 0 ELSE 1 END"
        set_ = (f"owner_id = NULL, previous_owner_id = owner_id, pool_id = {pool}, "
                f"pooled_at = {now}, pool_warned_at = NULL, version = version + 1, "
                f"updated_at = {now}")
        moved = f"c.pool_id = {pool} AND c.pooled_at = {now}"
        obj = "jsonb_build_object" if postgres else "json_object"
        arr = "jsonb_build_array" if postgres else "json_array"
        log_changes = (f"{arr}({obj}('field', 'owner_id', 'old', {{owner}}, 'new', NULL), "
                       f"{obj}('field', 'pool_id', 'old', NULL, 'new', {pool}))")
        return cls(where, rule, set_, moved, log_changes)

    def log_insert(self, conn: Connection, source: str, owner: str, rule: str) -> str:
        now = _ts(conn, NOW)
        note = f"'rule ' || {rule} || CASE WHEN {rule} = 0 THEN ': followup' ELSE ': deal' END"
        return (
            "INSERT INTO crm_operation_log (id, record_kind, record_id, actor_id, at, action, "
            f"changes, note) SELECT 'log' || c.id, 'customer', c.id, NULL, {now}, 'reclaim', "
            f"{self.log_changes.format(owner=owner)}, {note} FROM {source}"
        )

    def sweep_steps(self, conn: Connection) -> list[str]:
        """UPDATE; team DELETE; log INSERT … SELECT; per-owner counts (for the notices)."""
        return [
            f"UPDATE crm_customers AS c SET {self.set_} WHERE {self.where}",
            "DELETE FROM crm_team_members WHERE record_kind = 'customer' AND record_id IN "
            f"(SELECT c.id FROM crm_customers c WHERE {self.moved})",
            self.log_insert(conn, f"crm_customers c WHERE {self.moved}",
                            "c.previous_owner_id", self.rule),
            "SELECT c.previous_owner_id, count(*) FROM crm_customers c "
            f"WHERE {self.moved} GROUP BY c.previous_owner_id",
        ]

    def sweep_cte(self, conn: Connection) -> list[str]:
        """PostgreSQL: the same writes as ONE statement (data-modifying CTEs)."""
        return [
            f"WITH moved AS (UPDATE crm_customers AS c SET {self.set_} WHERE {self.where} "
            f"RETURNING c.id, c.previous_owner_id, {self.rule} AS rule), "
            "gone AS (DELETE FROM crm_team_members t USING moved m "
            "WHERE t.record_kind = 'customer' AND t.record_id = m.id), "
            f"logged AS ({self.log_insert(conn, 'moved c', 'c.previous_owner_id', 'c.rule')}) "
            "SELECT previous_owner_id, count(*) FROM moved GROUP BY previous_owner_id"
        ]

    def reclaim_steps(self) -> list[str]:
        """The UPDATE and the team DELETE."""
        return [
            f"UPDATE crm_customers AS c SET {self.set_} WHERE {self.where}",
            "DELETE FROM crm_team_members WHERE record_kind = 'customer' AND record_id IN "
            f"(SELECT c.id FROM crm_customers c WHERE {self.moved})",
        ]

    def select(self) -> str:
        return (f"SELECT c.id, c.owner_id, {self.rule} FROM crm_customers c "
                f"WHERE {self.where} ORDER BY c.id")


def hand_variants(conn: Connection, setup: Setup) -> dict[str, Hand]:
    listed = ", ".join(_lit(u) for u in setup.member_ids)
    by_dept = f"SELECT id FROM crm_users WHERE department_id = {_lit(setup.department_id)}"
    return {"in-list": Hand.build(conn, setup, listed),
            "users-sq": Hand.build(conn, setup, by_dept)}


# -- timing -----------------------------------------------------------------------------------


Job = Callable[[], int]
"""One timed run; returns how many customers it moved or selected (checked to agree)."""


def in_rollback(setup: Setup, work: Callable[[Connection], int]) -> tuple[float, int]:
    """Run ``work`` in a transaction that is rolled back; the time excludes the rollback."""
    box: list[Any] = []
    with contextlib.suppress(Rollback), setup.storage.transaction() as uow:
        seconds, moved = timed_call(lambda: work(uow.connection))
        box += [moved, seconds]
        raise Rollback
    return box[1], box[0]


def run_sql(statements: list[str], count: Callable[[Connection, list[Any]], int]
            ) -> Callable[[Connection], int]:
    """Run ``statements``; ``count`` turns the last result rows into the job's count."""
    def work(conn: Connection) -> int:
        rows: list[Any] = []
        for sql in statements:
            result = conn.exec_driver_sql(sql)
            rows = list(result.all()) if result.returns_rows else []
        return count(conn, rows)
    return work


def _per_owner(_conn: Connection, rows: list[Any]) -> int:
    return sum(int(r[1]) for r in rows)


def _selected(_conn: Connection, rows: list[Any]) -> int:
    return len(rows)


def jobs_for(setup: Setup, conn: Connection) -> dict[str, dict[str, Callable[[Connection], int]]]:
    """Per task: ``crmkit`` and every hand-written variant."""
    crm = setup.crm
    members = pool_members(setup.pool, OrgIndex(conn_snapshot(setup)))
    spec = reclaim_spec(setup.pool, members, NOW, TZ)

    def sweep(_conn: Connection) -> int:
        return len(crm.pool.sweep(SWEEPER, at=NOW).reclaimed)

    def dry_run(_conn: Connection) -> int:
        return len(crm.pool.sweep(SWEEPER, at=NOW, dry_run=True).reclaimed)

    def reclaim(conn: Connection) -> int:
        return len(SqlPools(conn).reclaim(spec, NOW))

    tasks: dict[str, dict[str, Callable[[Connection], int]]] = defaultdict(dict)
    tasks["sweep"]["crmkit"] = sweep
    tasks["reclaim"]["crmkit"] = reclaim
    tasks["dry run"]["crmkit"] = dry_run
    for key, hand in hand_variants(conn, setup).items():
        tasks["sweep"][key] = run_sql(hand.sweep_steps(conn), _per_owner)
        if conn.dialect.name == "postgresql":
            tasks["sweep"][f"{key}/cte"] = run_sql(hand.sweep_cte(conn), _per_owner)
        moved = f"SELECT count(*) FROM crm_customers c WHERE {hand.moved}"  # to check only
        tasks["reclaim"][key] = run_sql(
            hand.reclaim_steps(),
            lambda conn, _rows, sql=moved: int(conn.exec_driver_sql(sql).scalar_one()))
        tasks["dry run"][key] = run_sql([hand.select()], _selected)
    return tasks


def conn_snapshot(setup: Setup) -> Any:
    with setup.storage.transaction() as uow:
        return uow.org_snapshot()


def time_task(setup: Setup, jobs: dict[str, Callable[[Connection], int]], repeats: int
              ) -> tuple[dict[str, float], int]:
    """Every job ``repeats + 1`` times, interleaved, first round discarded, each after a
    VACUUM and rolled back; medians."""
    def run(job: Callable[[Connection], int]) -> tuple[float, int]:
        vacuum(setup.storage.engine)
        return in_rollback(setup, job)

    return round_robin(jobs, repeats, run)


def explain_all(setup: Setup, tasks: dict[str, dict[str, Callable[[Connection], int]]]
                ) -> list[str]:
    """crmkit's statements as sent, and the plans of crmkit's and the hand-written SELECTs."""
    capture = StatementCapture(setup.storage.engine)
    lines: list[str] = []
    for task in ("dry run", "reclaim"):
        capture.seen = []
        capture.on = True
        in_rollback(setup, tasks[task]["crmkit"])
        capture.on = False
        with setup.storage.engine.connect() as conn:
            for sql, params in capture.seen:
                if sql.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE")) and (
                        "crm_customers" in sql or "crm_team_members" in sql):
                    lines.append(f"  [{conn.dialect.name} {task}] crmkit: {short_sql(sql)}")
                    lines.append(explain(conn, sql, params))
            for key, hand in hand_variants(conn, setup).items():
                sql = hand.select() if task == "dry run" else hand.reclaim_steps()[0]
                lines.append(f"  [{conn.dialect.name} {task}] {key}: {short_sql(sql)}")
                lines.append(explain(conn, sql))
            conn.rollback()
    return lines


def bench_engine(name: str, engine: Engine, n_rows: int, n_users: int, repeats: int,
                 show_plans: bool) -> tuple[list[list[str]], list[str], float]:
    setup = build(engine, n_users)
    load_s = load(setup, n_rows)
    with engine.connect() as conn:
        tasks = jobs_for(setup, conn)
    rows: list[list[str]] = []
    notes: list[str] = []
    for task, jobs in tasks.items():
        medians, count = time_task(setup, jobs, repeats)
        hands = {k: v for k, v in medians.items() if k != "crmkit"}
        best = min(hands, key=lambda k: hands[k])
        crm_s, hand_s = medians["crmkit"], hands[best]
        rows.append([f"{name} {task}", f"{n_rows:,}", f"{count:,}", f"{crm_s * 1e3:,.0f}",
                     f"{hand_s * 1e3:,.0f}", best, f"{crm_s / hand_s:.2f}x"])
        listed = ", ".join(f"{k} {v * 1e3:,.0f}" for k, v in hands.items())
        notes.append(f"  {name} {task}: hand-written medians (ms): {listed}")
    if show_plans:
        notes += explain_all(setup, tasks)
    return rows, notes, load_s


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--rows", type=int, help="customers (default 1,000,000; --quick 50,000)")
    parser.add_argument("--users", type=int, default=5_000,
                        help="pool members owning them (default 5,000)")
    parser.add_argument("--repeats", type=int, help="timed runs per variant (default 5; quick 3)")
    parser.add_argument("--quick", action="store_true", help="small run for smoke tests")
    parser.add_argument("--explain", action="store_true", help="print SQL and query plans")
    add_cpu_option(parser)
    args = parser.parse_args(argv)
    use_clock(args)
    n_rows = args.rows or (50_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 5)

    pg_url, pg_version = choose_postgres(args)

    started = time.perf_counter()
    print(banner("pool sweep", pg_version, args.quick), flush=True)
    results: list[list[str]] = []
    notes: list[str] = []
    loads: list[str] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as directory:
            engine = sqlite_engine(directory)
            rows, more, load_s = bench_engine("sqlite", engine, n_rows, args.users, repeats,
                                              args.explain)
            engine.dispose()
            results += rows
            notes += more
            loads.append(f"sqlite {load_s:.1f} s")
    if pg_url:
        with postgres_engine(pg_url, "crmkit_bench_pool") as engine:
            rows, more, load_s = bench_engine("pg", engine, n_rows, args.users, repeats,
                                              args.explain)
        results += rows
        notes += more
        loads.append(f"pg {load_s:.1f} s")
    title = (
        f"Pool sweep over {n_rows:,} customers of {args.users:,} pool members, median of "
        f"{repeats} runs after a warm-up (each run rolled back)\n"
        "  crmkit = crm.pool.sweep(SWEEPER) / SqlPools.reclaim(spec) / "
        "crm.pool.sweep(SWEEPER, dry_run=True); "
        "hand = the fastest hand-written variant doing the same work; ms.\n"
        f"  load (schema, org, rows, statistics): {', '.join(loads)}"
    )
    headers = ["engine task", "customers", "selected", "crmkit ms", "hand ms", "best hand",
               "ratio"]
    print_report(title, headers, results, notes, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
