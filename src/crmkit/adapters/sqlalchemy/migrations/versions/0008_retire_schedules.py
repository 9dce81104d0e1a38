"""日程: the follow-ups' calendar entries of ``crm_schedules`` become schedules of the record
kind (``crm_calendar_events``, with their related-record links); ``crm_schedules`` goes.

An entry becomes a moment-long event (no end: it ends as it starts) of the same id, owner,
title, start and source, created by its owner at its start, related to its record.

Revision ID: 0008_retire_schedules
Revises: 0007_list_indexes
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_retire_schedules"
down_revision = "0007_list_indexes"
branch_labels = None
depends_on = None

_EVENTS = """
INSERT INTO crm_calendar_events (id, owner_id, title, starts_at, ends_at, created_by,
    created_at, updated_at, version, all_day, description, participant_ids, related, reminders,
    repeat, source, series_ends_at, custom)
SELECT id, owner_id, title, starts_at, COALESCE(ends_at, starts_at), owner_id, starts_at,
    starts_at, 1, {false}, NULL, {empty}, CASE WHEN record_kind IS NULL OR record_id IS NULL
    THEN {empty} ELSE {related} END, {empty}, NULL, source, COALESCE(ends_at, starts_at),
    {nothing}
FROM crm_schedules
"""
_LINKS = """
INSERT INTO crm_record_links (source_kind, source_id, target_kind, target_id)
SELECT 'schedule', id, record_kind, record_id FROM crm_schedules
WHERE record_kind IS NOT NULL AND record_id IS NOT NULL
"""
_BACK = """
INSERT INTO crm_schedules (id, owner_id, title, starts_at, ends_at, record_kind, record_id,
    source)
SELECT e.id, e.owner_id, e.title, e.starts_at, NULL, l.target_kind, l.target_id, e.source
FROM crm_calendar_events e
LEFT JOIN crm_record_links l ON l.source_kind = 'schedule' AND l.source_id = e.id
WHERE e.source = 'followup'
"""


def _text(length: int | None = None) -> sa.types.TypeEngine[str]:
    """Text compared by code point: collation "C" on PostgreSQL (as 0001 made it)."""
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        literals = {"false": "false", "empty": "'[]'::jsonb", "nothing": "'{}'::jsonb",
                    "related": "jsonb_build_array(jsonb_build_object('kind', record_kind, "
                               "'id', record_id))"}
    else:
        literals = {"false": "0", "empty": "'[]'", "nothing": "'{}'",
                    "related": "json_array(json_object('kind', record_kind, 'id', record_id))"}
    op.execute(_EVENTS.format(**literals))
    op.execute(_LINKS)
    op.drop_index("ix_crm_schedules_record", table_name="crm_schedules")
    op.drop_index("ix_crm_schedules_owner", table_name="crm_schedules")
    op.drop_table("crm_schedules")


def downgrade() -> None:
    """The table again, holding the follow-ups' events (later edits of them are lost: the
    old entries had no end, participants or repeats)."""
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
    op.create_index("ix_crm_schedules_owner", "crm_schedules", ["owner_id", "starts_at"],
                    unique=False)
    op.create_index("ix_crm_schedules_record", "crm_schedules", ["record_kind", "record_id"],
                    unique=False)
    op.execute(_BACK)
