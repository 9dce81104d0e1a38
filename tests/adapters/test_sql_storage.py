"""The SQLAlchemy storage adapter: the storage contract on SQLite (memory, file) and PostgreSQL,
plus what only SQL can get wrong — foreign keys, rollback, statement counts, races."""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import StatementError

from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata
from crmkit.adapters.sqlalchemy.rows import user_to_row
from crmkit.adapters.sqlalchemy.storage import SqlUsers
from crmkit.adapters.sqlalchemy.tables import org_meta, user_roles
from crmkit.entities import OperationLogEntry, User
from crmkit.errors import Conflict
from crmkit.ports import Storage
from crmkit.testing import StorageContract
from crmkit.testing.storage import T0, sample_department, sample_role, sample_user

from .conftest import PostgresBackend, SqliteFileBackend, empty_pg_storage, statements

# -- the contract on every backend -------------------------------------------------------------


class TestSqliteMemoryStorage(StorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://")


class TestSqliteFileStorage(SqliteFileBackend, StorageContract):
    pass


@pytest.mark.postgres
class TestPostgresStorage(PostgresBackend, StorageContract):
    pass


# -- SQL-specific behaviour, on every backend --------------------------------------------------


@pytest.fixture(params=["sqlite_memory", "sqlite_file", "postgresql"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> SqlStorage:
    """An empty SqlStorage with schema and departments d1 ⊃ d2 and role r1."""
    if request.param == "sqlite_memory":
        store = SqlStorage("sqlite://")
    elif request.param == "sqlite_file":
        store = SqlStorage(f"sqlite:///{tmp_path / 'crm.db'}")
    else:
        store = empty_pg_storage(request.getfixturevalue("pg_engine"))
    store.create_schema()
    with store.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        uow.departments.add(sample_department("d2", "d1"))
        uow.roles.add(sample_role())
    return store


@pytest.fixture
def threaded_backend(backend: SqlStorage) -> SqlStorage:
    """Backends that allow concurrent connections (not the single-connection memory SQLite)."""
    if backend.engine.url.database in (None, "", ":memory:"):
        pytest.skip("an in-memory SQLite database has a single shared connection")
    return backend


def run_threads(*targets: Callable[[], None], timeout: float = 20.0) -> None:
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
        assert not t.is_alive(), "thread hung"


def test_foreign_keys_are_enforced(backend: SqlStorage) -> None:
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001", "no-such-department"))
    assert caught.value.code == "user.reference_missing"
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001", role_ids=frozenset({"no-such-role"})))
    assert caught.value.code == "user.reference_missing"
    with backend.transaction() as uow:
        assert uow.users.list() == []


def test_deleting_a_referenced_department_conflicts(backend: SqlStorage) -> None:
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.departments.delete("d1")
    assert caught.value.code == "department.in_use"
    with backend.transaction() as uow:
        assert uow.departments.get("d1") is not None


def test_rollback_after_reads_and_writes(backend: SqlStorage) -> None:
    """Reads first, then writes, then an error: nothing of the writes survives."""

    class Boom(Exception):
        pass

    with pytest.raises(Boom), backend.transaction() as uow:
        assert uow.org_version() == 0
        uow.users.add(sample_user("u1", "13800000001", role_ids=frozenset({"r1"})))
        uow.roles.update(sample_role(name="改名", version=2), expected_version=1)
        uow.bump_org_version()
        raise Boom
    with backend.transaction() as uow:
        assert uow.users.get("u1") is None
        assert uow.roles.get("r1") == sample_role()
        assert uow.org_version() == 0
        assert uow.connection.execute(select(user_roles)).all() == []


def test_commit_persists_between_transactions(backend: SqlStorage) -> None:
    with backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001"))
    with backend.transaction() as uow:
        assert uow.users.get("u1") is not None


def test_listing_users_is_two_statements(backend: SqlStorage) -> None:
    with backend.transaction() as uow:
        uow.roles.add(sample_role("r2", "经理"))
        for n in range(50):
            roles = frozenset({"r1", "r2"}) if n % 2 else frozenset({"r1"})
            uow.users.add(sample_user(f"u{n:02d}", f"138{n:08d}", role_ids=roles))
    with backend.transaction() as uow:
        with statements(backend.engine) as seen:
            listed = uow.users.list()
        assert len(seen) <= 3, seen
        with statements(backend.engine) as seen:
            by_role = uow.users.list(role_id="r2", department_id="d1")
        assert len(seen) <= 3, seen
    assert len(listed) == 50
    assert all(u.role_ids == ({"r1", "r2"} if int(u.id[1:]) % 2 else {"r1"}) for u in listed)
    assert [u.id for u in by_role] == [f"u{n:02d}" for n in range(1, 50, 2)]


def test_org_snapshot_reads_a_fixed_number_of_statements(backend: SqlStorage) -> None:
    with backend.transaction() as uow:
        for n in range(30):
            uow.users.add(sample_user(f"u{n:02d}", f"138{n:08d}", "d2"))
    with backend.transaction() as uow, statements(backend.engine) as seen:
        snap = uow.org_snapshot()
    assert len(snap.members) == 30 and len(snap.units) == 2
    assert len(seen) == 3, seen


def test_times_come_back_aware_utc(backend: SqlStorage) -> None:
    shanghai = timezone(timedelta(hours=8))
    at = datetime(2026, 3, 1, 8, 0, 0, 123456, tzinfo=shanghai)
    with backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001", created_at=at, updated_at=None))
        uow.oplog.add_many([OperationLogEntry("l1", "user", "u1", None, at, "create")])
    with backend.transaction() as uow:
        user = uow.users.get("u1")
        assert user is not None and user.created_at == at and user.updated_at is None
        assert user.created_at is not None and user.created_at.tzinfo is UTC
        assert user.created_at.hour == 0 and user.created_at.microsecond == 123456
        assert uow.oplog.for_record("user", "u1")[0].at == at


def test_naive_times_are_refused(backend: SqlStorage) -> None:
    with pytest.raises(StatementError, match="naive datetime"), backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001", created_at=datetime(2026, 1, 1)))


def test_unique_violations_are_mapped_even_past_the_check(backend: SqlStorage) -> None:
    """The INSERT's own constraint error maps to the same Conflict as the pre-check."""
    with backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001"))
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        SqlUsers(uow.connection)._insert(user_to_row(sample_user("u2", "13800000001")))
    assert caught.value.code == "user.mobile_taken"
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000009"))
    assert caught.value.code == "user.exists"
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.departments.add(sample_department("d1"))
    assert caught.value.code == "department.exists"


def test_role_code_is_unique_but_may_be_missing(backend: SqlStorage) -> None:
    with backend.transaction() as uow:
        uow.roles.add(sample_role("r2", "经理"))
        uow.roles.add(sample_role("r3", "财务", code="finance"))
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.roles.add(sample_role("r4", "会计", code="finance"))
    assert caught.value.code == "role.code_taken"
    with pytest.raises(Conflict) as caught, backend.transaction() as uow:
        uow.roles.update(sample_role("r2", "财务", version=2), expected_version=1)
    assert caught.value.code == "role.name_taken"
    with backend.transaction() as uow:
        uow.roles.update(sample_role("r3", "财务", code="finance", version=2), expected_version=1)
        assert uow.roles.get_by_code("finance") == sample_role(
            "r3", "财务", code="finance", version=2
        )


def test_deleting_a_role_removes_its_memberships(backend: SqlStorage) -> None:
    with backend.transaction() as uow:
        uow.roles.add(sample_role("r2", "经理"))
        uow.users.add(sample_user("u1", "13800000001", role_ids=frozenset({"r1", "r2"})))
    with backend.transaction() as uow:
        uow.roles.delete("r1")
        uow.roles.delete("never-existed")
    with backend.transaction() as uow:
        user = uow.users.get("u1")
        assert user is not None and user.role_ids == {"r2"}


def test_create_schema_is_idempotent(backend: SqlStorage) -> None:
    with backend.transaction() as uow:
        uow.bump_org_version()
    backend.create_schema()
    with backend.transaction() as uow:
        assert uow.org_version() == 1
        assert uow.connection.execute(select(org_meta)).all() == [(1, 1)]


def test_schema_names_follow_the_convention(backend: SqlStorage) -> None:
    insp = inspect(backend.engine)
    assert {t for t in insp.get_table_names() if t.startswith("crm_")} >= set(metadata.tables)
    assert all(name.startswith("crm_") for name in metadata.tables)
    uniques = {u["name"] for u in insp.get_unique_constraints("crm_users")}
    assert "uq_crm_users_mobile" in uniques
    indexes = {i["name"] for i in insp.get_indexes("crm_team_members")}
    assert "ix_crm_team_members_user" in indexes
    assert "ix_crm_operation_log_record" in {
        i["name"] for i in insp.get_indexes("crm_operation_log")
    }


# -- concurrency (separate connections) --------------------------------------------------------


def test_concurrent_mobile_claims_conflict(threaded_backend: SqlStorage) -> None:
    """B checks while A's insert is uncommitted; B's write must still fail, not duplicate."""
    store = threaded_backend
    inserted, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}

    def first() -> None:
        with store.transaction() as uow:
            uow.users.add(sample_user("u1", "13800000001"))
            inserted.set()
            release.wait(10)

    def second() -> None:
        inserted.wait(10)
        try:
            with store.transaction() as uow:
                uow.users.add(sample_user("u2", "13800000001"))
        except Conflict as err:
            outcome["code"] = err.code

    def releaser() -> None:
        inserted.wait(10)
        time.sleep(0.3)
        release.set()

    run_threads(first, second, releaser)
    assert outcome == {"code": "user.mobile_taken"}
    with store.transaction() as uow:
        assert [u.id for u in uow.users.list()] == ["u1"]


def test_concurrent_updates_of_one_version_conflict(threaded_backend: SqlStorage) -> None:
    """Two editors read version 1, then both save at once: exactly one save wins."""
    store = threaded_backend
    with store.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001"))
    results: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(2)

    def rename(name: str) -> Callable[[], None]:
        def work() -> None:
            start.wait(10)
            try:
                with store.transaction() as uow:
                    renamed = sample_user("u1", "13800000001", name=name, version=2)
                    uow.users.update(renamed, expected_version=1)
                outcome = "ok"
            except Conflict as err:
                outcome = err.code
            with lock:
                results.append(outcome)

        return work

    run_threads(rename("甲"), rename("乙"))
    assert sorted(results) == ["ok", "version_conflict"]
    with store.transaction() as uow:
        user = uow.users.get("u1")
        assert user is not None and user.version == 2 and user.name in ("甲", "乙")


def test_concurrent_org_version_bumps_serialise(threaded_backend: SqlStorage) -> None:
    store = threaded_backend
    seen: list[int] = []
    lock = threading.Lock()

    def bump() -> None:
        for _ in range(5):
            with store.transaction() as uow:
                value = uow.bump_org_version()
            with lock:
                seen.append(value)

    run_threads(*[bump] * 6)
    assert sorted(seen) == list(range(1, 31))
    with store.transaction() as uow:
        assert uow.org_version() == 30


# -- engines ---------------------------------------------------------------------------------


def test_memory_sqlite_shares_one_connection_and_enforces_foreign_keys() -> None:
    engine = make_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT x FROM t")).scalar() == 1
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_plain_sqlite_engine_is_configured_by_sqlstorage(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(f"sqlite:///{tmp_path / 'plain.db'}")
    with engine.connect() as conn:  # a pooled connection that predates the listeners
        conn.execute(text("SELECT 1"))
    store = SqlStorage(engine)
    store.create_schema()
    with pytest.raises(Conflict), store.transaction() as uow:
        uow.users.add(sample_user("u1", "13800000001", "no-such-department"))


def test_postgres_urls_use_psycopg() -> None:
    engine = make_engine("postgresql://u@localhost/db")
    assert engine.url.drivername == "postgresql+psycopg"
    assert make_engine("postgres://u@localhost/db").url.drivername == "postgresql+psycopg"


def test_missing_psycopg_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        return None if name == "psycopg" else real(name, *args)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    with pytest.raises(ImportError, match=r"pip install 'crmkit\[postgres\]'"):
        make_engine("postgresql://u@localhost/db")


def test_user_row_keeps_every_field() -> None:
    user = sample_user("u1", "13800000001", created_at=T0)
    row = user_to_row(user)
    assert set(row) == {f.name for f in User.__attrs_attrs__} - {"role_ids"}
