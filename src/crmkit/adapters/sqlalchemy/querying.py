"""The SQL interpreter of :class:`~crmkit.entities.query.RecordQuery`: one SELECT per page.

It must return exactly what the reference interpreter (:mod:`crmkit.policies.query_eval`)
returns; ``crmkit.testing.RecordStorageContract`` proves it on random data. The rules:

- WHERE = :func:`~crmkit.adapters.sqlalchemy.scope.scope_clause` (team grants from
  ``crm_team_members`` rows of the same record kind — on PostgreSQL listed first by
  :meth:`QueryCompiler.team_ids`; pool grants only when the table has a ``pool_id`` column)
  AND every condition AND the keyset predicate; an ALL scope adds no term.
- System fields are the table's columns; custom fields are JSON paths into ``custom``, typed by
  the field's :class:`~crmkit.entities.fields.ValueKind`: TEXT/DATE/DATETIME as text (DATE is
  ``YYYY-MM-DD`` and DATETIME fixed-width UTC ISO, so text order is time order), INTEGER as an
  integer, DECIMAL (stored as ``"12.50"``) cast to ``NUMERIC`` on PostgreSQL and to ``REAL`` on
  SQLite (exact for values of up to 15 significant digits), BOOLEAN as a boolean, LIST (a JSON
  array of strings) by element membership.
- Text is compared by code point: ``COLLATE "C"`` on PostgreSQL, SQLite's default ``BINARY``.
  ``contains``/``prefix``/``suffix`` are case-sensitive on both (``strpos``/``instr`` and
  ``substr``, never ``LIKE``), so user text needs no wildcard escaping.
- Empty means NULL (missing key or JSON null), plus ``""`` for TEXT and ``[]`` for LIST.
  Operators that also match empty values (``ne``, ``not_contains``) say so with ``IS NULL``;
  comparisons (``gt`` … ``between``, ``in``) never match an empty value.
- ORDER BY each sort key with NULLs last in both directions, then the id in the direction of
  the first key (ascending without sort keys). The keyset ``after`` cursor (sort values + id)
  becomes the lexicographic predicate of :func:`~crmkit.policies.query_eval.compare_positions`,
  NULL cursor values included; it is a row-value comparison when no key can be NULL.
- A keyword (搜索) is ``lower(field) LIKE '%text%'`` over each searchable field, ORed
  (:meth:`QueryCompiler.keyword`).
- Every value is a bound parameter and every custom key is bound too (PostgreSQL ``->``/``->>``
  with a parameter; SQLite ``json_extract`` with a bound path for plain ``[A-Za-z0-9_]`` keys and
  ``json_each(custom) WHERE key = :key`` for any other key), so no key or value can change the
  statement.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Hashable, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import (
    REAL,
    BigInteger,
    Boolean,
    ColumnElement,
    Connection,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    and_,
    bindparam,
    case,
    cast,
    exists,
    false,
    func,
    not_,
    or_,
    select,
    true,
    tuple_,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.sql.elements import True_, UnaryExpression

from crmkit.adapters.sqlalchemy.scope import (
    AnyMember,
    in_key_set,
    scope_clause,
    team_record_ids,
)
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition, FieldRef, Keyword, Operator, RecordQuery, SortKey
from crmkit.entities.scope import RecordScope

_PLAIN_KEY = re.compile(r"[A-Za-z0-9_]{1,200}")
"""Custom keys addressed with a ``json_extract`` path on SQLite; other keys use ``json_each``."""

_TEXT_KINDS = frozenset({ValueKind.TEXT, ValueKind.DATE, ValueKind.DATETIME})
_TEXT_OPERATORS = frozenset(
    {Operator.CONTAINS, Operator.NOT_CONTAINS, Operator.PREFIX, Operator.SUFFIX}
)


def _utc_text(value: datetime) -> str:
    """A datetime in the stored custom form: UTC, fixed width (``…T09:30:00.000000+00:00``)."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


