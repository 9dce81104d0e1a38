"""Dashboard periods: calendar units in the organisation's timezone, weeks from Monday,
previous periods of the same length, trend buckets clipped to the period."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.statistics import Granularity, PeriodKind
from crmkit.errors import ValidationError
from crmkit.policies.periods import (
    MAX_BUCKETS,
    buckets,
    forgotten_buckets,
    granularity_for,
    local_midnight,
    period,
    previous,
    window,
)

TZ = ZoneInfo("Asia/Shanghai")
K = PeriodKind


@pytest.mark.parametrize(("kind", "today", "first", "last"), [
    (K.TODAY, date(2026, 12, 31), date(2026, 12, 31), date(2026, 12, 31)),
    (K.YESTERDAY, date(2027, 1, 1), date(2026, 12, 31), date(2026, 12, 31)),
    (K.THIS_WEEK, date(2026, 11, 30), date(2026, 11, 30), date(2026, 12, 6)),  # a Monday
    (K.THIS_WEEK, date(2026, 12, 6), date(2026, 11, 30), date(2026, 12, 6)),   # a Sunday
    (K.LAST_WEEK, date(2026, 12, 7), date(2026, 11, 30), date(2026, 12, 6)),
    (K.THIS_WEEK, date(2027, 1, 1), date(2026, 12, 28), date(2027, 1, 3)),     # across years
    (K.THIS_MONTH, date(2024, 2, 29), date(2024, 2, 1), date(2024, 2, 29)),
    (K.LAST_MONTH, date(2026, 3, 31), date(2026, 2, 1), date(2026, 2, 28)),
    (K.LAST_MONTH, date(2026, 1, 1), date(2025, 12, 1), date(2025, 12, 31)),
    (K.THIS_QUARTER, date(2026, 6, 30), date(2026, 4, 1), date(2026, 6, 30)),
    (K.THIS_QUARTER, date(2026, 7, 1), date(2026, 7, 1), date(2026, 9, 30)),
    (K.LAST_QUARTER, date(2026, 1, 15), date(2025, 10, 1), date(2025, 12, 31)),
    (K.THIS_YEAR, date(2026, 12, 31), date(2026, 1, 1), date(2026, 12, 31)),
    (K.LAST_YEAR, date(2026, 1, 1), date(2025, 1, 1), date(2025, 12, 31)),
])
def test_calendar_periods_around_month_quarter_year_ends_and_mondays(
        kind: PeriodKind, today: date, first: date, last: date) -> None:
    span = period(kind, today)
    assert (span.first_day, span.last_day) == (first, last)


@pytest.mark.parametrize(("kind", "today", "first", "last"), [
    (K.THIS_MONTH, date(2026, 3, 15), date(2026, 2, 1), date(2026, 2, 28)),
    (K.THIS_QUARTER, date(2026, 5, 1), date(2026, 1, 1), date(2026, 3, 31)),
    (K.THIS_WEEK, date(2026, 12, 3), date(2026, 11, 23), date(2026, 11, 29)),
    (K.TODAY, date(2026, 3, 1), date(2026, 2, 28), date(2026, 2, 28)),
])
def test_the_previous_period_is_the_unit_before(kind: PeriodKind, today: date, first: date,
                                               last: date) -> None:
    before = previous(period(kind, today))
    assert (before.first_day, before.last_day) == (first, last)


def test_a_custom_range_is_compared_with_as_many_days_right_before() -> None:
    span = period(K.CUSTOM, date(2026, 12, 3), date(2026, 3, 1), date(2026, 3, 10))
    before = previous(span)
    assert (before.first_day, before.last_day, before.days) == (
        date(2026, 2, 19), date(2026, 2, 28), 10)


def test_a_period_spans_local_midnights_not_utc_ones() -> None:
    span = window(period(K.TODAY, date(2026, 12, 3)), TZ)
    assert span.start_at == datetime(2026, 12, 2, 16, tzinfo=UTC)
    assert span.end_at == datetime(2026, 12, 3, 16, tzinfo=UTC)


@given(kind=st.sampled_from([k for k in PeriodKind if k is not K.CUSTOM]),
       today=st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_every_calendar_period_holds_today_or_ends_right_before_its_unit(
        kind: PeriodKind, today: date) -> None:
    span = period(kind, today)
    before = previous(span)
    assert before.last_day + timedelta(days=1) == span.first_day
    if kind.value.startswith(("this", "today")):
        assert span.first_day <= today <= span.last_day
    else:
        current = period(PeriodKind(kind.value.replace("last", "this")
                                    .replace("yesterday", "today")), today)
        assert (previous(current).first_day, previous(current).last_day) == (
            span.first_day, span.last_day)
    if kind in (K.THIS_WEEK, K.LAST_WEEK):
        assert span.first_day.weekday() == 0 and span.days == 7


@given(first=st.dates(date(2020, 1, 1), date(2030, 12, 31)), length=st.integers(0, 800),
       granularity=st.sampled_from(list(Granularity)))
def test_trend_buckets_tile_the_period_and_weeks_start_on_monday(
        first: date, length: int, granularity: Granularity) -> None:
    span = period(K.CUSTOM, first, first, first + timedelta(days=length))
    if granularity is Granularity.DAY and length >= MAX_BUCKETS:
        with pytest.raises(ValidationError):
            buckets(span, granularity, TZ)
        return
    cut = buckets(span, granularity, TZ)
    assert cut[0].first_day == span.first_day
    assert cut[-1].end_day == span.last_day + timedelta(days=1)
    for before, after in itertools.pairwise(cut):
        assert before.end_day == after.first_day
        assert after.first_day is not None
        if granularity is Granularity.WEEK:
            assert after.first_day.weekday() == 0
        if granularity is Granularity.MONTH:
            assert after.first_day.day == 1
    assert all(b.start_at == local_midnight(b.first_day, TZ) for b in cut if b.first_day)


@pytest.mark.parametrize(("first", "last", "granularity", "count"), [
    (date(2024, 1, 1), date(2024, 12, 31), Granularity.DAY, 366),
    (date(2024, 1, 1), date(2025, 1, 1), Granularity.DAY, None),
    (date(2016, 11, 5), date(2026, 11, 1), Granularity.DAY, None),
    (date(2016, 11, 5), date(2026, 11, 1), Granularity.WEEK, None),
    (date(2016, 11, 5), date(2026, 11, 1), Granularity.MONTH, 121),
    (date(1997, 1, 1), date(2027, 6, 30), Granularity.MONTH, 366),
    (date(1997, 1, 1), date(2027, 7, 1), Granularity.MONTH, None)])
def test_a_period_is_cut_into_at_most_max_buckets(first: date, last: date,
                                                  granularity: Granularity,
                                                  count: int | None) -> None:
    span = period(K.CUSTOM, first, first, last)
    if count is not None:
        assert len(buckets(span, granularity, TZ)) == count
        return
    with pytest.raises(ValidationError) as refused:
        buckets(span, granularity, TZ)
    [error] = refused.value.errors
    assert (error.path, error.code) == ("$.granularity", "period.too_many_buckets")
    assert "366" in error.message_zh and f"per {granularity.value}" in error.message_en


@pytest.mark.parametrize(("days", "granularity"), [
    (1, Granularity.DAY), (31, Granularity.DAY), (32, Granularity.WEEK), (92, Granularity.WEEK),
    (93, Granularity.MONTH), (365, Granularity.MONTH)])
def test_short_periods_trend_per_day_or_week(days: int, granularity: Granularity) -> None:
    span = period(K.CUSTOM, date(2026, 1, 1), date(2026, 1, 1),
                  date(2026, 1, 1) + timedelta(days=days - 1))
    assert granularity_for(span) is granularity


def test_forgotten_buckets_say_more_than_n_days_as_the_reclaim_rule() -> None:
    cut = forgotten_buckets(date(2026, 12, 2), (7, 30), TZ)
    # last follow-up on 1 Nov: 31 days ago on 2 Dec — more than 30, so in bucket 0
    assert cut[0].first_day is None and cut[0].end_day == date(2026, 11, 2)
    assert (cut[1].first_day, cut[1].end_day) == (date(2026, 11, 2), date(2026, 11, 25))
