"""Sent reminder keys in ``crm_sent_reminders``
(:class:`~crmkit.ports.reminders.SentReminderRepository`).

``record`` is one ``INSERT … ON CONFLICT (key) DO NOTHING RETURNING key``, sent as a few
multi-row statements (SQLAlchemy's insertmanyvalues): the keys come back only from the
transaction that inserted them. On PostgreSQL a second transaction
inserting the same key waits on the primary key until the first commits (then skips it) or
rolls back (then takes it) — so two scans at once never both send a reminder. Keys go in sorted
order, so scans recording overlapping keys never deadlock.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import Connection, select

from crmkit.adapters.sqlalchemy.base import dialect_insert
from crmkit.adapters.sqlalchemy.scope import in_key_set
from crmkit.adapters.sqlalchemy.tables import sent_reminders


class SqlSentReminders:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def record(self, sent: Sequence[tuple[str, date]], at: datetime) -> set[str]:
        # In key order: two transactions recording overlapping keys take the key locks in the
        # same order, so one waits for the other instead of both deadlocking.
        rows = [{"key": key, "due": due, "sent_at": at}
                for key, due in sorted(dict(sent).items())]
        if not rows:
            return set()
        statement = (dialect_insert(self._conn, sent_reminders)
                     .on_conflict_do_nothing(index_elements=["key"])
                     .returning(sent_reminders.c.key))
        return set(self._conn.execute(statement, rows).scalars())

    def sent(self, keys: Sequence[str]) -> set[str]:
        if not keys:
            return set()
        column = sent_reminders.c.key
        return set(self._conn.execute(select(column).where(in_key_set(column, keys))).scalars())
