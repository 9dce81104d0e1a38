"""跟进记录 Follow-ups and the record timeline (``crm.followups``).

Saving a follow-up: its time is now or earlier (at most :data:`CLOCK_SKEW`, 5 minutes, past the
Clock's now — a follow-up dated in the future would keep its customer out of the pool); the
parent's last follow-up time and content move to it (when it is the newest), a next contact
time (下次联系时间) updates the parent and puts an event (日程, ``crm.schedules``) in the
author's calendar, related to the parent.
Only kinds declared with :attr:`~crmkit.entities.kinds.Feature.FOLLOWUPS` take follow-ups (not
products); a record's timeline needs :attr:`~crmkit.entities.kinds.Feature.TIMELINE`.
An author who may see but not edit the parent (a read-only team member, a pool member)
records the follow-up and the event; the parent stays as it was.
The timeline of a record merges follow-ups, operation-log entries and the events related to it
that the viewer may see, newest first.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation
from crmkit.entities.calendar import CalendarEvent
from crmkit.entities.fields import ValueKind
from crmkit.entities.kinds import SCHEDULE_KIND, Feature
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery, SortKey
from crmkit.entities.records import FollowUp, RecordRef
from crmkit.entities.scope import RecordScope
from crmkit.errors import ValidationError
from crmkit.policies.recurrence import check_window
from crmkit.policies.validation import Problems
from crmkit.serialization import structure
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.oplog_diff import field_changes
from crmkit.workflow.record_access import RecordAccess
from crmkit.workflow.schedules import MAX_EVENTS, ScheduleService

DEFAULT_METHODS = ("打电话", "发邮件", "发短信", "见面拜访", "活动")
METHODS_KEY = "followup.methods"
CONTENT_MAX = 5000
_SOURCE = FieldRef("source", ValueKind.TEXT, True)
_STARTS = FieldRef("starts_at", ValueKind.DATETIME, True)
CLOCK_SKEW = timedelta(minutes=5)
"""How far past the Clock's now a follow-up's time may lie (the host's and crmkit's clocks
differ a little); later is refused: a follow-up records what happened, not what will."""


def configured_methods(runtime: Runtime, op: Op) -> list[str]:
    """The follow-up methods (跟进方式) as configured, or the defaults."""
    stored = runtime.setting(op, METHODS_KEY)
    return list(stored) if isinstance(stored, list) else list(DEFAULT_METHODS)


@attrs.frozen
class NewFollowUp:
    method: str
    content: str
    at: datetime | None = None
    contact_ids: tuple[str, ...] = ()
    opportunity_ids: tuple[str, ...] = ()
    attachment_ids: tuple[str, ...] = ()
    next_contact_at: datetime | None = None


@attrs.frozen
class TimelineItem:
    """One entry of a record's timeline: a follow-up, a log entry or a schedule."""

    at: datetime
    type: str
    actor_id: str | None
    summary: str
    item_id: str
    data: Any = None


