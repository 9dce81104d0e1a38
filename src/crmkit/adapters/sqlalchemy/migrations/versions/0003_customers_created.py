"""``ix_crm_customers_created (created_at, id)``: the customer list's default sort.

Without it an administrator's first customer page (全部, newest first) sorted the whole table:
219 ms over 1,000,000 customers on PostgreSQL, 574 ms on SQLite (issue 14); with it the page
walks the index backwards and stops after ``limit + 1`` rows. Leads, contracts and payments
have had theirs since 0001.

Revision ID: 0003_customers_created
Revises: 0002_owned_or_pooled
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0003_customers_created"
down_revision = "0002_owned_or_pooled"
branch_labels = None
depends_on = None

INDEX = "ix_crm_customers_created"


def upgrade() -> None:
    op.create_index(INDEX, "crm_customers", ["created_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="crm_customers")
