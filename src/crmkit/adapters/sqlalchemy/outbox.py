"""The notification outbox in the database (通知发件箱): the default notifier of ``build_crm``.

- ``send`` appends the notifications of a committed operation to ``crm_outbox`` (one INSERT);
  they survive restarts until the host marks them delivered and prunes them.
- Several workers drain it without double delivery: ``claim`` picks pending rows with
  ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (a row another worker is claiming is skipped, not
  waited for) and leases them until ``claimed_until``; on SQLite the claim runs under the
  database's single write lock. A lease that ends without ``mark_delivered`` (a worker died)
  makes its rows pending again.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import RowMapping, Select, delete, func, insert, or_, select, update

from crmkit.adapters.sqlalchemy.storage import SqlStorage
from crmkit.adapters.sqlalchemy.tables import outbox
from crmkit.entities import Notification
from crmkit.ports import Clock, OutboxMessage


def _message(row: RowMapping) -> OutboxMessage:
    notification = Notification(row["recipient_id"], row["kind"], row["title_zh"],
                                row["title_en"], row["record_kind"], row["record_id"],
                                row["data"])
    return OutboxMessage(row["id"], notification, row["created_at"], row["delivered_at"],
                         row["read_at"])


class SqlOutbox:
    """:class:`~crmkit.ports.Outbox` and :class:`~crmkit.ports.Inbox` over ``crm_outbox`` of
    ``storage``; a user's messages are read through the ``(recipient_id, id)`` index."""

    def __init__(self, storage: SqlStorage, clock: Clock) -> None:
        self._storage = storage
        self._clock = clock

    def send(self, notifications: Sequence[Notification]) -> None:
        if not notifications:
            return
        now = self._clock.now()
        rows = [{"recipient_id": n.recipient_id, "kind": n.kind, "title_zh": n.title_zh,
                 "title_en": n.title_en, "record_kind": n.record_kind, "record_id": n.record_id,
                 "data": dict(n.data), "created_at": now, "claimed_until": None,
                 "delivered_at": None, "read_at": None} for n in notifications]
        with self._storage.transaction() as uow:
            uow.connection.execute(insert(outbox), rows)

    @staticmethod
    def _available(columns: Any, now: datetime, limit: int) -> Select[Any]:
        """Undelivered rows no live lease holds, oldest first."""
        return (select(columns)
                .where(outbox.c.delivered_at.is_(None),
                       or_(outbox.c.claimed_until.is_(None), outbox.c.claimed_until <= now))
                .order_by(outbox.c.id).limit(limit))

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        with self._storage.transaction() as uow:
            rows = uow.connection.execute(
                self._available(outbox, self._clock.now(), limit)).mappings()
            return [_message(row) for row in rows]

    def claim(self, limit: int = 100, lease_seconds: float = 300) -> list[OutboxMessage]:
        now = self._clock.now()
        chosen = self._available(outbox.c.id, now, limit).with_for_update(skip_locked=True)
        with self._storage.transaction() as uow:
            rows = uow.connection.execute(
                update(outbox).where(outbox.c.id.in_(chosen.scalar_subquery()))
                .values(claimed_until=now + timedelta(seconds=lease_seconds))
                .returning(*outbox.c)).mappings()
            return sorted((_message(row) for row in rows), key=lambda m: m.id)

    def mark_delivered(self, ids: Sequence[int]) -> int:
        wanted = sorted(set(ids))
        if not wanted:
            return 0
        with self._storage.transaction() as uow:
            result = uow.connection.execute(
                update(outbox).where(outbox.c.id.in_(wanted), outbox.c.delivered_at.is_(None))
                .values(delivered_at=self._clock.now(), claimed_until=None))
            return int(result.rowcount)

    def inbox(self, user_id: str, *, unread_only: bool = False, before: int | None = None,
              limit: int = 50) -> list[OutboxMessage]:
        statement = select(outbox).where(outbox.c.recipient_id == user_id)
        if unread_only:
            statement = statement.where(outbox.c.read_at.is_(None))
        if before is not None:
            statement = statement.where(outbox.c.id < before)
        with self._storage.transaction() as uow:
            rows = uow.connection.execute(
                statement.order_by(outbox.c.id.desc()).limit(limit)).mappings()
            return [_message(row) for row in rows]

    def unread_count(self, user_id: str) -> int:
        with self._storage.transaction() as uow:
            return int(uow.connection.execute(
                select(func.count()).select_from(outbox)
                .where(outbox.c.recipient_id == user_id, outbox.c.read_at.is_(None))).scalar_one())

    def mark_read(self, user_id: str, ids: Sequence[int] | None, at: datetime) -> int:
        statement = update(outbox).where(outbox.c.recipient_id == user_id,
                                         outbox.c.read_at.is_(None))
        if ids is not None:
            wanted = sorted({i for i in ids if isinstance(i, int)})
            if not wanted:
                return 0
            statement = statement.where(outbox.c.id.in_(wanted))
        with self._storage.transaction() as uow:
            return int(uow.connection.execute(statement.values(read_at=at)).rowcount)

    def prune(self, before: datetime) -> int:
        with self._storage.transaction() as uow:
            result = uow.connection.execute(
                delete(outbox).where(outbox.c.delivered_at < before))
            return int(result.rowcount)
