#!/usr/bin/env python
"""Benchmark crmkit's lead lists: scoped, filtered, sorted pages over 1,000,000 leads.

``crm_leads`` (crmkit's own table, with crmkit's indexes) gets N leads (1,000,000 by default) on
SQLite (a file in a temp dir) and PostgreSQL, owned across the 10,000-user org of
``bench_scopes.py``, with two custom fields and some team (相关团队) rows. For a rep (本人), a
manager (本部门及下属部门, ~300 owners) and an administrator (全部), two pages are timed:

- the FIRST page: conditions on a system field (``level = 'A'``) and a custom field
  (``budget ≥ 50,000``, a money field in the ``custom`` JSON), sorted by ``created_at``
  descending, 50 rows;
- a DEEP page: the page after the viewer's 50,000th matching row (or 80 % of the matching rows
  when there are fewer), its keyset cursor taken from that real row.

Each page is asked for three ways: through the facade (``crm.leads.list``), through the adapter
(``SqlUnitOfWork(conn).records("lead").query(RecordQuery)``, the statement crmkit runs, with its
Python overhead), and as crmkit's SQL replayed as text; against several hand-written SQL
strings selecting the same rows. All must return the same rows in the same order.

Run ``python bench/bench_leads.py --help``; see ``bench/README.md`` for how to read the output.
"""

from __future__ import annotations

import argparse
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from _common import (
    add_postgres_options,
    analyze,
    choose_postgres,
    explain,
    plain_indexes,
    postgres_engine,
    search_indexes,
    short_sql,
    sqlite_engine,
    table,
)
from bench_scopes import OWNER_STRIDE, TEAM_EVERY, Org, build_org, sql_list
from sqlalchemy import Connection, Engine, event, insert, update

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage, SqlUnitOfWork
from crmkit.adapters.sqlalchemy.tables import (
    departments,
    leads,
    org_meta,
    team_members,
    user_roles,
    users,
)
from crmkit.entities import RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.leads import LEAD
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery, SortKey
from crmkit.policies import OrgIndex
from crmkit.workflow.querying import encode_cursor

PAGE = 50
"""Rows per page. Every query asks for PAGE + 1 rows, as ``crm.leads.list`` does to know
whether there is a next page, so all ways fetch the same rows."""
BUDGET_MIN = 50_000
TEAM_EXTRA = 25
"""Extra team memberships for the rep and the manager, on leads outside their owners."""
NEW_INDEX = "ix_crm_leads_created"
"""The index this benchmark motivated; the ``without the new index`` table drops it."""

CREATED = FieldRef("created_at", ValueKind.DATETIME, True)
SORT = (SortKey(CREATED, descending=True),)
CONDITIONS = (
    Condition(FieldRef("converted", ValueKind.BOOLEAN, True), Operator.EQ, False),
    Condition(FieldRef("level", ValueKind.TEXT, True), Operator.EQ, "A"),
    Condition(FieldRef("budget", ValueKind.DECIMAL, False), Operator.GE, Decimal(BUDGET_MIN)),
)
"""What ``crm.leads.list`` builds from REQUEST: the 全部 scene's ``converted = false`` and the
request's two conditions."""
REQUEST: dict[str, Any] = {
    "conditions": [
        {"field": "level", "op": "eq", "value": "A"},
        {"field": "budget", "op": "ge", "value": BUDGET_MIN},
    ],
    "sort": [{"field": "created_at", "descending": True}],
    "limit": PAGE,
}


# -- helpers ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Runs:
    """Rounds per measurement: ``warmup`` untimed, then ``repeats`` timed."""

    warmup: int
    repeats: int


def round_robin(
    jobs: dict[str, Callable[[], list[str]]], runs: Runs
) -> tuple[dict[str, float], dict[str, list[str]]]:
    """Every job in turn, round after round (warm-up rounds untimed): the median seconds and
    the ids each job returned."""
    times = timed_rounds(jobs, runs)
    return {key: statistics.median(t) for key, t in times[0].items()}, times[1]


