#!/usr/bin/env python
"""Benchmark crmkit's data scopes: resolving owner sets, and scoped counts in SQL.

Part 1 — resolution. A synthetic org (10,000 users, 1,000 departments in a tree of depth 10,
a supervisor forest) is resolved for EVERY user at each scope level with
:func:`crmkit.policies.resolve_scope`, and compared with a naive resolver that applies each
level's definition by walking the department/supervisor parent chains of all users (timed on
a sample of users and extrapolated).

Part 2 — SQL. ``bench_owned`` gets N owned rows (1,000,000 by default) on SQLite (a file in a
temp dir) and PostgreSQL; for a few viewers ``SELECT count(*)`` with crmkit's
:func:`~crmkit.adapters.sqlalchemy.scope_clause` (after reading the viewer's team record ids,
as a crmkit repository does) is timed against hand-written SQL strings that select the same
rows (owner in the visible set OR the viewer is on the record's team); the fastest
hand-written variant is the baseline.

Run ``python bench/bench_scopes.py --help``; see ``bench/README.md`` for how to read the output.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from _common import (
    add_postgres_options,
    analyze,
    banner,
    choose_postgres,
    explain,
    median_of,
    postgres_engine,
    print_report,
    round_robin,
    short_sql,
    sqlite_engine,
    table,
    timed_call,
)
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    Select,
    Table,
    event,
    insert,
)

from crmkit.adapters.sqlalchemy import QueryCompiler
from crmkit.adapters.sqlalchemy import metadata as crm_metadata
from crmkit.adapters.sqlalchemy.scope import team_record_ids
from crmkit.adapters.sqlalchemy.tables import departments, team_members, users
from crmkit.entities import (
    CustomDepartment,
    DataScope,
    Module,
    OrgMember,
    OrgSnapshot,
    OrgUnit,
    RecordScope,
    Role,
    ScopeLevel,
)
from crmkit.entities.query import RecordQuery
from crmkit.policies import OrgIndex, resolve_scope

MODULE = Module.CUSTOMERS
RECORD_KIND = "bench"
LEVEL_SIZES = (1, 5, 15, 40, 80, 130, 170, 190, 200, 169)
"""Departments per tree level: 1,000 departments, depth 10 (every level is populated)."""
OWNER_STRIDE = 7919
"""Record g is owned by user number ``g * OWNER_STRIDE % n_users`` (a prime: owners are spread
evenly and each owner's rows are scattered over the table, as records created over time are)."""
TEAM_EVERY = 97
"""Every 97th record has one extra team member (~1 % of records, ~1 team row per user)."""

ID_TYPE = users.c.id.type
"""crmkit's id column type (on PostgreSQL it may carry a collation), so joins and ``IN`` between
``bench_owned`` and crmkit's tables compare like with like and can use either side's index."""

bench_md = MetaData()
bench_owned = Table(
    "bench_owned",
    bench_md,
    Column("id", ID_TYPE, primary_key=True),
    Column("owner_id", ID_TYPE, nullable=True),
    Column("created_at", DateTime(), nullable=False),
)
OWNER_INDEX_DDL = "CREATE INDEX ix_bench_owned_owner_id ON bench_owned (owner_id)"
"""Run after the bulk load (faster than maintaining the index row by row)."""


# -- helpers ----------------------------------------------------------------------------------


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` is the elapsed seconds (GC paused inside)."""
    box: list[float] = []
    enabled = gc.isenabled()
    gc.disable()
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)
        if enabled:
            gc.enable()


def sql_list(values: Sequence[str]) -> str:
    """``'a', 'b'`` — SQL string literals (quotes doubled), for hand-written IN lists."""
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


# -- the synthetic org ------------------------------------------------------------------------


@dataclass(frozen=True)
class Org:
    snapshot: OrgSnapshot
    level_of: dict[str, int]
    """Department id → depth (0 = top)."""
    head_of: dict[str, str]
    """Department id → its head (first user)."""
    heads: frozenset[str]


def build_org(n_users: int, seed: int) -> Org:
    """Departments level by level (parent drawn from the level above), then users.

    Every department has a head reporting to the head of the parent department; about one in
    eight other members is a team lead reporting to the head; the rest report to a lead of
    their department or the head; 2 % have no supervisor (a forest, not one tree). Members are
    listed supervisors first, so inserting them in order satisfies the foreign key.
    """
    rng = random.Random(seed)
    units: list[OrgUnit] = []
    level_of: dict[str, int] = {}
    levels: list[list[str]] = []
    for depth, size in enumerate(LEVEL_SIZES):
        level: list[str] = []
        for _ in range(size):
            dept = f"d{len(units):04d}"
            parent = rng.choice(levels[-1]) if levels else None
            units.append(OrgUnit(dept, parent))
            level_of[dept] = depth
            level.append(dept)
        levels.append(level)
    all_depts = [u.id for u in units]
    parent_of = {u.id: u.parent_id for u in units}
    n_others = n_users - len(units)
    if n_others < 1:
        raise SystemExit(f"need more than {len(units)} users (one head per department + reps)")
    placed: dict[str, list[int]] = defaultdict(list)
    for n in range(n_others):
        placed[rng.choice(all_depts)].append(n)

    members: list[OrgMember] = []
    next_id = iter(range(n_users))

    def new_id() -> str:
        return f"u{next(next_id):05d}"

    head_of: dict[str, str] = {}
    for level in levels:  # heads, top-down
        for dept in level:
            parent = parent_of[dept]
            head_of[dept] = user_id = new_id()
            members.append(OrgMember(user_id, dept, head_of[parent] if parent else None))
    leads: dict[str, list[str]] = defaultdict(list)
    rest: list[str] = []
    for dept in all_depts:  # leads, then everyone else
        for n in placed[dept]:
            if n % 8 == 0:
                leads[dept].append(user_id := new_id())
                members.append(OrgMember(user_id, dept, head_of[dept]))
            else:
                rest.append(dept)
    for dept in rest:
        supervisor = None if rng.random() < 0.02 else rng.choice([head_of[dept], *leads[dept]])
        members.append(OrgMember(new_id(), dept, supervisor))
    snapshot = OrgSnapshot(version=1, units=tuple(units), members=tuple(members))
    return Org(snapshot, level_of, head_of, frozenset(head_of.values()))


def role_with(level: ScopeLevel, org: Org) -> Role:
    """A role whose scope on :data:`MODULE` is ``level`` (CUSTOM: three departments, two users)."""
    if level is ScopeLevel.CUSTOM:
        by_level: dict[int, list[str]] = defaultdict(list)
        for dept, depth in sorted(org.level_of.items()):
            by_level[depth].append(dept)
        member_ids = [m.id for m in org.snapshot.members]
        scope = DataScope(
            level,
            departments=frozenset(
                {
                    CustomDepartment(by_level[3][0], include_children=True),
                    CustomDepartment(by_level[5][1], include_children=False),
                    CustomDepartment(by_level[7][2], include_children=True),
                }
            ),
            users=frozenset({member_ids[-1], member_ids[-2]}),
        )
    else:
        scope = DataScope(level)
    return Role(id=f"r-{level.value}", name=level.value, scopes={MODULE: scope})


# -- part 1: resolution -----------------------------------------------------------------------


class NaiveResolver:
    """Each level's definition applied literally: scan all users, walk their parent chains.

    Only plain dicts (department parent, user department, user supervisor) are prepared; no
    children lists, no per-department user sets, no memo.
    """

    def __init__(self, snapshot: OrgSnapshot) -> None:
        self.parent = {u.id: u.parent_id for u in snapshot.units}
        self.department_of = {m.id: m.department_id for m in snapshot.members}
        self.supervisor_of = {m.id: m.supervisor_id for m in snapshot.members}

    def _dept_under(self, dept: str | None, ancestors: set[str]) -> bool:
        seen: set[str] = set()
        while dept is not None and dept not in seen:
            if dept in ancestors:
                return True
            seen.add(dept)
            dept = self.parent.get(dept)
        return False

    def _reports_to(self, user: str | None, boss: str) -> bool:
        seen: set[str] = set()
        while user is not None and user not in seen:
            if user == boss:
                return True
            seen.add(user)
            user = self.supervisor_of.get(user)
        return False

    def owners(self, viewer: str, scope: DataScope) -> frozenset[str]:
        level = scope.level
        everyone = self.department_of
        if level is ScopeLevel.SELF:
            return frozenset({viewer})
        if level is ScopeLevel.SELF_AND_SUBORDINATES:
            return frozenset(u for u in everyone if self._reports_to(u, viewer))
        if level is ScopeLevel.DEPARTMENT:
            mine = everyone[viewer]
            return frozenset(u for u, d in everyone.items() if d == mine)
        if level is ScopeLevel.DEPARTMENT_TREE:
            top = {everyone[viewer]}
            return frozenset(u for u, d in everyone.items() if self._dept_under(d, top))
        assert level is ScopeLevel.CUSTOM
        trees = {e.department_id for e in scope.departments if e.include_children}
        exact = {e.department_id for e in scope.departments if not e.include_children}
        return (
            frozenset(
                u
                for u, d in everyone.items()
                if u in scope.users or d in exact or self._dept_under(d, trees)
            )
            | scope.users
        )


def bench_resolution(org: Org, sample_size: int, seed: int) -> str:
    snapshot = org.snapshot
    user_ids = [m.id for m in snapshot.members]
    build_s = median_of(5, lambda: OrgIndex(snapshot))
    sample = random.Random(seed).sample(user_ids, min(sample_size, len(user_ids)))
    naive = NaiveResolver(snapshot)
    scale = len(user_ids) / len(sample)
    rows: list[list[str]] = []
    for level in (
        ScopeLevel.SELF,
        ScopeLevel.SELF_AND_SUBORDINATES,
        ScopeLevel.DEPARTMENT,
        ScopeLevel.DEPARTMENT_TREE,
        ScopeLevel.CUSTOM,
    ):
        roles = [role_with(level, org)]
        scope = roles[0].scopes[MODULE]
        colds: list[float] = []
        warms: list[float] = []
        for _ in range(3):  # median of three passes, each on a fresh memo
            index = OrgIndex(snapshot)
            resolved: dict[str, RecordScope] = {}
            with timed() as cold:
                for user_id in user_ids:
                    resolved[user_id] = resolve_scope(index, user_id, roles, MODULE)
            again: dict[str, RecordScope] = {}  # kept, like ``resolved``: no deallocation timed
            with timed() as warm:
                for user_id in user_ids:
                    again[user_id] = resolve_scope(index, user_id, roles, MODULE)
            colds.append(cold[0])
            warms.append(warm[0])
        cold_s, warm_s = statistics.median(colds), statistics.median(warms)
        expected: dict[str, frozenset[str]] = {}
        with timed() as slow:
            for user_id in sample:
                expected[user_id] = naive.owners(user_id, scope)
        for user_id in sample:  # the two resolvers must agree
            if resolved[user_id].owner_ids != expected[user_id]:
                raise AssertionError(f"{level} disagrees with the naive resolver for {user_id}")
        naive_total = slow[0] * scale
        avg_owners = sum(len(s.owner_ids) for s in resolved.values()) / len(resolved)
        rows.append(
            [
                level.value,
                f"{avg_owners:,.0f}",
                f"{cold_s * 1e3:,.1f}",
                f"{cold_s / len(user_ids) * 1e6:,.2f}",
                f"{warm_s * 1e3:,.1f}",
                f"{warm_s / len(user_ids) * 1e6:,.2f}",
                f"{naive_total * 1e3:,.0f}",
                f"{slow[0] / len(sample) * 1e6:,.1f}",
                f"{naive_total / cold_s:,.1f}x",
            ]
        )
    depth = max(org.level_of.values()) + 1
    title = (
        f"PART 1 - resolve_scope for every one of {len(user_ids):,} users "
        f"({len(snapshot.units):,} departments, depth {depth}); "
        f"OrgIndex build: {build_s * 1e3:.1f} ms (median of 5)\n"
        f"  cold = fresh OrgIndex (memo empty, build not counted); warm = same index again; "
        f"median of 3 passes.\n"
        f"  naive = definition applied by scanning all users and walking parent chains, timed on "
        f"{len(sample)} random users and extrapolated x{scale:,.0f} to all users; "
        f"ratio = naive total / crmkit cold total."
    )
    headers = [
        "level",
        "avg owners",
        "cold ms",
        "cold us/user",
        "warm ms",
        "warm us/user",
        "naive ms*",
        "naive us/user",
        "naive/crmkit",
    ]
    return table(headers, rows, title)


# -- part 2: scoped counts in SQL -------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    label: str
    user_id: str
    role: Role


def pick_viewers(org: Org, index: OrgIndex) -> list[Viewer]:
    """A rep (SELF, in the deepest department that has one), a manager
    (~300 owners) and a director (~3,000) by DEPARTMENT_TREE, ALL."""
    reps = [m for m in org.snapshot.members if m.id not in org.heads]
    deepest = max(org.level_of[m.department_id] for m in reps)
    rep = next(m.id for m in reps if org.level_of[m.department_id] == deepest)

    def head_near(target: int) -> str:
        dept = min(org.head_of, key=lambda d: (abs(len(index.users_in_tree(d)) - target), d))
        return org.head_of[dept]

    return [
        Viewer("rep", rep, role_with(ScopeLevel.SELF, org)),
        Viewer("manager", head_near(300), role_with(ScopeLevel.DEPARTMENT_TREE, org)),
        Viewer("director", head_near(3000), role_with(ScopeLevel.DEPARTMENT_TREE, org)),
        Viewer("admin", org.head_of["d0000"], role_with(ScopeLevel.ALL, org)),
    ]


def crmkit_team_ids(conn: Connection, scope: RecordScope) -> frozenset[str] | None:
    """What a crmkit repository does before a scoped statement (``QueryCompiler.team_ids``):
    on PostgreSQL read the viewer's team record ids; on SQLite (or above ``TEAM_ID_LIMIT``)
    None, and the statement reads the team table itself."""
    compiler = QueryCompiler(bench_owned, RECORD_KIND, conn.dialect.name)
    return compiler.team_ids(conn, scope)


def crmkit_count(
    conn: Connection, scope: RecordScope, team_ids: frozenset[str] | None
) -> Select[Any]:
    """What a crmkit repository runs (``QueryCompiler.count``): the count cut to the compiled
    scope (:func:`~crmkit.adapters.sqlalchemy.scope_clause`) — no WHERE term for ALL; with a
    team grant, the owned rows plus the team rows of other owners, added."""
    compiler = QueryCompiler(bench_owned, RECORD_KIND, conn.dialect.name)
    return compiler.count(RecordQuery(scope), team_ids)


def hand_written(viewer: Viewer, index: OrgIndex) -> dict[str, str]:
    """Hand-written SQL strings selecting the same rows as crmkit's clause, by shape.

    Every variant keeps the team grant (records on whose team the viewer is), as crmkit does.
    - ``or-in``: ``owner_id IN (<literal ids>) OR id IN (SELECT record_id FROM team ...)``;
    - ``or-in/users-sq``: owners as ``SELECT id FROM crm_users WHERE department_id IN (...)``
      (department ids computed by the application);
    - ``or-in/cte``: the department subtree by a recursive CTE — all resolution done in SQL;
    - ``union``: ``SELECT id ... WHERE owner_id IN (...) UNION SELECT o.id ... JOIN team``;
    - ``sum``: two disjoint counts added: owned rows, plus team rows whose owner is not visible
      (``sum/users-sq``: owners by the users subquery as above).
    """
    me = sql_list([viewer.user_id])
    team = (
        "SELECT record_id FROM crm_team_members "
        f"WHERE record_kind = '{RECORD_KIND}' AND user_id = {me}"
    )
    team_join = (
        "SELECT o.id FROM bench_owned o JOIN crm_team_members t ON t.record_id = o.id "
        f"WHERE t.record_kind = '{RECORD_KIND}' AND t.user_id = {me}"
    )

    def disjoint_sum(owners: str) -> str:
        return (
            f"SELECT (SELECT count(*) FROM bench_owned WHERE owner_id IN {owners}) + ("
            f"{team_join.replace('SELECT o.id', 'SELECT count(*)')} "
            f"AND (o.owner_id IS NULL OR o.owner_id NOT IN {owners}))"
        )

    level = viewer.role.scopes[MODULE].level
    if level is ScopeLevel.ALL:
        return {"plain": "SELECT count(*) FROM bench_owned"}
    if level is ScopeLevel.SELF:
        owners = f"({me})"
    else:
        assert level is ScopeLevel.DEPARTMENT_TREE
        dept = index.department_of[viewer.user_id]
        owners = f"({sql_list(sorted(index.users_in_tree(dept)))})"
        subtree = sql_list(sorted(index.department_tree(dept)))
        cte = (
            "WITH RECURSIVE tree(id) AS ("
            f"SELECT id FROM crm_departments WHERE id = {sql_list([dept])} UNION ALL "
            "SELECT d.id FROM crm_departments d JOIN tree ON d.parent_id = tree.id) "
        )
    variants = {
        "or-in": f"SELECT count(*) FROM bench_owned WHERE owner_id IN {owners} OR id IN ({team})",
        "union": (
            "SELECT count(*) FROM ("
            f"SELECT id FROM bench_owned WHERE owner_id IN {owners} UNION {team_join}) s"
        ),
        "sum": disjoint_sum(owners),
    }
    if level is ScopeLevel.DEPARTMENT_TREE:
        by_dept = f"SELECT id FROM crm_users WHERE department_id IN ({subtree})"
        variants["or-in/users-sq"] = (
            f"SELECT count(*) FROM bench_owned WHERE owner_id IN ({by_dept}) OR id IN ({team})"
        )
        variants["or-in/cte"] = (
            f"{cte}SELECT count(*) FROM bench_owned WHERE owner_id IN "
            "(SELECT u.id FROM crm_users u JOIN tree ON u.department_id = tree.id) "
            f"OR id IN ({team})"
        )
        variants["sum/users-sq"] = disjoint_sum(f"({by_dept})")
    return variants


def load(engine: Engine, org: Org, n_rows: int) -> float:
    """Schema, org rows, ``n_rows`` owned rows and the team rows; returns seconds taken."""
    start = time.perf_counter()
    n_users = len(org.snapshot.members)
    with engine.begin() as conn:
        crm_metadata.create_all(conn, tables=[departments, users, team_members])
        bench_md.create_all(conn)
        conn.execute(
            insert(departments),
            [
                {"id": u.id, "name": u.id, "parent_id": u.parent_id, "sort_order": 0, "version": 1}
                for u in org.snapshot.units
            ],
        )
        conn.execute(
            insert(users),
            [
                {
                    "id": m.id,
                    "mobile": f"1{n:010d}",
                    "name": m.id,
                    "gender": "unknown",
                    "department_id": m.department_id,
                    "supervisor_id": m.supervisor_id,
                    "status": "active",
                    "version": 1,
                }
                for n, m in enumerate(org.snapshot.members)
            ],
        )
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(_PG_LOAD.format(rows=n_rows, stride=OWNER_STRIDE))
            conn.exec_driver_sql(_PG_TEAM.format(rows=n_rows, every=TEAM_EVERY, kind=RECORD_KIND))
        else:
            conn.exec_driver_sql(
                "CREATE TEMP TABLE bench_user_seq (rn INTEGER PRIMARY KEY, id TEXT NOT NULL)"
            )
            conn.exec_driver_sql(
                "INSERT INTO bench_user_seq "
                "SELECT row_number() OVER (ORDER BY id) - 1, id FROM crm_users"
            )
            conn.exec_driver_sql(
                _SQLITE_LOAD.format(rows=n_rows, stride=OWNER_STRIDE, users=n_users)
            )
            conn.exec_driver_sql(
                _SQLITE_TEAM.format(rows=n_rows, every=TEAM_EVERY, users=n_users, kind=RECORD_KIND)
            )
            conn.exec_driver_sql("DROP TABLE bench_user_seq")
        conn.exec_driver_sql(OWNER_INDEX_DDL)
    analyze(engine, ("crm_departments", "crm_users", "crm_team_members", "bench_owned"))
    return time.perf_counter() - start


_PG_LOAD = """
INSERT INTO bench_owned (id, owner_id, created_at)
SELECT 'r' || lpad(g::text, 7, '0'),
       u.ids[1 + mod(g::bigint * {stride}, cardinality(u.ids))],
       timestamp '2024-01-01' + g * interval '30 seconds'
FROM (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users) u,
     generate_series(0, {rows} - 1) g
"""
_PG_TEAM = """
INSERT INTO crm_team_members (record_kind, record_id, user_id, access)
SELECT '{kind}', 'r' || lpad(g::text, 7, '0'),
       u.ids[1 + mod(g::bigint * 104729, cardinality(u.ids))], 'read'
FROM (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users) u,
     generate_series(0, {rows} - 1, {every}) g
"""
_SQLITE_LOAD = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {rows} - 1)
INSERT INTO bench_owned (id, owner_id, created_at)
SELECT printf('r%07d', g),
       (SELECT id FROM bench_user_seq WHERE rn = (g * {stride}) % {users}),
       datetime('2024-01-01', printf('+%d seconds', g * 30))
FROM s
"""
_SQLITE_TEAM = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + {every} FROM s WHERE g + {every} < {rows})
INSERT INTO crm_team_members (record_kind, record_id, user_id, access)
SELECT '{kind}', printf('r%07d', g),
       (SELECT id FROM bench_user_seq WHERE rn = (g * 104729) % {users}), 'read'
FROM s
"""


class StatementCapture:
    """Records the last (SQL, parameters) SQLAlchemy sent to the driver, for ``--explain``."""

    def __init__(self, engine: Engine) -> None:
        self.last: tuple[str, Any] = ("", None)
        event.listen(engine, "before_cursor_execute", self._capture)

    def _capture(self, conn: Connection, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        self.last = (statement, params)


def cold_resolve_time(snapshot: OrgSnapshot, viewer_id: str, roles: list[Role], runs: int) -> float:
    """Median seconds of ``resolve_scope`` on a fresh OrgIndex (its build not counted)."""
    times: list[float] = []
    for _ in range(runs):
        index = OrgIndex(snapshot)
        start = time.perf_counter()
        resolve_scope(index, viewer_id, roles, MODULE)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_viewer(
    conn: Connection, engine_name: str, viewer: Viewer, org: Org, repeats: int
) -> tuple[list[str], list[str]]:
    """One table row and its notes: resolve, build the clause, crmkit vs hand-written counts."""
    roles = [viewer.role]
    index = OrgIndex(org.snapshot)
    resolve_cold = cold_resolve_time(org.snapshot, viewer.user_id, roles, repeats)
    scope = resolve_scope(index, viewer.user_id, roles, MODULE)
    resolve_warm = median_of(20, lambda: resolve_scope(index, viewer.user_id, roles, MODULE))
    team_ids = crmkit_team_ids(conn, scope)
    clause_s = median_of(20, lambda: crmkit_count(conn, scope, team_ids))
    variants = hand_written(viewer, index)

    def crmkit_job() -> int:  # what SqlRecords.count does: team ids, clause, count
        statement = crmkit_count(conn, scope, crmkit_team_ids(conn, scope))
        return int(conn.execute(statement).scalar_one())

    def hand_job(sql: str) -> Callable[[], int]:
        return lambda: int(conn.exec_driver_sql(sql).scalar_one())

    jobs = {"crmkit": crmkit_job, **{key: hand_job(sql) for key, sql in variants.items()}}
    medians, count = round_robin(jobs, repeats, timed_call)
    best = min(variants, key=lambda key: medians[key])
    crmkit_s, hand_s = medians["crmkit"], medians[best]
    row = [
        f"{engine_name} {viewer.label}",
        viewer.role.scopes[MODULE].level.value,
        "all" if scope.all_records else f"{len(scope.owner_ids):,}",
        f"{count:,}",
        f"{resolve_cold * 1e3:.3f}",
        f"{resolve_warm * 1e3:.3f}",
        f"{clause_s * 1e3:.3f}",
        f"{crmkit_s * 1e3:,.2f}",
        f"{hand_s * 1e3:,.2f}",
        best,
        f"{crmkit_s / hand_s:,.2f}x",
        f"{(crmkit_s + resolve_warm) / hand_s:,.2f}x",
    ]
    hand = ", ".join(f"{key} {medians[key] * 1e3:,.2f}" for key in variants)
    note = f"  {engine_name} {viewer.label}: hand-written medians (ms): {hand}"
    if not scope.all_records:  # diagnostics: no team grant; the team grant read in-statement
        owners_only = crmkit_count(conn, RecordScope(owner_ids=scope.owner_ids), frozenset())
        alone = median_of(repeats, lambda: conn.execute(owners_only).scalar_one())
        # the other form of the team grant: listed first / read in the statement
        other_ids = team_record_ids(conn, RECORD_KIND, viewer.user_id) if team_ids is None else None
        form = "read in the statement" if other_ids is None else "listed first"

        def other() -> int:
            return int(conn.execute(crmkit_count(conn, scope, other_ids)).scalar_one())

        other_s = median_of(repeats, other)
        note += (
            f"; crmkit without the team grant {alone * 1e3:,.2f}"
            f", with the team ids {form} {other_s * 1e3:,.2f}"
        )
    return row, [note]


def explain_viewer(conn: Connection, capture: StatementCapture, viewer: Viewer, org: Org) -> str:
    """crmkit's SQL as sent to the driver and the plans of crmkit's and every hand variant."""
    index = OrgIndex(org.snapshot)
    scope = resolve_scope(index, viewer.user_id, [viewer.role], MODULE)
    conn.execute(crmkit_count(conn, scope, crmkit_team_ids(conn, scope)))
    sql, params = capture.last
    lines = [f"  [{conn.dialect.name} {viewer.label}] crmkit: {short_sql(sql)}"]
    lines.append(explain(conn, sql, params))
    for key, hand_sql in hand_written(viewer, index).items():
        lines.append(f"  [{conn.dialect.name} {viewer.label}] {key}: {short_sql(hand_sql)}")
        lines.append(explain(conn, hand_sql))
    return "\n".join(lines)


def bench_engine(
    name: str, engine: Engine, org: Org, n_rows: int, repeats: int, show_plans: bool
) -> tuple[list[list[str]], list[str], float]:
    """Load, then one row per viewer (plus plans with ``show_plans``)."""
    load_s = load(engine, org, n_rows)
    capture = StatementCapture(engine)
    rows: list[list[str]] = []
    notes: list[str] = []
    with engine.connect() as conn:
        for viewer in pick_viewers(org, OrgIndex(org.snapshot)):
            row, more = bench_viewer(conn, name, viewer, org, repeats)
            rows.append(row)
            notes += more
            if show_plans:
                notes.append(explain_viewer(conn, capture, viewer, org))
        conn.rollback()
    return rows, notes, load_s


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--rows", type=int, help="owned rows (default 1,000,000; --quick 50,000)")
    parser.add_argument("--users", type=int, default=10_000, help="users in the org (10,000)")
    parser.add_argument("--repeats", type=int, help="timed runs per query (default 5; quick 3)")
    parser.add_argument(
        "--sample", type=int, help="users the naive resolver is timed on (default 200; quick 20)"
    )
    parser.add_argument("--quick", action="store_true", help="small run for smoke tests (<30 s)")
    parser.add_argument("--explain", action="store_true", help="print SQL and query plans")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    n_rows = args.rows or (50_000 if args.quick else 1_000_000)
    repeats = args.repeats or (3 if args.quick else 5)
    sample = args.sample or (20 if args.quick else 200)

    pg_url, pg_version = choose_postgres(args)

    started = time.perf_counter()
    print(banner("scope", pg_version, args.quick, f", seed {args.seed}"))
    org = build_org(args.users, args.seed)
    print(bench_resolution(org, sample, args.seed), end="\n\n", flush=True)

    results: list[list[str]] = []
    notes: list[str] = []
    loads: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as directory:
        engine = sqlite_engine(directory)
        rows, more, load_s = bench_engine("sqlite", engine, org, n_rows, repeats, args.explain)
        engine.dispose()
        results += rows
        notes += more
        loads.append(f"sqlite {load_s:.1f} s")
    if pg_url:
        with postgres_engine(pg_url) as engine:
            rows, more, load_s = bench_engine("pg", engine, org, n_rows, repeats, args.explain)
        results += rows
        notes += more
        loads.append(f"pg {load_s:.1f} s")
    title = (
        f"PART 2 - SELECT count(*) over {n_rows:,} owned rows "
        f"({n_rows // TEAM_EVERY + 1:,} team rows), median of {repeats} runs after a warm-up\n"
        f"  resolve = resolve_scope on a cold memo / on the warm OrgIndex; clause = "
        "QueryCompiler.count(); crmkit = team-id read (PostgreSQL) + clause + count, hand = the "
        "count, in ms;\n"
        "  best hand = fastest hand-written variant (all listed below); ratio = crmkit / best "
        "hand; e2e = (warm resolve + crmkit) / best hand.\n"
        f"  load (schema, org, rows, indexes, ANALYZE): {', '.join(loads)}"
    )
    headers = [
        "engine viewer",
        "scope",
        "owners",
        "rows seen",
        "resolve cold ms",
        "warm ms",
        "clause ms",
        "crmkit ms",
        "hand ms",
        "best hand",
        "ratio",
        "e2e",
    ]
    print_report(title, headers, results, notes, started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
