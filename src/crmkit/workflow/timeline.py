"""跟进记录 The complete timeline of a record (``crm.timeline``).

- A record's timeline lists, newest first, the items of every :class:`TimelineSource`: its
  follow-ups (沟通), approval actions (审批), and whatever else plugs in (tasks, schedules,
  work logs related to it). A category filter keeps the chosen categories.
- A customer's timeline rolls up the timelines of its contacts, opportunities and contracts —
  those the viewer may see (the view permission on their module and their data scope); each
  item says which record it came from (``source``).
- It needs the ``view`` permission on the record's module and the record visible (NotFound
  otherwise, as for a missing id). Items of a visible record are visible; a source whose items
  have their own visibility (tasks, schedules) leaves out those the viewer may not see.
- Keyset pages: each source reads at most ``limit + 1`` items below the cursor (one statement
  for the records together), :func:`crmkit.policies.timeline.timeline_page` merges them — so a
  page costs a few statements whatever the timeline's length.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Collection, Iterable, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any, Protocol

import attrs

from crmkit.entities import Operation
from crmkit.entities.approvals import ApprovalAction
from crmkit.entities.contracts import CONTRACT
from crmkit.entities.kinds import Feature
from crmkit.entities.records import RecordRef
from crmkit.entities.sales import CONTACT, CUSTOMER, OPPORTUNITY
from crmkit.entities.timeline import (
    APPROVAL_ITEM,
    FOLLOWUP_ITEM,
    TimelineCategory,
    TimelineItem,
    TimelineKey,
)
from crmkit.errors import ValidationError
from crmkit.policies.timeline import MAX_PAGE, decode_cursor, encode_cursor, timeline_page
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.record_access import RecordAccess
from crmkit.workflow.records import RecordService, bounded_int

ROLL_UP: dict[str, tuple[tuple[str, str], ...]] = {
    CUSTOMER: ((CONTACT, "customer_id"), (OPPORTUNITY, "customer_id"), (CONTRACT, "customer_id")),
}
"""Whose timelines a record's timeline gathers: kind → (child kind, the child's parent field)."""

SUMMARY = 200
"""Characters of a follow-up's content shown as an item's title."""

_ACTIONS = {
    ApprovalAction.SUBMIT: "提交审批", ApprovalAction.APPROVE: "审批通过",
    ApprovalAction.REJECT: "审批拒绝", ApprovalAction.WITHDRAW: "撤回审批",
    ApprovalAction.RESUBMIT: "重新提交", ApprovalAction.VOID: "作废",
    ApprovalAction.AUTO_PASS: "自动通过", ApprovalAction.NOT_REQUIRED: "无需审批",
    ApprovalAction.TRANSFER: "转交审批",
}


class TimelineSource(Protocol):
    """Items of one category on the timelines of records (tasks, schedules … plug in here)."""

    @property
    def category(self) -> TimelineCategory: ...

    def items(self, op: Op, records: Sequence[RecordRef], *, after: TimelineKey | None,
              limit: int) -> Iterable[TimelineItem]:
        """Items of ``records`` the actor may see, newest first, below ``after``: at least the
        ``limit`` newest distinct items when there are that many (an item of several of the
        records may come once per record, each with that record as its ``source``). A few
        statements for all the records together."""
        ...


class FollowUpsOnTimeline:
    """沟通: the follow-ups of the records."""

    category = TimelineCategory.COMMUNICATION

    def items(self, op: Op, records: Sequence[RecordRef], *, after: TimelineKey | None,
              limit: int) -> Iterable[TimelineItem]:
        return [TimelineItem(f.at, self.category, RecordRef(FOLLOWUP_ITEM, f.id),
                             RecordRef(f.record_kind, f.record_id),
                             f"[{f.method}] {f.content[:SUMMARY]}", f.author_id)
                for f in op.uow.followups.for_records(records, before=after, limit=limit)]


@attrs.frozen
class ApprovalsOnTimeline:
    """审批: every action in the approval history of the records of kinds with approval."""

    runtime: Runtime
    category = TimelineCategory.APPROVAL

    def items(self, op: Op, records: Sequence[RecordRef], *, after: TimelineKey | None,
              limit: int) -> Iterable[TimelineItem]:
        by_kind: dict[str, builtins.list[str]] = {}
        for ref in records:
            declaration = self.runtime.kinds.get(ref.kind)
            if declaration is not None and declaration.has(Feature.APPROVAL):
                by_kind.setdefault(ref.kind, []).append(ref.id)
        found = [
            TimelineItem(event.at, self.category, RecordRef(APPROVAL_ITEM, f"{i.id}.{n}"),
                         RecordRef(i.record_kind, i.record_id),
                         _ACTIONS[event.action] + (f"：{event.comment}" if event.comment else ""),
                         event.actor_id)
            for kind, ids in by_kind.items() for i in op.uow.approvals.for_records(kind, ids)
            for n, event in enumerate(i.history)]
        found = [item for item in found if after is None or item.key < after]
        return sorted(found, key=lambda item: item.key, reverse=True)[:limit]


@attrs.frozen
class RelatedOnTimeline:
    """Records of a kind with related records (相关业务: tasks 任务, calendar events 日程,
    work logs 日志) that name the records, once per record they name, dated by ``at`` (their
    creation by default), titled by the kind's title — those the viewer sees
    (:meth:`~crmkit.workflow.records.RecordService.related_in`: the view permission on the
    kind's module and its scope, participants and recipients included)."""

    service: RecordService[Any]
    category: TimelineCategory
    at: Callable[[Any], datetime] = attrgetter("created_at")

    def items(self, op: Op, records: Sequence[RecordRef], *, after: TimelineKey | None,
              limit: int) -> Iterable[TimelineItem]:
        wanted = set(records)
        title = self.service.declaration.title
        found = [TimelineItem(self.at(record), self.category,
                              RecordRef(self.service.kind, record.id), ref, title(record),
                              record.created_by)
                 for record in self.service.related_in(op, records)
                 for ref in record.related if ref in wanted]
        found = [item for item in found if after is None or item.key < after]
        return sorted(found, key=lambda item: item.key, reverse=True)


@attrs.frozen
class TimelinePage:
    """One page of a timeline, newest first; ``next_cursor`` is None on the last page."""

    items: tuple[TimelineItem, ...]
    next_cursor: str | None


def _categories(chosen: Collection[str]) -> frozenset[TimelineCategory]:
    if isinstance(chosen, str) or not isinstance(chosen, Collection):
        raise ValidationError.at("$.categories", "type", "须为类别列表",
                                 "must be a list of categories")
    known = {c.value for c in TimelineCategory}
    bad = [i for i, c in enumerate(chosen) if c not in known]
    if bad:
        raise ValidationError.at(f"$.categories[{bad[0]}]", "invalid", "未知的类别",
                                 "is no timeline category")
    return frozenset(TimelineCategory(c) for c in chosen)


class TimelineService:
    def __init__(self, runtime: Runtime, access: RecordAccess,
                 sources: Iterable[TimelineSource]) -> None:
        self._rt = runtime
        self._access = access
        self.sources: builtins.list[TimelineSource] = builtins.list(sources)
        """The item sources (a module adds its own: tasks, schedules, work logs)."""

    def of(self, actor: ActorRef, kind: str, record_id: str, *,
           categories: Collection[str] = (), limit: int = 50, cursor: str | None = None
           ) -> TimelinePage:
        """One page of the record's timeline (see the module rules)."""
        module = self._rt.declaration(kind, Feature.TIMELINE).module
        with self._rt.operation(actor, module, Operation.VIEW) as op:
            chosen = _categories(categories)
            bounded_int(limit, "$.limit", 1, MAX_PAGE)
            after = decode_cursor(cursor) if cursor is not None else None
            root = self._access.visible(op, kind, record_id)
            records = [RecordRef(kind, root.id), *self._gathered(op, kind, root)]
            items = [item for source in self.sources
                     if not chosen or source.category in chosen
                     for item in source.items(op, records, after=after, limit=limit + 1)]
            page, last = timeline_page(records[0], items, limit=limit, after=after,
                                       categories=chosen)
        return TimelinePage(tuple(page), encode_cursor(last) if last is not None else None)

    def _gathered(self, op: Op, kind: str, root: Any) -> builtins.list[RecordRef]:
        """The records whose timelines roll up into ``root``'s: those the actor sees."""
        gathered: builtins.list[RecordRef] = []
        for child, field in ROLL_UP.get(kind, ()):
            declaration = self._rt.kinds.get(child)
            if declaration is None or not op.grants(declaration.module, Operation.VIEW):
                continue
            ids = [c.id for c in op.uow.records(child).children_of(field, [root.id])]
            gathered += [RecordRef(child, rid)
                         for rid in self._access.visible_many(op, child, ids)]
        return gathered
