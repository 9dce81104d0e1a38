"""Money and stage rules of the sales records (DESIGN §5 商机/产品) against oracles written
straight from the rule text: exact fractions and a hand-made half-up rounding to cents, a
stage-machine re-implementation, and a downward walk of the department tree."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.sales import (
    Opportunity,
    OpportunityStatus,
    ProductLine,
    Stage,
    StageGroup,
)
from crmkit.errors import RuleViolation
from crmkit.policies.sales import (
    StageMove,
    creates_cycle,
    line_subtotal,
    next_stage,
    opportunity_rate,
    opportunity_weighted,
    order_total,
    priced_line,
    stage_group_visible,
    weighted_amount,
    weighted_total,
    win_rate,
)

NOW = datetime(2026, 11, 2, tzinfo=UTC)


# -- oracle helpers ------------------------------------------------------------------------------
def cents(value: Fraction) -> Decimal:
    """Round a non-negative exact value half-up to 0.01 (no Decimal arithmetic involved)."""
    hundredths = value * 100
    whole = hundredths.numerator // hundredths.denominator
    if hundredths - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(whole) / 100


def exact(value: Decimal) -> Fraction:
    return Fraction(value)


def decimals(places: int, low: int, high: int) -> st.SearchStrategy[Decimal]:
    """Decimals in [low, high] with at most ``places`` decimal places."""
    scale = 10**places
    return st.integers(low * scale, high * scale).map(lambda n: Decimal(n).scaleb(-places))


# each mixed with values that often land exactly on half a cent, where rounding rules differ
PRICES = st.one_of(
    decimals(2, 0, 10**7),
    st.sampled_from([Decimal("0.01"), Decimal("0.05"), Decimal("1.25"), Decimal("99.99")]),
)
QUANTITIES = st.one_of(
    decimals(4, 0, 10**5).filter(lambda q: q > 0),
    st.sampled_from([Decimal("0.5"), Decimal("1"), Decimal("3"), Decimal("0.0001")]),
)
PERCENTS = st.one_of(
    decimals(2, 0, 100), st.sampled_from([Decimal(0), Decimal(50), Decimal("12.5"), Decimal(100)])
)


# -- product lines and totals --------------------------------------------------------------------
@given(PRICES, QUANTITIES, PERCENTS)
def test_line_subtotal_matches_definition(
    price: Decimal, quantity: Decimal, discount: Decimal
) -> None:
    expected = cents(exact(price) * exact(quantity) * (1 - exact(discount) / 100))
    assert line_subtotal(price, quantity, discount) == expected
    line = priced_line(ProductLine("p", "n", price, quantity, discount))
    assert line.subtotal == expected


@given(st.lists(st.tuples(PRICES, QUANTITIES, PERCENTS), max_size=20), PERCENTS)
def test_order_total_is_sum_of_subtotals_after_order_discount(
    raw: list[tuple[Decimal, Decimal, Decimal]], order_discount: Decimal
) -> None:
    lines = [priced_line(ProductLine(f"p{i}", "n", p, q, d)) for i, (p, q, d) in enumerate(raw)]
    subtotals = [cents(exact(p) * exact(q) * (1 - exact(d) / 100)) for p, q, d in raw]
    expected = cents(
        sum((exact(s) for s in subtotals), Fraction(0)) * (1 - exact(order_discount) / 100)
    )
    total = order_total(lines, order_discount)
    assert total == expected
    assert total.as_tuple().exponent == -2, "money always has two places"
    assert total <= sum(subtotals, Decimal(0))


def test_rounding_examples() -> None:
    assert line_subtotal(Decimal("0.05"), Decimal("1"), Decimal("50")) == Decimal("0.03")
    assert line_subtotal(Decimal("10.00"), Decimal("3"), Decimal("33.33")) == Decimal("20.00")
    assert order_total([], Decimal("10")) == Decimal("0.00")
    assert weighted_amount(Decimal("0.01"), Decimal("50")) == Decimal("0.01")
    assert weighted_amount(Decimal("0.01"), Decimal("49.99")) == Decimal("0.00")


# -- stage groups and histories ------------------------------------------------------------------
@st.composite
def stage_groups(draw: st.DrawFn, group_id: str = "g") -> StageGroup:
    rates = draw(st.lists(PERCENTS, min_size=1, max_size=6))
    stages = tuple(Stage(f"{group_id}-s{i}", f"S{i}", rate) for i, rate in enumerate(rates))
    return StageGroup(group_id, f"group {group_id}", stages)


MOVES = st.lists(
    st.tuples(st.sampled_from(list(StageMove)), st.integers(0, 7), st.booleans()), max_size=25
)


class StageOracle:
    """DESIGN §5: stages move freely (forward or back) while 进行中; 赢单/输单/无效 end it;
    an ended opportunity moves no more until reopened (to a chosen stage, else where it ended).
    Win rate: the stage's while in progress, 100 won, 0 lost or invalid."""

    def __init__(self, group: StageGroup) -> None:
        self.group = group
        self.stage = group.stages[0].id
        self.status = "in_progress"

    def apply(self, move: StageMove, target: str | None) -> bool:
        ended = self.status != "in_progress"
        if move == "reopen":
            if not ended:
                return False
            self.stage = target if target is not None else self.stage
            self.status = "in_progress"
            return True
        if ended:
            return False
        if move == "advance":
            if target is None:
                return False
            self.stage = target
        else:
            self.status = {"win": "won", "lose": "lost", "invalidate": "invalid"}[move]
        return True

    def rate(self) -> Fraction:
        if self.status == "won":
            return Fraction(100)
        if self.status in ("lost", "invalid"):
            return Fraction(0)
        return next(exact(s.win_rate) for s in self.group.stages if s.id == self.stage)


