#!/usr/bin/env python
"""Benchmark the read calls a host makes — and a create — against hand-written SQL.

Every crmkit figure here is the FACADE call (``crm.leads.list``, ``crm.customers.get`` …):
argument checks, the acting user and roles, the scope, statement building, the statements and
the mapping to entities all included. Each is timed against SQL a developer would write for the
same result on the same engine, each in its own transaction as the facade's are:

- ``count``: ``list(…, {"with_total": True, "limit": 1})`` — the scoped total, and the one-row
  page that comes with it; hand: the same page and ``SELECT count(*)``;
- ``count<=1000``: the same with ``"total_limit": 1000``; hand: ``SELECT count(*)`` over a
  subquery ``LIMIT 1001``;
- ``first``: the first page of 50 (default sort ``created_at`` descending); hand: one SELECT;
- ``deep``: the page after the viewer's 80th percentile row (at most the 50,000th), its
  cursor taken from that real row; hand: the same SELECT with a ``(created_at, id) <`` cut;
- ``deep-new``: the same, but each call starts one row earlier than the one before (a cursor
  never seen before, so no built statement can be reused);
- ``get``: a detail call for a visible record; hand: ``SELECT * … WHERE id = … AND <scope>``;
- ``keyword``: the first page of a 搜索 (``"keyword": "LEAD 4321"``, 111 names in a million,
  any case) over the kind's searchable fields; hand: ``lower(<field>) LIKE '%lead 4321%'``
  ORed over name, mobile, phone and email (trigram-indexed on PostgreSQL);
- ``create``: a new record with a name; hand: the INSERT and its operation-log INSERT.

For a rep (本人), a manager (本部门及下属部门, ~300 owners), a director (~3,000 owners) and an
administrator (全部), on
``crm_leads`` and ``crm_customers`` holding ``--rows`` records each (100,000 by default;
``--million`` for 1,000,000), on SQLite and PostgreSQL. The hand-written scope is
``owner_id IN (<owners>) OR id IN (SELECT record_id FROM crm_team_members …)`` with the owners
written out (the host knows them), values written as literals.

``stmts`` is the number of statements the facade call sends. ``--profile`` adds cProfile's top
entries for the rep's calls.

Run ``python bench/bench_reads.py --help``; see ``bench/README.md``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import pstats
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from _common import (
    add_postgres_options,
    analyze,
    banner,
    choose_postgres,
    plain_indexes,
    postgres_engine,
    search_indexes,
    sqlite_engine,
    table,
)
from bench_leads import (
    PG_TEAM,
    SQLITE_TEAM,
    StatementLog,
    Viewer,
    load_leads,
    pick_viewers,
    setup_crm,
)
from bench_scopes import OWNER_STRIDE, TEAM_EVERY, Org, build_org, sql_list
from sqlalchemy import Engine

from crmkit import CRM
from crmkit.adapters.sqlalchemy.tables import customers
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import FieldRef, SortKey
from crmkit.entities.scope import RecordScope
from crmkit.policies.scopes import OrgIndex
from crmkit.workflow.querying import encode_cursor

PAGE = 50
DEPTH = 50_000
CAP = 1000
"""The ``total_limit`` of the capped count."""
FRESH = 64
"""``deep-new`` pages start at this many different rows before the deep one, a new one each
call (more than warm-up + repeats): no statement is ever reused."""
SORT = (SortKey(FieldRef("created_at", ValueKind.DATETIME, True), descending=True),)
KINDS = ("lead", "customer")
CLOCK: list[Callable[[], float]] = [time.perf_counter]
"""What the cases are timed with (``--cpu``: ``time.process_time``)."""
TABLES = {"lead": "crm_leads", "customer": "crm_customers"}


# -- loading customers ----------------------------------------------------------------------

_PG_CUSTOMERS = """
INSERT INTO crm_customers (id, name, owner_id, created_by, created_at, updated_at, version,
                           level, industry, source, deal_status, locked, custom)
