"""Shared plumbing of the Core repositories: constraint errors → ``Conflict``, versioned UPDATE.

- Optimistic locking is ``UPDATE … WHERE id = :id AND version = :expected``; no row → ``Conflict``
  (code ``version_conflict``).
- A unique clash on a listed field → ``<kind>.<field>_taken``, on the primary key →
  ``<kind>.exists``, a missing reference → ``<kind>.reference_missing``; a DELETE blocked by a
  foreign key → ``<kind>.in_use``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar

from sqlalchemy import Connection, Select, Table, delete, insert, update
from sqlalchemy.exc import IntegrityError

from crmkit.errors import Conflict

T = TypeVar("T")

# -- errors ----------------------------------------------------------------------------------


def version_conflict(kind: str, entity_id: str) -> Conflict:
    return Conflict(
        f"{kind} {entity_id} was changed by someone else",
        "记录已被他人修改，请刷新后重试",
        code="version_conflict",
    )


def taken(kind: str, field: str) -> Conflict:
    return Conflict(
        f"{kind} {field} is already taken", "该值已被占用", code=f"{kind}.{field}_taken"
    )


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
        raise Conflict(f"{kind} exists", f"{kind} 已存在", code=f"{kind}.exists") from err
    if violation == "foreign_key":
        raise Conflict(
            f"{kind} refers to a missing record",
            "引用的记录不存在",
            code=f"{kind}.reference_missing",
        ) from err
    raise err


def raise_delete_conflict(err: IntegrityError, kind: str) -> NoReturn:
    """Map a DELETE blocked by a foreign key to ``Conflict(<kind>.in_use)``."""
    if _violation(err)[0] == "foreign_key":
        raise Conflict(
            f"{kind} is still referenced", "该记录仍被引用，无法删除", code=f"{kind}.in_use"
        ) from err
    raise err


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
            self._conn.execute(insert(self.table), row)
        except IntegrityError as err:
            raise_write_conflict(err, self.kind, self.unique_fields)

    def _update_versioned(self, row: dict[str, Any], expected_version: int) -> None:
        """``UPDATE … WHERE id = :id AND version = :expected``; no row matched → ``Conflict``."""
        values = {k: v for k, v in row.items() if k != "id"}
        statement = (
            update(self.table)
            .where(self.table.c.id == row["id"], self.table.c.version == expected_version)
            .values(values)
        )
        try:
            result = self._conn.execute(statement)
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


