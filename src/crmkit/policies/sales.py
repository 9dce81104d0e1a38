"""Money and stage rules of the sales records (pure, Decimal only).

- A product line's subtotal = price × quantity × (1 − discount/100), rounded half-up to 0.01.
- An order total = Σ subtotals × (1 − order discount/100), rounded half-up to 0.01.
- An opportunity's win rate: its stage's 赢单率 while in progress; 100 when won; 0 when lost or
  invalid. Weighted amount = amount × win rate / 100, rounded half-up to 0.01; a weighted total
  is the sum of the (rounded) weighted amounts of its opportunities.
- Stage moves (:func:`next_stage`): advance/go back to any stage of the group and end as won,
  lost or invalid only while in progress; reopen only what has ended.
- A stage group with no departments is visible to everyone; otherwise to users whose department
  is one of its departments or lies below one of them.
- Customer limits (客户数上限): the rule for the user, else the rule of the nearest department on
  the way up from the user's department; 已成交 customers count only when the rule says so.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

import attrs

from crmkit.entities.sales import Opportunity, OpportunityStatus, ProductLine, StageGroup
from crmkit.errors import RuleViolation

CENT = Decimal("0.01")
HUNDRED = Decimal(100)


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def line_subtotal(price: Decimal, quantity: Decimal, discount: Decimal) -> Decimal:
    return money(price * quantity * (HUNDRED - discount) / HUNDRED)


def priced_line(line: ProductLine) -> ProductLine:
    """The line with its subtotal computed."""
    return attrs.evolve(line, subtotal=line_subtotal(line.price, line.quantity, line.discount))


def order_total(lines: Iterable[ProductLine], order_discount: Decimal) -> Decimal:
    subtotal = sum((line.subtotal for line in lines), Decimal(0))
    return money(subtotal * (HUNDRED - order_discount) / HUNDRED)


def win_rate(group: StageGroup, stage_id: str | None, status: OpportunityStatus) -> Decimal:
    """The win rate (percent) of an opportunity in ``group`` at ``stage_id`` with ``status``."""
    if status is OpportunityStatus.WON:
        return HUNDRED
    if status is not OpportunityStatus.IN_PROGRESS:
        return Decimal(0)
    stage = next((s for s in group.stages if s.id == stage_id), None)
    return stage.win_rate if stage is not None else Decimal(0)


def weighted_amount(amount: Decimal, rate: Decimal) -> Decimal:
    return money(amount * rate / HUNDRED)


def opportunity_rate(opportunity: Opportunity, group: StageGroup) -> Decimal:
    """The win rate (percent) of ``opportunity``, whose stage group is ``group``."""
    return win_rate(group, opportunity.stage_id, opportunity.status)


def opportunity_weighted(opportunity: Opportunity, group: StageGroup) -> Decimal:
    """加权金额 of one opportunity: amount × win rate / 100, rounded half-up to 0.01."""
    return weighted_amount(opportunity.amount, opportunity_rate(opportunity, group))


def weighted_total(
    opportunities: Iterable[Opportunity], groups: Mapping[str, StageGroup]
) -> Decimal:
    """Σ of the rounded weighted amounts; an opportunity whose group is unknown weighs 0."""
    total = Decimal("0.00")
    for opportunity in opportunities:
        group = groups.get(opportunity.stage_group_id)
        if group is not None:
            total += opportunity_weighted(opportunity, group)
    return total


class StageMove(enum.StrEnum):
    """What can happen to an opportunity's stage: 推进/回退, 赢单, 输单, 无效, 重新打开."""

    ADVANCE = "advance"
    WIN = "win"
    LOSE = "lose"
    INVALIDATE = "invalidate"
    REOPEN = "reopen"


_ENDINGS = {
    StageMove.WIN: OpportunityStatus.WON,
    StageMove.LOSE: OpportunityStatus.LOST,
    StageMove.INVALIDATE: OpportunityStatus.INVALID,
}


def next_stage(
    group: StageGroup,
    stage_id: str | None,
    status: OpportunityStatus,
    move: StageMove,
    target: str | None = None,
) -> tuple[str | None, OpportunityStatus]:
    """The ``(stage_id, status)`` after ``move``; RuleViolation when the move is not allowed.

    - ADVANCE to ``target``, any stage of the group (forward or back), only while in progress;
    - WIN / LOSE / INVALIDATE only while in progress; the stage stays where it ended;
    - REOPEN only once ended: back in progress at ``target``, else at the stage where it
      ended (when still in the group), else at the group's first stage.
    Codes: ``opportunity.closed``, ``opportunity.not_closed``, ``opportunity.unknown_stage``.
    """
    stage_ids = [s.id for s in group.stages]
    in_progress = status is OpportunityStatus.IN_PROGRESS
    if move is StageMove.REOPEN:
        if in_progress:
            raise RuleViolation("opportunity.not_closed", "商机尚未结束",
                                "the opportunity has not ended")
        if target is None:
            target = stage_id if stage_id in stage_ids else (stage_ids[0] if stage_ids else None)
    elif not in_progress:
        raise RuleViolation("opportunity.closed", "商机已结束",
                            "the opportunity has already ended")
    if move in _ENDINGS:
        return stage_id, _ENDINGS[move]
    if target is None or target not in stage_ids:
        raise RuleViolation("opportunity.unknown_stage",
                            "该阶段不属于商机所在的商机组",
                            "the stage is not part of the opportunity's stage group")
    return target, OpportunityStatus.IN_PROGRESS


def stage_group_visible(
    group: StageGroup, department_id: str | None, parents: Mapping[str, str | None]
) -> bool:
    """Whether a user of ``department_id`` may use ``group``: no departments listed = everyone,
    else the user's department is listed or lies below a listed one."""
    if not group.department_ids:
        return True
    seen: set[str] = set()
    current = department_id
    while current is not None and current not in seen:
        if current in group.department_ids:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


def creates_cycle(parents: Mapping[str, str | None], node_id: str, new_parent_id: str | None
                  ) -> bool:
    """Whether putting ``node_id`` under ``new_parent_id`` puts it below itself (any tree)."""
    seen: set[str] = set()
    current = new_parent_id
    while current is not None and current not in seen:
        if current == node_id:
            return True
        seen.add(current)
        current = parents.get(current)
    return False


@attrs.frozen
class CustomerLimit:
    """客户数上限 for one user or one department: owned and locked maxima (None = unlimited)."""

    id: str
    user_id: str | None = None
    department_id: str | None = None
    max_owned: int | None = None
    max_locked: int | None = None
    count_won: bool = True


def effective_limit(
    rules: Iterable[CustomerLimit],
    user_id: str,
    department_id: str | None,
    parents: Mapping[str, str | None],
) -> CustomerLimit | None:
    """The rule that governs ``user_id``: their own, else the nearest department's."""
    by_user: dict[str, CustomerLimit] = {}
    by_department: dict[str, CustomerLimit] = {}
    for rule in rules:
        if rule.user_id is not None:
            by_user[rule.user_id] = rule
        elif rule.department_id is not None:
            by_department[rule.department_id] = rule
    if user_id in by_user:
        return by_user[user_id]
    seen: set[str] = set()
    current = department_id
    while current is not None and current not in seen:
        if current in by_department:
            return by_department[current]
        seen.add(current)
        current = parents.get(current)
    return None
