"""Small ports: clock, id generator, notifier and outbox, file store, org directory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, runtime_checkable

import attrs

from crmkit.entities import Notification, OrgSnapshot


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class IdGenerator(Protocol):
    def new_id(self) -> str:
        """A new unique id; ids of one generator sort in creation order."""
        ...


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


@attrs.frozen
class StoredFile:
    """What the file store knows about one stored blob."""

    key: str
    name: str
    size: int
    content_type: str
    sha256: str


class FileStore(Protocol):
    def put(self, name: str, data: bytes, content_type: str) -> StoredFile:
        """Store bytes under a new key chosen by the store (never by the caller)."""
        ...

    def get(self, key: str) -> bytes:
        """The bytes stored under ``key``; ``NotFound`` for an unknown or malformed key."""
        ...

    def delete(self, key: str) -> None:
        """Remove the blob (no error if already gone)."""
        ...


class OrgDirectory(Protocol):
    """Who works where: a host with its own employee tables implements this over them."""

    def org_version(self) -> int:
        """Changes whenever departments, users or supervisors change."""
        ...

    def org_snapshot(self) -> OrgSnapshot: ...
