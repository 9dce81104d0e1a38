"""Contracts for the small ports: file store, notifier, org directory."""

from __future__ import annotations

import hashlib

import pytest

from crmkit.entities import Notification
from crmkit.errors import NotFound, ValidationError
from crmkit.ports import FileStore, Notifier, OrgDirectory


class FileStoreContract:
    """Subclass and implement ``make_store`` returning an empty store."""

    def make_store(self) -> FileStore:
        raise NotImplementedError

    @pytest.fixture
    def store(self) -> FileStore:
        return self.make_store()

    def test_put_get_delete(self, store: FileStore) -> None:
        data = "合同扫描件".encode() * 100
        stored = store.put("合同.pdf", data, "application/pdf")
        assert stored.size == len(data)
        assert stored.sha256 == hashlib.sha256(data).hexdigest()
        assert (stored.name, stored.content_type) == ("合同.pdf", "application/pdf")
        assert store.get(stored.key) == data
        store.delete(stored.key)
        store.delete(stored.key)
        with pytest.raises(NotFound):
            store.get(stored.key)

    def test_keys_are_chosen_by_the_store_and_distinct(self, store: FileStore) -> None:
        a = store.put("a.txt", b"1", "text/plain")
        b = store.put("a.txt", b"2", "text/plain")
        assert a.key != b.key
        assert (store.get(a.key), store.get(b.key)) == (b"1", b"2")

    @pytest.mark.parametrize(
        "key", ["../../etc/passwd", "/etc/passwd", "..", "", "a/../../b", "%2e%2e%2fetc"]
    )
    def test_hostile_keys_are_not_found(self, store: FileStore, key: str) -> None:
        with pytest.raises(NotFound):
            store.get(key)

    def test_a_real_key_with_anything_around_it_is_not_found(self, store: FileStore) -> None:
        key = store.put("a.txt", b"1", "text/plain").key
        for hostile in (key + "\n", key + "x", " " + key, key.upper(), key[:-1]):
            with pytest.raises(NotFound):
                store.get(hostile)
            store.delete(hostile)
        assert store.get(key) == b"1"

    @pytest.mark.parametrize("name", ["", "../x.txt", "a/b.txt", "..", "a\\b", "a\r\nb.pdf",
                                      "a\x00.pdf", "invoice\u202efdp.exe", "x" * 256])
    def test_hostile_names_are_rejected(self, store: FileStore, name: str) -> None:
        with pytest.raises(ValidationError):
            store.put(name, b"x", "text/plain")


class NotifierContract:
    """Subclass and implement ``make_notifier`` and ``delivered`` (what reached the recipient)."""

    def make_notifier(self) -> Notifier:
        raise NotImplementedError

    def delivered(self, notifier: Notifier, recipient_id: str) -> list[Notification]:
        raise NotImplementedError

    def test_delivers_in_order_to_each_recipient(self) -> None:
        notifier = self.make_notifier()
        first = Notification("u1", "test", "第一", "first")
        second = Notification("u1", "test", "第二", "second", "user", "u2", {"n": 2})
        other = Notification("u2", "test", "别人", "other")
        notifier.send([first, other])
        notifier.send([second])
        notifier.send([])
        assert self.delivered(notifier, "u1") == [first, second]
        assert self.delivered(notifier, "u2") == [other]


class OrgDirectoryContract:
    """Subclass and implement ``make_directory`` returning a directory with some org in it."""

    def make_directory(self) -> OrgDirectory:
        raise NotImplementedError

    def test_snapshot_is_consistent(self) -> None:
        directory = self.make_directory()
        snap = directory.org_snapshot()
        assert snap.version == directory.org_version()
        units = {u.id: u.parent_id for u in snap.units}
        assert len(units) == len(snap.units), "department ids are unique"
        assert sum(1 for p in units.values() if p is None) == 1, "exactly one top department"
        for unit_id in units:
            seen: set[str] = set()
            current: str | None = unit_id
            while current is not None:
                assert current not in seen, f"department cycle through {current}"
                assert current in units, f"unknown parent department {current}"
                seen.add(current)
                current = units[current]
        members = {m.id: m for m in snap.members}
        assert len(members) == len(snap.members), "user ids are unique"
        for member in snap.members:
            assert member.department_id in units
            seen = set()
            boss: str | None = member.supervisor_id
            while boss is not None:
                assert boss in members, f"unknown supervisor {boss}"
                assert boss not in seen and boss != member.id, "supervisor cycle"
                seen.add(boss)
                boss = members[boss].supervisor_id
