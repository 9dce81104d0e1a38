"""工作台 The workbench (``crm.workbench``) on every backend: the actor's columns, moves between
them and ordering within them (only the moved task changes), per-user placements, filters, and
a user's tags (create, rename, recolour, delete)."""

from __future__ import annotations

import pytest

from crmkit.entities.tasks import Bucket, Priority, Task
from crmkit.errors import NotFound, RuleViolation, ValidationError

from .conftest import Org


def _titles(columns: dict[Bucket, list[Task]]) -> dict[str, list[str]]:
    return {bucket.value: [t.title for t in tasks] for bucket, tasks in columns.items()}


def _tasks(org: Org, *titles: str) -> list[str]:
    ids = []
    for title in titles:
        ids.append(org.crm.tasks.create(org.rep, {"title": title}).id)
        org.clock.advance(minutes=1)
    return ids


def test_new_tasks_top_the_inbox_and_moves_file_them_in_order(org: Org) -> None:
    a, b, c = _tasks(org, "甲", "乙", "丙")
    assert _titles(org.crm.workbench.workbench(org.rep)) == {
        "inbox": ["丙", "乙", "甲"], "today": [], "next": [], "later": []}
    org.crm.workbench.move(org.rep, a, "today")
    org.crm.workbench.move(org.rep, b, Bucket.TODAY)            # on top
    org.crm.workbench.move(org.rep, c, "today", 1)              # between b and a
    assert _titles(org.crm.workbench.workbench(org.rep))["today"] == ["乙", "丙", "甲"]
    org.crm.workbench.move(org.rep, b, "today", 2)              # to the bottom
    assert _titles(org.crm.workbench.workbench(org.rep))["today"] == ["丙", "甲", "乙"]
    org.crm.workbench.move(org.rep, a, "later")
    assert _titles(org.crm.workbench.workbench(org.rep)) == {
        "inbox": [], "today": ["丙", "乙"], "next": [], "later": ["甲"]}


def test_a_move_changes_only_the_moved_tasks_placement(org: Org) -> None:
    ids = _tasks(org, "一", "二", "三", "四")
    keys = {task_id: org.crm.workbench.move(org.rep, task_id, "next", i).order_key
            for i, task_id in enumerate(ids)}
    assert sorted(keys.values()) == [keys[i] for i in ids]
    moved = org.crm.workbench.move(org.rep, ids[3], "next", 1)
    assert keys[ids[0]] < moved.order_key < keys[ids[1]]
    assert _titles(org.crm.workbench.workbench(org.rep))["next"] == ["一", "四", "二", "三"]
    with pytest.raises(ValidationError) as beyond:
        org.crm.workbench.move(org.rep, ids[0], "next", 4)   # three others: 0..3
    assert beyond.value.codes == {"$.position": "workbench.position"}
    with pytest.raises(ValidationError):
        org.crm.workbench.move(org.rep, ids[0], "someday")


def test_columns_are_per_user_and_only_involved_users_move_a_task(org: Org) -> None:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    task = org.crm.tasks.create(org.rep, {"title": "一起拜访", "participant_ids": [helper.id]})
    org.crm.workbench.move(org.rep, task.id, "today")
    assert _titles(org.crm.workbench.workbench(helper))["inbox"] == ["一起拜访"]
    org.crm.workbench.move(helper, task.id, "later")
    assert _titles(org.crm.workbench.workbench(helper))["later"] == ["一起拜访"]
    assert _titles(org.crm.workbench.workbench(org.rep))["today"] == ["一起拜访"]
    # The manager sees the rep's task through their scope, but it is not on their workbench.
    assert org.crm.tasks.get(org.manager, task.id).id == task.id
    with pytest.raises(NotFound) as not_mine:
        org.crm.workbench.move(org.manager, task.id, "today")
    with pytest.raises(NotFound) as missing:
        org.crm.workbench.move(org.manager, "missing", "today")
    assert not_mine.value.code == missing.value.code
    assert all(not tasks for tasks in org.crm.workbench.workbench(org.manager).values())


def test_filters_by_tag_priority_owner_participant_due_window_and_done(org: Org) -> None:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    hot = org.crm.workbench.add_tag(org.rep, "紧急")
    today = org.clock.now().date().isoformat()                # 2026-11-02 in Beijing
    urgent = org.crm.tasks.create(org.rep, {"title": "今天回电", "priority": "high",
                                            "due_date": today, "tag_ids": [hot.id]})
    shared = org.crm.tasks.create(helper, {"title": "协作任务", "priority": "low",
                                           "participant_ids": [org.rep.id]})
    done = org.crm.tasks.create(org.rep, {"title": "已完成", "due_date": "2026-10-30"})
    org.crm.tasks.complete(org.rep, done.id)

    def shown(**filters: object) -> list[str]:
        columns = org.crm.workbench.workbench(org.rep, filters)
        return sorted(t.title for tasks in columns.values() for t in tasks)

    assert shown() == ["今天回电", "协作任务", "已完成"]
    assert shown(tag_ids=[hot.id]) == ["今天回电"]
    assert shown(priorities=["high", "low"]) == ["今天回电", "协作任务"]
    assert shown(owner_id=helper.id) == ["协作任务"]
    assert shown(participant_id=org.rep.id) == ["协作任务"]
    assert shown(due="today") == ["今天回电"]
    assert shown(due="none") == ["协作任务"]
    assert shown(done=True) == ["已完成"]
    assert shown(done=False, due="this_week", priorities=[Priority.HIGH]) == ["今天回电"]
    with pytest.raises(ValidationError) as bad:
        org.crm.workbench.workbench(org.rep, {"due": "someday", "colour": 1})
    assert set(bad.value.codes) == {"$.due", "$.colour"}
    assert urgent.id and shared.id


