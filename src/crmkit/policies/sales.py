"""Money and stage rules of the sales records (pure, Decimal only).

- A product line's subtotal = price × quantity × (1 − discount/100), rounded half-up to 0.01.
- An order total = Σ subtotals × (1 − order discount/100), rounded half-up to 0.01.
- An opportunity's win rate: its stage's 赢单率 while in progress; 100 when won; 0 when lost or
  invalid. Weighted amount = amount × win rate / 100, rounded half-up to 0.01.
- Customer limits (客户数上限): the rule for the user, else the rule of the nearest department on
  the way up from the user's department; 已成交 customers count only when the rule says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

import attrs

from crmkit.entities.sales import OpportunityStatus, ProductLine, StageGroup

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