SELECT 'C' || lpad(g::text, 7, '0'), 'customer ' || g, o.owner, o.owner, t.at, t.at, 1,
       (ARRAY['A','B','C'])[1 + mod(g, 3)], (ARRAY['IT','金融','生产','政府'])[1 + mod(g / 5, 4)],
       (ARRAY['广告','转介绍','线上询价'])[1 + mod(g, 3)], '未成交', false, '{{}}'::jsonb
FROM generate_series(0, {rows} - 1) g
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM crm_users WHERE substr(id, 1, 1) = 'u') u
CROSS JOIN LATERAL (SELECT timestamp '2024-01-01' + (g / 2) * interval '1 minute' AS at) t
CROSS JOIN LATERAL (SELECT u.ids[1 + mod(g::bigint * {stride}, {users})] AS owner) o
"""
_SQLITE_CUSTOMERS = """
WITH RECURSIVE s(g) AS (SELECT 0 UNION ALL SELECT g + 1 FROM s WHERE g < {rows} - 1)
INSERT INTO crm_customers (id, name, owner_id, created_by, created_at, updated_at, version,
                           level, industry, source, deal_status, locked, custom)
SELECT printf('C%07d', g), 'customer ' || g, o, o, at, at, 1,
       CASE g % 3 WHEN 0 THEN 'A' WHEN 1 THEN 'B' ELSE 'C' END,
       CASE (g / 5) % 4 WHEN 0 THEN 'IT' WHEN 1 THEN '金融' WHEN 2 THEN '生产' ELSE '政府' END,
       CASE g % 3 WHEN 0 THEN '广告' WHEN 1 THEN '转介绍' ELSE '线上询价' END, '未成交', 0, '{{}}'
FROM (SELECT g, (SELECT id FROM bench_user_seq WHERE rn = (g * {stride}) % {users}) AS o,
             datetime('2024-01-01', printf('+%d minutes', g / 2)) || '.000000' AS at
      FROM s)
