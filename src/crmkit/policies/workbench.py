"""工作台 The workbench: a user's tasks in four columns, filtered, and moved between them.

- The workbench of a user shows the tasks they own or take part in. A subtask shows under its
  parent, so it is listed on its own only when the user does not see the parent.
- Each task sits in the column of the user's :class:`~crmkit.entities.tasks.Placement`, or in
  the inbox (收件箱) without one. A column lists its placed tasks by order key, then task id;
  unplaced inbox tasks come first, newest first (the inbox is where new work arrives).
- Moving a task to position ``i`` of a column (0 = top, counted among the column's other tasks)
  gives it an order key between its new neighbours — only the moved task's placement changes.
- Filters (:class:`~crmkit.entities.tasks.TaskFilter`) must all hold: any of the tags, any of
  the priorities, the owner, a participant, a due window, done or not.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from crmkit.entities.tasks import Bucket, Placement, Task, TaskFilter
from crmkit.errors import ValidationError
from crmkit.policies.order_keys import key_between
from crmkit.policies.tasks import in_due_window

__all__ = ["file_new", "matches", "move", "workbench"]


def matches(task: Task, wanted: TaskFilter, now: datetime, tz: ZoneInfo) -> bool:
    """Whether a task passes every set filter."""
    if wanted.tag_ids and wanted.tag_ids.isdisjoint(task.tag_ids):
        return False
    if wanted.priorities and task.priority not in wanted.priorities:
        return False
    if wanted.owner_id is not None and task.owner_id != wanted.owner_id:
        return False
    if wanted.participant_id is not None and wanted.participant_id not in task.participant_ids:
        return False
    if wanted.done is not None and task.done != wanted.done:
        return False
    return wanted.due is None or in_due_window(task, wanted.due, now, tz)


def workbench(user_id: str, tasks: Iterable[Task], placements: Iterable[Placement],
              now: datetime, tz: ZoneInfo, wanted: TaskFilter | None = None
              ) -> dict[Bucket, list[Task]]:
    """The user's columns, each in order (see the module rules); every column is present."""
    mine = {t.id: t for t in tasks if t.involves(user_id)}
    where = {p.task_id: p for p in placements if p.user_id == user_id and p.task_id in mine}
    columns: dict[Bucket, list[Task]] = {bucket: [] for bucket in Bucket}
    shown = [t for t in mine.values() if t.parent_id not in mine
             and (wanted is None or matches(t, wanted, now, tz))]
    unplaced = sorted((t for t in shown if t.id not in where),
                      key=lambda t: (t.created_at, t.id), reverse=True)
    columns[Bucket.INBOX].extend(unplaced)
    for task in sorted((t for t in shown if t.id in where),
                       key=lambda t: (where[t.id].order_key, t.id)):
        columns[where[task.id].bucket].append(task)
    return columns


def _ordered(column: Sequence[Placement]) -> list[Placement]:
    return sorted(column, key=lambda p: (p.order_key, p.task_id))


def move(user_id: str, task_id: str, bucket: Bucket, column: Iterable[Placement],
         position: int) -> Placement:
    """The placement of ``task_id`` at ``position`` of ``bucket``; ``column`` holds the user's
    placements in that column (the moved task's own, if there, is left out)."""
    others = _ordered([p for p in column if p.task_id != task_id
                       and p.user_id == user_id and p.bucket is bucket])
    if not 0 <= position <= len(others):
        raise ValidationError.at("$.position", "workbench.position",
                                 f"须在 0..{len(others)} 之间",
                                 f"must be 0..{len(others)}")
    before = others[position - 1].order_key if position else None
    # Keys written concurrently may tie: the first key above ``before`` bounds the new one.
    later = [p.order_key for p in others[position:] if before is None or p.order_key > before]
    after = later[0] if later else None
    return Placement(user_id, task_id, bucket, key_between(before, after))


def file_new(user_id: str, task_id: str, column: Iterable[Placement],
             bucket: Bucket = Bucket.INBOX) -> Placement:
    """A placement for a task newly on the user's workbench: on top of ``bucket``."""
    return move(user_id, task_id, bucket, column, 0)
