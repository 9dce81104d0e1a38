"""日程 Schedules (``crm.schedules``): the calendar-event record kind with its own rules.

The shared record engine gives create, get, update, delete, lists and the operation log on the
``tasks`` (办公) module's permissions, cut to the actor's data scope. On top of it:

- every write checks the event rules (:func:`crmkit.policies.recurrence.event_problems`) in the
  organisation's timezone; participants are active users (the owner is never one of them),
  related records ones the writer may see;
- participants read the event: they are its read-only team, kept equal to ``participant_ids``
  on every write (no other team members: the kind does not take the team feature);
- ``series_ends_at`` is derived on every write (:func:`~crmkit.policies.recurrence.series_end`);
- :meth:`ScheduleService.calendar` answers a window of a user's calendar — the events they own
  or take part in that the viewer may see — as occurrences expanded by the repeat rules;
- :meth:`ScheduleService.skip` deletes one occurrence of a repeating event;
- a follow-up's next-contact time puts an event in its author's calendar
  (:meth:`ScheduleService.add_for_followup`, inside the follow-up's operation).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from crmkit.entities import Module, Operation, RecordScope
from crmkit.entities.calendar import CalendarEntry, CalendarEvent
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
from crmkit.entities.records import FollowUp, RecordRef
from crmkit.errors import NotFound, ValidationError
from crmkit.policies.recurrence import check_window, event_problems, occurrences, series_end
from crmkit.policies.validation import Problems
from crmkit.serialization import structure_patch
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import RecordService
from crmkit.workflow.related import share, unknown_users, unseen_related

_STARTS = FieldRef("starts_at", ValueKind.DATETIME, True)
_SERIES_END = FieldRef("series_ends_at", ValueKind.DATETIME, True)
MAX_EVENTS = 5000
"""Events one calendar window reads at most."""


class ScheduleService(RecordService[CalendarEvent]):
    """Schedules: the event rules on every write, participants, the calendar window."""

    def _extras(self, op: Op, extras: Mapping[str, Any], old: CalendarEvent | None
                ) -> dict[str, Any]:
        values = structure_patch(extras, CalendarEvent)
        errors = unknown_users(op, values.get("participant_ids", ()),
                               old.participant_ids if old else (), "$.participant_ids")
        kinds = Problems()
        kinds.related("$.related", values.get("related", ()))
        errors += kinds.errors + unseen_related(op, self._access, values.get("related", ()),
                                                old.related if old else ())
        if errors:
            raise ValidationError(errors)
        return values

    def _before_write(self, op: Op, record: CalendarEvent, old: CalendarEvent | None
                      ) -> CalendarEvent:
        record = attrs.evolve(record, participant_ids=record.participant_ids - {record.owner_id})
        problems = event_problems(record, self._rt.tz)
        if problems:
            raise ValidationError(problems)
        return attrs.evolve(record, series_ends_at=series_end(record, self._rt.tz))

    def _after_write(self, op: Op, record: CalendarEvent, old: CalendarEvent | None) -> None:
        before = old.participant_ids if old is not None else frozenset()
        if record.participant_ids != before:
            share(op, self.kind, record.id, record.participant_ids, before)

    # -- the calendar ---------------------------------------------------------------------------
    def calendar(self, actor: ActorRef, start: datetime, end: datetime, *,
                 user_id: str | None = None) -> builtins.list[CalendarEntry]:
        """The occurrences in [start, end) (at most 366 days) of the events ``user_id`` (the
        actor by default) owns or takes part in, by start time. Another user's calendar shows
        only what the actor may see, and only of a user inside the actor's data scope (else
        NotFound, as for an unknown user)."""
        check_window(start, end)
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            me = op.user_id
            whose = user_id or me
            scope = self._rt.scope(op, Module.TASKS)
            if whose != me and not (scope.all_records or whose in scope.owner_ids):
                raise NotFound("user.not_found", "员工不存在", f"user {whose} not found")
            events = self._reaching(op, RecordScope(owner_ids=frozenset({whose}),
                                                    team_user_id=whose), start, end)
            if whose != me:
                seen = self._access.visible_many(op, self.kind, [e.id for e in events])
                events = [e for e in events if e.id in seen]
        entries = [CalendarEntry(o, e) for e in events
                   for o in occurrences(e, start, end, self._rt.tz)]
        return sorted(entries, key=lambda entry: (entry.occurrence.starts_at,
                                                  entry.occurrence.ends_at,
                                                  entry.occurrence.event_id))

    def _reaching(self, op: Op, scope: RecordScope, start: datetime, end: datetime
                  ) -> builtins.list[CalendarEvent]:
        """Events in ``scope`` that start before ``end`` and whose series ends at or after
        ``start`` (or never): two set-based reads."""
        before = Condition(_STARTS, Operator.LT, end)
        repo = self._repo(op)
        bounded = repo.query(RecordQuery(scope, (before, Condition(_SERIES_END, Operator.GE,
                                                                   start)), limit=MAX_EVENTS))
        endless = repo.query(RecordQuery(scope, (before, Condition(_SERIES_END,
                                                                   Operator.IS_EMPTY)),
                                         limit=MAX_EVENTS))
        return [*bounded, *endless]

    def skip(self, actor: ActorRef, event_id: str, day: date, *,
             expected_version: int | None = None) -> CalendarEvent:
        """Delete the occurrence of a repeating event that starts on local ``day`` (edit
        rights on the event; logged as ``skip``). A day that has no occurrence →
        ValidationError ``$.day: calendar.no_occurrence``."""
        with self._rt.operation(actor, Module.TASKS, Operation.EDIT) as op:
            old: CalendarEvent = self._access.editable(op, self.kind, event_id)
            rule = old.repeat
            days = set()
            if rule is not None and isinstance(day, date) and not isinstance(day, datetime):
                window = datetime.combine(day, datetime.min.time(), self._rt.tz)
                days = {o.day for o in occurrences(old, window, window.replace(
                    hour=23, minute=59, second=59), self._rt.tz)}
            if rule is None or day not in days:
                raise ValidationError.at("$.day", "calendar.no_occurrence",
                                         "这一天没有该日程", "no occurrence of the event that day")
            return self._save(op, None, old, expected_version, "skip",
                              repeat=attrs.evolve(rule, skipped=rule.skipped | {day}))

    # -- events made by crmkit ------------------------------------------------------------------
    def add_for_followup(self, op: Op, kind: str, parent: Any, followup: FollowUp
                         ) -> CalendarEvent:
        """The event a follow-up's next-contact time (下次联系时间) puts in its author's
        calendar: a moment, titled after the record, related to it (any kind that takes
        follow-ups)."""
        assert followup.next_contact_at is not None
        title = f"联系：{getattr(parent, 'name', '') or self._rt.declaration(kind).label_zh}"
        at = followup.next_contact_at
        event = CalendarEvent(self._rt.ids.new_id(), followup.author_id, title[:200], at, at,
                              op.actor_id, op.now, op.now, related=(RecordRef(kind, parent.id),),
                              source="followup")
        event = attrs.evolve(event, series_ends_at=series_end(event, self._rt.tz))
        self._store_new(op, [event])
        return event
