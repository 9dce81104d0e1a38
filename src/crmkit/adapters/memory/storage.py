"""The reference storage: plain dicts, one lock, an undo log for rollback.

A transaction holds the storage lock from start to end (transactions are serial), writes go
straight into the dicts and every write records how to undo it; an exception replays the undo
log backwards; the effects queued with ``after_commit`` run only when the outermost transaction
commits. That keeps reads trivial and makes this adapter the executable definition of the
storage contract.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Generic, Protocol, TypeVar

from crmkit.adapters.effects import Effect, PendingEffects, run_effects
from crmkit.adapters.memory.approvals import (
    MemoryApprovals,
    MemoryPaymentPlans,
    MemorySequences,
)
from crmkit.adapters.memory.pool import MemoryPools
from crmkit.adapters.memory.records import (
    MemoryAttachments,
    MemoryColumns,
    MemoryEntities,
    MemoryFields,
    MemoryFollowUps,
    MemoryLinks,
    MemoryRecords,
    MemorySentReminders,
    MemorySettings,
    MemoryTeam,
)
from crmkit.adapters.memory.statistics import MemoryStatistics
from crmkit.adapters.memory.workbench import MemoryPlacements
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
from crmkit.entities.contracts import CONTRACT, PAYMENT
from crmkit.entities.kinds import RecordKind, kind_name, with_host_kinds
from crmkit.policies.conflicts import exists, taken, version_conflict
from crmkit.ports import (
    DepartmentRepository,
    OperationLogRepository,
    RoleRepository,
    UserRepository,
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
)


class _Versioned(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...


E = TypeVar("E", bound=_Versioned)
Undo = Callable[[], None]


class _Table(Generic[E]):
    """An id → entity dict whose writes push their inverse onto the transaction's undo log."""

    def __init__(self, kind: str, undo: list[Undo]) -> None:
        self.kind = kind
        self.rows: dict[str, E] = {}
        self._undo = undo

    def get(self, entity_id: str) -> E | None:
        return self.rows.get(entity_id)

    def list(self) -> list[E]:
        return [self.rows[k] for k in sorted(self.rows)]

    def _put(self, entity: E) -> None:
        old = self.rows.get(entity.id)
        self.rows[entity.id] = entity
        if old is None:

            def forget() -> None:
                self.rows.pop(entity.id, None)

            self._undo.append(forget)
        else:
            self._undo.append(lambda: self.rows.__setitem__(entity.id, old))

    def add(self, entity: E) -> None:
        if entity.id in self.rows:
            raise exists(self.kind, entity.id)
        self._put(entity)

    def update(self, entity: E, *, expected_version: int) -> None:
        current = self.rows.get(entity.id)
        if current is None or current.version != expected_version:
            raise version_conflict(self.kind, entity.id)
        self._put(entity)

    def delete(self, entity_id: str) -> None:
        old = self.rows.pop(entity_id, None)
        if old is not None:
            self._undo.append(lambda: self.rows.__setitem__(entity_id, old))


class MemoryDepartments(_Table[Department]):
    def count_children(self, department_id: str) -> int:
        return sum(1 for d in self.rows.values() if d.parent_id == department_id)


class MemoryUsers(_Table[User]):
    def _check_mobile(self, user: User) -> None:
        owner = self.get_by_mobile(user.mobile)
        if owner is not None and owner.id != user.id:
            raise taken("user", "mobile")

    def add(self, entity: User) -> None:
        self._check_mobile(entity)
        super().add(entity)

    def update(self, entity: User, *, expected_version: int) -> None:
        self._check_mobile(entity)
        super().update(entity, expected_version=expected_version)

    def get_by_mobile(self, mobile: str) -> User | None:
        return next((u for u in self.rows.values() if u.mobile == mobile), None)

    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        return {i: self.rows[i].name for i in set(user_ids) if i in self.rows}

    def list(
        self,
        *,
        department_id: str | None = None,
        role_id: str | None = None,
        status: UserStatus | None = None,
    ) -> list[User]:
        return [
            u
            for u in super().list()
            if (department_id is None or u.department_id == department_id)
            and (role_id is None or role_id in u.role_ids)
            and (status is None or u.status is status)
        ]

    def count_in_department(self, department_id: str) -> int:
        return sum(1 for u in self.rows.values() if u.department_id == department_id)


class MemoryRoles(_Table[Role]):
    def _check_unique(self, role: Role) -> None:
        for other in self.rows.values():
            if other.id == role.id:
                continue
            if other.name == role.name:
                raise taken("role", "name")
            if role.code is not None and other.code == role.code:
                raise taken("role", "code")

    def add(self, entity: Role) -> None:
        self._check_unique(entity)
        super().add(entity)

    def update(self, entity: Role, *, expected_version: int) -> None:
        self._check_unique(entity)
        super().update(entity, expected_version=expected_version)

    def get_by_code(self, code: str) -> Role | None:
        return next((r for r in self.rows.values() if r.code == code), None)

    def get_many(self, role_ids: Iterable[str]) -> list[Role]:
        return [self.rows[r] for r in sorted(set(role_ids)) if r in self.rows]


class MemoryOperationLog:
    def __init__(self, undo: list[Undo]) -> None:
        self.entries: list[OperationLogEntry] = []
        self._undo = undo

    def add_many(self, entries: Sequence[OperationLogEntry]) -> None:
        size = len(self.entries)
        self.entries.extend(entries)
        self._undo.append(lambda: self.entries.__delitem__(slice(size, None)))

    def for_record(
        self, record_kind: str, record_id: str, *, limit: int = 100,
        actor_ids: Collection[str] | None = None,
    ) -> list[OperationLogEntry]:
        mine = [
            e for e in self.entries if e.record_kind == record_kind and e.record_id == record_id
            and (actor_ids is None or e.actor_id in actor_ids)
        ]
        mine.sort(key=lambda e: (e.at, e.id), reverse=True)
        return mine[:limit]