def opportunity(
    group: StageGroup,
    stage_id: str | None,
    status: OpportunityStatus,
    amount: Decimal,
    opportunity_id: str = "o",
) -> Opportunity:
    return Opportunity(
        opportunity_id,
        "o",
        "c",
        "u",
        "u",
        NOW,
        NOW,
        group.id,
        stage_id=stage_id,
        status=status,
        amount=amount,
    )


@given(stage_groups(), MOVES, PRICES)
def test_random_histories_follow_the_stage_rules(
    group: StageGroup, moves: list[tuple[StageMove, int, bool]], amount: Decimal
) -> None:
    oracle = StageOracle(group)
    stage_id: str | None = group.stages[0].id
    status = OpportunityStatus.IN_PROGRESS
    for move, index, with_target in moves:
        target = group.stages[index % len(group.stages)].id if with_target else None
        expected_ok = oracle.apply(move, target)
        try:
            stage_id, status = next_stage(group, stage_id, status, move, target)
        except RuleViolation:
            assert not expected_ok, (move, target)
        else:
            assert expected_ok, (move, target)
        assert (stage_id, status.value) == (oracle.stage, oracle.status)
        record = opportunity(group, stage_id, status, amount)
        assert opportunity_rate(record, group) == oracle.rate()
        assert opportunity_weighted(record, group) == cents(exact(amount) * oracle.rate() / 100)


def test_stage_rule_codes() -> None:
    group = StageGroup("g", "g", (Stage("a", "A", Decimal(10)), Stage("b", "B", Decimal(60))))
    with pytest.raises(RuleViolation) as caught:
        next_stage(group, "a", OpportunityStatus.WON, StageMove.ADVANCE, "b")
    assert caught.value.code == "opportunity.closed"
    with pytest.raises(RuleViolation) as caught:
        next_stage(group, "a", OpportunityStatus.IN_PROGRESS, StageMove.REOPEN)
    assert caught.value.code == "opportunity.not_closed"
    with pytest.raises(RuleViolation) as caught:
        next_stage(group, "a", OpportunityStatus.IN_PROGRESS, StageMove.ADVANCE, "zz")
    assert caught.value.code == "opportunity.unknown_stage"
    # reopening where it ended, or at the first stage when that stage is gone
    assert next_stage(group, "b", OpportunityStatus.LOST, StageMove.REOPEN) == (
        "b",
        OpportunityStatus.IN_PROGRESS,
    )
    assert next_stage(group, "gone", OpportunityStatus.LOST, StageMove.REOPEN) == (
        "a",
        OpportunityStatus.IN_PROGRESS,
    )
    assert win_rate(group, "gone", OpportunityStatus.IN_PROGRESS) == 0


