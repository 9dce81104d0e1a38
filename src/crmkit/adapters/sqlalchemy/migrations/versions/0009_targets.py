"""业绩目标 Targets (``crm_targets``) and the index the dashboard counts follow-ups by
(``ix_crm_followups_author``: author, time).

Revision ID: 0009_targets
Revises: 0008_retire_schedules
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009_targets"
down_revision = "0008_retire_schedules"
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
        "crm_targets",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("measure", _text(32), nullable=False),
        sa.Column("months", _json(), nullable=False),
        sa.Column("user_id", _text(64), nullable=True),
        sa.Column("department_id", _text(64), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_targets")),
    )
    op.create_index("ix_crm_targets_year", "crm_targets", ["year", "measure"], unique=False)
    op.create_index("ix_crm_followups_author", "crm_followups", ["author_id", "at"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_followups_author", table_name="crm_followups")
    op.drop_index("ix_crm_targets_year", table_name="crm_targets")
    op.drop_table("crm_targets")
