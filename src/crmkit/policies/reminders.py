"""提醒与待办 Reminders and to-do: which items are due for whom at a moment (DESIGN §5 待办).

Each rule reads data the caller hands in and yields :class:`~crmkit.entities.reminders.Reminder`
values; days are local days of the organisation (``today`` = the local date of ``now``).

- 今日需联系 ``contact.today``: a record's next-contact time falls on today, and no follow-up
  came at or after it. Notifies the owner once per next-contact time.
- 逾期未联系 ``contact.overdue``: the next-contact time lies before today, and no follow-up came
  at or after it. Once per next-contact time.
- 任务到期 ``task.due``: an unfinished task's due date is today or past. The owner and every
  participant, once per due date.
- 日程提醒 ``schedule.reminder``: a reminder offset of an occurrence has come and the occurrence
  has not ended (:func:`crmkit.policies.recurrence.reminders_due`). The owner and every
  participant, once per occurrence and offset.
- 回款计划到期 ``payment_plan.due``: a plan not received yet (待回款, 部分回款, 逾期) reached its
  reminder day (``remind_days`` before the planned date). The contract's owner, once per plan
  and planned date.
- 合同即将到期 ``contract.expiring``: an effective contract ends within ``days`` days (today
  included). The owner, once per end date.
- 即将被收回公海 ``customer.reclaim_soon``: a customer goes back to the pool in 1 to ``days``
  days (:func:`crmkit.policies.reclaim.days_until_pool`). The owner, once per reclaim day.
- 待我审批 ``approval.waiting`` (to-do only): an approval step waits for the user.

*Once* is the keeper's part: whoever scans keeps the keys it sent (``crm.reminders.scan``
records them in the storage), and :func:`unsent` drops those — so repeated scans notify each
occasion once. The to-do of a user counts the same items, per kind.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from crmkit.entities.approvals import ApprovalInstance
from crmkit.entities.calendar import EVENT, CalendarEvent
from crmkit.entities.contracts import CONTRACT, EFFECTIVE, Contract, PlanStatus, PlanView
from crmkit.entities.kinds import RECORD_KINDS
from crmkit.entities.records import RecordRef
from crmkit.entities.reminders import Reminder, ReminderKind
from crmkit.entities.sales import CUSTOMER, Customer
from crmkit.entities.tasks import TASK, Task
from crmkit.policies.approvals import current_approvers
from crmkit.policies.recurrence import reminders_due

__all__ = [
    "Contactable",
    "approval_items",
    "contact_reminders",
    "contract_reminders",
    "payment_plan_reminders",
    "reclaim_reminders",
    "schedule_reminders",
    "task_reminders",
    "todo_counts",
    "unsent",
]

_OPEN_PLANS = frozenset({PlanStatus.PENDING, PlanStatus.PARTIAL, PlanStatus.OVERDUE})


class Contactable(Protocol):
    """A record with a next-contact time: leads, customers, contacts, opportunities,
    contracts."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def next_contact_at(self) -> datetime | None: ...
    @property
    def last_followup_at(self) -> datetime | None: ...


def _labels(kind: str) -> tuple[str, str]:
    declared = RECORD_KINDS.get(kind)
    return (declared.label_zh, declared.label_en) if declared is not None else (kind, kind)


def contact_reminders(kind: str, records: Iterable[Contactable], now: datetime, tz: ZoneInfo
                      ) -> Iterator[Reminder]:
    """今日需联系 and 逾期未联系 for records of one ``kind``."""
    today = now.astimezone(tz).date()
    zh, en = _labels(kind)
    for record in records:
        due_at, last = record.next_contact_at, record.last_followup_at
        if due_at is None or record.owner_id is None or (last is not None and last >= due_at):
            continue
        day = due_at.astimezone(tz).date()
        if day > today:
            continue
        occasion = due_at.astimezone(UTC).isoformat()  # the same instant, however stored
        if day == today:
            yield Reminder(ReminderKind.CONTACT_TODAY, record.owner_id,
                           RecordRef(kind, record.id), occasion, day,
                           f"今日需联系{zh}「{record.name}」",
                           f"Contact the {en} “{record.name}” today")
        else:
            yield Reminder(ReminderKind.CONTACT_OVERDUE, record.owner_id,
                           RecordRef(kind, record.id), occasion, day,
                           f"{zh}「{record.name}」已逾期未联系（应于 {day} 联系）",
                           f"The {en} “{record.name}” was due for contact on {day}")


def _people(owner_id: str, participant_ids: Iterable[str]) -> list[str]:
    return [owner_id, *sorted(set(participant_ids) - {owner_id})]


def task_reminders(tasks: Iterable[Task], now: datetime, tz: ZoneInfo) -> Iterator[Reminder]:
    """任务到期: unfinished tasks due today or earlier, for the owner and the participants."""
    today = now.astimezone(tz).date()
    for task in tasks:
        if task.done or task.due_date is None or task.due_date > today:
            continue
        when = "今天到期" if task.due_date == today else f"已于 {task.due_date} 到期"
        when_en = "is due today" if task.due_date == today else f"was due on {task.due_date}"
        for user_id in _people(task.owner_id, task.participant_ids):
            yield Reminder(ReminderKind.TASK_DUE, user_id, RecordRef(TASK, task.id),
                           task.due_date.isoformat(), task.due_date,
                           f"任务「{task.title}」{when}", f"The task “{task.title}” {when_en}")


