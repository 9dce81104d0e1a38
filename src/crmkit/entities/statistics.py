"""仪表盘 statistics as values: periods, subjects, targets and the :class:`Tally` specification.

A :class:`Tally` says what to count and sum — one :class:`Measure` (which records, which time
basis, which amount), the owners they must belong to, consecutive time :class:`Bucket` s and an
optional grouping — and nothing about how. It is interpreted twice: in Python by
:func:`crmkit.policies.statistics.tally` (the memory adapter) and as one aggregate statement
(GROUP BY) by the SQLAlchemy adapter; ``crmkit.testing.StatisticsContract`` proves them equal.
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import attrs

__all__ = [
    "ATTRIBUTED",
    "GROUPINGS",
    "Brief",
    "Bucket",
    "Figure",
    "Forgotten",
    "Funnel",
    "Granularity",
    "GroupBy",
    "Measure",
    "Performance",
    "Period",
    "PeriodKind",
    "Ranked",
    "StageLine",
    "Subject",
    "Tally",
    "TallyRow",
    "Target",
    "TargetMeasure",
    "Trend",
    "TrendPoint",
]


class PeriodKind(enum.StrEnum):
    """今天, 昨天, 本周, 上周, 本月, 上月, 本季度, 上季度, 本年, 去年, or a custom range."""

    TODAY = "today"
    YESTERDAY = "yesterday"
    THIS_WEEK = "this_week"
    LAST_WEEK = "last_week"
    THIS_MONTH = "this_month"
    LAST_MONTH = "last_month"
    THIS_QUARTER = "this_quarter"
    LAST_QUARTER = "last_quarter"
    THIS_YEAR = "this_year"
    LAST_YEAR = "last_year"
    CUSTOM = "custom"


@attrs.frozen
class Period:
    """Local calendar days ``first_day`` … ``last_day`` (both included) of one kind."""

    kind: PeriodKind
    first_day: date
    last_day: date

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


class Granularity(enum.StrEnum):
    """How a trend cuts its period: per day, per week (Monday starts) or per month."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@attrs.frozen
class Bucket:
    """Local days ``first_day`` (None: open start) up to ``end_day`` (excluded), and the same
    span as instants: ``start_at`` (local midnight beginning ``first_day``) to ``end_at``."""

    first_day: date | None
    end_day: date
    start_at: datetime | None
    end_at: datetime


class Measure(enum.StrEnum):
    """What a tally reads — the records, their owner, their time basis and their amount.

    - ``customers``: customers by ``created_at``; ``contacts``: contacts by ``created_at``;
    - ``opportunities``: opportunities by ``created_at``, amount ``amount``;
    - ``contracts``: approved (effective) contracts by their deal day — ``order_date``, or the
      local day of ``created_at`` when there is none —, amount ``amount``;
    - ``payments``: approved (effective) payments by ``paid_on``, amount ``amount``;
    - ``followups``: follow-up records by ``at``, owned by their author;
    - ``unfollowed``: owned customers by the later of their last follow-up and the time their
      owner received them (the base of 遗忘客户, as of the reclaim rule);
    - ``due``: owned customers by ``next_contact_at`` (下次联系时间);
    - ``leads``: leads by ``created_at``; ``converted_leads``: converted leads by
      ``converted_at`` (the time they were converted);
    - ``products``: each product line of an approved contract, by the contract's deal day,
      owned by the contract's owner, amount the line's subtotal, quantity its quantity;
    - ``planned``: payment plans (回款计划) not voided of approved contracts, by
      ``planned_date``, owned by the contract's owner, amount the plan's amount;
    - ``overdue``: the planned plans due before the tally's ``as_of`` day and not fully
      received (approved payments against the plan), amount what is still owed.
    """

    CUSTOMERS = "customers"
    CONTACTS = "contacts"
    OPPORTUNITIES = "opportunities"
    CONTRACTS = "contracts"
    PAYMENTS = "payments"
    FOLLOWUPS = "followups"
    UNFOLLOWED = "unfollowed"
    DUE = "due"
    LEADS = "leads"
    CONVERTED_LEADS = "converted_leads"
    PRODUCTS = "products"
    PLANNED = "planned"
    OVERDUE = "overdue"


