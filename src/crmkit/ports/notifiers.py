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
    read_at: datetime | None = None
    """When the recipient marked it read (:class:`Inbox`); None while unread."""


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


@runtime_checkable
class Inbox(Protocol):
    """The notifications of each user, kept for the host to show (通知中心): read per user and
    marked read by their recipient. Independent of delivery (``mark_delivered``).

    - ``inbox(user_id, unread_only=, before=, limit=)``: the user's messages, newest first
      (by id, descending); ``before`` is the id of the last message of the previous page.
    - ``unread_count(user_id)``: how many of the user's messages are unread.
    - ``mark_read(user_id, ids)``: stamp the user's unread messages among ``ids`` (all of
      them when ``ids`` is None) read at ``at``; another user's ids are left alone. Returns how
      many changed.
    """

    def inbox(self, user_id: str, *, unread_only: bool = False, before: int | None = None,
              limit: int = 50) -> list[OutboxMessage]: ...
    def unread_count(self, user_id: str) -> int: ...
    def mark_read(self, user_id: str, ids: Sequence[int] | None, at: datetime) -> int: ...
