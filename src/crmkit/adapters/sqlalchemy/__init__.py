"""SQLAlchemy Core adapter: storage on SQLite and PostgreSQL, and the SQL scope interpreter.

Importing this package loads SQLAlchemy (not a database driver); PostgreSQL needs the
``postgres`` extra (``pip install 'crmkit[postgres]'``).
"""

from crmkit.adapters.sqlalchemy.querying import QueryCompiler
from crmkit.adapters.sqlalchemy.records import RECORD_TABLES, RecordTable
from crmkit.adapters.sqlalchemy.scope import scope_clause
from crmkit.adapters.sqlalchemy.storage import (
    SqlStorage,
    SqlUnitOfWork,
    configure_sqlite,
    make_engine,
)
from crmkit.adapters.sqlalchemy.tables import metadata

__all__ = [
    "RECORD_TABLES",
    "QueryCompiler",
    "RecordTable",
    "SqlStorage",
    "SqlUnitOfWork",
    "configure_sqlite",
    "make_engine",
    "metadata",
    "scope_clause",
]
