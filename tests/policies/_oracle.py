"""Naive oracles written straight from the rule text of DESIGN §3, sharing no code with
``crmkit.policies``: they walk *up* parent / supervisor chains from each candidate, where the
implementation walks *down* from the viewer, and they recompute everything on every call."""

from __future__ import annotations

from collections.abc import Callable

from crmkit.entities import DataScope, OrgSnapshot, ScopeLevel


def chain_up(start: str | None, step: Callable[[str], str | None], limit: int) -> list[str]:
    """``start`` and what ``step`` leads to from it, at most ``limit`` nodes (so loops end)."""
    out: list[str] = []
    current = start
    while current is not None and len(out) < limit:
        out.append(current)
        current = step(current)
    return out


class ScopeOracle:
    """Which owners a viewer sees under a data scope, decided owner by owner from the rule text."""

    def __init__(self, snapshot: OrgSnapshot) -> None:
        self.parent = {u.id: u.parent_id for u in snapshot.units}
        self.department = {m.id: m.department_id for m in snapshot.members}
        self.supervisor = {m.id: m.supervisor_id for m in snapshot.members}
        self.member_ids = [m.id for m in snapshot.members]
        self.limit = len(snapshot.units) + len(snapshot.members) + 1

    def department_under(self, department_id: str, ancestor_id: str) -> bool:
        """Walking up the department tree from ``department_id`` reaches ``ancestor_id``."""
        return ancestor_id in chain_up(department_id, self.parent.get, self.limit)

    def reports_to(self, owner_id: str, viewer_id: str) -> bool:
        """Walking up the supervisor chain from ``owner_id`` (included) reaches ``viewer_id``."""
        return viewer_id in chain_up(owner_id, self.supervisor.get, self.limit)

    def custom_matches(self, scope: DataScope, owner_id: str) -> bool:
        if owner_id in scope.users:
            return True
        owner_department = self.department.get(owner_id)
        if owner_department is None:
            return False
        for entry in scope.departments:
            if entry.include_children:
                if self.department_under(owner_department, entry.department_id):
                    return True
            elif owner_department == entry.department_id:
                return True
        return False

    def visible(self, viewer_id: str, scope: DataScope, owner_id: str) -> bool:
        """Whether ``viewer_id`` sees records owned by ``owner_id`` under ``scope``."""
        level = scope.level
        if level is ScopeLevel.ALL:
            return True
        if level is ScopeLevel.SELF:
            return owner_id == viewer_id
        if level is ScopeLevel.SELF_AND_SUBORDINATES:
            return self.reports_to(owner_id, viewer_id)
        if level is ScopeLevel.CUSTOM:
            return self.custom_matches(scope, owner_id)
        viewer_department = self.department[viewer_id]
        owner_department = self.department[owner_id]
        if level is ScopeLevel.DEPARTMENT:
            return owner_department == viewer_department
        assert level is ScopeLevel.DEPARTMENT_TREE
        return self.department_under(owner_department, viewer_department)

    def owners(self, viewer_id: str, scope: DataScope) -> frozenset[str] | None:
        """The visible members; None for ALL (every record, whoever owns it)."""
        if scope.level is ScopeLevel.ALL:
            return None
        return frozenset(o for o in self.member_ids if self.visible(viewer_id, scope, o))


def descendants_or_self(snapshot: OrgSnapshot, department_id: str) -> set[str]:
    """``department_id`` and everything below it, found by walking *down* child lists."""
    found = {department_id}
    grew = True
    while grew:
        grew = False
        for unit in snapshot.units:
            if unit.parent_id in found and unit.id not in found:
                found.add(unit.id)
                grew = True
    return found


def subordinates_or_self(snapshot: OrgSnapshot, user_id: str) -> set[str]:
    """``user_id`` and everyone below them, found by walking *down* the reports."""
    found = {user_id}
    grew = True
    while grew:
        grew = False
        for member in snapshot.members:
            if member.supervisor_id in found and member.id not in found:
                found.add(member.id)
                grew = True
    return found
