"""Data-scope resolution (数据权限): which owners' records a viewer may read.

Definitions (DESIGN §3), owners matched by their *current* department and supervisor:
- SELF: the viewer.
- SELF_AND_SUBORDINATES: the viewer and everyone below them on the supervisor chain, transitively.
- DEPARTMENT: users of the viewer's department.
- DEPARTMENT_TREE: users of the viewer's department and all its descendants.
- ALL: every record.
- CUSTOM: users of the listed departments (each with or without sub-departments) plus listed users.
Several roles combine by union. Team membership and pool membership are extra grants.

:class:`OrgIndex` is built once per org snapshot and memoises per-department and per-user sets, so
resolving every user of a 10k-user org costs one pass over the tree per distinct set.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from crmkit.entities import (
    DataScope,
    Module,
    OrgSnapshot,
    RecordScope,
    Role,
    ScopeLevel,
)


class OrgIndex:
    """Lookup structure over one :class:`OrgSnapshot`. Immutable once built; memo only grows."""

    def __init__(self, snapshot: OrgSnapshot) -> None:
        self.version = snapshot.version
        self.parent: dict[str, str | None] = {u.id: u.parent_id for u in snapshot.units}
        self.children: dict[str, list[str]] = defaultdict(list)
        for unit in snapshot.units:
            if unit.parent_id is not None:
                self.children[unit.parent_id].append(unit.id)
        self.department_of: dict[str, str] = {}
        self.supervisor_of: dict[str, str | None] = {}
        self.reports: dict[str, list[str]] = defaultdict(list)
        users_in: dict[str, list[str]] = defaultdict(list)
        for member in snapshot.members:
            self.department_of[member.id] = member.department_id
            self.supervisor_of[member.id] = member.supervisor_id
            users_in[member.department_id].append(member.id)
            if member.supervisor_id is not None:
                self.reports[member.supervisor_id].append(member.id)
        self._users_in = {dept: frozenset(ids) for dept, ids in users_in.items()}
        self._tree_users: dict[str, frozenset[str]] = {}
        self._team_below: dict[str, frozenset[str]] = {}

    def users_in(self, department_id: str) -> frozenset[str]:
        """Users whose current department is ``department_id``."""
        return self._users_in.get(department_id, frozenset())

    def department_tree(self, department_id: str) -> list[str]:
        """``department_id`` and all its descendants (iterative, cycle-safe)."""
        seen: set[str] = set()
        order: list[str] = []
        stack = [department_id]
        while stack:
            dept = stack.pop()
            if dept in seen:
                continue
            seen.add(dept)
            order.append(dept)
            stack.extend(self.children.get(dept, ()))
        return order

    def users_in_tree(self, department_id: str) -> frozenset[str]:
        """Users of ``department_id`` and of every department below it (memoised)."""
        cached = self._tree_users.get(department_id)
        if cached is None:
            found: set[str] = set()
            for dept in self.department_tree(department_id):
                found |= self.users_in(dept)
            cached = self._tree_users[department_id] = frozenset(found)
        return cached

    def self_and_subordinates(self, user_id: str) -> frozenset[str]:
        """The user and everyone below them on the supervisor chain, transitively (memoised)."""
        cached = self._team_below.get(user_id)
        if cached is None:
            found = {user_id}
            stack = [user_id]
            while stack:
                for report in self.reports.get(stack.pop(), ()):
                    if report not in found:
                        found.add(report)
                        stack.append(report)
            cached = self._team_below[user_id] = frozenset(found)
        return cached

    def owners_for(self, viewer_id: str, scope: DataScope) -> frozenset[str] | None:
        """Owner ids one data scope grants the viewer; None means ALL."""
        level = scope.level
        if level is ScopeLevel.ALL:
            return None
        if level is ScopeLevel.SELF:
            return frozenset({viewer_id})
        if level is ScopeLevel.SELF_AND_SUBORDINATES:
            return self.self_and_subordinates(viewer_id)
        if level is ScopeLevel.CUSTOM:
            owners: set[str] = set(scope.users)
            for entry in scope.departments:
                if entry.include_children:
                    owners |= self.users_in_tree(entry.department_id)
                else:
                    owners |= self.users_in(entry.department_id)
            return frozenset(owners)
        department = self.department_of.get(viewer_id)
        if department is None:
            return frozenset({viewer_id})
        if level is ScopeLevel.DEPARTMENT:
            return self.users_in(department) | {viewer_id}
        return self.users_in_tree(department) | {viewer_id}

    def is_below(self, department_id: str, ancestor_id: str) -> bool:
        """Whether ``department_id`` equals ``ancestor_id`` or lies under it."""
        seen: set[str] = set()
        current: str | None = department_id
        while current is not None and current not in seen:
            if current == ancestor_id:
                return True
            seen.add(current)
            current = self.parent.get(current)
        return False


def resolve_scope(
    index: OrgIndex,
    viewer_id: str,
    roles: Iterable[Role],
    module: Module,
    *,
    pool_ids: Iterable[str] = (),
) -> RecordScope:
    """The union over ``roles`` of their scope on ``module``, plus team and pool grants.

    A viewer always sees records on whose team they are; ``pool_ids`` are the pools the viewer
    is a member of (their pool customers are visible).
    """
    owners: set[str] = set()
    for role in roles:
        scope = role.scope_for(module)
        if scope is None:
            continue
        granted = index.owners_for(viewer_id, scope)
        if granted is None:
            return RecordScope.everything()
        owners |= granted
    return RecordScope(
        owner_ids=frozenset(owners), team_user_id=viewer_id, pool_ids=frozenset(pool_ids)
    )
