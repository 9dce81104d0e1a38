"""Reclaim rules: the policy equals a naive oracle written straight from the rule text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.pool import Pool, ReclaimRule, RuleType
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
    received = draw(moments)
    followup = draw(st.one_of(st.none(), moments))
    customer = Customer(
        id="c", name="n", owner_id=draw(st.sampled_from(["member", "outsider", None])),
        created_by=None, created_at=received, updated_at=received,
        level=draw(st.sampled_from(LEVELS)), deal_status=draw(st.sampled_from([DEAL_OPEN,
                                                                                 DEAL_WON])),
        locked=draw(st.booleans()), pool_id=draw(st.sampled_from([None, None, None, "p"])),
        received_at=received, last_followup_at=followup,
    )
    newest = draw(st.one_of(st.none(), moments))
    open_ = draw(st.booleans()) if newest is not None else False
    return customer, newest, open_


def elapsed(now: datetime, base: datetime) -> int:
    return (now.astimezone(TZ).date() - base.astimezone(TZ).date()).days


def oracle(rule: ReclaimRule, c: Customer, newest: datetime | None, open_: bool,
           now: datetime) -> bool:
    """DESIGN §5, sentence by sentence."""
    if c.owner_id != "member" or c.locked or c.pool_id is not None:
        return False
    days = rule.days_by_level.get(c.level) if rule.days_by_level else rule.days  # type: ignore[arg-type]
    if days is None:
        return False
    if not rule.reclaim_won and c.deal_status == DEAL_WON:
        return False
    if not rule.reclaim_with_open_opportunities and open_:
        return False
    assert c.received_at is not None
    if rule.type is RuleType.FOLLOWUP:
        base = max(x for x in (c.last_followup_at, c.received_at) if x is not None)
    elif rule.type is RuleType.OPPORTUNITY:
        base = max(x for x in (newest, c.received_at) if x is not None)
    else:
        if c.deal_status == DEAL_WON:
            return False
        base = c.received_at
    return elapsed(now, base) > days


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
    left = days_until_pool(rule_set, customer, newest, open_, now, TZ)
    if customer.owner_id == "member":
        assert (left is not None and left <= 0) == bool(expected)


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
    spec_on = lambda day: reclaim_spec(Pool("p", "p", rules=(rule,)), {"member"},  # noqa: E731
                                       datetime(2026, 12, day, 0, 5, tzinfo=TZ), TZ)
    assert select(spec_on(1), customer, None, False) is None
    assert select(spec_on(2), customer, None, False) is not None
