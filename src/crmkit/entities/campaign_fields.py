"""System fields of marketing campaigns (市场活动)."""

from __future__ import annotations

from crmkit.entities.campaigns import CAMPAIGN, CampaignStatus, CampaignType
from crmkit.entities.sales_fields import fields_of

CAMPAIGN_FIELDS = fields_of(
    CAMPAIGN,
    ("name", "活动名称", "Campaign name", "text", {"required": True, "max_length": 100}),
    ("type", "活动类型", "Type", "select", {"options": tuple(t.value for t in CampaignType)}),
    ("status", "活动状态", "Status", "select",
     {"options": tuple(s.value for s in CampaignStatus)}),
    ("starts_on", "开始日期", "Starts on", "date"),
    ("ends_on", "结束日期", "Ends on", "date"),
    ("budget", "预算", "Budget", "money", {"min_value": "0"}),
    ("actual_cost", "实际成本", "Actual cost", "money", {"min_value": "0"}),
    ("description", "活动描述", "Description", "textarea", {"max_length": 5000}),
    ("owner_id", "负责人", "Owner", "user"),
)

CAMPAIGN_WRITABLE = frozenset({"name", "type", "status", "starts_on", "ends_on", "budget",
                               "actual_cost", "description"})

CAMPAIGN_TYPE_LABELS = {t.value: (t.label_zh, t.value.capitalize()) for t in CampaignType}
"""活动类型 labels by code (exports show these)."""
CAMPAIGN_STATUS_LABELS = {s.value: (s.label_zh, s.value.capitalize()) for s in CampaignStatus}
"""活动状态 labels by code."""
