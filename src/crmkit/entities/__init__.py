"""Entities: attrs value objects and enums. Imports nothing but the standard library and attrs."""

from crmkit.entities.common import FieldChange, JSONValue, Notification, OperationLogEntry
from crmkit.entities.org import (
    SUPER_ADMIN_CODE,
    TOP_DEPARTMENT_NAME,
    CustomDepartment,
    DataScope,
    Department,
    Gender,
    Module,
    Operation,
    Role,
    ScopeLevel,
    SystemActor,
    User,
    UserStatus,
)
from crmkit.entities.scope import OrgMember, OrgSnapshot, OrgUnit, RecordScope

__all__ = [
    "SUPER_ADMIN_CODE",
    "TOP_DEPARTMENT_NAME",
    "CustomDepartment",
    "DataScope",
    "Department",
    "FieldChange",
    "Gender",
    "JSONValue",
    "Module",
    "Notification",
    "Operation",
    "OperationLogEntry",
    "OrgMember",
    "OrgSnapshot",
    "OrgUnit",
    "RecordScope",
    "Role",
    "ScopeLevel",
    "SystemActor",
    "User",
    "UserStatus",
]