class GroupBy(enum.StrEnum):
    """A tally's grouping (the first dimension is always the bucket): none, the owner, the
    funnel position of an opportunity — its stage id while in progress, else its status
    (``won``, ``lost``, ``invalid``) —, the outcome (an opportunity's status; a lead
    ``converted`` or ``open``), a follow-up's method, a sold line's product, or a customer's
    source, level, industry or region (the province its address starts with:
    :data:`crmkit.policies.statistics.REGIONS`), or the 市场活动 a record is attributed to: a
    lead's or customer's own ``campaign_id``, for the records of a customer (contacts,
    opportunities, contracts, payments) their customer's."""

    NONE = "none"
    OWNER = "owner"
    STAGE = "stage"
    OUTCOME = "outcome"
    METHOD = "method"
    PRODUCT = "product"
    SOURCE = "source"
    LEVEL = "level"
    INDUSTRY = "industry"
    REGION = "region"
    CAMPAIGN = "campaign"


_EVERYWHERE = frozenset({GroupBy.NONE, GroupBy.OWNER})
ATTRIBUTED = frozenset({Measure.LEADS, Measure.CONVERTED_LEADS, Measure.CUSTOMERS,
                        Measure.CONTACTS, Measure.OPPORTUNITIES, Measure.CONTRACTS,
                        Measure.PAYMENTS})
"""Measures whose records count for a campaign (:attr:`GroupBy.CAMPAIGN`,
``Tally.campaign_ids``)."""
_CUSTOMER_FIELDS = frozenset({GroupBy.SOURCE, GroupBy.LEVEL, GroupBy.INDUSTRY, GroupBy.REGION})
GROUPINGS: dict[Measure, frozenset[GroupBy]] = {
    **{measure: _EVERYWHERE | ({GroupBy.CAMPAIGN} if measure in ATTRIBUTED else set())
       for measure in Measure},
    Measure.OPPORTUNITIES: _EVERYWHERE | {GroupBy.STAGE, GroupBy.OUTCOME, GroupBy.CAMPAIGN},
    Measure.LEADS: _EVERYWHERE | {GroupBy.OUTCOME, GroupBy.CAMPAIGN},
    Measure.FOLLOWUPS: _EVERYWHERE | {GroupBy.METHOD},
    Measure.PRODUCTS: _EVERYWHERE | {GroupBy.PRODUCT},
    Measure.CUSTOMERS: _EVERYWHERE | _CUSTOMER_FIELDS | {GroupBy.CAMPAIGN},
}
"""The groupings each measure can be tallied by."""


def _consecutive(instance: Tally, attribute: attrs.Attribute[tuple[Bucket, ...]],
                 buckets: tuple[Bucket, ...]) -> None:
    if not buckets:
        raise ValueError("a tally needs at least one bucket")
    for before, after in itertools.pairwise(buckets):
        if after.first_day != before.end_day or after.start_at != before.end_at:
            raise ValueError("a tally's buckets are consecutive")
    if any(b.first_day is None for b in buckets[1:]):
        raise ValueError("only the first bucket may be open")


@attrs.frozen
class Tally:
    """Count and sum the ``measure``'s records of ``owner_ids`` (None: every record, pooled
    customers included) falling in one of ``buckets`` (consecutive), per bucket, per ``by``
    and per ``then`` (a second grouping); ``stage_group_id`` keeps only opportunities of that
    stage group; ``as_of`` is the local day ``overdue`` is judged on; ``campaign_ids`` keeps
    only records attributed to one of those campaigns (as :attr:`GroupBy.CAMPAIGN` reads
    them)."""

    measure: Measure
    owner_ids: frozenset[str] | None
    buckets: tuple[Bucket, ...] = attrs.field(validator=_consecutive)
    by: GroupBy = GroupBy.NONE
    stage_group_id: str | None = None
    then: GroupBy = GroupBy.NONE
    as_of: date | None = None
    campaign_ids: frozenset[str] | None = None

    def __attrs_post_init__(self) -> None:
        for grouping in (self.by, self.then):
            if grouping not in GROUPINGS[self.measure]:
                raise ValueError(f"{self.measure} cannot be grouped by {grouping}")
        if (self.measure is Measure.OVERDUE) != (self.as_of is not None):
            raise ValueError("overdue, and only overdue, is judged as of a day")
        if self.campaign_ids is not None and self.measure not in ATTRIBUTED:
            raise ValueError(f"{self.measure} counts for no campaign")


