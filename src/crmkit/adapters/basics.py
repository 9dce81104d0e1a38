"""Default small adapters: system/fixed clocks, time-ordered ids, the in-memory outbox of
``CRM()`` and a logging notifier."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from crmkit.entities import Notification
from crmkit.ports import Clock, OutboxMessage

__all__ = [
    "FixedClock",
    "LoggingNotifier",
    "OutboxNotifier",
    "SequentialIds",
    "SystemClock",
    "UUID7Ids",
]

_log = logging.getLogger("crmkit.notifications")


class SystemClock:
    """The real time, in UTC (aware)."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock tests move by hand: ``set`` and ``advance``."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FixedClock needs a timezone-aware datetime")
        self._now = start

    def now(self) -> datetime:
        return self._now

    def set(self, when: datetime) -> None:
        self._now = when

    def advance(self, **delta: float) -> datetime:
        self._now += timedelta(**delta)
        return self._now


class UUID7Ids:
    """UUIDv7 (RFC 9562): 48-bit milliseconds + 74 random bits; strictly increasing per process.

    Random bytes are read from the OS in blocks and ids are formatted directly (no ``uuid.UUID``
    object), so a batch of 300,000 ids costs well under a second.
    """

    _BLOCK = 10 * 4096

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0
        self._random = b""
        self._offset = 0

    def _bits(self) -> int:
        if self._offset + 10 > len(self._random):
            self._random, self._offset = os.urandom(self._BLOCK), 0
        chunk = self._random[self._offset:self._offset + 10]
        self._offset += 10
        return int.from_bytes(chunk, "big") & ((1 << 74) - 1)

    def new_id(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            rand = self._bits()
            value = (ms << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62)
            value |= rand & ((1 << 62) - 1)
            if value <= self._last:
                value = self._last + 1
            self._last = value
            text = f"{value:032x}"
            return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


class SequentialIds:
    """Readable, ordered ids for tests and examples: ``<prefix>000001``, ``<prefix>000002`` …"""

    def __init__(self, prefix: str = "id") -> None:
        self._prefix = prefix
        self._next = 0
        self._lock = threading.Lock()

    def new_id(self) -> str:
        with self._lock:
            self._next += 1
            return f"{self._prefix}{self._next:08d}"


class OutboxNotifier:
    """The in-memory :class:`~crmkit.ports.Outbox` of ``CRM()`` (tests, demos): every sent
    notification stays in ``sent`` until pruned; lost when the process ends."""

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
                    self._messages[message_id] = OutboxMessage(
                        message.id, message.notification, message.created_at, now)
                    self._claimed.pop(message_id, None)
                    marked += 1
            return marked

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
