"""提醒与待办 ``crm.reminders`` on memory, SQLite and PostgreSQL: the scan notifies every due
item once however often it runs (a later occasion of the same record is a new reminder), the
to-do counts the acting user's items per category, and the scan is background work."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from crmkit.entities import SystemActor
from crmkit.entities.reminders import ReminderKind
from crmkit.errors import PermissionDenied, ValidationError

from .conftest import Org

JOBS = SystemActor("test: reminder scan")
K = ReminderKind


def local(day: int, hour: int) -> str:
    """An ISO time on ``day`` November 2026, ``hour`` o'clock in Beijing."""
    return f"2026-11-{day:02d}T{hour:02d}:00:00+08:00"


def build(org: Org) -> dict[str, Any]:
    """On Monday 2 Nov 2026, 09:00 Beijing: one item of every kind for 张三 (the rep); the
    clock starts 29 days earlier, when the idle customer came."""
    crm, rep = org.crm, org.rep
    pool = crm.pool.create_pool(org.admin, {
        "name": "公海", "member_department_ids": [org.sales.id],
        "rules": [{"type": "followup", "days": 30}]})
    idle = crm.customers.create(rep, {"name": "沉睡客户"})
    org.clock.advance(days=29)  # idle goes to the pool in 2 days
    today = crm.customers.create(rep, {"name": "今天联系", "next_contact_at": local(2, 15)})
    late = crm.customers.create(rep, {"name": "逾期客户", "next_contact_at": local(1, 10)})
    crm.customers.create(rep, {"name": "以后联系", "next_contact_at": local(5, 10)})
    crm.customers.create(org.manager, {"name": "经理的客户", "next_contact_at": local(2, 11)})
    task = crm.tasks.create(rep, {"title": "写方案", "due_date": "2026-11-02"})
    contract = crm.contracts.create(rep, {"name": "年度合同", "customer_id": today.id,
                                          "amount": "1000", "end_date": "2026-11-20"},
                                    submit=True)
    [plan] = crm.contracts.add_plans(rep, contract.id, [
        {"amount": "500", "planned_date": "2026-11-05", "remind_days": 5}])
    return {"pool": pool, "idle": idle, "today": today, "late": late, "task": task,
            "contract": contract, "plan": plan}


@pytest.fixture
def world(org: Org) -> dict[str, Any]:
    org.clock.set(datetime(2026, 10, 4, 1, 0, tzinfo=UTC))
    return build(org)


def kinds_of(notifications: list[Any]) -> list[tuple[str, str | None]]:
    return sorted((n.kind, n.record_id) for n in notifications)


def test_a_scan_notifies_each_due_item_once(org: Org, world: dict[str, Any]) -> None:
    crm, rep = org.crm, org.rep
    before = len(org.notifier.sent)
    report = crm.reminders.scan(JOBS)
    mine = [n for n in org.notifier.sent[before:] if n.recipient_id == rep.id]
    assert kinds_of(mine) == sorted([
        ("contact.today", world["today"].id), ("contact.overdue", world["late"].id),
        ("task.due", world["task"].id), ("contract.expiring", world["contract"].id),
        ("payment_plan.due", world["contract"].id),
        ("customer.reclaim_soon", world["idle"].id)])
    assert report.by_kind()[K.CONTACT_TODAY] == 2  # the manager's customer too
    today = next(n for n in mine if n.kind == "contact.today")
    assert today.record_kind == "customer"
    assert today.title_zh == "今日需联系客户「今天联系」"
    assert today.title_en == "Contact the customer “今天联系” today"
    assert today.data["due"] == "2026-11-02"

    sent = len(org.notifier.sent)
    assert crm.reminders.scan(JOBS).sent == ()
    assert crm.reminders.scan(JOBS).sent == ()
    assert len(org.notifier.sent) == sent


def test_the_next_day_brings_new_occasions_only(org: Org, world: dict[str, Any]) -> None:
    crm = org.crm
    crm.reminders.scan(JOBS)
    org.clock.advance(days=1)
    report = crm.reminders.scan(JOBS)
    # yesterday's contact is overdue now (a new occasion); the task, contract, plan and the
    # idle customer (the same reclaim day) were reminded already
    assert [(r.kind.value, r.record.id) for r in report.sent if r.recipient_id == org.rep.id
            ] == [("contact.overdue", world["today"].id)]
    assert crm.reminders.scan(JOBS).sent == ()


def test_a_follow_up_ends_the_contact_reminders(org: Org, world: dict[str, Any]) -> None:
    crm = org.crm
    crm.followups.add(org.rep, "customer", world["late"].id,
                      {"method": "打电话", "content": "已联系"})
    report = crm.reminders.scan(JOBS)
    assert world["late"].id not in {r.record.id for r in report.sent}
    assert crm.reminders.todo(org.rep).counts[K.CONTACT_OVERDUE] == 0


def test_the_todo_counts_the_actors_own_items_per_category(org: Org,
                                                           world: dict[str, Any]) -> None:
    crm = org.crm
    todo = crm.reminders.todo(org.rep)
    assert todo.counts == {K.CONTACT_TODAY: 1, K.CONTACT_OVERDUE: 1, K.TASK_DUE: 1,
                           K.SCHEDULE: 0, K.PAYMENT_PLAN_DUE: 1, K.CONTRACT_EXPIRING: 1,
                           K.RECLAIM_SOON: 1, K.APPROVAL_WAITING: 0}
    assert {r.recipient_id for r in todo.items} == {org.rep.id}
    assert [r.due for r in todo.items] == sorted(r.due for r in todo.items)
    manager = crm.reminders.todo(org.manager)
    assert manager.counts[K.CONTACT_TODAY] == 1 and sum(manager.counts.values()) == 1
    # the to-do reads; it sends nothing and leaves the scan its reminders
    assert crm.reminders.scan(JOBS).by_kind()[K.TASK_DUE] == 1


