"""crmkit's Alembic revisions: an empty SQLite or PostgreSQL database upgraded to head has
exactly the schema of ``tables.py`` (autogenerate finds no difference), and downgrades back to
no crmkit table. This is the safety net for schema changes: a table, column or index added to
``tables.py`` without a revision fails here."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Column, Engine, Integer, MetaData, Table, inspect, select
from sqlalchemy.dialects import postgresql

from crmkit import CRM
from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata
from crmkit.adapters.sqlalchemy import tables as crm_tables
from crmkit.adapters.sqlalchemy.schema import (
    SCHEMA_REVISION,
    VERSION_TABLE,
    SchemaError,
    search_trigrams_too,
)
from crmkit.entities.calendar import CalendarEvent
from crmkit.entities.records import RecordRef

from .conftest import private_pg_schema

pytest.importorskip("alembic", reason="alembic is not installed: pip install 'crmkit[migrations]'")

from alembic.autogenerate import compare_metadata, produce_migrations, render_python_code
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext

from crmkit.adapters.sqlalchemy import migrations

T0 = datetime(2026, 11, 2, tzinfo=UTC)


def _diff(engine: Engine, target: Any = metadata, **opts: Any) -> list[Any]:
    """Differences between the database and ``target``; without a visible ``pg_trgm`` (the
    test schemas do not search the schema it is installed in) the keyword search indexes are
    not created, by design, and left out."""
    with engine.connect() as conn:
        if not crm_tables.has_trigrams(conn):
            opts.setdefault("include_object", _without_search_indexes)
        context = MigrationContext.configure(
            conn, opts={"version_table": VERSION_TABLE, "compare_type": True, **opts})
        return list(compare_metadata(context, target))


def _without_search_indexes(obj: Any, name: str | None, type_: str, reflected: bool,
                            compare_to: Any) -> bool:
    return not (type_ == "index" and "_search_" in (name or ""))


def _crm_tables(engine: Engine) -> set[str]:
    return {name for name in inspect(engine).get_table_names() if name.startswith("crm_")}


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
        yield engine
        engine.dispose()
    else:
        with private_pg_schema(request.getfixturevalue("pg_url"), tables=False) as engine:
            yield engine


def test_the_shipped_head_is_the_revision_create_schema_stamps() -> None:
    assert migrations.head() == SCHEMA_REVISION


def test_upgrade_to_head_gives_the_schema_of_the_tables_and_downgrade_removes_it(
        empty_engine: Engine) -> None:
    assert migrations.current(empty_engine) is None
    migrations.upgrade(empty_engine)
    assert migrations.current(empty_engine) == SCHEMA_REVISION
    assert _crm_tables(empty_engine) == set(metadata.tables)
    assert _diff(empty_engine) == []
    with empty_engine.connect() as conn:
        assert conn.execute(select(crm_tables.org_meta.c.value)).scalar_one() == 0
    SqlStorage(empty_engine).check_schema()  # a migrated database is what crmkit expects

    migrations.downgrade(empty_engine, "base")
    assert _crm_tables(empty_engine) == set()
    assert migrations.current(empty_engine) is None
    assert "alembic_version" not in inspect(empty_engine).get_table_names()


def test_create_schema_stamps_head_so_upgrade_has_nothing_to_do(empty_engine: Engine) -> None:
    SqlStorage(empty_engine).create_schema()
    assert migrations.current(empty_engine) == SCHEMA_REVISION
    migrations.upgrade(empty_engine)
    assert _diff(empty_engine) == []


def test_0002_repairs_customers_owned_and_pooled_then_refuses_them(empty_engine: Engine
                                                                      ) -> None:
    migrations.upgrade(empty_engine, "0001_initial")
    c = crm_tables.customers
    row = {"created_at": T0, "updated_at": T0, "version": 1, "deal_status": "未成交",
           "locked": False, "custom": {}}
    with empty_engine.begin() as conn:
        conn.execute(sa.insert(c), [{**row, "id": "both", "name": "甲", "owner_id": "u1",
                                     "pool_id": "p1"},
                                    {**row, "id": "pooled", "name": "乙", "owner_id": None,
                                     "pool_id": "p1"}])
    migrations.upgrade(empty_engine)
    with empty_engine.connect() as conn:
        assert dict(conn.execute(sa.select(c.c.id, c.c.owner_id)).all()) == {
            "both": "u1", "pooled": None}
        assert dict(conn.execute(sa.select(c.c.id, c.c.pool_id)).all()) == {
            "both": None, "pooled": "p1"}
    with pytest.raises(sa.exc.IntegrityError, match="owned_or_pooled"), \
            empty_engine.begin() as conn:
        conn.execute(sa.update(c).where(c.c.id == "pooled").values(owner_id="u2"))
    assert _diff(empty_engine) == []
    migrations.downgrade(empty_engine, "0001_initial")
    with empty_engine.begin() as conn:
        conn.execute(sa.update(c).where(c.c.id == "pooled").values(owner_id="u2"))


def test_0008_makes_the_follow_ups_calendar_entries_schedules(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine, "0007_list_indexes")
    at = T0.replace(tzinfo=None)
    with empty_engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO crm_schedules (id, owner_id, title, starts_at, ends_at, record_kind, "
            "record_id, source) VALUES ('s1', 'u1', '联系：华星', :at, NULL, 'customer', 'c1', "
            "'followup'), ('s2', 'u1', '会议', :at, :later, NULL, NULL, '')"),
            {"at": at, "later": at + timedelta(hours=1)})
    migrations.upgrade(empty_engine)
    assert _diff(empty_engine) == []
    with SqlStorage(empty_engine).transaction() as uow:
        first, second = uow.records("schedule").get_many(["s1", "s2"])
        assert first == CalendarEvent("s1", "u1", "联系：华星", T0, T0, "u1", T0, T0,
                                      related=(RecordRef("customer", "c1"),),
                                      source="followup", series_ends_at=T0)
        assert (second.ends_at, second.related, second.series_ends_at) == (
            T0 + timedelta(hours=1), (), T0 + timedelta(hours=1))
        assert [link.source_id for link in uow.links.sources(
            "schedule", [RecordRef("customer", "c1")])] == ["s1"]
    migrations.downgrade(empty_engine, "0007_list_indexes")
    with empty_engine.connect() as conn:
        assert conn.execute(sa.text(
            "SELECT id, record_kind, record_id FROM crm_schedules")).all() == [
            ("s1", "customer", "c1")]


def test_an_outdated_schema_is_refused_until_upgraded(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    storage = SqlStorage(engine)
    storage.create_schema()
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {VERSION_TABLE} SET version_num = 'older'")
    with pytest.raises(SchemaError, match="crmkit db upgrade"):
        storage.create_schema()
    with pytest.raises(SchemaError, match="crmkit db upgrade"):
        storage.check_schema()


def test_check_schema_refuses_an_empty_database_and_creates_nothing(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'crm.db'}")
    with pytest.raises(SchemaError, match="no crmkit schema"):
        SqlStorage(engine).check_schema()
    assert inspect(engine).get_table_names() == []


def test_a_host_autogenerate_of_crmkit_tables_runs_and_leaves_no_difference(
        empty_engine: Engine) -> None:
    """A host carrying crmkit's tables in its own migrations: the autogenerated code (with
    ``render_item``) runs as written on an empty database and reproduces the schema — on
    PostgreSQL once ``pg_trgm`` is installed, which the keyword search indexes need."""
    with empty_engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"render_item": migrations.render_item})
        upgrade = produce_migrations(context, metadata).upgrade_ops
        assert upgrade is not None
        code = render_python_code(upgrade,
                                  render_item=migrations.render_item, migration_context=context)
    assert "crmkit" not in code
    with empty_engine.begin() as conn:
        if conn.dialect.name == "postgresql":  # its search indexes need pg_trgm visible
            search_trigrams_too(conn)
        op = Operations(MigrationContext.configure(conn))
        body = "\n".join(line for line in code.splitlines() if not line.startswith("#"))
        exec(textwrap.dedent(body), {"op": op, "sa": sa, "postgresql": postgresql})
    assert _diff(empty_engine) == []


@pytest.mark.parametrize("column", [c for t in metadata.sorted_tables for c in t.c
                                    if type(c.type).__module__ == crm_tables.__name__],
                         ids=lambda c: f"{c.table.name}.{c.name}")
def test_crmkit_types_repr_as_the_constructor_call(column: Column[Any]) -> None:
    """Without ``render_item`` Alembic writes ``<module>.<repr>``: the repr rebuilds the type."""
    rebuilt = eval(repr(column.type), vars(crm_tables))
    assert type(rebuilt) is type(column.type)
    assert repr(rebuilt.impl) == repr(column.type.impl)  # type: ignore[attr-defined]


def test_primary_keys_are_not_nullable() -> None:
    assert [f"{c.table.name}.{c.name}" for t in metadata.sorted_tables
            for c in t.primary_key.columns if c.nullable] == []


def test_a_host_autogenerate_with_include_object_leaves_crmkit_tables_alone(
        empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    host = MetaData()
    Table("erp_orders", host, Column("id", Integer, primary_key=True))
    diff = _diff(empty_engine, host, include_object=migrations.include_object)
    assert [(d[0], d[1].name) for d in diff] == [("add_table", "erp_orders")]
    everything = _diff(empty_engine, host)  # without it the host would drop crmkit's tables
    assert {d[1].name for d in everything if d[0] == "remove_table"} == set(metadata.tables)


HOST_ENV = '''
from alembic import context
from sqlalchemy import MetaData

from crmkit.adapters.sqlalchemy import make_engine, migrations as crmkit_migrations

engine = make_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    context.configure(connection=connection, target_metadata=MetaData(),
                      include_object=crmkit_migrations.include_object)
    with context.begin_transaction():
        crmkit_migrations.upgrade(connection)
        context.run_migrations()
engine.dispose()
'''

HOST_REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "h1"
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("erp_orders", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("erp_orders")
'''


def test_a_host_env_runs_crmkit_revisions_beside_its_own(tmp_path: Path) -> None:
    """The documented host env.py: crmkit's revisions then the host's, one connection and one
    transaction, two version tables."""
    from alembic import command
    from alembic.config import Config

    (tmp_path / "host" / "versions").mkdir(parents=True)
    (tmp_path / "host" / "env.py").write_text(HOST_ENV)
    (tmp_path / "host" / "versions" / "h1_orders.py").write_text(HOST_REVISION)
    url = f"sqlite:///{tmp_path / 'host.db'}"
    config = Config()
    config.set_main_option("script_location", str(tmp_path / "host"))
    config.set_main_option("sqlalchemy.url", url)
    command.upgrade(config, "head")

    engine = make_engine(url)
    names = set(inspect(engine).get_table_names())
    assert {"erp_orders", "alembic_version", VERSION_TABLE} | set(metadata.tables) == names
    assert migrations.current(engine) == SCHEMA_REVISION
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar() == "h1"
    engine.dispose()


@pytest.mark.postgres
def test_without_a_visible_pg_trgm_the_schema_is_made_without_search_indexes_and_search_works(
        pg_url: str) -> None:
    """pg_trgm installed in a schema the connection does not search (as where a role may not
    create extensions): ``create_schema`` and the migration warn and make every other index;
    a keyword is then answered by a scan. With the extension on the path, the indexes come."""
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    admin.dispose()
    with private_pg_schema(pg_url, tables=False) as engine:
        storage = SqlStorage(engine)
        with pytest.warns(UserWarning, match="pg_trgm"):
            storage.create_schema()
        names = {ix["name"] for ix in inspect(engine).get_indexes("crm_leads")}
        assert "ix_crm_leads_converted_created" in names
        assert not {n for n in names if "_search_" in str(n)}
        crm = CRM(storage)
        boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
        crm.leads.create(boss, {"name": "HuaWei 深圳"})
        assert [r.name for r in crm.leads.list(boss, {"keyword": "huawei"}).items] == [
            "HuaWei 深圳"]
        with engine.begin() as conn:
            search_trigrams_too(conn)
            for index in crm_tables.leads.indexes:
                if "_search_" in str(index.name):
                    index.create(conn)
        names = {ix["name"] for ix in inspect(engine).get_indexes("crm_leads")}
        assert "ix_crm_leads_search_name" in names
        assert [r.name for r in crm.leads.list(boss, {"keyword": "HUAWEI"}).items] == [
            "HuaWei 深圳"]
        storage.close()
