"""The SQL interpreter of RecordScope agrees with the Python one (``RecordScope.admits``).

Random records (owner, pool, team) go into a probe table plus ``crm_team_members``; random scopes
select through ``scope_clause``; the selected ids must equal those ``admits`` picks, and the
negated clause must select exactly the rest. Runs on SQLite and, when configured, PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from itertools import product
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Engine,
    MetaData,
    String,
    Table,
    insert,
    select,
)
from sqlalchemy.dialects import sqlite

from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata, scope_clause
from crmkit.adapters.sqlalchemy import scope as scope_module
from crmkit.adapters.sqlalchemy.scope import (
    in_id_set,
    in_key_set,
    key_set_test,
    team_record_ids,
)
from crmkit.adapters.sqlalchemy.tables import team_members
from crmkit.entities import RecordScope
from crmkit.testing.storage import sample_department, sample_user

from .conftest import postgresql_dialect

USERS = [f"u{n}" for n in range(8)]
POOLS = ["p0", "p1", "p2"]
KIND = "probe"

probe_metadata = MetaData()
probe = Table(
    "scope_probe",
    probe_metadata,
    Column("id", String(64), primary_key=True),
    Column("owner_id", String(64), nullable=True),
    Column("pool_id", String(64), nullable=True),
)


def _prepare(engine: Engine) -> Engine:
    """crmkit's schema, the probe table, one department and the users team rows refer to."""
    store = SqlStorage(engine)
    store.create_schema()
    probe_metadata.create_all(engine)
    with store.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        for n, user_id in enumerate(USERS):
            uow.users.add(sample_user(user_id, f"1380000000{n}"))
    return engine


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine("sqlite://")
        yield _prepare(engine)
        engine.dispose()
        return
    pg_url: str = request.getfixturevalue("pg_url")
    schema = f"crmkit_scope_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield _prepare(engine)
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


Record = tuple[str | None, str | None, frozenset[str], frozenset[str]]
"""owner, pool, team of this record, team rows under another record kind with the same id."""

users = st.sampled_from(USERS)
records = st.lists(
    st.tuples(
        st.none() | users,
        st.none() | st.sampled_from(POOLS),
        st.frozensets(users, max_size=4),
        st.frozensets(users, max_size=2),
    ),
    max_size=20,
)
scopes = st.builds(
    RecordScope,
    all_records=st.integers(0, 9).map(lambda n: n == 0),
    owner_ids=st.frozensets(st.sampled_from([*USERS, "ghost"]), max_size=6),
    team_user_id=st.none() | st.sampled_from([*USERS, "ghost"]),
    pool_ids=st.frozensets(st.sampled_from([*POOLS, "p-ghost"]), max_size=3),
)


def _load(conn: Connection, rows: list[Record]) -> None:
    conn.execute(probe.delete())
    conn.execute(team_members.delete())
    if not rows:
        return
    conn.execute(
        insert(probe),
        [{"id": f"r{i}", "owner_id": o, "pool_id": p} for i, (o, p, _, _) in enumerate(rows)],
    )
    team: list[dict[str, Any]] = []
    for i, (_, _, members, others) in enumerate(rows):
        team += [{"record_kind": KIND, "record_id": f"r{i}", "user_id": u} for u in members]
        team += [{"record_kind": "other", "record_id": f"r{i}", "user_id": u} for u in others]
    if team:
        for n, row in enumerate(team):
            row["access"] = "write" if n % 2 else "read"
        conn.execute(insert(team_members), team)


def _check(conn: Connection, rows: list[Record], scope: RecordScope) -> None:
    """Both forms of the team grant: read in the statement, and listed first (the ids
    ``team_record_ids`` reads; ``None`` above its limit, so both forms again)."""
    listed: frozenset[str] | None = frozenset()
    if scope.team_user_id is not None:
        listed = team_record_ids(conn, KIND, scope.team_user_id, limit=len(rows) % 3)
    for with_pool, team_ids in product((True, False), (None, listed)):
        clause = scope_clause(
            scope,
            owner_col=probe.c.owner_id,
            record_id_col=probe.c.id,
            record_kind=KIND,
            pool_col=probe.c.pool_id if with_pool else None,
            team_record_ids=team_ids,
        )
        expected = {
            f"r{i}"
            for i, (owner, pool, members, _) in enumerate(rows)
            if scope.admits(owner, members, pool if with_pool else None)
        }
        admitted = set(conn.scalars(select(probe.c.id).where(clause)))
        refused = set(conn.scalars(select(probe.c.id).where(~clause)))
        assert admitted == expected, (scope, with_pool, team_ids)
        assert refused == {f"r{i}" for i in range(len(rows))} - expected, (scope, with_pool)


@pytest.mark.parametrize("inline_limit", [scope_module.INLINE_LIMIT, 0], ids=["in", "bound-set"])
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=records, scope_list=st.lists(scopes, min_size=1, max_size=4))
def test_sql_scope_agrees_with_admits(
    engine: Engine, inline_limit: int, rows: list[Record], scope_list: list[RecordScope]
) -> None:
    with (
        mock.patch.object(scope_module, "INLINE_LIMIT", inline_limit),
        engine.connect() as conn,
        conn.begin() as tx,
    ):
        _load(conn, rows)
        for scope in scope_list:
            _check(conn, rows, scope)
        tx.rollback()


