"""System fields of customers, contacts, products and opportunities."""

from __future__ import annotations

from typing import Any

from crmkit.entities.fields import FieldDefinition, bookkeeping_fields, system_field
from crmkit.entities.sales import CONTACT, CUSTOMER, DEAL_OPEN, DEAL_WON, OPPORTUNITY, PRODUCT

LEVELS = ("A", "B", "C")
INDUSTRIES = ("IT", "金融", "房地产", "商业服务", "运输/物流", "生产", "政府", "文化传媒", "其他")
SOURCES = ("促销活动", "搜索引擎", "广告", "转介绍", "线上注册", "线上询价", "预约上门", "陌拜",
           "电话咨询", "邮件咨询", "其他")


def fields_of(kind: str, *specs: tuple[Any, ...]) -> tuple[FieldDefinition, ...]:
    """System fields of ``kind`` from ``(key, zh, en, type, [options])`` specs, in order, then
    the bookkeeping fields (创建人, 创建时间, 更新时间)."""
    defined = tuple(
        system_field(kind, key, zh, en, type_, 10 * (i + 1), **(extra[0] if extra else {}))
        for i, (key, zh, en, type_, *extra) in enumerate(specs)
    )
    return (*defined, *bookkeeping_fields(kind, 10 * (len(specs) + 1)))


CUSTOMER_FIELDS = fields_of(
    CUSTOMER,
    ("name", "客户名称", "Customer name", "text", {"required": True, "unique": True,
                                                  "max_length": 100}),
    ("level", "客户级别", "Level", "select", {"options": LEVELS}),
    ("industry", "客户行业", "Industry", "select", {"options": INDUSTRIES}),
    ("source", "客户来源", "Source", "select", {"options": SOURCES}),
    ("deal_status", "成交状态", "Deal status", "select", {"options": (DEAL_OPEN, DEAL_WON)}),
    ("phone", "电话", "Phone", "phone"),
    ("mobile", "手机", "Mobile", "mobile"),
    ("email", "邮箱", "Email", "email"),
    ("website", "网址", "Website", "url"),
    ("address", "地址", "Address", "text", {"max_length": 200}),
    ("remark", "备注", "Remark", "textarea", {"max_length": 2000}),
    ("next_contact_at", "下次联系时间", "Next contact", "datetime"),
    ("owner_id", "负责人", "Owner", "user"),
    ("last_followup_at", "最后跟进时间", "Last follow-up", "datetime", {"hidden": True}),
    ("last_followup_content", "最后跟进记录", "Last follow-up note", "textarea",
     {"hidden": True}),
    ("locked", "锁定", "Locked", "boolean", {"hidden": True}),
    ("pool_id", "所属公海", "Pool", "text", {"hidden": True}),
    ("previous_owner_id", "前负责人", "Previous owner", "user", {"hidden": True}),
    ("pooled_at", "进入公海时间", "Pooled at", "datetime", {"hidden": True}),
    ("received_at", "领取时间", "Received at", "datetime", {"hidden": True}),
    ("campaign_id", "市场活动", "Campaign", "record", {"reference_kind": "campaign"}),
)
CUSTOMER_WRITABLE = frozenset({"name", "level", "industry", "source", "phone", "mobile", "email",
                               "website", "address", "remark", "next_contact_at",
                               "campaign_id"})

CONTACT_FIELDS = fields_of(
    CONTACT,
    ("name", "姓名", "Name", "text", {"required": True, "max_length": 50}),
    ("customer_id", "客户", "Customer", "record", {"required": True,
                                                "reference_kind": CUSTOMER}),
    ("mobile", "手机", "Mobile", "mobile"),
    ("phone", "电话", "Phone", "phone"),
    ("email", "邮箱", "Email", "email"),
    ("position", "职务", "Position", "text", {"max_length": 50}),
    ("decision_maker", "关键决策人", "Decision maker", "boolean"),
    ("primary", "首要联系人", "Primary contact", "boolean"),
    ("remark", "备注", "Remark", "textarea", {"max_length": 2000}),
    ("next_contact_at", "下次联系时间", "Next contact", "datetime"),
    ("owner_id", "负责人", "Owner", "user"),
    ("last_followup_at", "最后跟进时间", "Last follow-up", "datetime", {"hidden": True}),
    ("last_followup_content", "最后跟进记录", "Last follow-up note", "textarea",
     {"hidden": True}),
)
CONTACT_WRITABLE = frozenset({"name", "customer_id", "mobile", "phone", "email", "position",
                              "decision_maker", "primary", "remark", "next_contact_at"})

PRODUCT_FIELDS = fields_of(
    PRODUCT,
    ("name", "产品名称", "Product name", "text", {"required": True, "max_length": 100}),
    ("code", "产品编码", "Product code", "text", {"required": True, "unique": True,
                                                  "max_length": 50}),
    ("category_id", "产品类别", "Category", "text", {"max_length": 64}),
    ("unit", "单位", "Unit", "text", {"max_length": 20}),
    ("price", "标准价格", "Price", "money", {"min_value": "0"}),
    ("description", "产品描述", "Description", "textarea", {"max_length": 5000}),
    ("on_shelf", "是否上架", "On shelf", "boolean"),
    ("owner_id", "负责人", "Owner", "user"),
)
PRODUCT_WRITABLE = frozenset({"name", "code", "category_id", "unit", "price", "description"})

OPPORTUNITY_STATUS_LABELS = {"in_progress": ("进行中", "In progress"), "won": ("赢单", "Won"),
                             "lost": ("输单", "Lost"), "invalid": ("无效", "Invalid")}
"""商机状态 labels by code (exports show these)."""

OPPORTUNITY_FIELDS = fields_of(
    OPPORTUNITY,
    ("name", "商机名称", "Opportunity name", "text", {"required": True, "max_length": 100}),
    ("customer_id", "客户", "Customer", "record", {"required": True,
                                                "reference_kind": CUSTOMER}),
    ("stage_group_id", "商机组", "Stage group", "text", {"required": True, "max_length": 64}),
    ("stage_id", "阶段", "Stage", "text", {"max_length": 64}),
    ("status", "状态", "Status", "select",
     {"options": ("in_progress", "won", "lost", "invalid")}),
    ("amount", "商机金额", "Amount", "money", {"min_value": "0"}),
    ("expected_close_date", "预计成交日期", "Expected close", "date"),
    ("order_discount", "整单折扣", "Order discount", "percent",
     {"min_value": "0", "max_value": "100"}),
    ("lost_reason", "输单原因", "Lost reason", "textarea", {"max_length": 500}),
    ("closed_at", "结束时间", "Closed at", "datetime", {"hidden": True}),
    ("remark", "备注", "Remark", "textarea", {"max_length": 2000}),
    ("next_contact_at", "下次联系时间", "Next contact", "datetime"),
    ("owner_id", "负责人", "Owner", "user"),
    ("last_followup_at", "最后跟进时间", "Last follow-up", "datetime", {"hidden": True}),
    ("last_followup_content", "最后跟进记录", "Last follow-up note", "textarea",
     {"hidden": True}),
)
OPPORTUNITY_WRITABLE = frozenset({"name", "customer_id", "stage_group_id", "amount",
                                  "expected_close_date", "order_discount", "remark",
                                  "next_contact_at"})
