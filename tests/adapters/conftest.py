"""Shared adapter-test setup: a private PostgreSQL schema per test module, emptied per test;
the SQLite-file and PostgreSQL backends of a contract suite; the statements a block sends."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Dialect, Engine, event
from sqlalchemy.dialects import postgresql

from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.ports import Storage
from pg_schemas import empty_pg_storage, private_pg_schema

__all__ = ["empty_pg_storage", "private_pg_schema"]  # the adapter tests import them from here


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
