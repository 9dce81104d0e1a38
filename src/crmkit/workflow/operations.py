"""The operation runner every service uses: one transaction per operation.

Order of an operation: open a unit of work → load the acting user (missing, disabled or unknown
→ PermissionDenied; the :class:`~crmkit.entities.SystemActor` only where the operation says
``system=True``, i.e. background work) → check the operation permission → run the use case
(which queues operation-log entries, notifications and events on the :class:`Op`) → write the
log in one batch → commit → deliver notifications → call ``crmkit_after_commit``. Any exception
before the commit leaves nothing written and nothing sent. Notifications and the hook wait for
the OUTERMOST transaction (``uow.after_commit``): an operation run inside a host's or an outer
``storage.transaction()`` that later rolls back sends nothing.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import Any, TypeVar, cast
from zoneinfo import ZoneInfo

import attrs
import pluggy

from crmkit.entities import (
    FieldChange,
    Module,
    Notification,
    Operation,
    OperationLogEntry,
    RecordScope,
    Role,
    SystemActor,
    User,
)
from crmkit.entities.kinds import Feature, RecordKind
from crmkit.errors import NotFound, PermissionDenied, RuleViolation
from crmkit.policies.reclaim import pool_members
from crmkit.policies.scopes import OrgIndex, resolve_scope
from crmkit.ports import Clock, IdGenerator, Notifier, OrgDirectory, Storage, UnitOfWork

log = logging.getLogger("crmkit")
T = TypeVar("T")

ActorRef = str | User
"""The acting user: a user id, or a :class:`User` (only its id is used; roles are re-read)."""

Actor = ActorRef | SystemActor
"""Who may run background work: a user, or the host's :class:`SystemActor`."""


def actor_id_of(actor: ActorRef) -> str:
    return actor.id if isinstance(actor, User) else actor


def _no_actor() -> PermissionDenied:
    return PermissionDenied("auth.no_actor", "需要操作人", "an acting user is required")


