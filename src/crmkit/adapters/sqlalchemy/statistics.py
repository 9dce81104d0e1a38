"""The SQL interpreter of :class:`~crmkit.entities.statistics.Tally`: one aggregate statement.

Each measure of :func:`crmkit.policies.statistics.fact` becomes a source — its table, owner
column, time basis, amount and filter — and a tally becomes::

    SELECT bucket, key, count(*), sum(amount) FROM (
        SELECT CASE WHEN t < :t1 THEN 0 WHEN t < :t2 THEN 1 … ELSE n END AS bucket, … AS key,
               amount
        FROM table WHERE owner ∈ :owners AND :t0 <= t AND t < :te AND <measure's filter>)
    GROUP BY bucket, key

Contract lines (``products``) are the rows of the contract's JSON ``lines`` (``json_each`` on
SQLite, ``jsonb_array_elements`` on PostgreSQL) joined to it; payment plans (``planned``,
``overdue``) are joined to their contract, with what was received against them as a correlated
sum of approved payments.

A campaign (:attr:`GroupBy.CAMPAIGN`, ``campaign_ids``) is a lead's or customer's own
``campaign_id``; the records of a customer read their customer's — as key a correlated lookup
by primary key, as filter ``customer_id IN (SELECT id FROM crm_customers WHERE campaign_id IN
…)`` (both served by the campaign index).

Buckets are bounds compared with the stored values (instants against local midnights, days
against days), so no per-row timezone arithmetic runs in the database and every index on
(owner, time) serves. A contract's deal day is ``order_date`` or, when none, ``created_at``
against the instants of the same buckets. Sums are exact: PostgreSQL adds ``NUMERIC``; SQLite,
which keeps ``NUMERIC`` as REAL, adds whole cents (quantities: whole 1/10,000) as integers.

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
    Float,
    FromClause,
    Integer,
    Numeric,
    Select,
    Table,
    and_,
    bindparam,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB

from crmkit.adapters.sqlalchemy.scope import INLINE_LIMIT, IdList, member_of
from crmkit.adapters.sqlalchemy.tables import (
    RECORD_KIND_TABLES,
    UTCDateTime,
    contracts,
    customers,
    followups,
    leads,
    payment_plans,
    payments,
)
from crmkit.entities.contracts import EFFECTIVE
from crmkit.entities.sales import OpportunityStatus
from crmkit.entities.statistics import ATTRIBUTED, Bucket, GroupBy, Measure, Tally, TallyRow
from crmkit.policies.statistics import CENT, MEASURE_KIND, REGIONS, ZERO, sort_rows

_QUANTUM = 10_000
"""SQLite sums quantities (at most 4 places) in whole 1/10,000."""


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
    then: GroupBy = GroupBy.NONE
    all_owners: bool = False
    """No owner filter (``owner_ids`` None)."""
    campaigns: bool = False
    """Only records of the ``:campaigns`` bound."""


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
    """Exact on the dialect: NUMERIC on PostgreSQL, whole cents on SQLite."""
    condition: ColumnElement[bool] | None = None
    joined: FromClause | None = None
    """What the rows are read from when more than ``table``."""
    keys: tuple[tuple[GroupBy, ColumnElement[Any]], ...] = ()
    """Group keys beyond the owner (see :class:`GroupBy`)."""
    quantity: ColumnElement[Any] | None = None
    """Exact on the dialect: NUMERIC, or whole 1/10,000 on SQLite."""
    campaign: ColumnElement[Any] | None = None
    """The record's own campaign column (leads, customers)."""
    customer: ColumnElement[Any] | None = None
    """The record's customer, whose campaign it counts for (contacts, opportunities …)."""

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


def _exact(value: ColumnElement[Any], sqlite: bool, scale: int = 100) -> ColumnElement[Any]:
    """A decimal as the dialect sums it exactly: NUMERIC, or whole ``1/scale`` on SQLite."""
    if sqlite:
        number = value if isinstance(value.type, Numeric) else cast(value, Float)
        return cast(func.round(number * scale), Integer)
    return value if isinstance(value.type, Numeric) else cast(value, Numeric)


