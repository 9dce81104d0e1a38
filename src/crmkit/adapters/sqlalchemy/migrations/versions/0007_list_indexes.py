"""Indexes every list needs, derived from the kind declarations (issue 14), and 搜索 indexes.

- The default sort (newest first) over all records, ``(created_at, id)``, on the kinds that
  lacked it (contacts, products, opportunities, tasks, schedules, work logs), and within
  owners' scopes,
  ``(owner_id, created_at, id)``, on products: an administrator's first page walks the index
  and stops after its rows instead of sorting the table.
- Leads: the scenes 全部 (``converted = false``) and 已转化 (``converted = true``) read
  ``(converted, created_at, id)``, which replaces the plain ``(converted)`` index.
- PostgreSQL: ``pg_trgm`` (``CREATE EXTENSION IF NOT EXISTS``, in a savepoint) and a trigram
  GIN index over ``lower(<field>)`` for each searchable field of each kind, so a keyword's
  ``lower(name) LIKE '%…%'`` is an index search. Where the extension cannot be installed the
  trigram indexes are skipped with a warning (keyword search then scans).

Revision ID: 0007_list_indexes
Revises: 0006_schedules_and_logs
Create Date: 2026-12-03
"""

from __future__ import annotations

import warnings

from alembic import op
from sqlalchemy.exc import DBAPIError

revision = "0007_list_indexes"
down_revision = "0006_schedules_and_logs"
branch_labels = None
depends_on = None

LISTING = {
    "crm_contacts": {"created": ["created_at", "id"]},
    "crm_products": {"owner_created": ["owner_id", "created_at", "id"],
                     "created": ["created_at", "id"]},
    "crm_opportunities": {"created": ["created_at", "id"]},
    "crm_tasks": {"created": ["created_at", "id"]},
    "crm_calendar_events": {"created": ["created_at", "id"]},
    "crm_work_logs": {"created": ["created_at", "id"]},
    "crm_leads": {"converted_created": ["converted", "created_at", "id"]},
}
SEARCHABLE = {
    "crm_leads": ("name", "mobile", "phone", "email"),
    "crm_customers": ("name", "mobile", "phone", "email"),
    "crm_contacts": ("name", "mobile", "phone", "email"),
    "crm_products": ("name", "code"),
    "crm_opportunities": ("name",),
    "crm_contracts": ("name", "number"),
    "crm_payments": ("number",),
    "crm_tasks": ("title",),
    "crm_calendar_events": ("title",),
}


def _visible() -> bool:
    found = op.get_bind().exec_driver_sql(
        "SELECT 1 FROM pg_opclass WHERE opcname = 'gin_trgm_ops' AND pg_opclass_is_visible(oid)")
    return found.first() is not None


def _trigrams() -> bool:
    """Whether ``pg_trgm``'s operator class is (or could be made) visible here."""
    if _visible():
        return True
    bind = op.get_bind()
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    except DBAPIError as err:
        problem = str(err.orig)
    else:
        if _visible():
            return True
        problem = "installed in a schema outside the search_path"
    warnings.warn(f"crmkit: no pg_trgm ({problem}); keyword search works without its "
                  "indexes (a scan)", stacklevel=2)
    return False


def upgrade() -> None:
    for table, indexes in LISTING.items():
        for suffix, columns in indexes.items():
            op.create_index(f"ix_{table}_{suffix}", table, columns, unique=False)
    op.drop_index("ix_crm_leads_converted", table_name="crm_leads")
    if op.get_bind().dialect.name == "postgresql" and _trigrams():
        for table, fields in SEARCHABLE.items():
            for field in fields:
                op.execute(f"CREATE INDEX ix_{table}_search_{field} ON {table} "
                           f"USING gin (lower({field}) gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table, fields in SEARCHABLE.items():
            for field in fields:
                op.execute(f"DROP INDEX IF EXISTS ix_{table}_search_{field}")
    op.create_index("ix_crm_leads_converted", "crm_leads", ["converted"], unique=False)
    for table, indexes in LISTING.items():
        for suffix in indexes:
            op.drop_index(f"ix_{table}_{suffix}", table_name=table)
