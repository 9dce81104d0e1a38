"""日志 Work-log rules: a valid log, its period, who receives it and who has read it.

- A log's ``period_start`` is the first day of its period: any day for a daily log, a Monday for
  a weekly one, the 1st for a monthly one (:func:`period_start` finds it for any day).
- At least one of its sections holds text; each holds at most 10,000 characters.
- It is copied to users and departments; the recipients are those users plus every user of a
  copied department and of the departments below it — never the author.
- The author and the recipients see the log; a recipient's first reading marks it read
  (:func:`mark_read`); the author reading their own log marks nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

import attrs

from crmkit.entities.worklogs import SECTION_MAX, LogPeriod, WorkLog
from crmkit.errors import FieldError
from crmkit.policies.scopes import OrgIndex
from crmkit.policies.validation import Problems

__all__ = [
    "MAX_COPIED",
    "SECTION_MAX",
    "log_problems",
    "mark_read",
    "period_start",
    "recipients",
    "unread",
]

MAX_COPIED = 200


def period_start(day: date, period: LogPeriod) -> date:
    """The first day of the period ``day`` falls in."""
    if period is LogPeriod.WEEKLY:
        return day - timedelta(days=day.weekday())
    if period is LogPeriod.MONTHLY:
        return day.replace(day=1)
    return day


def log_problems(log: WorkLog) -> list[FieldError]:
    """Problems of a work log as it would be stored (empty when valid)."""
    problems = Problems()
    if period_start(log.period_start, log.period) != log.period_start:
        problems.add("$.period_start", "work_log.period_start",
                     "（周报须为周一，月报须为 1 日）",
                     " (a Monday for a weekly log, the 1st for a monthly one)")
    sections = {"done": log.done, "plan": log.plan, "problems": log.problems}
    if not any(text.strip() for text in sections.values()):
        problems.add("$.done", "work_log.empty", "（至少填写一项）",
                     " (write at least one section)")
    for name, text in sections.items():
        problems.text(f"$.{name}", text, required=False, max_length=SECTION_MAX)
    if len(log.copied_user_ids) + len(log.copied_department_ids) > MAX_COPIED:
        problems.add("$.copied_user_ids", "too_many", f"（最多 {MAX_COPIED} 个）",
                     f" (max {MAX_COPIED})")
    problems.related("$.related", log.related)
    return problems.errors


def recipients(log: WorkLog, org: OrgIndex) -> frozenset[str]:
    """Copied users plus the users of copied departments and their sub-departments, without
    the author."""
    users = set(log.copied_user_ids)
    for department in log.copied_department_ids:
        users |= org.users_in_tree(department)
    users.discard(log.owner_id)
    return frozenset(users)


def mark_read(log: WorkLog, user_id: str, org: OrgIndex) -> WorkLog:
    """The log with ``user_id`` among its readers when a recipient (else unchanged)."""
    if user_id in log.read_by or user_id not in recipients(log, org):
        return log
    return attrs.evolve(log, read_by=log.read_by | {user_id})


def unread(logs: Iterable[WorkLog], user_id: str, org: OrgIndex) -> list[WorkLog]:
    """The logs copied to ``user_id`` they have not read yet, newest period first."""
    waiting = [log for log in logs
               if user_id not in log.read_by and user_id in recipients(log, org)]
    return sorted(waiting, key=lambda log: (log.period_start, log.created_at, log.id),
                  reverse=True)