"""

def load_customers(engine: Engine, n_rows: int, n_users: int) -> None:
    """Customers shaped like ``bench_leads``'s leads (every one owned, none pooled), with team
    rows on every 97th; indexes rebuilt after the load, then statistics."""
    postgres = engine.dialect.name == "postgresql"
    indexes = plain_indexes(customers)
    fill = {"rows": n_rows, "stride": OWNER_STRIDE, "users": n_users, "every": TEAM_EVERY,
            "kind": "customer", "prefix": "C"}
    with engine.begin() as conn:
        for index in indexes:
            index.drop(conn)
        if postgres:
            conn.exec_driver_sql(_PG_CUSTOMERS.format(**fill))
            conn.exec_driver_sql(PG_TEAM.format(**fill))
        else:
            conn.exec_driver_sql(
                "CREATE TEMP TABLE bench_user_seq (rn INTEGER PRIMARY KEY, id TEXT NOT NULL)")
            conn.exec_driver_sql(
                "INSERT INTO bench_user_seq SELECT row_number() OVER (ORDER BY id) - 1, id "
                "FROM crm_users WHERE substr(id, 1, 1) = 'u'")
            conn.exec_driver_sql(_SQLITE_CUSTOMERS.format(**fill))
            conn.exec_driver_sql(SQLITE_TEAM.format(**fill))
            conn.exec_driver_sql("DROP TABLE bench_user_seq")
        for index in indexes:
            index.create(conn)
        search_indexes(conn, customers)
    analyze(engine, ("crm_customers", "crm_team_members"))


# -- the hand-written SQL -------------------------------------------------------------------


def scope_sql(kind: str, viewer: Viewer, postgres: bool, array: bool = False) -> list[str]:
    """WHERE terms a developer writes for what ``viewer`` sees of ``kind`` (list scene 全部):
    ``owner_id IN (…) OR id IN (SELECT record_id FROM crm_team_members …)``, or with
    ``array`` (PostgreSQL) ``… OR id = ANY(ARRAY(SELECT …))``, which the planner runs once
    and ORs with the owner test in a BitmapOr (the plain subquery cannot be)."""
    terms = []
    if kind == "lead":
        terms.append("converted = false" if postgres else "converted = 0")
    if not viewer.scope.all_records:
        owners = sql_list(sorted(viewer.scope.owner_ids))
        team = (f"SELECT record_id FROM crm_team_members WHERE record_kind = '{kind}' "
                f"AND user_id = {sql_list([viewer.user_id])}")
        terms.append(f"(owner_id IN ({owners}) OR id = ANY(ARRAY({team})))" if array
                     else f"(owner_id IN ({owners}) OR id IN ({team}))")
    return terms


def stamp(at: datetime, postgres: bool) -> str:
    text = at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    return f"timestamp '{text}'" if postgres else f"'{text}'"


SEARCHED = ("name", "mobile", "phone", "email")
"""The searchable fields of leads and customers (their declarations)."""


def keyword_text(kind: str) -> str:
    """The bench keyword: upper case (matched without case), 111 names in 1,000,000."""
    return f"{kind.upper()} 4321"


def page_sql(kind: str, viewer: Viewer, postgres: bool, limit: int,
             after: tuple[datetime, str] | None = None, offset: int = 0,
             array: bool = False, keyword: str | None = None) -> str:
    terms = scope_sql(kind, viewer, postgres, array)
    if keyword is not None:
        wild = "%%" if postgres else "%"  # psycopg reads a lone % as a placeholder
        pattern = f"'{wild}{keyword.lower()}{wild}'"
        terms.append("(" + " OR ".join(f"lower({f}) LIKE {pattern}" for f in SEARCHED) + ")")
    if after is not None:
        terms.append(f"(created_at, id) < ({stamp(after[0], postgres)}, '{after[1]}')")
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    tail = f" OFFSET {offset}" if offset else ""
    return (f"SELECT * FROM {TABLES[kind]}{where} ORDER BY created_at DESC, id DESC "
            f"LIMIT {limit}{tail}")


def count_sql(kind: str, viewer: Viewer, postgres: bool, array: bool = False) -> str:
    terms = scope_sql(kind, viewer, postgres, array)
    where = f" WHERE {' AND '.join(terms)}" if terms else ""
    return f"SELECT count(*) FROM {TABLES[kind]}{where}"


# -- one engine -----------------------------------------------------------------------------


@dataclass
class Case:
    """One facade call and its hand-written twin; each returns what it found (compared)."""

    kind: str
    viewer: str
    op: str
    facade: Callable[[], Any]
    hand: dict[str, Callable[[], Any]]
    """Hand-written variants by shape; the fastest is the baseline."""


def cases(engine: Engine, crm: CRM, viewers: Sequence[Viewer]) -> list[Case]:
    postgres = engine.dialect.name == "postgresql"
    found: list[Case] = []
    serial = itertools.count()
    for kind in KINDS:
        service = crm.leads if kind == "lead" else crm.customers
        for viewer in viewers:
            with engine.connect() as conn:
                matches = int(conn.exec_driver_sql(count_sql(kind, viewer, postgres)).scalar())
                skip = min(DEPTH, int(matches * 0.8))
                row = conn.exec_driver_sql(
                    page_sql(kind, viewer, postgres, 1, offset=max(skip - 1, 0))).one()
                first_id = conn.exec_driver_sql(page_sql(kind, viewer, postgres, 1)).scalar()
                before = conn.exec_driver_sql(page_sql(
                    kind, viewer, postgres, FRESH, offset=max(skip - FRESH, 0))).all()
            after = position(row)
            found += _viewer_cases(engine, service, kind, viewer, postgres, after,
                                   [position(r) for r in reversed(before)], str(first_id),
                                   serial)
    return found


def position(row: Any) -> tuple[datetime, str]:
    """A row's keyset position (SQLite returns the datetime as text)."""
    at = row.created_at if isinstance(row.created_at, datetime) else \
        datetime.fromisoformat(row.created_at)
    return at.replace(tzinfo=UTC), str(row.id)