def _region(address: ColumnElement[Any]) -> ColumnElement[Any]:
    return case(*((func.substr(address, 1, len(region)) == literal(region), literal(region))
                  for region in REGIONS), else_=null())


def _sold(sqlite: bool) -> _Source:
    """Each line of an approved contract (the JSON ``lines`` as rows), by the deal day."""
    contract = _source(Measure.CONTRACTS, sqlite)
    if sqlite:
        line = func.json_each(contracts.c.lines).table_valued("value").alias("line")

        def field(name: str) -> ColumnElement[Any]:
            return func.json_extract(line.c.value, f"$.{name}")
    else:
        line = func.jsonb_array_elements(contracts.c.lines).table_valued("value").alias("line")

        def field(name: str) -> ColumnElement[Any]:
            text: ColumnElement[Any] = type_coerce(line.c.value, JSONB)[name].astext
            return text
    return attrs.evolve(contract, amount=_exact(field("subtotal"), sqlite),
                        quantity=_exact(field("quantity"), sqlite, _QUANTUM),
                        joined=contracts.join(line, true()),
                        keys=((GroupBy.PRODUCT, field("product_id")),))


def _plans(overdue: bool, sqlite: bool) -> _Source:
    """Payment plans not voided of approved contracts, owned by the contract's owner; overdue:
    due before ``:as_of`` and not fully received, for what is still owed."""
    p = payment_plans
    condition = and_(p.c.voided == false(), _effective(contracts))
    amount = _exact(p.c.amount, sqlite)
    if overdue:
        received = func.coalesce(
            select(func.sum(_exact(payments.c.amount, sqlite)))
            .where(payments.c.plan_id == p.c.id, _effective(payments))
            .scalar_subquery(), 0)
        condition = and_(condition, p.c.planned_date < bindparam("as_of", type_=Date()),
                         received < amount)
        amount = amount - received
    return _Source(p, contracts.c.owner_id, ((true(), _Basis(p.c.planned_date, True)),),
                   amount, condition, p.join(contracts, contracts.c.id == p.c.contract_id))


@functools.cache
def _source(measure: Measure, sqlite: bool) -> _Source:
    """The SQL form of :func:`crmkit.policies.statistics.fact` for ``measure``, and of
    :func:`crmkit.policies.statistics.campaign_of` for the measures whose records count for a
    campaign (:data:`~crmkit.entities.statistics.ATTRIBUTED`)."""
    found = _measured(measure, sqlite)
    if measure not in ATTRIBUTED:
        return found
    c = found.table.c
    found = (attrs.evolve(found, campaign=c.campaign_id) if "campaign_id" in c
             else attrs.evolve(found, customer=c.customer_id))
    return attrs.evolve(found, keys=(*found.keys, (GroupBy.CAMPAIGN, _campaign_key(found))))


def _campaign_key(source: _Source) -> ColumnElement[Any]:
    """The campaign a row counts for: its own, or its customer's (by primary key)."""
    if source.campaign is not None:
        return source.campaign
    return (select(customers.c.campaign_id).where(customers.c.id == source.customer)
            .scalar_subquery())


def _of_campaigns(source: _Source) -> ColumnElement[bool]:
    """Rows attributed to one of the ``:campaigns`` bound."""
    wanted: Any = bindparam("campaigns", expanding=True)
    if source.campaign is not None:
        return source.campaign.in_(wanted)
    return source.customer.in_(select(customers.c.id).where(
        customers.c.campaign_id.in_(wanted))) if source.customer is not None else false()