class _Built:
    """Statements built for queries, by everything they depend on; the most recently used
    :data:`BUILT_STATEMENTS` are kept, shared by threads and connections.

    A statement built once is executed as is the next time: neither crmkit builds it nor
    SQLAlchemy works out its cache key again (both memoised on the object), which is most of
    the Python time of a repeated page or count. Keys hold the whole query (scope, conditions,
    sort, cursor, limit), so a kept statement is exactly the one that would be built."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        try:
            with self._lock:
                found = self._items.get(key)
                if found is not None:
                    self._items.move_to_end(key)
                    return found
        except TypeError:  # an unhashable value in the query: built each time
            return build()
        built = build()
        with self._lock:
            self._items[key] = built
            if len(self._items) > self._size:
                self._items.popitem(last=False)
        return built


_LIMIT = "crm_limit"
_EQUAL = "crm_equal"
"""The value :meth:`QueryCompiler.find_equal` looks for."""


def _after_key(position: int) -> str:
    """The parameter of a keyset cursor's value at ``position`` (its id last)."""
    return f"crm_after_{position}"


BUILT_STATEMENTS = 256
"""How many built page and count statements are kept (per process)."""
_BUILT = _Built(BUILT_STATEMENTS)


class QueryCompiler:
    """Compiles query specifications over one record table for one dialect.

    ``dialect`` is ``"postgresql"`` or ``"sqlite"``; ``record_kind`` selects the team rows that
    grant visibility.
    """

    def __init__(self, table: Table, record_kind: str, dialect: str) -> None:
        if dialect not in ("postgresql", "sqlite"):
            raise NotImplementedError(f"record queries need SQLite or PostgreSQL, not {dialect}")
        self.table = table
        self.record_kind = record_kind
        self.postgresql = dialect == "postgresql"

    # -- field values --------------------------------------------------------------------------

    def _column(self, ref: FieldRef) -> Any:
        if ref.key not in self.table.c:
            raise ValueError(f"{self.record_kind} has no system field {ref.key!r}")
        return self.table.c[ref.key]

    def _collated(self, expr: ColumnElement[Any]) -> ColumnElement[Any]:
        """Code-point comparison of text: ``COLLATE "C"`` on PostgreSQL, as is on SQLite."""
        return expr.collate("C") if self.postgresql else expr

    def _nullable(self, ref: FieldRef) -> bool:
        return not ref.system or bool(self._column(ref).nullable)

    def _raw(self, ref: FieldRef) -> ColumnElement[Any]:
        """The stored value as SQL sees it before typing: a column, or the custom JSON value as
        text/number/boolean (SQLite) or as text (PostgreSQL ``->>``); arrays as JSON text."""
        if ref.system:
            column: ColumnElement[Any] = self._column(ref)
            return column
        custom = self.table.c.custom
        if self.postgresql:
            text: ColumnElement[Any] = self._pg_json(ref).astext
            return text
        if _PLAIN_KEY.fullmatch(ref.key):
            path = bindparam(None, f'$."{ref.key}"', String())
            return func.json_extract(custom, path)
        entries = func.json_each(custom).table_valued("key", "value").alias("crm_custom_entry")
        return (
            select(entries.c.value)
            .where(entries.c.key == bindparam(None, ref.key, String()))
            .scalar_subquery()
        )

    def _pg_json(self, ref: FieldRef) -> Any:
        """PostgreSQL: the value as ``jsonb`` (``custom -> :key`` for a custom field)."""
        if ref.system:
            return type_coerce(self._column(ref), JSONB)
        return type_coerce(self.table.c.custom, JSONB)[bindparam(None, ref.key, String())]

    def value(self, ref: FieldRef) -> ColumnElement[Any]:
        """The comparable expression of a (non-LIST) field: equal values compare equal and the
        SQL order is the Python order of :func:`~crmkit.policies.query_eval.field_value`."""
        if ref.kind is ValueKind.LIST:
            raise ValueError(f"list field {ref.key!r} has no scalar value")
        raw = self._raw(ref)
        if ref.system:
            return self._collated(raw) if ref.kind is ValueKind.TEXT else raw
        if ref.kind in _TEXT_KINDS:
            return self._collated(type_coerce(raw, String()))
        if ref.kind is ValueKind.INTEGER:
            return cast(raw, BigInteger()) if self.postgresql else type_coerce(raw, BigInteger())
        if ref.kind is ValueKind.DECIMAL:
            return cast(raw, Numeric()) if self.postgresql else cast(raw, REAL())
        if ref.kind is ValueKind.BOOLEAN:
            return cast(raw, Boolean()) if self.postgresql else type_coerce(raw, Boolean())
        raise ValueError(f"unknown value kind {ref.kind!r}")  # pragma: no cover

    def arg(self, ref: FieldRef, value: Any, key: str | None = None) -> ColumnElement[Any]:
        """A bound parameter holding ``value`` in the form :meth:`value` compares against
        (named ``key`` when given, so an execution can bind another value to it: see
        :meth:`bound`)."""
        bound, type_ = self.bound(ref, value)
        param = bindparam(key, bound, type_=type_)
        if not ref.system and ref.kind is ValueKind.DECIMAL and not self.postgresql:
            # Cast by SQLite itself, exactly like the stored text, so equal decimals are equal.
            return cast(param, REAL())
        return param

    def bound(self, ref: FieldRef, value: Any) -> tuple[Any, Any]:
        """``value`` as :meth:`arg` binds it for ``ref``, and the parameter's type."""
        if ref.system:
            if ref.kind is ValueKind.INTEGER:  # a 32-bit column (version) meets any field integer
                return value, BigInteger()
            # Text parameters take the collation of the expression they meet (COLLATE "C").
            return value, self._column(ref).type
        kind = ref.kind
        if kind is ValueKind.DATETIME and isinstance(value, datetime):
            value = _utc_text(value)
        elif kind is ValueKind.DATE and isinstance(value, date):
            value = value.isoformat()
        if kind in _TEXT_KINDS or kind is ValueKind.LIST:
            return value, String()
        if kind is ValueKind.INTEGER:
            return value, BigInteger()
        if kind is ValueKind.BOOLEAN:
            return value, Boolean()
        if kind is ValueKind.DECIMAL:
            number = Decimal(value) if not isinstance(value, Decimal) else value
            if self.postgresql:
                return number, Numeric()
            return format(number, "f"), String()
        raise ValueError(f"unknown value kind {kind!r}")  # pragma: no cover

    # -- LIST fields ---------------------------------------------------------------------------

    def _has_any(self, ref: FieldRef, items: Sequence[str]) -> ColumnElement[bool]:
        """The list holds at least one of ``items`` (never NULL; FALSE for a missing list)."""
        if not items:
            return false()
        if self.postgresql:
            target = self._pg_json(ref)
            if len(items) == 1:
                test = target.has_key(bindparam(None, items[0], String()))
            else:
                test = target.has_any(bindparam(None, list(items), ARRAY(String())))
            return and_(target.is_not(None), test)
        if ref.system:
            elements = func.json_each(self._column(ref))
        elif _PLAIN_KEY.fullmatch(ref.key):
            elements = func.json_each(
                self.table.c.custom, bindparam(None, f'$."{ref.key}"', String())
            )
        else:
            entries = func.json_each(self.table.c.custom).table_valued("key", "value", "type")
            entries = entries.alias("crm_custom_entry")
            array_text = (
                select(case((entries.c.type == "array", entries.c.value), else_="[]"))
                .where(entries.c.key == bindparam(None, ref.key, String()))
                .scalar_subquery()
            )
            elements = func.json_each(array_text)
        element = elements.table_valued("value").alias("crm_list_item")
        member = (
            element.c.value == items[0] if len(items) == 1 else element.c.value.in_(list(items))
        )
        return exists().where(member)

    def _list_condition(self, ref: FieldRef, op: Operator, arg: Any) -> ColumnElement[bool]:
        if op is Operator.EQ:
            return self._has_any(ref, [arg])
        if op is Operator.NE:
            return not_(self._has_any(ref, [arg]))
        if op is Operator.IN:
            return self._has_any(ref, list(dict.fromkeys(arg)))
        raise ValueError(f"operator {op} does not apply to lists")

    # -- conditions ----------------------------------------------------------------------------

    def is_empty(self, ref: FieldRef) -> ColumnElement[bool]:
        """NULL, ``""`` (TEXT) or ``[]`` (LIST); never NULL itself, so it can be negated."""
        if ref.kind is ValueKind.LIST:
            text = self._raw(ref)
            if ref.system and self.postgresql:
                text = cast(text, String())
            return or_(text.is_(None), type_coerce(text, String()).in_(["", "[]"]))
        expr = self.value(ref)
        if ref.kind is ValueKind.TEXT:
            return or_(expr.is_(None), expr == "")
        return expr.is_(None)

    def _text_test(self, expr: ColumnElement[Any], op: Operator, text: str) -> ColumnElement[bool]:
        """Case-sensitive substring / prefix / suffix test of a non-NULL text."""
        if op is Operator.CONTAINS:
            where = func.strpos(expr, text) if self.postgresql else func.instr(expr, text)
            return where > 0
        size = bindparam(None, len(text), Integer())
        wanted = bindparam(None, text, String())
        if op is Operator.PREFIX:
            return func.substr(expr, 1, size) == wanted
        length = func.length(expr)
        return and_(length >= size, func.substr(expr, length - size + 1) == wanted)

    def condition(self, condition: Condition) -> ColumnElement[bool]:
        """One condition with the semantics of :func:`~crmkit.policies.query_eval.matches`."""
        ref, op, arg = condition.field, condition.op, condition.value
        if op is Operator.IS_EMPTY:
            return self.is_empty(ref)
        if op is Operator.NOT_EMPTY:
            return not_(self.is_empty(ref))
        if ref.kind is ValueKind.LIST:
            return self._list_condition(ref, op, arg)
        expr = self.value(ref)
        if op in _TEXT_OPERATORS:
            if ref.kind is not ValueKind.TEXT:
                raise ValueError(f"operator {op} applies to text only, not {ref.kind}")
            if op is Operator.NOT_CONTAINS:
                if arg == "":
                    return expr.is_(None)
                return or_(expr.is_(None), not_(self._text_test(expr, Operator.CONTAINS, arg)))
            if arg == "":
                return expr.is_not(None)
            return and_(expr.is_not(None), self._text_test(expr, op, arg))
        if op is Operator.EQ:
            return false() if arg is None else expr == self.arg(ref, arg)
        if op is Operator.NE:
            return true() if arg is None else or_(expr.is_(None), expr != self.arg(ref, arg))
        if op is Operator.IN:
            wanted = [v for v in dict.fromkeys(arg) if v is not None]
            if not wanted:
                return false()
            if not ref.system and ref.kind is ValueKind.DECIMAL and not self.postgresql:
                return expr.in_([self.arg(ref, v) for v in wanted])  # each cast like the column
            # One expanding parameter: a statement of any length is one cached compilation.
            bound = [self.bound(ref, v) for v in wanted]
            return expr.in_(bindparam(None, [b for b, _ in bound], type_=bound[0][1],
                                      expanding=True))
        if op is Operator.GT:
            return expr > self.arg(ref, arg)
        if op is Operator.GE:
            return expr >= self.arg(ref, arg)
        if op is Operator.LT:
            return expr < self.arg(ref, arg)
        if op is Operator.LE:
            return expr <= self.arg(ref, arg)
        if op is Operator.BETWEEN:
            low, high = arg
            # Not SQL BETWEEN: PostgreSQL's grammar rejects a COLLATE'd lower bound there.
            return and_(expr >= self.arg(ref, low), expr <= self.arg(ref, high))
        raise ValueError(f"unknown operator {op}")

    def equal(self, ref: FieldRef, value: Any) -> ColumnElement[bool]:
        """``field_value(record, ref) == value`` (duplicate checks): None finds empty (NULL)
        values, a LIST equals the same JSON array."""
        if value is None:
            if ref.kind is ValueKind.LIST:
                return self._raw(ref).is_(None)
            return self.value(ref).is_(None)
        if ref.kind is ValueKind.LIST:
            document = json.dumps(list(value))
            if self.postgresql:
                equal: ColumnElement[bool] = self._pg_json(ref) == cast(
                    bindparam(None, document, String()), JSONB
                )
                return equal
            raw = self._raw(ref)
            return func.json(raw) == func.json(bindparam(None, document, String()))
        return self.value(ref) == self.arg(ref, value)

    # -- order and keyset ----------------------------------------------------------------------

    def _id(self) -> ColumnElement[Any]:
        return self._collated(self.table.c.id)

    def _id_descending(self, sort: Sequence[SortKey]) -> bool:
        return bool(sort) and sort[0].descending

    def order_by(self, sort: Sequence[SortKey]) -> list[UnaryExpression[Any]]:
        """Each key with NULLs last (either direction), then the id in the first key's
        direction."""
        terms: list[UnaryExpression[Any]] = []
        for key in sort:
            expr = self.value(key.field)
            term = expr.desc() if key.descending else expr.asc()
            terms.append(term.nulls_last() if self._nullable(key.field) else term)
        id_col = self._id()
        terms.append(id_col.desc() if self._id_descending(sort) else id_col.asc())
        return terms

    def after(self, sort: Sequence[SortKey], cursor: Sequence[Any]) -> ColumnElement[bool]:
        """Rows strictly after ``cursor`` (sort values + id) in :meth:`order_by` order —
        ``compare_positions(row, cursor, sort) > 0`` of the reference interpreter."""
        if len(cursor) != len(sort) + 1:
            raise ValueError("a cursor holds one value per sort key and the id")
        id_col = self._id()
        last_id = bindparam(_after_key(len(sort)), cursor[-1], type_=self.table.c.id.type)
        descending = self._id_descending(sort)
        plain = all(
            not self._nullable(k.field) and k.descending == descending for k in sort
        )
        if plain and all(v is not None for v in cursor[:-1]):
            left = tuple_(*(self.value(k.field) for k in sort), id_col)
            right = tuple_(*(self.arg(k.field, v, _after_key(i))
                             for i, (k, v) in enumerate(zip(sort, cursor, strict=False))),
                           last_id)
            return left < right if descending else left > right
        predicate: ColumnElement[bool] = id_col < last_id if descending else id_col > last_id
        for i, (key, bound) in reversed(list(enumerate(zip(sort, cursor, strict=False)))):
            expr = self.value(key.field)
            if bound is None:  # NULLs come last: only other NULLs tie, nothing is beyond
                predicate = and_(expr.is_(None), predicate)
                continue
            arg = self.arg(key.field, bound, _after_key(i))
            beyond = expr < arg if key.descending else expr > arg
            if self._nullable(key.field):
                beyond = or_(expr.is_(None), beyond)
            predicate = or_(beyond, and_(expr == arg, predicate))
        return predicate

    # -- statements ----------------------------------------------------------------------------

    def team_ids(self, conn: Connection, scope: RecordScope) -> frozenset[str] | None:
        """What :meth:`select` and :meth:`count` take as ``team_ids`` for ``scope``.

        PostgreSQL: the ids of the records of this kind on whose team the viewer is, read with
        one indexed SELECT (:func:`~crmkit.adapters.sqlalchemy.scope.team_record_ids`; None
        when there are too many to list), so the planner sees ``id IN (<ids>)`` with exact
        estimates and ORs it with the owner test in a ``BitmapOr``. SQLite: None — its planner
        runs an uncorrelated ``id IN (SELECT …)`` once and searches the primary key with the
        result, as fast as a list (``bench/README.md``), and the page stays one statement.
        Read in the transaction of the statement they go into."""
        if scope.all_records or scope.team_user_id is None:
            return frozenset()
        if not self.postgresql:
            return None
        return team_record_ids(conn, self.record_kind, scope.team_user_id)

    def where(
        self, query: RecordQuery, team_ids: Collection[str] | None = None,
        sorted_page: bool = False,
    ) -> list[ColumnElement[bool]]:
        """Scope ∧ conditions (no cursor); terms that are always TRUE (an ALL scope, ``ne``
        nothing) are left out, so an unfiltered ALL query has no WHERE clause at all (SQLite
        counts such a table from its smallest index, but not ``WHERE 1 = 1``)."""
        table = self.table
        clauses: list[ColumnElement[bool]] = []
        if not query.scope.all_records:
            clauses.append(
                scope_clause(
                    query.scope,
                    owner_col=table.c.owner_id,
                    record_id_col=table.c.id,
                    record_kind=self.record_kind,
                    pool_col=table.c.pool_id if "pool_id" in table.c else None,
                    team_record_ids=team_ids,
                    sorted_page=sorted_page,
                )
            )
        clauses.extend(self.condition(c) for c in query.conditions)
        if query.keyword is not None:
            clauses.append(self.keyword(query.keyword))
        return [c for c in clauses if not isinstance(c, True_)]

    def keyword(self, keyword: Keyword) -> ColumnElement[bool]:
        """搜索: ``lower(f1) LIKE :pattern OR lower(f2) LIKE :pattern …`` with the folded text
        between ``%`` (its ``%``, ``_`` and ``\\`` escaped). ``lower()`` lowers ``A``–``Z``
        only under SQLite and under the columns' ``"C"`` collation on PostgreSQL, exactly
        :func:`~crmkit.entities.query.fold_latin`; the expression is the one the trigram
        indexes of :func:`~crmkit.adapters.sqlalchemy.tables.search_index` hold."""
        escaped = (keyword.text.replace("\\", "\\\\").replace("%", "\\%")
                   .replace("_", "\\_"))
        pattern = bindparam(None, f"%{escaped}%", String())
        tests = [func.lower(self._column(ref)).like(pattern, escape="\\")
                 for ref in keyword.fields]
        if not tests:
            return false()
        return tests[0] if len(tests) == 1 else or_(*tests)

    def _key(self, what: str, query: RecordQuery, team_ids: Collection[str] | None
             ) -> Hashable:
        teams = None if team_ids is None else frozenset(team_ids)
        # The table by identity (two storages may each generate a table of one name); the
        # kept statement refers to it, so its id is not reused while the statement is kept.
        return (what, id(self.table), self.record_kind, self.postgresql, query, teams)

    def select(self, query: RecordQuery, team_ids: Collection[str] | None = None) -> Select[Any]:
        """The page: scope ∧ conditions ∧ after-cursor, sorted, limited. ``team_ids``: see
        :meth:`team_ids` (None: the team grant is tested in the statement itself)."""
        statement, parameters = self.page(query, team_ids)
        return statement.params(parameters)

    def page(self, query: RecordQuery, team_ids: Collection[str] | None = None
             ) -> tuple[Select[Any], dict[str, Any]]:
        """:meth:`select` as a statement built once per query *shape* (:class:`_Built`: the
        query without its cursor values and page size) and the parameters that bind this
        query's cursor values and page size to it: paging on, the statement is reused and only
        the values change."""
        after = query.after
        shape = attrs.evolve(query, limit=0, after=None if after is None else
                             tuple(v is None for v in after))
        built: Select[Any] = _BUILT.get(self._key("select", shape, team_ids),
                                        lambda: self._select(query, team_ids))
        parameters: dict[str, Any] = {_LIMIT: query.limit}
        if after is not None:
            for i, (key, value) in enumerate(zip(query.sort, after, strict=False)):
                if value is not None:
                    parameters[_after_key(i)] = self.bound(key.field, value)[0]
            parameters[_after_key(len(query.sort))] = after[-1]
        return built, parameters

    def _select(self, query: RecordQuery, team_ids: Collection[str] | None) -> Select[Any]:
        clauses = self.where(query, team_ids, sorted_page=True)
        if query.after is not None:
            clauses.append(self.after(query.sort, query.after))
        return (
            select(self.table)
            .where(*clauses)
            .order_by(*self.order_by(query.sort))
            .limit(bindparam(_LIMIT, query.limit, type_=Integer()))
        )

    def count(self, query: RecordQuery, team_ids: Collection[str] | None = None) -> Select[Any]:
        """How many rows scope ∧ conditions admit (sort, cursor and limit ignored).

        A scope of several grants (owners OR team OR pool) is counted as disjoint parts added
        up — owned rows, plus team rows not owned by a visible owner, … — each part a plain
        indexed search (an index-only count when there are no conditions), instead of one OR
        whose matches the database must first collect and de-duplicate (2–4× slower in
        ``bench/bench_scopes.py``). Built once per query (:class:`_Built`)."""
        built: Select[Any] = _BUILT.get(self._key("count", query, team_ids),
                                        lambda: self._count(query, team_ids))
        return built

    def _count(self, query: RecordQuery, team_ids: Collection[str] | None) -> Select[Any]:
        clauses = self.where(query, team_ids)
        scope = clauses[0] if clauses and not query.scope.all_records else None
        if not isinstance(scope, AnyMember):
            return self._counted(clauses, query.total_limit)
        rest = clauses[1:]
        parts = [
            self._counted([term, *(~earlier for earlier in scope.terms[:n]), *rest],
                          query.total_limit).scalar_subquery()
            for n, term in enumerate(scope.terms)
        ]
        total: ColumnElement[Any] = parts[0]
        for part in parts[1:]:
            total = total + part
        if query.total_limit is not None:  # each part stops past the cap: so does their sum
            past = bindparam(None, query.total_limit + 1, BigInteger())
            total = case((total > past, past), else_=total)
        return select(total)

    def _counted(self, clauses: Sequence[ColumnElement[bool]], cap: int | None
                 ) -> Select[Any]:
        """``count(*)`` of the rows ``clauses`` admit; with ``cap`` it
        stops after ``cap + 1`` rows (``count(*)`` over a ``LIMIT``ed subquery), so a capped
        total costs at most that many index entries or rows, however many match. Disjoint
        parts capped alike add up past the cap exactly when the whole does."""
        if cap is None:
            return select(func.count()).select_from(self.table).where(*clauses)
        rows = select(self.table.c.id).where(*clauses).limit(cap + 1).subquery("crm_counted")
        return select(func.count()).select_from(rows)

    def find_equal(self, ref: FieldRef, value: Any, limit: int
                   ) -> tuple[Select[Any], dict[str, Any]]:
        """Rows whose ``ref`` equals ``value``, any owner, by id: the statement (built once per
        field, as :meth:`page`, when ``value`` is a plain one — a generated number is looked up
        on every creation) and its parameters."""
        if value is None or ref.kind is ValueKind.LIST:
            return (select(self.table).where(self.equal(ref, value))
                    .order_by(self._id().asc()).limit(limit)), {}
        key = ("find_equal", id(self.table), self.record_kind, self.postgresql, ref)
        built: Select[Any] = _BUILT.get(key, lambda: (
            select(self.table).where(self.value(ref) == self.arg(ref, value, _EQUAL))
            .order_by(self._id().asc()).limit(bindparam(_LIMIT, limit, type_=Integer()))))
        return built, {_EQUAL: self.bound(ref, value)[0], _LIMIT: limit}

    def with_ids(self, record_ids: Sequence[str]) -> ColumnElement[bool]:
        """``id`` ∈ ``record_ids`` as one bound list (any size)."""
        return in_key_set(self.table.c.id, record_ids)