def _viewer_cases(engine: Engine, service: Any, kind: str, viewer: Viewer, postgres: bool,
                  after: tuple[datetime, str], afters: list[tuple[datetime, str]],
                  first_id: str, serial: itertools.count[int]) -> list[Case]:
    user = viewer.user_id
    cursor = encode_cursor(after, SORT)
    table_name = TABLES[kind]
    shapes = {"in-sub": False}
    if postgres and not viewer.scope.all_records:
        shapes["any-array"] = True

    def variants(make: Callable[[bool], Callable[[], Any]]) -> dict[str, Callable[[], Any]]:
        return {name: make(array) for name, array in shapes.items()}

    def ids(sql: Callable[[bool], str]) -> Callable[[bool], Callable[[], list[str]]]:
        def make(array: bool) -> Callable[[], list[str]]:
            text = sql(array)

            def run() -> list[str]:
                with engine.begin() as conn:
                    return [r.id for r in conn.exec_driver_sql(text)][:PAGE]
            return run
        return make

    def page(request: dict[str, Any]) -> Callable[[], list[str]]:
        return lambda: [r.id for r in service.list(user, request).items]

    def facade_count() -> tuple[int, list[str]]:
        result = service.list(user, {"with_total": True, "limit": 1})
        return result.total, [r.id for r in result.items]

    def hand_count(array: bool) -> Callable[[], tuple[int, list[str]]]:
        one = page_sql(kind, viewer, postgres, 2, array=array)
        total = count_sql(kind, viewer, postgres, array)

        def run() -> tuple[int, list[str]]:
            with engine.begin() as conn:
                rows = [r.id for r in conn.exec_driver_sql(one)][:1]
                return int(conn.exec_driver_sql(total).scalar()), rows
        return run

    def facade_capped() -> tuple[int, bool, list[str]]:
        result = service.list(user, {"with_total": True, "total_limit": CAP, "limit": 1})
        return result.total, result.total_more, [r.id for r in result.items]

    def hand_capped(array: bool) -> Callable[[], tuple[int, bool, list[str]]]:
        one = page_sql(kind, viewer, postgres, 2, array=array)
        terms = scope_sql(kind, viewer, postgres, array)
        where = f" WHERE {' AND '.join(terms)}" if terms else ""
        total = f"SELECT count(*) FROM (SELECT 1 FROM {table_name}{where} LIMIT {CAP + 1}) s"

        def run() -> tuple[int, bool, list[str]]:
            with engine.begin() as conn:
                rows = [r.id for r in conn.exec_driver_sql(one)][:1]
                found = int(conn.exec_driver_sql(total).scalar())
                return min(found, CAP), found > CAP, rows
        return run

    def facade_fresh() -> Callable[[], list[str]]:
        cursors = itertools.cycle([encode_cursor(a, SORT) for a in afters])
        return lambda: [r.id for r in service.list(user, {"limit": PAGE,
                                                          "cursor": next(cursors)}).items]

    def hand_fresh(array: bool) -> Callable[[], list[str]]:
        texts = itertools.cycle([page_sql(kind, viewer, postgres, PAGE + 1, a, array=array)
                                 for a in afters])

        def run() -> list[str]:
            with engine.begin() as conn:
                return [r.id for r in conn.exec_driver_sql(next(texts))][:PAGE]
        return run

    def facade_get() -> str:
        return str(service.get(user, first_id).id)

    def hand_get(array: bool) -> Callable[[], str]:
        where = " AND ".join([f"id = '{first_id}'", *scope_sql(kind, viewer, postgres, array)])
        sql = f"SELECT * FROM {table_name} WHERE {where}"

        def run() -> str:
            with engine.begin() as conn:
                return str(conn.exec_driver_sql(sql).one().id)
        return run

    def facade_create() -> bool:
        return bool(service.create(user, {"name": f"bench {kind} {next(serial)}"}))

    def hand_create() -> bool:
        n = next(serial)
        record_id, now = f"bench{n:09d}", datetime.now(UTC).replace(tzinfo=None)
        row = {"id": record_id, "name": f"bench {kind} {n}", "owner_id": user,
               "created_by": user, "created_at": now, "updated_at": now, "version": 1,
               "custom": "{}"}
        if kind == "lead":
            row["converted"] = False
        else:
            row |= {"deal_status": "未成交", "locked": False}
        columns = ", ".join(row)
        marks = ", ".join(f"%({c})s" if postgres else "?" for c in row)
        log = {"id": f"blog{n:09d}", "record_kind": kind, "record_id": record_id,
               "actor_id": user, "at": now, "action": "create", "changes": "[]", "note": ""}
        log_marks = ", ".join(f"%({c})s" if postgres else "?" for c in log)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"INSERT INTO {table_name} ({columns}) VALUES ({marks})",
                                 row if postgres else tuple(row.values()))
            conn.exec_driver_sql(
                f"INSERT INTO crm_operation_log ({', '.join(log)}) VALUES ({log_marks})",
                log if postgres else tuple(log.values()))
        return True

    label = viewer.label
    first = ids(lambda array: page_sql(kind, viewer, postgres, PAGE + 1, array=array))
    search = ids(lambda array: page_sql(kind, viewer, postgres, PAGE + 1, array=array,
                                        keyword=keyword_text(kind)))
    deep = ids(lambda array: page_sql(kind, viewer, postgres, PAGE + 1, after, array=array))
    return [
        Case(kind, label, "count", facade_count, variants(hand_count)),
        Case(kind, label, f"count<={CAP}", facade_capped, variants(hand_capped)),
        Case(kind, label, "first", page({"limit": PAGE}), variants(first)),
        Case(kind, label, "deep", page({"limit": PAGE, "cursor": cursor}), variants(deep)),
        Case(kind, label, "deep-new", facade_fresh(), variants(hand_fresh)),
        Case(kind, label, "get", facade_get, variants(hand_get)),
        Case(kind, label, "keyword", page({"limit": PAGE, "keyword": keyword_text(kind)}),
             variants(search)),
        Case(kind, label, "create", facade_create, {"insert": hand_create}),
    ]


