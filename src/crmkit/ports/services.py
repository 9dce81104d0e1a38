"""Small ports: clock, id generator, notifier, file store, org directory."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

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