@given(
    st.lists(stage_groups(), min_size=1, max_size=4).map(
        lambda gs: [
            StageGroup(
                f"g{i}", g.name, tuple(Stage(f"g{i}-{s.id}", s.name, s.win_rate) for s in g.stages)
            )
            for i, g in enumerate(gs)
        ]
    ),
    st.lists(
        st.tuples(
            st.integers(0, 9), st.integers(0, 9), st.sampled_from(list(OpportunityStatus)), PRICES
        ),
        max_size=30,
    ),
)
def test_weighted_total_is_the_sum_of_weighted_amounts(
    groups: list[StageGroup], rows: list[tuple[int, int, OpportunityStatus, Decimal]]
) -> None:
    by_id = {g.id: g for g in groups}
    records = []
    expected = Decimal("0.00")
    for n, (gi, si, status, amount) in enumerate(rows):
        group = groups[gi % len(groups)]
        stage = group.stages[si % len(group.stages)]
        records.append(opportunity(group, stage.id, status, amount, f"o{n}"))
        rate = {
            OpportunityStatus.WON: Fraction(100),
            OpportunityStatus.LOST: Fraction(0),
            OpportunityStatus.INVALID: Fraction(0),
        }.get(status, exact(stage.win_rate))
        expected += cents(exact(amount) * rate / 100)
    assert weighted_total(records, by_id) == expected
    orphan = opportunity(StageGroup("ghost", "x", ()), None, OpportunityStatus.WON, Decimal("5"))
    assert weighted_total([*records, orphan], by_id) == expected


# -- stage-group visibility and category trees ---------------------------------------------------
@st.composite
def trees(draw: st.DrawFn) -> dict[str, str | None]:
    """A random forest: each node's parent is an earlier node or nothing."""
    size = draw(st.integers(1, 12))
    parents: dict[str, str | None] = {}
    for i in range(size):
        choice = draw(st.integers(-1, i - 1))
        parents[f"d{i}"] = f"d{choice}" if choice >= 0 else None
    return parents


def below(parents: Mapping[str, str | None], root: str) -> set[str]:
    """``root`` and all its descendants, found by walking *down* (the oracle's direction)."""
    found = {root}
    grew = True
    while grew:
        grew = False
        for node, parent in parents.items():
            if parent in found and node not in found:
                found.add(node)
                grew = True
    return found


@given(trees(), st.data())
def test_stage_group_visible_to_listed_departments_and_below(
    parents: dict[str, str | None], data: st.DataObject
) -> None:
    nodes = sorted(parents)
    listed = frozenset(data.draw(st.lists(st.sampled_from(nodes), max_size=3)))
    group = StageGroup("g", "g", (Stage("s", "s", Decimal(1)),), department_ids=listed)
    allowed = set().union(*(below(parents, d) for d in listed)) if listed else set(nodes)
    for node in nodes:
        assert stage_group_visible(group, node, parents) == (node in allowed)
    assert stage_group_visible(group, None, parents) == (not listed)


@given(trees(), st.data())
def test_creates_cycle_exactly_when_moving_below_itself(
    parents: dict[str, str | None], data: st.DataObject
) -> None:
    nodes = sorted(parents)
    node = data.draw(st.sampled_from(nodes))
    target = data.draw(st.one_of(st.none(), st.sampled_from(nodes)))
    assert creates_cycle(parents, node, target) == (
        target is not None and target in below(parents, node)
    )
