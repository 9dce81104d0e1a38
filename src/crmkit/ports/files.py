"""The file store port: attachment bytes kept under keys the store chooses."""

from __future__ import annotations

from typing import Protocol

import attrs


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
