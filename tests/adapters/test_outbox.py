"""The outboxes a host drains (memory for ``CRM()``, the database one for ``build_crm``) and the
database file store: the same answers on memory, SQLite and PostgreSQL; ``build_crm`` keeps
notifications and attachment bytes across restarts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, Table, delete

from crmkit import CRM, build_crm
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.notifiers import LoggingNotifier, OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.files import SqlFileStore
from crmkit.adapters.sqlalchemy.outbox import SqlOutbox
from crmkit.adapters.sqlalchemy.tables import files, outbox
from crmkit.entities import Notification
from crmkit.ports import FileStore, Inbox, Notifier, Outbox
from crmkit.testing.services import FileStoreContract, NotifierContract

START = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)


def _note(recipient: str, n: int) -> Notification:
    return Notification(recipient, "test", f"第{n}条", f"note {n}", "lead", f"L{n}", {"n": n})


def _pg_storage(engine: Engine, table: Table) -> SqlStorage:
    """The module's PostgreSQL schema with ``table`` emptied (the only one these tests use)."""
    with engine.begin() as conn:
        conn.execute(delete(table))
    return SqlStorage(engine)


def _sqlite_storage(tmp_path: Path) -> SqlStorage:
    storage = SqlStorage(f"sqlite:///{tmp_path / 'crm.db'}")
    storage.create_schema()
    return storage


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def clocked_outbox(request: pytest.FixtureRequest, tmp_path: Path
                   ) -> Iterator[tuple[Outbox, FixedClock]]:
    clock = FixedClock(START)
    if request.param == "memory":
        yield OutboxNotifier(clock), clock
    elif request.param == "sqlite":
        yield SqlOutbox(_sqlite_storage(tmp_path), clock), clock
    else:
        yield SqlOutbox(_pg_storage(request.getfixturevalue("pg_engine"), outbox), clock), clock


def test_pending_is_oldest_first_until_marked_delivered(
        clocked_outbox: tuple[Outbox, FixedClock]) -> None:
    outbox, _ = clocked_outbox
    outbox.send([_note("u1", 1), _note("u2", 2)])
    outbox.send([_note("u1", 3)])
    pending = outbox.pending()
    assert [m.notification for m in pending] == [_note("u1", 1), _note("u2", 2), _note("u1", 3)]
    assert [m.created_at for m in pending] == [START] * 3
    assert [m.notification for m in outbox.pending(limit=2)] == [_note("u1", 1), _note("u2", 2)]
    assert outbox.mark_delivered([pending[0].id, pending[2].id, pending[0].id]) == 2
    assert outbox.mark_delivered([pending[0].id]) == 0  # already delivered: counted once
    assert [m.notification for m in outbox.pending()] == [_note("u2", 2)]


def test_prune_deletes_only_messages_delivered_before(
        clocked_outbox: tuple[Outbox, FixedClock]) -> None:
    outbox, clock = clocked_outbox
    outbox.send([_note("u1", 1), _note("u1", 2), _note("u1", 3)])
    first, second, _third = outbox.pending()
    outbox.mark_delivered([first.id])
    clock.advance(days=8)
    outbox.mark_delivered([second.id])
    assert outbox.prune(clock.now() - timedelta(days=7)) == 1
    assert outbox.prune(clock.now() + timedelta(days=1)) == 1
    assert [m.notification for m in outbox.pending()] == [_note("u1", 3)]  # never delivered


def test_claims_hand_each_message_to_one_worker_until_the_lease_ends(
        clocked_outbox: tuple[Outbox, FixedClock]) -> None:
    outbox, clock = clocked_outbox
    outbox.send([_note("u1", n) for n in range(1, 6)])
    worker_a = outbox.claim(limit=3, lease_seconds=60)
    worker_b = outbox.claim(limit=3, lease_seconds=60)
    assert [m.notification.data["n"] for m in worker_a] == [1, 2, 3]
    assert [m.notification.data["n"] for m in worker_b] == [4, 5]
    assert outbox.claim() == [] and outbox.pending() == []
    outbox.mark_delivered([m.id for m in worker_a])
    clock.advance(seconds=61)  # worker b died: its messages come back
    assert [m.notification.data["n"] for m in outbox.claim()] == [4, 5]


class TestSqlOutboxDelivers(NotifierContract):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def make_notifier(self) -> Notifier:
        return SqlOutbox(_sqlite_storage(self.tmp_path), FixedClock(START))

    def delivered(self, notifier: Notifier, recipient_id: str) -> list[Notification]:
        assert isinstance(notifier, SqlOutbox)
        return [m.notification for m in notifier.pending(1000)
                if m.notification.recipient_id == recipient_id]


