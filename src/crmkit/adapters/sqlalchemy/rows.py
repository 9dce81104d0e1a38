"""Explicit row ↔ entity conversion for the Core tables (no ORM mapping of the attrs entities).

``*_to_row`` returns the column dict to INSERT/UPDATE; ``row_to_*`` builds the entity from a
result row (``RowMapping``). JSON columns hold plain JSON: enums by value, sets as sorted lists,
so a stored document is deterministic and readable by other tools.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import RowMapping

from crmkit.entities import (
    CustomDepartment,
    DataScope,
    Department,
    FieldChange,
    Gender,
    JSONValue,
    Module,
    Operation,
    OperationLogEntry,
    Role,
    ScopeLevel,
    User,
    UserStatus,
)

# -- departments -----------------------------------------------------------------------------


def department_to_row(department: Department) -> dict[str, Any]:
    """Every field of a department, one column each."""
    return {
        "id": department.id,
        "name": department.name,
        "parent_id": department.parent_id,
        "sort_order": department.sort_order,
        "version": department.version,
    }


def row_to_department(row: RowMapping) -> Department:
    return Department(
        id=row["id"],
        name=row["name"],
        parent_id=row["parent_id"],
        sort_order=row["sort_order"],
        version=row["version"],
    )


# -- users -----------------------------------------------------------------------------------


def user_to_row(user: User) -> dict[str, Any]:
    """Every field of a user except ``role_ids`` (stored in ``crm_user_roles``); enums by value."""
    return {
        "id": user.id,
        "mobile": user.mobile,
        "name": user.name,
        "gender": user.gender.value,
        "email": user.email,
        "department_id": user.department_id,
        "position": user.position,
        "supervisor_id": user.supervisor_id,
        "status": user.status.value,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "version": user.version,
    }


def user_role_rows(user: User) -> list[dict[str, Any]]:
    """One ``crm_user_roles`` row per role the user holds (sorted, for deterministic writes)."""
    return [{"user_id": user.id, "role_id": role_id} for role_id in sorted(user.role_ids)]


def row_to_user(row: RowMapping, role_ids: Iterable[str] = ()) -> User:
    """A user from its ``crm_users`` row plus the role ids loaded from ``crm_user_roles``."""
    return User(
        id=row["id"],
        mobile=row["mobile"],
        name=row["name"],
        department_id=row["department_id"],
        gender=Gender(row["gender"]),
        email=row["email"],
        position=row["position"],
        supervisor_id=row["supervisor_id"],
        role_ids=frozenset(role_ids),
        status=UserStatus(row["status"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


# -- roles -----------------------------------------------------------------------------------


def permissions_to_json(
    permissions: Mapping[Module, frozenset[Operation]],
) -> dict[str, list[str]]:
    """``{module: [operation, ...]}`` with modules and operations by value, operations sorted."""
    return {
        module.value: sorted(op.value for op in operations)
        for module, operations in sorted(permissions.items())
    }


def json_to_permissions(data: Mapping[str, Any]) -> dict[Module, frozenset[Operation]]:
    """Inverse of :func:`permissions_to_json`; unknown modules/operations raise ``ValueError``."""
    return {
        Module(module): frozenset(Operation(op) for op in operations)
        for module, operations in data.items()
    }


def scope_to_json(scope: DataScope) -> dict[str, Any]:
    """``{level, departments: [{department_id, include_children}], users: [...]}``, sorted."""
    return {
        "level": scope.level.value,
        "departments": [
            {"department_id": d.department_id, "include_children": d.include_children}
            for d in sorted(scope.departments, key=lambda d: (d.department_id, d.include_children))
        ],
        "users": sorted(scope.users),
    }


def json_to_scope(data: Mapping[str, Any]) -> DataScope:
    """Inverse of :func:`scope_to_json`; missing lists read as empty."""
    return DataScope(
        level=ScopeLevel(data["level"]),
        departments=frozenset(
            CustomDepartment(d["department_id"], bool(d["include_children"]))
            for d in data.get("departments", ())
        ),
        users=frozenset(data.get("users", ())),
    )


def scopes_to_json(scopes: Mapping[Module, DataScope]) -> dict[str, dict[str, Any]]:
    """``{module: scope_to_json(scope)}`` with modules by value."""
    return {module.value: scope_to_json(scope) for module, scope in sorted(scopes.items())}


def json_to_scopes(data: Mapping[str, Any]) -> dict[Module, DataScope]:
    return {Module(module): json_to_scope(scope) for module, scope in data.items()}


def role_to_row(role: Role) -> dict[str, Any]:
    """Every field of a role; permissions and scopes as JSON documents."""
    return {
        "id": role.id,
        "name": role.name,
        "code": role.code,
        "description": role.description,
        "permissions": permissions_to_json(role.permissions),
        "scopes": scopes_to_json(role.scopes),
        "version": role.version,
    }


def row_to_role(row: RowMapping) -> Role:
    # Passed as ``**fields`` because the generic ``frozen_mapping`` converter leaves mypy
    # expecting an unsolved ``Mapping[K, V]`` for ``permissions``/``scopes``.
    fields: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "permissions": json_to_permissions(row["permissions"]),
        "scopes": json_to_scopes(row["scopes"]),
        "code": row["code"],
        "description": row["description"],
        "version": row["version"],
    }
    return Role(**fields)


# -- operation log ---------------------------------------------------------------------------


def changes_to_json(changes: Iterable[FieldChange]) -> list[dict[str, JSONValue]]:
    """Field changes as ``[{field, old, new}, ...]`` in their original order."""
    return [{"field": c.field, "old": c.old, "new": c.new} for c in changes]


def json_to_changes(data: Iterable[Mapping[str, JSONValue]]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(c["field"], c["old"], c["new"]) for c in data)


def log_entry_to_row(entry: OperationLogEntry) -> dict[str, Any]:
    """Every field of an operation-log entry; changes as a JSON list."""
    return {
        "id": entry.id,
        "record_kind": entry.record_kind,
        "record_id": entry.record_id,
        "actor_id": entry.actor_id,
        "at": entry.at,
        "action": entry.action,
        "changes": changes_to_json(entry.changes),
        "note": entry.note,
    }


def row_to_log_entry(row: RowMapping) -> OperationLogEntry:
    return OperationLogEntry(
        id=row["id"],
        record_kind=row["record_kind"],
        record_id=row["record_id"],
        actor_id=row["actor_id"],
        at=row["at"],
        action=row["action"],
        changes=json_to_changes(row["changes"]),
        note=row["note"],
    )
