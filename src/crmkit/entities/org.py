"""Organisation entities (组织机构): departments, users (员工), roles (角色), data scopes, and
the system actor of background work."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from crmkit.entities.common import frozen_mapping

TOP_DEPARTMENT_NAME = "办公室"
SUPER_ADMIN_CODE = "super_admin"


class Module(enum.StrEnum):
    """The modules permissions and data scopes are granted on."""

    LEADS = "leads"
    CUSTOMERS = "customers"
    POOL = "pool"
    CONTACTS = "contacts"
    OPPORTUNITIES = "opportunities"
    CONTRACTS = "contracts"
    PAYMENTS = "payments"
    PRODUCTS = "products"
    FOLLOWUPS = "followups"
    TASKS = "tasks"
    APPROVALS = "approvals"
    DASHBOARD = "dashboard"
    CAMPAIGNS = "campaigns"
    ORG = "org"
    ROLES = "roles"
    FIELDS = "fields"


UNSCOPED_MODULES = frozenset({Module.ORG, Module.ROLES, Module.FIELDS, Module.POOL})
"""Modules read without a data scope: org administration, and the pool (whose customers are
visible through pool membership). Every other module's records are read through one."""


class Operation(enum.StrEnum):
    """Operation permissions (操作权限) a role grants per module."""

    VIEW = "view"
    CREATE = "create"
    EDIT = "edit"
    DELETE = "delete"
    IMPORT = "import"
    EXPORT = "export"
    TRANSFER = "transfer"
    CONVERT = "convert"
    LOCK = "lock"
    PUT_INTO_POOL = "put_into_pool"
    CLAIM = "claim"
    ASSIGN = "assign"
    TEAM_MANAGE = "team_manage"
    APPROVE_CONFIG = "approve_config"
    HAND_OVER = "hand_over"


class ScopeLevel(enum.StrEnum):
    """Data-scope levels: 本人, 本人及下属, 本部门, 本部门及下属部门, 全部, 自定义."""

    SELF = "self"
    SELF_AND_SUBORDINATES = "self_and_subordinates"
    DEPARTMENT = "department"
    DEPARTMENT_TREE = "department_tree"
    ALL = "all"
    CUSTOM = "custom"


class Gender(enum.StrEnum):
    UNKNOWN = "unknown"
    MALE = "male"
    FEMALE = "female"


class UserStatus(enum.StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


@attrs.frozen
class Department:
    """A node of the department tree; ``parent_id`` is None only for the top department."""

    id: str
    name: str
    parent_id: str | None
    sort_order: int = 0
    version: int = 1


@attrs.frozen
class User:
    """An employee. Never deleted: ``status`` turns DISABLED instead."""

    id: str
    mobile: str
    name: str
    department_id: str
    gender: Gender = Gender.UNKNOWN
    email: str | None = None
    position: str | None = None
    supervisor_id: str | None = None
    role_ids: frozenset[str] = frozenset()
    status: UserStatus = UserStatus.ACTIVE
    password_hash: str | None = attrs.field(default=None, repr=False)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def active(self) -> bool:
        return self.status is UserStatus.ACTIVE


def _purpose(_instance: object, _attribute: attrs.Attribute[str], value: str) -> None:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("a SystemActor needs a purpose (e.g. 'nightly pool sweep')")


@attrs.frozen
class SystemActor:
    """The system as the acting party of background work the host schedules (the 公海 sweep
    and warnings, reminder scans). Only code builds one: no user id, string or mapping from a
    request ever turns into it, and only the facade methods documented as background work
    accept it (every other method answers PermissionDenied ``auth.system_actor``).
    ``purpose`` says which job runs; its log entries carry no user id."""

    purpose: str = attrs.field(validator=_purpose)


@attrs.frozen
class CustomDepartment:
    """One department of a CUSTOM scope, with or without its sub-departments."""

    department_id: str
    include_children: bool = True


@attrs.frozen
class DataScope:
    """A role's data scope on one module. ``departments``/``users`` are used by CUSTOM only."""

    level: ScopeLevel
    departments: frozenset[CustomDepartment] = frozenset()
    users: frozenset[str] = frozenset()


@attrs.frozen
class Role:
    """A role: operation permissions and a data scope per module. ``code`` marks built-in roles."""

    id: str
    name: str
    permissions: Mapping[Module, frozenset[Operation]] = attrs.field(
        factory=dict, converter=frozen_mapping
    )
    scopes: Mapping[Module, DataScope] = attrs.field(factory=dict, converter=frozen_mapping)
    code: str | None = None
    description: str = ""
    version: int = 1

    @property
    def is_super_admin(self) -> bool:
        return self.code == SUPER_ADMIN_CODE

    def grants(self, module: Module, operation: Operation) -> bool:
        """Whether this role grants ``operation`` on ``module`` (超级管理员 grants everything)."""
        return self.is_super_admin or operation in self.permissions.get(module, frozenset())

    def scope_for(self, module: Module) -> DataScope | None:
        """The data scope on ``module`` (ALL for 超级管理员); None when the role grants none."""
        if self.is_super_admin:
            return DataScope(ScopeLevel.ALL)
        return self.scopes.get(module)
