"""The Python interpreter of a :class:`~crmkit.entities.statistics.Tally`, and the arithmetic
the dashboard derives from tallies (change rates, completion, weighted funnel, targets).

:func:`fact` is the rule of each measure in one place: which record counts, its owner, its time
(an instant, or a local day for dated records) and its amount. Only approved (effective)
contracts and payments count: money is what was approved. The SQLAlchemy adapter compiles the
same rules to one aggregate statement (``adapters/sqlalchemy/statistics.py``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs

from crmkit.entities.contracts import EFFECTIVE, Contract, Payment
from crmkit.entities.records import FollowUp
from crmkit.entities.sales import Customer, Opportunity, OpportunityStatus
from crmkit.entities.statistics import (
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
    "TARGET_MEASURES",
    "ZERO",
    "Fact",
    "bucket_of",
    "change_rate",
    "completion_rate",
    "fact",
    "funnel_position",
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
    Measure.UNFOLLOWED: "customer", Measure.DUE: "customer",
}
"""The records a measure reads (a record kind, or ``followup``)."""

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


def funnel_position(opportunity: Opportunity) -> str | None:
    """The stage id while in progress, else the ending status (won, lost, invalid)."""
    if opportunity.status is OpportunityStatus.IN_PROGRESS:
        return opportunity.stage_id
    return opportunity.status.value


def fact(measure: Measure, record: Any) -> Fact | None:
    """The fact a record contributes to ``measure``; None when it does not count."""
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


def _selected(spec: Tally, record: Any) -> tuple[int, Fact] | None:
    if spec.stage_group_id is not None and record.stage_group_id != spec.stage_group_id:
        return None
    found = fact(spec.measure, record)
    if found is None or found.owner_id is None or found.owner_id not in spec.owner_ids:
        return None
    index = bucket_of(spec.buckets, found)
    return None if index is None else (index, found)


def tally(spec: Tally, records: Iterable[Any]) -> list[TallyRow]:
    """The reference interpreter: rows per (bucket, key), sorted, only groups with records."""
    counts: dict[tuple[int, str | None], list[Any]] = defaultdict(lambda: [0, ZERO])
    for record in records:
        chosen = _selected(spec, record)
        if chosen is None:
            continue
        index, found = chosen
        key = (found.owner_id if spec.by is GroupBy.OWNER
               else found.stage if spec.by is GroupBy.STAGE else None)
        group = counts[index, key]
        group[0] += 1
        group[1] += found.amount
    return sort_rows(TallyRow(b, k, c, a) for (b, k), (c, a) in counts.items())


def sort_rows(rows: Iterable[TallyRow]) -> list[TallyRow]:
    """Rows by bucket, then key (None first): the order every interpreter returns."""
    return sorted(rows, key=lambda row: (row.bucket, row.key is not None, row.key or ""))


def tally_ids(spec: Tally, records: Iterable[Any], after: str | None, limit: int) -> list[str]:
    """Ids of the records a tally counts, ascending, after ``after`` (keyset), at most
    ``limit``."""
    found = sorted(r.id for r in records
                   if _selected(spec, r) is not None and (after is None or r.id > after))
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
