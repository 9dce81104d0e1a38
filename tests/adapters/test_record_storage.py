"""The record storage contract on memory, SQLite and PostgreSQL, plus what only SQL can get
wrong: one statement per page/count/reassign, code-point collation, bound custom keys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy import Engine
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.querying import QueryCompiler
from crmkit.adapters.sqlalchemy.records import RECORD_TABLES
from crmkit.adapters.sqlalchemy.tables import leads
from crmkit.entities import RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.leads import LEAD
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery, SortKey
from crmkit.ports import Storage
from crmkit.testing.kinds import SAMPLE_KIND
from crmkit.testing.records import (
    HOSTILE_KEYS,
    KindStorageContract,
    RecordStorageContract,
    sample_lead,
)
from crmkit.testing.storage import T0, sample_department, sample_user

from .conftest import empty_pg_storage, postgresql_dialect, statements

# -- the contract on every backend -------------------------------------------------------------


class TestMemoryRecordStorage(RecordStorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestSqliteRecordStorage(RecordStorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://")


@pytest.mark.postgres
class TestPostgresRecordStorage(RecordStorageContract):
    @pytest.fixture(autouse=True)
    def _engine(self, pg_engine: Engine) -> None:
        self.engine = pg_engine

    def make_storage(self) -> Storage:
        return empty_pg_storage(self.engine)


# -- SQL only ------------------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> SqlStorage:
    """An empty SqlStorage with department d1 and users u1, u2."""
    if request.param == "sqlite":
        store = SqlStorage("sqlite://")
    else:
        store = empty_pg_storage(request.getfixturevalue("pg_engine"))
    store.create_schema()
    with store.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        uow.users.add(sample_user("u1", "13800000001"))
        uow.users.add(sample_user("u2", "13800000002"))
    return store


NAME = FieldRef("name", ValueKind.TEXT, True)
CREATED = FieldRef("created_at", ValueKind.DATETIME, True)
TAGS = FieldRef("c_list", ValueKind.LIST, False)
NOTE = FieldRef("c_text", ValueKind.TEXT, False)


def test_every_query_feature_is_one_statement(backend: SqlStorage) -> None:
    """Scope with team grant, system + custom + list conditions, two sort keys, a cursor:
    one SELECT per page, one per count (on PostgreSQL each after one indexed read of the
    viewer's team record ids); ``reassign`` of 2 600 ids is one UPDATE."""
    ids = [f"L{n:05d}" for n in range(2600)]
    with backend.transaction() as uow:
        uow.records(LEAD).add_many(
            [sample_lead(i, custom={"c_list": ["x"], "c_text": i[-1]}) for i in ids]
        )
    query = RecordQuery(
        RecordScope(owner_ids=frozenset({"u1"}), team_user_id="u2"),
        (Condition(NAME, Operator.CONTAINS, "lead"), Condition(TAGS, Operator.EQ, "x"),
         Condition(NOTE, Operator.NE, "9")),
        (SortKey(NOTE, True), SortKey(CREATED)),
        limit=7,
        after=("8", T0, "L02508"),
    )
    with backend.transaction() as uow, statements(backend.engine) as seen:
        page = uow.records(LEAD).query(query)
        total = uow.records(LEAD).count(query)
        changed = uow.records(LEAD).reassign(ids, "u2", T0)
    assert [r.id for r in page] == ["L02498", "L02488", "L02478", "L02468", "L02458",
                                    "L02448", "L02438"]
    assert total == 2340
    assert changed == 2600
    if backend.engine.dialect.name == "sqlite":
        assert len(seen) == 3
        return
    assert len(seen) == 5
    team_reads = [seen[0], seen[2]]
    assert all(s.split("FROM")[1].split()[0] == "crm_team_members" for s in team_reads)
    assert "crm_team_members" not in seen[1] + seen[3]


def test_text_columns_compare_by_code_point_on_postgresql() -> None:
    """Every text/id column of a record table is ``COLLATE "C"`` on PostgreSQL (whatever the
    database default), and custom text gets an explicit ``COLLATE "C"``."""
    ddl = str(CreateTable(leads).compile(dialect=postgresql_dialect()))
    assert 'id VARCHAR(64) COLLATE "C" NOT NULL' in ddl
    assert 'name TEXT COLLATE "C" NOT NULL' in ddl
    compiler = QueryCompiler(leads, LEAD, "postgresql")
    statement = compiler.select(RecordQuery(RecordScope.everything(), sort=(SortKey(NOTE),)))
    sql = str(statement.compile(dialect=postgresql_dialect()))
    assert '(crm_leads.custom ->> %(param_1)s::VARCHAR) COLLATE "C" ASC NULLS LAST' in sql
    assert 'crm_leads.id COLLATE "C" ASC' in sql


@pytest.mark.parametrize("dialect", [postgresql_dialect(), sqlite.dialect()])
def test_an_all_scope_adds_no_where_term(dialect: Any) -> None:
    """``WHERE 1 = 1`` would stop SQLite counting a table from its smallest index."""
    compiler = QueryCompiler(leads, LEAD, dialect.name)
    everything = RecordQuery(RecordScope.everything())
    assert "WHERE" not in str(compiler.count(everything).compile(dialect=dialect))
    assert "WHERE" not in str(compiler.select(everything).compile(dialect=dialect))
    level = Condition(FieldRef("level", ValueKind.TEXT, True), Operator.NE, None)  # always TRUE
    assert "WHERE" not in str(
        compiler.count(attrs.evolve(everything, conditions=(level,))).compile(dialect=dialect)
    )


@pytest.mark.parametrize("dialect", [postgresql_dialect(), sqlite.dialect()])
@pytest.mark.parametrize("key", HOSTILE_KEYS)
def test_custom_keys_and_values_are_bound_parameters(dialect: Any, key: str) -> None:
    """Neither a custom key nor a value ever appears in the SQL text."""
    compiler = QueryCompiler(leads, LEAD, dialect.name)
    hostile = "'; DROP TABLE crm_leads; --"
    query = RecordQuery(
        RecordScope.everything(),
        (Condition(FieldRef(key, ValueKind.TEXT, False), Operator.EQ, hostile),
         Condition(FieldRef(key, ValueKind.LIST, False), Operator.IN, (hostile, "x")),
         Condition(FieldRef(key, ValueKind.TEXT, False), Operator.CONTAINS, hostile)),
        (SortKey(FieldRef(key, ValueKind.DECIMAL, False)),),
    )
    sql = str(compiler.select(query).compile(dialect=dialect))
    assert "DROP" not in sql
    if key not in ("$", "a.b"):  # too short/plain to tell apart from SQL syntax
        assert key not in sql


def test_every_record_kind_has_a_table() -> None:
    """Registered kinds have the columns queries and ``reassign`` rely on."""
    assert LEAD in RECORD_TABLES
    for kind, storage in RECORD_TABLES.items():
        assert storage.kind == kind
        for column in ("id", "owner_id", "version", "updated_at", "custom"):
            assert column in storage.table.c


# -- a host's own record kinds ------------------------------------------------------------------


def test_declared_kinds_get_tables_of_their_own() -> None:
    """A host kind's table is generated into the storage's own MetaData (crmkit's metadata and
    its migrations never see it) and created with the schema; its records round-trip."""
    from sqlalchemy import inspect

    from crmkit.adapters.sqlalchemy import metadata
    from crmkit.testing.kinds import SAMPLE, SAMPLE_KIND, Grade, Sample, Step

    store = SqlStorage("sqlite://", kinds=[SAMPLE_KIND])
    assert list(store.kinds_metadata.tables) == ["crm_test_samples"]
    assert "crm_test_samples" not in metadata.tables
    store.create_schema()
    assert "crm_test_samples" in inspect(store.engine).get_table_names()
    sample = Sample("S1", "样品", "u1", None, T0, T0, code="A-1", grade=Grade.POOR,
                    tags=("b", "a"), labs=frozenset({"y", "x"}),
                    steps=(Step("称重", Decimal("1.50"), True),), custom={"c": [1]})
    with store.transaction() as uow:
        uow.records(SAMPLE_KIND).add(sample)
    with store.transaction() as uow:
        assert uow.records(SAMPLE).get("S1") == sample
    with SqlStorage("sqlite://").transaction() as uow, pytest.raises(KeyError):
        uow.records(SAMPLE)


def test_declared_kinds_are_named_once() -> None:
    from crmkit.entities.kinds import LEAD_KIND
    from crmkit.testing.kinds import SAMPLE_KIND

    with pytest.raises(ValueError, match="declared twice"):
        SqlStorage("sqlite://", kinds=[SAMPLE_KIND, SAMPLE_KIND])
    with pytest.raises(ValueError, match="declared twice"):
        SqlStorage("sqlite://", kinds=[LEAD_KIND])
    with pytest.raises(ValueError, match="is taken"):
        SqlStorage("sqlite://", kinds=[attrs.evolve(SAMPLE_KIND, table="crm_leads")])
    with pytest.raises(ValueError, match="no attributes"):
        SqlStorage("sqlite://", kinds=[attrs.evolve(SAMPLE_KIND, indexes={"x": ("nope",)})])


# -- the contract generated for every declared kind -------------------------------------------


class TestMemoryKindStorage(KindStorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage(kinds=[SAMPLE_KIND])


class TestSqliteKindStorage(KindStorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://", kinds=[SAMPLE_KIND])


@pytest.mark.postgres
class TestPostgresKindStorage(KindStorageContract):
    examples = 10

    @pytest.fixture(autouse=True)
    def _engine(self, pg_engine: Engine) -> None:
        self.engine = pg_engine

    def make_storage(self) -> Storage:
        return empty_pg_storage(self.engine, kinds=[SAMPLE_KIND])
