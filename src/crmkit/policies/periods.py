"""Dashboard periods (统计周期) in the organisation's timezone, computed with dateutil.

- 今天/昨天: one local day; 本周/上周: Monday to Sunday; 本月/上月, 本季度/上季度 (quarters start
  in January, April, July, October), 本年/去年: calendar units; custom: the given days.
- A period's *previous period* has the same length: the unit before a calendar period (本月 →
  上月, 本季度 → 上季度, 今天 → 昨天), the same number of days right before a custom range.
- A period is a span of instants from local midnight of its first day to local midnight after
  its last day (as the reclaim cutoffs are), so no per-row timezone arithmetic is needed.
- A trend cuts a period per day (up to 31 days), per week (up to 92 days) or per month; the
  first and last buckets are clipped to the period. A cut into more than
  :data:`MAX_BUCKETS` buckets (a decade per day) is refused: ``period.too_many_buckets`` at
  ``$.granularity``, so no caller tallies thousands of buckets.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import MO, relativedelta

from crmkit.entities.statistics import Bucket, Granularity, Period, PeriodKind
from crmkit.errors import ValidationError

__all__ = [
    "DAY_TREND_DAYS",
    "MAX_BUCKETS",
    "WEEK_TREND_DAYS",
    "bucket",
    "buckets",
    "forgotten_buckets",
    "granularity_for",
    "local_midnight",
    "period",
    "previous",
    "window",
    "with_previous",
]

_STEP = {
    PeriodKind.TODAY: relativedelta(days=1), PeriodKind.YESTERDAY: relativedelta(days=1),
    PeriodKind.THIS_WEEK: relativedelta(weeks=1), PeriodKind.LAST_WEEK: relativedelta(weeks=1),
    PeriodKind.THIS_MONTH: relativedelta(months=1), PeriodKind.LAST_MONTH: relativedelta(months=1),
    PeriodKind.THIS_QUARTER: relativedelta(months=3),
    PeriodKind.LAST_QUARTER: relativedelta(months=3),
    PeriodKind.THIS_YEAR: relativedelta(years=1), PeriodKind.LAST_YEAR: relativedelta(years=1),
}
"""How long one calendar period is (and so how far its previous period lies back)."""

_LAST = frozenset({PeriodKind.YESTERDAY, PeriodKind.LAST_WEEK, PeriodKind.LAST_MONTH,
                   PeriodKind.LAST_QUARTER, PeriodKind.LAST_YEAR})

DAY_TREND_DAYS = 31
"""A trend over at most this many days is cut per day."""
WEEK_TREND_DAYS = 92
"""A trend over at most this many days (and more than a month) is cut per week."""
MAX_BUCKETS = 366
"""The most buckets a period is cut into (a leap year per day, 30 years per month)."""


def _unit_start(kind: PeriodKind, today: date) -> date:
    """First day of the calendar unit of ``kind`` that holds ``today``."""
    if kind in (PeriodKind.TODAY, PeriodKind.YESTERDAY):
        return today
    if kind in (PeriodKind.THIS_WEEK, PeriodKind.LAST_WEEK):
        return today + relativedelta(weekday=MO(-1))
    if kind in (PeriodKind.THIS_MONTH, PeriodKind.LAST_MONTH):
        return today.replace(day=1)
    if kind in (PeriodKind.THIS_QUARTER, PeriodKind.LAST_QUARTER):
        return today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    return today.replace(month=1, day=1)


def period(kind: PeriodKind, today: date, first_day: date | None = None,
           last_day: date | None = None) -> Period:
    """The period ``kind`` as seen on local day ``today``; a custom period is ``first_day`` …
    ``last_day`` (the caller checks that both are given and in order)."""
    if kind is PeriodKind.CUSTOM:
        if first_day is None or last_day is None or last_day < first_day:
            raise ValueError("a custom period needs first_day <= last_day")
        return Period(kind, first_day, last_day)
    step = _STEP[kind]
    first = _unit_start(kind, today)
    if kind in _LAST:
        first = first - step
    return Period(kind, first, first + step - timedelta(days=1))


def previous(current: Period) -> Period:
    """The period of the same length right before ``current`` (see the module docstring)."""
    step = _STEP.get(current.kind, relativedelta(days=current.days))
    first = current.first_day - step
    return Period(current.kind, first, current.first_day - timedelta(days=1))


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The instant local day ``day`` begins."""
    return datetime.combine(day, time.min, tzinfo=tz)


