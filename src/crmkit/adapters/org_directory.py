"""An :class:`~crmkit.ports.OrgDirectory` over any crmkit Storage (one transaction per read)."""

from __future__ import annotations

from crmkit.entities import OrgSnapshot
from crmkit.ports import Storage

__all__ = [
    "StorageOrgDirectory",
]


class StorageOrgDirectory:
    """Reads the org from crmkit's own tables; for hosts that keep employees in crmkit."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    def org_version(self) -> int:
        with self._storage.transaction() as uow:
            return uow.org_version()

    def org_snapshot(self) -> OrgSnapshot:
        with self._storage.transaction() as uow:
            return uow.org_snapshot()
