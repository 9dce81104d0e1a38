"""The Python interpreter of a :class:`~crmkit.entities.statistics.Tally`, and the arithmetic
the dashboard derives from tallies (change rates, completion, weighted funnel, targets).

:func:`fact` is the rule of each measure in one place: which record counts, its owner, its time
(an instant, or a local day for dated records) and its amount. Only approved (effective)
contracts and payments count: money is what was approved. The SQLAlchemy adapter compiles the
same rules to one aggregate statement (``adapters/sqlalchemy/statistics.py``).

Two measures read joined records: ``products`` reads each line of a contract
(:class:`SoldLine`, :func:`sold_lines`), ``planned``/``overdue`` read a payment plan with its
contract and what was received against it (:class:`PlanState`, :func:`plan_states`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from crmkit.entities.contracts import EFFECTIVE, Contract, Payment, PaymentPlan
from crmkit.entities.leads import Lead
from crmkit.entities.records import FollowUp
from crmkit.entities.sales import Customer, Opportunity, OpportunityStatus, ProductLine
from crmkit.entities.statistics import (
    ATTRIBUTED,
    Bucket,
    GroupBy,
    Measure,
    StageLine,
    Tally,
    TallyRow,
    Target,
    TargetMeasure,
)

__all__ = [
    "BRIEF_FIGURES",
    "CENT",
    "FORGOTTEN_DAYS",
    "MEASURE_KIND",
    "RANKINGS",
    "REGIONS",
    "TARGET_MEASURES",
    "ZERO",
    "CustomerCampaigns",
    "Fact",
    "PlanState",
    "SoldLine",
    "bucket_of",
    "campaign_of",
    "change_rate",
    "completion_rate",
    "fact",
    "funnel_position",
    "key_of",
    "plan_states",
    "region_of",
    "sold_lines",
    "sort_rows",
    "tally",
    "tally_ids",
    "target_for",
    "weighted",
]

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
_HUNDRED = Decimal(100)

MEASURE_KIND = {
    Measure.CUSTOMERS: "customer", Measure.CONTACTS: "contact",
    Measure.OPPORTUNITIES: "opportunity", Measure.CONTRACTS: "contract",
    Measure.PAYMENTS: "payment", Measure.FOLLOWUPS: "followup",
    Measure.UNFOLLOWED: "customer", Measure.DUE: "customer", Measure.LEADS: "lead",
    Measure.CONVERTED_LEADS: "lead", Measure.PRODUCTS: "contract",
    Measure.PLANNED: "payment_plan", Measure.OVERDUE: "payment_plan",
}
"""The records a measure reads (a record kind, ``followup`` or ``payment_plan``)."""

REGIONS = ("北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏",
           "浙江", "安徽", "福建", "江西", "山东", "河南", "湖北", "湖南", "广东", "海南", "四川",
           "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古", "广西", "西藏", "宁夏", "新疆",
           "香港", "澳门")
"""地区: the provincial-level divisions; a customer's region is the one its address starts
with (``广东省深圳市…`` → 广东), None when it starts with none."""

BRIEF_FIGURES: tuple[tuple[str, Measure, bool], ...] = (
    ("new_customers", Measure.CUSTOMERS, False),
    ("new_contacts", Measure.CONTACTS, False),
    ("new_opportunities", Measure.OPPORTUNITIES, False),
    ("opportunity_amount", Measure.OPPORTUNITIES, True),
    ("new_contracts", Measure.CONTRACTS, False),
    ("contract_amount", Measure.CONTRACTS, True),
    ("payment_amount", Measure.PAYMENTS, True),
    ("new_followups", Measure.FOLLOWUPS, False),
)
"""销售简报: (figure, measure, True for the amount / False for the count). New contracts and the
contract amount are approved contracts by deal day; the payment amount approved payments."""

TARGET_MEASURES = {TargetMeasure.CONTRACT_AMOUNT: Measure.CONTRACTS,
                   TargetMeasure.PAYMENT_AMOUNT: Measure.PAYMENTS}
"""What a target is measured against."""

RANKINGS: dict[str, tuple[Measure, bool]] = {
    "contract_amount": (Measure.CONTRACTS, True),
    "payment_amount": (Measure.PAYMENTS, True),
    "new_customers": (Measure.CUSTOMERS, False),
    "followups": (Measure.FOLLOWUPS, False),
}
"""排行榜: ranking → (measure, amount or count)."""

FORGOTTEN_DAYS = (7, 15, 30, 90, 180)
"""遗忘提醒: customers not followed up for more than these many days."""


@attrs.frozen
class Fact:
    """What one record contributes: owner, time (``at`` an instant, or ``day`` a local day),
    amount and funnel position."""

    owner_id: str | None
    at: datetime | None
    day: date | None
    amount: Decimal
    stage: str | None = None
    quantity: Decimal = Decimal(0)


@attrs.frozen
class SoldLine:
    """One product line of a contract (``id``: the contract's)."""

    contract: Contract
    line: ProductLine

    @property
    def id(self) -> str:
        return self.contract.id


@attrs.frozen
class PlanState:
    """A payment plan with its contract (None: not stored) and the approved payments received
    against it."""

    plan: PaymentPlan
    contract: Contract | None
    received: Decimal

    @property
    def id(self) -> str:
        return self.plan.id


def sold_lines(contracts: Iterable[Contract]) -> list[SoldLine]:
    return [SoldLine(contract, line) for contract in contracts for line in contract.lines]


def plan_states(plans: Iterable[PaymentPlan], contracts: Mapping[str, Contract],
                payments: Iterable[Payment]) -> list[PlanState]:
    received: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in payments:
        if payment.plan_id is not None and payment.approval_status in EFFECTIVE:
            received[payment.plan_id] += payment.amount
    return [PlanState(plan, contracts.get(plan.contract_id), received[plan.id])
            for plan in plans]


def region_of(address: str | None) -> str | None:
    """The region (:data:`REGIONS`) an address starts with."""
    if address is None:
        return None
    return next((region for region in REGIONS if address.startswith(region)), None)


def funnel_position(opportunity: Opportunity) -> str | None:
    """The stage id while in progress, else the ending status (won, lost, invalid)."""
    if opportunity.status is OpportunityStatus.IN_PROGRESS:
        return opportunity.stage_id
    return opportunity.status.value


def _plan_fact(measure: Measure, state: PlanState, as_of: date | None) -> Fact | None:
    plan, contract = state.plan, state.contract
    if plan.voided or contract is None or contract.approval_status not in EFFECTIVE:
        return None
    if measure is Measure.PLANNED:
        return Fact(contract.owner_id, None, plan.planned_date, plan.amount)
    if as_of is None or plan.planned_date >= as_of or state.received >= plan.amount:
        return None
    return Fact(contract.owner_id, None, plan.planned_date, plan.amount - state.received)


def fact(measure: Measure, record: Any, as_of: date | None = None) -> Fact | None:
    """The fact a record contributes to ``measure`` (``overdue`` judged on ``as_of``); None
    when it does not count."""
    if measure in (Measure.PLANNED, Measure.OVERDUE):
        return _plan_fact(measure, record, as_of)
    if measure is Measure.PRODUCTS:
        sold: SoldLine = record
        found = fact(Measure.CONTRACTS, sold.contract)
        return None if found is None else attrs.evolve(
            found, amount=sold.line.subtotal, quantity=sold.line.quantity)
    if measure is Measure.LEADS:
        lead: Lead = record
        return Fact(lead.owner_id, lead.created_at, None, ZERO,
                    "converted" if lead.converted else "open")
    if measure is Measure.CONVERTED_LEADS:
        converted: Lead = record
        if not converted.converted or converted.converted_at is None:
            return None
        return Fact(converted.owner_id, converted.converted_at, None, ZERO)
    if measure is Measure.FOLLOWUPS:
        note: FollowUp = record
        return Fact(note.author_id, note.at, None, ZERO)
    if measure in (Measure.CUSTOMERS, Measure.CONTACTS):
        return Fact(record.owner_id, record.created_at, None, ZERO)
    if measure is Measure.OPPORTUNITIES:
        deal: Opportunity = record
        return Fact(deal.owner_id, deal.created_at, None, deal.amount, funnel_position(deal))
    if measure is Measure.CONTRACTS:
        contract: Contract = record
        if contract.approval_status not in EFFECTIVE:
            return None
        if contract.order_date is not None:
            return Fact(contract.owner_id, None, contract.order_date, contract.amount)
        return Fact(contract.owner_id, contract.created_at, None, contract.amount)
    if measure is Measure.PAYMENTS:
        payment: Payment = record
        if payment.approval_status not in EFFECTIVE or payment.paid_on is None:
            return None
        return Fact(payment.owner_id, None, payment.paid_on, payment.amount)
    customer: Customer = record
    if measure is Measure.DUE:
        return Fact(customer.owner_id, customer.next_contact_at, None, ZERO)
    received = customer.received_at or customer.created_at
    last = customer.last_followup_at
    return Fact(customer.owner_id, received if last is None else max(last, received), None, ZERO)


CustomerCampaigns = Mapping[str, str | None]
"""Customer id → the campaign it is attributed to (what the records of a customer inherit)."""

_OWN_CAMPAIGN = frozenset({"lead", "customer"})
"""Kinds naming their campaign themselves; the records of a customer have their customer's."""


def campaign_of(measure: Measure, record: Any, customers: CustomerCampaigns) -> str | None:
    """The 市场活动 a record counts for (:attr:`GroupBy.CAMPAIGN`): a lead's or customer's
    own, for contacts, opportunities, contracts and payments their customer's; none for the
    measures outside :data:`~crmkit.entities.statistics.ATTRIBUTED` (follow-ups, sold lines,
    payment plans)."""
    if measure not in ATTRIBUTED:
        return None
    if MEASURE_KIND[measure] in _OWN_CAMPAIGN:
        found: str | None = record.campaign_id
        return found
    return customers.get(record.customer_id)


def bucket_of(buckets: Sequence[Bucket], found: Fact) -> int | None:
    """Index of the bucket holding the fact's time, None outside every bucket."""
    for index, span in enumerate(buckets):
        if found.day is not None:
            if (span.first_day is None or span.first_day <= found.day) and found.day < span.end_day:
                return index
        elif found.at is not None and (span.start_at is None or span.start_at <= found.at) and (
                found.at < span.end_at):
            return index
    return None


def key_of(by: GroupBy, record: Any, found: Fact) -> str | None:
    """The group of a counted record under ``by``."""
    if by is GroupBy.NONE:
        return None
    if by is GroupBy.OWNER:
        return found.owner_id
    if by is GroupBy.STAGE:
        return found.stage
    if by is GroupBy.OUTCOME:
        return record.status.value if isinstance(record, Opportunity) else found.stage
    if by is GroupBy.PRODUCT:
        sold: SoldLine = record
        return sold.line.product_id
    if by is GroupBy.REGION:
        return region_of(record.address)
    value: str | None = getattr(record, by.value)  # method, source, level, industry
    return value


def _key(by: GroupBy, record: Any, found: Fact, campaign: str | None) -> str | None:
    return campaign if by is GroupBy.CAMPAIGN else key_of(by, record, found)


def _selected(spec: Tally, record: Any, customers: CustomerCampaigns
              ) -> tuple[int, Fact, str | None] | None:
    if spec.stage_group_id is not None and record.stage_group_id != spec.stage_group_id:
        return None
    found = fact(spec.measure, record, spec.as_of)
    if found is None or (spec.owner_ids is not None and (
            found.owner_id is None or found.owner_id not in spec.owner_ids)):
        return None
    campaign = campaign_of(spec.measure, record, customers)
    if spec.campaign_ids is not None and campaign not in spec.campaign_ids:
        return None
    index = bucket_of(spec.buckets, found)
    return None if index is None else (index, found, campaign)


def tally(spec: Tally, records: Iterable[Any], customers: CustomerCampaigns | None = None
          ) -> list[TallyRow]:
    """The reference interpreter: rows per (bucket, key), sorted, only groups with records.
    ``customers``: the campaign of each customer, for tallies by or of campaigns."""
    counts: dict[tuple[int, str | None, str | None], list[Any]] = defaultdict(
        lambda: [0, ZERO, Decimal(0)])
    for record in records:
        chosen = _selected(spec, record, customers or {})
        if chosen is None:
            continue
        index, found, campaign = chosen
        group = counts[index, _key(spec.by, record, found, campaign),
                       _key(spec.then, record, found, campaign)]
        group[0] += 1
        group[1] += found.amount
        group[2] += found.quantity
    return sort_rows(TallyRow(b, k, c, a, k2, q) for (b, k, k2), (c, a, q) in counts.items())


def sort_rows(rows: Iterable[TallyRow]) -> list[TallyRow]:
    """Rows by bucket, then key, then second key (None first): the order every interpreter
    returns."""
    return sorted(rows, key=lambda row: (row.bucket, row.key is not None, row.key or "",
                                         row.key2 is not None, row.key2 or ""))


def tally_ids(spec: Tally, records: Iterable[Any], after: str | None, limit: int,
              customers: CustomerCampaigns | None = None) -> list[str]:
    """Ids of the records a tally counts, ascending, after ``after`` (keyset), at most
    ``limit``."""
    found = sorted({r.id for r in records if _selected(spec, r, customers or {}) is not None
                    and (after is None or r.id > after)})
    return found[:limit]


# -- derived figures ----------------------------------------------------------------------------


def change_rate(current: Decimal | int, before: Decimal | int) -> Decimal | None:
    """(current − previous) / previous in percent, 2 places; None when previous is 0."""
    if before == 0:
        return None
    return ((Decimal(current) - Decimal(before)) * _HUNDRED / Decimal(before)).quantize(
        CENT, ROUND_HALF_UP)


def completion_rate(actual: Decimal, target: Decimal) -> Decimal | None:
    """actual / target in percent, 2 places; None without a target."""
    if target == 0:
        return None
    return (actual * _HUNDRED / target).quantize(CENT, ROUND_HALF_UP)


def weighted(lines: Iterable[StageLine]) -> Decimal:
    """Σ amount × win rate over the stages (won at 100 %, lost and invalid at 0 %)."""
    return sum((line.amount * line.win_rate / _HUNDRED for line in lines), ZERO).quantize(
        CENT, ROUND_HALF_UP)


def target_for(targets: Iterable[Target], first_day: date, end_day: date) -> Decimal:
    """The targets' share of local days ``first_day`` … ``end_day`` (excluded): each month's
    value in full when the span covers the month, pro rata by days when it covers part."""
    total = ZERO
    for target in targets:
        day = max(first_day, date(target.year, 1, 1))
        end = min(end_day, date(target.year + 1, 1, 1))
        while day < end:
            month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
            span_end = min(end, month_end)
            month_days = (month_end - day.replace(day=1)).days
            value = target.months[day.month - 1]
            total += value * (span_end - day).days / month_days
            day = span_end
    return total.quantize(CENT, ROUND_HALF_UP)
