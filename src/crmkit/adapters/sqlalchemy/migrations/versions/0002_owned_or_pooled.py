"""A customer is owned or in a pool, never both: ``ck_crm_customers_owned_or_pooled``.

Before the check is added, customers a lost race left both owned and pooled (a release and a
transfer of the same customer at the same moment, before crmkit conditioned both on the
version read) keep their owner and leave the pool: the owner change was the later write.

Revision ID: 0002_owned_or_pooled
Revises: 0001_initial
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_owned_or_pooled"
down_revision = "0001_initial"
branch_labels = None
depends_on = None

CHECK = "ck_crm_customers_owned_or_pooled"


def upgrade() -> None:
    customers = sa.table("crm_customers", sa.column("owner_id"), sa.column("pool_id"))
    op.execute(customers.update()
               .where(customers.c.owner_id.is_not(None), customers.c.pool_id.is_not(None))
               .values(pool_id=None))
    with op.batch_alter_table("crm_customers") as batch:
        batch.create_check_constraint(op.f(CHECK), "owner_id IS NULL OR pool_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("crm_customers") as batch:
        batch.drop_constraint(op.f(CHECK), type_="check")