def test_a_user_manages_their_own_tags(org: Org) -> None:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    hot = org.crm.workbench.add_tag(org.rep, " 紧急 ", "#FF0000")
    assert (hot.name, hot.colour) == ("紧急", "#FF0000")
    warm = org.crm.workbench.add_tag(org.rep, "跟进")
    assert [t.name for t in org.crm.workbench.tags(org.rep)] == ["紧急", "跟进"]
    with pytest.raises(ValidationError) as taken:
        org.crm.workbench.add_tag(org.rep, "紧急")
    assert taken.value.codes == {"$.name": "tag.name_taken"}
    assert org.crm.workbench.add_tag(helper, "紧急").owner_id == helper.id  # per user
    renamed = org.crm.workbench.update_tag(org.rep, warm.id, {"name": "待跟进",
                                                                "colour": "#00aa00"})
    assert (renamed.name, renamed.colour, renamed.version) == ("待跟进", "#00aa00", 2)
    with pytest.raises(ValidationError) as colour:
        org.crm.workbench.update_tag(org.rep, warm.id, {"colour": "red"})
    assert colour.value.codes == {"$.colour": "tag.colour"}
    with pytest.raises(NotFound):
        org.crm.workbench.update_tag(helper, warm.id, {"name": "偷改"})
    with pytest.raises(NotFound):
        org.crm.workbench.delete_tag(helper, warm.id)
    assert [t.name for t in org.crm.workbench.tags(helper)] == ["紧急"]


def test_deleting_a_tag_takes_it_off_every_task(org: Org) -> None:
    hot = org.crm.workbench.add_tag(org.rep, "紧急")
    keep = org.crm.workbench.add_tag(org.rep, "保留")
    one = org.crm.tasks.create(org.rep, {"title": "一", "tag_ids": [hot.id, keep.id]})
    two = org.crm.tasks.create(org.rep, {"title": "二", "tag_ids": [hot.id]})
    org.crm.workbench.delete_tag(org.rep, hot.id)
    assert org.crm.tasks.get(org.rep, one.id).tag_ids == (keep.id,)
    assert org.crm.tasks.get(org.rep, two.id).tag_ids == ()
    assert [e.action for e in org.crm.tasks.operation_log(org.rep, two.id)] == ["untag",
                                                                                "create"]
    assert [t.id for t in org.crm.workbench.tags(org.rep)] == [keep.id]
    columns = org.crm.workbench.workbench(org.rep, {"tag_ids": [hot.id]})
    assert all(not tasks for tasks in columns.values())


def test_attachments_on_tasks_use_the_shared_feature(org: Org) -> None:
    task = org.crm.tasks.create(org.rep, {"title": "合同扫描件"})
    added = org.crm.attachments.add(org.rep, "task", task.id, "扫描.pdf", b"%PDF-1",
                                    "application/pdf")
    assert [a.id for a in org.crm.attachments.list(org.rep, "task", task.id)] == [added.id]
    stranger = org.user("13900000009", "旁人", org.group, "sales_rep")
    with pytest.raises(NotFound):
        org.crm.attachments.list(stranger, "task", task.id)


def test_leaving_a_task_takes_it_off_ones_workbench(org: Org) -> None:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    task = org.crm.tasks.create(org.rep, {"title": "一起拜访", "participant_ids": [helper.id]})
    org.crm.workbench.move(helper, task.id, "later")
    org.crm.workbench.move(org.rep, task.id, "today")
    org.crm.tasks.remove_team_member(org.rep, task.id, helper.id)
    org.crm.tasks.add_team_member(org.rep, task.id, helper.id)
    assert _titles(org.crm.workbench.workbench(helper))["inbox"] == ["一起拜访"]  # filed anew
    org.crm.tasks.transfer(org.admin, [task.id], helper.id)       # the rep leaves it
    assert _titles(org.crm.workbench.workbench(helper))["inbox"] == ["一起拜访"]
    org.crm.tasks.add_team_member(helper, task.id, org.rep.id)
    assert _titles(org.crm.workbench.workbench(org.rep))["inbox"] == ["一起拜访"]


def test_a_subtask_moves_with_its_parent(org: Org) -> None:
    parent = org.crm.tasks.create(org.rep, {"title": "投标"})
    child = org.crm.tasks.create(org.rep, {"title": "写方案", "parent_id": parent.id})
    with pytest.raises(RuleViolation) as refused:
        org.crm.workbench.move(org.rep, child.id, "today")
    assert refused.value.code == "workbench.subtask"
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    org.crm.tasks.add_team_member(org.rep, child.id, helper.id)   # sees the subtask alone
    org.crm.workbench.move(helper, child.id, "today")
    assert _titles(org.crm.workbench.workbench(helper))["today"] == ["写方案"]