@attrs.frozen(order=True)
class TallyRow:
    """One group of a tally: its bucket index, its key (None without grouping) and second key
    (None without ``then``), how many records, the sum of their amounts (0 for measures
    without an amount) and of their quantities (sold products; else 0)."""

    bucket: int
    key: str | None
    count: int
    amount: Decimal
    key2: str | None = None
    quantity: Decimal = Decimal(0)


@attrs.frozen
class Subject:
    """Whose figures a dashboard shows (「切换」): the viewer (default), the viewer and their
    subordinates (``subordinates``), and/or chosen users and departments — each department with
    its sub-departments unless ``include_children`` is off."""

    user_ids: frozenset[str] = frozenset()
    department_ids: frozenset[str] = frozenset()
    include_children: bool = True
    subordinates: bool = False

    @property
    def is_self(self) -> bool:
        return not (self.user_ids or self.department_ids or self.subordinates)


class TargetMeasure(enum.StrEnum):
    """What a target is measured on: approved contract amount or approved payment amount."""

    CONTRACT_AMOUNT = "contract_amount"
    PAYMENT_AMOUNT = "payment_amount"


@attrs.frozen
class Target:
    """业绩目标: one year's 12 monthly values (January first) of one user or one department."""

    id: str
    year: int
    measure: TargetMeasure
    months: tuple[Decimal, ...]
    user_id: str | None = None
    department_id: str | None = None
    version: int = 1

    @property
    def total(self) -> Decimal:
        return sum(self.months, Decimal("0.00"))


# -- what the dashboard answers -------------------------------------------------------------------


@attrs.frozen
class Figure:
    """One figure of the 销售简报 with the previous period's value and the change in percent
    (None when the previous value is 0)."""

    name: str
    value: Decimal | int
    previous: Decimal | int
    change_rate: Decimal | None


@attrs.frozen
class Brief:
    """销售简报 of a subject over a period, against the previous period of the same length."""

    period: Period
    previous: Period
    figures: tuple[Figure, ...]

    def __getitem__(self, name: str) -> Figure:
        for figure in self.figures:
            if figure.name == name:
                return figure
        raise KeyError(name)

    def keys(self) -> list[str]:
        """The figure names in the brief's order (so ``dict(brief)`` maps name → Figure)."""
        return [figure.name for figure in self.figures]

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, name: object) -> bool:
        return any(figure.name == name for figure in self.figures)

    def __len__(self) -> int:
        return len(self.figures)


@attrs.frozen
class Performance:
    """业绩指标: the approved amount of ``measure`` against the target for the period."""

    period: Period
    measure: TargetMeasure
    target: Decimal
    actual: Decimal
    completion_rate: Decimal | None


@attrs.frozen
class StageLine:
    """One row of a funnel: a stage (or the won / lost ending) with its win rate (percent)."""

    stage_id: str | None
    name: str
    win_rate: Decimal
    count: int
    amount: Decimal


@attrs.frozen
class Funnel:
    """销售漏斗 of one stage group: its stages in order, the won and lost endings, and the
    weighted total Σ amount × win rate (won at 100 %)."""

    stage_group_id: str
    period: Period
    stages: tuple[StageLine, ...]
    won: StageLine
    lost: StageLine
    weighted_amount: Decimal


@attrs.frozen
class TrendPoint:
    """One bucket of a trend: approved contract and payment amounts against their targets."""

    first_day: date
    last_day: date
    contract_amount: Decimal
    payment_amount: Decimal
    contract_target: Decimal
    payment_target: Decimal


@attrs.frozen
class Trend:
    period: Period
    granularity: Granularity
    points: tuple[TrendPoint, ...]


@attrs.frozen
class Forgotten:
    """How many of the subject's customers went more than ``days`` days without follow-up."""

    days: int
    count: int


@attrs.frozen
class Ranked:
    """One place of a ranking (ties share a place: 1, 2, 2, 4)."""

    place: int
    user_id: str
    value: Decimal | int
