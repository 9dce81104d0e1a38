"""System fields of contracts (合同) and payments (回款)."""

from __future__ import annotations

from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import CONTRACT, PAYMENT
from crmkit.entities.sales import CUSTOMER, OPPORTUNITY
from crmkit.entities.sales_fields import fields_of

APPROVAL_STATUSES = tuple(s.value for s in ApprovalStatus)
APPROVAL_STATUS_LABELS = {
    "draft": ("未提交", "Draft"), "pending": ("待审核", "Pending"),
    "in_review": ("审核中", "In review"), "approved": ("通过", "Approved"),
    "rejected": ("拒绝", "Rejected"), "withdrawn": ("撤回", "Withdrawn"),
    "void": ("作废", "Void"), "not_required": ("无需审批", "No approval needed"),
}
"""审核状态 labels by code (exports show these)."""
PAYMENT_METHODS = ("支票", "现金", "邮政汇款", "电汇", "网上转账", "支付宝", "微信支付", "其他")
"""回款方式 options (payments and payment plans)."""

_APPROVAL = (
    ("approval_status", "审核状态", "Approval status", "select",
     {"options": APPROVAL_STATUSES}),
    ("approval_id", "审批编号", "Approval", "text", {"hidden": True, "max_length": 64}),
)
_TAIL = (
    ("remark", "备注", "Remark", "textarea", {"max_length": 2000}),
    ("next_contact_at", "下次联系时间", "Next contact", "datetime"),
    ("owner_id", "负责人", "Owner", "user"),
    ("last_followup_at", "最后跟进时间", "Last follow-up", "datetime", {"hidden": True}),
    ("last_followup_content", "最后跟进记录", "Last follow-up note", "textarea",
     {"hidden": True}),
)

CONTRACT_FIELDS = fields_of(
    CONTRACT,
    ("number", "合同编号", "Contract number", "text", {"unique": True, "max_length": 64}),
    ("name", "合同名称", "Contract name", "text", {"required": True, "max_length": 100}),
    ("customer_id", "客户", "Customer", "record", {"required": True,
                                                "reference_kind": CUSTOMER}),
    ("opportunity_id", "商机", "Opportunity", "record", {"reference_kind": OPPORTUNITY}),
    ("amount", "合同金额", "Amount", "money", {"min_value": "0"}),
    ("order_date", "下单日期", "Order date", "date"),
    ("start_date", "开始日期", "Start date", "date"),
    ("end_date", "结束日期", "End date", "date"),
    ("customer_signer_id", "客户签约人", "Customer signer", "text", {"max_length": 64}),
    ("company_signer_id", "公司签约人", "Company signer", "user"),
    ("order_discount", "整单折扣", "Order discount", "percent",
     {"min_value": "0", "max_value": "100"}),
    ("received_amount", "已回款金额", "Received", "money"),
    ("unreceived_amount", "未回款金额", "Unreceived", "money"),
    *_APPROVAL,
    *_TAIL,
)
CONTRACT_WRITABLE = frozenset({"number", "name", "customer_id", "opportunity_id", "amount",
                               "order_date", "start_date", "end_date", "customer_signer_id",
                               "company_signer_id", "order_discount", "remark",
                               "next_contact_at"})

PAYMENT_FIELDS = fields_of(
    PAYMENT,
    ("number", "回款编号", "Payment number", "text", {"unique": True, "max_length": 64}),
    ("contract_id", "合同", "Contract", "record", {"required": True,
                                                "reference_kind": CONTRACT}),
    ("customer_id", "客户", "Customer", "record", {"reference_kind": CUSTOMER}),
    ("plan_id", "回款计划", "Payment plan", "text", {"max_length": 64}),
    ("paid_on", "回款日期", "Paid on", "date", {"required": True}),
    ("amount", "回款金额", "Amount", "money", {"required": True, "min_value": "0.01"}),
    ("method", "回款方式", "Method", "select", {"options": PAYMENT_METHODS}),
    *_APPROVAL,
    *_TAIL,
)
PAYMENT_WRITABLE = frozenset({"number", "contract_id", "plan_id", "paid_on", "amount", "method",
                              "remark", "next_contact_at"})
