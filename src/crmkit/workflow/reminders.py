"""提醒与待办 Reminders and to-do (``crm.reminders``): the due-reminder scan and a user's to-do.

- :meth:`ReminderService.scan` is background work the host schedules (every few minutes, or
  ``crmkit sweep`` from cron): as the host's :class:`~crmkit.SystemActor`, or a user holding
  the ``org`` module's ``edit`` permission (an administrator running it by hand). It gathers
  what is due from every :class:`ReminderSource` — customers and other records to contact
  today or overdue, tasks due, calendar reminders (日程提醒), payment plans at their reminder
  day, contracts ending within ``contract_days``, customers reclaimed within ``reclaim_days``
  — and notifies each item once: its key is recorded in the same transaction
  (``uow.reminders.record``), and only the keys recorded by this scan are sent. Two scans at
  once send each reminder once.
- :meth:`ReminderService.todo` (待办) lists the acting user's own items of the same rules plus
  待我审批, with a count per category (every category listed, zeros too).
- Set-based: each source reads in a few statements per page of rows, never per record.
  The scan looks back :data:`LOOKBACK_DAYS` days for overdue next-contact times and tasks
  (older ones were reminded by an earlier scan); the to-do shows every overdue item.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

import attrs

from crmkit.entities import Module, Operation, RecordScope
from crmkit.entities.contracts import CONTRACT, EFFECTIVE, Contract
from crmkit.entities.fields import ValueKind
from crmkit.entities.kinds import SCHEDULE_KIND, TASK_KIND, Feature, RecordKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
from crmkit.entities.reminders import Reminder, ReminderKind
from crmkit.policies.contracts import plan_views
from crmkit.policies.reclaim import local_date
from crmkit.policies.recurrence import MAX_REMINDER_MINUTES
from crmkit.policies.reminders import (
    approval_items,
    contact_reminders,
    contract_reminders,
    payment_plan_reminders,
    reclaim_reminders,
    schedule_reminders,
    task_reminders,
    todo_counts,
    unsent,
)
from crmkit.workflow.operations import Actor, ActorRef, Op, Runtime
from crmkit.workflow.pool import PoolService
from crmkit.workflow.records import bounded_int, query_all

REMINDER_JOB = "reminders.scan"
"""The job lock of the scan (one at a time across processes)."""
LOOKBACK_DAYS = 30
"""How far back the scan looks for overdue next-contact times and tasks."""
CONTRACT_DAYS = 30
"""合同即将到期: the default window, in days from today."""
RECLAIM_DAYS = 3
"""即将被收回公海: the default window, in days until the pool."""
PAGE = 1000
"""Plans per statement when the payment-plan source pages through the due plans."""

_OWNER = FieldRef("owner_id", ValueKind.TEXT, True)
_NEXT_CONTACT = FieldRef("next_contact_at", ValueKind.DATETIME, True)
_DONE = FieldRef("done", ValueKind.BOOLEAN, True)
_DUE_DATE = FieldRef("due_date", ValueKind.DATE, True)
_END_DATE = FieldRef("end_date", ValueKind.DATE, True)
_APPROVAL = FieldRef("approval_status", ValueKind.TEXT, True)
_STARTS = FieldRef("starts_at", ValueKind.DATETIME, True)
_SERIES_END = FieldRef("series_ends_at", ValueKind.DATETIME, True)


@attrs.frozen
class Window:
    """What a source looks for: items due at ``now`` (local days in ``tz``), for everyone
    (``recipient`` None: the scan) or for one user (the to-do)."""

    now: datetime
    tz: ZoneInfo
    recipient: str | None = None
    contract_days: int = CONTRACT_DAYS
    reclaim_days: int = RECLAIM_DAYS

    @property
    def today(self) -> date:
        return local_date(self.now, self.tz)

    @property
    def lookback(self) -> date | None:
        """The earliest due day the scan reads (None for the to-do: everything overdue)."""
        return self.today - timedelta(days=LOOKBACK_DAYS) if self.recipient is None else None

    def midnight(self, day: date) -> datetime:
        """The UTC instant local ``day`` starts."""
        return datetime.combine(day, time(), tzinfo=self.tz).astimezone(UTC)

    def owned(self) -> tuple[Condition, ...]:
        """Records with an owner — the recipient, when there is one."""
        if self.recipient is None:
            return (Condition(_OWNER, Operator.NOT_EMPTY),)
        return (Condition(_OWNER, Operator.EQ, self.recipient),)


class ReminderSource(Protocol):
    """Where reminders of some kinds come from (tasks, schedules … plug in here)."""

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        """The items due in ``window`` — for its recipient only when it names one — read
        set-based (a few statements, never one per record)."""
        ...


def records_where(op: Op, kind: str | RecordKind[Any], conditions: Sequence[Condition],
                  scope: RecordScope | None = None) -> builtins.list[Any]:
    """Every record of ``kind`` in ``scope`` (default: all) meeting ``conditions``, read a page
    at a time (:func:`~crmkit.workflow.records.query_all`)."""
    query = RecordQuery(scope or RecordScope.everything(), tuple(conditions))
    return query_all(op.uow.records(kind), query)


@attrs.frozen
class ContactsDue:
    """今日需联系 / 逾期未联系 on records of one kind with follow-ups (a converted lead lives
    on as its customer, so it is left out)."""

    kind: str

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        conditions = [*window.owned(),
                      Condition(_NEXT_CONTACT, Operator.LT,
                                window.midnight(window.today + timedelta(days=1)))]
        if window.lookback is not None:
            conditions.append(Condition(_NEXT_CONTACT, Operator.GE,
                                        window.midnight(window.lookback)))
        records = (r for r in records_where(op, self.kind, conditions)
                   if not getattr(r, "converted", False))
        return contact_reminders(self.kind, records, window.now, window.tz)


class TasksDue:
    """任务到期: unfinished tasks due today or earlier, for their owner and participants (a
    task's participants are its team: the to-do reads the recipient's own and team tasks)."""

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        conditions = [Condition(_DONE, Operator.EQ, False),
                      Condition(_DUE_DATE, Operator.LE, window.today)]
        if window.lookback is not None:
            conditions.append(Condition(_DUE_DATE, Operator.GE, window.lookback))
        return task_reminders(records_where(op, TASK_KIND, conditions,
                                            _own_or_team(window.recipient)),
                              window.now, window.tz)


def _own_or_team(user_id: str | None) -> RecordScope | None:
    """The records a user owns or is on the team of (a task's participants, an event's); None
    (everything) for no user."""
    if user_id is None:
        return None
    return RecordScope(owner_ids=frozenset({user_id}), team_user_id=user_id)


class SchedulesDue:
    """日程提醒: occurrences whose reminder time has come and that have not ended, for the
    owner and the participants (the event's read-only team). The events read are those that
    start before the latest reminder could fall due and whose series has not ended: two
    statements (a series without end, a series ending later)."""

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        soon = Condition(_STARTS, Operator.LE,
                         window.now + timedelta(minutes=MAX_REMINDER_MINUTES, seconds=1))
        scope = _own_or_team(window.recipient)
        events = [event for ends in (Condition(_SERIES_END, Operator.IS_EMPTY),
                                     Condition(_SERIES_END, Operator.GT, window.now))
                  for event in records_where(op, SCHEDULE_KIND, (soon, ends), scope)]
        return schedule_reminders(events, window.now, window.tz)


class ContractsExpiring:
    """合同即将到期: effective contracts ending within ``contract_days`` days."""

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        last = window.today + timedelta(days=window.contract_days)
        conditions = [*window.owned(),
                      Condition(_END_DATE, Operator.BETWEEN, (window.today, last)),
                      Condition(_APPROVAL, Operator.IN, tuple(s.value for s in EFFECTIVE))]
        return contract_reminders(records_where(op, CONTRACT, conditions), window.today,
                                  window.contract_days)


class PaymentPlansDue:
    """回款计划到期: plans whose reminder day has come and that are neither done nor void,
    paged through the storage's due list; each page's contracts and receipts in one read."""

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        after: tuple[date, str] | None = None
        while True:
            page = op.uow.plans.due(window.today, after=after, limit=PAGE)
            contracts: dict[str, Contract] = {
                c.id: c for c in op.uow.records(CONTRACT).get_many(
                    builtins.list(dict.fromkeys(p.contract_id for p in page)))
                if window.recipient is None or c.owner_id == window.recipient}
            mine = [p for p in page if p.contract_id in contracts]
            received = op.uow.plans.received_by_plan([p.id for p in mine]) if mine else {}
            views = plan_views(mine, received,
                               {cid: c.approval_status for cid, c in contracts.items()},
                               window.today)
            yield from payment_plan_reminders(
                views, {cid: c.owner_id for cid, c in contracts.items()}, window.today)
            if len(page) < PAGE:
                return
            after = (page[-1].planned_date, page[-1].id)


@attrs.frozen
class ReclaimSoon:
    """即将被收回公海: customers their pools' rules reclaim within ``reclaim_days`` days."""

    pool: PoolService

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        found = self.pool.reclaimed_soon(op, window.now, window.reclaim_days, window.recipient)
        return reclaim_reminders(found, window.today, window.reclaim_days)


class ApprovalsWaiting:
    """待我审批 (to-do only: approvers are notified when their turn comes)."""

    LIMIT = 10_000

    def due(self, op: Op, window: Window) -> Iterable[Reminder]:
        if window.recipient is None:
            return ()
        waiting = op.uow.approvals.waiting_for(window.recipient, limit=self.LIMIT)
        return approval_items(waiting, window.today)


def default_sources(runtime: Runtime, pool: PoolService) -> builtins.list[ReminderSource]:
    """crmkit's sources: contacts due on every kind with follow-ups and a name, tasks,
    calendar events, contracts, payment plans, reclaim, approvals."""
    contacts: builtins.list[ReminderSource] = [
        ContactsDue(kind) for kind, declaration in runtime.kinds.items()
        if declaration.has(Feature.FOLLOWUPS) and "name" in declaration.attributes]
    return [*contacts, TasksDue(), SchedulesDue(), ContractsExpiring(), PaymentPlansDue(),
            ReclaimSoon(pool), ApprovalsWaiting()]


@attrs.frozen
class ScanReport:
    """What a scan sent: each reminder once (its notification went to its recipient)."""

    at: datetime
    sent: tuple[Reminder, ...]

    def by_kind(self) -> dict[ReminderKind, int]:
        return dict(Counter(r.kind for r in self.sent))


@attrs.frozen
class Todo:
    """待办 of one user: ``counts`` per category (every category, zeros too; a record counts
    once per category) and the items, soonest due first."""

    user_id: str
    at: datetime
    counts: dict[ReminderKind, int]
    items: tuple[Reminder, ...]


def _check_windows(contract_days: int, reclaim_days: int) -> None:
    bounded_int(contract_days, "$.contract_days", 0, 3650)
    bounded_int(reclaim_days, "$.reclaim_days", 1, 3650)


class ReminderService:
    def __init__(self, runtime: Runtime, sources: Iterable[ReminderSource]) -> None:
        self._rt = runtime
        self.sources: builtins.list[ReminderSource] = builtins.list(sources)
        """The reminder sources, in scan order (a host or module appends its own)."""

    def _window(self, now: datetime, recipient: str | None, contract_days: int,
                reclaim_days: int) -> Window:
        return Window(now, self._rt.tz, recipient, contract_days, reclaim_days)

    def scan(self, actor: Actor, *, at: datetime | None = None,
             contract_days: int = CONTRACT_DAYS, reclaim_days: int = RECLAIM_DAYS
             ) -> ScanReport:
        """Notify every reminder due at ``at`` (default now) that was not sent before.
        Background work: the host's SystemActor, or a user holding ``org`` ``edit``."""
        with self._rt.operation(actor, Module.ORG, Operation.EDIT, system=True) as op:
            _check_windows(contract_days, reclaim_days)
            op.uow.lock_job(REMINDER_JOB)
            now = at or op.now
            window = self._window(now, None, contract_days, reclaim_days)
            found = unsent((r for source in self.sources for r in source.due(op, window)), ())
            recorded = op.uow.reminders.record([(r.key, r.due) for r in found], op.now)
            sent = tuple(r for r in found if r.key in recorded)
            for reminder in sent:
                op.notify(reminder.notification())
            return ScanReport(now, sent)

    def todo(self, actor: ActorRef, *, contract_days: int = CONTRACT_DAYS,
             reclaim_days: int = RECLAIM_DAYS) -> Todo:
        """待办 of the acting user, now: their items of every source and the counts."""
        with self._rt.operation(actor, Module.TASKS, None) as op:
            _check_windows(contract_days, reclaim_days)
            me = op.user_id
            window = self._window(op.now, me, contract_days, reclaim_days)
            items = [r for source in self.sources for r in source.due(op, window)
                     if r.recipient_id == me]
            items = unsent(items, ())
            items.sort(key=lambda r: (r.due, r.kind.value, r.record))
            return Todo(me, op.now, todo_counts(me, items), tuple(items))
