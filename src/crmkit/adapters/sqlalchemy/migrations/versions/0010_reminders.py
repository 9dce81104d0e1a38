"""提醒 Reminders and the notification inbox: ``crm_sent_reminders`` (each reminder key once)
and ``crm_outbox.read_at`` with the recipient index (a user's notifications, unread count).

Revision ID: 0010_reminders
Revises: 0009_targets
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_reminders"
down_revision = "0009_targets"
branch_labels = None
depends_on = None


def _text(length: int) -> sa.types.TypeEngine[str]:
    """Text compared by code point: collation "C" on PostgreSQL (``tables.code_point_string``);
    repeated here on purpose: a migration keeps the types it was written with."""
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "crm_sent_reminders",
        sa.Column("key", _text(400), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_crm_sent_reminders")),
    )
    with op.batch_alter_table("crm_outbox") as batch:
        batch.add_column(sa.Column("read_at", sa.DateTime(), nullable=True))
    op.create_index("ix_crm_outbox_recipient", "crm_outbox", ["recipient_id", "id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_outbox_recipient", table_name="crm_outbox")
    with op.batch_alter_table("crm_outbox") as batch:
        batch.drop_column("read_at")
    op.drop_table("crm_sent_reminders")
