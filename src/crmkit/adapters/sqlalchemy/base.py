"""Shared plumbing of the Core repositories: constraint errors → ``Conflict``, versioned UPDATE.

- Optimistic locking is ``UPDATE … WHERE id = :id AND version = :expected``; no row → ``Conflict``
  (code ``version_conflict``).
- A unique clash on a listed field → ``<kind>.<field>_taken``, on the primary key →
  ``<kind>.exists``, a missing reference → ``<kind>.reference_missing``; a DELETE blocked by a
  foreign key → ``<kind>.in_use``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Connection, Insert, Select, Table, Update, bindparam, delete, insert, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError

from crmkit.errors import Conflict
from crmkit.policies.conflicts import taken as taken
from crmkit.policies.conflicts import version_conflict as version_conflict

T = TypeVar("T")

# -- errors ----------------------------------------------------------------------------------


def _violation(err: IntegrityError) -> tuple[str, str]:
    """``(kind, detail)`` of a constraint error: kind is ``unique``, ``foreign_key`` or ``other``.

    PostgreSQL reports an SQLSTATE and the constraint name (our naming convention), SQLite an
    extended error name and ``table.column`` in the message.
    """
    orig = err.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate is not None:
        diag = getattr(orig, "diag", None)
        detail = str(getattr(diag, "constraint_name", "") or "")
        kinds = {"23505": "unique", "23503": "foreign_key"}
        return kinds.get(sqlstate, "other"), detail
    name = getattr(orig, "sqlite_errorname", "")
    detail = str(orig)
    if name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"):
        return "unique", detail
    if name == "SQLITE_CONSTRAINT_FOREIGNKEY":
        return "foreign_key", detail
    return "other", detail


def raise_write_conflict(err: IntegrityError, kind: str, unique_fields: Sequence[str]) -> NoReturn:
    """Map an INSERT/UPDATE constraint error to ``Conflict``.

    A unique clash on one of ``unique_fields`` → ``<kind>.<field>_taken``; on the id →
    ``<kind>.exists``; a foreign key → ``<kind>.reference_missing``. Anything else re-raises.
    """
    violation, detail = _violation(err)
    if violation == "unique":
        for field in unique_fields:
            if field in detail:
                raise taken(kind, field) from err
        raise Conflict(f"{kind}.exists", f"{kind} 已存在", f"{kind} exists") from err
    if violation == "foreign_key":
        raise Conflict(
            f"{kind}.reference_missing",
            "引用的记录不存在",
            f"{kind} refers to a missing record",
        ) from err
    raise err


def raise_delete_conflict(err: IntegrityError, kind: str) -> NoReturn:
    """Map a DELETE blocked by a foreign key to ``Conflict(<kind>.in_use)``."""
    if _violation(err)[0] == "foreign_key":
        raise Conflict(
            f"{kind}.in_use", "该记录仍被引用，无法删除", f"{kind} is still referenced"
        ) from err
    raise err


# -- dialect inserts -------------------------------------------------------------------------


def dialect_insert(conn: Connection, table: Table) -> Any:
    """The dialect's own INSERT construct (``on_conflict_do_update`` and ``excluded``, the same
    on PostgreSQL and SQLite ≥ 3.24)."""
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(dialect)  # pragma: no cover - only SQLite and PostgreSQL


# -- bulk inserts ----------------------------------------------------------------------------

BULK_ROWS = 1000
"""From this many rows on, :func:`bulk_insert` bypasses SQLAlchemy's per-row parameter handling."""

_MEMO_TYPES = (datetime, date)
"""Values whose processed form is memoised per batch (an operation stamps one ``now``)."""


