"""The reminder storage contract (:class:`crmkit.testing.ReminderStorageContract`) on memory,
SQLite (in memory and in a file) and PostgreSQL, and what only a real database can show: two
PostgreSQL transactions recording the same keys at once — each key goes to exactly one — and
two reminder scans at once through the facade notify each reminder once."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import UUID7Ids
from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities import SystemActor
from crmkit.ports import Storage
from crmkit.testing import ReminderStorageContract
from crmkit.testing.builders import sample_org
from crmkit.testing.pool import sample_customer
from crmkit.workflow.records import PAGE

from .conftest import (
    PostgresBackend,
    SqliteFileBackend,
    in_threads,
    private_pg_schema,
    statements,
)


class TestMemoryReminderStorage(ReminderStorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestSqliteReminderStorage(ReminderStorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://")


class TestSqliteFileReminderStorage(SqliteFileBackend, ReminderStorageContract):
    examples = 10


@pytest.mark.postgres
class TestPostgresReminderStorage(PostgresBackend, ReminderStorageContract):
    examples = 20


KEYS = [(f"task.due u1 task t{n} 2026-11-02", date(2026, 11, 2)) for n in range(300)]
AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


@pytest.mark.postgres
def test_two_transactions_recording_the_same_keys_share_them_out(pg_url: str) -> None:
    """The first records every key and holds them uncommitted; the second, started meanwhile,
    waits on them and — once the first commits — gets none; then a third, racing the second
    half of the keys with a fourth, splits them without overlap."""
    with private_pg_schema(pg_url, pool_size=4) as engine:
        storage = SqlStorage(engine)
        recorded = threading.Event()
        release = threading.Event()

        def first(_: int) -> set[str]:
            with storage.transaction() as uow:
                got = uow.reminders.record(KEYS[:200], AT)
                recorded.set()
                release.wait(30)
            return got

        def second(_: int) -> set[str]:
            recorded.wait(30)
            threading.Timer(0.5, release.set).start()  # the first commits while this one waits
            with storage.transaction() as uow:
                return uow.reminders.record(KEYS[:200], AT)

        def run(n: int) -> set[str]:
            return second(n) if n else first(n)

        (one, two), _ = in_threads(2, run)
        assert one == {k for k, _ in KEYS[:200]} and two == set()

        def race(n: int) -> set[str]:
            with storage.transaction() as uow:
                return uow.reminders.record(KEYS[100:] if n else list(reversed(KEYS[100:])), AT)

        results, _ = in_threads(4, race)
        assert all(isinstance(r, set) for r in results), results
        counts = Counter(k for r in results for k in r)
        assert set(counts) == {k for k, _ in KEYS[200:]} and set(counts.values()) == {1}


@pytest.mark.postgres
def test_two_scans_at_once_notify_each_reminder_once(pg_url: str) -> None:
    with private_pg_schema(pg_url, pool_size=6) as engine:
        clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
        notifier = OutboxNotifier(clock)
        crm = CRM(SqlStorage(engine), clock=clock, ids=UUID7Ids(), notifier=notifier)
        org = sample_org(crm, clock=clock, accountant=False)
        for n in range(40):
            crm.customers.create(org.rep, {"name": f"客户{n}",
                                           "next_contact_at": "2026-11-02T15:00:00+08:00"})
            crm.tasks.create(org.rep, {"title": f"任务{n}", "due_date": "2026-11-01"})
        jobs = SystemActor("test: scans at once")
        before = len(notifier.sent)
        results, _ = in_threads(3, lambda n: crm.reminders.scan(
            jobs, at=clock.now() + timedelta(seconds=n)))
        assert sorted(len(r.sent) for r in results) == [0, 0, 80], results
        sent = Counter(n.data["key"] for n in notifier.sent[before:])
        assert len(sent) == 80 and set(sent.values()) == {1}


@pytest.mark.parametrize("due", [10, PAGE - 1])
def test_a_scan_is_a_fixed_number_of_statements(due: int) -> None:
    """The statements of a scan do not grow with the number of due items (up to a page of
    rows per source; one more statement per further page)."""
    storage = SqlStorage("sqlite://")
    storage.create_schema()
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    crm = CRM(storage, clock=clock, ids=UUID7Ids(), notifier=OutboxNotifier())
    crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    with storage.transaction() as uow:
        uow.records("customer").add_many([sample_customer(
            f"c{n:04d}", owner_id="u1",
            next_contact_at=clock.now() - timedelta(days=n % 3)) for n in range(due)])
    with statements(storage.engine) as seen:
        assert len(crm.reminders.scan(SystemActor("test: statements")).sent) == due
    assert len(seen) == SCAN_STATEMENTS, seen


SCAN_STATEMENTS = 13
"""On SQLite: BEGIN, one SELECT per source — contacts due on the five kinds with follow-ups,
tasks, calendar events (two: series without end, series ending later), contracts, payment
plans, the pools (none here) — and the keys' INSERT."""
