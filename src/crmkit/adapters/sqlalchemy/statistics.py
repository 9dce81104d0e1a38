"""The SQL interpreter of :class:`~crmkit.entities.statistics.Tally`: one aggregate statement.

Each measure of :func:`crmkit.policies.statistics.fact` becomes a source — its table, owner
column, time basis, amount and filter — and a tally becomes::

    SELECT bucket, key, count(*), sum(amount) FROM (
        SELECT CASE WHEN t < :t1 THEN 0 WHEN t < :t2 THEN 1 … ELSE n END AS bucket, … AS key,
               amount
        FROM table WHERE owner ∈ :owners AND :t0 <= t AND t < :te AND <measure's filter>)
    GROUP BY bucket, key

Buckets are bounds compared with the stored values (instants against local midnights, days
against days), so no per-row timezone arithmetic runs in the database and every index on
(owner, time) serves. A contract's deal day is ``order_date`` or, when none, ``created_at``
against the instants of the same buckets. Sums are exact: PostgreSQL adds ``NUMERIC``; SQLite,
which keeps ``NUMERIC`` as REAL, adds whole cents as integers.

A statement is built once per :class:`Shape` (cached) and runs with the spec's bounds, owners
and stage group bound by name: a dashboard call builds no SQL, it only binds values.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs
from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    func,
    literal_column,
    null,
    or_,
    select,
    true,
)

from crmkit.adapters.sqlalchemy.scope import INLINE_LIMIT, IdList, member_of
from crmkit.adapters.sqlalchemy.tables import RECORD_KIND_TABLES, UTCDateTime, followups
from crmkit.entities.contracts import EFFECTIVE
from crmkit.entities.sales import OpportunityStatus
from crmkit.entities.statistics import Bucket, GroupBy, Measure, Tally, TallyRow
from crmkit.policies.statistics import CENT, MEASURE_KIND, ZERO, sort_rows


@attrs.frozen
class Shape:
    """What a statement depends on beyond its parameter values: the measure, how many buckets
    (and whether the first is open), the grouping, the stage-group filter, the owner-set form
    (expanding ``IN`` or one array/JSON parameter) and the dialect. Statements are built once
    per shape and run with the spec's values bound by name."""

    measure: Measure
    buckets: int
    open_start: bool
    by: GroupBy
    staged: bool
    many_owners: bool
    sqlite: bool