def _measured(measure: Measure, sqlite: bool) -> _Source:
    """Table, owner, time, amount, condition and keys of ``measure``."""
    always = true()
    if measure is Measure.FOLLOWUPS:
        return _Source(followups, followups.c.author_id,
                       ((always, _Basis(followups.c.at, False)),),
                       keys=((GroupBy.METHOD, followups.c.method),))
    if measure is Measure.PRODUCTS:
        return _sold(sqlite)
    if measure in (Measure.PLANNED, Measure.OVERDUE):
        return _plans(measure is Measure.OVERDUE, sqlite)
    if measure is Measure.LEADS:
        outcome = case((leads.c.converted == true(), literal("converted")),
                       else_=literal("open"))
        return _Source(leads, leads.c.owner_id, ((always, _Basis(leads.c.created_at, False)),),
                       keys=((GroupBy.OUTCOME, outcome),))
    if measure is Measure.CONVERTED_LEADS:
        return _Source(leads, leads.c.owner_id,
                       ((always, _Basis(leads.c.converted_at, False)),),
                       condition=and_(leads.c.converted == true(),
                                      leads.c.converted_at.is_not(None)))
    table = RECORD_KIND_TABLES[MEASURE_KIND[measure]]
    c = table.c
    if measure is Measure.CUSTOMERS:
        return _Source(table, c.owner_id, ((always, _Basis(c.created_at, False)),),
                       keys=((GroupBy.SOURCE, c.source), (GroupBy.LEVEL, c.level),
                             (GroupBy.INDUSTRY, c.industry), (GroupBy.REGION, _region(c.address))))
    if measure is Measure.CONTACTS:
        return _Source(table, c.owner_id, ((always, _Basis(c.created_at, False)),))
    if measure is Measure.OPPORTUNITIES:
        return _Source(table, c.owner_id, ((always, _Basis(c.created_at, False)),),
                       _exact(c.amount, sqlite), keys=(
                           (GroupBy.STAGE, case(
                               (c.status == OpportunityStatus.IN_PROGRESS.value, c.stage_id),
                               else_=c.status)),
                           (GroupBy.OUTCOME, c.status)))
    if measure is Measure.CONTRACTS:
        return _Source(table, c.owner_id, (
            (c.order_date.is_not(None), _Basis(c.order_date, True)),
            (c.order_date.is_(None), _Basis(c.created_at, False)),
        ), _exact(c.amount, sqlite), _effective(table))
    if measure is Measure.PAYMENTS:
        return _Source(table, c.owner_id, ((c.paid_on.is_not(None), _Basis(c.paid_on, True)),),
                       _exact(c.amount, sqlite), _effective(table))
    if measure is Measure.DUE:
        return _Source(table, c.owner_id, ((always, _Basis(c.next_contact_at, False)),))
    received = func.coalesce(c.received_at, c.created_at, type_=UTCDateTime())
    base = case((and_(c.last_followup_at.is_not(None), c.last_followup_at > received),
                 c.last_followup_at), else_=received)
    return _Source(table, c.owner_id, ((always, _Basis(base, False)),))


def _key(by: GroupBy, source: _Source) -> ColumnElement[Any]:
    if by is GroupBy.NONE:
        return null()
    if by is GroupBy.OWNER:
        return source.owner
    keys: dict[GroupBy, ColumnElement[Any]] = dict(source.keys)
    return keys[by]


def _summed(value: ColumnElement[Any] | None) -> ColumnElement[Any]:
    return literal_column("0", Integer) if value is None else value


def _where(source: _Source, shape: Shape) -> list[ColumnElement[bool]]:
    where = [source.within(shape)]
    if not shape.all_owners:
        where.append(member_of(source.owner, bindparam("owners", type_=IdList()))
                     if shape.many_owners
                     else source.owner.in_(bindparam("owners", expanding=True)))
    if source.condition is not None:
        where.append(source.condition)
    if shape.campaigns:
        where.append(_of_campaigns(source))
    if shape.staged:
        where.append(source.table.c.stage_group_id == bindparam("stage_group_id"))
    return where


