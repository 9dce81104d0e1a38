"""Reclaim rules: the policy equals a naive oracle written straight from the rule text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.pool import Pool, ReclaimRule, ReclaimSpec, RuleType
from crmkit.entities.sales import DEAL_OPEN, DEAL_WON, Customer
from crmkit.policies.reclaim import cutoff, days_until_pool, reclaim_spec, select

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
moments = st.integers(0, 200 * 24).map(lambda h: T0 + timedelta(hours=h))
LEVELS = ["A", "B", "C", None]

rules = st.builds(
    ReclaimRule,
    type=st.sampled_from(list(RuleType)),
    days=st.one_of(st.none(), st.integers(0, 60)),
    days_by_level=st.one_of(st.just({}), st.dictionaries(st.sampled_from(["A", "B", "C"]),
                                                         st.integers(0, 60), max_size=3)),
    reclaim_won=st.booleans(),
    reclaim_with_open_opportunities=st.booleans(),
).filter(lambda r: r.days is not None or r.days_by_level)


@st.composite
def customers(draw: st.DrawFn) -> tuple[Customer, datetime | None, bool]:
    """A customer whose creation and receive times differ (or who has no receive time), with
    the creation time of its newest opportunity and whether one is still open."""
    created = draw(moments)
    received = draw(st.one_of(st.none(), moments))
    followup = draw(st.one_of(st.none(), moments))
    customer = Customer(
        id="c", name="n",
        owner_id=draw(st.sampled_from(["member", "member", "member", "outsider", None])),
        created_by=None, created_at=created, updated_at=created,
        level=draw(st.sampled_from(LEVELS)), deal_status=draw(st.sampled_from([DEAL_OPEN,
                                                                                 DEAL_WON])),
        locked=draw(st.integers(0, 4)) == 0,
        pool_id=draw(st.sampled_from([None, None, None, "p"])),
        received_at=received, last_followup_at=followup,
    )
    newest = draw(st.one_of(st.none(), moments))
    open_ = draw(st.booleans()) if newest is not None else False
    return customer, newest, open_


def elapsed(now: datetime, base: datetime) -> int:
    return (now.astimezone(TZ).date() - base.astimezone(TZ).date()).days


def oracle_base(rule: ReclaimRule, c: Customer, newest: datetime | None, open_: bool
                ) -> tuple[int, datetime] | None:
    """DESIGN §5, sentence by sentence: the rule's days and base time for this customer, or
    None when the rule does not apply to it (level without days, a switch, a won deal)."""
    days = rule.days_by_level.get(c.level) if rule.days_by_level else rule.days  # type: ignore[arg-type]
    if days is None:
        return None
    if not rule.reclaim_won and c.deal_status == DEAL_WON:
        return None
    if not rule.reclaim_with_open_opportunities and open_:
        return None
    received = c.received_at if c.received_at is not None else c.created_at
    if rule.type is RuleType.FOLLOWUP:
        return days, max(x for x in (c.last_followup_at, received) if x is not None)
    if rule.type is RuleType.OPPORTUNITY:
        return days, max(x for x in (newest, received) if x is not None)
    assert rule.type is RuleType.DEAL
    return None if c.deal_status == DEAL_WON else (days, received)


def oracle(rule: ReclaimRule, c: Customer, newest: datetime | None, open_: bool,
           now: datetime) -> bool:
    if c.owner_id != "member" or c.locked or c.pool_id is not None:
        return False
    applies = oracle_base(rule, c, newest, open_)
    return applies is not None and elapsed(now, applies[1]) > applies[0]


def oracle_days_left(rule_set: list[ReclaimRule], c: Customer, newest: datetime | None,
                     open_: bool, now: datetime) -> int | None:
    """min over the applicable rules of (N + 1) − elapsed; None for an unowned, locked or
    pooled customer, or when no rule applies."""
    if c.owner_id is None or c.locked or c.pool_id is not None:
        return None
    left = [days + 1 - elapsed(now, base) for days, base in
            filter(None, (oracle_base(r, c, newest, open_) for r in rule_set))]
    return min(left, default=None)


@given(rule_set=st.lists(rules, min_size=1, max_size=3), case=customers(), now=moments)
def test_selection_matches_the_rule_text(rule_set: list[ReclaimRule],
                                         case: tuple[Customer, datetime | None, bool],
                                         now: datetime) -> None:
    customer, newest, open_ = case
    pool = Pool("p1", "公海", rules=tuple(rule_set))
    spec = reclaim_spec(pool, {"member"}, now, TZ)
    picked = select(spec, customer, newest, open_)
    expected = [i for i, r in enumerate(rule_set) if oracle(r, customer, newest, open_, now)]
    assert (picked is not None) == bool(expected)
    if picked is not None:
        assert picked.rule_index == expected[0]
        assert picked.rule_type is rule_set[expected[0]].type


@given(rule_set=st.lists(rules, min_size=1, max_size=3), case=customers(), now=moments)
def test_days_until_pool_is_the_rule_text_for_every_owner(
        rule_set: list[ReclaimRule], case: tuple[Customer, datetime | None, bool],
        now: datetime) -> None:
    customer, newest, open_ = case
    assert days_until_pool(rule_set, customer, newest, open_, now, TZ) == oracle_days_left(
        rule_set, customer, newest, open_, now)


T1 = datetime(2026, 3, 1, 12, tzinfo=TZ)


def idle(**changes: Any) -> Customer:
    """Owned since 1 Jan (received 1 Feb), never followed up, no deal."""
    base = Customer(id="c", name="n", owner_id="member", created_by=None,
                    created_at=datetime(2026, 1, 1, 12, tzinfo=TZ),
                    updated_at=datetime(2026, 1, 1, 12, tzinfo=TZ),
                    received_at=datetime(2026, 2, 1, 12, tzinfo=TZ))
    return attrs.evolve(base, **changes)


def test_days_count_from_the_receive_time_not_the_creation() -> None:
    rule = ReclaimRule(RuleType.FOLLOWUP, days=30)
    assert days_until_pool([rule], idle(), None, False, T1, TZ) == 31 - 28
    assert days_until_pool([rule], idle(received_at=None), None, False, T1, TZ) == 31 - 59


def test_each_rule_type_has_its_own_base() -> None:
    followed = idle(last_followup_at=datetime(2026, 2, 20, tzinfo=TZ))
    newest = datetime(2026, 2, 25, tzinfo=TZ)
    left = {t: days_until_pool([ReclaimRule(t, days=30)], followed, newest, False, T1, TZ)
            for t in RuleType}
    assert left == {RuleType.FOLLOWUP: 31 - 9, RuleType.OPPORTUNITY: 31 - 4,
                    RuleType.DEAL: 31 - 28}
    won = attrs.evolve(followed, deal_status=DEAL_WON)
    assert days_until_pool([ReclaimRule(RuleType.DEAL, days=30, reclaim_won=True)], won,
                           newest, False, T1, TZ) is None


def test_the_won_and_open_opportunity_switches_drop_a_rule() -> None:
    strict = ReclaimRule(RuleType.FOLLOWUP, days=10)
    lenient = ReclaimRule(RuleType.FOLLOWUP, days=40, reclaim_won=True,
                          reclaim_with_open_opportunities=True)
    won = idle(deal_status=DEAL_WON)
    assert days_until_pool([strict, lenient], idle(), None, False, T1, TZ) == 11 - 28
    assert days_until_pool([strict, lenient], won, None, False, T1, TZ) == 41 - 28
    assert days_until_pool([strict, lenient], idle(), T1, True, T1, TZ) == 41 - 28
    assert days_until_pool([strict], won, None, False, T1, TZ) is None


@given(now=moments, days=st.integers(0, 400))
def test_cutoff_is_local_midnight(now: datetime, days: int) -> None:
    edge = cutoff(now, days, TZ)
    assert edge.astimezone(TZ).time().hour == 0
    assert elapsed(now, edge) == days
    assert elapsed(now, edge - timedelta(microseconds=1)) == days + 1


def test_the_worked_example_of_the_design() -> None:
    """N = 30, last follow-up on 1 Nov: reclaimed on 2 Dec, not on 1 Dec (local days)."""
    rule = ReclaimRule(RuleType.FOLLOWUP, days=30)
    base = datetime(2026, 11, 1, 22, 0, tzinfo=TZ)
    customer = Customer(id="c", name="n", owner_id="member", created_by=None, created_at=base,
                        updated_at=base, received_at=base - timedelta(days=90),
                        last_followup_at=base)

    def spec_on(day: int) -> ReclaimSpec:
        return reclaim_spec(Pool("p", "p", rules=(rule,)), {"member"},
                            datetime(2026, 12, day, 0, 5, tzinfo=TZ), TZ)

    assert select(spec_on(1), customer, None, False) is None
    assert select(spec_on(2), customer, None, False) is not None


def reclaimed_by(rules: list[ReclaimRule], customer: Customer, newest: datetime | None = None,
                 open_: bool = False) -> int | None:
    """Which rule reclaims ``customer`` on 1 Mar (its index), or None."""
    picked = select(reclaim_spec(Pool("p", "p", rules=tuple(rules)), {"member"}, T1, TZ),
                    customer, newest, open_)
    return None if picked is None else picked.rule_index


def test_a_switched_off_rule_skips_won_customers_and_open_opportunities() -> None:
    strict = ReclaimRule(RuleType.FOLLOWUP, days=10)
    lenient = ReclaimRule(RuleType.FOLLOWUP, days=20, reclaim_won=True,
                          reclaim_with_open_opportunities=True)
    assert reclaimed_by([strict, lenient], idle()) == 0
    assert reclaimed_by([strict, lenient], idle(deal_status=DEAL_WON)) == 1
    assert reclaimed_by([strict, lenient], idle(), T1 - timedelta(days=60), True) == 1
    assert reclaimed_by([strict], idle(deal_status=DEAL_WON)) is None
    assert reclaimed_by([strict], idle(), T1 - timedelta(days=60), True) is None


def test_each_rule_type_reclaims_by_its_own_base() -> None:
    followed = idle(last_followup_at=datetime(2026, 2, 20, tzinfo=TZ))
    newest = datetime(2026, 2, 25, tzinfo=TZ)
    for rule_type, days_idle in [(RuleType.FOLLOWUP, 9), (RuleType.OPPORTUNITY, 4),
                                 (RuleType.DEAL, 28)]:
        assert reclaimed_by([ReclaimRule(rule_type, days=days_idle)], followed, newest) is None
        assert reclaimed_by([ReclaimRule(rule_type, days=days_idle - 1)], followed,
                            newest) == 0
    assert reclaimed_by([ReclaimRule(RuleType.DEAL, days=1, reclaim_won=True)],
                        attrs.evolve(followed, deal_status=DEAL_WON), newest) is None



def test_a_customer_received_exactly_at_the_cutoff_stays_with_its_owner() -> None:
    rule = ReclaimRule(RuleType.FOLLOWUP, days=10)
    edge = cutoff(T1, 10, TZ)
    assert reclaimed_by([rule], idle(received_at=edge)) is None
    assert reclaimed_by([rule], idle(received_at=edge - timedelta(microseconds=1))) == 0
    assert days_until_pool([rule], idle(received_at=edge), None, False, T1, TZ) == 1


def test_a_rule_by_level_reclaims_only_the_levels_it_names() -> None:
    rule = ReclaimRule(RuleType.FOLLOWUP, days_by_level={"A": 10})
    assert reclaimed_by([rule], idle(level="A")) == 0
    assert reclaimed_by([rule], idle(level="B")) is None
    assert reclaimed_by([rule], idle(level=None)) is None
