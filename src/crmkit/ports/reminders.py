"""Storage port of the reminder scan (提醒): which reminders were sent already.

Rules every adapter keeps (``crmkit.testing.ReminderStorageContract`` checks them):
- ``record(sent, at)`` stores each ``(key, due)`` whose key is not stored yet, stamped ``at``,
  and returns exactly the keys it stored. Under concurrent transactions a key is returned to one
  of them only (on PostgreSQL the other waits for the first to commit, then gets nothing; a
  rolled-back transaction gives its keys back) — so a reminder goes out once, however many
  scans run at the same time. Set-based: one statement per batch of keys.
- ``sent(keys)`` tells which of ``keys`` are stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Protocol


class SentReminderRepository(Protocol):
    def record(self, sent: Sequence[tuple[str, date]], at: datetime) -> set[str]:
        """Store the new ``(key, due)`` pairs; return the keys stored by this call."""
        ...

    def sent(self, keys: Sequence[str]) -> set[str]:
        """The keys among ``keys`` stored already."""
        ...
