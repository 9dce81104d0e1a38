"""Small value types shared by all entities."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

JSONValue = Any
"""A value that survives ``json.dumps``: str, int, float, bool, None, lists and dicts of those."""


def frozen_mapping(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Freeze a mapping so a frozen entity stays immutable (read-only view of a private copy)."""
    if isinstance(value, MappingProxyType):
        return value
    return MappingProxyType(dict(value))


@attrs.frozen
class FieldChange:
    """One field's change in an operation-log entry: ``old`` → ``new`` (JSON-able values)."""

    field: str
    old: JSONValue
    new: JSONValue


@attrs.frozen
class OperationLogEntry:
    """操作记录: who did what to which record, when, with field-level changes."""

    id: str
    record_kind: str
    record_id: str
    actor_id: str | None
    at: datetime
    action: str
    changes: tuple[FieldChange, ...] = ()
    note: str = ""


@attrs.frozen
class Notification:
    """A message for one user, queued by an operation and delivered after its commit."""

    recipient_id: str
    kind: str
    title_zh: str
    title_en: str
    record_kind: str | None = None
    record_id: str | None = None
    data: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)
