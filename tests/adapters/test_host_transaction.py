"""crmkit inside a host's transaction and a host's engine (issue 12 #1, #2).

- A host that writes its own row and calls crmkit in one transaction, then fails, stores
  neither; when it commits both are stored and the notification is released exactly once —
  for a host ``Connection`` and a host ORM ``Session``, on a SQLite file and on PostgreSQL.
- A host SAVEPOINT rolled back around a crmkit call takes crmkit's work and effects with it.
- A host's SQLite engine keeps its own settings: crmkit configures only its own transactions.
- ``crm.close()`` disposes the engine crmkit built, never a host's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import Connection, Engine, String, create_engine, event, func, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from crmkit import CRM, build_crm
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities import OperationLogEntry
from crmkit.hookspecs import hookimpl

from .conftest import empty_pg_storage


class HostBase(DeclarativeBase):
    pass


class HostOrder(HostBase):
    """A row of the host's own, in the host's own table."""

    __tablename__ = "host_orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    note: Mapped[str] = mapped_column(String(50))


class Recorder:
    def __init__(self) -> None:
        self.batches: list[list[str]] = []

    @hookimpl
    def crmkit_after_commit(self, crm: Any, entries: Sequence[OperationLogEntry]) -> None:
        self.batches.append([e.action for e in entries])


class HostError(Exception):
    """The host's own failure after crmkit's call."""


@attrs.define
class Host:
    engine: Engine
    crm: CRM
    notifier: OutboxNotifier
    recorder: Recorder
    admin: str
    giver: str
    taker: str

    def hand_over(self) -> None:
        """A crmkit operation that writes, logs and notifies the taker."""
        self.crm.org.hand_over(self.admin, self.giver, self.taker)

    def orders(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(HostOrder)).scalar_one())

    def hand_overs(self) -> int:
        log = self.crm.org.operation_log(self.admin, "user", self.giver)
        return sum(1 for e in log if e.action == "hand_over")


@pytest.fixture(params=["sqlite", "postgres"])
def host_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """The host's own engine: a plain ``create_engine`` (SQLite file) or a PostgreSQL one."""
    if request.param == "sqlite":
        engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
        yield engine
        engine.dispose()
    else:
        engine = request.getfixturevalue("pg_engine")  # one schema per module, emptied here
        empty_pg_storage(engine)
        HostBase.metadata.drop_all(engine)
        yield engine


@pytest.fixture
def host(host_engine: Engine) -> Host:
    HostBase.metadata.create_all(host_engine)
    notifier, recorder = OutboxNotifier(), Recorder()
    crm = build_crm(host_engine, notifier=notifier, plugins=[recorder])
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    giver, taker = (
        crm.org.add_user(admin, {"mobile": mobile, "name": name, "department_id": top.id}).id
        for name, mobile in (("张三", "13900000001"), ("李四", "13900000002"))
    )
    notifier.sent.clear()
    recorder.batches.clear()
    return Host(host_engine, crm, notifier, recorder, admin.id, giver, taker)


def connection_host(host: Host, order: int, crm: CRM | None = None) -> Iterator[None]:
    """The host's ``engine.begin()`` block, crmkit (``host.crm`` unless given) joined to it."""
    with host.engine.begin() as conn, (crm or host.crm).join(conn):
        conn.execute(text("INSERT INTO host_orders (id, note) VALUES (:id, 'x')"), {"id": order})
        yield


def session_host(host: Host, order: int, crm: CRM | None = None) -> Iterator[None]:
    """The host's ORM ``Session`` (``session.begin()`` block), crmkit joined to it."""
    with Session(host.engine) as session, session.begin(), (crm or host.crm).join(session):
        session.add(HostOrder(id=order, note="x"))
        yield


HOSTS = {"connection": connection_host, "session": session_host}


@pytest.mark.parametrize("kind", sorted(HOSTS))
def test_host_error_after_a_crmkit_call_stores_neither_and_sends_nothing(
    host: Host, kind: str
) -> None:
    with pytest.raises(HostError):
        for _ in HOSTS[kind](host, 1):
            host.hand_over()
            raise HostError
    assert (host.orders(), host.hand_overs()) == (0, 0)
    assert host.notifier.sent == [] and host.recorder.batches == []


@pytest.mark.parametrize("kind", sorted(HOSTS))
def test_host_commit_stores_both_and_releases_the_notification_once(
    host: Host, kind: str
) -> None:
    for _ in HOSTS[kind](host, 1):
        host.hand_over()
        assert host.notifier.sent == []  # not before the host commits
    assert (host.orders(), host.hand_overs()) == (1, 1)
    assert [n.recipient_id for n in host.notifier.sent] == [host.taker]
    assert host.recorder.batches == [["hand_over"]]
    for _ in HOSTS[kind](host, 2):  # the next host transaction releases only its own
        pass
    assert len(host.notifier.sent) == 1


