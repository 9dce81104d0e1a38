"""任务 Tasks: the ``crm_tasks`` table of the task record kind (``TASK_KIND``).

Revision ID: 0004_tasks
Revises: 0003_customers_created
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004_tasks"
down_revision = "0003_customers_created"
branch_labels = None
depends_on = None

# _text and _json repeat 0001's on purpose: a migration keeps the types it was written with,
# whatever later revisions or the current tables say.


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
        "crm_tasks",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("title", _text(), nullable=False),
        sa.Column("owner_id", _text(64), nullable=False),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", _text(), nullable=True),
        sa.Column("participant_ids", _json(), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=True),
        sa.Column("due_time", sa.Time(), nullable=True),
        sa.Column("priority", _text(16), nullable=False),
        sa.Column("tag_ids", _json(), nullable=False),
        sa.Column("parent_id", _text(64), nullable=True),
        sa.Column("done", sa.Boolean(), nullable=False),
        sa.Column("done_at", sa.DateTime(), nullable=True),
        sa.Column("related", _json(), nullable=False),
        sa.Column("attachment_ids", _json(), nullable=False),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_tasks")),
    )
    op.create_index("ix_crm_tasks_owner_created", "crm_tasks", ["owner_id", "created_at", "id"],
                    unique=False)
    op.create_index("ix_crm_tasks_owner_due", "crm_tasks", ["owner_id", "due_date"],
                    unique=False)
    op.create_index("ix_crm_tasks_parent", "crm_tasks", ["parent_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_tasks_parent", table_name="crm_tasks")
    op.drop_index("ix_crm_tasks_owner_due", table_name="crm_tasks")
    op.drop_index("ix_crm_tasks_owner_created", table_name="crm_tasks")
    op.drop_table("crm_tasks")
