"""Calendar events and repeat rules (crmkit.policies.recurrence)."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given, target
from hypothesis import strategies as st

from crmkit.entities.calendar import CalendarEvent, Frequency, Occurrence, RepeatRule
from crmkit.entities.records import RecordRef
from crmkit.errors import FieldError, ValidationError
from crmkit.policies.recurrence import (
    event_problems,
    occurrences,
    reminders_due,
    rule_problems,
)
from crmkit.policies.validation import MESSAGES

SH = ZoneInfo("Asia/Shanghai")
NY = ZoneInfo("America/New_York")
T0 = datetime(2026, 1, 31, 9, 0, tzinfo=SH)


def event(starts_at: datetime = T0, minutes: int = 60, **changes: Any) -> CalendarEvent:
    base = CalendarEvent("e1", "u1", "周会", starts_at, starts_at + timedelta(minutes=minutes),
                         "u1", starts_at, starts_at)
    return attrs.evolve(base, **changes)


def starts(found: list[Occurrence]) -> list[str]:
    return [o.starts_at.strftime("%Y-%m-%d %H:%M") for o in found]


def window(first: date, last: date, tz: ZoneInfo = SH) -> tuple[datetime, datetime]:
    return (datetime.combine(first, time.min, tzinfo=tz),
            datetime.combine(last + timedelta(days=1), time.min, tzinfo=tz))


# -- examples -------------------------------------------------------------------------------
def test_monthly_from_31_january_falls_on_each_months_last_day() -> None:
    monthly = event(repeat=RepeatRule(Frequency.MONTHLY, count=6))
    assert starts(occurrences(monthly, *window(date(2026, 1, 1), date(2026, 12, 31)), SH)) == [
        "2026-01-31 09:00", "2026-02-28 09:00", "2026-03-31 09:00", "2026-04-30 09:00",
        "2026-05-31 09:00", "2026-06-30 09:00"]


def test_monthly_from_the_30th_keeps_the_30th_and_clamps_february() -> None:
    monthly = event(datetime(2028, 1, 30, 9, tzinfo=SH), repeat=RepeatRule(Frequency.MONTHLY))
    assert starts(occurrences(monthly, *window(date(2028, 1, 1), date(2028, 3, 31)), SH)) == [
        "2028-01-30 09:00", "2028-02-29 09:00", "2028-03-30 09:00"]


def test_yearly_from_29_february_falls_on_28_february_in_common_years() -> None:
    yearly = event(datetime(2028, 2, 29, 9, tzinfo=SH), repeat=RepeatRule(Frequency.YEARLY))
    in_2029 = occurrences(yearly, *window(date(2029, 1, 1), date(2029, 12, 31)), SH)
    in_2032 = occurrences(yearly, *window(date(2032, 1, 1), date(2032, 12, 31)), SH)
    assert starts(in_2029 + in_2032) == ["2029-02-28 09:00", "2032-02-29 09:00"]


def test_weekly_on_weekdays_every_other_week_until_a_date() -> None:
    start = datetime(2026, 12, 1, 14, 30, tzinfo=SH)  # a Tuesday
    rule = RepeatRule(Frequency.WEEKLY, interval=2, until=date(2026, 12, 31), weekdays=(1, 3))
    found = occurrences(event(start, repeat=rule), *window(date(2026, 12, 1),
                                                           date(2027, 1, 31)), SH)
    assert starts(found) == ["2026-12-01 14:30", "2026-12-03 14:30", "2026-12-15 14:30",
                             "2026-12-17 14:30", "2026-12-29 14:30", "2026-12-31 14:30"]


def test_a_skipped_occurrence_is_gone_and_the_count_does_not_grow() -> None:
    rule = RepeatRule(Frequency.DAILY, count=3, skipped=frozenset({date(2026, 2, 1)}))
    found = occurrences(event(repeat=rule), *window(date(2026, 1, 1), date(2026, 3, 1)), SH)
    assert starts(found) == ["2026-01-31 09:00", "2026-02-02 09:00"]
    assert [o.day for o in found] == [date(2026, 1, 31), date(2026, 2, 2)]


def test_shanghai_local_days_are_not_utc_days() -> None:
    early = event(datetime(2026, 3, 1, 7, 0, tzinfo=SH), repeat=RepeatRule(Frequency.DAILY))
    found = occurrences(early, *window(date(2026, 3, 2), date(2026, 3, 2)), SH)
    assert [(o.day, o.starts_at.astimezone(UTC).day) for o in found] == [(date(2026, 3, 2), 1)]


def test_a_weekly_meeting_keeps_its_local_time_across_daylight_saving() -> None:
    meeting = event(datetime(2026, 3, 2, 9, 0, tzinfo=NY), repeat=RepeatRule(Frequency.WEEKLY))
    found = occurrences(meeting, *window(date(2026, 3, 1), date(2026, 3, 15), NY), NY)
    assert [o.starts_at.astimezone(UTC).hour for o in found] == [14, 13]  # 2 March EST, 9 March EDT
    assert {o.starts_at.astimezone(NY).hour for o in found} == {9}


def test_an_occurrence_overlapping_the_window_start_is_shown() -> None:
    late = event(datetime(2026, 5, 1, 23, 0, tzinfo=SH), minutes=120)
    assert len(occurrences(late, *window(date(2026, 5, 2), date(2026, 5, 2)), SH)) == 1
    ended = event(datetime(2026, 5, 1, 22, 0, tzinfo=SH), minutes=120)
    assert occurrences(ended, *window(date(2026, 5, 2), date(2026, 5, 2)), SH) == []


def test_an_all_day_event_covers_its_local_days() -> None:
    day = datetime(2026, 5, 1, tzinfo=SH)
    holiday = event(day, minutes=3 * 24 * 60, all_day=True)
    assert event_problems(holiday, SH) == []
    found = occurrences(holiday, *window(date(2026, 5, 3), date(2026, 5, 3)), SH)
    assert [(o.day, o.all_day) for o in found] == [(date(2026, 5, 1), True)]
    assert occurrences(holiday, *window(date(2026, 5, 4), date(2026, 5, 4)), SH) == []


def test_a_window_spans_at_most_366_days() -> None:
    with pytest.raises(ValidationError) as caught:
        occurrences(event(), T0, T0 + timedelta(days=367), SH)
    assert caught.value.codes == {"$.window": "calendar.window"}


# -- validity -------------------------------------------------------------------------------
def problem_codes(errors: list[FieldError]) -> dict[str, str]:
    assert all(e.code in MESSAGES for e in errors)  # each code has its zh/en message
    return {e.path: e.code for e in errors}


def test_rule_problems() -> None:
    first = date(2026, 1, 31)
    assert rule_problems(RepeatRule(Frequency.DAILY), first) == []
    zero = RepeatRule(Frequency.DAILY, interval=0, count=0)
    assert problem_codes(rule_problems(zero, first)) == {
        "$.repeat.interval": "invalid", "$.repeat.count": "invalid"}
    both = RepeatRule(Frequency.DAILY, until=date(2026, 3, 1), count=3)
    assert problem_codes(rule_problems(both, first)) == {"$.repeat.count": "repeat.until_and_count"}
    assert problem_codes(rule_problems(RepeatRule(Frequency.DAILY, until=date(2026, 1, 30)),
                                       first)) == {"$.repeat.until": "repeat.until_before_start"}
    assert problem_codes(rule_problems(RepeatRule(Frequency.MONTHLY, weekdays=(1,)), first)) == {
        "$.repeat.weekdays": "repeat.weekdays_unsupported"}
    assert problem_codes(rule_problems(RepeatRule(Frequency.WEEKLY, weekdays=(7, 1)), first)) == {
        "$.repeat.weekdays": "invalid"}


def test_event_problems() -> None:
    assert event_problems(event(), SH) == []
    backwards = event(minutes=-1, title=" ", reminders=(15, 15, -1),
                      related=(RecordRef("task", "t"),))
    assert problem_codes(event_problems(backwards, SH)) == {
        "$.title": "blank", "$.ends_at": "event.ends_before_start", "$.reminders": "invalid",
        "$.related[0].kind": "related.kind"}
    not_midnight = event(all_day=True)
    assert problem_codes(event_problems(not_midnight, SH)) == {
        "$.starts_at": "event.all_day_midnight", "$.ends_at": "event.all_day_midnight"}
    bad_rule = event(repeat=RepeatRule(Frequency.DAILY, interval=1000))
    assert problem_codes(event_problems(bad_rule, SH)) == {"$.repeat.interval": "invalid"}


# -- reminders ------------------------------------------------------------------------------
def test_reminders_come_at_their_offsets_until_the_occurrence_ends() -> None:
    daily = event(datetime(2026, 6, 1, 9, tzinfo=SH), reminders=(15, 0),
                  repeat=RepeatRule(Frequency.DAILY))
    at = datetime(2026, 6, 2, 8, 44, tzinfo=SH)
    assert list(reminders_due(daily, at, SH)) == []
    due = list(reminders_due(daily, at + timedelta(minutes=1), SH))
    assert [(o.day, m) for o, m in due] == [(date(2026, 6, 2), 15)]
    due = list(reminders_due(daily, at + timedelta(minutes=16), SH))
    assert [(o.day, m) for o, m in due] == [(date(2026, 6, 2), 0), (date(2026, 6, 2), 15)]
    assert list(reminders_due(daily, datetime(2026, 6, 2, 10, tzinfo=SH), SH)) == []


def test_an_event_without_reminders_reminds_nobody() -> None:
    assert list(reminders_due(event(), T0, SH)) == []


# -- the brute-force oracle -----------------------------------------------------------------
def _last_day(year: int, month: int) -> int:
    return calendar.monthrange(year, month)[1]


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _picks(rule: RepeatRule, first: date, day: date) -> bool:
    """The rule text, read day by day (no rrule)."""
    if rule.frequency is Frequency.DAILY:
        return ((day - first).days % rule.interval == 0
                and (not rule.weekdays or day.weekday() in rule.weekdays))
    if rule.frequency is Frequency.WEEKLY:
        weeks = (_monday(day) - _monday(first)).days // 7
        return weeks % rule.interval == 0 and day.weekday() in (rule.weekdays
                                                                 or (first.weekday(),))
    months = (day.year - first.year) * 12 + day.month - first.month
    if rule.frequency is Frequency.YEARLY:
        if (day.year - first.year) % rule.interval or day.month != first.month:
            return False
    elif months % rule.interval:
        return False
    return day.day == min(first.day, _last_day(day.year, day.month))


def brute_force(ev: CalendarEvent, start: datetime, end: datetime, tz: ZoneInfo
                ) -> list[tuple[datetime, datetime, date]]:
    first = ev.starts_at.astimezone(tz).replace(tzinfo=None)
    span = ev.ends_at.astimezone(tz).replace(tzinfo=None) - first
    walls = [first]
    rule = ev.repeat
    if rule is not None:
        walls, picked, day = [], 0, first.date()
        last = end.astimezone(tz).date() + timedelta(days=2)
        while day <= last and (rule.until is None or day <= rule.until):
            if _picks(rule, first.date(), day):
                picked += 1
                if rule.count is not None and picked > rule.count:
                    break
                walls.append(datetime.combine(day, first.time()))
            day += timedelta(days=1)
    out = []
    for wall in walls:
        if rule is not None and wall.date() in rule.skipped:
            continue
        s, e = wall.replace(tzinfo=tz), (wall + span).replace(tzinfo=tz)
        su, eu, wu, we = (x.astimezone(UTC) for x in (s, e, start, end))
        if su < we and (su >= wu or eu > wu):
            out.append((s, e, wall.date()))
    return out


zones = st.sampled_from([SH, SH, NY, ZoneInfo("Europe/Berlin")])
rules = st.builds(
    RepeatRule,
    frequency=st.sampled_from(list(Frequency)),
    interval=st.integers(1, 4),
    until=st.none() | st.dates(date(2026, 1, 1), date(2028, 12, 31)),
    count=st.none() | st.integers(1, 40),
    weekdays=st.lists(st.integers(0, 6), unique=True, max_size=3).map(tuple),
    skipped=st.frozensets(st.dates(date(2026, 1, 1), date(2027, 12, 31)), max_size=5),
)


@given(zones, st.datetimes(datetime(2026, 1, 1), datetime(2027, 12, 31)),
       st.integers(0, 3 * 24 * 60), st.none() | rules,
       st.datetimes(datetime(2025, 12, 1), datetime(2028, 6, 1)), st.integers(0, 120 * 24))
def test_occurrences_in_any_window_equal_a_day_by_day_expansion(
        tz: ZoneInfo, start: datetime, minutes: int, rule: RepeatRule | None, at: datetime,
        hours: int) -> None:
    starts_at = start.replace(second=0, microsecond=0, tzinfo=tz)
    if rule is not None:
        if rule.frequency in (Frequency.MONTHLY, Frequency.YEARLY):
            rule = attrs.evolve(rule, weekdays=())
        if rule.until is not None and rule.count is not None:
            rule = attrs.evolve(rule, count=None)
        if rule.until is not None and rule.until < starts_at.date():
            rule = attrs.evolve(rule, until=None)
    ev = event(starts_at, minutes, repeat=rule)
    window_start = at.replace(tzinfo=tz)
    window_end = window_start + timedelta(hours=hours)
    found = occurrences(ev, window_start, window_end, tz)
    target(float(len(found)))  # steer towards windows holding many occurrences
    assert [(o.starts_at, o.ends_at, o.day) for o in found] == brute_force(
        ev, window_start, window_end, tz)
