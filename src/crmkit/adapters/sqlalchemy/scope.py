"""The SQL interpreter of :class:`crmkit.entities.RecordScope`: one WHERE expression.

``scope_clause(scope, ...)`` selects exactly the records ``scope.admits(owner_id, team_user_ids,
pool_id)`` admits (proved against the Python interpreter by ``tests/adapters/test_scope_sql.py``),
and ``~scope_clause(...)`` exactly the others: the negation is written out NULL-safely
(:class:`MemberTest`), so the tests themselves need no per-row ``IS NOT NULL``.

Every branch is a plain membership test the database can answer from an index, so SQLite
answers the ``OR`` with its multi-index OR and PostgreSQL with a ``BitmapOr`` (or filters a
scan of the sort index):

- owner ∈ the visible owners: ``owner_id IN (…)``;
- the team grant (相关团队): ``id IN (…)`` over the ids of the records on whose team the viewer
  is, when the caller passes them as ``team_record_ids`` (:func:`team_record_ids` reads them
  with one indexed query; a viewer is on few teams). An empty list drops the branch. Without
  them (``QueryCompiler`` on SQLite, or above :data:`TEAM_ID_LIMIT`) the statement reads the
  team table itself, uncorrelated so it runs once: ``id IN (SELECT record_id …)`` on SQLite
  (the same plan as a list) and ``id = ANY(ARRAY(SELECT record_id …))`` on PostgreSQL (an init
  plan, still indexable; a plain ``IN (SELECT …)`` under an ``OR`` becomes a filter on a
  sequential scan there). The correlated ``EXISTS (… record_id = t.id …)`` used before made
  SQLite probe the team table once per row and PostgreSQL scan the table (``bench/README.md``);
- pool ∈ the viewer's pools: ``pool_id IN (…)``.

A single id is an equality; id sets up to :data:`INLINE_LIMIT` values become an expanding
``IN``; larger sets are bound as ONE parameter (PostgreSQL ``= ANY(:ids)`` with a
``VARCHAR[]``, SQLite ``IN (SELECT value FROM json_each(:ids))``), so no statement ever exceeds
a driver's bound-parameter limit.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Self

from sqlalchemy import (
    ColumnElement,
    Connection,
    Dialect,
    String,
    TypeDecorator,
    and_,
    bindparam,
    false,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.visitors import InternalTraversal, _TraverseInternalsType
from sqlalchemy.types import Boolean, TypeEngine

from crmkit.adapters.sqlalchemy.tables import team_members
from crmkit.entities import RecordScope

INLINE_LIMIT = 2000
"""Id sets larger than this are bound as a single array/JSON parameter instead of ``IN (...)``."""

TEAM_ID_LIMIT = 1000
"""A viewer on the teams of more records of one kind than this gets the subquery form of the
team grant instead of a materialised id list (see :func:`team_record_ids`)."""


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
    """``column`` is one of a large id set bound as a single parameter (see module docstring).

    It renders as a predicate (``x = ANY(…)`` / ``x IN (SELECT …)``), so SQLAlchemy must not wrap
    it in ``(…) = 1`` on SQLite, which has no boolean type: that wrapper hides the ``IN`` from
    SQLite's planner, which then scans the table instead of searching the index.
    """

    type = Boolean()
    name = "crm_member_of"
    inherit_cache = True
    _is_implicitly_boolean = True


class member_of_scanned(member_of):
    """:class:`member_of` for a sorted page on SQLite: ``+x IN (SELECT value FROM json_each(…))``.

    SQLite cannot see how many ids a JSON parameter holds, so for a page it searched the
    owner index for every id and sorted all their rows (118 ms for a director's first page of
    20,000 leads, ~3,000 owners) where the same ids listed let it walk the sort index and stop
    after the page (1.8 ms): the ``+`` keeps the test off the owner index, as the listed form's
    plan does. Such a set is large (more than :data:`INLINE_LIMIT` owners), so the walk meets
    the page's rows soon. Counts keep :class:`member_of` (an index-only count)."""

    name = "crm_member_of_scanned"
    inherit_cache = True


