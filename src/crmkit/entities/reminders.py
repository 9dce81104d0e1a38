"""提醒 Reminders and 待办 to-do items: what is due for whom, and the notification it becomes.

The reminder scan (:mod:`crmkit.policies.reminders`) finds items due at a moment; each has a
stable :class:`ReminderKind`, the record it is about, the recipient, and a ``key`` naming the
occasion, so a scan that keeps the keys it has sent (``crm.reminders.scan`` does, in the
storage) notifies each occasion once however often it runs.
"""

from __future__ import annotations

import enum
from datetime import date

import attrs

from crmkit.entities.common import Notification
from crmkit.entities.records import RecordRef

__all__ = ["Reminder", "ReminderKind"]


class ReminderKind(enum.StrEnum):
    """The stable kind of a reminder (the notification's ``kind``) and its to-do category."""

    CONTACT_TODAY = "contact.today"
    """今日需联系: the record's next-contact time falls on today."""
    CONTACT_OVERDUE = "contact.overdue"
    """已逾期未联系: the next-contact time lies before today and no follow-up came since."""
    TASK_DUE = "task.due"
    """任务到期: an unfinished task's due date is today or past."""
    SCHEDULE = "schedule.reminder"
    """日程提醒: a reminder offset of an event occurrence has come."""
    PAYMENT_PLAN_DUE = "payment_plan.due"
    """回款计划即将到期: a plan not yet received reached its reminder day."""
    CONTRACT_EXPIRING = "contract.expiring"
    """合同即将到期: an effective contract ends within N days."""
    RECLAIM_SOON = "customer.reclaim_soon"
    """即将被收回公海: a customer goes back to the pool within N days."""
    APPROVAL_WAITING = "approval.waiting"
    """待我审批: an approval waits for the user (a to-do category; never a scan reminder)."""

    @property
    def label_zh(self) -> str:
        return _LABELS[self][0]

    @property
    def label_en(self) -> str:
        return _LABELS[self][1]


_LABELS: dict[ReminderKind, tuple[str, str]] = {
    ReminderKind.CONTACT_TODAY: ("今日需联系", "to contact today"),
    ReminderKind.CONTACT_OVERDUE: ("逾期未联系", "contact overdue"),
    ReminderKind.TASK_DUE: ("任务到期", "task due"),
    ReminderKind.SCHEDULE: ("日程提醒", "event reminder"),
    ReminderKind.PAYMENT_PLAN_DUE: ("回款计划到期", "payment plan due"),
    ReminderKind.CONTRACT_EXPIRING: ("合同即将到期", "contract expiring"),
    ReminderKind.RECLAIM_SOON: ("即将被收回公海", "going back to the pool soon"),
    ReminderKind.APPROVAL_WAITING: ("待我审批", "waiting for my approval"),
}


@attrs.frozen
class Reminder:
    """One item due for one recipient. ``occasion`` tells this occasion from later ones of the
    same record (the due date, the occurrence start …); ``key`` combines all of it."""

    kind: ReminderKind
    recipient_id: str
    record: RecordRef
    occasion: str
    due: date
    text_zh: str
    text_en: str

    @property
    def key(self) -> str:
        """``kind recipient record-kind record-id occasion``: ids hold no whitespace, so the key
        is unambiguous; a host stores it to send each occasion once."""
        return " ".join((self.kind.value, self.recipient_id, self.record.kind, self.record.id,
                         self.occasion))

    def notification(self) -> Notification:
        """The notification to send: the stable kind, the target record and zh/en text."""
        return Notification(self.recipient_id, self.kind.value, self.text_zh, self.text_en,
                            self.record.kind, self.record.id,
                            {"key": self.key, "due": self.due.isoformat()})