def timed_rounds(
    jobs: dict[str, Callable[[], list[str]]], runs: Runs
) -> tuple[dict[str, list[float]], dict[str, list[str]]]:
    """:func:`round_robin`'s rounds: every timed run of every job, and what each returned."""
    times: dict[str, list[float]] = defaultdict(list)
    results: dict[str, list[str]] = {}
    for attempt in range(runs.warmup + runs.repeats):
        for key, job in jobs.items():
            start = time.perf_counter()
            results[key] = job()
            if attempt >= runs.warmup:
                times[key].append(time.perf_counter() - start)
    return dict(times), results


class StatementLog:
    """The (SQL, parameters) SQLAlchemy sends to the driver while ``capturing``."""

    def __init__(self, engine: Engine) -> None:
        self.seen: list[tuple[str, Any]] = []
        self._on = False
        event.listen(engine, "before_cursor_execute", self._capture)

    def _capture(self, conn: Connection, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self._on:
            self.seen.append((statement, params))

    @contextmanager
    def capturing(self) -> Iterator[list[tuple[str, Any]]]:
        self.seen, self._on = [], True
        try:
            yield self.seen
        finally:
            self._on = False


def literal(value: Any, postgres: bool) -> str:
    """A parameter value as an SQL literal (for :func:`inlined`; the values are the bench's)."""
    if isinstance(value, bool):
        return ("true" if value else "false") if postgres else str(int(value))
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return "'" + value.isoformat(sep=" ") + "'"
    if isinstance(value, list):
        return "'{" + ",".join(str(v) for v in value) + "}'"
    return "'" + str(value).replace("'", "''") + "'"


def inlined(sql: str, params: Any, postgres: bool) -> str:
    """``sql`` with its bound parameters written in as literals: crmkit's statement shape
    without the cost of binding (a diagnostic, not something crmkit does)."""
    if postgres:
        for key in sorted(params, key=len, reverse=True):
            sql = sql.replace(f"%({key})s", literal(params[key], postgres))
        return sql
    parts = sql.split("?")
    values = [literal(v, postgres) for v in params]
    return "".join(p + (values[i] if i < len(values) else "") for i, p in enumerate(parts))


# -- loading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    label: str
    user_id: str
    scope: RecordScope


def setup_crm(engine: Engine, org: Org) -> tuple[CRM, SqlStorage, str]:
    """crmkit's schema, an org set up through the facade (default roles, 超级管理员), the custom
    fields, then the bench org loaded in bulk: heads get 销售经理 (department tree), everyone
    else 销售员 (self). Returns the CRM, its storage and the administrator's id."""
    storage = SqlStorage(engine)
    storage.create_schema()
    crm = CRM(storage, clock=FixedClock(datetime(2026, 1, 5, 1, 0, tzinfo=UTC)))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="管理员")
    top = crm.org.list_departments(admin)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(admin)}
    crm.fields.define(admin, LEAD, {"key": "budget", "label_zh": "预算", "label_en": "Budget",
                                    "type": "money"})
    crm.fields.define(admin, LEAD, {"key": "score", "label_zh": "评分", "label_en": "Score",
                                    "type": "integer"})
    with engine.begin() as conn:
        conn.execute(
            insert(departments),
            [{"id": u.id, "name": u.id, "parent_id": u.parent_id or top.id, "sort_order": 0,
              "version": 1} for u in org.snapshot.units],
        )
        conn.execute(
            insert(users),
            [{"id": m.id, "mobile": f"1{n:010d}", "name": m.id, "gender": "unknown",
              "department_id": m.department_id, "supervisor_id": m.supervisor_id,
              "status": "active", "version": 1}
             for n, m in enumerate(org.snapshot.members)],
        )
        conn.execute(
            insert(user_roles),
            [{"user_id": m.id,
              "role_id": roles["sales_manager" if m.id in org.heads else "sales_rep"]}
             for m in org.snapshot.members],
        )
        conn.execute(update(org_meta).values(value=org_meta.c.value + 1))
    return crm, storage, admin.id


def pick_viewers(org: Org, admin_id: str) -> list[Viewer]:
    """The rep and the manager of ``bench_scopes.py``, and the administrator (ALL)."""
    index = OrgIndex(org.snapshot)
    deepest = max(org.level_of.values())
    rep = next(m.id for m in org.snapshot.members
               if m.id not in org.heads and org.level_of[m.department_id] == deepest)
    dept = min(org.head_of, key=lambda d: (abs(len(index.users_in_tree(d)) - 300), d))
    manager = org.head_of[dept]
    return [
        Viewer("rep", rep, RecordScope(owner_ids=frozenset({rep}), team_user_id=rep)),
        Viewer("manager", manager, RecordScope(owner_ids=index.users_in_tree(dept),
                                               team_user_id=manager)),
        Viewer("admin", admin_id, RecordScope.everything()),
    ]