@attrs.define
class Op:
    """One running operation: its unit of work, actor, time, and what it queued."""

    uow: UnitOfWork
    actor: User | None
    """The acting user; None only when :attr:`system` runs the operation."""
    roles: list[Role]
    now: datetime
    ids: IdGenerator
    system: SystemActor | None = None
    entries: list[OperationLogEntry] = attrs.Factory(list)
    notifications: list[Notification] = attrs.Factory(list)
    created: set[tuple[str, str]] = attrs.Factory(set)
    """(kind, id) of records this operation created: visible to it by construction."""
    seen: set[tuple[str, str]] = attrs.Factory(set)
    """(kind, id) of records this operation found visible (the org cannot change under it, so
    a second check of the same reference needs no read)."""
    unique_free: set[tuple[str, str, Any]] = attrs.Factory(set)
    """(kind, field, value) this operation locked and found held by no record (a generated
    number): the unique check of the records it writes does not read it again."""
    scopes: dict[Module, RecordScope] = attrs.Factory(dict)
    """Scopes resolved in this operation (the org cannot change under it)."""
    stamp: Stamp | None = None
    """What is kept of the org version this operation read (see :class:`Stamp`); None until
    read, and again after the operation changed the org or the settings."""
    changed: bool = False
    """The operation changed the org or the settings: it reads them afresh from then on."""
    kept: dict[Hashable, Any] = attrs.Factory(dict)
    """Values this operation read for :meth:`Runtime.kept`, shared once its transaction
    commits."""

    @property
    def actor_id(self) -> str | None:
        return self.actor.id if self.actor else None

    @property
    def user_id(self) -> str:
        """The acting user's id (only for operations run with an actor)."""
        if self.actor is None:
            raise _no_actor()
        return self.actor.id

    def grants(self, module: Module, operation: Operation) -> bool:
        """Whether the actor holds ``operation`` on ``module`` (the system holds everything)."""
        return self.system is not None or any(role.grants(module, operation)
                                              for role in self.roles)

    def require(self, module: Module, operation: Operation) -> None:
        """PermissionDenied unless the actor holds ``operation`` on ``module``."""
        if not self.grants(module, operation):
            raise PermissionDenied(
                "permission_denied", f"没有 {module.value} 的 {operation.value} 权限",
                f"no permission to {operation.value} on {module.value}",
                details={"module": module.value, "operation": operation.value},
            )

    @property
    def is_super_admin(self) -> bool:
        """The actor holds 超级管理员 (every permission, every record, every pool)."""
        return any(role.is_super_admin for role in self.roles)

    def log(
        self,
        record_kind: str,
        record_id: str,
        action: str,
        changes: tuple[FieldChange, ...] = (),
        note: str = "",
        *,
        at: datetime | None = None,
    ) -> None:
        """Queue one operation-log entry (written in one batch at the end of the operation and
        handed to ``crmkit_after_commit``): the only way a use case writes the log. ``at``
        dates the entry other than the operation's time (a sweep run for a given instant)."""
        self.entries.append(
            OperationLogEntry(
                self.ids.new_id(), record_kind, record_id, self.actor_id, at or self.now,
                action, changes, note,
            )
        )

    def put_setting(self, key: str, value: Any) -> None:
        """Store one setting and log it (kind ``setting``, the old and the new value): the only
        way a use case changes a setting, so every configuration change has its 操作记录."""
        old = self.uow.settings.get(key)
        self.uow.settings.put(key, value)
        self.org_changed()
        self.log("setting", key, "update",
                 (FieldChange("value", old, value),) if old != value else ())

    def org_changed(self) -> None:
        """This operation changed the org or a setting: the org version moves in its
        transaction (what :meth:`Runtime.kept` keeps is read afresh by the next operation, here
        or in another process), and it reads them afresh from now on."""
        self.uow.bump_org_version()
        self.changed = True

    def notify(self, notification: Notification) -> None:
        """Queue a notification, delivered only when the outermost transaction commits."""
        self.notifications.append(notification)


class Stamp:
    """What crmkit keeps of one org version, shared by threads: each acting user with their
    roles, and values derived from the settings (a kind's :class:`FieldSet`, a user's default
    scene).

    Every change of a user, a role, a department, a pool, a field definition or a scene bumps
    the org version in the same transaction (:meth:`Runtime.org_changed`), so one read of the
    version row tells whether what is kept still holds — also for changes made by other
    processes. What is kept under a version was read after that version in the same
    transaction: it is never older than its label. And it is kept only once that transaction
    has committed (``uow.after_commit``): a transaction that moved the version and rolled back
    (a host's, with crmkit joined) leaves nothing under a version number a later change
    reuses. A host that writes crmkit's org or field tables itself must bump the version in the
    same transaction (as scopes already require)."""

    def __init__(self, version: int) -> None:
        self.version = version
        self.actors: dict[str, tuple[User, tuple[Role, ...]]] = {}
        self.values: dict[Hashable, Any] = {}


class _ScopeCache:
    """The org index of one org version and the scopes resolved against it, shared by threads.

    The index and its scopes dict are swapped together when the version moves: a thread still
    resolving against the old index writes into the old dict, never a stale scope into the new.

    Its scopes are resolved from roles read *after* the index's version: a label is never
    newer than its data (read the other way round, a role change committed between the two
    reads would be cached under the new version with the old roles).
    """

    def __init__(self) -> None:
        self._current: tuple[OrgIndex, dict[tuple[str, Module], RecordScope]] | None = None

    def current(
        self, directory: OrgDirectory, version: int | None = None,
        publish: Callable[[Callable[[], None]], None] | None = None,
    ) -> tuple[OrgIndex, dict[tuple[str, Module], RecordScope]]:
        """``version``: the directory's version when the caller has just read it. ``publish``:
        how a new index becomes the shared one — after the reading transaction commits
        (``uow.after_commit``) when the directory is crmkit's own tables; at once otherwise."""
        if version is None:
            version = directory.org_version()
        current = self._current
        if current is None or current[0].version != version:
            fresh = current = (OrgIndex(directory.org_snapshot()), {})

            def share() -> None:
                self._current = fresh

            (publish or _now)(share)
        return current


