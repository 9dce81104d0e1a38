"""市场活动 Marketing campaigns: the campaign record and what its evaluation answers.

A campaign (会议, 展会, 线上推广 …) has dates, a budget and its actual cost, an owner and a status
(计划中 → 进行中 → 已结束, or 已取消). Leads and customers name the campaign they came from
(``campaign_id``); a lead's campaign passes to the customer it is converted into. The evaluation
of a campaign counts what came of it: its leads, their conversions, its customers and their
opportunities, approved contracts and approved payments — and derives cost per lead and ROI.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping

__all__ = [
    "CAMPAIGN",
    "Campaign",
    "CampaignEvaluation",
    "CampaignReport",
    "CampaignStatus",
    "CampaignType",
]

CAMPAIGN = "campaign"


class CampaignType(enum.StrEnum):
    """活动类型."""

    MEETING = "meeting"
    EXHIBITION = "exhibition"
    ONLINE = "online"
    TELEMARKETING = "telemarketing"
    EMAIL = "email"
    ADVERTISING = "advertising"
    OTHER = "other"

    @property
    def label_zh(self) -> str:
        return {"meeting": "会议", "exhibition": "展会", "online": "线上推广",
                "telemarketing": "电话营销", "email": "邮件营销", "advertising": "广告",
                "other": "其他"}[self.value]


class CampaignStatus(enum.StrEnum):
    """活动状态: 计划中, 进行中, 已结束, 已取消."""

    PLANNED = "planned"
    RUNNING = "running"
    ENDED = "ended"
    CANCELLED = "cancelled"

    @property
    def label_zh(self) -> str:
        return {"planned": "计划中", "running": "进行中", "ended": "已结束",
                "cancelled": "已取消"}[self.value]


def _type(value: CampaignType | str | None) -> CampaignType:
    return CampaignType.OTHER if value is None else CampaignType(value)


def _status(value: CampaignStatus | str | None) -> CampaignStatus:
    return CampaignStatus.PLANNED if value is None else CampaignStatus(value)


def _cost(value: Decimal | None) -> Decimal:
    return Decimal("0.00") if value is None else value


@attrs.frozen
class Campaign:
    """A marketing campaign of its owner (负责人), from ``starts_on`` to ``ends_on`` (local days,
    both included, either may be open). A payload clearing the type, status or actual cost
    sets its default."""

    id: str
    name: str
    owner_id: str
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    type: CampaignType = attrs.field(default=CampaignType.OTHER, converter=_type)
    """活动类型 (cleared: 其他)."""
    status: CampaignStatus = attrs.field(default=CampaignStatus.PLANNED, converter=_status)
    """活动状态 (cleared: 计划中)."""
    starts_on: date | None = None
    ends_on: date | None = None
    budget: Decimal | None = None
    actual_cost: Decimal = attrs.field(default=Decimal("0.00"), converter=_cost)
    """实际成本 (cleared: 0)."""
    description: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


@attrs.frozen
class CampaignEvaluation:
    """What came of one campaign (or, as a report's ``totals``, of several).

    Counts: ``leads`` created, ``converted_leads`` converted, ``customers`` created (attributed
    to the campaign, by conversion or directly), ``opportunities`` of those customers created
    (and their ``opportunity_amount``), ``contracts`` of those customers approved by their deal
    day (and their ``contract_amount``), ``received``: approved payments of those customers by
    their payment day. ``cost_per_lead`` = actual cost / leads (None without leads); ``roi`` =
    (received − actual cost) / actual cost in percent (None while the cost is 0);
    ``lead_conversion_rate`` = converted leads / leads in percent (None without leads).
    """

    campaign_id: str | None
    name: str
    budget: Decimal | None
    actual_cost: Decimal
    leads: int
    converted_leads: int
    customers: int
    opportunities: int
    opportunity_amount: Decimal
    contracts: int
    contract_amount: Decimal
    received: Decimal
    cost_per_lead: Decimal | None
    roi: Decimal | None
    lead_conversion_rate: Decimal | None


@attrs.frozen
class CampaignReport:
    """活动分析: one evaluation per campaign (``rows``, in the order asked or newest campaign
    first) and their ``totals`` (cost per lead and ROI of the sums), over ``first_day`` …
    ``last_day`` (None: from the beginning). ``more``: further campaigns ran in the period
    than one report shows (name them by id)."""

    first_day: date | None
    last_day: date
    rows: tuple[CampaignEvaluation, ...]
    totals: CampaignEvaluation
    more: bool = False

    COLUMNS = ("leads", "converted_leads", "customers", "opportunities", "opportunity_amount",
               "contracts", "contract_amount", "received", "actual_cost", "cost_per_lead",
               "roi", "lead_conversion_rate")
    """The figures of a row, in the order a table shows them."""

    def series(self, column: str) -> tuple[tuple[str, ...], tuple[Decimal | int | None, ...]]:
        """One column as chart data: the campaign names (categories) and their values."""
        if column not in self.COLUMNS:
            raise KeyError(column)
        return (tuple(row.name for row in self.rows),
                tuple(getattr(row, column) for row in self.rows))
