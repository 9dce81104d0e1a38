"""Notifiers: the in-memory outbox of ``CRM()`` and a logging notifier."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime, timedelta

import attrs

from crmkit.adapters.clocks import SystemClock
from crmkit.entities import Notification
from crmkit.ports import Clock, OutboxMessage

__all__ = ["LoggingNotifier", "OutboxNotifier"]

_log = logging.getLogger("crmkit.notifications")


class OutboxNotifier:
    """The in-memory :class:`~crmkit.ports.Outbox` and :class:`~crmkit.ports.Inbox` of
    ``CRM()`` (tests, demos): every sent notification stays in ``sent`` until pruned; lost when
    the process ends."""

    def __init__(self, clock: Clock | None = None) -> None:
        self.sent: list[Notification] = []
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._messages: dict[int, OutboxMessage] = {}
        self._claimed: dict[int, datetime] = {}
        self._last_id = 0

    def send(self, notifications: Sequence[Notification]) -> None:
        with self._lock:
            now = self._clock.now()
            for notification in notifications:
                self._last_id += 1
                self._messages[self._last_id] = OutboxMessage(self._last_id, notification, now)
                self.sent.append(notification)

    def for_user(self, user_id: str) -> list[Notification]:
        return [n for n in self.sent if n.recipient_id == user_id]

    def _available(self, now: datetime, limit: int) -> list[OutboxMessage]:
        free = (m for m in self._messages.values() if m.delivered_at is None
                and self._claimed.get(m.id, now) <= now)
        return [m for _, m in zip(range(max(limit, 0)), free, strict=False)]

    def pending(self, limit: int = 100) -> list[OutboxMessage]:
        with self._lock:
            return self._available(self._clock.now(), limit)

    def claim(self, limit: int = 100, lease_seconds: float = 300) -> list[OutboxMessage]:
        with self._lock:
            now = self._clock.now()
            found = self._available(now, limit)
            for message in found:
                self._claimed[message.id] = now + timedelta(seconds=lease_seconds)
            return found

    def mark_delivered(self, ids: Sequence[int]) -> int:
        with self._lock:
            now = self._clock.now()
            marked = 0
            for message_id in set(ids):
                message = self._messages.get(message_id)
                if message is not None and message.delivered_at is None:
                    self._messages[message_id] = attrs.evolve(message, delivered_at=now)
                    self._claimed.pop(message_id, None)
                    marked += 1
            return marked

    def inbox(self, user_id: str, *, unread_only: bool = False, before: int | None = None,
              limit: int = 50) -> list[OutboxMessage]:
        with self._lock:
            mine = (m for i, m in sorted(self._messages.items(), reverse=True)
                    if m.notification.recipient_id == user_id
                    and (before is None or i < before)
                    and not (unread_only and m.read_at is not None))
            return [m for _, m in zip(range(max(limit, 0)), mine, strict=False)]

    def unread_count(self, user_id: str) -> int:
        with self._lock:
            return sum(1 for m in self._messages.values()
                       if m.notification.recipient_id == user_id and m.read_at is None)

    def mark_read(self, user_id: str, ids: Sequence[int] | None, at: datetime) -> int:
        with self._lock:
            chosen = self._messages.keys() if ids is None else set(ids) & self._messages.keys()
            marked = [i for i in chosen if self._messages[i].read_at is None
                      and self._messages[i].notification.recipient_id == user_id]
            for message_id in marked:
                self._messages[message_id] = attrs.evolve(self._messages[message_id], read_at=at)
            return len(marked)

    def prune(self, before: datetime) -> int:
        with self._lock:
            gone = [m for m in self._messages.values()
                    if m.delivered_at is not None and m.delivered_at < before]
            for message in gone:
                del self._messages[message.id]
            dropped = {id(m.notification) for m in gone}
            self.sent = [n for n in self.sent if id(n) not in dropped]
            return len(gone)


class LoggingNotifier:
    """Writes each notification to the ``crmkit.notifications`` logger."""

    def send(self, notifications: Sequence[Notification]) -> None:
        for n in notifications:
            _log.info("notify %s: %s / %s", n.recipient_id, n.title_zh, n.title_en)
