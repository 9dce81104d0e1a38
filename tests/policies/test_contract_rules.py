"""Contract numbers and payment-plan statuses (crmkit.policies.contracts)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import NumberReset, NumberRule, PaymentPlan, PlanStatus
from crmkit.policies.contracts import (
    DATE_FORMATS,
    due_order,
    format_number,
    number_period,
    plan_due,
    plan_status,
    rule_problems,
)

rules = st.builds(
    NumberRule,
    prefix=st.text(alphabet="HTSO-_", max_size=5),
    date_format=st.sampled_from(sorted(DATE_FORMATS)),
    digits=st.integers(1, 6),
    reset=st.sampled_from(list(NumberReset)),
)
days = st.dates(date(2000, 1, 1), date(2099, 12, 31))


def test_examples() -> None:
    rule = NumberRule(prefix="HT")
    assert format_number(rule, date(2026, 11, 27), 7) == "HT202611270007"
    assert format_number(rule, date(2026, 11, 27), 12345) == "HT2026112712345"
    assert number_period(rule, date(2026, 11, 27)) == "2026-11-27"
    yearly = NumberRule(prefix="", date_format="%Y", digits=3, reset=NumberReset.YEARLY)
    assert (format_number(yearly, date(2026, 1, 1), 1), number_period(yearly, date(2026, 5, 1))
            ) == ("2026001", "2026")
    assert number_period(NumberRule(date_format="", reset=NumberReset.NEVER), date.today()) == ""


@pytest.mark.parametrize(("date_format", "reset", "ok"), [
    ("%Y%m%d", NumberReset.DAILY, True), ("%Y%m", NumberReset.DAILY, False),
    ("%Y%m", NumberReset.MONTHLY, True), ("%Y", NumberReset.MONTHLY, False),
    ("", NumberReset.YEARLY, False), ("", NumberReset.NEVER, True),
    ("%Y%m%d", NumberReset.NEVER, True), ("%d", NumberReset.NEVER, False),
])
def test_date_part_must_tell_reset_periods_apart(date_format: str, reset: NumberReset,
                                                 ok: bool) -> None:
    problems = rule_problems(NumberRule(prefix="HT", date_format=date_format, reset=reset))
    assert (problems == []) is ok


@given(rules, st.lists(st.tuples(days, st.integers(1, 2000)), min_size=2, max_size=30))
def test_valid_rules_never_repeat_a_number(rule: NumberRule,
                                           draws: list[tuple[date, int]]) -> None:
    """Each (period, sequence) is handed out once, so a valid rule gives distinct numbers to
    distinct (period, sequence) pairs — the uniqueness the sequence table relies on."""
    assume(not rule_problems(rule))
    issued = {(number_period(rule, day), seq): format_number(rule, day, seq)
              for day, seq in draws}
    assert len(set(issued.values())) == len(issued)


def plan(amount: str = "100", planned: date = date(2026, 11, 10), voided: bool = False
         ) -> PaymentPlan:
    return PaymentPlan("p", "c", "cu", 1, Decimal(amount), planned, None,
                       datetime(2026, 11, 1, tzinfo=UTC), voided=voided, remind_days=3)


@given(received=st.decimals(0, 300, places=2), planned=days, today=days,
       voided=st.booleans(), status=st.sampled_from(list(ApprovalStatus)))
def test_plan_status_matches_its_definition(received: Decimal, planned: date, today: date,
                                            voided: bool, status: ApprovalStatus) -> None:
    p = plan("100", planned, voided)
    got = plan_status(p, received, status, today)
    if voided or status is ApprovalStatus.VOID:
        assert got is PlanStatus.VOID
    elif received >= 100:
        assert got is PlanStatus.DONE
    elif planned < today:
        assert got is PlanStatus.OVERDUE
    else:
        assert got is (PlanStatus.PARTIAL if received > 0 else PlanStatus.PENDING)


def test_remind_on_is_days_before_the_planned_date() -> None:
    assert plan(planned=date(2026, 3, 2)).remind_on == date(2026, 2, 27)


@given(received=st.decimals(0, 200, places=2), planned=days, on=days, remind=st.integers(0, 30),
       voided=st.booleans(),
       status=st.sampled_from(list(ApprovalStatus)) | st.none())
def test_plan_due_is_the_reminder_day_of_a_plan_neither_done_nor_void(
        received: Decimal, planned: date, on: date, remind: int, voided: bool,
        status: ApprovalStatus | None) -> None:
    """回款提醒 written out: the one rule every store's ``plans.due`` follows."""
    p = attrs.evolve(plan("100", planned, voided), remind_days=remind)
    expected = (not voided and p.remind_on <= on and status is not None
                and status is not ApprovalStatus.VOID and received < p.amount)
    assert plan_due(p, on, received, status) is expected
    assert due_order(p) == (p.planned_date, p.id)
