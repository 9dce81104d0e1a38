"""The one log-diff rule (issue 13.4): every logged entity — records, org entities,
categories, stage groups, field definitions — goes through ``field_changes``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import attrs
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities import FieldChange
from crmkit.workflow.oplog_diff import field_changes

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