class TestSqlFileStoreOnSqlite(FileStoreContract):
    @pytest.fixture(autouse=True)
    def _tmp(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path

    def make_store(self) -> FileStore:
        return SqlFileStore(_sqlite_storage(self.tmp_path))


@pytest.mark.postgres
class TestSqlFileStoreOnPostgres(FileStoreContract):
    @pytest.fixture(autouse=True)
    def _engine(self, pg_engine: Engine) -> None:
        self.engine = pg_engine

    def make_store(self) -> FileStore:
        return SqlFileStore(_pg_storage(self.engine, files))


def _setup(crm: CRM) -> tuple[str, str]:
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    lead = crm.leads.create(boss, {"name": "华为采购"})
    return boss.id, lead.id


def test_build_crm_keeps_notifications_and_attachments_across_restarts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    crm = build_crm(url)
    boss, lead = _setup(crm)
    rep = crm.org.add_user(boss, {"mobile": "13900000001", "name": "张三",
                                  "department_id": crm.org.list_departments(boss)[0].id})
    crm.leads.transfer(boss, [lead], rep.id)
    attachment = crm.attachments.add(boss, "lead", lead, "报价.pdf", b"%PDF-1", "application/pdf")

    restarted = build_crm(url)  # a new process on the same database
    assert restarted.outbox is not None
    [message] = restarted.outbox.pending()
    assert (message.notification.recipient_id, message.notification.kind) == (
        rep.id, "lead.transfer")
    assert restarted.attachments.download(boss, attachment.id)[1] == b"%PDF-1"
    assert restarted.outbox.mark_delivered([message.id]) == 1
    assert build_crm(url).outbox.pending() == []  # type: ignore[union-attr]


def test_build_crm_keeps_attachment_bytes_under_files_dir(tmp_path: Path) -> None:
    crm = build_crm(f"sqlite:///{tmp_path / 'crm.db'}", files_dir=tmp_path / "files")
    boss, lead = _setup(crm)
    attachment = crm.attachments.add(boss, "lead", lead, "a.txt", b"hello", "text/plain")
    [stored] = [p for p in (tmp_path / "files").rglob("*") if p.is_file()]
    assert stored.read_bytes() == b"hello" and stored.name == attachment.file_key


def test_crm_alone_stays_in_memory() -> None:
    crm = CRM()
    assert isinstance(crm.notifier, OutboxNotifier) and crm.outbox is crm.notifier


def test_a_host_notifier_replaces_the_outbox(tmp_path: Path) -> None:
    crm = build_crm(f"sqlite:///{tmp_path / 'crm.db'}", notifier=OutboxNotifier())
    assert isinstance(crm.notifier, OutboxNotifier) and crm.outbox is crm.notifier
    crm = build_crm(f"sqlite:///{tmp_path / 'crm.db'}", notifier=LoggingNotifier())
    assert crm.outbox is None  # not an outbox: nothing to drain


def test_the_inbox_is_per_user_newest_first_and_marked_read_by_its_recipient(
        clocked_outbox: tuple[Outbox, FixedClock]) -> None:
    outbox, clock = clocked_outbox
    assert isinstance(outbox, Inbox)
    outbox.send([_note("u1", n) for n in range(1, 6)] + [_note("u2", 9)])
    mine = outbox.inbox("u1")
    assert [m.notification.data["n"] for m in mine] == [5, 4, 3, 2, 1]
    assert [m.notification.data["n"] for m in outbox.inbox("u1", limit=2)] == [5, 4]
    page = outbox.inbox("u1", before=mine[1].id, limit=2)
    assert [m.notification.data["n"] for m in page] == [3, 2]
    assert outbox.unread_count("u1") == 5 and outbox.unread_count("u2") == 1
    other = outbox.inbox("u2")[0].id
    assert outbox.mark_read("u1", [mine[0].id, mine[1].id, other, 10**9], clock.now()) == 2
    assert outbox.mark_read("u1", [mine[0].id], clock.now()) == 0  # already read
    assert outbox.unread_count("u1") == 3 and outbox.unread_count("u2") == 1
    assert [m.notification.data["n"] for m in outbox.inbox("u1", unread_only=True)] == [3, 2, 1]
    assert outbox.inbox("u1")[0].read_at == clock.now()
    assert outbox.mark_read("u1", None, clock.now()) == 3
    assert outbox.unread_count("u1") == 0 and outbox.unread_count("u2") == 1
    assert len(outbox.pending(10)) == 6  # reading is not delivering
