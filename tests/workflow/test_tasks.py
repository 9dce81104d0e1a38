"""任务 Tasks through the facade (``crm.tasks``) on every backend: the task kind declared once,
its rules on every write, complete and reopen, and the owner's data scope."""

from __future__ import annotations

from datetime import date

import pytest

from crmkit.entities.tasks import Priority
from crmkit.errors import NotFound, PermissionDenied, ValidationError

from .conftest import Org


def test_a_rep_creates_a_task_with_typed_values(org: Org) -> None:
    task = org.crm.tasks.create(org.rep, {"title": "回电话给王总", "due_date": "2026-11-03",
                                          "priority": "high", "description": "确认报价"})
    assert (task.owner_id, task.due_date, task.priority, task.done) == (
        org.rep.id, date(2026, 11, 3), Priority.HIGH, False)
    assert org.crm.tasks.get(org.rep, task.id) == task
    assert org.crm.kind("task") is org.crm.tasks


def test_the_task_rules_hold_on_create_and_edit(org: Org) -> None:
    with pytest.raises(ValidationError) as blank:
        org.crm.tasks.create(org.rep, {"title": " "})
    assert blank.value.codes == {"$.title": "blank"}
    with pytest.raises(ValidationError) as priority:
        org.crm.tasks.create(org.rep, {"title": "x", "priority": "urgent"})
    assert list(priority.value.codes) == ["$.priority"]
    task = org.crm.tasks.create(org.rep, {"title": "x"})
    with pytest.raises(ValidationError) as too_long:
        org.crm.tasks.update(org.rep, task.id, {"title": "长" * 201})
    assert too_long.value.codes == {"$.title": "too_long"}


def test_complete_and_reopen_tick_the_task_and_are_logged(org: Org) -> None:
    task = org.crm.tasks.create(org.rep, {"title": "寄样品"})
    done = org.crm.tasks.complete(org.rep, task.id)
    assert (done.done, done.done_at, done.version) == (True, org.clock.now(), 2)
    assert org.crm.tasks.complete(org.rep, task.id) == done  # already done: unchanged
    reopened = org.crm.tasks.reopen(org.rep, task.id, expected_version=2)
    assert (reopened.done, reopened.done_at, reopened.version) == (False, None, 3)
    log = org.crm.tasks.operation_log(org.rep, task.id)
    assert [e.action for e in log] == ["reopen", "complete", "create"]
    assert [(c.field, c.new) for c in log[1].changes if c.field == "done"] == [("done", True)]


def test_tasks_are_cut_to_the_owners_scope(org: Org) -> None:
    mine = org.crm.tasks.create(org.rep, {"title": "我的任务"})
    other = org.user("13900000009", "另一位销售", org.group, "sales_rep")
    theirs = org.crm.tasks.create(other, {"title": "别人的任务"})
    assert [t.id for t in org.crm.tasks.list(org.rep).items] == [mine.id]
    with pytest.raises(NotFound):
        org.crm.tasks.get(org.rep, theirs.id)
    with pytest.raises(NotFound):
        org.crm.tasks.complete(org.rep, theirs.id)
    assert {t.id for t in org.crm.tasks.list(org.admin).items} == {mine.id, theirs.id}


def test_a_team_member_sees_the_task_and_a_read_only_one_cannot_tick_it(org: Org) -> None:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    task = org.crm.tasks.create(org.rep, {"title": "一起拜访"})
    org.crm.tasks.add_team_member(org.rep, task.id, helper.id)
    assert org.crm.tasks.get(helper, task.id).id == task.id
    with pytest.raises(PermissionDenied) as caught:
        org.crm.tasks.complete(helper, task.id)
    assert caught.value.code == "record.read_only"