@attrs.frozen
class _Basis:
    """A time basis: ``column`` compared with the buckets' bounds, days (``dated``) or
    instants; parameters ``<prefix><i>`` (start of bucket i) and ``<prefix>e`` (the end)."""

    column: ColumnElement[Any]
    dated: bool

    @property
    def prefix(self) -> str:
        return "d" if self.dated else "t"

    def _bound(self, name: str) -> ColumnElement[Any]:
        return bindparam(f"{self.prefix}{name}", type_=Date() if self.dated else UTCDateTime())

    def within(self, shape: Shape) -> ColumnElement[bool]:
        upper = self.column < self._bound("e")
        return upper if shape.open_start else and_(self.column >= self._bound("0"), upper)

    def index(self, shape: Shape) -> ColumnElement[Any]:
        """The bucket index of a row already :meth:`within` the buckets."""
        if shape.buckets == 1:
            return literal_column("0", Integer)
        whens: list[tuple[ColumnElement[bool], ColumnElement[Any]]] = [
            (self.column < self._bound(str(index)), literal_column(str(index - 1)))
            for index in range(1, shape.buckets)]
        return case(*whens, else_=literal_column(str(shape.buckets - 1)))

    def values(self, buckets: Sequence[Bucket]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for index, span in enumerate(buckets):
            start = span.first_day if self.dated else span.start_at
            if start is not None:
                found[f"{self.prefix}{index}"] = start
        found[f"{self.prefix}e"] = buckets[-1].end_day if self.dated else buckets[-1].end_at
        return found


@attrs.frozen
class _Source:
    table: Table
    owner: ColumnElement[Any]
    bases: tuple[tuple[ColumnElement[bool], _Basis], ...]
    """(guard, basis) pairs: a row is timed by the first basis whose guard holds."""
    amount: ColumnElement[Any] | None = None
    condition: ColumnElement[bool] | None = None

    def within(self, shape: Shape) -> ColumnElement[bool]:
        return or_(*(and_(guard, basis.within(shape)) for guard, basis in self.bases))

    def index(self, shape: Shape) -> ColumnElement[Any]:
        if len(self.bases) == 1:
            return self.bases[0][1].index(shape)
        return case(*((guard, basis.index(shape)) for guard, basis in self.bases[:-1]),
                    else_=self.bases[-1][1].index(shape))

    def values(self, buckets: Sequence[Bucket]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        for _, basis in self.bases:
            found.update(basis.values(buckets))
        return found


def _effective(table: Table) -> ColumnElement[bool]:
    return table.c.approval_status.in_(sorted(status.value for status in EFFECTIVE))


@functools.cache
def _source(measure: Measure) -> _Source:
    """The SQL form of :func:`crmkit.policies.statistics.fact` for ``measure``."""
    always = true()
    if measure is Measure.FOLLOWUPS:
        return _Source(followups, followups.c.author_id,
                       ((always, _Basis(followups.c.at, False)),))
    table = RECORD_KIND_TABLES[MEASURE_KIND[measure]]
    c = table.c
    if measure in (Measure.CUSTOMERS, Measure.CONTACTS):
        return _Source(table, c.owner_id, ((always, _Basis(c.created_at, False)),))
    if measure is Measure.OPPORTUNITIES:
        return _Source(table, c.owner_id, ((always, _Basis(c.created_at, False)),), c.amount)
    if measure is Measure.CONTRACTS:
        return _Source(table, c.owner_id, (
            (c.order_date.is_not(None), _Basis(c.order_date, True)),
            (c.order_date.is_(None), _Basis(c.created_at, False)),
        ), c.amount, _effective(table))
    if measure is Measure.PAYMENTS:
        return _Source(table, c.owner_id, ((c.paid_on.is_not(None), _Basis(c.paid_on, True)),),
                       c.amount, _effective(table))
    if measure is Measure.DUE:
        return _Source(table, c.owner_id, ((always, _Basis(c.next_contact_at, False)),))
    received = func.coalesce(c.received_at, c.created_at, type_=UTCDateTime())
    base = case((and_(c.last_followup_at.is_not(None), c.last_followup_at > received),
                 c.last_followup_at), else_=received)
    return _Source(table, c.owner_id, ((always, _Basis(base, False)),))


def _key(by: GroupBy, source: _Source) -> ColumnElement[Any]:
    if by is GroupBy.OWNER:
        return source.owner
    if by is GroupBy.STAGE:
        c = source.table.c
        return case((c.status == OpportunityStatus.IN_PROGRESS.value, c.stage_id),
                    else_=c.status)
    return null()


def _amount(source: _Source, shape: Shape) -> ColumnElement[Any]:
    if source.amount is None:
        return literal_column("0", Integer)
    if shape.sqlite:  # whole cents: exact integer sums of REAL-stored NUMERIC
        return cast(func.round(source.amount * 100), Integer)
    return source.amount


def _where(source: _Source, shape: Shape) -> list[ColumnElement[bool]]:
    owners = (member_of(source.owner, bindparam("owners", type_=IdList())) if shape.many_owners
              else source.owner.in_(bindparam("owners", expanding=True)))
    where = [owners, source.within(shape)]
    if source.condition is not None:
        where.append(source.condition)
    if shape.staged:
        where.append(source.table.c.stage_group_id == bindparam("stage_group_id"))
    return where


@functools.lru_cache(maxsize=512)
def tally_statement(shape: Shape) -> Select[Any]:
    """The aggregate statement of a shape (rows: bucket, key, count, sum)."""
    source = _source(shape.measure)
    rows = select(
        source.index(shape).label("bucket"),
        _key(shape.by, source).label("key"),
        _amount(source, shape).label("amount"),
    ).where(*_where(source, shape)).subquery()
    return (select(rows.c.bucket, rows.c.key, func.count(), func.sum(rows.c.amount))
            .group_by(rows.c.bucket, rows.c.key))


@functools.lru_cache(maxsize=512)
def ids_statement(shape: Shape, paged: bool) -> Select[Any]:
    """Ids of the rows a shape counts, ascending, after ``:after`` when ``paged``, at most
    ``:limit``."""
    source = _source(shape.measure)
    id_column = source.table.c.id
    where = _where(source, shape)
    if paged:
        where.append(id_column > bindparam("after"))
    return (select(id_column).where(*where).order_by(id_column)
            .limit(bindparam("limit", type_=Integer)))


class SqlStatistics:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sqlite = conn.dialect.name == "sqlite"

    def _shape(self, spec: Tally) -> tuple[Shape, dict[str, Any]]:
        owners = sorted(spec.owner_ids)
        shape = Shape(spec.measure, len(spec.buckets), spec.buckets[0].first_day is None,
                      spec.by, spec.stage_group_id is not None, len(owners) > INLINE_LIMIT,
                      self._sqlite)
        values = {"owners": owners, **_source(spec.measure).values(spec.buckets)}
        if spec.stage_group_id is not None:
            values["stage_group_id"] = spec.stage_group_id
        return shape, values

    def tally(self, spec: Tally) -> list[TallyRow]:
        if not spec.owner_ids:
            return []
        shape, values = self._shape(spec)
        return sort_rows(
            TallyRow(int(bucket), key, int(count), self._decimal(total))
            for bucket, key, count, total in self._conn.execute(tally_statement(shape), values))

    def _decimal(self, total: Any) -> Decimal:
        if total is None:
            return ZERO
        if self._sqlite:
            return (Decimal(int(total)) / 100).quantize(CENT)
        return Decimal(total).quantize(CENT)

    def ids(self, spec: Tally, *, after: str | None = None, limit: int = 100) -> list[str]:
        if not spec.owner_ids:
            return []
        shape, values = self._shape(spec)
        values["limit"] = limit
        if after is not None:
            values["after"] = after
        statement = ids_statement(shape, after is not None)
        return list(self._conn.execute(statement, values).scalars())
