"""The SQL interpreter of :class:`crmkit.entities.RecordScope`: one WHERE expression.

``scope_clause(scope, ...)`` selects exactly the records ``scope.admits(owner_id, team_user_ids,
pool_id)`` admits (proved against the Python interpreter by ``tests/adapters/test_scope_sql.py``).
The expression is never NULL, so ``~scope_clause(...)`` selects exactly the records not admitted.

Id sets up to :data:`INLINE_LIMIT` values become an expanding ``IN``; larger sets are bound as ONE
parameter (PostgreSQL ``= ANY(:ids)`` with a ``VARCHAR[]``, SQLite ``IN (SELECT value FROM
json_each(:ids))``), so no statement ever exceeds a driver's bound-parameter limit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    String,
    TypeDecorator,
    and_,
    bindparam,
    exists,
    false,
    or_,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean, TypeEngine

from crmkit.adapters.sqlalchemy.tables import team_members
from crmkit.entities import RecordScope

INLINE_LIMIT = 2000
"""Id sets larger than this are bound as a single array/JSON parameter instead of ``IN (...)``."""


class IdList(TypeDecorator[list[str]]):
    """Ids bound as one parameter: a ``VARCHAR[]`` on PostgreSQL, JSON text elsewhere."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(ARRAY(String()))
        return dialect.type_descriptor(String())

    def process_bind_param(self, value: list[str] | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if dialect.name == "postgresql":
            return list(value)
        return json.dumps(list(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> list[str] | None:
        if value is None or isinstance(value, list):
            return value
        loaded: list[str] = json.loads(value)
        return loaded


class member_of(FunctionElement[bool]):
    """``column`` is one of a large id set bound as a single parameter (see module docstring)."""

    type = Boolean()
    name = "crm_member_of"
    inherit_cache = True


@compiles(member_of, "postgresql")
def _member_of_postgresql(element: member_of, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = element.clauses
    return f"({compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)}))"


@compiles(member_of, "sqlite")
def _member_of_sqlite(element: member_of, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = element.clauses
    return (
        f"({compiler.process(column, **kw)} IN "
        f"(SELECT value FROM json_each({compiler.process(ids, **kw)})))"
    )


def in_id_set(column: ColumnElement[Any], ids: Iterable[str]) -> ColumnElement[bool]:
    """``column IS NOT NULL AND column ∈ ids`` — never NULL; FALSE for an empty set.

    Small sets use an expanding ``IN``; sets above :data:`INLINE_LIMIT` use :class:`member_of`.
    """
    values = sorted(set(ids))
    if not values:
        return false()
    if len(values) <= INLINE_LIMIT:
        member: ColumnElement[bool] = column.in_(values)
    else:
        member = member_of(column, bindparam(None, values, type_=IdList()))
    return and_(column.is_not(None), member)


def scope_clause(
    scope: RecordScope,
    *,
    owner_col: ColumnElement[Any],
    record_id_col: ColumnElement[Any],
    record_kind: str,
    pool_col: ColumnElement[Any] | None = None,
) -> ColumnElement[bool]:
    """One WHERE expression admitting exactly what ``scope.admits`` admits.

    - ``all_records`` → TRUE; an empty scope → FALSE.
    - owner ∈ ``owner_ids`` (NULL owners never match);
    - OR a ``crm_team_members`` row (``record_kind``, record id, ``team_user_id``) exists;
    - OR pool ∈ ``pool_ids`` — only when ``pool_col`` is given (records without a pool column
      are never pool records).
    """
    if scope.all_records:
        return true()
    terms: list[ColumnElement[bool]] = []
    if scope.owner_ids:
        terms.append(in_id_set(owner_col, scope.owner_ids))
    if scope.team_user_id is not None:
        terms.append(
            exists()
            .where(
                team_members.c.record_kind == record_kind,
                team_members.c.record_id == record_id_col,
                team_members.c.user_id == scope.team_user_id,
            )
            .correlate_except(team_members)
        )
    if pool_col is not None and scope.pool_ids:
        terms.append(in_id_set(pool_col, scope.pool_ids))
    if not terms:
        return false()
    return or_(*terms)