def _now(effect: Callable[[], None]) -> None:
    effect()


class Runtime:
    """The ports and shared state of one CRM instance."""

    def __init__(
        self,
        *,
        storage: Storage,
        clock: Clock,
        ids: IdGenerator,
        notifier: Notifier,
        directory: OrgDirectory | None,
        plugins: pluggy.PluginManager,
        timezone: str,
        kinds: Mapping[str, RecordKind[Any]],
        committed: Callable[[tuple[OperationLogEntry, ...]], None] = lambda entries: None,
    ) -> None:
        self.storage = storage
        self.kinds = kinds
        """The record kinds this CRM knows (built-in and declared by the host), by name."""
        self.clock = clock
        self.ids = ids
        self.notifier = notifier
        self.directory = directory
        self.plugins = plugins
        self.tz = ZoneInfo(timezone)
        self._committed = committed
        """Told the log entries of each committed operation (the facade passes them to the
        ``crmkit_after_commit`` hook together with itself)."""
        self._scopes = _ScopeCache()
        self._stamp: Stamp | None = None

    def declaration(self, kind: str, feature: Feature | None = None) -> RecordKind[Any]:
        """The declaration of ``kind`` (NotFound ``record_kind.not_found`` when no kind has that
        name); with ``feature``, RuleViolation ``record_kind.feature`` unless the kind takes
        part in it."""
        declaration = self.kinds.get(kind) if isinstance(kind, str) else None
        if declaration is None:
            known = ", ".join(self.kinds)
            raise NotFound("record_kind.not_found", f"未知的记录类型 {kind}（可用：{known}）",
                           f"unknown record kind {kind} (known: {known})")
        if feature is not None and not declaration.has(feature):
            raise RuleViolation("record_kind.feature",
                                f"{declaration.label_zh}不支持{feature.value}",
                                f"{declaration.label_en} records take no {feature.value}",
                                details={"kind": kind, "feature": feature.value})
        return declaration

    @contextmanager
    def operation(
        self, actor: Actor, module: Module, operation: Operation | None, *, system: bool = False
    ) -> Iterator[Op]:
        """Run one atomic operation as ``actor``: an active user (holding ``operation`` on
        ``module`` when given) or — only with ``system=True`` — the host's SystemActor."""
        if isinstance(actor, SystemActor) and not system:
            raise PermissionDenied("auth.system_actor",
                                   "系统身份只能执行后台任务",
                                   "the system actor runs background work only")
        if not isinstance(actor, str | User | SystemActor):
            raise _no_actor()
        with self.storage.transaction() as uow:
            user: User | None = None
            roles: list[Role] = []
            stamp: Stamp | None = None
            if not isinstance(actor, SystemActor):
                stamp = self._stamped(uow)
                user, roles = self._actor(uow, stamp, actor_id_of(actor))
            op = Op(uow, user, roles, self.clock.now(), self.ids,
                    system=actor if isinstance(actor, SystemActor) else None, stamp=stamp)
            if operation is not None:
                op.require(module, operation)
            yield op
            if op.entries:
                uow.oplog.add_many(op.entries)
            if op.notifications or op.entries:
                uow.after_commit(lambda: self._after_commit(op))

    def _stamped(self, uow: UnitOfWork) -> Stamp:
        """The :class:`Stamp` of the org version ``uow`` sees (one read of the version row)."""
        version = uow.org_version()
        stamp = self._stamp
        if stamp is None or stamp.version != version:
            stamp = self._stamp = Stamp(version)
        return stamp

    @staticmethod
    def _actor(uow: UnitOfWork, stamp: Stamp, user_id: str) -> tuple[User, list[Role]]:
        """The active user ``user_id`` and their roles, as of ``stamp`` (read when not kept)."""
        kept = stamp.actors.get(user_id)
        if kept is not None:
            return kept[0], list(kept[1])
        user = uow.users.get(user_id)
        if user is None or not user.active:
            raise PermissionDenied(
                "auth.inactive_user", "用户不存在或已停用", "unknown or disabled user"
            )
        roles = uow.roles.get_many(user.role_ids)
        actor = (user, tuple(roles))

        def keep() -> None:
            stamp.actors.setdefault(user_id, actor)

        uow.after_commit(keep)
        return user, roles

    def kept(self, op: Op, key: Hashable, read: Callable[[], T]) -> T:
        """``read()`` once per org version (kept under ``key``), or afresh in an operation
        that changed the org or the settings."""
        if op.changed:
            return read()
        if op.stamp is None:
            op.stamp = self._stamped(op.uow)
        values = op.stamp.values
        if key in values:
            return cast(T, values[key])
        if key not in op.kept:
            value = op.kept[key] = read()

            def keep() -> None:
                values.setdefault(key, value)

            op.uow.after_commit(keep)
        return cast(T, op.kept[key])

    def org_changed(self, op: Op) -> None:
        """``op`` changed the org (users, roles, departments, pools) or a setting that
        :meth:`kept` values derive from (field definitions): the org version moves in ``op``'s
        transaction, and ``op`` reads afresh from now on."""
        op.org_changed()

    def setting(self, op: Op, key: str) -> Any:
        """The setting ``key`` (None when unset), read once per org version (:meth:`kept`;
        :meth:`Op.put_setting` moves the version). A copy: what is kept stays as read."""
        return copy.deepcopy(self.kept(op, ("setting", key), lambda: op.uow.settings.get(key)))

    def _after_commit(self, op: Op) -> None:
        if op.notifications:
            try:
                self.notifier.send(op.notifications)
            except Exception:
                log.exception("notifier failed after commit")
        if op.entries:
            try:
                self._committed(tuple(op.entries))
            except Exception:
                log.exception("crmkit_after_commit hook failed")

    def org_index(self, op: Op) -> OrgIndex:
        """The org index of the current org version (shared, cached)."""
        return self._scopes.current(self.directory or op.uow, self._known_version(op),
                                    self._publish(op))[0]

    def _publish(self, op: Op) -> Callable[[Callable[[], None]], None] | None:
        """How what ``op`` read of crmkit's own org tables becomes shared: after its commit."""
        return op.uow.after_commit if self.directory is None else None

    def _known_version(self, op: Op) -> int | None:
        """The version of crmkit's own org tables ``op`` has read, if it still holds."""
        if self.directory is None and op.stamp is not None and not op.changed:
            return op.stamp.version
        return None

    def scope(self, op: Op, module: Module) -> RecordScope:
        """The actor's visible-record scope on ``module`` (cached per org version); the system
        sees everything."""
        if op.actor is None:
            return RecordScope.everything()
        if module in op.scopes:
            return op.scopes[module]
        directory: OrgDirectory = self.directory or op.uow
        index, scopes = self._scopes.current(directory, self._known_version(op),
                                             self._publish(op))
        key = (op.actor.id, module)
        scope = scopes.get(key)
        if scope is None:
            # Read after the version, never reused from the actor's kept roles: those may be
            # older than the version this scope is cached under (test_races: role flips).
            user = op.uow.users.get(op.actor.id)
            roles = op.uow.roles.get_many(user.role_ids) if user is not None else []
            pools: frozenset[str] = frozenset()
            if module in (Module.CUSTOMERS, Module.POOL):
                pools = frozenset(p.id for p in op.uow.pools.list()
                                  if op.actor.id in p.admin_ids
                                  or op.actor.id in pool_members(p, index))
            scope = scopes[key] = resolve_scope(index, op.actor.id, roles, module,
                                                pool_ids=pools)
        op.scopes[module] = scope
        return scope
