"""The reference memory adapter runs the storage contract."""

from __future__ import annotations

from crmkit.adapters.memory import MemoryStorage
from crmkit.ports import Storage
from crmkit.testing import StorageContract


class TestMemoryStorage(StorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()