def schedule_reminders(events: Iterable[CalendarEvent], now: datetime, tz: ZoneInfo
                       ) -> Iterator[Reminder]:
    """日程提醒: occurrences whose reminder time has come, for the owner and participants."""
    for event in events:
        for occurrence, minutes in reminders_due(event, now, tz):
            local = occurrence.starts_at.astimezone(tz)
            shown = (local.strftime("%Y-%m-%d") if occurrence.all_day
                     else local.strftime("%Y-%m-%d %H:%M"))
            occasion = f"{occurrence.starts_at.astimezone(UTC).isoformat()}-{minutes}m"
            for user_id in _people(event.owner_id, event.participant_ids):
                yield Reminder(ReminderKind.SCHEDULE, user_id, RecordRef(EVENT, event.id),
                               occasion, occurrence.day, f"日程「{event.title}」{shown} 开始",
                               f"The event “{event.title}” starts {shown}")


def payment_plan_reminders(plans: Iterable[PlanView], owners: Mapping[str, str | None],
                           today: date) -> Iterator[Reminder]:
    """回款计划到期: open plans on or after their reminder day; ``owners`` maps contract ids to
    their owners (the plan's reminder goes to the contract's owner, about the contract)."""
    for view in plans:
        plan = view.plan
        owner = owners.get(plan.contract_id)
        if owner is None or view.status not in _OPEN_PLANS or plan.remind_on > today:
            continue
        yield Reminder(ReminderKind.PAYMENT_PLAN_DUE, owner, RecordRef(CONTRACT, plan.contract_id),
                       f"{plan.id}@{plan.planned_date.isoformat()}", plan.planned_date,
                       f"第 {plan.period} 期回款计划 {plan.amount} 计划于 {plan.planned_date} 回款",
                       f"Payment plan period {plan.period} ({plan.amount}) is due on "
                       f"{plan.planned_date}")


def contract_reminders(contracts: Iterable[Contract], today: date, days: int
                       ) -> Iterator[Reminder]:
    """合同即将到期: effective contracts ending today or within ``days`` days."""
    last = today + timedelta(days=days)
    for contract in contracts:
        end = contract.end_date
        if (contract.owner_id is None or end is None or contract.approval_status not in EFFECTIVE
                or not today <= end <= last):
            continue
        yield Reminder(ReminderKind.CONTRACT_EXPIRING, contract.owner_id,
                       RecordRef(CONTRACT, contract.id), end.isoformat(), end,
                       f"合同「{contract.name}」将于 {end} 到期",
                       f"The contract “{contract.name}” ends on {end}")


def reclaim_reminders(customers: Iterable[tuple[Customer, int | None]], today: date, days: int
                      ) -> Iterator[Reminder]:
    """即将被收回公海: customers with 1..``days`` days until the pool (pairs of a customer and
    its ``days_until_pool``)."""
    for customer, remaining in customers:
        if customer.owner_id is None or remaining is None or not 1 <= remaining <= days:
            continue
        day = today + timedelta(days=remaining)
        yield Reminder(ReminderKind.RECLAIM_SOON, customer.owner_id,
                       RecordRef(CUSTOMER, customer.id), day.isoformat(), day,
                       f"客户「{customer.name}」将于 {remaining} 天后被收回公海",
                       f"The customer “{customer.name}” goes back to the pool in {remaining} "
                       "day(s)")


def approval_items(instances: Iterable[ApprovalInstance], today: date) -> Iterator[Reminder]:
    """待我审批: one item per approver a running instance waits for."""
    for instance in instances:
        zh, en = _labels(instance.record_kind)
        for user_id in current_approvers(instance):
            yield Reminder(ReminderKind.APPROVAL_WAITING, user_id,
                           RecordRef(instance.record_kind, instance.record_id),
                           f"{instance.id}#{instance.current}", today,
                           f"{zh}等待您审批", f"A {en} waits for your approval")


def unsent(reminders: Iterable[Reminder], sent: Collection[str]) -> list[Reminder]:
    """The reminders whose key is not in ``sent`` — each key once, in the given order."""
    seen = set(sent)
    fresh: list[Reminder] = []
    for reminder in reminders:
        if reminder.key not in seen:
            seen.add(reminder.key)
            fresh.append(reminder)
    return fresh


def todo_counts(user_id: str, items: Iterable[Reminder]) -> dict[ReminderKind, int]:
    """待办: per kind, how many records wait for ``user_id`` (every kind listed, zeros too; a
    record counts once per kind however many occasions it has)."""
    records: dict[ReminderKind, set[RecordRef]] = {kind: set() for kind in ReminderKind}
    for item in items:
        if item.recipient_id == user_id:
            records[item.kind].add(item.record)
    return {kind: len(refs) for kind, refs in records.items()}
