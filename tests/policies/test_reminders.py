"""Reminders and to-do (crmkit.policies.reminders): who is told what, and each occasion once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.approvals import ApprovalInstance, ApprovalMode, ApprovalStatus, ApprovalStep
from crmkit.entities.calendar import CalendarEvent, Frequency, RepeatRule
from crmkit.entities.contracts import Contract, PaymentPlan, PlanStatus, PlanView
from crmkit.entities.records import RecordRef
from crmkit.entities.reminders import Reminder, ReminderKind
from crmkit.entities.sales import Customer
from crmkit.entities.tasks import Task
from crmkit.policies.reminders import (
    approval_items,
    contact_reminders,
    contract_reminders,
    payment_plan_reminders,
    reclaim_reminders,
    schedule_reminders,
    task_reminders,
    todo_counts,
    unsent,
)

SH = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 3, 10, 0, tzinfo=SH)
TODAY = date(2026, 12, 3)


def customer(id: str = "c1", **changes: Any) -> Customer:
    return attrs.evolve(Customer(id, "华星科技", "u1", "u1", NOW, NOW), **changes)


def kinds(reminders: Iterable[Reminder]) -> list[tuple[str, str, str]]:
    return [(r.kind.value, r.recipient_id, r.record.id) for r in reminders]


# -- next contact ---------------------------------------------------------------------------
def test_a_customer_due_today_and_one_overdue_are_told_apart() -> None:
    today = customer("c1", next_contact_at=datetime(2026, 12, 3, 16, tzinfo=SH))
    late = customer("c2", next_contact_at=datetime(2026, 12, 1, 9, tzinfo=SH))
    later = customer("c3", next_contact_at=datetime(2026, 12, 4, 0, tzinfo=SH))
    found = list(contact_reminders("customer", [today, late, later], NOW, SH))
    assert kinds(found) == [("contact.today", "u1", "c1"), ("contact.overdue", "u1", "c2")]
    assert found[0].text_zh == "今日需联系客户「华星科技」"
    assert found[0].notification().kind == "contact.today"
    assert found[1].text_en == "The customer “华星科技” was due for contact on 2026-12-01"


def test_a_follow_up_at_or_after_the_next_contact_time_settles_it() -> None:
    due = datetime(2026, 12, 1, 9, tzinfo=SH)
    done = customer(next_contact_at=due, last_followup_at=due)
    before = customer(next_contact_at=due, last_followup_at=due - timedelta(minutes=1))
    assert kinds(contact_reminders("customer", [done, before], NOW, SH)) == [
        ("contact.overdue", "u1", "c1")]


def test_the_local_day_decides_today() -> None:
    just_after_midnight = datetime(2026, 12, 3, 16, 30, tzinfo=UTC)  # 4 Dec 00:30 in Shanghai
    due = customer(next_contact_at=datetime(2026, 12, 4, 8, tzinfo=SH))
    assert kinds(contact_reminders("customer", [due], just_after_midnight, SH)) == [
        ("contact.today", "u1", "c1")]
    assert list(contact_reminders("customer", [customer(owner_id=None,
                                                         next_contact_at=NOW)], NOW, SH)) == []


# -- tasks and events -----------------------------------------------------------------------
def test_a_due_task_reminds_its_owner_and_participants_until_done() -> None:
    task = Task("t1", "寄样品", "u1", "u1", NOW, NOW, due_date=TODAY,
                participant_ids=frozenset({"u3", "u2", "u1"}))
    assert kinds(task_reminders([task], NOW, SH)) == [
        ("task.due", "u1", "t1"), ("task.due", "u2", "t1"), ("task.due", "u3", "t1")]
    assert list(task_reminders([attrs.evolve(task, done=True, done_at=NOW)], NOW, SH)) == []
    tomorrow = attrs.evolve(task, due_date=TODAY + timedelta(days=1))
    assert list(task_reminders([tomorrow], NOW, SH)) == []
    assert next(task_reminders([attrs.evolve(task, due_date=date(2026, 12, 1))], NOW, SH)
                ).text_zh == "任务「寄样品」已于 2026-12-01 到期"


def test_event_reminders_go_to_owner_and_participants_per_occurrence_and_offset() -> None:
    start = datetime(2026, 12, 1, 10, 30, tzinfo=SH)
    event = CalendarEvent("e1", "u1", "周会", start, start + timedelta(hours=1), "u1", start,
                          start, participant_ids=frozenset({"u2"}), reminders=(30,),
                          repeat=RepeatRule(Frequency.DAILY))
    found = list(schedule_reminders([event], NOW, SH))
    assert kinds(found) == [("schedule.reminder", "u1", "e1"), ("schedule.reminder", "u2", "e1")]
    assert found[0].due == TODAY and found[0].text_zh == "日程「周会」2026-12-03 10:30 开始"
    assert found[0].occasion != next(iter(schedule_reminders([event], NOW + timedelta(days=1),
                                                             SH))).occasion


# -- money, contracts, the pool, approvals --------------------------------------------------
def plan(status: PlanStatus, planned: date, remind_days: int = 3) -> PlanView:
    return PlanView(PaymentPlan("p1", "k1", "c1", 2, Decimal("5000.00"), planned, "u1", NOW,
                                remind_days=remind_days), Decimal("0"), status)


def test_an_open_payment_plan_reminds_the_contract_owner_from_its_reminder_day() -> None:
    owners = {"k1": "u7"}
    assert list(payment_plan_reminders([plan(PlanStatus.PENDING, date(2026, 12, 7))], owners,
                                       TODAY)) == []
    found = list(payment_plan_reminders([plan(PlanStatus.PENDING, date(2026, 12, 6))], owners,
                                        TODAY))
    assert kinds(found) == [("payment_plan.due", "u7", "k1")]
    assert found[0].record == RecordRef("contract", "k1")
    for closed in (PlanStatus.DONE, PlanStatus.VOID):
        assert list(payment_plan_reminders([plan(closed, TODAY)], owners, TODAY)) == []
    assert list(payment_plan_reminders([plan(PlanStatus.OVERDUE, date(2026, 11, 1))], {},
                                       TODAY)) == []


def contract(status: ApprovalStatus, end: date | None) -> Contract:
    return Contract("k1", "年度维保", "c1", "u1", "u1", NOW, NOW, approval_status=status,
                    end_date=end)


def test_an_effective_contract_ending_within_n_days_reminds_its_owner() -> None:
    assert kinds(contract_reminders([contract(ApprovalStatus.APPROVED, date(2026, 12, 10))],
                                    TODAY, 7)) == [("contract.expiring", "u1", "k1")]
    assert list(contract_reminders([contract(ApprovalStatus.APPROVED, date(2026, 12, 11))],
                                   TODAY, 7)) == []
    assert list(contract_reminders([contract(ApprovalStatus.APPROVED, date(2026, 12, 2))],
                                   TODAY, 7)) == []
    assert list(contract_reminders([contract(ApprovalStatus.PENDING, TODAY)], TODAY, 7)) == []
    assert kinds(contract_reminders([contract(ApprovalStatus.NOT_REQUIRED, TODAY)], TODAY, 0)
                 ) == [("contract.expiring", "u1", "k1")]


def test_customers_going_to_the_pool_within_n_days_remind_their_owner() -> None:
    pairs = [(customer("c1"), 1), (customer("c2"), 3), (customer("c3"), 4),
             (customer("c4"), 0), (customer("c5"), None)]
    found = list(reclaim_reminders(pairs, TODAY, 3))
    assert kinds(found) == [("customer.reclaim_soon", "u1", "c1"),
                            ("customer.reclaim_soon", "u1", "c2")]
    assert [r.due for r in found] == [date(2026, 12, 4), date(2026, 12, 6)]


def test_an_approval_waits_for_its_current_approvers() -> None:
    step = ApprovalStep("n1", ApprovalMode.SEQUENTIAL, ("a1", "a2"))
    running = ApprovalInstance("i1", "contract", "k1", "f1", 1, "u1", ApprovalStatus.PENDING,
                               (step,))
    done = attrs.evolve(running, id="i2", status=ApprovalStatus.APPROVED)
    assert kinds(approval_items([running, done], TODAY)) == [("approval.waiting", "a1", "k1")]


# -- once, and the to-do --------------------------------------------------------------------
def test_unsent_drops_what_was_sent_and_repeats_within_a_batch() -> None:
    task = Task("t1", "寄样品", "u1", "u1", NOW, NOW, due_date=TODAY)
    first = list(task_reminders([task, task], NOW, SH))
    fresh = unsent(first, set())
    assert len(fresh) == 1
    assert unsent(first, {r.key for r in fresh}) == []
    assert fresh[0].key == "task.due u1 task t1 2026-12-03"
    assert fresh[0].notification().data == {"key": fresh[0].key, "due": "2026-12-03"}


def test_to_do_counts_records_per_kind_for_one_user() -> None:
    a = customer("c1", next_contact_at=NOW)
    b = customer("c2", next_contact_at=NOW, owner_id="u2")
    c = customer("c3", next_contact_at=NOW - timedelta(days=3))
    items = [*contact_reminders("customer", [a, b, c], NOW, SH),
             *reclaim_reminders([(a, 2)], TODAY, 3)]
    counts = todo_counts("u1", items)
    assert set(counts) == set(ReminderKind)
    assert (counts[ReminderKind.CONTACT_TODAY], counts[ReminderKind.CONTACT_OVERDUE],
            counts[ReminderKind.RECLAIM_SOON], counts[ReminderKind.TASK_DUE]) == (1, 1, 1, 0)


scan_steps = st.lists(st.integers(1, 6 * 60), min_size=1, max_size=40)


@given(scan_steps, st.lists(st.integers(0, 3 * 24 * 60), min_size=1, max_size=5, unique=True))
def test_repeated_scans_send_each_occasion_exactly_once_and_none_late(
        steps: list[int], offsets: list[int]) -> None:
    """A host scanning at any times, keeping the keys it sent: nothing is sent twice, and
    every reminder due at a scan is sent by that scan."""
    start = datetime(2026, 12, 5, 9, tzinfo=SH)
    event = CalendarEvent("e1", "u1", "站会", start, start + timedelta(minutes=15), "u1", NOW,
                          NOW, participant_ids=frozenset({"u2"}), reminders=tuple(offsets),
                          repeat=RepeatRule(Frequency.DAILY, count=3))
    task = Task("t1", "报价", "u1", "u1", NOW, NOW, due_date=date(2026, 12, 6))
    sent: list[Reminder] = []
    at = datetime(2026, 12, 1, 0, tzinfo=SH)
    for minutes in steps:
        at += timedelta(minutes=minutes * 10)
        due = [*schedule_reminders([event], at, SH), *task_reminders([task], at, SH)]
        sent.extend(unsent(due, {r.key for r in sent}))
        assert {r.key for r in due} <= {r.key for r in sent}
    keys = [r.key for r in sent]
    assert len(keys) == len(set(keys))


def test_the_same_next_contact_instant_in_another_zone_is_the_same_occasion() -> None:
    due = datetime(2026, 12, 3, 15, 0, tzinfo=SH)
    here = next(contact_reminders("customer", [customer(next_contact_at=due)], NOW, SH))
    stored_as_utc = customer(next_contact_at=due.astimezone(UTC))
    assert next(contact_reminders("customer", [stored_as_utc], NOW, SH)).key == here.key


moments = st.datetimes(datetime(2026, 1, 1), datetime(2026, 12, 31), timezones=st.sampled_from(
    [UTC, SH, ZoneInfo("America/New_York")]))


@given(st.none() | moments, st.none() | moments, moments)
def test_contact_reminders_follow_the_rule_text(due: datetime | None, last: datetime | None,
                                                now: datetime) -> None:
    record = customer(next_contact_at=due, last_followup_at=last)
    found = [r.kind for r in contact_reminders("customer", [record], now, SH)]
    if due is None or (last is not None and last >= due):
        assert found == []
        return
    day, today = due.astimezone(SH).date(), now.astimezone(SH).date()
    expected = ([] if day > today else [ReminderKind.CONTACT_TODAY] if day == today
                else [ReminderKind.CONTACT_OVERDUE])
    assert found == expected
