"""The notifier port and the outbox a host drains."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from crmkit.entities import Notification


class Notifier(Protocol):
    def send(self, notifications: Sequence[Notification]) -> None:
        """Deliver notifications (called after the operation that queued them committed)."""
        ...


@attrs.frozen
class OutboxMessage:
    """A notification waiting in (or delivered from) an outbox; ``id`` orders the queue."""

    id: int
    notification: Notification
    created_at: datetime
    delivered_at: datetime | None = None


@runtime_checkable
class Outbox(Notifier, Protocol):
    """A notifier the host drains: it reads pending messages, delivers them its own way (mail,
    app push), marks them delivered and prunes old ones.

    - ``pending(limit)``: undelivered messages, oldest first, except those a worker holds.
    - ``claim(limit, lease_seconds)``: for several workers: up to ``limit`` pending messages,
      each handed to one caller only; they come back to ``pending``/``claim`` if not marked
      delivered before the lease ends (a worker that died).
    - ``mark_delivered(ids)``: stamp them delivered; returns how many were still undelivered.
    - ``prune(before)``: delete messages delivered before ``before``; returns how many.
    """

    def pending(self, limit: int = 100) -> list[OutboxMessage]: ...
    def claim(self, limit: int = 100, lease_seconds: float = 300) -> list[OutboxMessage]: ...
    def mark_delivered(self, ids: Sequence[int]) -> int: ...
    def prune(self, before: datetime) -> int: ...
