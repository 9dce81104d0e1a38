"""Shared adapter-test setup: a private PostgreSQL schema per test module, emptied per test;
the SQLite-file and PostgreSQL backends of a contract suite; the statements a block sends."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Dialect, Engine, event
from sqlalchemy.dialects import postgresql

from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata
from crmkit.entities.kinds import RecordKind
from crmkit.ports import Storage


@contextmanager
def private_pg_schema(pg_url: str, *, tables: bool = True, **engine_kw: Any) -> Iterator[Engine]:
    """An engine (``engine_kw`` passed on) whose ``search_path`` is a fresh schema holding
    crmkit's tables (empty with ``tables=False``); the schema is dropped afterwards."""
    schema = f"crmkit_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"},
                         **engine_kw)
    try:
        if tables:
            metadata.create_all(engine)
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture(scope="module")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """One private schema per test module (:func:`private_pg_schema`); empty it per test with
    :func:`empty_pg_storage`."""
    with private_pg_schema(pg_url) as engine:
        yield engine


def empty_pg_storage(engine: Engine, kinds: Iterable[RecordKind[Any]] = ()) -> SqlStorage:
    """One TRUNCATE of every crmkit table (much faster than drop_all/create_all); the tables of
    ``kinds`` (a host's record kinds) are dropped, the contract creates them again."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    storage = SqlStorage(engine, kinds=kinds)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE TABLE {names} CASCADE")
        storage.kinds_metadata.drop_all(conn)
    return storage


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def sql_storage(request: pytest.FixtureRequest) -> SqlStorage:
    """An empty SQL storage, schema created: SQLite in memory, then PostgreSQL."""
    if request.param == "sqlite":
        store = SqlStorage("sqlite://")
    else:
        store = empty_pg_storage(request.getfixturevalue("pg_engine"))
    store.create_schema()
    return store


class SqliteFileBackend:
    """Mixin for a contract suite: ``make_storage`` is a SQLite file in the test's tmp_path."""

    @pytest.fixture(autouse=True)
    def _directory(self, tmp_path: Path) -> None:
        self.path = tmp_path / "crm.db"

    def make_storage(self) -> Storage:
        return SqlStorage(f"sqlite:///{self.path}")


class PostgresBackend:
    """Mixin for a contract suite (mark the class ``postgres``): ``make_storage`` empties the
    private schema of ``pg_engine`` (a module may override that fixture, e.g. for a larger
    pool)."""

    @pytest.fixture(autouse=True)
    def _engine(self, pg_engine: Engine) -> None:
        self.engine = pg_engine

    def make_storage(self) -> Storage:
        return empty_pg_storage(self.engine)


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Collect the SQL statements sent to the database while the block runs."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


def postgresql_dialect() -> Dialect:
    """PostgreSQL's dialect, to compile statements without a server."""
    return postgresql.dialect()  # type: ignore[no-untyped-call]  # SQLAlchemy leaves it untyped


def in_threads(count: int, work: Callable[[int], Any]) -> tuple[list[Any], float]:
    """Run ``work(n)`` in ``count`` threads; their results (exceptions included) and the
    wall time."""
    results: list[Any] = [None] * count

    def run(n: int) -> None:
        try:
            results[n] = work(n)
        except Exception as err:  # collected for the assertions
            results[n] = err

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, time.perf_counter() - started
