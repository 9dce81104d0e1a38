"""The safety net that needs no Alembic: a change to crmkit's tables (columns, types,
nullability, keys, indexes, constraints) fails here until it has a migration revision.

``HEAD_SCHEMA`` pairs the head revision with a fingerprint of the tables it creates. When this
fails: add a revision in ``adapters/sqlalchemy/migrations/versions/`` (docs/embedding.md,
"Adding a revision"), move ``SCHEMA_REVISION`` to it, then put both new values here;
``test_migrations.py`` (with Alembic, as in CI) then proves the revision builds exactly these
tables."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from sqlalchemy.dialects import sqlite

from crmkit.adapters.sqlalchemy import metadata
from crmkit.adapters.sqlalchemy.schema import SCHEMA_REVISION

from .conftest import postgresql_dialect

HEAD_SCHEMA = ("0011_campaigns", "cebae7b36a8b2cbd")


def _fingerprint() -> str:
    """A digest of every table as both databases see it."""
    shape = []
    for table in sorted(metadata.tables.values(), key=lambda t: t.name):
        shape.append({
            "table": table.name,
            "columns": [[c.name, str(c.type.compile(sqlite.dialect())),
                         str(c.type.compile(postgresql_dialect())), c.nullable, c.primary_key]
                        for c in table.c],
            "indexes": sorted([i.name or "", [c.name for c in i.columns], bool(i.unique)]
                              for i in table.indexes),
            "constraints": sorted([type(k).__name__, str(k.name or ""),
                                   sorted(c.name for c in getattr(k, "columns", ())),
                                   str(getattr(k, "sqltext", "")),
                                   sorted(f.target_fullname for f in getattr(k, "elements", ()))]
                                  for k in table.constraints),
        })
    return hashlib.sha256(json.dumps(shape, sort_keys=True).encode()).hexdigest()[:16]


def test_the_tables_are_those_of_the_head_revision() -> None:
    assert (SCHEMA_REVISION, _fingerprint()) == HEAD_SCHEMA, (
        "crmkit's tables changed: add a migration revision (docs/embedding.md#migrations), "
        "move SCHEMA_REVISION to it, then update HEAD_SCHEMA in this test")


def test_schema_revision_is_the_last_shipped_revision() -> None:
    import crmkit.adapters.sqlalchemy.migrations as migrations

    versions = Path(migrations.__file__).parent / "versions"
    revisions = {}
    for script in versions.glob("*.py"):
        text = script.read_text(encoding="utf-8")
        [revision] = re.findall(r'^revision = "([^"]+)"', text, re.M)
        [down] = re.findall(r"^down_revision = (.+)$", text, re.M)
        revisions[revision] = down.strip().strip('"')
    assert SCHEMA_REVISION in revisions
    assert SCHEMA_REVISION not in revisions.values(), "a newer revision revises it"
