"""The complete timeline ``crm.timeline`` on memory, SQLite and PostgreSQL: a customer with a
contact, an opportunity and a contract, each with follow-ups, and the contract's approval;
the customer's timeline rolls them up (each item names its source), filters by category,
pages by keyset, and shows each viewer only the records they may see."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from crmkit.entities.records import RecordRef
from crmkit.entities.timeline import TimelineCategory
from crmkit.errors import NotFound, ValidationError

from .conftest import Org

C = TimelineCategory


def note(org: Org, actor: Any, kind: str, record_id: str, content: str, minutes: int) -> Any:
    """A follow-up dated ``minutes`` after 08:00 on the clock's day."""
    at = org.clock.now() - timedelta(hours=2) + timedelta(minutes=minutes)
    return org.crm.followups.add(actor, kind, record_id, {"method": "打电话",
                                                          "content": content, "at": at})


@pytest.fixture
def deal(org: Org) -> dict[str, Any]:
    crm, rep = org.crm, org.rep
    other = org.user("13900000009", "李四", org.group, "sales_rep", supervisor_id=org.manager.id)
    group = crm.opportunities.add_stage_group(org.admin, {
        "name": "流程", "stages": [{"name": "初步接洽", "win_rate": "10"}]})
    crm.approvals.define_flow(org.admin, {
        "kind": "contract", "name": "合同审批", "start": "boss",
        "nodes": [{"type": "approver", "id": "boss", "source": "supervisor", "level": 1}]})
    customer = crm.customers.create(rep, {"name": "星河科技"})
    contact = crm.contacts.create(rep, {"name": "陈总", "customer_id": customer.id})
    theirs = crm.contacts.create(org.admin, {"name": "李四的联系人", "customer_id": customer.id,
                                             "owner_id": other.id})
    opportunity = crm.opportunities.create(rep, {"name": "50 席", "customer_id": customer.id,
                                                 "stage_group_id": group.id})
    contract = crm.contracts.create(rep, {"name": "年度合同", "customer_id": customer.id,
                                          "amount": "1000"}, submit=True)
    org.clock.advance(minutes=1)
    crm.approvals.approve(org.manager, "contract", contract.id, "同意")
    crm.customers.add_team_member(rep, customer.id, other.id, "read")
    items = {
        "c1": note(org, rep, "customer", customer.id, "初次拜访", 1),
        "c2": note(org, rep, "customer", customer.id, "回访", 5),
        "k1": note(org, rep, "contact", contact.id, "电话沟通", 2),
        "o1": note(org, rep, "opportunity", opportunity.id, "需求确认", 3),
        "t1": note(org, rep, "contract", contract.id, "催签", 4),
        "x1": note(org, org.admin, "contact", theirs.id, "李四的跟进", 6),
    }
    return {"other": other, "customer": customer, "contact": contact, "theirs": theirs,
            "opportunity": opportunity, "contract": contract, "items": items}


def test_related_tasks_show_once_for_the_viewers_who_see_them(org: Org,
                                                              deal: dict[str, Any]) -> None:
    crm, customer, contact = org.crm, deal["customer"], deal["contact"]
    org.clock.advance(minutes=1)
    mine = crm.tasks.create(org.rep, {"title": "准备报价", "related": [
        {"kind": "customer", "id": customer.id}, {"kind": "contact", "id": contact.id}]})
    org.clock.advance(minutes=1)
    crm.contacts.add_team_member(org.rep, contact.id, deal["other"].id, "read")
    crm.tasks.create(deal["other"], {"title": "李四的任务", "related": [
        {"kind": "contact", "id": contact.id}]})
    # 王五 takes part in 张三's task: a participant sees it on the timeline too
    helper = org.user("13900000011", "王五", org.group, "sales_rep")
    crm.tasks.create(org.rep, {"title": "王五参与", "participant_ids": [helper.id],
                               "related": [{"kind": "customer", "id": customer.id}]})
    crm.customers.add_team_member(org.rep, customer.id, helper.id, "read")
    tasks = whole(org, org.manager, "customer", customer.id, categories=["task"])
    assert [(i.title, i.source.kind, i.actor_id) for i in tasks] == [
        ("王五参与", "customer", org.rep.id), ("李四的任务", "contact", deal["other"].id),
        ("准备报价", "customer", org.rep.id)]
    assert tasks[2].item == RecordRef("task", mine.id)
    # 张三 sees his own tasks only; on the contact's own timeline they come from the contact
    assert [i.title for i in whole(org, org.rep, "customer", customer.id,
                                   categories=["task"])] == ["王五参与", "准备报价"]
    assert [(i.title, i.source.kind) for i in whole(org, org.manager, "contact", contact.id)
            if i.category is C.TASK] == [("李四的任务", "contact"), ("准备报价", "contact")]
    assert [i.title for i in whole(org, helper, "customer", customer.id,
                                   categories=["task"])] == ["王五参与"]
    assert whole(org, org.manager, "customer", customer.id)[0].title == "王五参与"


