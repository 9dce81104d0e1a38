"""Shared adapter-test setup: a private PostgreSQL schema per test module, emptied per test,
and the statements a block sends."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Dialect, Engine, event
from sqlalchemy.dialects import postgresql

from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata


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


def empty_pg_storage(engine: Engine) -> SqlStorage:
    """One TRUNCATE of every crmkit table (much faster than drop_all/create_all)."""
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE TABLE {names} CASCADE")
    return SqlStorage(engine)


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