def bucket(first_day: date | None, end_day: date, tz: ZoneInfo) -> Bucket:
    """Local days ``first_day`` (None: from the beginning of time) up to ``end_day`` excluded."""
    start = None if first_day is None else local_midnight(first_day, tz)
    return Bucket(first_day, end_day, start, local_midnight(end_day, tz))


def window(span: Period, tz: ZoneInfo) -> Bucket:
    """The whole period as one bucket."""
    return bucket(span.first_day, span.last_day + timedelta(days=1), tz)


def granularity_for(span: Period) -> Granularity:
    """Per day up to a month, per week up to a quarter, per month beyond."""
    if span.days <= DAY_TREND_DAYS:
        return Granularity.DAY
    if span.days <= WEEK_TREND_DAYS:
        return Granularity.WEEK
    return Granularity.MONTH


_UNIT_ZH = {Granularity.DAY: "天", Granularity.WEEK: "周", Granularity.MONTH: "月"}


def _next_start(day: date, granularity: Granularity) -> date:
    if granularity is Granularity.DAY:
        return day + timedelta(days=1)
    if granularity is Granularity.WEEK:
        return day + relativedelta(days=1, weekday=MO(+1))
    return day.replace(day=1) + relativedelta(months=1)


def buckets(span: Period, granularity: Granularity, tz: ZoneInfo) -> tuple[Bucket, ...]:
    """The period cut per ``granularity`` (weeks start on Monday), clipped to the period.
    More than :data:`MAX_BUCKETS` buckets → ValidationError ``period.too_many_buckets`` at
    ``$.granularity``."""
    end = span.last_day + timedelta(days=1)
    cut: list[Bucket] = []
    day = span.first_day
    while day < end:
        if len(cut) == MAX_BUCKETS:
            raise ValidationError.at(
                "$.granularity", "period.too_many_buckets",
                f"$.granularity 按{_UNIT_ZH[granularity]}统计 {span.first_day} 至 "
                f"{span.last_day} 超过 {MAX_BUCKETS} 段，请选更大的粒度或更短的周期",
                f"$.granularity: per {granularity.value} from {span.first_day} to "
                f"{span.last_day} is more than {MAX_BUCKETS} buckets: choose a coarser "
                "granularity or a shorter period")
        following = min(_next_start(day, granularity), end)
        cut.append(bucket(day, following, tz))
        day = following
    return tuple(cut)


def with_previous(span: Period, tz: ZoneInfo) -> tuple[Bucket, Bucket]:
    """The previous period and ``span`` as two consecutive buckets (one tally reads both)."""
    return window(previous(span), tz), window(span, tz)


def forgotten_buckets(today: date, thresholds: tuple[int, ...], tz: ZoneInfo
                      ) -> tuple[Bucket, ...]:
    """Buckets of the time since the last follow-up: for thresholds ascending (7, 15, 30 …),
    bucket 0 holds bases more than the largest threshold days ago, the last bucket bases more
    than the smallest but not more than the next; "more than N days" as the reclaim rule
    reckons it (``local_date(now) − local_date(base) > N``)."""
    cutoffs = [today - timedelta(days=days) for days in sorted(thresholds, reverse=True)]
    starts: list[date | None] = [None, *cutoffs[:-1]]
    return tuple(bucket(first, end, tz) for first, end in zip(starts, cutoffs, strict=True))