def whole(org: Org, actor: Any, kind: str, record_id: str, **options: Any) -> list[Any]:
    return list(org.crm.timeline.of(actor, kind, record_id, limit=200, **options).items)


def contents(items: list[Any]) -> list[str]:
    return [i.title for i in items]


def test_the_customer_timeline_rolls_up_its_records_newest_first(org: Org,
                                                                 deal: dict[str, Any]) -> None:
    items = whole(org, org.manager, "customer", deal["customer"].id)
    assert [i.category for i in items] == [C.APPROVAL, C.APPROVAL] + [C.COMMUNICATION] * 6
    approve, submit = items[:2]
    assert (approve.title, approve.actor_id) == ("审批通过：同意", org.manager.id)
    assert (submit.title, submit.actor_id) == ("提交审批", org.rep.id)
    assert approve.source == submit.source == RecordRef("contract", deal["contract"].id)
    assert contents(items[2:]) == ["[打电话] 李四的跟进", "[打电话] 回访", "[打电话] 催签",
                                   "[打电话] 需求确认", "[打电话] 电话沟通", "[打电话] 初次拜访"]
    assert [i.source.kind for i in items[2:]] == ["contact", "customer", "contract",
                                                  "opportunity", "contact", "customer"]
    assert items[2].item == RecordRef("followup", deal["items"]["x1"].id)
    assert [i.at for i in items] == sorted((i.at for i in items), reverse=True)


def test_each_viewer_sees_the_records_they_may_see(org: Org, deal: dict[str, Any]) -> None:
    customer = deal["customer"].id
    # 张三 (own records only) does not see 李四's contact, 李四 (on the customer's team) sees
    # the customer and his own contact only
    mine = whole(org, org.rep, "customer", customer)
    assert "[打电话] 李四的跟进" not in contents(mine) and len(mine) == 7
    theirs = whole(org, deal["other"], "customer", customer)
    assert contents(theirs) == ["[打电话] 李四的跟进", "[打电话] 回访", "[打电话] 初次拜访"]
    outsider = org.user("13900000010", "王五", org.finance, "sales_rep")
    with pytest.raises(NotFound):
        org.crm.timeline.of(outsider, "customer", customer)
    # a record's own timeline: the contract shows its follow-up and approval, nothing else
    contract = whole(org, org.rep, "contract", deal["contract"].id)
    assert contents(contract) == ["审批通过：同意", "提交审批", "[打电话] 催签"]


def test_categories_filter_the_timeline(org: Org, deal: dict[str, Any]) -> None:
    customer = deal["customer"].id
    assert [i.category for i in whole(org, org.rep, "customer", customer,
                                      categories=["approval"])] == [C.APPROVAL] * 2
    talk = whole(org, org.rep, "customer", customer, categories=["communication"])
    assert {i.category for i in talk} == {C.COMMUNICATION} and len(talk) == 5
    assert whole(org, org.rep, "customer", customer, categories=["log", "schedule"]) == []
    with pytest.raises(ValidationError) as bad:
        org.crm.timeline.of(org.rep, "customer", customer, categories=["沟通"])
    assert bad.value.paths == ["$.categories[0]"]


def test_keyset_pages_give_every_item_once(org: Org, deal: dict[str, Any]) -> None:
    customer = deal["customer"].id
    everything = whole(org, org.manager, "customer", customer)
    for size in (1, 2, 3):
        seen: list[Any] = []
        cursor = None
        while True:
            page = org.crm.timeline.of(org.manager, "customer", customer, limit=size,
                                       cursor=cursor)
            assert len(page.items) <= size
            seen += page.items
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == everything
    with pytest.raises(ValidationError) as bad:
        org.crm.timeline.of(org.rep, "customer", customer, cursor="not a cursor")
    assert bad.value.paths == ["$.cursor"]


def test_related_schedules_and_work_logs_join_the_timeline(org: Org,
                                                           deal: dict[str, Any]) -> None:
    crm, customer = org.crm, deal["customer"]
    opportunity = RecordRef("opportunity", deal["opportunity"].id)
    related = [{"kind": opportunity.kind, "id": opportunity.id}]
    event = crm.schedules.create(org.rep, {
        "title": "方案演示", "starts_at": "2026-11-03T14:00:00+08:00",
        "ends_at": "2026-11-03T15:00:00+08:00", "related": related})
    log = crm.work_logs.create(org.rep, {"period": "daily", "period_start": "2026-11-02",
                                         "done": "演示准备", "related": related})
    shown = whole(org, org.manager, "customer", customer.id, categories=["schedule", "log"])
    assert [(i.category, i.item, i.source) for i in shown] == [
        (C.SCHEDULE, RecordRef("schedule", event.id), opportunity),   # dated by its start
        (C.LOG, RecordRef(log_kind(org), log.id), opportunity)]
    assert shown[0].at == event.starts_at and shown[0].title == "方案演示"
    # 李四 sees the customer through its team, not the opportunity: neither item
    assert whole(org, deal["other"], "customer", customer.id,
                 categories=["schedule", "log"]) == []


def log_kind(org: Org) -> str:
    return org.crm.work_logs.kind