def test_the_todo_lists_approvals_waiting_for_the_user(org: Org, world: dict[str, Any]) -> None:
    crm = org.crm
    crm.approvals.define_flow(org.admin, {
        "kind": "contract", "name": "合同审批", "start": "boss",
        "nodes": [{"type": "approver", "id": "boss", "source": "supervisor", "level": 1}]})
    crm.contracts.create(org.rep, {"name": "待批合同", "customer_id": world["today"].id,
                                   "amount": "10"}, submit=True)
    todo = crm.reminders.todo(org.manager)
    assert todo.counts[K.APPROVAL_WAITING] == 1
    [waiting] = [r for r in todo.items if r.kind is K.APPROVAL_WAITING]
    assert waiting.record.kind == "contract"
    assert crm.reminders.scan(JOBS).by_kind().get(K.APPROVAL_WAITING) is None


def test_windows_are_arguments(org: Org, world: dict[str, Any]) -> None:
    crm = org.crm
    assert crm.reminders.todo(org.rep, contract_days=7).counts[K.CONTRACT_EXPIRING] == 0
    assert crm.reminders.todo(org.rep, reclaim_days=1).counts[K.RECLAIM_SOON] == 0
    with pytest.raises(ValidationError) as bad:
        crm.reminders.scan(JOBS, contract_days=-1)
    assert bad.value.paths == ["$.contract_days"]


def test_the_scan_is_background_work(org: Org, world: dict[str, Any]) -> None:
    with pytest.raises(PermissionDenied):
        org.crm.reminders.scan(org.rep)
    assert org.crm.reminders.scan(org.admin, at=org.clock.now() + timedelta(minutes=1)).sent


def test_reminders_reach_their_recipients_inbox(org: Org, world: dict[str, Any]) -> None:
    crm, rep = org.crm, org.rep
    crm.notifications.mark_read(rep)
    crm.reminders.scan(JOBS)
    assert crm.notifications.unread_count(rep) == 6
    newest = crm.notifications.list(rep, unread_only=True, limit=2)
    assert [m.notification.recipient_id for m in newest] == [rep.id, rep.id]
    assert newest[0].id > newest[1].id
    rest = crm.notifications.list(rep, unread_only=True, before=newest[1].id)
    assert len(rest) == 4
    # nobody marks another user's notifications: their ids are left alone
    assert crm.notifications.mark_read(org.manager, [m.id for m in newest]) == 0
    assert crm.notifications.mark_read(rep, [newest[0].id]) == 1
    assert crm.notifications.unread_count(rep) == 5
    assert crm.notifications.mark_read(rep) == 5 and crm.notifications.unread_count(rep) == 0
    with pytest.raises(ValidationError) as bad:
        crm.notifications.list(rep, limit=0)
    assert bad.value.paths == ["$.limit"]


def test_a_notifier_that_keeps_nothing_has_no_inbox() -> None:
    from crmkit import CRM
    from crmkit.adapters.notifiers import LoggingNotifier
    from crmkit.errors import RuleViolation
    from crmkit.testing.builders import sample_org

    crm = CRM(notifier=LoggingNotifier())
    org = sample_org(crm)
    with pytest.raises(RuleViolation) as refused:
        crm.notifications.unread_count(org.rep)
    assert refused.value.code == "notifications.not_kept"


def test_a_task_due_reminds_its_participants_too(org: Org, world: dict[str, Any]) -> None:
    crm = org.crm
    helper = org.user("13900000011", "王五", org.group, "sales_rep")
    task = crm.tasks.create(org.rep, {"title": "一起拜访", "due_date": "2026-11-01",
                                      "participant_ids": [helper.id]})
    assert crm.reminders.todo(helper).counts[K.TASK_DUE] == 1
    sent = [(r.recipient_id, r.text_zh) for r in crm.reminders.scan(JOBS).sent
            if r.record.id == task.id]
    assert sent == [(org.rep.id, "任务「一起拜访」已于 2026-11-01 到期"),
                    (helper.id, "任务「一起拜访」已于 2026-11-01 到期")]


def test_calendar_reminders_come_once_per_occurrence_and_offset(org: Org,
                                                                world: dict[str, Any]) -> None:
    crm = org.crm
    helper = org.user("13900000011", "王五", org.group, "sales_rep")
    event = crm.schedules.create(org.rep, {
        "title": "拜访星河", "starts_at": "2026-11-02T09:20:00+08:00",
        "ends_at": "2026-11-02T10:00:00+08:00", "reminders": [15, 60],
        "participant_ids": [helper.id]})

    def calendar(report: Any) -> list[tuple[str, str]]:
        return [(r.recipient_id, r.occasion) for r in report.sent if r.record.id == event.id]

    start = "2026-11-02T01:20:00+00:00"
    assert calendar(crm.reminders.scan(JOBS)) == [(org.rep.id, f"{start}-60m"),
                                                  (helper.id, f"{start}-60m")]
    assert crm.reminders.todo(helper).counts[K.SCHEDULE] == 1
    org.clock.advance(minutes=10)  # 09:10: the 15-minute reminder is due
    assert calendar(crm.reminders.scan(JOBS)) == [(org.rep.id, f"{start}-15m"),
                                                  (helper.id, f"{start}-15m")]
    org.clock.advance(hours=1)  # over: nothing more
    assert calendar(crm.reminders.scan(JOBS)) == []
    assert crm.reminders.todo(helper).counts[K.SCHEDULE] == 0