@compiles(member_of, "postgresql")
def _member_of_postgresql(element: member_of, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = element.clauses
    return f"({compiler.process(column, **kw)} = ANY({compiler.process(ids, **kw)}))"


@compiles(member_of, "sqlite")
def _member_of_sqlite(element: member_of, compiler: SQLCompiler, **kw: Any) -> str:
    column, ids = element.clauses
    plus = "+" if isinstance(element, member_of_scanned) else ""
    return (
        f"({plus}{compiler.process(column, **kw)} IN "
        f"(SELECT value FROM json_each({compiler.process(ids, **kw)})))"
    )


class in_subquery(FunctionElement[bool]):
    """``column`` is one of the values an uncorrelated one-column subquery returns, in the form
    each planner can use an index for (see the module docstring)."""

    type = Boolean()
    name = "crm_in_subquery"
    inherit_cache = True
    _is_implicitly_boolean = True


@compiles(in_subquery, "postgresql")
def _in_subquery_postgresql(element: in_subquery, compiler: SQLCompiler, **kw: Any) -> str:
    column, query = element.clauses
    return f"({compiler.process(column, **kw)} = ANY(ARRAY{compiler.process(query, **kw)}))"


@compiles(in_subquery)
def _in_subquery_default(element: in_subquery, compiler: SQLCompiler, **kw: Any) -> str:
    column, query = element.clauses
    return f"({compiler.process(column, **kw)} IN {compiler.process(query, **kw)})"


class MemberTest(ColumnElement[bool]):
    """``column`` is in a set, tested by ``test`` (``column IN (…)``, :class:`member_of` or
    :class:`in_subquery`), which is NULL for a NULL ``column`` and never NULL otherwise.

    The statement gets the bare test — what the planners use an index for; a WHERE clause
    treats its NULL as false. ``~`` is exact: ``column IS NULL OR NOT test`` (just ``NOT test``
    for a ``NOT NULL`` column). An ``IS NOT NULL AND …`` guard in the test itself would cost a
    check on every row (SQLite counts a covering ``IN`` search 2–4× slower with one). Negate
    the element itself (or :class:`AnyMember`), not a larger expression holding it: SQLAlchemy
    renders ``~and_(x, y)`` as ``NOT (x AND y)``, which would see the bare test.
    """

    __visit_name__ = "crm_member_test"
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 - SQLAlchemy's protocol
        ("column", InternalTraversal.dp_clauseelement),
        ("test", InternalTraversal.dp_clauseelement),
    ]
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True

    def __init__(self, column: ColumnElement[Any], test: ColumnElement[bool]) -> None:
        self.column = column
        self.test = test

    @property
    def _from_objects(self) -> list[Any]:
        return self.column._from_objects

    def self_group(self, against: Any = None) -> Self:
        return self  # rendered in parentheses; never wrapped, so ``~`` reaches ``_negate``

    def _negate(self) -> ColumnElement[bool]:
        if getattr(self.column, "nullable", True) is False:
            return not_(self.test)
        return or_(self.column.is_(None), not_(self.test))


@compiles(MemberTest)
def _compile_member_test(element: MemberTest, compiler: SQLCompiler, **kw: Any) -> str:
    return f"({compiler.process(element.test, **kw)})"


class AnyMember(ColumnElement[bool]):
    """``t1 OR t2 …`` of :class:`MemberTest` terms; ``~`` is ``~t1 AND ~t2 …``, exact."""

    __visit_name__ = "crm_any_member"
    _traverse_internals: _TraverseInternalsType = [  # noqa: RUF012 - SQLAlchemy's protocol
        ("terms", InternalTraversal.dp_clauseelement_tuple)
    ]
    inherit_cache = True
    type = Boolean()
    _is_implicitly_boolean = True

    def __init__(self, terms: Sequence[MemberTest]) -> None:
        self.terms = tuple(terms)

    @property
    def _from_objects(self) -> list[Any]:
        return [f for t in self.terms for f in t._from_objects]

    def self_group(self, against: Any = None) -> Self:
        return self

    def _negate(self) -> ColumnElement[bool]:
        return and_(*(t._negate() for t in self.terms))


@compiles(AnyMember)
def _compile_any_member(element: AnyMember, compiler: SQLCompiler, **kw: Any) -> str:
    return "(" + " OR ".join(compiler.process(t.test, **kw) for t in element.terms) + ")"


def in_id_set(column: ColumnElement[Any], ids: Iterable[str]) -> ColumnElement[bool]:
    """``column ∈ ids`` (a NULL ``column`` is in no set); FALSE for an empty set; ``~`` is
    exact (see :class:`MemberTest`).

    Small sets use an expanding ``IN``; sets above :data:`INLINE_LIMIT` use :class:`member_of`.
    """
    values = list(ids) if isinstance(ids, set | frozenset) else list(dict.fromkeys(ids))
    if not values:
        return false()
    return _member_test(column, values)


KEY_INLINE_LIMIT = 50
"""Key sets (:func:`in_key_set`) larger than this are bound as one array/JSON parameter."""


def in_key_set(column: ColumnElement[Any], ids: Iterable[str]) -> ColumnElement[bool]:
    """:func:`in_id_set` for a key the planner looks up value by value — a primary key, an
    indexed reference (a batch's records by id, their children, teams, plans, payments): from
    :data:`KEY_INLINE_LIMIT` values on, one array/JSON parameter. The statement is then
    compiled once and bound as it is, where an expanding ``IN`` renders a placeholder and
    processes a value per id on every execution (as much CPU as the query for 1,000 ids on
    SQLite). Owner sets keep :func:`in_id_set`: there the planner must see the list's size."""
    values = list(ids) if isinstance(ids, set | frozenset) else list(dict.fromkeys(ids))
    if len(values) <= KEY_INLINE_LIMIT:
        return in_id_set(column, values)
    return MemberTest(column, member_of(column, bindparam(None, values, type_=IdList())))


