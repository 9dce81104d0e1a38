"""The permission table, proved from both sides for every public facade method on memory,
SQLite and PostgreSQL (issue 11): with the permission and the access the call works; without
the permission it is PermissionDenied naming module and operation; out of scope it is NotFound
exactly as for an id that does not exist (items 1, 2, 5, 7); read-only team members are refused
what needs edit rights."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crmkit import CRM
from crmkit.errors import CrmError, NotFound, PermissionDenied

from .permission_table import EDITABLE, NONE, NOT_FACADE, TABLE, facade_methods, markdown
from .world import DECLARED, World

WITH_PERMISSION = sorted(n for n, r in TABLE.items() if r.operation is not None)
WITH_RECORD = sorted(n for n, r in TABLE.items() if r.access is not NONE)
EDIT_ON_TEAM = sorted(n for n, r in TABLE.items() if r.access is EDITABLE and r.kind)


def test_every_public_facade_method_is_in_the_table() -> None:
    methods = facade_methods(CRM(kinds=DECLARED.values()))
    assert sorted(methods - NOT_FACADE - set(TABLE)) == [], "add these to the table"
    assert sorted(set(TABLE) - methods) == [], "the table names methods that do not exist"
    assert sorted(NOT_FACADE - methods) == []


def test_the_security_page_shows_the_table() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "security.md").read_text("utf-8")
    shown = page.split("<!-- permission-table -->")[1].split("<!-- /permission-table -->")[0]
    shown = shown.strip()
    assert shown == markdown(), "regenerate: python -c 'from security.permission_table " \
        "import markdown; print(markdown())' (from tests/)"


def test_every_record_rule_can_make_its_record() -> None:
    for name in WITH_RECORD:
        assert TABLE[name].target is not None, name


def answer(call: Any, record_id: str) -> dict[str, Any]:
    """The crmkit error a call raises as a host would see it, the id written as ``<id>``."""
    with pytest.raises(CrmError) as refused:
        call()
    shown = refused.value.as_dict()
    return {k: str(v).replace(record_id, "<id>") for k, v in shown.items()}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_allowed_with_the_permission_and_the_access(world: World, name: str) -> None:
    rule = TABLE[name]
    target = rule.target(world, world.worker) if rule.target else None
    rule.call(world, getattr(world, rule.actor), target)


@pytest.mark.parametrize("name", WITH_PERMISSION)
def test_refused_without_the_permission(memory_world: World, name: str) -> None:
    world, rule = memory_world, TABLE[name]
    assert rule.module is not None and rule.operation is not None
    lacking = world.lacking(rule.module, rule.operation)
    target = rule.target(world, lacking) if rule.target else None
    with pytest.raises(PermissionDenied) as refused:
        rule.call(world, lacking, target)
    assert refused.value.details == {"module": rule.module.value,
                                     "operation": rule.operation.value}


@pytest.mark.parametrize("name", WITH_RECORD)
def test_out_of_scope_answers_exactly_as_a_missing_id(world: World, name: str) -> None:
    rule = TABLE[name]
    assert rule.target is not None
    target = rule.target(world, world.worker)
    missing = f"missing-{world.n()}"
    hidden = answer(lambda: rule.call(world, world.outsider, target), target)
    absent = answer(lambda: rule.call(world, world.outsider, missing), missing)
    assert hidden == absent
    assert hidden["error"] == NotFound.__name__


@pytest.mark.parametrize("name", EDIT_ON_TEAM)
def test_a_read_only_team_member_is_refused(world: World, name: str) -> None:
    rule = TABLE[name]
    assert rule.target is not None and rule.kind is not None
    target = rule.target(world, world.worker)
    world.on_team(rule.kind, target, world.reader)
    with pytest.raises(PermissionDenied) as refused:
        rule.call(world, world.reader, target)
    assert refused.value.code == "record.read_only"
