"""日程 Calendar rules: what a valid event and repeat rule are, and which occurrences a calendar
window shows (DESIGN §5).

- Repeats are expanded in the organisation's local wall time with dateutil's ``rrule``: a
  meeting every Monday at 09:00 stays at 09:00 local, and an occurrence lasts as long on the
  wall clock as the first one. Bounds are instants; zones with daylight saving are handled
  (Asia/Shanghai has none, but nothing here assumes it).
- ``until`` is a local date, inclusive; ``count`` counts occurrences the rule picks, deleted ones
  (``skipped``) included — deleting one occurrence does not add another at the end.
- A weekly rule without weekdays repeats on the start's weekday; a daily rule with weekdays
  keeps only those days. The start itself counts only when the rule picks its day.
- Months and years are clamped: a monthly repeat from the 29th–31st falls on the last day of
  shorter months; a yearly repeat from 29 February on 28 February in other years.
- An occurrence is in a window [start, end) when it overlaps it: it starts before the window
  ends, and ends after the window starts — or, taking no time, starts inside it.
- A window spans at most 366 days, so an endless repeat never expands without bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil import rrule as rr

from crmkit.entities.calendar import CalendarEvent, Frequency, Occurrence, RepeatRule
from crmkit.errors import FieldError, ValidationError
from crmkit.policies.tasks import DESCRIPTION_MAX, TITLE_MAX
from crmkit.policies.validation import Problems

__all__ = [
    "MAX_COUNT",
    "MAX_INTERVAL",
    "MAX_REMINDERS",
    "MAX_REMINDER_MINUTES",
    "MAX_WINDOW",
    "check_window",
    "event_problems",
    "occurrences",
    "overlaps",
    "reminders_due",
    "rule_problems",
    "series_end",
]

MAX_INTERVAL = 999
MAX_COUNT = 1000
MAX_REMINDERS = 5
MAX_REMINDER_MINUTES = 30 * 24 * 60
"""Latest reminder: 30 days before an occurrence."""
MAX_WINDOW = timedelta(days=366)
_FREQUENCIES: dict[Frequency, int] = {Frequency.DAILY: rr.DAILY, Frequency.WEEKLY: rr.WEEKLY,
                Frequency.MONTHLY: rr.MONTHLY, Frequency.YEARLY: rr.YEARLY}
_SLACK = timedelta(days=1)
"""Margin when mapping a window to wall time (covers any daylight-saving shift)."""


def rule_problems(rule: RepeatRule, first_day: date, at: str = "$.repeat") -> list[FieldError]:
    """Problems of a repeat rule for an event starting on local day ``first_day``."""
    problems = Problems()
    if not 1 <= rule.interval <= MAX_INTERVAL:
        problems.add(f"{at}.interval", "invalid", f"（1..{MAX_INTERVAL}）",
                     f" (1..{MAX_INTERVAL})")
    if rule.until is not None and rule.count is not None:
        problems.add(f"{at}.count", "repeat.until_and_count",
                     "（结束日期与次数只能选一个）", " (until a date or a count, not both)")
    if rule.count is not None and not 1 <= rule.count <= MAX_COUNT:
        problems.add(f"{at}.count", "invalid", f"（1..{MAX_COUNT}）", f" (1..{MAX_COUNT})")
    if rule.until is not None and rule.until < first_day:
        problems.add(f"{at}.until", "repeat.until_before_start")
    if rule.weekdays and rule.frequency not in (Frequency.DAILY, Frequency.WEEKLY):
        problems.add(f"{at}.weekdays", "repeat.weekdays_unsupported",
                     "（仅每天、每周可选星期）", " (only daily and weekly rules pick weekdays)")
    if any(not 0 <= d <= 6 for d in rule.weekdays) or len(set(rule.weekdays)) != len(
            rule.weekdays):
        problems.add(f"{at}.weekdays", "invalid", "（0=周一 … 6=周日，不可重复）",
                     " (0 = Monday … 6 = Sunday, each once)")
    return problems.errors


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    """Wall time in ``tz``, without a zone."""
    return moment.astimezone(tz).replace(tzinfo=None)


def _instant(wall: datetime, tz: ZoneInfo) -> datetime:
    return wall.replace(tzinfo=tz)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


def event_problems(event: CalendarEvent, tz: ZoneInfo) -> list[FieldError]:
    """Problems of an event (empty when valid): title, range, all-day midnights, reminders,
    related records, repeat rule."""
    problems = Problems()
    problems.text("$.title", event.title, required=True, max_length=TITLE_MAX)
    problems.text("$.description", event.description, required=False,
                  max_length=DESCRIPTION_MAX)
    if _utc(event.ends_at) < _utc(event.starts_at):
        problems.add("$.ends_at", "event.ends_before_start")
    if event.all_day:
        for path, moment in (("$.starts_at", event.starts_at), ("$.ends_at", event.ends_at)):
            if _local(moment, tz).time() != time.min:
                problems.add(path, "event.all_day_midnight", "（须为当地零点）",
                             " (local midnight)")
        if _utc(event.ends_at) == _utc(event.starts_at):
            problems.add("$.ends_at", "event.ends_before_start")
    if len(event.reminders) > MAX_REMINDERS:
        problems.add("$.reminders", "too_many", f"（最多 {MAX_REMINDERS} 个）",
                     f" (max {MAX_REMINDERS})")
    if (any(not 0 <= m <= MAX_REMINDER_MINUTES for m in event.reminders)
            or len(set(event.reminders)) != len(event.reminders)):
        problems.add("$.reminders", "invalid", f"（不重复的分钟数 0..{MAX_REMINDER_MINUTES}）",
                     f" (distinct minutes 0..{MAX_REMINDER_MINUTES})")
    problems.related("$.related", event.related)
    errors = problems.errors
    if event.repeat is not None:
        errors.extend(rule_problems(event.repeat, _local(event.starts_at, tz).date()))
    return errors


def _rule(repeat: RepeatRule, first: datetime) -> rr.rrule:
    """The dateutil rule over wall times starting at ``first`` (see the module rules)."""
    weekdays = tuple(sorted(repeat.weekdays)) or None
    month: int | None = None
    month_days: tuple[int, ...] | None = None
    last_of: int | None = None  # bysetpos: the last candidate day of each period
    if repeat.frequency is Frequency.MONTHLY and first.day > 28:
        month_days, last_of = tuple(range(28, first.day + 1)), -1
    if repeat.frequency is Frequency.YEARLY and (first.month, first.day) == (2, 29):
        month, month_days, last_of = 2, (28, 29), -1
    until = datetime.combine(repeat.until, time.max) if repeat.until is not None else None
    return rr.rrule(_FREQUENCIES[repeat.frequency],  # type: ignore[arg-type]
                    dtstart=first, interval=repeat.interval, wkst=rr.MO, count=repeat.count,
                    until=until, byweekday=weekdays, bymonth=month, bymonthday=month_days,
                    bysetpos=last_of)


def overlaps(starts_at: datetime, ends_at: datetime, window_start: datetime,
             window_end: datetime) -> bool:
    """Whether [starts_at, ends_at) overlaps the window (a moment counts when inside it)."""
    return starts_at < window_end and (starts_at >= window_start or ends_at > window_start)


def check_window(start: datetime, end: datetime) -> None:
    """ValidationError ``$.window: calendar.window`` unless the window spans 0 to 366 days."""
    if end < start or end - start > MAX_WINDOW:
        raise ValidationError.at("$.window", "calendar.window", "时间范围须在 0 到 366 天之间",
                                 "must span 0 to 366 days")


def occurrences(event: CalendarEvent, window_start: datetime, window_end: datetime,
                tz: ZoneInfo) -> list[Occurrence]:
    """The event's occurrences overlapping [window_start, window_end), in time order."""
    check_window(window_start, window_end)
    first = _local(event.starts_at, tz)
    span = _local(event.ends_at, tz) - first
    if event.repeat is None:
        walls: Iterable[datetime] = [first]
    else:
        low = _local(window_start, tz) - max(span, timedelta(0)) - _SLACK
        walls = _rule(event.repeat, first).between(low, _local(window_end, tz) + _SLACK,
                                                   inc=True)
    skipped = event.repeat.skipped if event.repeat is not None else frozenset()
    found: list[Occurrence] = []
    for wall in walls:
        if wall.date() in skipped:
            continue
        starts_at, ends_at = _instant(wall, tz), _instant(wall + span, tz)
        if overlaps(_utc(starts_at), _utc(ends_at), _utc(window_start), _utc(window_end)):
            found.append(Occurrence(starts_at, ends_at, event.id, wall.date(), event.all_day))
    return found


