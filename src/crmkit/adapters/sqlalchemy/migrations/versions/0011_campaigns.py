"""市场活动 Marketing campaigns: the ``crm_campaigns`` table of ``CAMPAIGN_KIND`` and the
campaign a lead or customer came from (``crm_leads.campaign_id``, ``crm_customers.campaign_id``,
each indexed: a campaign's evaluation reads them by campaign).

Revision ID: 0011_campaigns
Revises: 0010_reminders
Create Date: 2026-12-03
"""

from __future__ import annotations

import warnings
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import DBAPIError

revision = "0011_campaigns"
down_revision = "0010_reminders"
branch_labels = None
depends_on = None

# _text, _json and _trigrams repeat earlier revisions' on purpose: a migration keeps the types
# and steps it was written with, whatever later revisions or the current tables say.


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


def _trigrams() -> bool:
    """PostgreSQL: whether ``pg_trgm``'s operator class is (or could be made) visible here."""
    bind = op.get_bind()
    query = ("SELECT 1 FROM pg_opclass WHERE opcname = 'gin_trgm_ops' "
             "AND pg_opclass_is_visible(oid)")
    if bind.exec_driver_sql(query).first() is not None:
        return True
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as err:
        problem = str(err.orig)
    else:
        if bind.exec_driver_sql(query).first() is not None:
            return True
        problem = "installed in a schema outside the search_path"
    warnings.warn(f"crmkit: no pg_trgm ({problem}); keyword search works without its "
                  "indexes (a scan)", stacklevel=2)
    return False


_INDEXES = {"starts": ["starts_on"], "owner_created": ["owner_id", "created_at", "id"],
            "created": ["created_at", "id"]}


def upgrade() -> None:
    op.create_table(
        "crm_campaigns",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("name", _text(), nullable=False),
        sa.Column("owner_id", _text(64), nullable=False),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", _text(16), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=True),
        sa.Column("ends_on", sa.Date(), nullable=True),
        sa.Column("budget", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("actual_cost", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("description", _text(), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_campaigns")),
    )
    for suffix, columns in _INDEXES.items():
        op.create_index(f"ix_crm_campaigns_{suffix}", "crm_campaigns", columns, unique=False)
    if op.get_bind().dialect.name == "postgresql" and _trigrams():
        op.execute("CREATE INDEX ix_crm_campaigns_search_name ON crm_campaigns "
                   "USING gin (lower(name) gin_trgm_ops)")
    for table in ("crm_leads", "crm_customers"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("campaign_id", _text(64), nullable=True))
        op.create_index(f"ix_{table}_campaign", table, ["campaign_id"], unique=False)


def downgrade() -> None:
    for table in ("crm_customers", "crm_leads"):
        op.drop_index(f"ix_{table}_campaign", table_name=table)
        with op.batch_alter_table(table) as batch:
            batch.drop_column("campaign_id")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_crm_campaigns_search_name")
    for suffix in _INDEXES:
        op.drop_index(f"ix_crm_campaigns_{suffix}", table_name="crm_campaigns")
    op.drop_table("crm_campaigns")
