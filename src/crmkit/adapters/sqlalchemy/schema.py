"""The state of crmkit's schema in a database: create it, stamp it, check it.

- A fresh database gets every table (``metadata.create_all``), the org-version row and the
  migration stamp :data:`SCHEMA_REVISION` in :data:`VERSION_TABLE` — the same state as
  ``crmkit db upgrade`` (crmkit's Alembic revisions) produces, without needing Alembic.
- A database at an older revision is never patched here: :func:`create_schema` and
  :func:`check_schema` refuse with :class:`SchemaError` naming ``crmkit db upgrade``.
- A database with crmkit's tables but no stamp (built by a crmkit before migrations) gets any
  missing table and the stamp; one without crmkit's tables is fresh, whatever a leftover stamp
  says.
- :func:`check_schema` never writes (``crmkit sweep`` on a mistyped URL creates nothing).
"""

from __future__ import annotations

import warnings

from sqlalchemy import Column, Connection, String, Table, delete, insert, inspect, select
from sqlalchemy.exc import DBAPIError

from crmkit.adapters.sqlalchemy.tables import (
    TRIGRAM_EXTENSION,
    has_trigrams,
    metadata,
    org_meta,
)

__all__ = [
    "SCHEMA_REVISION",
    "VERSION_TABLE",
    "SchemaError",
    "check_schema",
    "create_schema",
    "install_trigrams",
    "is_crmkit_table",
    "schema_revision",
    "search_trigrams_too",
]

VERSION_TABLE = "crmkit_alembic_version"
"""crmkit's own Alembic version table (a host's ``alembic_version`` stays the host's)."""

SCHEMA_REVISION = "0011_campaigns"
"""The head of crmkit's revisions (``migrations/versions``); a new revision moves it."""

_version = Table(VERSION_TABLE, metadata.__class__(),
                 Column("version_num", String(32), primary_key=True))


class SchemaError(RuntimeError):
    """The database has no crmkit schema, or one at another revision than this crmkit's."""


def is_crmkit_table(name: str) -> bool:
    return name in metadata.tables or name == VERSION_TABLE


def schema_revision(conn: Connection) -> str | None:
    """The stamped revision; None when the database has no stamp."""
    if not inspect(conn).has_table(VERSION_TABLE):
        return None
    return conn.execute(select(_version.c.version_num)).scalar()


def _has_tables(conn: Connection) -> bool:
    return inspect(conn).has_table(org_meta.name)


def _outdated(revision: str) -> SchemaError:
    return SchemaError(f"the crmkit schema is at revision {revision}, this crmkit needs "
                       f"{SCHEMA_REVISION}: run `crmkit db upgrade --url …`")


def create_schema(conn: Connection) -> None:
    """Create (fresh database) or complete (unstamped old one) crmkit's schema and stamp it.

    A database without crmkit's tables is fresh whatever a leftover stamp says (tables dropped
    by hand or by a test): it gets the whole schema and the current stamp."""
    revision = schema_revision(conn)
    fresh = not _has_tables(conn)
    if revision is not None and revision != SCHEMA_REVISION and not fresh:
        raise _outdated(revision)
    install_trigrams(conn)
    metadata.create_all(conn)
    if conn.execute(select(org_meta.c.id).where(org_meta.c.id == 1)).first() is None:
        conn.execute(insert(org_meta).values(id=1, value=0))
    if revision != SCHEMA_REVISION:
        _version.create(conn, checkfirst=True)
        conn.execute(delete(_version))
        conn.execute(insert(_version).values(version_num=SCHEMA_REVISION))


def install_trigrams(conn: Connection) -> bool:
    """PostgreSQL: ``CREATE EXTENSION IF NOT EXISTS pg_trgm`` (the keyword search indexes,
    :func:`~crmkit.adapters.sqlalchemy.tables.search_index`), in a savepoint; False — and a
    warning — when the server lacks the extension or the role may not create it, and keyword
    search runs without those indexes. Other databases: False, nothing to do."""
    if conn.dialect.name != "postgresql":
        return False
    if has_trigrams(conn):
        return True
    try:
        with conn.begin_nested():
            conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {TRIGRAM_EXTENSION}")
    except DBAPIError as err:
        problem = str(err.orig)
    else:
        if has_trigrams(conn):
            return True
        problem = "installed in a schema outside the search_path"
    warnings.warn(f"crmkit: no {TRIGRAM_EXTENSION} ({problem}); keyword search works "
                  "without its indexes (a scan)", stacklevel=2)
    return False


def search_trigrams_too(conn: Connection) -> None:
    """PostgreSQL: install ``pg_trgm`` when missing and search the schema it lives in for the
    rest of this transaction (``SET LOCAL search_path``), so DDL naming its operator class —
    the keyword search indexes, created by a host's own migration or into a schema whose
    ``search_path`` leaves the extension out — can run. An index keeps its operator class
    whatever the path is later."""
    conn.exec_driver_sql(f"CREATE EXTENSION IF NOT EXISTS {TRIGRAM_EXTENSION}")
    where = conn.exec_driver_sql(
        "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
        "WHERE e.extname = %(name)s", {"name": TRIGRAM_EXTENSION}).scalar_one()
    current = conn.exec_driver_sql("SELECT current_schema()").scalar_one()
    conn.exec_driver_sql(f'SET LOCAL search_path TO "{current}", "{where}"')


def check_schema(conn: Connection) -> None:
    """Refuse a database without crmkit's schema or at another revision; writes nothing."""
    revision = schema_revision(conn)
    if revision is None and not _has_tables(conn):
        raise SchemaError("no crmkit schema in this database (wrong URL?); create it with "
                          "`crmkit db upgrade --url …`")
    if revision is not None and revision != SCHEMA_REVISION:
        raise _outdated(revision)
