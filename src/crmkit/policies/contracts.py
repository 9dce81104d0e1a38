"""Contract numbers, received amounts and payment-plan statuses as pure rules (DESIGN §5).

Numbers (:func:`format_number`): ``prefix`` + the local day formatted by the rule's
``date_format`` + the sequence, zero-padded to ``digits`` (never truncated). The sequence is
counted per *period* (:func:`number_period`): the day, the month, the year, or one period for
ever. A rule is valid (:func:`rule_problems`) only when its date part shows the reset period
(a daily reset needs the day in the number, a monthly one the month, a yearly one the year) —
otherwise two periods would print the same numbers.

Amounts: ``received`` is the sum of the contract's effective payments; ``unreceived`` =
``amount`` − ``received`` (negative when over-paid, so an over-payment stays visible).

Plan status (:func:`plan_status`), first match wins: 作废 when the plan or its contract is
void; 完成 when received ≥ planned amount; 逾期 when the planned date is before today; 部分回款
when something was received; else 待回款.

Due plans (回款提醒, :func:`plan_due`): a plan is due on a day when its reminder day
(``remind_on`` = planned date − ``remind_days``) has come and it is neither done nor void — the
one rule of every store's ``plans.due``, listed by :func:`due_order`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from decimal import Decimal

from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import NumberReset, NumberRule, PaymentPlan, PlanStatus, PlanView
from crmkit.errors import FieldError

PREFIX_MAX = 20
MAX_DIGITS = 12
DATE_FORMATS: dict[str, NumberReset] = {
    "%Y%m%d": NumberReset.DAILY,
    "%y%m%d": NumberReset.DAILY,
    "%Y%m": NumberReset.MONTHLY,
    "%y%m": NumberReset.MONTHLY,
    "%Y": NumberReset.YEARLY,
    "": NumberReset.NEVER,
}
"""Allowed date parts → the finest reset they can tell apart."""

_FINENESS = {NumberReset.DAILY: 3, NumberReset.MONTHLY: 2, NumberReset.YEARLY: 1,
             NumberReset.NEVER: 0}


def rule_problems(rule: NumberRule, at: str = "$") -> list[FieldError]:
    """Problems of a number rule (empty when valid)."""
    errors: list[FieldError] = []
    if len(rule.prefix) > PREFIX_MAX or not all(c.isprintable() and not c.isspace()
                                                 for c in rule.prefix):
        errors.append(FieldError(f"{at}.prefix", "number_rule.prefix",
                                 f"前缀最多 {PREFIX_MAX} 个字符，且不能含空白或控制字符",
                                 f"the prefix has at most {PREFIX_MAX} printable characters, "
                                 "no spaces"))
    if not 1 <= rule.digits <= MAX_DIGITS:
        errors.append(FieldError(f"{at}.digits", "number_rule.digits",
                                 f"流水号位数须为 1..{MAX_DIGITS}",
                                 f"digits must be 1..{MAX_DIGITS}"))
    shown = DATE_FORMATS.get(rule.date_format)
    if shown is None:
        errors.append(FieldError(f"{at}.date_format", "number_rule.date_format",
                                 f"日期格式须为 {sorted(DATE_FORMATS)} 之一",
                                 f"the date format must be one of {sorted(DATE_FORMATS)}"))
    elif _FINENESS[shown] < _FINENESS[rule.reset]:
        errors.append(FieldError(f"{at}.reset", "number_rule.reset",
                                 "日期格式不足以区分重置周期，编号会重复",
                                 "the date part cannot tell the reset periods apart: numbers "
                                 "would repeat"))
    return errors


def number_period(rule: NumberRule, day: date) -> str:
    """The sequence period ``day`` falls in under the rule's reset."""
    if rule.reset is NumberReset.DAILY:
        return day.isoformat()
    if rule.reset is NumberReset.MONTHLY:
        return day.isoformat()[:7]
    if rule.reset is NumberReset.YEARLY:
        return day.isoformat()[:4]
    return ""


def format_number(rule: NumberRule, day: date, sequence: int) -> str:
    """The number for the ``sequence``-th record of ``day``'s period."""
    return f"{rule.prefix}{day.strftime(rule.date_format)}{sequence:0{rule.digits}d}"


def unreceived(amount: Decimal, received: Decimal) -> Decimal:
    """未回款金额 = amount − received."""
    return amount - received


def plan_status(plan: PaymentPlan, received: Decimal, contract_status: ApprovalStatus,
                today: date) -> PlanStatus:
    """The derived status of one payment plan (see the module rules)."""
    if plan.voided or contract_status is ApprovalStatus.VOID:
        return PlanStatus.VOID
    if received >= plan.amount:
        return PlanStatus.DONE
    if plan.planned_date < today:
        return PlanStatus.OVERDUE
    if received > 0:
        return PlanStatus.PARTIAL
    return PlanStatus.PENDING


def plan_views(plans: Sequence[PaymentPlan], received: Mapping[str, Decimal],
               contract_status: Mapping[str, ApprovalStatus], today: date) -> list[PlanView]:
    """Each plan with what was received against it (``received`` by plan id, none when
    missing) and its :func:`plan_status` under its contract's approval status."""
    zero = Decimal("0.00")
    return [PlanView(p, received.get(p.id, zero),
                     plan_status(p, received.get(p.id, zero), contract_status[p.contract_id],
                                 today))
            for p in plans]


def plan_due(plan: PaymentPlan, on: date, received: Decimal,
             contract_status: ApprovalStatus | None) -> bool:
    """Whether ``plan`` is to be reminded of on ``on``: its reminder day has come and it is
    neither done nor void (:func:`plan_status`; ``contract_status`` None — the contract is not
    stored — counts as void). The memory store filters with this function; the SQL store's
    predicate is held to it by the storage contract's property test
    (``test_due_plans_equal_a_python_filter_page_by_page``)."""
    status = ApprovalStatus.VOID if contract_status is None else contract_status
    return plan.remind_on <= on and plan_status(plan, received, status, on) not in (
        PlanStatus.DONE, PlanStatus.VOID)


def due_order(plan: PaymentPlan) -> tuple[date, str]:
    """Due plans come by planned date, then id: the keyset ``plans.due(after=…)`` pages by."""
    return plan.planned_date, plan.id