_PG_LEADS = """
INSERT INTO crm_leads (id, name, owner_id, created_by, created_at, updated_at, version,
                       source, industry, level, converted, converted_at, custom)
SELECT 'L' || lpad(g::text, 7, '0'), 'lead ' || g, o.owner, o.owner, t.at, t.at, 1,
       (ARRAY['广告','转介绍','线上询价','电话咨询','陌拜'])[1 + mod(g, 5)],
       (ARRAY['IT','金融','生产','政府'])[1 + mod(g / 5, 4)],
       (ARRAY['A','A','A','B','B','B','B','C','C','C','C',NULL,NULL])[1 + mod(g, 13)],
       mod(g, 11) = 3, CASE WHEN mod(g, 11) = 3 THEN t.at END,
       CASE WHEN mod(g, 17) = 7 THEN jsonb_build_object('score', mod(g, 101))
            ELSE jsonb_build_object('budget', mod(g::bigint * 7741, 99991) || '.00',
                                    'score', mod(g, 101)) END
FROM generate_series(0, {rows} - 1) g
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users WHERE substr(id, 1, 1) = 'u') u
CROSS JOIN LATERAL (SELECT timestamp '2024-01-01' + (g / 2) * interval '1 minute' AS at) t
CROSS JOIN LATERAL (SELECT CASE WHEN mod(g, 100) = 99 THEN NULL
                                ELSE u.ids[1 + mod(g::bigint * {stride}, {users})] END AS owner) o
"""
_SQLITE_LEADS = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {rows} - 1)
INSERT INTO crm_leads (id, name, owner_id, created_by, created_at, updated_at, version,
                       source, industry, level, converted, converted_at, custom)
SELECT printf('L%07d', g), 'lead ' || g, o, o, at, at, 1,
       CASE g % 5 WHEN 0 THEN '广告' WHEN 1 THEN '转介绍' WHEN 2 THEN '线上询价'
                  WHEN 3 THEN '电话咨询' ELSE '陌拜' END,
       CASE (g / 5) % 4 WHEN 0 THEN 'IT' WHEN 1 THEN '金融' WHEN 2 THEN '生产' ELSE '政府' END,
       CASE WHEN g % 13 < 3 THEN 'A' WHEN g % 13 < 7 THEN 'B' WHEN g % 13 < 11 THEN 'C' END,
       g % 11 = 3, CASE WHEN g % 11 = 3 THEN at END,
       CASE WHEN g % 17 = 7 THEN json_object('score', g % 101)
            ELSE json_object('budget', ((g * 7741) % 99991) || '.00', 'score', g % 101) END
FROM (SELECT g,
             CASE WHEN g % 100 = 99 THEN NULL
                  ELSE (SELECT id FROM bench_user_seq WHERE rn = (g * {stride}) % {users}) END AS o,
             datetime('2024-01-01', printf('+%d minutes', g / 2)) || '.000000' AS at
      FROM s)
"""
"""Lead g: owner user ``g * OWNER_STRIDE mod users`` (1 % without owner), created in pairs one
minute apart (so ties on ``created_at`` are broken by id), level A 3/13 / B 4/13 / C 4/13 /
empty 2/13, 1/11 converted, budget ``g * 7741 mod 99,991`` (missing on 1/17), score 0–100.
The moduli are prime to the number of users, so every owner's leads get the same mix.
SQLite datetimes are stored in SQLAlchemy's text form (microseconds included), as crmkit
writes them, so text order is time order."""

PG_TEAM = """
INSERT INTO crm_team_members (record_kind, record_id, user_id, access)
SELECT '{kind}', '{prefix}' || lpad(g::text, 7, '0'),
       u.ids[1 + mod(g::bigint * 104729, cardinality(u.ids))], 'read'
FROM (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users WHERE substr(id, 1, 1) = 'u') u,
     generate_series(0, {rows} - 1, {every}) g
