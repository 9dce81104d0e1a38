"""Policies: pure, deterministic business rules. Import entities (and dateutil) only."""

from crmkit.policies.credentials import hash_password, verify_password
from crmkit.policies.org_rules import (
    active_super_admins,
    check_department_parent,
    check_super_admin_kept,
    check_supervisor,
    scopes_with_defaults,
)
from crmkit.policies.scopes import OrgIndex, resolve_scope

__all__ = [
    "OrgIndex",
    "active_super_admins",
    "check_department_parent",
    "check_super_admin_kept",
    "check_supervisor",
    "hash_password",
    "resolve_scope",
    "scopes_with_defaults",
    "verify_password",
]
