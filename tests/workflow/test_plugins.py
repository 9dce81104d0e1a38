"""pluggy wiring: per-instance managers, after-commit reactions, broken entry points."""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence
from typing import Any

import pytest

from crmkit import CRM, CrmError
from crmkit.entities import OperationLogEntry
from crmkit.hookspecs import hookimpl


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    @hookimpl
    def crmkit_after_commit(self, crm: Any, entries: Sequence[OperationLogEntry]) -> None:
        self.batches.append([f"{e.record_kind}.{e.action}" for e in entries])


class Exploding:
    @hookimpl
    def crmkit_after_commit(self, crm: Any, entries: Sequence[OperationLogEntry]) -> None:
        raise RuntimeError("plugin bug")


def test_after_commit_sees_each_operation_once() -> None:
    recorder = Recorder()
    crm = CRM(plugins=[recorder])
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
    assert recorder.batches[-1] == ["department.create"]
    assert "user.create" in recorder.batches[0]
    with pytest.raises(CrmError):
        crm.org.add_department(admin, {"name": "", "parent_id": top.id})
    assert len(recorder.batches) == 2, "a refused operation reacts to nothing"


def test_plugin_managers_are_per_instance_and_plugin_errors_do_not_undo() -> None:
    a, b = CRM(plugins=[Exploding()]), CRM()
    assert a.plugin_manager is not b.plugin_manager
    admin = a.org.setup(admin_mobile="13800000000", admin_name="王总")
    assert a.org.get_user(admin, admin.id).name == "王总"


class FakeEntryPoint:
    def __init__(self, name: str, target: object) -> None:
        self.name, self.value, self._target = name, f"fake:{name}", target

    def load(self) -> object:
        if isinstance(self._target, Exception):
            raise self._target
        return self._target


def test_broken_entry_point_is_reported_and_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    eps = [FakeEntryPoint("broken", ImportError("no module")), FakeEntryPoint("good", recorder)]
    monkeypatch.setattr(importlib.metadata, "entry_points", lambda group: eps)
    crm = CRM(load_entrypoints=True)
    assert [e.entry_point for e in crm.plugin_errors] == ["broken = fake:broken"]
    crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    assert recorder.batches
    with pytest.raises(CrmError) as caught:
        CRM(load_entrypoints=True, strict_plugins=True)
    assert caught.value.code == "plugin.load_failed"


def test_entry_points_are_not_loaded_unless_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    def fail(group: str) -> list[Any]:
        raise AssertionError("entry points read without opt-in")

    monkeypatch.setattr(importlib.metadata, "entry_points", fail)
    CRM()


def test_plugin_passed_and_installed_is_not_a_load_error(monkeypatch: pytest.MonkeyPatch) -> None:
    recorder = Recorder()
    monkeypatch.setattr(importlib.metadata, "entry_points",
                        lambda group: [FakeEntryPoint("rec", recorder)])
    crm = CRM(plugins=[recorder], load_entrypoints=True)
    assert crm.plugin_errors == []
    crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    assert len(recorder.batches) == 1, "registered once, called once"
