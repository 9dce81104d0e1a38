"""客户 Customers, 联系人 contacts, 产品 products and 商机 opportunities (DESIGN §5)."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping

__all__ = [
    "Contact",
    "Customer",
    "Opportunity",
    "OpportunityStatus",
    "PriceChange",
    "Product",
    "ProductCategory",
    "ProductLine",
    "Stage",
    "StageChange",
    "StageGroup",
]

CUSTOMER, CONTACT, PRODUCT, OPPORTUNITY = "customer", "contact", "product", "opportunity"

DEAL_OPEN, DEAL_WON = "未成交", "已成交"
"""客户成交状态 values (the customer's ``deal_status``)."""


@attrs.frozen
class Customer:
    """A customer. ``owner_id`` is None exactly while the customer sits in a pool (公海)."""

    id: str
    name: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    level: str | None = None
    industry: str | None = None
    source: str | None = None
    deal_status: str = DEAL_OPEN
    phone: str | None = None
    mobile: str | None = None
    email: str | None = None
    website: str | None = None
    address: str | None = None
    remark: str | None = None
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    locked: bool = False
    pool_id: str | None = None
    previous_owner_id: str | None = None
    pooled_at: datetime | None = None
    received_at: datetime | None = None
    pool_warned_at: datetime | None = None
    lead_id: str | None = None
    campaign_id: str | None = None
    """The 市场活动 the customer came from (a converted lead's passes on)."""
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


@attrs.frozen
class Contact:
    """A person at a customer: 关键决策人 ``decision_maker``, 首要联系人 ``primary``."""

    id: str
    name: str
    customer_id: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    position: str | None = None
    decision_maker: bool = False
    primary: bool = False
    remark: str | None = None
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


@attrs.frozen
class ProductCategory:
    """A node of the product category tree."""

    id: str
    name: str
    parent_id: str | None = None
    version: int = 1


@attrs.frozen
class Product:
    """A product; only on-shelf (上架) products go on new opportunities and contracts."""

    id: str
    name: str
    code: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    category_id: str | None = None
    unit: str | None = None
    price: Decimal = Decimal("0.00")
    description: str | None = None
    on_shelf: bool = True
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


@attrs.frozen
class PriceChange:
    """One change of a product's price (价格变更记录)."""

    id: str
    product_id: str
    old_price: Decimal
    new_price: Decimal
    at: datetime
    actor_id: str | None


class OpportunityStatus(enum.StrEnum):
    """进行中, then exactly one ending: 赢单 won (100%), 输单 lost (0%), 无效 invalid."""

    IN_PROGRESS = "in_progress"
    WON = "won"
    LOST = "lost"
    INVALID = "invalid"


@attrs.frozen
class Stage:
    """One stage of a stage group with its win rate (赢单率, percent 0–100)."""

    id: str
    name: str
    win_rate: Decimal


@attrs.frozen
class StageGroup:
    """商机组: an ordered list of stages, visible to chosen departments (none listed = all)."""

    id: str
    name: str
    stages: tuple[Stage, ...]
    department_ids: frozenset[str] = frozenset()
    enabled: bool = True
    version: int = 1


@attrs.frozen
class ProductLine:
    """A product on an opportunity or contract: price × quantity × (1 − discount %)."""

    product_id: str
    name: str
    price: Decimal
    quantity: Decimal
    discount: Decimal = Decimal("0")
    unit: str | None = None
    subtotal: Decimal = Decimal("0.00")


@attrs.frozen
class Opportunity:
    """A sales opportunity of a customer, moving through the stages of its stage group."""

    id: str
    name: str
    customer_id: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    stage_group_id: str
    version: int = 1
    stage_id: str | None = None
    status: OpportunityStatus = OpportunityStatus.IN_PROGRESS
    amount: Decimal = Decimal("0.00")
    expected_close_date: date | None = None
    lines: tuple[ProductLine, ...] = ()
    order_discount: Decimal = Decimal("0")
    contact_ids: tuple[str, ...] = ()
    lost_reason: str | None = None
    closed_at: datetime | None = None
    remark: str | None = None
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


@attrs.frozen
class StageChange:
    """One step of an opportunity's stage history (阶段变更记录)."""

    id: str
    opportunity_id: str
    from_stage_id: str | None
    to_stage_id: str | None
    from_status: OpportunityStatus
    to_status: OpportunityStatus
    at: datetime
    actor_id: str | None
    reason: str | None = None