def key_set_test(column: ColumnElement[Any], name: str, count: int) -> MemberTest:
    """The test :func:`in_key_set` gives for ``count`` ids, its ids left to the parameter
    ``name`` (a list): one statement per table and form, built once and bound per call."""
    if count > KEY_INLINE_LIMIT:
        return MemberTest(column, member_of(column, bindparam(name, type_=IdList())))
    return MemberTest(column, column.in_(bindparam(name, expanding=True)))


def _member_test(column: ColumnElement[Any], values: list[str], *, sorted_page: bool = False
                 ) -> MemberTest:
    if len(values) == 1:  # a rep's own records: no list to expand on every execution
        return MemberTest(column, column == values[0])
    if len(values) <= INLINE_LIMIT:
        return MemberTest(column, column.in_(values))
    test = member_of_scanned if sorted_page else member_of
    return MemberTest(column, test(column, bindparam(None, values, type_=IdList())))


def team_record_ids(
    conn: Connection, record_kind: str, user_id: str, *, limit: int | None = None
) -> frozenset[str] | None:
    """Ids of the ``record_kind`` records on whose team ``user_id`` is: one SELECT on the
    ``(user_id, record_kind)`` index of ``crm_team_members``.

    None when there are more than ``limit`` (default :data:`TEAM_ID_LIMIT`) of them: the caller
    then leaves ``team_record_ids`` out of :func:`scope_clause`, which tests the team table in
    the statement itself. Read it in the transaction of the statement it goes into.
    """
    cap = TEAM_ID_LIMIT if limit is None else limit
    parameters = {"user_id": user_id, "record_kind": record_kind, "limit": cap + 1}
    ids = frozenset(conn.execute(_TEAM_RECORD_IDS, parameters).scalars())
    return None if len(ids) > cap else ids


_TEAM_RECORD_IDS = (
    select(team_members.c.record_id)
    .where(
        team_members.c.user_id == bindparam("user_id"),
        team_members.c.record_kind == bindparam("record_kind"),
    )
    .limit(bindparam("limit"))
)


def scope_clause(
    scope: RecordScope,
    *,
    owner_col: ColumnElement[Any],
    record_id_col: ColumnElement[Any],
    record_kind: str,
    pool_col: ColumnElement[Any] | None = None,
    team_record_ids: Collection[str] | None = None,
    sorted_page: bool = False,
) -> ColumnElement[bool]:
    """One WHERE expression admitting exactly what ``scope.admits`` admits.

    - ``all_records`` → TRUE (callers leave it out of the WHERE clause); an empty scope → FALSE.
    - owner ∈ ``owner_ids`` (NULL owners never match);
    - OR a ``crm_team_members`` row (``record_kind``, record id, ``team_user_id``) exists. With
      ``team_record_ids`` — exactly the ids of those rows, as :func:`team_record_ids` reads them
      for (``record_kind``, ``scope.team_user_id``) — this is ``record_id ∈ team_record_ids``,
      and nothing when it is empty; without it, ``record_id IN (SELECT record_id FROM
      crm_team_members WHERE …)``;
    - OR pool ∈ ``pool_ids`` — only when ``pool_col`` is given (records without a pool column
      are never pool records).

    ``sorted_page``: the clause selects a sorted page, not a count (a large owner set then
    stays off the owner index on SQLite: :class:`member_of_scanned`).

    Where it is false it may be NULL (a record without an owner); ``~`` / ``not_()`` on the
    result is exact (:class:`MemberTest`, :class:`AnyMember`), a ``NOT`` around a larger
    expression holding it is not.
    """
    if scope.all_records:
        return true()
    terms: list[MemberTest] = []
    if scope.owner_ids:
        terms.append(_member_test(owner_col, list(scope.owner_ids), sorted_page=sorted_page))
    if scope.team_user_id is not None:
        if team_record_ids is not None:
            if team_record_ids:
                terms.append(_member_test(record_id_col, list(team_record_ids)))
        else:
            on_team = (
                select(team_members.c.record_id)
                .where(
                    team_members.c.record_kind == record_kind,
                    team_members.c.user_id == scope.team_user_id,
                )
                .scalar_subquery()
            )
            terms.append(MemberTest(record_id_col, in_subquery(record_id_col, on_team)))
    if pool_col is not None and scope.pool_ids:
        terms.append(_member_test(pool_col, list(scope.pool_ids)))
    if not terms:
        return false()
    return terms[0] if len(terms) == 1 else AnyMember(terms)
