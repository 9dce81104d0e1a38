"""线索 Leads: the entity and its system fields."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping
from crmkit.entities.fields import FieldDefinition, bookkeeping_fields, system_field

__all__ = [
    "LEAD",
    "LEAD_FIELDS",
    "READ_ONLY",
    "Lead",
]

LEAD = "lead"


@attrs.frozen
class Lead:
    """A sales lead. ``converted`` leads keep a link to the customer they became."""

    id: str
    name: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    contact_name: str | None = None
    mobile: str | None = None
    phone: str | None = None
    email: str | None = None
    source: str | None = None
    industry: str | None = None
    level: str | None = None
    address: str | None = None
    remark: str | None = None
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    converted: bool = False
    converted_at: datetime | None = None
    customer_id: str | None = None
    campaign_id: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


def _f(key: str, zh: str, en: str, type_: str, order: int, **kw: Any) -> FieldDefinition:
    return system_field(LEAD, key, zh, en, type_, order, **kw)


LEAD_FIELDS: tuple[FieldDefinition, ...] = (
    _f("name", "线索名称", "Lead name", "text", 10, required=True, max_length=100),
    _f("contact_name", "联系人", "Contact person", "text", 20, max_length=50),
    _f("mobile", "手机", "Mobile", "mobile", 30),
    _f("phone", "电话", "Phone", "phone", 40),
    _f("email", "邮箱", "Email", "email", 50),
    _f("source", "线索来源", "Source", "select", 60,
       options=("促销活动", "搜索引擎", "广告", "转介绍", "线上注册", "线上询价", "预约上门",
                "陌拜", "电话咨询", "邮件咨询", "其他")),
    _f("campaign_id", "市场活动", "Campaign", "record", 65, reference_kind="campaign"),
    _f("industry", "客户行业", "Industry", "select", 70,
       options=("IT", "金融", "房地产", "商业服务", "运输/物流", "生产", "政府", "文化传媒",
                "其他")),
    _f("level", "客户级别", "Level", "select", 80, options=("A", "B", "C")),
    _f("address", "地址", "Address", "text", 90, max_length=200),
    _f("remark", "备注", "Remark", "textarea", 100, max_length=2000),
    _f("next_contact_at", "下次联系时间", "Next contact", "datetime", 110),
    _f("owner_id", "负责人", "Owner", "user", 120),
    _f("last_followup_at", "最后跟进时间", "Last follow-up", "datetime", 130, hidden=True),
    _f("last_followup_content", "最后跟进记录", "Last follow-up note", "textarea", 140,
       hidden=True),
    _f("converted", "已转化", "Converted", "boolean", 150, hidden=True),
    _f("customer_id", "转化客户", "Converted to", "record", 155, hidden=True,
       reference_kind="customer"),
    *bookkeeping_fields(LEAD, 160),
)
"""System fields of a lead. Bookkeeping fields are read-only (see ``READ_ONLY``)."""

READ_ONLY = frozenset(
    {"last_followup_at", "last_followup_content", "converted", "customer_id", "created_by",
     "created_at", "updated_at", "owner_id"}
)
"""System fields a create/edit payload may not set (owner changes go through transfer)."""
