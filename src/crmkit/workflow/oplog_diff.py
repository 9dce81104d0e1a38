"""Field-level changes for the operation log (操作记录): old → new, as JSON-able values — one
rule for every logged entity (records, org entities, categories, stage groups, field
definitions)."""

from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

import attrs

from crmkit.entities import FieldChange, User
from crmkit.serialization import converter, to_dict

UNLOGGED = frozenset({"id", "version", "created_at", "updated_at", "created_by", "password_hash",
                      "custom"})
"""Bookkeeping the log never shows (a password hash neither); ``custom`` is logged key by key."""


@functools.cache
def _false_by_default(cls: type) -> frozenset[str]:
    """The attributes of ``cls`` whose default is ``False``."""
    return frozenset(f.name for f in attrs.fields(cls) if f.default is False)


_PLAIN = (str, int, bool, float)
"""Attribute types whose values are their own JSON form."""


def _plain(hint: Any) -> bool:
    """``hint`` is a plain type or an optional one (its values need no conversion)."""
    if hint in _PLAIN:
        return True
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return all(arg is type(None) or arg in _PLAIN for arg in typing.get_args(hint))
    return False


@functools.cache
def _logged(cls: type) -> tuple[tuple[str, Callable[[Any], Any] | None], ...]:
    """``(name, to JSON)`` of each attribute of ``cls`` the log shows, in field order, plus
    ``custom``: the converter's own hook for the attribute's declared type (what
    :func:`~crmkit.serialization.to_dict` of the whole entity applies), None where the value
    is its own JSON form."""
    return tuple(
        (f.name, None if _plain(f.type) else converter.get_unstructure_hook(f.type))
        for f in attrs.fields(attrs.resolve_types(cls))
        if f.name not in UNLOGGED or f.name == "custom"
    )


@functools.cache
def _dumps(cls: type) -> dict[str, Callable[[Any], Any]]:
    """Each logged attribute's conversion to JSON (see :func:`_logged`); identity for plain
    ones. A class with its own unstructure hook converts value by value (``to_dict``)."""
    if cls is User:
        return {}
    return {name: dump or _same for name, dump in _logged(cls)}


def _same(value: Any) -> Any:
    return value


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
        kind: type = type(new)
        dumps = _dumps(kind)
        found = []
        for name in only:
            before, after = getattr(old, name), getattr(new, name)
            if before != after:
                dump = dumps.get(name, to_dict)
                found.append(FieldChange(name, None if before is None else dump(before),
                                         None if after is None else dump(after)))
        return tuple(found)
    cls: type = type(new if new is not None else old)
    if cls is User:  # its own unstructure hook leaves fields out: the whole-entity path
        return _whole_changes(old, new, cls)
    return _compiled(cls)(old, new)


_EMPTY: tuple[Any, ...] = (None, "", [], {})
"""Logged values that say nothing on a create or a delete."""


@functools.cache
def _compiled(cls: type) -> Callable[[Any, Any], tuple[FieldChange, ...]]:
    """:func:`field_changes` of ``cls`` as one generated function: each logged attribute read
    once and converted by its type's hook (see :func:`_logged`) only when it is logged."""
    scope: dict[str, Any] = {"FC": FieldChange, "EMPTY": _EMPTY, "to_dict": to_dict,
                             "customs": _custom_changes}
    false_default = _false_by_default(cls)
    created, deleted, edited = ["pass"], ["pass"], ["pass"]
    for n, (name, dump) in enumerate(_logged(cls)):
        if name == "custom":
            continue
        scope[f"d{n}"] = dump
        conv = f"d{n}(v)" if dump is not None else "v"
        holds = ("v is not False and v not in EMPTY" if name in false_default
                 else "v not in EMPTY")
        for lines, side, make in ((created, "e", f"FC({name!r}, None, v)"),
                                  (deleted, "o", f"FC({name!r}, v, None)")):
            lines += [f"v = {side}.{name}",
                      "if v is not None:",
                      f"    v = {conv}",
                      f"    if {holds}: found.append({make})"]
        edited += [f"a = o.{name}; b = e.{name}",
                   "if a is not b:",
                   f"    v = a; a = None if v is None else {conv}",
                   f"    v = b; b = None if v is None else {conv}",
                   f"    if a != b: found.append(FC({name!r}, a, b))"]
    custom = any(name == "custom" for name, _ in _logged(cls))
    body = "\n".join([
        "def diff(o, e):",
        "    found = []",
        "    if o is None:", *(f"        {line}" for line in created),
        "    elif e is None:", *(f"        {line}" for line in deleted),
        "    else:", *(f"        {line}" for line in edited),
        *(["    oc = None if o is None else o.custom",
           "    nc = None if e is None else e.custom",
           "    if oc or nc:",
           "        found += customs(to_dict(oc) if oc else {}, to_dict(nc) if nc else {})"]
          if custom else []),
        "    return tuple(found)",
    ])
    exec(compile(body + "\n", f"<log diff of {cls.__name__}>", "exec"), scope)
    diff: Callable[[Any, Any], tuple[FieldChange, ...]] = scope["diff"]
    return diff


def _whole_changes(old: Any | None, new: Any | None, cls: type) -> tuple[FieldChange, ...]:
    """:func:`field_changes` through :func:`~crmkit.serialization.to_dict` of both entities."""
    before = to_dict(old) if old is not None else {}
    after = to_dict(new) if new is not None else {}
    found = [
        FieldChange(name, before.get(name), after.get(name))
        for name in (after or before)
        if name not in UNLOGGED and before.get(name) != after.get(name)
        and (old is not None or _holds_value(after.get(name), name, cls))
        and (new is not None or _holds_value(before.get(name), name, cls))
    ]
    found += _custom_changes(before.get("custom") or {}, after.get("custom") or {})
    return tuple(found)


def _custom_changes(old_custom: Any, new_custom: Any) -> list[FieldChange]:
    """``custom.<key>`` changes, by key."""
    if not old_custom:  # created: every value held
        return [FieldChange(f"custom.{key}", None, new_custom[key])
                for key in sorted(new_custom) if new_custom[key] is not None]
    return [FieldChange(f"custom.{key}", old_custom.get(key), new_custom.get(key))
            for key in sorted(set(old_custom) | set(new_custom))
            if old_custom.get(key) != new_custom.get(key)]