"""
SQLITE_TEAM = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + {every} FROM s WHERE g + {every} < {rows})
INSERT INTO crm_team_members (record_kind, record_id, user_id, access)
SELECT '{kind}', printf('{prefix}%07d', g),
       (SELECT id FROM bench_user_seq WHERE rn = (g * 104729) % {users}), 'read'
FROM s
"""


def load_leads(engine: Engine, n_rows: int, n_users: int, viewers: Sequence[Viewer]) -> float:
    """The leads (indexes dropped during the load and rebuilt after), the team rows, extra team
    memberships for the scoped viewers, statistics. Returns seconds taken."""
    start = time.perf_counter()
    postgres = engine.dialect.name == "postgresql"
    indexes = plain_indexes(leads)
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        if postgres:
            conn.exec_driver_sql(_PG_LEADS.format(rows=n_rows, stride=OWNER_STRIDE, users=n_users))
            conn.exec_driver_sql(PG_TEAM.format(rows=n_rows, every=TEAM_EVERY, kind=LEAD,
                                                prefix="L"))
        else:
            conn.exec_driver_sql(
                "CREATE TEMP TABLE bench_user_seq (rn INTEGER PRIMARY KEY, id TEXT NOT NULL)"
            )
            conn.exec_driver_sql(
                "INSERT INTO bench_user_seq SELECT row_number() OVER (ORDER BY id) - 1, id "
                "FROM crm_users WHERE substr(id, 1, 1) = 'u'"
            )
            conn.exec_driver_sql(
                _SQLITE_LEADS.format(rows=n_rows, stride=OWNER_STRIDE, users=n_users)
            )
            conn.exec_driver_sql(SQLITE_TEAM.format(rows=n_rows, every=TEAM_EVERY, users=n_users,
                                                    kind=LEAD, prefix="L"))
            conn.exec_driver_sql("DROP TABLE bench_user_seq")
        extra: dict[tuple[str, str], dict[str, str]] = {}
        slots = max(1, (n_rows - 2) // TEAM_EVERY)
        for n, viewer in enumerate(v for v in viewers if not v.scope.all_records):
            for k in range(TEAM_EXTRA):  # g ≡ 1 (mod TEAM_EVERY): no team row there yet
                g = 1 + TEAM_EVERY * ((n * 7919 + k * 104729) % slots)
                extra[(f"L{g:07d}", viewer.user_id)] = {
                    "record_kind": LEAD, "record_id": f"L{g:07d}", "user_id": viewer.user_id,
                    "access": "read"}
        if extra:
            conn.execute(insert(team_members), list(extra.values()))
        for index in indexes:
            index.create(conn)
        search_indexes(conn, leads)
    analyze(engine, ("crm_leads", "crm_team_members", "crm_users"))
    return time.perf_counter() - start


# -- the hand-written queries ------------------------------------------------------------------


def hand_written(
    postgres: bool, viewer: Viewer, cursor: tuple[datetime, str] | None
) -> dict[str, str]:
    """SQL strings a developer would write for the same rows, by shape.

    - ``plain`` (ALL): the conditions, sorted, limited;
    - ``or-sub``: ``(owner_id IN (<ids>) OR id IN (SELECT record_id FROM crm_team_members …))``;
    - ``or-list``: the viewer's team record ids listed too (read by the application first);
    - ``any-array`` (PostgreSQL): ``owner_id = ANY('{…}') OR id = ANY(ARRAY(SELECT …))``;
    - ``union``: owned rows UNION ALL team rows whose owner is not visible, each branch
      filtered (and cut at the cursor), then sorted and limited.
    Deep pages add the keyset cut, written as a row comparison; ``…/expanded`` variants spell it
    ``created_at < c OR (created_at = c AND id < i)``.
    """
    if postgres:
        filters = ("converted = false AND level = 'A' "
                   f"AND (custom ->> 'budget')::numeric >= {BUDGET_MIN}")
    else:
        filters = ("converted = 0 AND level = 'A' "
                   f"AND CAST(json_extract(custom, '$.budget') AS REAL) >= {BUDGET_MIN}")
    cuts = {"": ""}
    if cursor is not None:
        at, last = cursor
        stamp = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        c = f"timestamp '{stamp}'" if postgres else f"'{stamp}'"
        cuts = {
            "": f" AND (created_at, id) < ({c}, '{last}')",
            "/expanded": f" AND (created_at < {c} OR (created_at = {c} AND id < '{last}'))",
        }
    tail = f" ORDER BY created_at DESC, id DESC LIMIT {PAGE + 1}"
    if viewer.scope.all_records:
        return {f"plain{k}": f"SELECT * FROM crm_leads WHERE {filters}{cut}{tail}"
                for k, cut in cuts.items()}
    owners = f"({sql_list(sorted(viewer.scope.owner_ids))})"
    me = sql_list([viewer.user_id])
    team = f"SELECT record_id FROM crm_team_members WHERE record_kind = 'lead' AND user_id = {me}"
    variants: dict[str, str] = {}
    for key, cut in cuts.items():
        where = f"{filters}{cut}"
        variants[f"or-sub{key}"] = (
            f"SELECT * FROM crm_leads WHERE (owner_id IN {owners} OR id IN ({team})) "
            f"AND {where}{tail}"
        )
        variants[f"union{key}"] = (
            f"SELECT * FROM (SELECT * FROM crm_leads WHERE owner_id IN {owners} AND {where} "
            f"UNION ALL SELECT * FROM crm_leads WHERE id IN ({team}) "
            f"AND (owner_id IS NULL OR owner_id NOT IN {owners}) AND {where}) s{tail}"
        )
        if postgres:
            array = "'{" + ",".join(sorted(viewer.scope.owner_ids)) + "}'"
            variants[f"any-array{key}"] = (
                f"SELECT * FROM crm_leads WHERE (owner_id = ANY({array}) "
                f"OR id = ANY(ARRAY({team}))) AND {where}{tail}"
            )
    return variants


FORCED = "INDEXED BY created"
INLINED = "crmkit sql inlined"


def forced_scan(postgres: bool, viewer: Viewer, variants: dict[str, str]) -> str | None:
    """SQLite, scoped viewers: ``or-sub`` made to walk ``ix_crm_leads_created`` backwards with
    ``INDEXED BY``. Not counted as a hand-written variant: it only pays off when the visible
    owners hold many matching rows (a manager), and it is ruinous for a rep, whose few rows it
    would look for through the whole index. It shows what SQLite's own choice costs."""
    if postgres or viewer.scope.all_records:
        return None
    return variants["or-sub"].replace(
        "FROM crm_leads WHERE", "FROM crm_leads INDEXED BY ix_crm_leads_created WHERE", 1)


def twin(variants: dict[str, str]) -> str:
    """The hand-written variant of the shape crmkit sends: ``plain`` for ALL, else ``or-list``
    on PostgreSQL (team ids listed) and ``or-sub`` on SQLite (team ids read in the statement);
    the row comparison for a deep page."""
    if "plain" in variants:
        return "plain"
    return "or-list" if "any-array" in variants else "or-sub"


def with_team_list(variants: dict[str, str], conn: Connection, viewer: Viewer) -> dict[str, str]:
    """Adds ``or-list`` variants: the team record ids read first, then listed in the query."""
    if viewer.scope.all_records:
        return variants
    ids = [r[0] for r in conn.exec_driver_sql(
        "SELECT record_id FROM crm_team_members WHERE record_kind = 'lead' AND user_id = "
        + sql_list([viewer.user_id]))]
    listed = f"id IN ({sql_list(sorted(ids))})" if ids else "0 = 1"
    team_sub = ("id IN (SELECT record_id FROM crm_team_members WHERE record_kind = 'lead' AND "
                f"user_id = {sql_list([viewer.user_id])})")
    more = {k.replace("or-sub", "or-list"): sql.replace(team_sub, listed)
            for k, sql in variants.items() if k.startswith("or-sub")}
    return {**variants, **more}


# -- one engine -------------------------------------------------------------------------------


@dataclass
class Result:
    row: list[str]
    notes: list[str]


def bench_engine(
    name: str, engine: Engine, org: Org, n_rows: int, depth: int, runs: Runs,
    show_plans: bool,
) -> tuple[list[list[str]], list[str], float, list[list[str]]]:
    crm, storage, admin_id = setup_crm(engine, org)
    viewers = pick_viewers(org, admin_id)
    load_s = load_leads(engine, n_rows, len(org.snapshot.members), viewers)
    log = StatementLog(engine)
    postgres = engine.dialect.name == "postgresql"
    rows: list[list[str]] = []
    notes: list[str] = []
    plans: dict[tuple[str, str], tuple[RecordQuery, dict[str, Any], dict[str, str]]] = {}
    for viewer in viewers:
        matches, cursor, request_cursor = deep_cursor(engine, postgres, viewer, depth)
        for page, after in (("first", None), ("deep", cursor)):
            query = RecordQuery(viewer.scope, CONDITIONS, SORT, PAGE + 1, after)
            request = dict(REQUEST)
            if after is not None:
                request["cursor"] = request_cursor
            result, variants = bench_page(
                name, engine, crm, storage, log, viewer, query, request, postgres, runs
            )
            skipped = 0 if after is None else min(depth, int(matches * 0.8))
            result.row[2:2] = [page, f"{matches:,}", f"{skipped:,}"]
            rows.append(result.row)
            notes += result.notes
            plans[(viewer.label, page)] = (query, request, variants)
    if show_plans:
        notes += explain_all(engine, viewers, plans)
    without = bench_without_index(name, engine, viewers, plans, runs)
    return rows, notes, load_s, without


def deep_cursor(
    engine: Engine, postgres: bool, viewer: Viewer, depth: int
) -> tuple[int, tuple[datetime, str], str]:
    """The viewer's number of matching rows, and the keyset cursor of the row at the deep
    position (as an adapter ``after`` tuple and as the facade's opaque cursor)."""
    sql = hand_written(postgres, viewer, None)["plain" if viewer.scope.all_records else "or-sub"]
    limit = f" LIMIT {PAGE + 1}"
    count_sql = "SELECT count(*) FROM (" + sql.replace(limit, "") + ") s"
    with engine.connect() as conn:
        matches = int(conn.exec_driver_sql(count_sql).scalar_one())
        skip = min(depth, int(matches * 0.8))
        at_sql = sql.replace(limit, f" LIMIT 1 OFFSET {max(skip - 1, 0)}")
        lead_id = conn.exec_driver_sql(at_sql).scalar_one()
        lead = SqlUnitOfWork(conn).records(LEAD).get(lead_id)
        conn.rollback()
    assert lead is not None
    cursor = (lead.created_at, lead.id)
    return matches, cursor, encode_cursor(cursor, SORT)


def bench_page(
    name: str, engine: Engine, crm: CRM, storage: SqlStorage, log: StatementLog,
    viewer: Viewer, query: RecordQuery, request: dict[str, Any], postgres: bool, runs: Runs,
) -> tuple[Result, dict[str, str]]:
    """Facade, adapter, crmkit's SQL replayed and every hand-written variant, for one page."""
    with engine.connect() as conn:
        uow = SqlUnitOfWork(conn)
        with log.capturing() as sent:
            uow.records(LEAD).query(query)
        statements = [(sql, params) for sql, params in sent if sql.lstrip().startswith("SELECT")]
        variants = with_team_list(hand_written(postgres, viewer, query.after), conn, viewer)

        def adapter() -> list[str]:
            return [r.id for r in SqlUnitOfWork(conn).records(LEAD).query(query)]

        def replay() -> list[str]:
            result: list[str] = []
            for sql, params in statements:
                result = [r[0] for r in conn.exec_driver_sql(sql, params)]
            return result

        written_in = [inlined(sql, params, postgres) for sql, params in statements]

        def replay_inlined() -> list[str]:
            result: list[str] = []
            for sql in written_in:
                result = [r[0] for r in conn.exec_driver_sql(sql)]
            return result

        def hand(sql: str) -> Callable[[], list[str]]:
            return lambda: [r[0] for r in conn.exec_driver_sql(sql)]

        jobs = {"adapter": adapter, "crmkit sql": replay, INLINED: replay_inlined,
                **{key: hand(sql) for key, sql in variants.items()}}
        forced = forced_scan(postgres, viewer, variants)
        if forced:
            jobs[FORCED] = hand(forced)
        times, results = timed_rounds(jobs, runs)
        medians = {key: statistics.median(t) for key, t in times.items()}
        fastest = {key: min(t) for key, t in times.items()}
        conn.rollback()

    def facade() -> list[str]:
        return [r.id for r in crm.leads.list(viewer.user_id, request).items]

    facade_s, facade_ids = round_robin({"facade": facade}, runs)
    expected = results["adapter"]
    for key, ids in results.items():
        if ids != expected:
            raise AssertionError(f"{name} {viewer.label}: {key} returned other rows than crmkit")
    if facade_ids["facade"] != expected[:PAGE]:
        raise AssertionError(f"{name} {viewer.label}: the facade returned other rows")
    best = min(variants, key=lambda key: medians[key])
    hand_s = medians[best]
    owners = "all" if viewer.scope.all_records else f"{len(viewer.scope.owner_ids):,}"
    row = [
        f"{name} {viewer.label}",
        owners,
        f"{len(expected)}",
        f"{facade_s['facade'] * 1e3:,.2f}",
        f"{medians['adapter'] * 1e3:,.2f}",
        f"{medians['crmkit sql'] * 1e3:,.2f}",
        f"{hand_s * 1e3:,.2f}",
        best,
        f"{medians['crmkit sql'] / hand_s:,.2f}x",
        f"{medians['crmkit sql'] / medians[twin(variants)]:,.2f}x",
        f"{fastest['crmkit sql'] / min(fastest[key] for key in variants):,.2f}x",
        f"{medians['adapter'] / hand_s:,.2f}x",
    ]
    page = "first" if query.after is None else "deep"
    listed = ", ".join(f"{key} {medians[key] * 1e3:,.2f}" for key in variants)
    note = (f"  {name} {viewer.label} {page}: {len(statements)} statement(s); "
            f"hand-written medians (ms): {listed}")
    note += f"; not counted: {INLINED} {medians[INLINED] * 1e3:,.2f}"
    if forced:
        note += f", {FORCED} {medians[FORCED] * 1e3:,.2f}"
    return Result(row, [note]), variants


def explain_all(
    engine: Engine, viewers: Sequence[Viewer],
    plans: dict[tuple[str, str], tuple[RecordQuery, dict[str, Any], dict[str, str]]],
) -> list[str]:
    """crmkit's statements as sent, and the plans of crmkit's main statement and each variant."""
    log = StatementLog(engine)
    lines: list[str] = []
    with engine.connect() as conn:
        for viewer in viewers:
            for page in ("first", "deep"):
                query, _, variants = plans[(viewer.label, page)]
                with log.capturing() as sent:
                    SqlUnitOfWork(conn).records(LEAD).query(query)
                tag = f"  [{engine.dialect.name} {viewer.label} {page}]"
                sent[:] = [(q, p) for q, p in sent if q.lstrip().startswith("SELECT")]
                for statement, _ in sent:
                    lines.append(f"{tag} crmkit: {short_sql(statement)}")
                sql, params = sent[-1]
                lines.append(explain(conn, sql, params))
                for key, hand_sql in variants.items():
                    lines.append(f"{tag} {key}: {short_sql(hand_sql)}")
                    lines.append(explain(conn, hand_sql))
        conn.rollback()
    return lines


def bench_without_index(
    name: str, engine: Engine, viewers: Sequence[Viewer],
    plans: dict[tuple[str, str], tuple[RecordQuery, dict[str, Any], dict[str, str]]],
    runs: Runs,
) -> list[list[str]]:
    """The adapter and the best hand-written variant again after dropping :data:`NEW_INDEX`."""
    index = next(i for i in leads.indexes if i.name == NEW_INDEX)
    with engine.begin() as conn:
        index.drop(conn)
        conn.exec_driver_sql("ANALYZE crm_leads" if engine.dialect.name == "postgresql"
                             else "ANALYZE")
    rows: list[list[str]] = []
    with engine.connect() as conn:
        for viewer in viewers:
            for page in ("first", "deep"):
                query, _, variants = plans[(viewer.label, page)]

                def adapter(q: RecordQuery = query) -> list[str]:
                    return [r.id for r in SqlUnitOfWork(conn).records(LEAD).query(q)]

                def hand(sql: str) -> Callable[[], list[str]]:
                    return lambda: [r[0] for r in conn.exec_driver_sql(sql)]

                jobs = {"adapter": adapter, **{k: hand(s) for k, s in variants.items()}}
                medians, _ = round_robin(jobs, Runs(2, max(1, runs.repeats // 2)))
                best = min(variants, key=lambda key: medians[key])
                rows.append([f"{name} {viewer.label}", page,
                             f"{medians['adapter'] * 1e3:,.2f}",
                             f"{medians[best] * 1e3:,.2f}", best])
        conn.rollback()
    with engine.begin() as conn:
        index.create(conn)
    return rows


# -- main -------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--rows", type=int, help="leads (default 1,000,000; --quick 50,000)")
    parser.add_argument("--users", type=int, default=10_000, help="users in the org (10,000)")
    parser.add_argument("--depth", type=int,
                        help="rows before the deep page (default 50,000; --quick 5,000)")
    parser.add_argument("--repeats", type=int, help="timed runs per query (default 15; quick 3)")
    parser.add_argument(
        "--warmup", type=int,
        help="untimed rounds first (default 12: psycopg prepares a statement on its 5th run and "
             "PostgreSQL picks its generic plan after 5 more; quick 2)",
    )
    parser.add_argument("--quick", action="store_true", help="small run for smoke tests")
    parser.add_argument("--explain", action="store_true", help="print SQL and query plans")
    parser.add_argument("--seed", type=int, default=2024)
    args = parser.parse_args(argv)
    n_rows = args.rows or (50_000 if args.quick else 1_000_000)
    depth = args.depth or (5_000 if args.quick else 50_000)
    runs = Runs(
        args.warmup if args.warmup is not None else (2 if args.quick else 12),
        args.repeats or (3 if args.quick else 15),
    )

    pg_url, pg_version = choose_postgres(args)

    started = time.perf_counter()
    print(
        f"crmkit lead-list benchmark - Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL {pg_version or 'skipped'}, "
        f"{os.cpu_count()} CPUs, {'quick' if args.quick else 'full'} run, seed {args.seed}\n",
        flush=True,
    )
    org = build_org(args.users, args.seed)
    results: list[list[str]] = []
    notes: list[str] = []
    loads: list[str] = []
    without: list[list[str]] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as directory:
            engine = sqlite_engine(directory)
            rows, more, load_s, less = bench_engine(
                "sqlite", engine, org, n_rows, depth, runs, args.explain)
            engine.dispose()
            results += rows
            notes += more
            without += less
            loads.append(f"sqlite {load_s:.1f} s")
    if pg_url:
        with postgres_engine(pg_url) as engine:
            rows, more, load_s, less = bench_engine(
                "pg", engine, org, n_rows, depth, runs, args.explain)
        results += rows
        notes += more
        without += less
        loads.append(f"pg {load_s:.1f} s")
    title = (
        f"Lead lists over {n_rows:,} leads: level = 'A' AND budget >= {BUDGET_MIN:,} (and the "
        f"全部 scene's converted = false), created_at descending, {PAGE} rows (+1); "
        f"median of {runs.repeats} runs after {runs.warmup} warm-up rounds\n"
        "  facade = crm.leads.list; adapter = SqlUnitOfWork(conn).records('lead').query(); "
        "crmkit sql = crmkit's statements replayed as text;\n"
        "  hand = fastest hand-written variant (all listed below); sql ratio = crmkit sql / hand;"
        " vs twin = crmkit sql / the hand-written\n  statement of crmkit's own shape (plain; "
        "or-sub on SQLite, or-list on PostgreSQL); min ratio = the sql ratio from the fastest\n"
        "  run of each instead of the median (less moved by other load); adapter ratio = "
        "adapter / hand. Times in ms.\n"
        f"  load (schema, org, leads, team rows, indexes, ANALYZE): {', '.join(loads)}"
    )
    headers = ["engine viewer", "owners", "page", "matching", "skipped", "rows", "facade",
               "adapter", "crmkit sql", "hand", "best hand", "sql ratio", "vs twin",
               "min ratio", "adapter ratio"]
    print(table(headers, results, title))
    print("\n".join(notes))
    print()
    print(table(["engine viewer", "page", "adapter ms", "hand ms", "best hand"], without,
                f"Without the new index {NEW_INDEX} (created_at, id): "
                f"median of {max(1, runs.repeats // 2)} runs"))
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