class MemoryUnitOfWork:
    """The unit of work over :class:`MemoryStorage`'s dicts (valid only inside its transaction)."""

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        # Typed as the port's protocols, whose plain attributes are invariant.
        self.departments: DepartmentRepository = storage.departments
        self.users: UserRepository = storage.users
        self.roles: RoleRepository = storage.roles
        self.oplog: OperationLogRepository = storage.oplog
        self.team = storage.team
        self.fields = storage.fields
        self.scenes = storage.scenes
        self.columns = storage.columns
        self.followups = storage.followups
        self.attachments = storage.attachments
        self.settings = storage.settings
        self.stage_groups = storage.stage_groups
        self.categories = storage.categories
        self.price_changes = storage.price_changes
        self.stage_changes = storage.stage_changes
        self.pools = storage.pools
        self.comments = storage.comments
        self.links = storage.links
        self.tags = storage.tags
        self.placements = storage.placements
        self.targets = storage.targets
        self.statistics = storage.statistics
        self.approvals = storage.approvals
        self.sequences = storage.sequences
        self.plans = storage.plans
        self.reminders = storage.reminders

    def records(self, kind: str | RecordKind[Any]) -> MemoryRecords:
        """The repository of one record kind, by name or declaration; unknown → KeyError."""
        return self._storage.records[kind_name(kind)]

    def org_version(self) -> int:
        return self._storage.version

    def bump_org_version(self) -> int:
        old = self._storage.version
        self._storage.version = old + 1
        self._storage.undo.append(lambda: setattr(self._storage, "version", old))
        return old + 1

    def lock_job(self, name: str) -> None:
        """Nothing to do: the storage lock already serialises every unit of work."""

    def after_commit(self, effect: Effect) -> None:
        self._storage.effects.add(effect)

    def org_snapshot(self) -> OrgSnapshot:
        return OrgSnapshot(
            version=self._storage.version,
            units=tuple(OrgUnit(d.id, d.parent_id) for d in self.departments.list()),
            members=tuple(
                OrgMember(u.id, u.department_id, u.supervisor_id, u.active)
                for u in self.users.list()
            ),
        )


class MemoryStorage:
    """In-process storage: the reference adapter for tests and for hosts without a database.
    ``kinds``: the record kinds a host declared beyond crmkit's own."""

    def __init__(self, *, kinds: Iterable[RecordKind[Any]] = ()) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self.undo: list[Undo] = []
        self.effects = PendingEffects()
        self.version = 0
        self.departments = MemoryDepartments("department", self.undo)
        self.users = MemoryUsers("user", self.undo)
        self.roles = MemoryRoles("role", self.undo)
        self.oplog = MemoryOperationLog(self.undo)
        self.team = MemoryTeam(self.undo)
        self.records = {
            kind.kind: MemoryRecords(kind.kind, self.undo, self.team, kind.unique_fields)
            for kind in with_host_kinds(kinds).values()
        }
        self.fields = MemoryFields(self.undo)
        self.scenes = MemoryEntities(self.undo, SCENES)
        self.columns = MemoryColumns(self.undo)
        self.followups = MemoryFollowUps(self.undo)
        self.attachments = MemoryAttachments(self.undo)
        self.settings = MemorySettings(self.undo)
        self.stage_groups = MemoryEntities(self.undo, STAGE_GROUPS)
        self.categories = MemoryEntities(self.undo, CATEGORIES)
        self.price_changes = MemoryEntities(self.undo, PRICE_CHANGES)
        self.stage_changes = MemoryEntities(self.undo, STAGE_CHANGES)
        self.pools = MemoryPools(self.undo, self.records["customer"],
                                 self.records["opportunity"], self.team)
        self.comments = MemoryEntities(self.undo, COMMENTS)
        self.links = MemoryLinks(self.undo)
        self.tags = MemoryEntities(self.undo, TAGS)
        self.placements = MemoryPlacements(self.undo)
        self.targets = MemoryEntities(self.undo, TARGETS)
        self.approvals = MemoryApprovals(self.undo)
        self.sequences = MemorySequences(self.undo)
        self.plans = MemoryPaymentPlans(self.undo, self.records[PAYMENT],
                                        self.records[CONTRACT])
        self.statistics = MemoryStatistics({**self.records, "followup": self.followups,
                                            "payment_plan": self.plans})
        self.reminders = MemorySentReminders(self.undo)

    def create_schema(self) -> None:
        """Nothing to create; present for the Storage protocol."""

    @contextmanager
    def transaction(self) -> Iterator[MemoryUnitOfWork]:
        """Hold the storage lock for the whole transaction; an exception replays its undo log.

        A transaction inside another (same thread) is a savepoint: its exception undoes only its
        writes and drops only its effects. The effects queued with ``after_commit`` run after the
        outermost transaction commits, outside the lock.
        """
        with self._lock:
            outer = self.undo
            mark = len(outer)
            nested = self._depth > 0
            if nested:
                self.effects.push()
            self._depth += 1
            try:
                yield MemoryUnitOfWork(self)
            except BaseException:
                while len(outer) > mark:
                    outer.pop()()
                if nested:
                    self.effects.rollback_level()
                else:
                    self.effects.drop()
                raise
            finally:
                self._depth -= 1
            if nested:
                self.effects.release()
                return
            outer.clear()  # the outermost transaction committed: forget the undo log
            committed = self.effects.take()
        run_effects(committed)