def test_owner_sets_beyond_the_parameter_limit(engine: Engine) -> None:
    """40 000 owner ids exceed SQLite's 32 766 bound parameters: bound as one value instead."""
    owners = frozenset({f"x{n}" for n in range(40_000)} | {"u1"})
    nobody: frozenset[str] = frozenset()
    rows: list[Record] = [("u1", None, nobody, nobody), ("u2", None, nobody, nobody)]
    with engine.connect() as conn, conn.begin() as tx:
        _load(conn, rows)
        _check(conn, rows, RecordScope(owner_ids=owners, pool_ids=frozenset({"p0"})))
        tx.rollback()


@pytest.mark.parametrize("key_limit", [scope_module.KEY_INLINE_LIMIT, 0, 2],
                         ids=["default", "bound-set", "small"])
@settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(rows=records, wanted=st.lists(st.sampled_from([f"r{n}" for n in range(24)] + ["ghost"]),
                                     max_size=30))
def test_key_sets_select_what_id_sets_select(
    engine: Engine, key_limit: int, rows: list[Record], wanted: list[str]
) -> None:
    """``in_key_set`` (one bound array/JSON parameter above its limit) admits exactly what
    ``in_id_set`` admits, on a key and on a nullable column, and its negation the rest."""
    with (
        mock.patch.object(scope_module, "KEY_INLINE_LIMIT", key_limit),
        engine.connect() as conn,
        conn.begin() as tx,
    ):
        _load(conn, rows)
        owners = [f"u{n}" for n in range(len(wanted) % 9)]
        for column, values in ((probe.c.id, wanted), (probe.c.owner_id, owners)):
            for negate in (False, True):
                key, plain = in_key_set(column, values), in_id_set(column, values)
                distinct = list(dict.fromkeys(values))
                built: ColumnElement[bool] = key_set_test(column, "ids", len(distinct))
                if negate:
                    key, plain, built = ~key, ~plain, ~built
                expected = set(conn.scalars(select(probe.c.id).where(plain)))
                assert set(conn.scalars(select(probe.c.id).where(key))) == expected, (
                    column, values, negate)
                if distinct:
                    assert set(conn.scalars(select(probe.c.id).where(built),
                                            {"ids": distinct})) == expected, (column, values)
        tx.rollback()


def test_team_record_ids_lists_one_kind_up_to_the_limit(engine: Engine) -> None:
    nobody: frozenset[str] = frozenset()
    rows: list[Record] = [
        (None, None, frozenset({"u1"}), frozenset({"u1"})),
        (None, None, frozenset({"u1", "u2"}), nobody),
        (None, None, frozenset({"u2"}), nobody),
    ]
    with engine.connect() as conn, conn.begin() as tx:
        _load(conn, rows)
        assert team_record_ids(conn, KIND, "u1") == frozenset({"r0", "r1"})
        assert team_record_ids(conn, KIND, "u1", limit=2) == frozenset({"r0", "r1"})
        assert team_record_ids(conn, KIND, "u1", limit=1) is None
        assert team_record_ids(conn, KIND, "u3") == frozenset()
        assert team_record_ids(conn, "other", "u1") == frozenset({"r0"})
        tx.rollback()


def test_sql_shapes_the_planners_can_use() -> None:
    """Plain ``IN`` predicates only: no ``(…) = 1`` around a bound set on SQLite (it hides the
    ``IN`` from the planner), no correlated subquery, no per-row ``IS NOT NULL`` (only the
    negation needs it), no team branch for a viewer on no team."""
    kw: dict[str, Any] = {"owner_col": probe.c.owner_id, "record_id_col": probe.c.id,
                          "record_kind": KIND}
    many = RecordScope(owner_ids=frozenset(f"x{n}" for n in range(3000)), team_user_id="u1")
    for dialect in (sqlite.dialect(), postgresql_dialect()):
        for team_ids in (None, frozenset({"r1"})):
            sql = str(select(probe.c.id).where(scope_clause(many, team_record_ids=team_ids, **kw))
                      .compile(dialect=dialect))
            assert "= 1" not in sql and "EXISTS" not in sql and "NOT NULL" not in sql
            assert ("crm_team_members" in sql) == (team_ids is None)
    lonely = str(scope_clause(many, team_record_ids=frozenset(), **kw)
                 .compile(dialect=sqlite.dialect()))
    assert "crm_team_members" not in lonely and " OR " not in lonely
    nobody_on_team = RecordScope(team_user_id="u1")
    assert str(scope_clause(nobody_on_team, team_record_ids=frozenset(), **kw)) == "false"


def test_empty_scope_and_everything() -> None:
    kw: dict[str, Any] = {"owner_col": probe.c.owner_id, "record_id_col": probe.c.id}
    assert str(scope_clause(RecordScope.nothing(), record_kind=KIND, **kw)) == "false"
    assert str(scope_clause(RecordScope.everything(), record_kind=KIND, **kw)) == "true"
    pools_only = RecordScope(pool_ids=frozenset({"p0"}))
    assert str(scope_clause(pools_only, record_kind=KIND, **kw)) == "false"


def test_crm_metadata_is_untouched_by_the_probe() -> None:
    assert "scope_probe" not in metadata.tables
