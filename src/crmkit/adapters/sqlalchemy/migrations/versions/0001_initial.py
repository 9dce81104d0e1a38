"""The schema of crmkit 0.1: every table of ``tables.py`` and the org-version row.

Revision ID: 0001_initial
Revises:
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None


def _text(length: int | None = None) -> sa.types.TypeEngine[str]:
    """Text compared by code point: collation "C" on PostgreSQL (``tables.code_point_string``)."""
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def _json() -> sa.types.TypeEngine[Any]:
    """JSON on SQLite, JSONB on PostgreSQL (as ``tables.JSONDocument``)."""
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "crm_approval_flows",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("kind", _text(64), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_approval_flows")),
        sa.UniqueConstraint("kind", name=op.f("uq_crm_approval_flows_kind")),
    )
    op.create_table(
        "crm_approval_instances",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("record_kind", _text(64), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("submitter_id", _text(64), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_approval_instances")),
    )
    op.create_index(
        "ix_crm_approval_instances_record",
        "crm_approval_instances",
        ["record_kind", "record_id"],
        unique=True,
    )
    op.create_index(
        "ix_crm_approval_instances_submitter",
        "crm_approval_instances",
        ["submitter_id", "submitted_at", "id"],
        unique=False,
    )
    op.create_table(
        "crm_attachments",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("record_kind", _text(64), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("file_key", _text(200), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("content_type", _text(200), nullable=False),
        sa.Column("sha256", _text(64), nullable=False),
        sa.Column("uploaded_by", _text(64), nullable=False),
        sa.Column("uploaded_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_attachments")),
    )
    op.create_index(
        "ix_crm_attachments_record", "crm_attachments", ["record_kind", "record_id"], unique=False
    )
    op.create_table(
        "crm_column_configs",
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("record_kind", _text(64), nullable=False),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("widths", _json(), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "record_kind", name=op.f("pk_crm_column_configs")),
    )
    op.create_table(
        "crm_contacts",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("customer_id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("mobile", _text(32), nullable=True),
        sa.Column("phone", _text(64), nullable=True),
        sa.Column("email", _text(254), nullable=True),
        sa.Column("position", _text(200), nullable=True),
        sa.Column("decision_maker", sa.Boolean(), nullable=False),
        sa.Column("primary", sa.Boolean(), nullable=False),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_content", _text(), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_contacts")),
    )
    op.create_index("ix_crm_contacts_customer", "crm_contacts", ["customer_id"], unique=False)
    op.create_index(
        "ix_crm_contacts_owner_created",
        "crm_contacts",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "crm_contracts",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("number", _text(64), nullable=True),
        sa.Column("customer_id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("opportunity_id", _text(64), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("order_date", sa.Date(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("end_date", sa.Date(), nullable=True),
        sa.Column("customer_signer_id", _text(64), nullable=True),
        sa.Column("company_signer_id", _text(64), nullable=True),
        sa.Column("lines", _json(), nullable=False),
        sa.Column("order_discount", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("received_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("unreceived_amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("approval_status", _text(16), nullable=False),
        sa.Column("approval_id", _text(64), nullable=True),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_content", _text(), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_contracts")),
    )
    op.create_index("ix_crm_contracts_created", "crm_contracts", ["created_at", "id"], unique=False)
    op.create_index("ix_crm_contracts_customer", "crm_contracts", ["customer_id"], unique=False)
    op.create_index("ix_crm_contracts_number", "crm_contracts", ["number"], unique=True)
    op.create_index(
        "ix_crm_contracts_opportunity", "crm_contracts", ["opportunity_id"], unique=False
    )
    op.create_index(
        "ix_crm_contracts_owner_created",
        "crm_contracts",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "crm_customers",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("level", _text(200), nullable=True),
        sa.Column("industry", _text(200), nullable=True),
        sa.Column("source", _text(200), nullable=True),
        sa.Column("deal_status", _text(200), nullable=False),
        sa.Column("phone", _text(64), nullable=True),
        sa.Column("mobile", _text(32), nullable=True),
        sa.Column("email", _text(254), nullable=True),
        sa.Column("website", _text(), nullable=True),
        sa.Column("address", _text(), nullable=True),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_content", _text(), nullable=True),
        sa.Column("locked", sa.Boolean(), nullable=False),
        sa.Column("pool_id", _text(64), nullable=True),
        sa.Column("previous_owner_id", _text(64), nullable=True),
        sa.Column("pooled_at", sa.DateTime(), nullable=True),
        sa.Column("received_at", sa.DateTime(), nullable=True),
        sa.Column("pool_warned_at", sa.DateTime(), nullable=True),
        sa.Column("lead_id", _text(64), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_customers")),
    )
    op.create_index("ix_crm_customers_name", "crm_customers", ["name"], unique=False)
    op.create_index(
        "ix_crm_customers_owner_created",
        "crm_customers",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_crm_customers_owner_deal", "crm_customers", ["owner_id", "deal_status"], unique=False
    )
    op.create_index(
        "ix_crm_customers_owner_locked", "crm_customers", ["owner_id", "locked"], unique=False
    )
    op.create_index(
        "ix_crm_customers_owner_updated",
        "crm_customers",
        ["owner_id", "updated_at", "id"],
        unique=False,
    )
    op.create_index("ix_crm_customers_pool", "crm_customers", ["pool_id"], unique=False)
    op.create_table(
        "crm_departments",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("parent_id", _text(64), nullable=True),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["crm_departments.id"],
            name=op.f("fk_crm_departments_parent_id_crm_departments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_departments")),
    )
    op.create_index(
        op.f("ix_crm_departments_parent_id"), "crm_departments", ["parent_id"], unique=False
    )
    op.create_table(
        "crm_field_definitions",
        sa.Column("kind", _text(64), nullable=False),
        sa.Column("key", _text(64), nullable=False),
        sa.Column("label_zh", _text(200), nullable=False),
        sa.Column("label_en", _text(200), nullable=False),
        sa.Column("type", _text(64), nullable=False),
        sa.Column("system", sa.Boolean(), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("unique", sa.Boolean(), nullable=False),
        sa.Column("default", _json(), nullable=True),
        sa.Column("options", _json(), nullable=False),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("precision", sa.Integer(), nullable=True),
        sa.Column("min_value", _text(64), nullable=True),
        sa.Column("max_value", _text(64), nullable=True),
        sa.Column("help_text", _text(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("retired", sa.Boolean(), nullable=False),
        sa.Column("reference_kind", _text(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("kind", "key", name=op.f("pk_crm_field_definitions")),
    )
    op.create_table(
        "crm_files",
        sa.Column("key", _text(32), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("content_type", _text(200), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", _text(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_crm_files")),
    )
    op.create_table(
        "crm_followups",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("record_kind", _text(64), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("author_id", _text(64), nullable=False),
        sa.Column("method", _text(100), nullable=False),
        sa.Column("content", _text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("contact_ids", _json(), nullable=False),
        sa.Column("opportunity_ids", _json(), nullable=False),
        sa.Column("attachment_ids", _json(), nullable=False),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_followups")),
    )
    op.create_index(
        "ix_crm_followups_record", "crm_followups", ["record_kind", "record_id", "at"], unique=False
    )
    op.create_table(
        "crm_leads",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contact_name", _text(), nullable=True),
        sa.Column("mobile", _text(32), nullable=True),
        sa.Column("phone", _text(64), nullable=True),
        sa.Column("email", _text(254), nullable=True),
        sa.Column("source", _text(200), nullable=True),
        sa.Column("industry", _text(200), nullable=True),
        sa.Column("level", _text(200), nullable=True),
        sa.Column("address", _text(), nullable=True),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_content", _text(), nullable=True),
        sa.Column("converted", sa.Boolean(), nullable=False),
        sa.Column("converted_at", sa.DateTime(), nullable=True),
        sa.Column("customer_id", _text(64), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_leads")),
    )
    op.create_index("ix_crm_leads_converted", "crm_leads", ["converted"], unique=False)
    op.create_index("ix_crm_leads_created", "crm_leads", ["created_at", "id"], unique=False)
    op.create_index("ix_crm_leads_name", "crm_leads", ["name"], unique=False)
    op.create_index(
        "ix_crm_leads_owner_created", "crm_leads", ["owner_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_crm_leads_owner_updated", "crm_leads", ["owner_id", "updated_at", "id"], unique=False
    )
    op.create_table(
        "crm_operation_log",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("record_kind", sa.String(length=64), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("actor_id", _text(64), nullable=True),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("changes", _json(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_operation_log")),
    )
    op.create_index(
        "ix_crm_operation_log_record",
        "crm_operation_log",
        ["record_kind", "record_id", "at"],
        unique=False,
    )
    op.create_table(
        "crm_opportunities",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("customer_id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("stage_group_id", _text(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("stage_id", _text(64), nullable=True),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("lines", _json(), nullable=False),
        sa.Column("order_discount", sa.Numeric(precision=7, scale=2), nullable=False),
        sa.Column("contact_ids", _json(), nullable=False),
        sa.Column("lost_reason", _text(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_content", _text(), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_opportunities")),
    )
    op.create_index(
        "ix_crm_opportunities_customer_created",
        "crm_opportunities",
        ["customer_id", "created_at"],
        unique=False,
    )
    op.create_index(
        "ix_crm_opportunities_owner_created",
        "crm_opportunities",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_crm_opportunities_stage",
        "crm_opportunities",
        ["stage_group_id", "stage_id"],
        unique=False,
    )
    op.create_table(
        "crm_org_meta",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_crm_org_meta_single_row")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_org_meta")),
    )
    op.create_table(
        "crm_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("recipient_id", _text(64), nullable=False),
        sa.Column("kind", _text(64), nullable=False),
        sa.Column("title_zh", _text(), nullable=False),
        sa.Column("title_en", _text(), nullable=False),
        sa.Column("record_kind", _text(64), nullable=True),
        sa.Column("record_id", _text(64), nullable=True),
        sa.Column("data", _json(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("claimed_until", sa.DateTime(), nullable=True),
        sa.Column("delivered_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_outbox")),
    )
    op.create_index("ix_crm_outbox_pending", "crm_outbox", ["delivered_at", "id"], unique=False)
    op.create_table(
        "crm_payment_plans",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("contract_id", _text(64), nullable=False),
        sa.Column("customer_id", _text(64), nullable=False),
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=False),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("method", _text(64), nullable=True),
        sa.Column("remind_days", sa.Integer(), nullable=False),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("voided", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("remind_on", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_payment_plans")),
    )
    op.create_index(
        "ix_crm_payment_plans_contract",
        "crm_payment_plans",
        ["contract_id", "period", "id"],
        unique=False,
    )
    op.create_index(
        "ix_crm_payment_plans_remind_on", "crm_payment_plans", ["remind_on"], unique=False
    )
    op.create_table(
        "crm_payments",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("number", _text(64), nullable=True),
        sa.Column("customer_id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("contract_id", _text(64), nullable=False),
        sa.Column("plan_id", _text(64), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("method", _text(64), nullable=True),
        sa.Column("approval_status", _text(16), nullable=False),
        sa.Column("approval_id", _text(64), nullable=True),
        sa.Column("remark", _text(), nullable=True),
        sa.Column("next_contact_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_at", sa.DateTime(), nullable=True),
        sa.Column("last_followup_content", _text(), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_payments")),
    )
    op.create_index(
        "ix_crm_payments_contract", "crm_payments", ["contract_id", "approval_status"], unique=False
    )
    op.create_index("ix_crm_payments_created", "crm_payments", ["created_at", "id"], unique=False)
    op.create_index("ix_crm_payments_customer", "crm_payments", ["customer_id"], unique=False)
    op.create_index("ix_crm_payments_number", "crm_payments", ["number"], unique=True)
    op.create_index(
        "ix_crm_payments_owner_created",
        "crm_payments",
        ["owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_crm_payments_plan", "crm_payments", ["plan_id", "approval_status"], unique=False
    )
    op.create_table(
        "crm_pool_claims",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("customer_id", _text(64), nullable=False),
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_pool_claims")),
    )
    op.create_index(
        "ix_crm_pool_claims_user_at", "crm_pool_claims", ["user_id", "at"], unique=False
    )
    op.create_table(
        "crm_pools",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("admin_ids", _json(), nullable=False),
        sa.Column("member_user_ids", _json(), nullable=False),
        sa.Column("member_department_ids", _json(), nullable=False),
        sa.Column("rules", _json(), nullable=False),
        sa.Column("daily_claim_limit", sa.Integer(), nullable=True),
        sa.Column("claim_back_days", sa.Integer(), nullable=False),
        sa.Column("warn_days", sa.Integer(), nullable=False),
        sa.Column("reclaim_enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_pools")),
    )
    op.create_table(
        "crm_price_changes",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("product_id", _text(64), nullable=False),
        sa.Column("old_price", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("new_price", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", _text(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_price_changes")),
    )
    op.create_index(
        "ix_crm_price_changes_product",
        "crm_price_changes",
        ["product_id", "at", "id"],
        unique=False,
    )
    op.create_table(
        "crm_product_categories",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("parent_id", _text(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_product_categories")),
    )
    op.create_index(
        op.f("ix_crm_product_categories_parent_id"),
        "crm_product_categories",
        ["parent_id"],
        unique=False,
    )
    op.create_table(
        "crm_products",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("code", _text(200), nullable=False),
        sa.Column("owner_id", _text(64), nullable=True),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("category_id", _text(64), nullable=True),
        sa.Column("unit", _text(64), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("description", _text(), nullable=True),
        sa.Column("on_shelf", sa.Boolean(), nullable=False),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_products")),
    )
    op.create_index("ix_crm_products_category", "crm_products", ["category_id"], unique=False)
    op.create_index("ix_crm_products_code", "crm_products", ["code"], unique=False)
    op.create_table(
        "crm_roles",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("code", sa.String(length=64), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("permissions", _json(), nullable=False),
        sa.Column("scopes", _json(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_roles")),
        sa.UniqueConstraint("code", name=op.f("uq_crm_roles_code")),
        sa.UniqueConstraint("name", name=op.f("uq_crm_roles_name")),
    )
    op.create_table(
        "crm_scenes",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("record_kind", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("conditions", _json(), nullable=False),
        sa.Column("sort", _json(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("hidden", sa.Boolean(), nullable=False),
        sa.Column("sort_order", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_scenes")),
    )
    op.create_index(
        "ix_crm_scenes_user", "crm_scenes", ["user_id", "record_kind", "sort_order"], unique=False
    )
    op.create_table(
        "crm_schedules",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=False),
        sa.Column("title", _text(), nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=True),
        sa.Column("record_kind", _text(64), nullable=True),
        sa.Column("record_id", _text(64), nullable=True),
        sa.Column("source", _text(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_schedules")),
    )
    op.create_index(
        "ix_crm_schedules_owner", "crm_schedules", ["owner_id", "starts_at"], unique=False
    )
    op.create_index(
        "ix_crm_schedules_record", "crm_schedules", ["record_kind", "record_id"], unique=False
    )
    op.create_table(
        "crm_sequences",
        sa.Column("name", _text(64), nullable=False),
        sa.Column("period", _text(32), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name", "period", name=op.f("pk_crm_sequences")),
    )
    op.create_table(
        "crm_settings",
        sa.Column("key", _text(200), nullable=False),
        sa.Column("value", _json(), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_crm_settings")),
    )
    op.create_table(
        "crm_stage_changes",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("opportunity_id", _text(64), nullable=False),
        sa.Column("from_stage_id", _text(64), nullable=True),
        sa.Column("to_stage_id", _text(64), nullable=True),
        sa.Column("from_status", _text(16), nullable=False),
        sa.Column("to_status", _text(16), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("actor_id", _text(64), nullable=True),
        sa.Column("reason", _text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_stage_changes")),
    )
    op.create_index(
        "ix_crm_stage_changes_opportunity",
        "crm_stage_changes",
        ["opportunity_id", "at", "id"],
        unique=False,
    )
    op.create_table(
        "crm_stage_groups",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("stages", _json(), nullable=False),
        sa.Column("department_ids", _json(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_stage_groups")),
    )
    op.create_table(
        "crm_approval_waiting",
        sa.Column("instance_id", _text(64), nullable=False),
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("submitted_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["instance_id"],
            ["crm_approval_instances.id"],
            name=op.f("fk_crm_approval_waiting_instance_id_crm_approval_instances"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("instance_id", "user_id", name=op.f("pk_crm_approval_waiting")),
    )
    op.create_index(
        "ix_crm_approval_waiting_user",
        "crm_approval_waiting",
        ["user_id", "submitted_at", "instance_id"],
        unique=False,
    )
    op.create_table(
        "crm_users",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("mobile", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("gender", sa.String(length=16), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("department_id", _text(64), nullable=False),
        sa.Column("position", sa.String(length=200), nullable=True),
        sa.Column("supervisor_id", _text(64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.String(length=512), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["department_id"],
            ["crm_departments.id"],
            name=op.f("fk_crm_users_department_id_crm_departments"),
        ),
        sa.ForeignKeyConstraint(
            ["supervisor_id"], ["crm_users.id"], name=op.f("fk_crm_users_supervisor_id_crm_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_users")),
        sa.UniqueConstraint("mobile", name=op.f("uq_crm_users_mobile")),
    )
    op.create_index(
        op.f("ix_crm_users_department_id"), "crm_users", ["department_id"], unique=False
    )
    op.create_index(
        op.f("ix_crm_users_supervisor_id"), "crm_users", ["supervisor_id"], unique=False
    )
    op.create_table(
        "crm_team_members",
        sa.Column("record_kind", sa.String(length=64), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("access", sa.String(length=8), nullable=False),
        sa.CheckConstraint("access IN ('read', 'write')", name=op.f("ck_crm_team_members_access")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["crm_users.id"], name=op.f("fk_crm_team_members_user_id_crm_users")
        ),
        sa.PrimaryKeyConstraint(
            "record_kind", "record_id", "user_id", name=op.f("pk_crm_team_members")
        ),
    )
    op.create_index(
        "ix_crm_team_members_user", "crm_team_members", ["user_id", "record_kind"], unique=False
    )
    op.create_table(
        "crm_user_roles",
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("role_id", _text(64), nullable=False),
        sa.ForeignKeyConstraint(
            ["role_id"],
            ["crm_roles.id"],
            name=op.f("fk_crm_user_roles_role_id_crm_roles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["crm_users.id"],
            name=op.f("fk_crm_user_roles_user_id_crm_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "role_id", name=op.f("pk_crm_user_roles")),
    )
    op.create_index(op.f("ix_crm_user_roles_role_id"), "crm_user_roles", ["role_id"], unique=False)
    op.bulk_insert(
        sa.table("crm_org_meta", sa.column("id", sa.Integer()), sa.column("value", sa.Integer())),
        [{"id": 1, "value": 0}],
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_crm_user_roles_role_id"), table_name="crm_user_roles")
    op.drop_table("crm_user_roles")
    op.drop_index("ix_crm_team_members_user", table_name="crm_team_members")
    op.drop_table("crm_team_members")
    op.drop_index(op.f("ix_crm_users_supervisor_id"), table_name="crm_users")
    op.drop_index(op.f("ix_crm_users_department_id"), table_name="crm_users")
    op.drop_table("crm_users")
    op.drop_index("ix_crm_approval_waiting_user", table_name="crm_approval_waiting")
    op.drop_table("crm_approval_waiting")
    op.drop_table("crm_stage_groups")
    op.drop_index("ix_crm_stage_changes_opportunity", table_name="crm_stage_changes")
    op.drop_table("crm_stage_changes")
    op.drop_table("crm_settings")
    op.drop_table("crm_sequences")
    op.drop_index("ix_crm_schedules_record", table_name="crm_schedules")
    op.drop_index("ix_crm_schedules_owner", table_name="crm_schedules")
    op.drop_table("crm_schedules")
    op.drop_index("ix_crm_scenes_user", table_name="crm_scenes")
    op.drop_table("crm_scenes")
    op.drop_table("crm_roles")
    op.drop_index("ix_crm_products_code", table_name="crm_products")
    op.drop_index("ix_crm_products_category", table_name="crm_products")
    op.drop_table("crm_products")
    op.drop_index(op.f("ix_crm_product_categories_parent_id"), table_name="crm_product_categories")
    op.drop_table("crm_product_categories")
    op.drop_index("ix_crm_price_changes_product", table_name="crm_price_changes")
    op.drop_table("crm_price_changes")
    op.drop_table("crm_pools")
    op.drop_index("ix_crm_pool_claims_user_at", table_name="crm_pool_claims")
    op.drop_table("crm_pool_claims")
    op.drop_index("ix_crm_payments_plan", table_name="crm_payments")
    op.drop_index("ix_crm_payments_owner_created", table_name="crm_payments")
    op.drop_index("ix_crm_payments_number", table_name="crm_payments")
    op.drop_index("ix_crm_payments_customer", table_name="crm_payments")
    op.drop_index("ix_crm_payments_created", table_name="crm_payments")
    op.drop_index("ix_crm_payments_contract", table_name="crm_payments")
    op.drop_table("crm_payments")
    op.drop_index("ix_crm_payment_plans_remind_on", table_name="crm_payment_plans")
    op.drop_index("ix_crm_payment_plans_contract", table_name="crm_payment_plans")
    op.drop_table("crm_payment_plans")
    op.drop_index("ix_crm_outbox_pending", table_name="crm_outbox")
    op.drop_table("crm_outbox")
    op.drop_table("crm_org_meta")
    op.drop_index("ix_crm_opportunities_stage", table_name="crm_opportunities")
    op.drop_index("ix_crm_opportunities_owner_created", table_name="crm_opportunities")
    op.drop_index("ix_crm_opportunities_customer_created", table_name="crm_opportunities")
    op.drop_table("crm_opportunities")
    op.drop_index("ix_crm_operation_log_record", table_name="crm_operation_log")
    op.drop_table("crm_operation_log")
    op.drop_index("ix_crm_leads_owner_updated", table_name="crm_leads")
    op.drop_index("ix_crm_leads_owner_created", table_name="crm_leads")
    op.drop_index("ix_crm_leads_name", table_name="crm_leads")
    op.drop_index("ix_crm_leads_created", table_name="crm_leads")
    op.drop_index("ix_crm_leads_converted", table_name="crm_leads")
    op.drop_table("crm_leads")
    op.drop_index("ix_crm_followups_record", table_name="crm_followups")
    op.drop_table("crm_followups")
    op.drop_table("crm_files")
    op.drop_table("crm_field_definitions")
    op.drop_index(op.f("ix_crm_departments_parent_id"), table_name="crm_departments")
    op.drop_table("crm_departments")
    op.drop_index("ix_crm_customers_pool", table_name="crm_customers")
    op.drop_index("ix_crm_customers_owner_updated", table_name="crm_customers")
    op.drop_index("ix_crm_customers_owner_locked", table_name="crm_customers")
    op.drop_index("ix_crm_customers_owner_deal", table_name="crm_customers")
    op.drop_index("ix_crm_customers_owner_created", table_name="crm_customers")
    op.drop_index("ix_crm_customers_name", table_name="crm_customers")
    op.drop_table("crm_customers")
    op.drop_index("ix_crm_contracts_owner_created", table_name="crm_contracts")
    op.drop_index("ix_crm_contracts_opportunity", table_name="crm_contracts")
    op.drop_index("ix_crm_contracts_number", table_name="crm_contracts")
    op.drop_index("ix_crm_contracts_customer", table_name="crm_contracts")
    op.drop_index("ix_crm_contracts_created", table_name="crm_contracts")
    op.drop_table("crm_contracts")
    op.drop_index("ix_crm_contacts_owner_created", table_name="crm_contacts")
    op.drop_index("ix_crm_contacts_customer", table_name="crm_contacts")
    op.drop_table("crm_contacts")
    op.drop_table("crm_column_configs")
    op.drop_index("ix_crm_attachments_record", table_name="crm_attachments")
    op.drop_table("crm_attachments")
    op.drop_index("ix_crm_approval_instances_submitter", table_name="crm_approval_instances")
    op.drop_index("ix_crm_approval_instances_record", table_name="crm_approval_instances")
    op.drop_table("crm_approval_instances")
    op.drop_table("crm_approval_flows")
