"""Whose figures a dashboard shows (统计对象, 「切换」), never beyond the viewer's data scope.

A :class:`~crmkit.entities.statistics.Subject` resolves to owners: the viewer alone by default;
with ``subordinates`` the viewer and everyone below them on the supervisor chain; chosen users;
the users of chosen departments, with their sub-departments unless ``include_children`` is off.
Every part asked for must lie inside the viewer's dashboard scope — a user the scope does not
admit, or a department with one user it does not admit, or an id the org does not know — else
the whole request is refused (PermissionDenied, listing the parts), never silently trimmed. (A
department is judged by its users: one without users shows zeros and reveals nothing.)
"""

from __future__ import annotations

import attrs

from crmkit.entities.statistics import Subject
from crmkit.policies.scopes import OrgIndex


@attrs.frozen
class ResolvedSubject:
    """The owners a subject stands for, and the parts of it beyond the viewer's scope
    (``user:<id>``, ``department:<id>``, ``subordinates``); empty when all is allowed."""

    owner_ids: frozenset[str]
    beyond: tuple[str, ...]
    person_ids: frozenset[str] = frozenset()
    """The owners asked for as persons (the viewer, the viewer's team, chosen users), not
    through a department: whose own targets stand for the subject."""


def resolve_subject(index: OrgIndex, viewer_id: str, subject: Subject,
                    visible: frozenset[str] | None) -> ResolvedSubject:
    """Owners of ``subject`` for ``viewer_id``; ``visible``: owners the viewer's scope admits
    (None: all)."""

    def within(owners: frozenset[str]) -> bool:
        return visible is None or owners <= visible

    parts: list[tuple[str, frozenset[str], bool]] = []  # (name, owners, known)
    if subject.is_self or subject.subordinates:
        team = (index.self_and_subordinates(viewer_id) if subject.subordinates
                else frozenset({viewer_id}))
        parts.append(("subordinates" if subject.subordinates else f"user:{viewer_id}", team,
                      True))
    for user_id in sorted(subject.user_ids):
        parts.append((f"user:{user_id}", frozenset({user_id}), user_id in index.department_of))
    for department_id in sorted(subject.department_ids):
        users = (index.users_in_tree(department_id) if subject.include_children
                 else index.users_in(department_id))
        parts.append((f"department:{department_id}", users, department_id in index.parent))
    owners = frozenset().union(*(users for _, users, _ in parts))
    beyond = tuple(name for name, users, known in parts if not known or not within(users))
    persons = frozenset().union(*(users for name, users, _ in parts
                                  if not name.startswith("department:")))
    return ResolvedSubject(owners, beyond, persons)