def run_cases(name: str, engine: Engine, found: Sequence[Case], warmup: int, repeats: int
              ) -> list[list[str]]:
    """Each case: the facade and every hand-written variant in turn, ``warmup`` untimed
    rounds then ``repeats`` timed; medians, the fastest variant as the baseline. Every
    variant must find what the facade found. Creates run after every read."""
    log = StatementLog(engine)
    rows: list[list[str]] = []
    ordered = [c for c in found if c.op != "create"] + [c for c in found if c.op == "create"]
    for case in ordered:
        times: dict[str, list[float]] = defaultdict(list)
        results: dict[str, Any] = {}
        jobs = {"facade": case.facade, **case.hand}
        for attempt in range(warmup + repeats):
            for key, job in jobs.items():
                start = CLOCK[0]()
                results[key] = job()
                if attempt >= warmup:
                    times[key].append(CLOCK[0]() - start)
        for key in case.hand:
            if results[key] != results["facade"]:
                raise AssertionError(f"{name} {case.kind} {case.viewer} {case.op}: the facade "
                                     f"found {results['facade']!r:.200}, {key} "
                                     f"{results[key]!r:.200}")
        with log.capturing() as sent:
            case.facade()
        facade_s = statistics.median(times["facade"])
        best = min(case.hand, key=lambda key: statistics.median(times[key]))
        hand_s = statistics.median(times[best])
        rows.append([
            f"{name} {case.kind} {case.viewer}", case.op,
            f"{sum(not sql.startswith('BEGIN') for sql, _ in sent)}",
            f"{facade_s * 1e3:,.2f}", f"{hand_s * 1e3:,.2f}", best,
            f"{facade_s / hand_s:,.2f}x", f"{(facade_s - hand_s) * 1e3:+,.2f}",
        ])
    return rows


