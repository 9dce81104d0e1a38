"""Small value types shared by all entities."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

JSONValue = Any
"""A value that survives ``json.dumps``: str, int, float, bool, None, lists and dicts of those."""


class FrozenDict(dict[Any, Any]):
    """A read-only ``dict``: what entities hold in their mapping attributes (``record.custom``).

    It is a real ``dict`` subclass, so ``json.dumps``, ``dict(...)``, ``==`` and ``copy`` treat
    it as the plain mapping it is; every mutating method raises ``TypeError``, so a frozen
    entity stays immutable.
    """

    __slots__ = ()

    def _read_only(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("entity mappings are read-only; use attrs.evolve for a changed copy")

    __setitem__ = __delitem__ = __ior__ = _read_only
    clear = pop = popitem = setdefault = update = _read_only

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy build a new one, never mutate
        return (FrozenDict, (dict(self),))


def frozen_mapping(value: Mapping[Any, Any]) -> Mapping[Any, Any]:
    """Freeze a mapping so a frozen entity stays immutable (a :class:`FrozenDict` copy)."""
    if isinstance(value, FrozenDict):
        return value
    return FrozenDict(value)


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