class FollowUpService:
    def __init__(self, runtime: Runtime, access: RecordAccess,
                 schedules: ScheduleService) -> None:
        self._rt = runtime
        self._access = access
        self._schedules = schedules

    def methods(self, actor: ActorRef) -> builtins.list[str]:
        """The configurable follow-up methods (跟进方式)."""
        with self._rt.operation(actor, Module.FOLLOWUPS, None) as op:
            return self._methods(op)

    def set_methods(self, actor: ActorRef, methods: Sequence[str]) -> builtins.list[str]:
        """Set the follow-up methods (跟进方式: 电话, 微信 …) users choose from: distinct,
        non-blank names of at most 20 characters."""
        with self._rt.operation(actor, Module.FIELDS, Operation.EDIT) as op:
            items = list(methods) if isinstance(methods, list | tuple) else []
            if not items or any(not isinstance(m, str) or not m.strip() or len(m) > 20
                                for m in items) or len(set(items)) != len(items):
                raise ValidationError.at("$.methods", "invalid",
                                         "跟进方式不能为空或重复",
                                         "needs distinct, non-blank names (≤ 20 chars)")
            op.put_setting(METHODS_KEY, items)
            return items

    def _methods(self, op: Op) -> builtins.list[str]:
        return configured_methods(self._rt, op)

    def add(self, actor: ActorRef, kind: str, record_id: str,
            data: NewFollowUp | Mapping[str, Any]) -> FollowUp:
        """Write a follow-up on a visible record and update the record's follow-up fields."""
        payload = structure(data, NewFollowUp)
        declaration = self._rt.kinds.get(kind) if isinstance(kind, str) else None
        if declaration is None or not declaration.has(Feature.FOLLOWUPS):
            takers = ", ".join(name for name, known in self._rt.kinds.items()
                               if known.has(Feature.FOLLOWUPS))
            raise ValidationError.at(
                "$.kind", "followup.kind", f"$.kind {kind!r} 不支持跟进记录（可用：{takers}）",
                f"$.kind {kind!r} takes no follow-ups (kinds that do: {takers})")
        with self._rt.operation(actor, Module.FOLLOWUPS, Operation.CREATE) as op:
            parent = self._access.visible(op, kind, record_id)
            problems = Problems()
            if payload.at is not None and payload.at > op.now + CLOCK_SKEW:
                problems.add("$.at", "followup.in_future")
            if payload.method not in self._methods(op):
                problems.add("$.method", "invalid")
            problems.text("$.content", payload.content, required=True, max_length=CONTENT_MAX)
            for path, other_kind, ids in (("$.contact_ids", "contact", payload.contact_ids),
                                          ("$.opportunity_ids", "opportunity",
                                           payload.opportunity_ids)):
                known = (set(self._access.visible_many(op, other_kind, ids))
                         if other_kind in self._rt.kinds else set())
                for i, rid in enumerate(ids):
                    if rid not in known:
                        problems.add(f"{path}[{i}]", "not_found")
            mine = {a.id for a in op.uow.attachments.for_record(kind, record_id)}
            for i, aid in enumerate(payload.attachment_ids):
                if aid not in mine:
                    problems.add(f"$.attachment_ids[{i}]", "not_found")
            problems.raise_if_any()
            at = payload.at or op.now
            followup = FollowUp(
                self._rt.ids.new_id(), kind, record_id, op.user_id, payload.method,
                payload.content, at, op.now, payload.contact_ids, payload.opportunity_ids,
                payload.attachment_ids, payload.next_contact_at,
            )
            op.uow.followups.add(followup)
            touch_parent(op, kind, parent, followup,
                         editable=self._access.can_edit(op, kind, parent), note=followup.id)
            if followup.next_contact_at is not None:
                self._schedules.add_for_followup(op, kind, parent, followup)
            return followup

    def list(self, actor: ActorRef, kind: str, record_id: str) -> builtins.list[FollowUp]:
        """Follow-ups of a visible record of a kind that has them, newest first."""
        with self._rt.operation(actor, Module.FOLLOWUPS, Operation.VIEW) as op:
            self._rt.declaration(kind, Feature.FOLLOWUPS)
            self._access.visible(op, kind, record_id)
            return op.uow.followups.for_record(kind, record_id)

    def timeline(self, actor: ActorRef, kind: str, record_id: str, *, limit: int = 200
                 ) -> builtins.list[TimelineItem]:
        """沟通/日志/日程 records of one visible record, merged newest first (the record
        module's ``view`` permission, like every read of the record)."""
        module = self._rt.declaration(kind, Feature.TIMELINE).module
        with self._rt.operation(actor, module, Operation.VIEW) as op:
            self._access.visible(op, kind, record_id)
            items = [TimelineItem(f.at, "followup", f.author_id, f"[{f.method}] {f.content}",
                                  f.id, f) for f in op.uow.followups.for_record(kind, record_id,
                                                                                 limit=limit)]
            items += [TimelineItem(e.at, "log", e.actor_id, _describe(e.action, e.changes, e.note),
                                   e.id, e) for e in op.uow.oplog.for_record(kind, record_id,
                                                                             limit=limit)]
            items += [TimelineItem(e.starts_at, "schedule", e.owner_id, e.title, e.id, e)
                      for e in self._schedules.related_in(op, [RecordRef(kind, record_id)])]
        items.sort(key=lambda i: (i.at, i.item_id), reverse=True)
        return items[:limit]

    def schedules(self, actor: ActorRef, start: datetime, end: datetime
                  ) -> builtins.list[CalendarEvent]:
        """The events follow-ups put in the actor's calendar, starting in [start, end) (at most
        366 days), by start time; the whole calendar is ``crm.schedules.calendar``."""
        check_window(start, end)
        with self._rt.operation(actor, Module.TASKS, None) as op:
            query = RecordQuery(RecordScope(owner_ids=frozenset({op.user_id})), (
                Condition(_SOURCE, Operator.EQ, "followup"),
                Condition(_STARTS, Operator.GE, start), Condition(_STARTS, Operator.LT, end)),
                (SortKey(_STARTS),), limit=MAX_EVENTS)
            return op.uow.records(SCHEDULE_KIND).query(query)


def _describe(action: str, changes: Sequence[FieldChange], note: str = "") -> str:
    """``action: field, field — note`` (the note is e.g. an approver's comment)."""
    fields = ", ".join(c.field for c in changes)
    text = f"{action}: {fields}" if fields else action
    return f"{text} — {note}" if note else text


def touch_parent(op: Op, kind: str, parent: Any, followup: FollowUp, *, editable: bool,
                 note: str) -> None:
    """A follow-up written on ``parent``: where the writer may edit the record, its 最后跟进
    fields move to the follow-up when it is newer (its next contact time too, and the pool's
    reclaim warning is cleared: the clock restarted); the record's log says so either way. A
    record the writer may only read (a read-only team member, a pool member) stays as it was."""
    changes: dict[str, Any] = {}
    if editable and (parent.last_followup_at is None
                     or followup.at >= parent.last_followup_at):
        changes.update(last_followup_at=followup.at,
                       last_followup_content=followup.content[:500])
    if editable and followup.next_contact_at is not None:
        changes["next_contact_at"] = followup.next_contact_at
    if "last_followup_at" in changes and getattr(parent, "pool_warned_at", None):
        changes["pool_warned_at"] = None  # the reclaim clock restarted: warn again later
    if not changes:
        op.log(kind, parent.id, "followup", note=note)
        return
    new = attrs.evolve(parent, version=parent.version + 1, updated_at=op.now, **changes)
    op.uow.records(kind).update(new, expected_version=parent.version, previous=parent)
    op.log(kind, parent.id, "followup", field_changes(parent, new), note=note)
