"""日程 Schedules and 日志 work logs: the ``crm_calendar_events`` and ``crm_work_logs`` tables
of their record kinds (``SCHEDULE_KIND``, ``WORK_LOG_KIND``).

Revision ID: 0006_schedules_and_logs
Revises: 0005_task_workbench
Create Date: 2026-12-03
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0006_schedules_and_logs"
down_revision = "0005_task_workbench"
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


def _record(*columns: sa.Column[Any]) -> list[sa.Column[Any]]:
    """The columns every record table starts with, then ``columns``."""
    return [
        sa.Column("id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=False),
        *columns,
    ]


def upgrade() -> None:
    op.create_table(
        "crm_calendar_events",
        *_record(
            sa.Column("title", _text(), nullable=False),
            sa.Column("starts_at", sa.DateTime(), nullable=False),
            sa.Column("ends_at", sa.DateTime(), nullable=False),
        ),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("all_day", sa.Boolean(), nullable=False),
        sa.Column("description", _text(), nullable=True),
        sa.Column("participant_ids", _json(), nullable=False),
        sa.Column("related", _json(), nullable=False),
        sa.Column("reminders", _json(), nullable=False),
        sa.Column("repeat", _json(), nullable=True),
        sa.Column("source", _text(64), nullable=False),
        sa.Column("series_ends_at", sa.DateTime(), nullable=True),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_calendar_events")),
    )
    op.create_index("ix_crm_calendar_events_owner_created", "crm_calendar_events",
                    ["owner_id", "created_at", "id"], unique=False)
    op.create_index("ix_crm_calendar_events_owner_starts", "crm_calendar_events",
                    ["owner_id", "starts_at"], unique=False)
    op.create_table(
        "crm_work_logs",
        *_record(
            sa.Column("period", _text(16), nullable=False),
            sa.Column("period_start", sa.Date(), nullable=False),
        ),
        sa.Column("created_by", _text(64), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("done", _text(), nullable=False),
        sa.Column("plan", _text(), nullable=False),
        sa.Column("problems", _text(), nullable=False),
        sa.Column("copied_user_ids", _json(), nullable=False),
        sa.Column("copied_department_ids", _json(), nullable=False),
        sa.Column("related", _json(), nullable=False),
        sa.Column("attachment_ids", _json(), nullable=False),
        sa.Column("read_by", _json(), nullable=False),
        sa.Column("custom", _json(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_work_logs")),
    )
    op.create_index("ix_crm_work_logs_owner_created", "crm_work_logs",
                    ["owner_id", "created_at", "id"], unique=False)
    op.create_index("ix_crm_work_logs_owner_period", "crm_work_logs",
                    ["owner_id", "period_start"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_work_logs_owner_period", table_name="crm_work_logs")
    op.drop_index("ix_crm_work_logs_owner_created", table_name="crm_work_logs")
    op.drop_table("crm_work_logs")
    op.drop_index("ix_crm_calendar_events_owner_starts", table_name="crm_calendar_events")
    op.drop_index("ix_crm_calendar_events_owner_created", table_name="crm_calendar_events")
    op.drop_table("crm_calendar_events")
