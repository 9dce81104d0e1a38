"""crmkit's own versioned schema migrations (Alembic: ``pip install 'crmkit[migrations]'``).

- The revisions live in ``versions/``, one file each, oldest first; their head is
  :data:`crmkit.adapters.sqlalchemy.schema.SCHEMA_REVISION`, which ``create_schema()`` stamps on
  a fresh database (a test keeps the two, and the tables, equal).
- The applied revision is kept in its own table, :data:`VERSION_TABLE`
  (``crmkit_alembic_version``), so a host's own Alembic (``alembic_version``) never sees it.
- :func:`upgrade`, :func:`downgrade` and :func:`current` take an ``Engine``, a URL or a
  ``Connection`` (a host's env.py passes its own, inside its own transaction).
- For a host's own autogenerate: :func:`include_object` leaves crmkit's tables out of it (they
  belong to these revisions); or, to carry them in the host's migrations instead,
  :func:`render_item` renders crmkit's column types as plain SQLAlchemy types.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import URL, Connection, Engine, inspect
from sqlalchemy.dialects.postgresql import JSONB

from crmkit.adapters.sqlalchemy.schema import (
    VERSION_TABLE,
    SchemaError,
    is_crmkit_table,
    schema_revision,
)
from crmkit.adapters.sqlalchemy.tables import ExactDecimal, UTCDateTime, org_meta

if TYPE_CHECKING:
    from alembic.autogenerate.api import AutogenContext
    from alembic.config import Config

__all__ = [
    "EXTRA_HINT",
    "SCRIPT_LOCATION",
    "VERSION_TABLE",
    "current",
    "downgrade",
    "head",
    "include_object",
    "render_item",
    "upgrade",
]

EXTRA_HINT = "crmkit migrations need Alembic: pip install 'crmkit[migrations]'"
SCRIPT_LOCATION = str(Path(__file__).parent)


def _require_alembic() -> None:
    try:
        import alembic  # noqa: F401
    except ImportError as err:
        raise ImportError(EXTRA_HINT) from err


def _alembic_config(connection: Connection | None = None) -> Config:
    _require_alembic()
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", SCRIPT_LOCATION)
    config.attributes["connection"] = connection
    return config


@contextmanager
def _host_alembic_kept() -> Iterator[None]:
    """Alembic's ``context``/``op`` module proxies point at one running environment and are
    removed when it ends: called from a host's env.py, crmkit's run would leave the host's
    ``context`` gone. Reinstall whatever the host had."""
    from alembic import context, op

    saved = [getattr(module, "_proxy", None) for module in (context, op)]
    try:
        yield
    finally:
        for proxy in saved:
            if proxy is not None:
                proxy._install_proxy()


@contextmanager
def _connection(bind: str | URL | Engine | Connection) -> Iterator[Connection]:
    """``bind`` as a connection in a transaction: a host's connection is used as it is (its
    transaction is the host's); an engine or URL gets a connection that commits at the end."""
    if isinstance(bind, Connection):
        yield bind
        return
    from crmkit.adapters.sqlalchemy.storage import make_engine

    engine = bind if isinstance(bind, Engine) else make_engine(bind)
    try:
        with engine.begin() as conn:
            yield conn
    finally:
        if not isinstance(bind, Engine):
            engine.dispose()


def head() -> str:
    """The newest revision id shipped with this crmkit."""
    _require_alembic()
    from alembic.script import ScriptDirectory

    found = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert found is not None
    return str(found)


def upgrade(bind: str | URL | Engine | Connection, revision: str = "head") -> None:
    """Apply crmkit's revisions up to ``revision`` (an empty database gets the whole schema)."""
    _require_alembic()
    from alembic import command

    with _connection(bind) as conn, _host_alembic_kept():
        config = _alembic_config(conn)
        if schema_revision(conn) is None and inspect(conn).has_table(org_meta.name):
            raise SchemaError("crmkit's tables exist without a migration stamp (made before "
                              "crmkit had migrations): open it once with build_crm(url), which "
                              "completes and stamps it")
        command.upgrade(config, revision)


def downgrade(bind: str | URL | Engine | Connection, revision: str) -> None:
    """Undo crmkit's revisions down to ``revision`` (``base``: no crmkit table left)."""
    _require_alembic()
    from alembic import command

    with _connection(bind) as conn, _host_alembic_kept():
        command.downgrade(_alembic_config(conn), revision)


def current(bind: str | URL | Engine | Connection) -> str | None:
    """The applied revision (None: crmkit's migrations never ran here)."""
    _require_alembic()
    from alembic.runtime.migration import MigrationContext

    with _connection(bind) as conn:
        context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
        revision = context.get_current_revision()
        return None if revision is None else str(revision)


def include_object(obj: Any, name: str | None, type_: str, reflected: bool,
                   compare_to: Any) -> bool:
    """For a host's ``context.configure(include_object=…)``: everything except crmkit's tables
    (and their indexes and constraints), which crmkit's own revisions manage."""
    table = obj if type_ == "table" else getattr(obj, "table", None)
    table_name = name if type_ == "table" else getattr(table, "name", None)
    return not (isinstance(table_name, str) and is_crmkit_table(table_name))


def render_item(type_: str, obj: Any, autogen_context: AutogenContext
                ) -> str | Literal[False]:
    """For a host's ``context.configure(render_item=…)`` when its own migrations carry crmkit's
    tables: crmkit's column types are written as the plain SQLAlchemy types they store as
    (``sa.Numeric(precision=20, scale=2)``, ``sa.DateTime()``), so the migration needs no crmkit
    import and stays valid whatever crmkit's types become; PostgreSQL's JSONB is written with its
    import (Alembic's own rendering names an unimported ``Text``). Anything else: Alembic's
    default."""
    if type_ != "type":
        return False
    if isinstance(obj, JSONB):
        autogen_context.imports.add("from sqlalchemy.dialects import postgresql")
        return "postgresql.JSONB()"
    if isinstance(obj, ExactDecimal):
        return f"sa.Numeric(precision={obj.precision}, scale={obj.scale})"
    if isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False
