"""Payloads of the org use cases. Hosts pass these objects or plain dicts (from JSON)."""

from __future__ import annotations

import attrs

from crmkit.entities import DataScope, Gender, Module, Operation


@attrs.frozen
class NewDepartment:
    name: str
    parent_id: str
    sort_order: int = 0


@attrs.frozen
class NewUser:
    mobile: str
    name: str
    department_id: str
    gender: Gender = Gender.UNKNOWN
    email: str | None = None
    position: str | None = None
    supervisor_id: str | None = None
    role_ids: frozenset[str] = frozenset()
    password: str | None = attrs.field(default=None, repr=False)


@attrs.frozen
class UserChanges:
    """The editable fields of a user; an update payload names any subset of them."""

    mobile: str
    name: str
    department_id: str
    gender: Gender
    email: str | None
    position: str | None
    supervisor_id: str | None
    role_ids: frozenset[str]


@attrs.frozen
class NewRole:
    name: str
    permissions: dict[Module, frozenset[Operation]] = attrs.Factory(dict)
    scopes: dict[Module, DataScope] = attrs.Factory(dict)
    description: str = ""


@attrs.frozen
class RoleChanges:
    name: str
    permissions: dict[Module, frozenset[Operation]]
    scopes: dict[Module, DataScope]
    description: str


@attrs.frozen
class HandOverReport:
    """What a hand-over moved: record count per record kind."""

    from_user_id: str
    to_user_id: str
    moved: dict[str, int]
