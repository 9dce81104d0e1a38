"""日程 Calendar events, their repeat rules and the occurrences a calendar shows (DESIGN §5).

A :class:`CalendarEvent` is the full 日程: a time range (or whole days), participants, related
records, reminders and an optional :class:`RepeatRule`. Expanding it for a calendar window
(:func:`crmkit.policies.recurrence.occurrences`) gives :class:`Occurrence` values.

Events are stored as the ``schedule`` record kind (``crm.schedules``); a follow-up's
next-contact time creates one (``source`` ``followup``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping
from crmkit.entities.records import RecordRef

__all__ = [
    "EVENT",
    "CalendarEntry",
    "CalendarEvent",
    "Frequency",
    "Occurrence",
    "RepeatRule",
]

EVENT = "schedule"
"""The record kind of calendar events (日程)."""


class Frequency(enum.StrEnum):
    """How often a repeating event recurs: 每天 / 每周 / 每月 / 每年."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


@attrs.frozen
class RepeatRule:
    """重复规则: every ``interval`` days/weeks/months/years, ending on ``until`` (a local date,
    inclusive) or after ``count`` occurrences, or never.

    ``weekdays`` (0 = Monday … 6 = Sunday) picks the days of a weekly rule, or filters a daily
    one ("every working day"). A monthly rule started on the 29th–31st falls on the last day of a
    shorter month (a report due on the 31st is due on 30 April and 28/29 February); a yearly
    rule started on 29 February falls on 28 February in other years. ``skipped`` lists local
    dates whose occurrence was deleted from the series (exceptions).
    """

    frequency: Frequency
    interval: int = 1
    until: date | None = None
    count: int | None = None
    weekdays: tuple[int, ...] = ()
    skipped: frozenset[date] = frozenset()


@attrs.frozen
class CalendarEvent:
    """A calendar event of its owner, shown to its participants too.

    ``ends_at`` is exclusive. An all-day event starts and ends at local midnights of the
    organisation's timezone (a one-day event on 3 Dec runs from 3 Dec 00:00 to 4 Dec 00:00).
    ``reminders`` are offsets in minutes before each occurrence starts (0 = at the start).
    ``source`` says what created the event (``followup`` for a follow-up's next-contact time).
    ``series_ends_at`` is when the last occurrence ends (None: the event repeats without end);
    ``crm.schedules`` derives it on every write so a store finds the events a calendar window
    reaches (:func:`crmkit.policies.recurrence.series_end`).
    """

    id: str
    owner_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    all_day: bool = False
    description: str | None = None
    participant_ids: frozenset[str] = frozenset()
    related: tuple[RecordRef, ...] = ()
    reminders: tuple[int, ...] = ()
    repeat: RepeatRule | None = None
    source: str = ""
    series_ends_at: datetime | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)

    def involves(self, user_id: str) -> bool:
        """Whether the user is the owner or a participant (who see the event)."""
        return user_id == self.owner_id or user_id in self.participant_ids


@attrs.frozen(order=True)
class Occurrence:
    """One occurrence of an event in a calendar window; ``starts_at`` … ``ends_at`` (exclusive).
    ``day`` is the local date it starts on — the key of an exception in ``skipped``."""

    starts_at: datetime
    ends_at: datetime
    event_id: str
    day: date
    all_day: bool = False


@attrs.frozen
class CalendarEntry:
    """One occurrence on a viewer's calendar, with its event (title, participants …)."""

    occurrence: Occurrence
    event: CalendarEvent
