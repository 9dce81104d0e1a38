"""A task's participants, related records, tags, subtasks and due time through ``crm.tasks``
on every backend: participants are the task's team (a participant sees the task, a stranger
gets NotFound), related records are only ones the writer sees, and ``related_to`` finds the
tasks of a record for its timeline."""

from __future__ import annotations

from datetime import time

import pytest

from crmkit.entities.records import RecordRef
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org


def _people(org: Org) -> tuple[str, str]:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    stranger = org.user("13900000009", "旁人", org.group, "sales_rep")
    return helper.id, stranger.id


def test_a_participant_sees_the_task_and_a_stranger_gets_not_found(org: Org) -> None:
    helper, stranger = _people(org)
    task = org.crm.tasks.create(org.rep, {"title": "一起拜访", "participant_ids": [helper]})
    assert task.participant_ids == {helper}
    assert [m.user_id for m in org.crm.tasks.team(org.rep, task.id)] == [helper]
    assert org.crm.tasks.get(helper, task.id) == task
    assert [t.id for t in org.crm.tasks.list(helper, {"scene": "participating"}).items] == [
        task.id]
    with pytest.raises(NotFound) as hidden:
        org.crm.tasks.get(stranger, task.id)
    with pytest.raises(NotFound) as missing:
        org.crm.tasks.get(stranger, "missing")
    assert hidden.value.code == missing.value.code == "record.not_found"
    assert org.crm.tasks.list(stranger).items == ()
    with pytest.raises(PermissionDenied):  # a participant reads; the owner edits
        org.crm.tasks.update(helper, task.id, {"title": "改名"})


def test_removing_a_participant_hides_the_task_from_them(org: Org) -> None:
    helper, stranger = _people(org)
    task = org.crm.tasks.create(org.rep, {"title": "任务", "participant_ids": [helper]})
    moved = org.crm.tasks.update(org.rep, task.id, {"participant_ids": [stranger]})
    assert moved.participant_ids == {stranger}
    with pytest.raises(NotFound):
        org.crm.tasks.get(helper, task.id)
    assert org.crm.tasks.get(stranger, task.id).id == task.id
    org.crm.tasks.remove_team_member(org.rep, task.id, stranger)
    assert org.crm.tasks.get(org.rep, task.id).participant_ids == frozenset()
    org.crm.tasks.add_team_member(org.rep, task.id, helper, "write")
    assert org.crm.tasks.get(helper, task.id).participant_ids == {helper}
    assert org.crm.tasks.update(helper, task.id, {"title": "一起改"}).title == "一起改"


def test_a_transfer_to_a_participant_makes_them_owner_not_participant(org: Org) -> None:
    helper, _ = _people(org)
    task = org.crm.tasks.create(org.admin, {"title": "交接", "owner_id": org.rep.id,
                                            "participant_ids": [helper]})
    org.crm.tasks.transfer(org.admin, [task.id], helper, keep_old_owner="read")
    after = org.crm.tasks.get(helper, task.id)
    assert (after.owner_id, after.participant_ids) == (helper, frozenset({org.rep.id}))
    assert org.crm.tasks.get(org.rep, task.id).id == task.id


def test_participants_are_active_users_other_than_the_owner(org: Org) -> None:
    with pytest.raises(ValidationError) as unknown:
        org.crm.tasks.create(org.rep, {"title": "x", "participant_ids": ["nobody"]})
    assert unknown.value.codes == {"$.participant_ids": "not_found"}
    with pytest.raises(ValidationError) as owner:
        org.crm.tasks.create(org.rep, {"title": "x", "participant_ids": [org.rep.id]})
    assert owner.value.codes == {"$.participant_ids": "team.owner"}
    with pytest.raises(ValidationError) as shape:
        org.crm.tasks.create(org.rep, {"title": "x", "participant_ids": "amy"})
    assert shape.value.codes == {"$.participant_ids": "type"}
    assert org.crm.tasks.list(org.admin).items == ()


def test_related_records_are_ones_the_writer_sees(org: Org) -> None:
    _, stranger = _people(org)
    mine = org.crm.customers.create(org.rep, {"name": "华星科技"})
    contact = org.crm.contacts.create(org.rep, {"name": "王总", "customer_id": mine.id})
    theirs = org.crm.customers.create(org.admin, {"name": "别家", "owner_id": stranger})
    with pytest.raises(ValidationError) as refused:
        org.crm.tasks.create(org.rep, {"title": "x", "related": [
            {"kind": "customer", "id": mine.id}, {"kind": "customer", "id": theirs.id},
            {"kind": "customer", "id": "missing"}, {"kind": "product", "id": "p1"}]})
    assert refused.value.codes == {"$.related[1]": "not_found", "$.related[2]": "not_found",
                                   "$.related[3].kind": "related.kind"}
    task = org.crm.tasks.create(org.rep, {"title": "报价", "related": [
        {"kind": "customer", "id": mine.id}, {"kind": "contact", "id": contact.id}]})
    assert task.related == (RecordRef("customer", mine.id), RecordRef("contact", contact.id))
    # The admin adds a record the rep cannot see; the rep's later edit keeps it.
    both = org.crm.tasks.update(org.admin, task.id, {"related": [
        {"kind": "customer", "id": mine.id}, {"kind": "customer", "id": theirs.id}]})
    assert org.crm.tasks.update(org.rep, task.id, {"title": "报价单"}).related == both.related