@pytest.mark.parametrize("kind", sorted(HOSTS))
def test_the_database_outbox_receives_the_notification_only_when_the_host_commits(
    host: Host, kind: str
) -> None:
    crm = build_crm(host.engine)  # the default notifier: the outbox table, written via crmkit
    assert crm.outbox is not None
    with pytest.raises(HostError):
        for _ in HOSTS[kind](host, 1, crm):
            crm.org.hand_over(host.admin, host.giver, host.taker)
            raise HostError
    assert crm.outbox.pending() == []
    for _ in HOSTS[kind](host, 2, crm):
        crm.org.hand_over(host.admin, host.giver, host.taker)
    assert [m.notification.recipient_id for m in crm.outbox.pending()] == [host.taker]
    assert (host.orders(), host.hand_overs()) == (1, 1)


def test_host_savepoint_rolled_back_takes_crmkit_work_and_notification(host: Host) -> None:
    with host.engine.begin() as conn, host.crm.join(conn):
        conn.execute(text("INSERT INTO host_orders (id, note) VALUES (1, 'kept')"))
        with pytest.raises(HostError), conn.begin_nested():
            host.hand_over()
            raise HostError
        host.crm.org.hand_over(host.admin, host.taker, host.giver)
    assert (host.orders(), host.hand_overs()) == (1, 0)
    assert [n.recipient_id for n in host.notifier.sent] == [host.giver]


def test_storage_bound_to_a_host_connection_follows_commit_as_you_go(host: Host) -> None:
    with host.engine.connect() as conn:
        crm = CRM(SqlStorage(conn), notifier=host.notifier)
        crm.org.hand_over(host.admin, host.giver, host.taker)
        conn.commit()
        crm.org.hand_over(host.admin, host.giver, host.taker)
        assert len(host.notifier.sent) == 1
        conn.rollback()
    assert host.hand_overs() == 1
    assert len(host.notifier.sent) == 1


def test_build_crm_on_a_session_joins_it(host: Host) -> None:
    with Session(host.engine) as session:
        crm = build_crm(session, notifier=host.notifier)
        crm.org.hand_over(host.admin, host.giver, host.taker)
        session.add(HostOrder(id=7, note="x"))
        session.rollback()
        crm.org.hand_over(host.admin, host.giver, host.taker)
        session.add(HostOrder(id=8, note="x"))
        session.commit()
    assert (host.orders(), host.hand_overs()) == (1, 1)
    assert len(host.notifier.sent) == 1


class CallsBack:
    """A plugin whose after-commit hook reads through crmkit again."""

    def __init__(self) -> None:
        self.admin = ""
        self.departments: list[int] = []

    @hookimpl
    def crmkit_after_commit(self, crm: Any, entries: Sequence[OperationLogEntry]) -> None:
        if self.admin and any(e.record_kind == "department" for e in entries):
            self.departments.append(len(crm.org.list_departments(self.admin)))


def test_a_hook_calling_crmkit_after_the_session_commit_runs_its_own_transaction(
    host_engine: Engine,
) -> None:
    plugin = CallsBack()
    crm = build_crm(host_engine, plugins=[plugin])
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(admin)[0]
    plugin.admin = admin.id
    with Session(host_engine) as session, crm.join(session):
        crm.org.add_department(admin, {"name": "销售部", "parent_id": top.id})
        session.commit()  # the join is still in force: the hook must not use this session
        crm.org.add_department(admin, {"name": "财务部", "parent_id": top.id})
        session.commit()
    assert plugin.departments == [2, 3]


# -- the host's engine is left alone (SQLite) -----------------------------------------------


def sqlite_settings(conn: Connection) -> tuple[int, object]:
    dbapi: Any = conn.connection.dbapi_connection
    return int(conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one()), dbapi.isolation_level


def test_crmkit_configures_only_its_own_transactions_on_a_host_sqlite_engine(
    tmp_path: Path,
) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    with engine.connect() as conn:
        host_default = sqlite_settings(conn)
    crm = build_crm(engine)
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    storage = crm.storage
    assert isinstance(storage, SqlStorage)
    with storage.transaction() as uow:
        assert sqlite_settings(uow.connection) == (1, None)  # foreign keys, SQLAlchemy begins
    seen: list[str] = []
    event.listen(engine, "before_cursor_execute", lambda *a: seen.append(a[2]))
    with engine.begin() as conn:  # the host's own work, on a connection crmkit used before
        assert sqlite_settings(conn) == host_default == (0, "")
        conn.exec_driver_sql("CREATE TABLE host_note (id INTEGER PRIMARY KEY)")
    assert not [s for s in seen if s.startswith("BEGIN")]
    assert crm.org.list_departments(admin)[0].name == "办公室"
    engine.dispose()


def test_close_disposes_the_engine_crmkit_built_but_never_a_hosts(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'host.db'}")
    pool = engine.pool
    with build_crm(engine) as crm:
        crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    assert engine.pool is pool  # not disposed: dispose() replaces the pool
    own = build_crm(f"sqlite:///{tmp_path / 'own.db'}")
    storage = own.storage
    assert isinstance(storage, SqlStorage)
    own_pool = storage.engine.pool
    own.close()
    assert storage.engine.pool is not own_pool
    engine.dispose()
