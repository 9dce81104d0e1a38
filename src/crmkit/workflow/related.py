"""Payload parts shared by the 办公 kinds (tasks, schedules, work logs): 相关业务 related
records the writer may see, and the users or departments a record names (participants,
copied-to). Each check returns its errors (the caller raises them with its own); a missing
record and one out of sight answer alike (``not_found``). Names kept from the stored version
are not checked again. The team rows that let those users read the record follow its list
(:func:`share`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from crmkit.entities.records import Access, RecordRef, TeamMember
from crmkit.entities.tasks import RELATED_KINDS
from crmkit.errors import FieldError
from crmkit.policies.validation import field_error
from crmkit.workflow.operations import Op
from crmkit.workflow.record_access import RecordAccess

MAX_PEOPLE = 200
"""Users (or users and departments) a record names at most."""


def unseen_related(op: Op, access: RecordAccess, related: Sequence[RecordRef],
                   kept: Iterable[RecordRef] = (), path: str = "$.related") -> list[FieldError]:
    """Errors for newly named related records the writer does not see (one read per kind);
    kinds outside :data:`~crmkit.entities.tasks.RELATED_KINDS` are the kind's rules' to
    refuse."""
    known = set(kept)
    wanted: dict[str, list[str]] = {}
    for ref in related:
        if ref not in known and ref.kind in RELATED_KINDS:
            wanted.setdefault(ref.kind, []).append(ref.id)
    seen = {RecordRef(kind, record_id) for kind, ids in wanted.items()
            for record_id in access.visible_many(op, kind, ids)}
    return [field_error(f"{path}[{i}]", "not_found") for i, ref in enumerate(related)
            if ref not in known and ref.kind in RELATED_KINDS and ref not in seen]


def unknown_users(op: Op, user_ids: Iterable[str], kept: Iterable[str], path: str
                  ) -> list[FieldError]:
    """Errors for newly named users that do not exist or are inactive, one per user, and for
    more than :data:`MAX_PEOPLE` users."""
    named, known = sorted(set(user_ids)), set(kept)
    errors = []
    if len(named) > MAX_PEOPLE:
        errors.append(field_error(path, "too_many", f" (max {MAX_PEOPLE})"))
    for user_id in named:
        user = None if user_id in known else op.uow.users.get(user_id)
        if user_id not in known and (user is None or not user.active):
            errors.append(field_error(path, "not_found", f" ({user_id})"))
    return errors


def unknown_departments(op: Op, department_ids: Iterable[str], path: str) -> list[FieldError]:
    """Errors for named departments that do not exist, one per department."""
    return [field_error(path, "not_found", f" ({department_id})")
            for department_id in sorted(set(department_ids))
            if op.uow.departments.get(department_id) is None]


def share(op: Op, kind: str, record_id: str, readers: frozenset[str],
          before: frozenset[str]) -> None:
    """Make ``readers`` the record's read-only team (added and removed against ``before``)."""
    added = sorted(readers - before)
    if added:
        op.uow.team.put_many([TeamMember(kind, record_id, u, Access.READ) for u in added])
    for user_id in sorted(before - readers):
        op.uow.team.remove(kind, record_id, user_id)
