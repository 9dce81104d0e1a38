"""Task rules (DESIGN §5 任务): what a valid task and tag are, when a task is due, completing
and reopening, and the due-date windows of the workbench filters.

- A task has a title (1–200 characters, not blank); a due time only together with a due date;
  ``done_at`` exactly while done; related records are customers, contacts, opportunities or
  contracts, each once; at most 20 tags and 100 participants.
- Subtasks are one level deep: a subtask's parent is a task that is not itself a subtask, and a
  task that has subtasks cannot become one.
- The *deadline* is the instant a task becomes overdue: its due time on its due date, or — with
  a due date only — the end of that local day (the next day's local midnight). A task without a
  due date is never overdue.
- A tag (per user) has a name of 1–20 characters, unique for its owner ignoring case and outer
  spaces, and a colour ``#RRGGBB``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from crmkit.entities.tasks import DueWindow, Tag, Task
from crmkit.errors import FieldError
from crmkit.policies.validation import Problems

__all__ = [
    "DESCRIPTION_MAX",
    "MAX_PARTICIPANTS",
    "MAX_TAGS",
    "TAG_NAME_MAX",
    "TITLE_MAX",
    "complete",
    "deadline",
    "in_due_window",
    "reopen",
    "tag_problems",
    "task_problems",
]

TITLE_MAX = 200
DESCRIPTION_MAX = 5000
TAG_NAME_MAX = 20
MAX_TAGS = 20
MAX_PARTICIPANTS = 100
_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def task_problems(task: Task, parents: Mapping[str, str | None] | None = None
                  ) -> list[FieldError]:
    """Problems of a task as it would be stored (empty when valid). ``parents`` maps the ids
    of other tasks to their own ``parent_id`` — enough to check the one-level subtask rule."""
    problems = Problems()
    problems.text("$.title", task.title, required=True, max_length=TITLE_MAX)
    problems.text("$.description", task.description, required=False,
                  max_length=DESCRIPTION_MAX)
    if task.due_time is not None and task.due_date is None:
        problems.add("$.due_time", "task.time_without_date", "（请先设置截止日期）",
                     " (set a due date first)")
    if task.done != (task.done_at is not None):
        problems.add("$.done_at", "invalid")
    if len(task.tag_ids) > MAX_TAGS:
        problems.add("$.tag_ids", "too_many", f"（最多 {MAX_TAGS} 个）", f" (max {MAX_TAGS})")
    if len(set(task.tag_ids)) != len(task.tag_ids):
        problems.add("$.tag_ids", "invalid")
    if len(task.participant_ids) > MAX_PARTICIPANTS:
        problems.add("$.participant_ids", "too_many", f"（最多 {MAX_PARTICIPANTS} 人）",
                     f" (max {MAX_PARTICIPANTS})")
    problems.related("$.related", task.related)
    if task.parent_id is not None:
        known = parents or {}
        if task.parent_id == task.id or known.get(task.parent_id) is not None:
            problems.add("$.parent_id", "task.nested_subtask")
        elif task.id in known.values():
            problems.add("$.parent_id", "task.has_subtasks")
    return problems.errors


def tag_problems(tag: Tag, others: Iterable[Tag] = ()) -> list[FieldError]:
    """Problems of a tag; ``others`` are its owner's other tags (for the unique name)."""
    problems = Problems()
    problems.text("$.name", tag.name, required=True, max_length=TAG_NAME_MAX)
    name = tag.name.strip().casefold()
    if any(o.id != tag.id and o.owner_id == tag.owner_id and o.name.strip().casefold() == name
           for o in others):
        problems.add("$.name", "tag.name_taken")
    if not _COLOUR.fullmatch(tag.colour):
        problems.add("$.colour", "tag.colour", "（格式 #RRGGBB）", " (#RRGGBB)")
    return problems.errors


def deadline(task: Task, tz: ZoneInfo) -> datetime | None:
    """The instant the task becomes overdue (see the module rules); None without a due date."""
    if task.due_date is None:
        return None
    if task.due_time is not None:
        return datetime.combine(task.due_date, task.due_time, tzinfo=tz)
    return datetime.combine(task.due_date + timedelta(days=1), time.min, tzinfo=tz)


def complete(task: Task, at: datetime) -> Task:
    """The task ticked done at ``at`` (already done: unchanged)."""
    return task if task.done else attrs.evolve(task, done=True, done_at=at, updated_at=at)


def reopen(task: Task, at: datetime) -> Task:
    """The task unticked (not done: unchanged)."""
    return attrs.evolve(task, done=False, done_at=None, updated_at=at) if task.done else task


def _window_days(window: DueWindow, today: date) -> tuple[date, date]:
    """First and last local day of a date window."""
    if window is DueWindow.TODAY:
        return today, today
    if window is DueWindow.TOMORROW:
        return today + timedelta(days=1), today + timedelta(days=1)
    if window is DueWindow.THIS_WEEK:
        monday = today - timedelta(days=today.weekday())
        return monday, monday + timedelta(days=6)
    if window is DueWindow.NEXT_7_DAYS:
        return today, today + timedelta(days=6)
    first = today.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following - timedelta(days=1)


def in_due_window(task: Task, window: DueWindow, now: datetime, tz: ZoneInfo) -> bool:
    """Whether the task falls in a due window at ``now`` (local days in ``tz``)."""
    if window is DueWindow.NO_DUE_DATE:
        return task.due_date is None
    if window is DueWindow.OVERDUE:
        instant = deadline(task, tz)
        return not task.done and instant is not None and instant <= now
    if task.due_date is None:
        return False
    first, last = _window_days(window, now.astimezone(tz).date())
    return first <= task.due_date <= last