def profile(found: Sequence[Case], top: int, args_sort: str = "tottime") -> str:
    """cProfile's top entries (cumulative) over 200 of each of the rep's lead calls."""
    chosen = [c for c in found if c.kind == "lead" and c.viewer == "rep" and c.op != "create"]
    profiler = cProfile.Profile()
    profiler.enable()
    for case in chosen:
        for _ in range(200):
            case.facade()
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(args_sort).print_stats(top)
    return out.getvalue()


def with_director(org: Org, viewers: list[Viewer]) -> list[Viewer]:
    """``bench_leads``'s rep, manager and administrator, and ``bench_scopes``'s director: the
    head of the department whose subtree holds the number of users closest to 3,000 (本部门及
    下属部门; more owners than ``INLINE_LIMIT``, so they are bound as one array/JSON
    parameter)."""
    index = OrgIndex(org.snapshot)
    dept = min(org.head_of, key=lambda d: (abs(len(index.users_in_tree(d)) - 3000), d))
    head = org.head_of[dept]
    director = Viewer("director", head, RecordScope(owner_ids=index.users_in_tree(dept),
                                                    team_user_id=head))
    return [*viewers[:-1], director, viewers[-1]]


def bench_engine(name: str, engine: Engine, org: Org, n_rows: int, args: argparse.Namespace
                 ) -> tuple[list[list[str]], str]:
    started = time.perf_counter()
    crm, _, admin_id = setup_crm(engine, org)
    viewers = with_director(org, pick_viewers(org, admin_id))
    load_leads(engine, n_rows, len(org.snapshot.members), viewers)
    load_customers(engine, n_rows, len(org.snapshot.members))
    print(f"{name}: loaded {n_rows:,} leads and customers in "
          f"{time.perf_counter() - started:.0f} s", file=sys.stderr)
    found = cases(engine, crm, viewers)
    rows = run_cases(name, engine, found, args.warmup, args.repeats)
    return rows, profile(found, args.profile) if args.profile else ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_postgres_options(parser)
    parser.add_argument("--rows", type=int, default=100_000, help="leads and customers each")
    parser.add_argument("--million", action="store_true", help="1,000,000 rows (--rows)")
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="print cProfile's top N entries for the rep's lead calls")
    parser.add_argument("--seed", type=int, default=2024)
    parser.add_argument("--no-sqlite", action="store_true", help="skip SQLite")
    parser.add_argument("--cpu", action="store_true",
                        help="time this process's CPU time instead of the wall clock: steadier "
                             "on a busy machine; on SQLite it includes the database's work, "
                             "on PostgreSQL it leaves out the server's")
    args = parser.parse_args(argv)
    if args.cpu:
        CLOCK[0] = time.process_time
    n_rows = 1_000_000 if args.million else args.rows
    pg_url, pg_version = choose_postgres(args)
    print(banner("read-call", pg_version, False, f", {n_rows:,} rows"))
    org = build_org(args.users, args.seed)
    rows: list[list[str]] = []
    profiles: list[str] = []
    if not args.no_sqlite:
        with tempfile.TemporaryDirectory() as directory:
            engine = sqlite_engine(directory)
            found, prof = bench_engine("sqlite", engine, org, n_rows, args)
            engine.dispose()
            rows += found
            profiles.append(prof)
    if pg_url:
        with postgres_engine(pg_url, "crmkit_reads") as engine:
            found, prof = bench_engine("pg", engine, org, n_rows, args)
            rows += found
            profiles.append(prof)
    print(table(["engine kind viewer", "call", "stmts", "facade ms", "hand ms", "best hand",
                 "ratio",
                 "extra ms"], rows, "facade call vs hand-written SQL (medians)"))
    print("  facade = crm.leads / crm.customers: list (count = with_total, limit 1), get, "
          "create;\n  hand = SQL strings on the same engine, one transaction per call; "
          "stmts = statements the facade call sent (BEGIN not counted)")
    for prof in profiles:
        if prof:
            print(prof)
    return 0


if __name__ == "__main__":
    sys.exit(main())
