"""The one log-diff rule (issue 13.4): every logged entity — records, org entities,
categories, stage groups, field definitions — goes through ``field_changes``."""

from __future__ import annotations

import enum
import types
import typing
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.entities import Department, FieldChange, Role
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.kinds import BUILTIN_KINDS
from crmkit.entities.records import Scene
from crmkit.entities.sales import ProductCategory, StageGroup
from crmkit.serialization import to_dict
from crmkit.workflow.oplog_diff import UNLOGGED, _holds_value, field_changes

T0 = datetime(2026, 11, 2, tzinfo=UTC)


@attrs.frozen
class Thing:
    id: str
    name: str
    level: str | None = None
    active: bool = False
    tags: list[str] = attrs.field(factory=list)
    score: int = 0
    custom: dict[str, Any] = attrs.field(factory=dict)
    password_hash: str = ""
    version: int = 1
    created_at: datetime = T0
    updated_at: datetime = T0
    created_by: str | None = None


def test_created_logs_the_fields_that_hold_a_value() -> None:
    new = Thing("t1", "甲", tags=[], score=0, custom={"budget": "10", "empty": None},
                password_hash="x", created_by="u1")
    assert field_changes(None, new) == (
        FieldChange("name", None, "甲"), FieldChange("score", None, 0),
        FieldChange("custom.budget", None, "10"))


@attrs.frozen
class Switch:
    id: str
    enabled: bool = True
    archived: bool = False


def test_created_logs_false_against_a_true_default_so_the_log_replays() -> None:
    assert field_changes(None, Switch("s1", enabled=False)) == (
        FieldChange("enabled", None, False),)
    assert field_changes(None, Switch("s1")) == (FieldChange("enabled", None, True),)
    assert field_changes(Switch("s1", enabled=False), None) == (
        FieldChange("enabled", False, None),)


def test_deleted_logs_what_was_held() -> None:
    old = Thing("t1", "甲", level="A", active=True)
    assert field_changes(old, None) == (
        FieldChange("name", "甲", None), FieldChange("level", "A", None),
        FieldChange("active", True, None), FieldChange("score", 0, None))


def test_an_edit_logs_changed_fields_bookkeeping_never_and_custom_key_by_key() -> None:
    old = Thing("t1", "甲", custom={"a": 1, "b": 2})
    new = attrs.evolve(old, name="乙", version=2, updated_at=datetime(2026, 11, 3, tzinfo=UTC),
                       password_hash="new", custom={"a": 1, "c": 3})
    assert field_changes(old, new) == (
        FieldChange("name", "甲", "乙"), FieldChange("custom.b", 2, None),
        FieldChange("custom.c", None, 3))
    assert field_changes(old, old) == ()


edits = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["甲", "乙"]), "level": st.sampled_from([None, "A", "B"]),
    "active": st.booleans(), "score": st.integers(-2, 2),
    "tags": st.lists(st.sampled_from(["x", "y"]), max_size=2)})


@given(before=edits, after=edits)
def test_the_cheap_path_agrees_with_the_full_diff(before: dict[str, Any],
                                                 after: dict[str, Any]) -> None:
    """``only`` (bulk work) gives what the full diff gives for the fields it names."""
    old = attrs.evolve(Thing("t1", "甲"), **before)
    new = attrs.evolve(old, **after)
    only = ("level", "active", "score", "tags")
    full = [c for c in field_changes(old, new) if c.field in only]
    assert sorted(field_changes(old, new, only=only), key=lambda c: c.field) == sorted(
        full, key=lambda c: c.field)


# -- the per-attribute path equals the whole-entity definition --------------------------------

JSON = st.recursive(st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from(["", "a"]),
                    lambda inner: st.lists(inner, max_size=2)
                    | st.dictionaries(st.sampled_from(["k", "m"]), inner, max_size=2),
                    max_leaves=3)
PLAIN: dict[Any, st.SearchStrategy[Any]] = {
    str: st.sampled_from(["", "甲", "a"]), int: st.integers(-2, 2), bool: st.booleans(),
    datetime: st.sampled_from([T0, T0.astimezone(timezone(timedelta(hours=8))), T0 + timedelta(1)]),
    date: st.sampled_from([T0.date(), T0.date() + timedelta(1)]),
    time: st.sampled_from([time(9, 0), time(9, 30, 15)]),
    Decimal: st.sampled_from([Decimal("0"), Decimal("1.50"), Decimal("1.5")]),
}


def _typed(hint: Any) -> st.SearchStrategy[Any]:
    """Values of an attribute type: plain values, optionals, enums, collections, attrs objects."""
    if hint in PLAIN:
        return PLAIN[hint]
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return st.one_of(*(st.none() if a is type(None) else _typed(a) for a in args))
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return st.sampled_from(list(hint))
    if attrs.has(hint):
        return _entities(hint)
    if origin in (tuple, frozenset, list):
        items = st.lists(_typed(args[0]), max_size=2)
        return items.map(origin)
    if origin is not None and issubclass(origin, Mapping):
        if args and args[0] is not str:  # e.g. a role's permissions by module
            return st.dictionaries(_typed(args[0]), _typed(args[1]), max_size=2)
        return st.dictionaries(st.sampled_from(["a", "b", "c"]), JSON, max_size=3)
    return JSON


def _entities(cls: type) -> st.SearchStrategy[Any]:
    """Entities of ``cls`` with any values its attribute types allow."""
    fields = attrs.fields(attrs.resolve_types(cls))
    return st.builds(cls, **{f.name: _typed(f.type) for f in fields if f.init})


def _whole(old: Any | None, new: Any | None) -> tuple[FieldChange, ...]:
    """The rule as first written: both entities through ``to_dict``, compared by name."""
    cls = type(new if new is not None else old)
    before = to_dict(old) if old is not None else {}
    after = to_dict(new) if new is not None else {}
    found = [FieldChange(name, before.get(name), after.get(name)) for name in (after or before)
             if name not in UNLOGGED and before.get(name) != after.get(name)
             and (old is not None or _holds_value(after.get(name), name, cls))
             and (new is not None or _holds_value(before.get(name), name, cls))]
    old_custom, new_custom = before.get("custom") or {}, after.get("custom") or {}
    found += [FieldChange(f"custom.{key}", old_custom.get(key), new_custom.get(key))
              for key in sorted(set(old_custom) | set(new_custom))
              if old_custom.get(key) != new_custom.get(key)]
    return tuple(found)


LOGGED = (*(k.entity for k in BUILTIN_KINDS), Department, Role, ProductCategory, StageGroup,
          FieldDefinition, Scene)


@pytest.mark.parametrize("cls", LOGGED, ids=lambda cls: cls.__name__)
@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_each_attribute_through_its_type_gives_the_whole_entity_diff(
        cls: type, data: st.DataObject) -> None:
    """Created, deleted and edited records log exactly what ``to_dict`` of the whole entities
    gives (the per-attribute path converts only what it logs)."""
    old, other = data.draw(_entities(cls)), data.draw(_entities(cls))
    changes = {f.name: getattr(other, f.name) for f in attrs.fields(cls)
               if f.init and data.draw(st.booleans())}
    new = attrs.evolve(old, **changes)
    for before, after in ((None, new), (old, None), (old, new), (new, old), (old, old)):
        assert field_changes(before, after) == _whole(before, after)