def _processed_rows(
    conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """Every row as a tuple in column order, each value through its column type's own bind
    processor (exactly what SQLAlchemy would send); datetimes/dates processed once each."""
    dialect = conn.dialect
    names = [c.name for c in table.c]
    active = [
        (position, process)
        for position, column in enumerate(table.c)
        if (process := column.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    ]
    memo: dict[tuple[int, type, Any], Any] = {}
    out: list[tuple[Any, ...]] = []
    for row in rows:
        values = [row[name] for name in names]
        for position, process in active:
            value = values[position]
            if value is None:
                continue
            if isinstance(value, _MEMO_TYPES):
                key = (position, type(value), value)
                done = memo.get(key, memo)
                if done is memo:
                    done = memo[key] = process(value)
                values[position] = done
            else:
                values[position] = process(value)
        out.append(tuple(values))
    return out


def driver_rows(conn: Connection, count: int) -> bool:
    """Whether :func:`bulk_insert` hands ``count`` rows straight to the driver (from
    :data:`BULK_ROWS` rows on, SQLite or PostgreSQL with psycopg): then
    :func:`insert_processed` takes tuples in the driver's form."""
    dialect = conn.dialect
    return count >= BULK_ROWS and (
        dialect.name == "sqlite" or (dialect.name == "postgresql" and dialect.driver == "psycopg")
    )


def bulk_insert(conn: Connection, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """INSERT many complete rows (a value for every column, as the ``*_to_row`` functions give).

    Below :data:`BULK_ROWS` rows (or for rows missing a column, or another driver) this is
    SQLAlchemy's executemany. Above it the values are processed once per column type and go
    straight to the driver: ``COPY … FROM STDIN`` on PostgreSQL with psycopg, the driver's
    executemany on SQLite — several times faster for the hundreds of thousands of rows of a big
    transfer's operation log. Constraint errors surface as ``IntegrityError`` either way.
    """
    if not rows:
        return
    if not driver_rows(conn, len(rows)) or any(c.name not in rows[0] for c in table.c):
        conn.execute(inserting(table), list(rows))
        return
    insert_processed(conn, table, _processed_rows(conn, table, rows))


def insert_processed(conn: Connection, table: Table, values: Sequence[Sequence[Any]]) -> None:
    """INSERT rows already in the driver's form (one value per column, in column order, each as
    the column type's bind processor gives it — or, for a JSON column, its JSON text):
    ``COPY … FROM STDIN`` on PostgreSQL, the driver's executemany on SQLite. Only where
    :func:`driver_rows` says so."""
    dialect = conn.dialect
    names = [c.name for c in table.c]
    quote = dialect.identifier_preparer.quote
    columns = ", ".join(quote(name) for name in names)
    target = dialect.identifier_preparer.format_table(table)
    if dialect.name == "sqlite":
        marks = ", ".join("?" for _ in names)
        conn.exec_driver_sql(f"INSERT INTO {target} ({columns}) VALUES ({marks})", list(values))
        return
    statement = f"COPY {target} ({columns}) FROM STDIN"
    driver_connection: Any = conn.connection.driver_connection
    try:
        with driver_connection.cursor() as cursor, cursor.copy(statement) as copy:
            for value in values:
                copy.write_row(value)
    except dialect.loaded_dbapi.Error as err:
        raise DBAPIError.instance(
            statement, None, err, dialect.loaded_dbapi.Error, dialect=dialect
        ) from err


def bind_processor(conn: Connection, column: Any) -> Callable[[Any], Any]:
    """The column type's own bind processor on this connection's dialect (identity if none)."""
    dialect = conn.dialect
    process = column.type.dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else _same


def _same(value: Any) -> Any:
    return value


# -- prebuilt writes -------------------------------------------------------------------------


@functools.cache
def inserting(table: Table) -> Insert:
    """``INSERT INTO table`` built once: its columns come from the parameters."""
    return insert(table)


@functools.cache
def versioned_update(table: Table) -> Update:
    """``UPDATE table SET … WHERE id = :_id AND version = :_expected``, built once: the SET
    columns are the other keys of the parameters (SQLAlchemy compiles one form per key set)."""
    return update(table).where(table.c.id == bindparam("_id"),
                               table.c.version == bindparam("_expected"))


def versioned_params(row: Mapping[str, Any], expected_version: int,
                     previous: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The parameters of :func:`versioned_update` for ``row``: every column but the id, or
    with the ``previous`` row only those whose value changed (the version always does)."""
    values = {k: v for k, v in row.items() if k != "id" and (
        previous is None or k not in previous or previous[k] != v or k == "version")}
    return {"_id": row["id"], "_expected": expected_version, **values}


# -- repositories ----------------------------------------------------------------------------


class Repository:
    """Shared plumbing: the unit of work's connection and the versioned UPDATE."""

    kind: str
    table: Table
    unique_fields: Sequence[str] = ()

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _insert(self, row: dict[str, Any]) -> None:
        try:
            self._conn.execute(inserting(self.table), row)
        except IntegrityError as err:
            raise_write_conflict(err, self.kind, self.unique_fields)

    def _update_versioned(self, row: dict[str, Any], expected_version: int,
                          previous: Mapping[str, Any] | None = None) -> None:
        """``UPDATE … SET <columns> WHERE id = :id AND version = :expected``; no row matched →
        ``Conflict``. With the ``previous`` row only the columns that changed are sent."""
        try:
            result = self._conn.execute(versioned_update(self.table),
                                        versioned_params(row, expected_version, previous))
        except IntegrityError as err:
            raise_write_conflict(err, self.kind, self.unique_fields)
        if result.rowcount == 0:
            raise version_conflict(self.kind, row["id"])

    def _delete(self, entity_id: str) -> None:
        try:
            self._conn.execute(delete(self.table).where(self.table.c.id == entity_id))
        except IntegrityError as err:
            raise_delete_conflict(err, self.kind)

    def _one(self, statement: Select[Any], convert: Callable[[Any], T]) -> T | None:
        row = self._conn.execute(statement).mappings().first()
        return None if row is None else convert(row)