def test_related_to_finds_the_visible_tasks_of_records_newest_first(org: Org) -> None:
    helper, _ = _people(org)
    customer = org.crm.customers.create(org.rep, {"name": "华星科技"})
    contact = org.crm.contacts.create(org.rep, {"name": "王总", "customer_id": customer.id})
    refs = [RecordRef("customer", customer.id), RecordRef("contact", contact.id)]
    first = org.crm.tasks.create(org.rep, {"title": "一", "related": [
        {"kind": "customer", "id": customer.id}]})
    org.clock.advance(minutes=1)
    second = org.crm.tasks.create(org.rep, {"title": "二", "related": [
        {"kind": "contact", "id": contact.id}, {"kind": "customer", "id": customer.id}]})
    org.crm.tasks.create(org.rep, {"title": "无关"})
    assert [t.id for t in org.crm.tasks.related_to(org.rep, refs)] == [second.id, first.id]
    assert [t.id for t in org.crm.tasks.related_to(org.rep, refs[1:])] == [second.id]
    assert org.crm.tasks.related_to(helper, refs) == []          # sees neither task
    org.crm.tasks.update(org.rep, first.id, {"participant_ids": [helper]})
    assert [t.id for t in org.crm.tasks.related_to(helper, refs)] == [first.id]
    org.crm.tasks.update(org.rep, second.id, {"related": []})
    assert [t.id for t in org.crm.tasks.related_to(org.rep, refs)] == [first.id]
    org.crm.tasks.delete(org.admin, first.id)
    assert org.crm.tasks.related_to(org.rep, refs) == []


def test_subtasks_are_one_level_deep_under_a_visible_parent(org: Org) -> None:
    _, stranger = _people(org)
    parent = org.crm.tasks.create(org.rep, {"title": "准备投标"})
    child = org.crm.tasks.create(org.rep, {"title": "写方案", "parent_id": parent.id})
    with pytest.raises(ValidationError) as nested:
        org.crm.tasks.create(org.rep, {"title": "孙任务", "parent_id": child.id})
    assert nested.value.codes == {"$.parent_id": "task.nested_subtask"}
    other = org.crm.tasks.create(org.rep, {"title": "另一个"})
    with pytest.raises(ValidationError) as has_children:
        org.crm.tasks.update(org.rep, parent.id, {"parent_id": other.id})
    assert has_children.value.codes == {"$.parent_id": "task.has_subtasks"}
    with pytest.raises(ValidationError) as unseen:
        org.crm.tasks.create(stranger, {"title": "蹭", "parent_id": parent.id})
    assert unseen.value.codes == {"$.parent_id": "not_found"}
    children = org.crm.tasks.list(org.rep, {"conditions": [
        {"field": "parent_id", "op": "eq", "value": parent.id}]})
    assert [t.id for t in children.items] == [child.id]
    with pytest.raises(RuleViolation) as refused:
        org.crm.tasks.delete(org.admin, parent.id)
    assert refused.value.code == "task.has_subtasks"
    org.crm.tasks.delete(org.admin, child.id)
    org.crm.tasks.delete(org.admin, parent.id)


def test_tags_on_a_task_are_the_writers_own(org: Org) -> None:
    helper, _ = _people(org)
    mine = org.crm.workbench.add_tag(org.rep, "重要", "#ff4d4f")
    theirs = org.crm.workbench.add_tag(helper, "私人")
    task = org.crm.tasks.create(org.rep, {"title": "x", "tag_ids": [mine.id]})
    assert task.tag_ids == (mine.id,)
    with pytest.raises(ValidationError) as refused:
        org.crm.tasks.update(org.rep, task.id, {"tag_ids": [mine.id, theirs.id, "nope"]})
    assert refused.value.codes == {"$.tag_ids[1]": "not_found", "$.tag_ids[2]": "not_found"}


def test_a_due_time_needs_a_due_date(org: Org) -> None:
    with pytest.raises(ValidationError) as refused:
        org.crm.tasks.create(org.rep, {"title": "x", "due_time": "15:00"})
    assert refused.value.codes == {"$.due_time": "task.time_without_date"}
    with pytest.raises(ValidationError) as bad:
        org.crm.tasks.create(org.rep, {"title": "x", "due_date": "2026-11-03",
                                       "due_time": "25:00"})
    assert bad.value.codes == {"$.due_time": "type"}
    task = org.crm.tasks.create(org.rep, {"title": "x", "due_date": "2026-11-03",
                                          "due_time": "15:30"})
    assert org.crm.tasks.get(org.rep, task.id).due_time == time(15, 30)
