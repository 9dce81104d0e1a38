"""跟进记录 The timeline of a record: what happened on it and on the records it gathers.

The seed divides a record's timeline into 沟通记录 (follow-ups), 日志记录 (work logs), 日程记录
(calendar events), 任务记录 (tasks) and 审批记录 (approval actions). Each item says which record
it came from (a customer's timeline rolls up its contacts', opportunities' and contracts').
Items are listed newest first and paged by :class:`TimelineKey`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from crmkit.entities.records import RecordRef

__all__ = ["APPROVAL_ITEM", "FOLLOWUP_ITEM", "TimelineCategory", "TimelineItem", "TimelineKey"]

FOLLOWUP_ITEM = "followup"
"""The item kind of a follow-up on a timeline (沟通)."""
APPROVAL_ITEM = "approval"
"""The item kind of an approval action on a timeline (审批); its id is ``<instance id>.<n>``,
the n-th event of the instance's history."""


class TimelineCategory(enum.StrEnum):
    """沟通 / 日志 / 日程 / 任务 / 审批."""

    COMMUNICATION = "communication"
    LOG = "log"
    SCHEDULE = "schedule"
    TASK = "task"
    APPROVAL = "approval"

    @property
    def label_zh(self) -> str:
        return {"communication": "沟通", "log": "日志", "schedule": "日程", "task": "任务",
                "approval": "审批"}[self.value]


@attrs.frozen(order=True)
class TimelineKey:
    """The keyset position of an item: its time, then its kind, then its id (a total order:
    two items never share all three)."""

    at: datetime
    kind: str
    id: str


@attrs.frozen
class TimelineItem:
    """One entry: ``item`` names the follow-up, task, event, log or approval; ``source`` the
    record whose timeline it belongs to; ``title`` a one-line summary."""

    at: datetime
    category: TimelineCategory
    item: RecordRef
    source: RecordRef
    title: str = ""
    actor_id: str | None = None

    @property
    def key(self) -> TimelineKey:
        return TimelineKey(self.at, self.item.kind, self.item.id)
