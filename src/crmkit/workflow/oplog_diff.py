"""Field-level changes for the operation log (操作记录): old → new, as JSON-able values — one
rule for every logged entity (records, org entities, categories, stage groups, field
definitions)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import attrs

from crmkit.entities import FieldChange
from crmkit.serialization import to_dict

UNLOGGED = frozenset({"id", "version", "created_at", "updated_at", "created_by", "password_hash",
                      "custom"})
"""Bookkeeping the log never shows (a password hash neither); ``custom`` is logged key by key."""


@functools.cache
def _false_by_default(cls: type) -> frozenset[str]:
    """The attributes of ``cls`` whose default is ``False``."""
    return frozenset(f.name for f in attrs.fields(cls) if f.default is False)


def _holds_value(value: Any, name: str, cls: type) -> bool:
    """Worth logging on a create or a delete: not empty, and not ``False`` where ``False`` is
    the default (a ``False`` against a ``True`` default is logged, so the log replays)."""
    if value is False:
        return name not in _false_by_default(cls)
    return value not in (None, "", [], {})


def field_changes(old: Any | None, new: Any | None, *,
                  only: Sequence[str] = ()) -> tuple[FieldChange, ...]:
    """What changed from ``old`` to ``new`` (two versions of one attrs entity), in field order:
    ``old`` None → created (the fields that hold a value: not None, empty, or ``False`` where
    that is the default), ``new`` None → deleted (the fields that held one). A ``custom``
    mapping is compared key by key, as ``custom.<key>``.

    ``only`` names the fields that may have changed: the cheap path of bulk work (no
    conversion of whole entities)."""
    if only and old is not None and new is not None:
        return tuple(FieldChange(name, to_dict(getattr(old, name)), to_dict(getattr(new, name)))
                     for name in only if getattr(old, name) != getattr(new, name))
    cls = type(new if new is not None else old)
    before = to_dict(old) if old is not None else {}
    after = to_dict(new) if new is not None else {}
    found = [
        FieldChange(name, before.get(name), after.get(name))
        for name in (after or before)
        if name not in UNLOGGED and before.get(name) != after.get(name)
        and (old is not None or _holds_value(after.get(name), name, cls))
        and (new is not None or _holds_value(before.get(name), name, cls))
    ]
    old_custom, new_custom = before.get("custom") or {}, after.get("custom") or {}
    for key in sorted(set(old_custom) | set(new_custom)):
        if old_custom.get(key) != new_custom.get(key):
            found.append(FieldChange(f"custom.{key}", old_custom.get(key), new_custom.get(key)))
    return tuple(found)