@functools.lru_cache(maxsize=512)
def tally_statement(shape: Shape) -> Select[Any]:
    """The aggregate statement of a shape (rows: bucket, key, key2, count, sum, quantity);
    the second key and the quantity are read only where the shape has them."""
    source = _source(shape.measure, shape.sqlite)
    columns = [source.index(shape).label("bucket"), _key(shape.by, source).label("key"),
               _summed(source.amount).label("amount")]
    if shape.then is not GroupBy.NONE:
        columns.append(_key(shape.then, source).label("key2"))
    if source.quantity is not None:
        columns.append(source.quantity.label("quantity"))
    rows = select(*columns).select_from(
        source.joined if source.joined is not None else source.table).where(
        *_where(source, shape)).subquery()
    keys = [rows.c.bucket, rows.c.key]
    if shape.then is not GroupBy.NONE:
        keys.append(rows.c.key2)
    return (select(*keys[:2], keys[2] if len(keys) > 2 else null(), func.count(),
                   func.sum(rows.c.amount),
                   func.sum(rows.c.quantity) if source.quantity is not None
                   else literal_column("0", Integer))
            .group_by(*keys))


@functools.lru_cache(maxsize=512)
def ids_statement(shape: Shape, paged: bool) -> Select[Any]:
    """Ids of the rows a shape counts, ascending, after ``:after`` when ``paged``, at most
    ``:limit``."""
    source = _source(shape.measure, shape.sqlite)
    id_column = source.table.c.id
    where = _where(source, shape)
    if paged:
        where.append(id_column > bindparam("after"))
    found = select(id_column).select_from(
        source.joined if source.joined is not None else source.table).where(*where)
    if source.joined is not None:
        found = found.distinct()  # a contract counts once however many lines it has
    return found.order_by(id_column).limit(bindparam("limit", type_=Integer))


class SqlStatistics:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._sqlite = conn.dialect.name == "sqlite"

    def _shape(self, spec: Tally) -> tuple[Shape, dict[str, Any]]:
        owners = sorted(spec.owner_ids or ())
        shape = Shape(spec.measure, len(spec.buckets), spec.buckets[0].first_day is None,
                      spec.by, spec.stage_group_id is not None, len(owners) > INLINE_LIMIT,
                      self._sqlite, spec.then, spec.owner_ids is None,
                      spec.campaign_ids is not None)
        values: dict[str, Any] = _source(spec.measure, self._sqlite).values(spec.buckets)
        if spec.owner_ids is not None:
            values["owners"] = owners
        if spec.stage_group_id is not None:
            values["stage_group_id"] = spec.stage_group_id
        if spec.as_of is not None:
            values["as_of"] = spec.as_of
        if spec.campaign_ids is not None:
            values["campaigns"] = sorted(spec.campaign_ids)
        return shape, values

    @staticmethod
    def _empty(spec: Tally) -> bool:
        """Nothing can count: no owner, or no campaign, admitted."""
        return (spec.owner_ids is not None and not spec.owner_ids) or (
            spec.campaign_ids is not None and not spec.campaign_ids)

    def tally(self, spec: Tally) -> list[TallyRow]:
        if self._empty(spec):
            return []
        shape, values = self._shape(spec)
        return sort_rows(
            TallyRow(int(bucket), key, int(count), self._decimal(total), key2,
                     self._quantity(quantity))
            for bucket, key, key2, count, total, quantity
            in self._conn.execute(tally_statement(shape), values))

    def _decimal(self, total: Any) -> Decimal:
        if total is None:
            return ZERO
        if self._sqlite:
            return (Decimal(int(total)) / 100).quantize(CENT)
        return Decimal(total).quantize(CENT)

    def _quantity(self, total: Any) -> Decimal:
        if total is None:
            return Decimal(0)
        return Decimal(int(total)) / _QUANTUM if self._sqlite else Decimal(total)

    def ids(self, spec: Tally, *, after: str | None = None, limit: int = 100) -> list[str]:
        if self._empty(spec):
            return []
        shape, values = self._shape(spec)
        values["limit"] = limit
        if after is not None:
            values["after"] = after
        statement = ids_statement(shape, after is not None)
        return list(self._conn.execute(statement, values).scalars())
