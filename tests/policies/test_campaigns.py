"""The evaluation's arithmetic (crmkit.policies.campaigns): a campaign's figures are its tally
rows; totals are the sums with the ratios of the sums; ratios are None where they divide by 0."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.campaigns import Campaign
from crmkit.entities.statistics import Measure, TallyRow
from crmkit.policies.campaigns import CAMPAIGN_MEASURES, evaluation, ratio, totals

T0 = datetime(2026, 11, 2, tzinfo=UTC)
_money = st.integers(0, 10**9).map(lambda cents: Decimal(cents).scaleb(-2))


def _campaign(n: int, cost: Decimal) -> Campaign:
    return Campaign(f"a{n}", f"活动{n}", "u1", None, T0, T0, actual_cost=cost)


@st.composite
def _tallies(draw: st.DrawFn, ids: list[str]) -> dict[Measure, list[TallyRow]]:
    """Rows by campaign for each measure, plus rows of campaigns not asked for."""
    found: dict[Measure, list[TallyRow]] = {}
    for measure in CAMPAIGN_MEASURES:
        keys = draw(st.lists(st.sampled_from([*ids, "other", None]), unique=True))
        found[measure] = [TallyRow(0, key, draw(st.integers(0, 50)), draw(_money))
                          for key in keys]
    return found


@given(data=st.data(), costs=st.lists(_money, min_size=1, max_size=4))
def test_totals_are_the_sums_with_the_ratios_of_the_sums(data: st.DataObject,
                                                         costs: list[Decimal]) -> None:
    campaigns = [_campaign(n, cost) for n, cost in enumerate(costs)]
    tallies = data.draw(_tallies([c.id for c in campaigns]))
    rows = [evaluation(c, tallies) for c in campaigns]
    for campaign, row in zip(campaigns, rows, strict=True):
        mine = {m: r for m, found in tallies.items() for r in found if r.key == campaign.id}
        leads = mine[Measure.LEADS].count if Measure.LEADS in mine else 0
        received = mine[Measure.PAYMENTS].amount if Measure.PAYMENTS in mine else Decimal(0)
        assert (row.leads, row.received) == (leads, received)
        assert (row.cost_per_lead is None) == (leads == 0)
        assert (row.roi is None) == (campaign.actual_cost == 0)
    total = totals(rows)
    assert total.leads == sum(r.leads for r in rows)
    assert total.received == sum((r.received for r in rows), Decimal("0.00"))
    cost = sum(costs, Decimal("0.00"))
    assert total.actual_cost == cost
    assert total.roi == ratio(total.received - cost, cost, 100)
    assert total.cost_per_lead == ratio(cost, total.leads)


def test_roi_is_the_return_on_the_cost_in_percent() -> None:
    assert ratio(Decimal("5000") - Decimal("4000"), Decimal("4000"), 100) == Decimal("25.00")
    assert ratio(Decimal("-4000"), Decimal("4000"), 100) == Decimal("-100.00")
    assert ratio(1, 3, 100) == Decimal("33.33") and ratio(2, 3, 100) == Decimal("66.67")
    assert ratio(Decimal("1"), 0) is None
