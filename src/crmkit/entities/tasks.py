"""任务 Tasks and the workbench (工作台, DESIGN §5): tasks, a user's tags, and where a task sits
on one user's workbench.

A task has one owner (负责人) and any number of participants (参与人); both see it. Its due
date is a local calendar day in the organisation's timezone, optionally with a local time of day
(:func:`crmkit.policies.tasks.deadline` turns both into an instant). Subtasks are tasks whose
``parent_id`` names their task. Related records (相关业务) are customers, contacts,
opportunities and contracts.

The workbench is per user: each user files a task into one of four columns and orders it there
(:class:`Placement`); a task the user has not filed yet sits in the inbox (收件箱). So the owner
and a participant arrange the same task independently.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime, time

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping
from crmkit.entities.records import RecordRef

__all__ = [
    "DEFAULT_TAG_COLOUR",
    "RELATED_KINDS",
    "TASK",
    "Bucket",
    "DueWindow",
    "Placement",
    "Priority",
    "Tag",
    "Task",
    "TaskFilter",
]

TASK = "task"

RELATED_KINDS = frozenset({"customer", "contact", "opportunity", "contract"})
"""The record kinds a task, schedule or work log may name as related (相关业务)."""


DEFAULT_TAG_COLOUR = "#8c8c8c"
"""A tag's colour unless chosen."""


class Priority(enum.StrEnum):
    """优先级: 高 / 中 / 低 / 无."""

    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"
    NONE = "none"

    @property
    def label_zh(self) -> str:
        return {"high": "高", "medium": "中", "low": "低", "none": "无"}[self.value]

    @property
    def rank(self) -> int:
        """0 for 高 … 3 for 无: sorting by rank puts the most urgent first."""
        return ("high", "medium", "low", "none").index(self.value)


class Bucket(enum.StrEnum):
    """A workbench column: 收件箱 / 今天要做 / 下一步要做 / 以后要做."""

    INBOX = "inbox"
    TODAY = "today"
    NEXT = "next"
    LATER = "later"

    @property
    def label_zh(self) -> str:
        return {"inbox": "收件箱", "today": "今天要做", "next": "下一步要做",
                "later": "以后要做"}[self.value]


class DueWindow(enum.StrEnum):
    """Due-date filters of the workbench, in local days of the organisation."""

    OVERDUE = "overdue"
    """Unfinished and past its deadline."""
    TODAY = "today"
    TOMORROW = "tomorrow"
    THIS_WEEK = "this_week"
    """Monday to Sunday of the current week."""
    NEXT_7_DAYS = "next_7_days"
    """Today and the six days after it."""
    THIS_MONTH = "this_month"
    NO_DUE_DATE = "none"


@attrs.frozen
class Task:
    """A task. ``due_time`` is only set with ``due_date`` (both local to the organisation);
    ``done_at`` is set exactly while ``done``."""

    id: str
    title: str
    owner_id: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    description: str | None = None
    participant_ids: frozenset[str] = frozenset()
    due_date: date | None = None
    due_time: time | None = None
    priority: Priority = attrs.field(default=Priority.NONE, converter=Priority)
    tag_ids: tuple[str, ...] = ()
    parent_id: str | None = None
    done: bool = False
    done_at: datetime | None = None
    related: tuple[RecordRef, ...] = ()
    attachment_ids: tuple[str, ...] = ()
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)

    def involves(self, user_id: str) -> bool:
        """Whether the user is the owner or a participant (who see the task)."""
        return user_id == self.owner_id or user_id in self.participant_ids


@attrs.frozen
class Tag:
    """标签: one user's label for tasks, with a colour (``#RRGGBB``)."""

    id: str
    owner_id: str
    name: str
    colour: str = DEFAULT_TAG_COLOUR
    version: int = 1


@attrs.frozen
class Placement:
    """Where one user keeps one task on their workbench: the column and an order key (tasks in a
    column sort by key, then id; see :mod:`crmkit.policies.order_keys`)."""

    user_id: str
    task_id: str
    bucket: Bucket
    order_key: str


@attrs.frozen
class TaskFilter:
    """Workbench filters; each set one must hold (an empty one is no filter). ``tag_ids`` and
    ``priorities`` match any of theirs; ``done`` None shows done and undone tasks."""

    tag_ids: frozenset[str] = frozenset()
    priorities: frozenset[Priority] = frozenset()
    owner_id: str | None = None
    participant_id: str | None = None
    due: DueWindow | None = None
    done: bool | None = None
