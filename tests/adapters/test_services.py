"""Our small adapters pass the shipped contract suites."""

from __future__ import annotations

from pathlib import Path

import pytest

from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.files import LocalFileStore, MemoryFileStore
from crmkit.adapters.ids import SequentialIds, UUID7Ids
from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.org_directory import StorageOrgDirectory
from crmkit.entities import Notification
from crmkit.ports import FileStore, Notifier, OrgDirectory
from crmkit.testing import FileStoreContract, NotifierContract, OrgDirectoryContract
from crmkit.testing.storage import sample_department, sample_user


class TestMemoryFileStore(FileStoreContract):
    def make_store(self) -> FileStore:
        return MemoryFileStore()


class TestLocalFileStore(FileStoreContract):
    @pytest.fixture(autouse=True)
    def _root(self, tmp_path: Path) -> None:
        self.root = tmp_path / "files"

    def make_store(self) -> FileStore:
        return LocalFileStore(self.root)

    def test_blobs_stay_under_the_root(self) -> None:
        store = LocalFileStore(self.root)
        stored = store.put("x.txt", b"hello", "text/plain")
        files = [p for p in self.root.rglob("*") if p.is_file()]
        assert files == [self.root / stored.key[:2] / stored.key]


class TestOutboxNotifier(NotifierContract):
    def make_notifier(self) -> Notifier:
        return OutboxNotifier()

    def delivered(self, notifier: Notifier, recipient_id: str) -> list[Notification]:
        assert isinstance(notifier, OutboxNotifier)
        return notifier.for_user(recipient_id)


class TestMemoryOrgDirectory(OrgDirectoryContract):
    def make_directory(self) -> OrgDirectory:
        storage = MemoryStorage()
        with storage.transaction() as uow:
            uow.departments.add(sample_department("d1"))
            uow.departments.add(sample_department("d2", "d1"))
            uow.users.add(sample_user("u1", "13800000001", "d1"))
            uow.users.add(sample_user("u2", "13800000002", "d2", supervisor_id="u1"))
            uow.bump_org_version()
        return StorageOrgDirectory(storage)


def test_ids_are_unique_and_ordered() -> None:
    for gen in (UUID7Ids(), SequentialIds("x")):
        ids = [gen.new_id() for _ in range(2000)]
        assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_fixed_clock_needs_timezone_and_moves() -> None:
    from datetime import UTC, datetime

    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    assert clock.advance(days=1) == datetime(2026, 1, 2, tzinfo=UTC) == clock.now()
