"""The SQLAlchemy Core storage adapter (SQLite and PostgreSQL).

- :class:`SqlStorage` opens one connection in one transaction per unit of work
  (``engine.begin()``): commit on normal exit, rollback on exception. A unit of work opened
  inside another on the same thread joins it through a SAVEPOINT. Joined to a host's
  ``Connection`` / ``Session``, every unit of work is a SAVEPOINT in the host's transaction and
  its after-commit effects wait for the host's COMMIT. A host's engine keeps its settings.
- Optimistic locking is ``UPDATE … WHERE id = :id AND version = :expected``; no row → ``Conflict``.
- Unique values are checked with a SELECT inside the transaction before writing; a clash that
  slips past the check (a concurrent writer) surfaces as an ``IntegrityError`` that is mapped to
  the same ``Conflict``. On PostgreSQL such an error aborts the transaction (or the enclosing
  SAVEPOINT), so that unit of work must end — the ``Conflict`` leaving its ``with`` block does.
- Collections load in a fixed number of statements: a user list is two (users, their roles).
- Business records and their shared features live in ``records.py`` (record kinds are a
  registry, queries compile to one statement in ``querying.py``); the shared repository
  plumbing (constraint errors → ``Conflict``, versioned UPDATE) is in ``base.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
import weakref
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    URL,
    ColumnElement,
    Connection,
    Engine,
    Select,
    bindparam,
    create_engine,
    delete,
    event,
    exists,
    func,
    insert,
    make_url,
    or_,
    select,
    update,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from crmkit.adapters.effects import Effect, PendingEffects, run_effects
from crmkit.adapters.sqlalchemy import schema
from crmkit.adapters.sqlalchemy.approvals import SqlApprovals, SqlPaymentPlans, SqlSequences
from crmkit.adapters.sqlalchemy.base import (
    Repository,
    bind_processor,
    bulk_insert,
    driver_rows,
    insert_processed,
    raise_write_conflict,
    taken,
)
from crmkit.adapters.sqlalchemy.pool import SqlPools
from crmkit.adapters.sqlalchemy.records import (
    RECORD_TABLES,
    RecordTable,
    SqlAttachments,
    SqlColumns,
    SqlFields,
    SqlFollowUps,
    SqlLinks,
    SqlRecords,
    SqlSettings,
    SqlTeam,
    declared_record_tables,
    entity_store,
)
from crmkit.adapters.sqlalchemy.reminders import SqlSentReminders
from crmkit.adapters.sqlalchemy.rows import (
    DEPARTMENT_ROWS,
    LOG_ENTRY_ROWS,
    changes_json,
    role_to_row,
    row_to_role,
    row_to_user,
    user_role_rows,
    user_to_row,
)
from crmkit.adapters.sqlalchemy.scope import INLINE_LIMIT, IdList, member_of
from crmkit.adapters.sqlalchemy.statistics import SqlStatistics
from crmkit.adapters.sqlalchemy.tables import (
    departments,
    operation_log,
    org_meta,
    roles,
    user_roles,
    users,
)
from crmkit.adapters.sqlalchemy.workbench import SqlPlacements
from crmkit.entities import (
    Department,
    OperationLogEntry,
    OrgMember,
    OrgSnapshot,
    OrgUnit,
    Role,
    User,
    UserStatus,
)
from crmkit.entities.kinds import RecordKind, kind_name
from crmkit.entities.records import Comment, Scene
from crmkit.entities.sales import PriceChange, ProductCategory, StageChange, StageGroup
from crmkit.entities.statistics import Target
from crmkit.entities.tasks import Tag
from crmkit.errors import CrmError
from crmkit.ports import (
    DepartmentRepository,
    OperationLogRepository,
    RoleRepository,
    Storage,
    UserRepository,
)
from crmkit.ports.approvals import (
    ApprovalRepository,
    PaymentPlanRepository,
    SequenceRepository,
)
from crmkit.ports.entity_store import (
    CATEGORIES,
    COMMENTS,
    PRICE_CHANGES,
    SCENES,
    STAGE_CHANGES,
    STAGE_GROUPS,
    TAGS,
    TARGETS,
    EntityStore,
)
from crmkit.ports.pool import PoolRepository
from crmkit.ports.records import (
    AttachmentRepository,
    ColumnRepository,
    FieldRepository,
    FollowUpRepository,
    RecordLinkRepository,
    RecordRepository,
    SettingsRepository,
    TeamRepository,
)
from crmkit.ports.reminders import SentReminderRepository
from crmkit.ports.statistics import StatisticsRepository
from crmkit.ports.workbench import PlacementRepository

# -- engines ---------------------------------------------------------------------------------

_POSTGRES_EXTRA_HINT = "pip install 'crmkit[postgres]'"
_SQLITE_READY = "crmkit_sqlite_ready"


def _prepare_sqlite_connection(dbapi_connection: DBAPIConnection) -> None:
    """Turn on foreign keys and hand transaction control to SQLAlchemy (no driver BEGIN)."""
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _on_sqlite_connect(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry) -> None:
    _prepare_sqlite_connection(dbapi_connection)
    record.info[_SQLITE_READY] = True


def _on_sqlite_begin(conn: Connection) -> None:
    """Emit ``BEGIN IMMEDIATE``: take SQLite's single write lock up front.

    A deferred transaction that reads and then writes can fail at once with "database is
    locked" when another writer got there first; an immediate one waits (busy timeout) instead.
    Connections pooled before the listeners were installed are prepared here, once.
    """
    pooled = conn.connection
    if not pooled.info.get(_SQLITE_READY):
        dbapi_connection = pooled.dbapi_connection
        if dbapi_connection is not None:
            _prepare_sqlite_connection(dbapi_connection)
        pooled.info[_SQLITE_READY] = True
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def configure_sqlite(engine: Engine) -> None:
    """Install crmkit's SQLite listeners on ``engine`` (idempotent; no-op for other databases).

    Every connection gets ``PRAGMA foreign_keys = ON`` and every transaction ``BEGIN IMMEDIATE``,
    emitted by SQLAlchemy instead of the sqlite3 driver, so SELECTs, DDL and SAVEPOINTs all run
    inside the transaction and roll back with it.
    """
    if engine.dialect.name != "sqlite":
        return
    if not event.contains(engine, "connect", _on_sqlite_connect):
        event.listen(engine, "connect", _on_sqlite_connect)
    if not event.contains(engine, "begin", _on_sqlite_begin):
        event.listen(engine, "begin", _on_sqlite_begin)


def _is_memory_sqlite(url: URL) -> bool:
    return url.database in (None, "", ":memory:") or url.query.get("mode") == "memory"


_ORG_VERSION = select(org_meta.c.value).where(org_meta.c.id == 1)
"""Read on every operation: built once, so SQLAlchemy works out its cache key once."""


def make_engine(url: str | URL, **kw: Any) -> Engine:
    """An :class:`Engine` ready for :class:`SqlStorage`; ``kw`` goes to ``create_engine``.

    - SQLite: foreign keys on, ``BEGIN IMMEDIATE`` transactions (:func:`configure_sqlite`),
      a 15 s busy timeout unless ``connect_args["timeout"]`` says otherwise; an in-memory
      database shares one connection (``StaticPool``) so data persists between transactions
      (single-threaded use only).
    - PostgreSQL: ``postgresql://`` / ``postgres://`` use psycopg 3 (``postgresql+psycopg``);
      without psycopg an ``ImportError`` names the ``postgres`` extra. psycopg's automatic
      server-side prepared statements are off (``prepare_threshold=None`` unless
      ``connect_args`` says otherwise): after five custom plans of a prepared statement
      PostgreSQL may switch to a *generic* plan, blind to the values — for a keyset page
      whose scope lists hundreds of owners it chose plans 3–10× slower than the custom plan
      of the same statement (``bench/README.md``, "bound parameters").
    """
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername == "postgresql+psycopg" and importlib.util.find_spec("psycopg") is None:
        raise ImportError(f"PostgreSQL support needs psycopg 3: {_POSTGRES_EXTRA_HINT}")
    if parsed.get_backend_name() == "sqlite":
        connect_args = dict(kw.pop("connect_args", {}))
        connect_args.setdefault("timeout", 15.0)
        if _is_memory_sqlite(parsed):
            connect_args.setdefault("check_same_thread", False)
            kw.setdefault("poolclass", StaticPool)
        engine = create_engine(parsed, connect_args=connect_args, **kw)
        configure_sqlite(engine)
        return engine
    if parsed.drivername == "postgresql+psycopg":
        connect_args = dict(kw.pop("connect_args", {}))
        connect_args.setdefault("prepare_threshold", None)
        kw["connect_args"] = connect_args
    return create_engine(parsed, **kw)


# -- org repositories ------------------------------------------------------------------------


class SqlDepartments(Repository):
    kind = "department"
    table = departments

    def get(self, department_id: str) -> Department | None:
        return self._one(
            select(departments).where(departments.c.id == department_id), DEPARTMENT_ROWS.from_row
        )

    def list(self) -> list[Department]:
        """All departments ordered by id."""
        rows = self._conn.execute(select(departments).order_by(departments.c.id)).mappings()
        return [DEPARTMENT_ROWS.from_row(row) for row in rows]

    def add(self, department: Department) -> None:
        self._insert(DEPARTMENT_ROWS.to_row(department))

    def update(self, department: Department, *, expected_version: int) -> None:
        self._update_versioned(DEPARTMENT_ROWS.to_row(department), expected_version)

    def delete(self, department_id: str) -> None:
        """Delete (no-op when missing); still referenced → ``Conflict(department.in_use)``."""
        self._delete(department_id)

    def count_children(self, department_id: str) -> int:
        statement = select(func.count()).where(departments.c.parent_id == department_id)
        return int(self._conn.execute(statement).scalar_one())


class SqlUsers(Repository):
    kind = "user"
    table = users
    unique_fields = ("mobile",)

    def _load(self, statement: Select[Any]) -> list[User]:
        """Users selected by ``statement`` plus their roles: two statements, whatever the count.

        The roles query reuses the users query as an ``IN (subquery)``, so it needs no
        bound parameter per user.
        """
        rows = self._conn.execute(statement).mappings().all()
        if not rows:
            return []
        held: defaultdict[str, set[str]] = defaultdict(set)
        ids = statement.with_only_columns(users.c.id).order_by(None)
        role_rows = self._conn.execute(
            select(user_roles.c.user_id, user_roles.c.role_id).where(
                user_roles.c.user_id.in_(ids.scalar_subquery())
            )
        )
        for user_id, role_id in role_rows:
            held[user_id].add(role_id)
        return [row_to_user(row, held.get(row["id"], ())) for row in rows]

    def get(self, user_id: str) -> User | None:
        found = self._load(select(users).where(users.c.id == user_id))
        return found[0] if found else None

    def get_by_mobile(self, mobile: str) -> User | None:
        found = self._load(select(users).where(users.c.mobile == mobile))
        return found[0] if found else None

    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """One statement; many ids are one array or JSON parameter, as scopes bind them."""
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        where = (member_of(users.c.id, bindparam("user_ids", wanted, type_=IdList()))
                 if len(wanted) > INLINE_LIMIT else users.c.id.in_(wanted))
        found = self._conn.execute(select(users.c.id, users.c.name).where(where))
        return {user_id: name for user_id, name in found}

    def list(
        self,
        *,
        department_id: str | None = None,
        role_id: str | None = None,
        status: UserStatus | None = None,
    ) -> list[User]:
        """Users matching every given filter, ordered by id (role via ``EXISTS``)."""
        conditions: list[ColumnElement[bool]] = []
        if department_id is not None:
            conditions.append(users.c.department_id == department_id)
        if status is not None:
            conditions.append(users.c.status == status.value)
        if role_id is not None:
            conditions.append(
                exists().where(user_roles.c.user_id == users.c.id, user_roles.c.role_id == role_id)
            )
        return self._load(select(users).where(*conditions).order_by(users.c.id))

    def _check_mobile(self, user: User) -> None:
        """Another user holding this mobile → ``Conflict(user.mobile_taken)``."""
        holder = self._conn.execute(
            select(users.c.id).where(users.c.mobile == user.mobile, users.c.id != user.id)
        ).first()
        if holder is not None:
            raise taken("user", "mobile")

    def _write_roles(self, user: User) -> None:
        rows = user_role_rows(user)
        if rows:
            try:
                self._conn.execute(insert(user_roles), rows)
            except IntegrityError as err:
                raise_write_conflict(err, self.kind, self.unique_fields)

    def add(self, user: User) -> None:
        self._check_mobile(user)
        self._insert(user_to_row(user))
        self._write_roles(user)

    def update(self, user: User, *, expected_version: int) -> None:
        """Versioned update of the user row, then its role set is replaced."""
        self._check_mobile(user)
        self._update_versioned(user_to_row(user), expected_version)
        self._conn.execute(delete(user_roles).where(user_roles.c.user_id == user.id))
        self._write_roles(user)

    def count_in_department(self, department_id: str) -> int:
        statement = select(func.count()).where(users.c.department_id == department_id)
        return int(self._conn.execute(statement).scalar_one())


class SqlRoles(Repository):
    kind = "role"
    table = roles
    unique_fields = ("name", "code")

    def _all(self, statement: Select[Any]) -> list[Role]:
        return [row_to_role(row) for row in self._conn.execute(statement).mappings()]

    def get(self, role_id: str) -> Role | None:
        return self._one(select(roles).where(roles.c.id == role_id), row_to_role)

    def get_by_code(self, code: str) -> Role | None:
        return self._one(select(roles).where(roles.c.code == code), row_to_role)

    def get_many(self, role_ids: Iterable[str]) -> list[Role]:
        """The existing roles among ``role_ids``, ordered by id; unknown ids are skipped."""
        wanted = sorted(set(role_ids))
        if not wanted:
            return []
        return self._all(select(roles).where(roles.c.id.in_(wanted)).order_by(roles.c.id))

    def list(self) -> list[Role]:
        """All roles ordered by id."""
        return self._all(select(roles).order_by(roles.c.id))

    def _check_unique(self, role: Role) -> None:
        """Another role with this name → ``role.name_taken``, with this code → ``role.code_taken``.

        A NULL code never clashes (several roles may have none).
        """
        clash = roles.c.name == role.name
        if role.code is not None:
            clash = or_(clash, roles.c.code == role.code)
        rows = self._conn.execute(
            select(roles.c.name, roles.c.code).where(roles.c.id != role.id, clash)
        ).all()
        if any(name == role.name for name, _ in rows):
            raise taken("role", "name")
        if rows:
            raise taken("role", "code")

    def add(self, role: Role) -> None:
        self._check_unique(role)
        self._insert(role_to_row(role))

    def update(self, role: Role, *, expected_version: int) -> None:
        self._check_unique(role)
        self._update_versioned(role_to_row(role), expected_version)

    def delete(self, role_id: str) -> None:
        """Delete the role (no-op when missing) and, by cascade, its memberships."""
        self._delete(role_id)


class SqlOperationLog:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add_many(self, entries: Sequence[OperationLogEntry]) -> None:
        """One executemany INSERT for all entries (COPY on PostgreSQL for big batches: then each
        entry goes straight to a tuple, its changes straight to JSON text)."""
        if not entries:
            return
        if not driver_rows(self._conn, len(entries)):
            bulk_insert(self._conn, operation_log, [LOG_ENTRY_ROWS.to_row(e) for e in entries])
            return
        stamp = bind_processor(self._conn, operation_log.c.at)
        stamped: dict[Any, Any] = {}  # an operation stamps its entries with one time
        rows = []
        for e in entries:
            at = stamped.get(e.at)
            if at is None:
                at = stamped[e.at] = stamp(e.at)
            rows.append((e.id, e.record_kind, e.record_id, e.actor_id, at, e.action,
                         changes_json(e.changes), e.note))
        insert_processed(self._conn, operation_log, rows)

    def for_record(
        self, record_kind: str, record_id: str, *, limit: int = 100,
        actor_ids: Collection[str] | None = None,
    ) -> list[OperationLogEntry]:
        """Entries of one record, newest first (ties broken by id, newest first); with
        ``actor_ids`` only theirs (many ids: one array or JSON parameter, as scopes bind them)."""
        where = [operation_log.c.record_kind == record_kind,
                 operation_log.c.record_id == record_id]
        if actor_ids is not None:
            wanted = sorted(set(actor_ids))
            where.append(member_of(operation_log.c.actor_id,
                                   bindparam("actor_ids", wanted, type_=IdList()))
                         if len(wanted) > INLINE_LIMIT else operation_log.c.actor_id.in_(wanted))
        statement = (
            select(operation_log)
            .where(*where)
            .order_by(operation_log.c.at.desc(), operation_log.c.id.desc())
            .limit(limit)
        )
        return [LOG_ENTRY_ROWS.from_row(row) for row in self._conn.execute(statement).mappings()]


# -- unit of work and storage ----------------------------------------------------------------


_REPOSITORIES: dict[str, Callable[[Connection], Any]] = {
    "departments": SqlDepartments,
    "users": SqlUsers,
    "roles": SqlRoles,
    "oplog": SqlOperationLog,
    "team": SqlTeam,
    "fields": SqlFields,
    "scenes": lambda conn: entity_store(conn, SCENES),
    "columns": SqlColumns,
    "followups": SqlFollowUps,
    "attachments": SqlAttachments,
    "settings": SqlSettings,
    "stage_groups": lambda conn: entity_store(conn, STAGE_GROUPS),
    "categories": lambda conn: entity_store(conn, CATEGORIES),
    "price_changes": lambda conn: entity_store(conn, PRICE_CHANGES),
    "stage_changes": lambda conn: entity_store(conn, STAGE_CHANGES),
    "pools": SqlPools,
    "comments": lambda conn: entity_store(conn, COMMENTS),
    "links": SqlLinks,
    "tags": lambda conn: entity_store(conn, TAGS),
    "placements": SqlPlacements,
    "targets": lambda conn: entity_store(conn, TARGETS),
    "statistics": SqlStatistics,
    "approvals": SqlApprovals,
    "sequences": SqlSequences,
    "plans": SqlPaymentPlans,
    "reminders": SqlSentReminders,
}
"""How :class:`SqlUnitOfWork` makes each repository, on first use."""


class SqlUnitOfWork:
    """Repositories over one connection inside one transaction; also the org directory.

    ``connection`` is public so other adapters' repositories can join the same transaction.
    Each repository is made when an operation first uses it (:data:`_REPOSITORIES`): an
    operation uses a few of the two dozen, and making them all cost every read a fixed tax.
    """

    # Typed as the port's protocols: the UnitOfWork protocol declares plain (invariant)
    # attributes, so a concrete repository type here would not satisfy it.
    departments: DepartmentRepository
    users: UserRepository
    roles: RoleRepository
    oplog: OperationLogRepository
    team: TeamRepository
    fields: FieldRepository
    scenes: EntityStore[Scene]
    columns: ColumnRepository
    followups: FollowUpRepository
    attachments: AttachmentRepository
    settings: SettingsRepository
    stage_groups: EntityStore[StageGroup]
    categories: EntityStore[ProductCategory]
    price_changes: EntityStore[PriceChange]
    stage_changes: EntityStore[StageChange]
    pools: PoolRepository
    comments: EntityStore[Comment]
    links: RecordLinkRepository
    tags: EntityStore[Tag]
    placements: PlacementRepository
    targets: EntityStore[Target]
    statistics: StatisticsRepository
    approvals: ApprovalRepository
    sequences: SequenceRepository
    plans: PaymentPlanRepository
    reminders: SentReminderRepository

    def __init__(self, connection: Connection, effects: PendingEffects | None = None,
                 record_tables: Mapping[str, RecordTable[Any]] = RECORD_TABLES) -> None:
        self.connection = connection
        self._record_tables = record_tables
        self._effects = effects if effects is not None else PendingEffects()
        self._records: dict[str, RecordRepository[Any]] = {}

    def __getattr__(self, name: str) -> Any:
        """A repository of :data:`_REPOSITORIES`, made on first use and kept."""
        make = _REPOSITORIES.get(name)
        if make is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        repository = make(self.__dict__["connection"])
        setattr(self, name, repository)
        return repository

    def records(self, kind: str | RecordKind[Any]) -> RecordRepository[Any]:
        """The repository of one record kind, by name or declaration (crmkit's kinds:
        ``records.RECORD_TABLES``, and the storage's own); unknown → KeyError."""
        name = kind_name(kind)
        repository = self._records.get(name)
        if repository is None:
            repository = self._records[name] = SqlRecords(self.connection,
                                                          self._record_tables[name])
        return repository

    def after_commit(self, effect: Effect) -> None:
        """Queue ``effect`` for the outermost commit (crmkit's, or the joined host's)."""
        self._effects.add(effect)

    def org_version(self) -> int:
        """The counter in ``crm_org_meta``; 0 when the row is missing."""
        value = self.connection.execute(_ORG_VERSION).scalar()
        return 0 if value is None else int(value)

    def bump_org_version(self) -> int:
        """``UPDATE … SET value = value + 1 RETURNING value`` (row-locks on PostgreSQL, so
        concurrent org changes serialise); seeds the row at 1 when it is missing."""
        bumped = self.connection.execute(
            update(org_meta)
            .where(org_meta.c.id == 1)
            .values(value=org_meta.c.value + 1)
            .returning(org_meta.c.value)
        ).scalar()
        if bumped is None:
            self.connection.execute(insert(org_meta).values(id=1, value=1))
            return 1
        return int(bumped)

    def lock_job(self, name: str) -> None:
        """PostgreSQL: ``pg_advisory_xact_lock`` on a stable 64-bit key of ``name`` (released at
        commit or rollback). SQLite: nothing more to take — a crmkit transaction holds the
        database's single write lock from its ``BEGIN IMMEDIATE``."""
        if self.connection.dialect.name == "postgresql":
            key = int.from_bytes(hashlib.sha256(f"crmkit:{name}".encode()).digest()[:8], "big",
                                 signed=True)
            self.connection.execute(select(func.pg_advisory_xact_lock(key)))

    def org_snapshot(self) -> OrgSnapshot:
        """Version, then all departments, then all users: three statements, none per row.

        The version is read first, so under READ COMMITTED a snapshot is never older than the
        version it carries.
        """
        version = self.org_version()
        units = tuple(
            OrgUnit(unit_id, parent_id)
            for unit_id, parent_id in self.connection.execute(
                select(departments.c.id, departments.c.parent_id).order_by(departments.c.id)
            )
        )
        members = tuple(
            OrgMember(user_id, department_id, supervisor_id, status == UserStatus.ACTIVE.value)
            for user_id, department_id, supervisor_id, status in self.connection.execute(
                select(
                    users.c.id, users.c.department_id, users.c.supervisor_id, users.c.status
                ).order_by(users.c.id)
            )
        )
        return OrgSnapshot(version=version, units=units, members=members)


class _HostTransaction:
    """A host's ``Connection`` or ``Session`` whose transaction crmkit's work joins.

    crmkit's units of work are SAVEPOINTs in it. The effects they queue follow the host's
    transaction through the connection's events: a SAVEPOINT (the host's or crmkit's) pushes a
    level, its release or rollback pops it, the host's ROLLBACK drops everything. On the host's
    COMMIT they are released: for a ``Session`` by its ``after_commit`` event (after the COMMIT
    succeeded), for a bare ``Connection`` by its ``commit`` event, which SQLAlchemy fires just
    before it sends the COMMIT (what the effects write there commits with the host's work).
    """

    def __init__(
        self, host: Connection | Session,
        release: Callable[[list[Effect], Connection | None], None],
    ) -> None:
        self._host = weakref.ref(host)  # held by the storage's map weakly, by the host's code
        self._release = release
        self.effects = PendingEffects()
        self._committing: list[Effect] = []
        self._watched: weakref.WeakSet[Connection] = weakref.WeakSet()
        if isinstance(host, Session):
            event.listen(host, "after_commit", self._on_session_commit)

    def connection(self) -> Connection:
        """The host's connection, in a transaction that has really begun on the database."""
        host = self._host()
        assert host is not None, "used only while the host's connection or session is alive"
        conn = host if isinstance(host, Connection) else host.connection()
        if conn not in self._watched:
            event.listen(conn, "savepoint", self._on_savepoint)
            event.listen(conn, "release_savepoint", self._on_release_savepoint)
            event.listen(conn, "rollback_savepoint", self._on_rollback_savepoint)
            event.listen(conn, "commit", self._on_commit)
            event.listen(conn, "rollback", self._on_rollback)
            self._watched.add(conn)
        if not conn.in_transaction():
            conn.begin()  # the host's transaction (commit-as-you-go): the host commits it
        # The sqlite3 driver begins only before INSERT/UPDATE/DELETE; a SAVEPOINT outside a
        # transaction would start one that its RELEASE commits, behind the host's back.
        if conn.dialect.name == "sqlite" and not getattr(
            conn.connection.dbapi_connection, "in_transaction", True
        ):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        return conn

    def _on_savepoint(self, conn: Connection, name: str | None) -> None:
        self.effects.push()

    def _on_release_savepoint(self, conn: Connection, name: str, context: object) -> None:
        self.effects.release()

    def _on_rollback_savepoint(self, conn: Connection, name: str, context: object) -> None:
        self.effects.rollback_level()

    def _on_commit(self, conn: Connection) -> None:
        if isinstance(self._host(), Session):
            self._committing.extend(self.effects.take())
            return
        effects = self.effects.take()
        while effects:  # a crmkit call an effect made queued more: this COMMIT commits it too
            self._release(effects, conn)
            effects = self.effects.take()

    def _on_rollback(self, conn: Connection) -> None:
        self.effects.drop()
        self._committing = []

    def _on_session_commit(self, session: Session) -> None:
        committed, self._committing = self._committing, []
        self._release(committed, None)


class _OwnUnit:
    """The connection and effects of the transaction crmkit opened on this thread."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.effects = PendingEffects()


@contextmanager
def _isolated_sqlite_transaction(engine: Engine) -> Iterator[Connection]:
    """One transaction of crmkit's on a host's SQLite engine, configured for this use only.

    crmkit needs foreign keys on and SQLAlchemy (not the driver) beginning the transaction, with
    ``BEGIN IMMEDIATE``. The pragma and the driver's isolation level are set on the checked-out
    connection and put back before it returns to the host's pool.
    """
    with engine.connect() as conn:
        dbapi: Any = conn.connection.dbapi_connection
        isolation = dbapi.isolation_level
        foreign_keys = dbapi.execute("PRAGMA foreign_keys").fetchone()[0]
        dbapi.isolation_level = None
        if not foreign_keys:
            dbapi.execute("PRAGMA foreign_keys = ON")
        try:
            with conn.begin():
                conn.exec_driver_sql("BEGIN IMMEDIATE")
                yield conn
        finally:
            if not foreign_keys:
                dbapi.execute("PRAGMA foreign_keys = OFF")
            dbapi.isolation_level = isolation


class SqlStorage:
    """:class:`~crmkit.ports.Storage` over SQLAlchemy Core (SQLite, PostgreSQL).

    ``bind`` is one of:

    - a database URL: crmkit builds and owns the engine (:func:`make_engine`); :meth:`close`
      disposes it;
    - a host's ``Engine``: crmkit checks out its own connections and leaves the engine as it
      is (on SQLite it configures each of its own transactions only, see
      :func:`_isolated_sqlite_transaction`); :meth:`close` leaves it open;
    - a host's ``Connection`` or ORM ``Session``: every unit of work joins the host's
      transaction as a SAVEPOINT and commits or rolls back with it; the effects wait for the
      host's COMMIT (:class:`_HostTransaction`). One thread uses it, like the connection.

    :meth:`join` does the same for a while on a storage built over an engine (one per request).
    """

    def __init__(self, bind: str | URL | Engine | Connection | Session, *,
                 kinds: Iterable[RecordKind[Any]] = ()) -> None:
        self.kinds_metadata, self._record_tables = declared_record_tables(kinds)
        """The tables of the host's own record kinds (``kinds``): created by
        :meth:`create_schema`, migrated by the host (docs/embedding.md)."""
        self._bound: Connection | Session | None = None
        self._hosts: weakref.WeakKeyDictionary[Connection | Session, _HostTransaction] = (
            weakref.WeakKeyDictionary()
        )
        self._hosts_lock = threading.Lock()
        self._owns_engine = False
        if isinstance(bind, Session):
            self._bound = bind
            engine = bind.get_bind()
            self.engine = engine if isinstance(engine, Engine) else engine.engine
        elif isinstance(bind, Connection):
            self._bound = bind
            self.engine = bind.engine
        elif isinstance(bind, Engine):
            self.engine = bind
        else:
            self.engine = make_engine(bind)
            self._owns_engine = True
        self._configured = self.engine.dialect.name != "sqlite" or event.contains(
            self.engine, "begin", _on_sqlite_begin
        )
        self._local = threading.local()

    def close(self) -> None:
        """Dispose the engine crmkit built from a URL; a host's engine or connection stays open."""
        if self._owns_engine:
            self.engine.dispose()

    @contextmanager
    def join(self, host: Connection | Session) -> Iterator[None]:
        """Inside the block, this thread's units of work join ``host``'s transaction."""
        previous = getattr(self._local, "host", None)
        self._local.host = host
        try:
            yield
        finally:
            self._local.host = previous

    def _joined(self) -> _HostTransaction | None:
        """The host transaction this thread's units of work join, if any (one per host)."""
        host: Connection | Session | None = getattr(self._local, "host", None) or self._bound
        if host is None or getattr(self._local, "released", False):
            return None
        with self._hosts_lock:
            joined = self._hosts.get(host)
            if joined is None:
                joined = self._hosts[host] = _HostTransaction(host, self._release)
        return joined

    def _release(self, effects: list[Effect], through: Connection | None) -> None:
        """Run a host's committed effects.

        From a bare ``Connection``'s ``commit`` event (``through``: its transaction is still
        open, the COMMIT comes next) a crmkit call an effect makes — the database outbox's
        INSERT, a plugin's hook — joins that transaction and commits with it. After a
        ``Session``'s commit nothing is open: such a call runs in a transaction of its own.
        """
        saved = getattr(self._local, "host", None), getattr(self._local, "released", False)
        self._local.host, self._local.released = through, through is None
        try:
            run_effects(effects)
        finally:
            self._local.host, self._local.released = saved

    def create_schema(self) -> None:
        """Every table, the org-version row and the migration stamp on a fresh database;
        idempotent; an outdated schema → :class:`~crmkit.adapters.sqlalchemy.schema.SchemaError`
        (``crmkit db upgrade`` migrates it). Runs in a unit of work: inside the host's
        transaction when the storage joined one."""
        with self.transaction() as uow:
            schema.create_schema(uow.connection)
            self.kinds_metadata.create_all(uow.connection)

    def check_schema(self) -> None:
        """No crmkit schema here, or an outdated one → ``SchemaError``; writes nothing."""
        with self.engine.connect() as conn:
            schema.check_schema(conn)

    def _begin(self) -> AbstractContextManager[Connection]:
        if self._configured:
            return self.engine.begin()
        return _isolated_sqlite_transaction(self.engine)

    @contextmanager
    def transaction(self) -> Iterator[SqlUnitOfWork]:
        """One connection, one transaction: commit on normal exit, rollback on exception.

        - Joined to a host (constructor or :meth:`join`): a SAVEPOINT in the host's transaction.
        - Inside another unit of work of this thread: a SAVEPOINT in it (like the memory
          adapter): it sees the outer writes, an exception undoes only its own writes, and
          nothing commits before the outermost block ends. Without this a nested call would
          wait on the outer transaction's locks from a second connection.
        - Otherwise crmkit's own connection and transaction; after it commits, the effects
          queued with ``after_commit`` run.
        """
        committed: list[Effect] = []
        try:
            host = self._joined()
            own: _OwnUnit | None = getattr(self._local, "unit", None)
            if host is not None:
                conn = host.connection()
                with conn.begin_nested():
                    yield SqlUnitOfWork(conn, host.effects, self._record_tables)
            elif own is not None:
                own.effects.push()
                try:
                    with own.connection.begin_nested():
                        yield SqlUnitOfWork(own.connection, own.effects,
                                            self._record_tables)
                except BaseException:
                    own.effects.rollback_level()
                    raise
                own.effects.release()
            else:
                with self._begin() as conn:
                    unit = self._local.unit = _OwnUnit(conn)
                    try:
                        yield SqlUnitOfWork(conn, unit.effects, self._record_tables)
                    finally:
                        self._local.unit = None
                committed = unit.effects.take()
        except StatementError as err:
            if isinstance(err.orig, CrmError):  # raised by a column type (SQLite decimals)
                raise err.orig from None
            raise
        run_effects(committed)


if TYPE_CHECKING:

    def _satisfies_storage_port(storage: SqlStorage) -> Storage:
        """mypy proves :class:`SqlStorage` (and so :class:`SqlUnitOfWork`) meets the port."""
        return storage

