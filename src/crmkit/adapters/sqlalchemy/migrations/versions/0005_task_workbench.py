"""任务 Tasks' workbench: comments on records, related-record links, tags and placements.

Revision ID: 0005_task_workbench
Revises: 0004_tasks
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_task_workbench"
down_revision = "0004_tasks"
branch_labels = None
depends_on = None

# _text repeats 0001's on purpose: a migration keeps the types it was written with, whatever
# later revisions or the current tables say.


def _text(length: int | None = None) -> sa.types.TypeEngine[str]:
    """Text compared by code point: collation "C" on PostgreSQL (``tables.code_point_string``)."""
    if length is None:
        return sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    return sa.String(length=length).with_variant(
        sa.String(length=length, collation="C"), "postgresql"
    )


def upgrade() -> None:
    op.create_table(
        "crm_comments",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("record_kind", _text(64), nullable=False),
        sa.Column("record_id", _text(64), nullable=False),
        sa.Column("author_id", _text(64), nullable=False),
        sa.Column("content", _text(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reply_to_id", _text(64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_comments")),
    )
    op.create_index("ix_crm_comments_record", "crm_comments",
                    ["record_kind", "record_id", "at", "id"], unique=False)
    op.create_table(
        "crm_record_links",
        sa.Column("source_kind", _text(64), nullable=False),
        sa.Column("source_id", _text(64), nullable=False),
        sa.Column("target_kind", _text(64), nullable=False),
        sa.Column("target_id", _text(64), nullable=False),
        sa.PrimaryKeyConstraint("source_kind", "source_id", "target_kind", "target_id",
                                name=op.f("pk_crm_record_links")),
    )
    op.create_index("ix_crm_record_links_target", "crm_record_links",
                    ["target_kind", "target_id", "source_kind"], unique=False)
    op.create_table(
        "crm_tags",
        sa.Column("id", _text(64), nullable=False),
        sa.Column("owner_id", _text(64), nullable=False),
        sa.Column("name", _text(200), nullable=False),
        sa.Column("colour", _text(7), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_crm_tags")),
    )
    op.create_index("ix_crm_tags_owner", "crm_tags", ["owner_id", "name"], unique=False)
    op.create_table(
        "crm_task_placements",
        sa.Column("user_id", _text(64), nullable=False),
        sa.Column("task_id", _text(64), nullable=False),
        sa.Column("bucket", _text(16), nullable=False),
        sa.Column("order_key", _text(200), nullable=False),
        sa.PrimaryKeyConstraint("user_id", "task_id", name=op.f("pk_crm_task_placements")),
    )
    op.create_index("ix_crm_task_placements_user", "crm_task_placements",
                    ["user_id", "bucket", "order_key"], unique=False)
    op.create_index("ix_crm_task_placements_task", "crm_task_placements", ["task_id"],
                    unique=False)


def downgrade() -> None:
    op.drop_index("ix_crm_task_placements_task", table_name="crm_task_placements")
    op.drop_index("ix_crm_task_placements_user", table_name="crm_task_placements")
    op.drop_table("crm_task_placements")
    op.drop_index("ix_crm_tags_owner", table_name="crm_tags")
    op.drop_table("crm_tags")
    op.drop_index("ix_crm_record_links_target", table_name="crm_record_links")
    op.drop_table("crm_record_links")
    op.drop_index("ix_crm_comments_record", table_name="crm_comments")
    op.drop_table("crm_comments")
