"""市场活动 evaluation: what a campaign's tallies add up to (cost per lead, ROI, conversion).

Each figure is one tally by campaign (:attr:`~crmkit.entities.statistics.GroupBy.CAMPAIGN`);
this module only names them and derives the ratios, so every interpreter of the tallies gives
the same evaluation. Ratios are rounded half up to cents (ROI and conversion in percent) and
are None where their divisor is 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal

from crmkit.entities.campaigns import Campaign, CampaignEvaluation
from crmkit.entities.statistics import Measure, TallyRow
from crmkit.policies.statistics import CENT, ZERO

__all__ = ["CAMPAIGN_MEASURES", "evaluation", "ratio", "totals"]

_HUNDRED = Decimal(100)

CAMPAIGN_MEASURES = (Measure.LEADS, Measure.CONVERTED_LEADS, Measure.CUSTOMERS,
                     Measure.OPPORTUNITIES, Measure.CONTRACTS, Measure.PAYMENTS)
"""The tallies an evaluation reads: leads, converted leads, customers, opportunities (count and
amount), approved contracts (count and amount), approved payments (amount)."""


def ratio(part: Decimal | int, whole: Decimal | int, scale: int = 1) -> Decimal | None:
    """``part / whole × scale`` rounded half up to cents; None when ``whole`` is 0."""
    if whole == 0:
        return None
    return (Decimal(part) * scale / Decimal(whole)).quantize(CENT, ROUND_HALF_UP)


def _figures(campaign_id: str | None, name: str, budget: Decimal | None, cost: Decimal,
             counts: Mapping[Measure, tuple[int, Decimal]]) -> CampaignEvaluation:
    def count(measure: Measure) -> int:
        return counts.get(measure, (0, ZERO))[0]

    def amount(measure: Measure) -> Decimal:
        return counts.get(measure, (0, ZERO))[1]

    leads, received = count(Measure.LEADS), amount(Measure.PAYMENTS)
    return CampaignEvaluation(
        campaign_id, name, budget, cost, leads, count(Measure.CONVERTED_LEADS),
        count(Measure.CUSTOMERS), count(Measure.OPPORTUNITIES), amount(Measure.OPPORTUNITIES),
        count(Measure.CONTRACTS), amount(Measure.CONTRACTS), received,
        cost_per_lead=ratio(cost, leads), roi=ratio(received - cost, cost, 100),
        lead_conversion_rate=ratio(count(Measure.CONVERTED_LEADS), leads, 100))


def evaluation(campaign: Campaign, rows: Mapping[Measure, Iterable[TallyRow]]
               ) -> CampaignEvaluation:
    """One campaign's evaluation from the tallies by campaign (rows of other campaigns are
    ignored)."""
    counts = {measure: (row.count, row.amount) for measure, found in rows.items()
              for row in found if row.key == campaign.id}
    return _figures(campaign.id, campaign.name, campaign.budget, campaign.actual_cost, counts)


def totals(rows: Iterable[CampaignEvaluation]) -> CampaignEvaluation:
    """The sums of several evaluations, with cost per lead, ROI and conversion of the sums (a
    record counts for one campaign only, so nothing is counted twice)."""
    rows = list(rows)

    def total(name: str) -> Decimal:
        return sum((getattr(row, name) for row in rows), ZERO)

    budgets = [row.budget for row in rows if row.budget is not None]
    counts = {
        Measure.LEADS: (sum(r.leads for r in rows), ZERO),
        Measure.CONVERTED_LEADS: (sum(r.converted_leads for r in rows), ZERO),
        Measure.CUSTOMERS: (sum(r.customers for r in rows), ZERO),
        Measure.OPPORTUNITIES: (sum(r.opportunities for r in rows), total("opportunity_amount")),
        Measure.CONTRACTS: (sum(r.contracts for r in rows), total("contract_amount")),
        Measure.PAYMENTS: (0, total("received")),
    }
    return _figures(None, "合计", sum(budgets, ZERO) if budgets else None, total("actual_cost"),
                    counts)
