"""评论 Comments (``crm.comments``) on every backend: whoever sees a record comments on it, a
stranger gets NotFound, replies stay on one record, only the author deletes."""

from __future__ import annotations

import pytest

from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org


def test_owner_and_participant_comment_and_read_oldest_first(org: Org) -> None:
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    task = org.crm.tasks.create(org.rep, {"title": "一起拜访"})
    org.crm.tasks.add_team_member(org.rep, task.id, helper.id)
    first = org.crm.comments.add(org.rep, "task", task.id, "明天上午出发")
    org.clock.advance(minutes=5)
    reply = org.crm.comments.add(helper, "task", task.id, "好的", reply_to_id=first.id)
    assert (reply.author_id, reply.reply_to_id, reply.target) == (helper.id, first.id,
                                                                 first.target)
    assert org.crm.comments.list(helper, "task", task.id) == [first, reply]
    assert org.crm.comments.list(org.admin, "task", task.id) == [first, reply]


def test_a_stranger_gets_not_found_as_for_a_missing_record(org: Org) -> None:
    stranger = org.user("13900000009", "另一位销售", org.group, "sales_rep")
    task = org.crm.tasks.create(org.rep, {"title": "我的任务"})
    comment = org.crm.comments.add(org.rep, "task", task.id, "备注")
    for call in (lambda: org.crm.comments.add(stranger, "task", task.id, "偷看"),
                 lambda: org.crm.comments.list(stranger, "task", task.id),
                 lambda: org.crm.comments.list(org.rep, "task", "missing")):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(NotFound) as hidden:
        org.crm.comments.delete(stranger, comment.id)
    with pytest.raises(NotFound) as missing:
        org.crm.comments.delete(stranger, "missing")
    assert hidden.value.as_dict() == missing.value.as_dict()
    assert org.crm.comments.list(org.rep, "task", task.id) == [comment]


def test_bad_comments_are_refused_and_nothing_is_written(org: Org) -> None:
    task = org.crm.tasks.create(org.rep, {"title": "任务"})
    other = org.crm.tasks.create(org.rep, {"title": "另一个任务"})
    elsewhere = org.crm.comments.add(org.rep, "task", other.id, "别处的评论")
    with pytest.raises(ValidationError) as bad:
        org.crm.comments.add(org.rep, "task", task.id, " ", reply_to_id=elsewhere.id)
    assert bad.value.codes == {"$.content": "blank", "$.reply_to_id": "not_found"}
    with pytest.raises(ValidationError) as long:
        org.crm.comments.add(org.rep, "task", task.id, "长" * 2001)
    assert long.value.codes == {"$.content": "too_long"}
    assert org.crm.comments.list(org.rep, "task", task.id) == []


def test_only_the_author_deletes_and_replies_stay(org: Org) -> None:
    task = org.crm.tasks.create(org.rep, {"title": "任务"})
    first = org.crm.comments.add(org.rep, "task", task.id, "第一条")
    reply = org.crm.comments.add(org.admin, "task", task.id, "回复", reply_to_id=first.id)
    with pytest.raises(PermissionDenied) as refused:
        org.crm.comments.delete(org.rep, reply.id)
    assert refused.value.code == "comment.not_author"
    org.crm.comments.delete(org.rep, first.id)
    assert org.crm.comments.list(org.rep, "task", task.id) == [reply]


def test_kinds_without_comments_are_refused(org: Org) -> None:
    customer = org.crm.customers.create(org.rep, {"name": "华星科技"})
    with pytest.raises(RuleViolation) as refused:
        org.crm.comments.add(org.rep, "customer", customer.id, "评论")
    assert refused.value.code == "record_kind.feature"
