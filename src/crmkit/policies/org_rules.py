"""Org structure rules: the department tree and the supervisor forest stay acyclic, the top
department stays unique, 超级管理员 always keeps at least one active holder, and a role that
grants anything on a scoped module has a data scope for it (本人 when none is given)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from crmkit.entities import DataScope, Module, Operation, Role, ScopeLevel, User
from crmkit.entities.org import UNSCOPED_MODULES
from crmkit.errors import RuleViolation


def _reaches(start: str | None, target: str, step: Callable[[str], str | None]) -> bool:
    """Whether following ``step`` from ``start`` ever arrives at ``target`` (stops on a loop)."""
    seen: set[str] = set()
    current = start
    while current is not None and current not in seen:
        if current == target:
            return True
        seen.add(current)
        current = step(current)
    return False


def check_department_parent(
    parents: Mapping[str, str | None], department_id: str, new_parent_id: str
) -> None:
    """Moving ``department_id`` under ``new_parent_id`` must not put it below itself."""
    if _reaches(new_parent_id, department_id, parents.get):
        raise RuleViolation(
            "org.department_cycle",
            "部门不能移动到自身或其下级部门之下",
            "a department cannot be moved under itself or its own sub-department",
        )


def check_supervisor(
    supervisors: Mapping[str, str | None], user_id: str, supervisor_id: str | None
) -> None:
    """A user's direct supervisor (直属上级) must not be the user or anyone below them."""
    if supervisor_id is not None and _reaches(supervisor_id, user_id, supervisors.get):
        raise RuleViolation(
            "org.supervisor_cycle",
            "直属上级不能是本人或其下属",
            "a user cannot report to themselves or to one of their subordinates",
        )


def active_super_admins(users: Iterable[User], roles: Mapping[str, Role]) -> set[str]:
    """Ids of active users holding the built-in 超级管理员 role."""
    return {
        user.id
        for user in users
        if user.active
        and any(roles[r].is_super_admin for r in user.role_ids if r in roles)
    }


def check_super_admin_kept(holders_after: set[str]) -> None:
    """At least one active user must hold 超级管理员 after any change."""
    if not holders_after:
        raise RuleViolation(
            "org.last_super_admin",
            "至少需要保留一名启用状态的超级管理员",
            "the last active super administrator cannot be removed or disabled",
        )


def scopes_with_defaults(
    permissions: Mapping[Module, frozenset[Operation]], scopes: Mapping[Module, DataScope]
) -> dict[Module, DataScope]:
    """``scopes`` plus 本人 (SELF) for every scoped module ``permissions`` grants something on
    but ``scopes`` leaves out — so a holder always sees the records they create."""
    result = dict(scopes)
    for module, operations in permissions.items():
        if operations and module not in UNSCOPED_MODULES and module not in result:
            result[module] = DataScope(ScopeLevel.SELF)
    return result
