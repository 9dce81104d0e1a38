"""Field-level diffs for the operation log (操作记录): old → new, as JSON-able values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from crmkit.entities import FieldChange
from crmkit.serialization import to_dict

UNLOGGED = frozenset({"id", "version", "created_at", "updated_at", "password_hash"})


def diff(old: Any, new: Any, *, skip: Iterable[str] = UNLOGGED) -> tuple[FieldChange, ...]:
    """The fields of two versions of one attrs entity that differ (system bookkeeping skipped)."""
    skipped = frozenset(skip)
    before, after = to_dict(old), to_dict(new)
    return tuple(
        FieldChange(f.name, before.get(f.name), after.get(f.name))
        for f in attrs.fields(type(new))
        if f.name not in skipped and before.get(f.name) != after.get(f.name)
    )


def created(entity: Any, *, skip: Iterable[str] = UNLOGGED) -> tuple[FieldChange, ...]:
    """The non-empty fields of a new entity, as changes from None."""
    skipped = frozenset(skip)
    data = to_dict(entity)
    return tuple(
        FieldChange(name, None, value)
        for name, value in data.items()
        if name not in skipped and value not in (None, "", [], {})
    )
