"""Id generators: time-ordered UUIDv7 ids, and readable sequential ids for tests."""

from __future__ import annotations

import os
import threading
import time

__all__ = ["SequentialIds", "UUID7Ids"]


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
