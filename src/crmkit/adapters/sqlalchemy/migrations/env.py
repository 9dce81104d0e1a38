"""Alembic environment of crmkit's own revisions: run on the connection the caller hands in
(``config.attributes["connection"]``), version kept in ``crmkit_alembic_version``."""

from __future__ import annotations

from alembic import context

from crmkit.adapters.sqlalchemy.schema import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("crmkit migrations run through crmkit.adapters.sqlalchemy.migrations "
                       "(upgrade/downgrade) or `crmkit db`, with a connection")
context.configure(connection=connection, version_table=VERSION_TABLE,
                  transaction_per_migration=False)
with context.begin_transaction():
    context.run_migrations()
