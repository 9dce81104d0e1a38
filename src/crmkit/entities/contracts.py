"""合同 Contracts, 回款计划 payment plans and 回款 payments (DESIGN §5).

A contract and a payment carry the status of their approval (``approval_status``, see
:class:`~crmkit.entities.approvals.ApprovalStatus`) and the id of its instance. A record is
*effective* (生效) when approved — 通过, or 无需审批 when its flow is disabled or undefined:
payments go only on effective contracts, and only effective payments count as received.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.common import JSONValue, frozen_mapping
from crmkit.entities.sales import ProductLine

__all__ = [
    "EDITABLE",
    "EFFECTIVE",
    "Contract",
    "NumberReset",
    "NumberRule",
    "Payment",
    "PaymentPlan",
    "PlanStatus",
    "PlanView",
]

CONTRACT, PAYMENT = "contract", "payment"

EFFECTIVE = frozenset({ApprovalStatus.APPROVED, ApprovalStatus.NOT_REQUIRED})
"""Approval statuses under which a contract or payment is in force (通过, 无需审批)."""

EDITABLE = frozenset({ApprovalStatus.DRAFT, ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN})
"""Approval statuses under which a contract or payment may still be edited or deleted."""


@attrs.frozen
class Contract:
    """A contract (order) of a customer, optionally from one of its opportunities.

    ``received_amount`` is the sum of the contract's effective payments and
    ``unreceived_amount`` = ``amount`` − ``received_amount`` (both kept by crmkit).
    """

    id: str
    name: str
    customer_id: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    number: str | None = None
    opportunity_id: str | None = None
    amount: Decimal = Decimal("0.00")
    order_date: date | None = None
    start_date: date | None = None
    end_date: date | None = None
    customer_signer_id: str | None = None
    company_signer_id: str | None = None
    lines: tuple[ProductLine, ...] = ()
    order_discount: Decimal = Decimal("0")
    approval_status: ApprovalStatus = ApprovalStatus.DRAFT
    approval_id: str | None = None
    received_amount: Decimal = Decimal("0.00")
    unreceived_amount: Decimal = Decimal("0.00")
    remark: str | None = None
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


@attrs.frozen
class Payment:
    """A payment (回款) received on an effective contract, optionally against one of its plans."""

    id: str
    contract_id: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    number: str | None = None
    customer_id: str = ""
    plan_id: str | None = None
    paid_on: date | None = None
    amount: Decimal = Decimal("0.00")
    method: str | None = None
    approval_status: ApprovalStatus = ApprovalStatus.DRAFT
    approval_id: str | None = None
    remark: str | None = None
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


class PlanStatus(enum.StrEnum):
    """回款计划状态: 待回款, 部分回款, 完成, 逾期, 作废 (derived, never stored)."""

    PENDING = "pending"
    PARTIAL = "partial"
    DONE = "done"
    OVERDUE = "overdue"
    VOID = "void"


@attrs.frozen
class PaymentPlan:
    """One period (期数) of a contract's payment plan. Its status is derived from the
    effective payments against it and today's date
    (:func:`crmkit.policies.contracts.plan_status`)."""

    id: str
    contract_id: str
    customer_id: str
    period: int
    amount: Decimal
    planned_date: date
    created_by: str | None
    created_at: datetime
    method: str | None = None
    remind_days: int = 0
    remark: str | None = None
    voided: bool = False
    version: int = 1

    @property
    def remind_on(self) -> date:
        """The day the reminder is due: ``remind_days`` before ``planned_date`` (never before
        the first day of the calendar)."""
        return date.fromordinal(max(1, self.planned_date.toordinal() - self.remind_days))


@attrs.frozen
class PlanView:
    """A plan with what was received against it and its derived status."""

    plan: PaymentPlan
    received: Decimal
    status: PlanStatus


class NumberReset(enum.StrEnum):
    """When a number rule's sequence starts again at 1."""

    DAILY = "daily"
    MONTHLY = "monthly"
    YEARLY = "yearly"
    NEVER = "never"


@attrs.frozen
class NumberRule:
    """编号规则: ``prefix`` + the date (``date_format``: strftime of the local day, may be
    empty) + the sequence zero-padded to ``digits``; the sequence restarts per ``reset``."""

    prefix: str = ""
    date_format: str = "%Y%m%d"
    digits: int = 4
    reset: NumberReset = NumberReset.DAILY