def series_end(event: CalendarEvent, tz: ZoneInfo) -> datetime | None:
    """When the event's last occurrence ends (deleted ones included: an upper bound), or
    None when it repeats without end. A store keeps it so a window query reads only the events
    that reach the window."""
    if event.repeat is None:
        return event.ends_at
    if event.repeat.until is None and event.repeat.count is None:
        return None
    first = _local(event.starts_at, tz)
    rule = _rule(event.repeat, first)
    if event.repeat.until is not None:
        last = rule.before(datetime.combine(event.repeat.until, time.max), inc=True) or first
    else:
        last = max(rule, default=first)
    return _instant(last + (_local(event.ends_at, tz) - first), tz)


def reminders_due(event: CalendarEvent, now: datetime, tz: ZoneInfo
                  ) -> Iterator[tuple[Occurrence, int]]:
    """(occurrence, minutes before) pairs whose reminder time has come at ``now`` while the
    occurrence has not ended yet (a moment-long one: not started yet)."""
    if not event.reminders:
        return
    horizon = now + timedelta(minutes=max(event.reminders), seconds=1)
    for occurrence in occurrences(event, now, horizon, tz):
        over = occurrence.ends_at if occurrence.ends_at > occurrence.starts_at else (
            occurrence.starts_at + timedelta(microseconds=1))
        if _utc(over) <= _utc(now):
            continue
        for minutes in sorted(event.reminders):
            if _utc(occurrence.starts_at) - timedelta(minutes=minutes) <= _utc(now):
                yield occurrence, minutes
