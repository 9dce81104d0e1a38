"""Storage port: repositories grouped in a unit of work, opened by :class:`Storage`.

Rules every adapter keeps (``crmkit.testing.StorageContract`` checks them):
- ``Storage.transaction()`` yields a unit of work; leaving the block normally commits, an
  exception rolls back everything written inside it. A transaction opened inside another one
  on the same thread joins it (a savepoint): an inner exception undoes only the inner writes.
- ``uow.after_commit(effect)`` runs ``effect`` once the OUTERMOST transaction (crmkit's or, when
  the storage joined one, the host's) commits, and never when the work it belongs to is rolled
  back — a nested transaction that rolls back drops the effects queued inside it.
- ``update(entity, expected_version=v)`` writes only when the stored version is ``v`` and stores
  ``entity`` (whose version the caller already incremented); otherwise it raises ``Conflict``.
- Unique values (user mobile, role name, department sibling names are *not* unique) raise
  ``Conflict`` with code ``<kind>.<field>_taken``.
- ``get`` returns None for a missing id; listing order is stable (by id unless stated).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar, overload

from crmkit.entities import (
    Department,
    OperationLogEntry,
    OrgSnapshot,
    Role,
    User,
    UserStatus,
)
from crmkit.entities.kinds import RecordKind
from crmkit.entities.records import Comment, Scene
from crmkit.entities.sales import PriceChange, ProductCategory, StageChange, StageGroup
from crmkit.entities.statistics import Target
from crmkit.entities.tasks import Tag
from crmkit.ports.approvals import (
    ApprovalRepository,
    PaymentPlanRepository,
    SequenceRepository,
)
from crmkit.ports.entity_store import EntityStore
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


class DepartmentRepository(Protocol):
    def get(self, department_id: str) -> Department | None: ...
    def list(self) -> list[Department]: ...
    def add(self, department: Department) -> None: ...
    def update(self, department: Department, *, expected_version: int) -> None: ...
    def delete(self, department_id: str) -> None: ...
    def count_children(self, department_id: str) -> int: ...


class UserRepository(Protocol):
    def get(self, user_id: str) -> User | None: ...
    def get_by_mobile(self, mobile: str) -> User | None: ...
    def names(self, user_ids: Iterable[str]) -> dict[str, str]:
        """User id → name for the existing users among ``user_ids`` (unknown ids are skipped):
        what a report shows beside its figures, without loading whole users."""
        ...
    def list(
        self,
        *,
        department_id: str | None = None,
        role_id: str | None = None,
        status: UserStatus | None = None,
    ) -> list[User]: ...
    def add(self, user: User) -> None: ...
    def update(self, user: User, *, expected_version: int) -> None: ...
    def count_in_department(self, department_id: str) -> int: ...


class RoleRepository(Protocol):
    def get(self, role_id: str) -> Role | None: ...
    def get_by_code(self, code: str) -> Role | None: ...
    def get_many(self, role_ids: Iterable[str]) -> list[Role]: ...
    def list(self) -> list[Role]: ...
    def add(self, role: Role) -> None: ...
    def update(self, role: Role, *, expected_version: int) -> None: ...
    def delete(self, role_id: str) -> None: ...


class OperationLogRepository(Protocol):
    def add_many(self, entries: Sequence[OperationLogEntry]) -> None: ...
    def for_record(
        self, record_kind: str, record_id: str, *, limit: int = 100,
        actor_ids: Collection[str] | None = None,
    ) -> list[OperationLogEntry]:
        """Entries of one record, newest first (ties broken by id, newest first); with
        ``actor_ids`` only those of these actors."""
        ...


T = TypeVar("T")


class UnitOfWork(Protocol):
    """One atomic piece of work. Also an :class:`~crmkit.ports.org.OrgDirectory` over own tables."""

    @property
    def departments(self) -> DepartmentRepository: ...
    @property
    def users(self) -> UserRepository: ...
    @property
    def roles(self) -> RoleRepository: ...
    @property
    def oplog(self) -> OperationLogRepository: ...

    # -- business records and their shared features (crmkit.ports.records) --
    @overload
    def records(self, kind: RecordKind[T]) -> RecordRepository[T]: ...
    @overload
    def records(self, kind: str) -> RecordRepository[Any]: ...
    def records(self, kind: str | RecordKind[Any]) -> RecordRepository[Any]:
        """The repository of one record kind by declaration (typed: ``RecordRepository[T]``
        for a ``RecordKind[T]``) or by name (``lead``, ``customer`` …: untyped); unknown kind
        → KeyError."""
        ...

    @property
    def team(self) -> TeamRepository: ...
    @property
    def fields(self) -> FieldRepository: ...
    @property
    def scenes(self) -> EntityStore[Scene]: ...
    @property
    def columns(self) -> ColumnRepository: ...
    @property
    def followups(self) -> FollowUpRepository: ...
    @property
    def attachments(self) -> AttachmentRepository: ...
    @property
    def settings(self) -> SettingsRepository: ...
    @property
    def stage_groups(self) -> EntityStore[StageGroup]: ...
    @property
    def categories(self) -> EntityStore[ProductCategory]: ...
    @property
    def price_changes(self) -> EntityStore[PriceChange]: ...
    @property
    def stage_changes(self) -> EntityStore[StageChange]: ...
    @property
    def pools(self) -> PoolRepository: ...
    @property
    def comments(self) -> EntityStore[Comment]: ...
    @property
    def links(self) -> RecordLinkRepository: ...

    # -- tasks and the workbench (crmkit.ports.workbench) --
    @property
    def tags(self) -> EntityStore[Tag]: ...
    @property
    def placements(self) -> PlacementRepository: ...

    # -- the dashboard (crmkit.ports.statistics) --
    @property
    def targets(self) -> EntityStore[Target]: ...
    @property
    def statistics(self) -> StatisticsRepository: ...

    # -- approvals, contracts and payments (crmkit.ports.approvals) --
    @property
    def approvals(self) -> ApprovalRepository: ...
    @property
    def sequences(self) -> SequenceRepository: ...
    @property
    def plans(self) -> PaymentPlanRepository: ...

    # -- the reminder scan (crmkit.ports.reminders) --
    @property
    def reminders(self) -> SentReminderRepository: ...

    def org_version(self) -> int:
        """Current org version; 0 for an empty store."""
        ...

    def bump_org_version(self) -> int:
        """Increment and return the org version. Serialises concurrent org changes."""
        ...

    def org_snapshot(self) -> OrgSnapshot:
        """All departments and users, light, at the current version."""
        ...

    def lock_job(self, name: str) -> None:
        """Hold the lock of the scheduled job ``name`` (the pool sweep, a reminder scan) until
        this unit of work ends: the same job started in another process at the same time waits,
        then sees this one's committed work — the job is done once, whatever the process count."""
        ...

    def after_commit(self, effect: Callable[[], None]) -> None:
        """Run ``effect`` when the outermost transaction commits; drop it if this unit of work
        (or any transaction around it) rolls back."""
        ...


class Storage(Protocol):
    def transaction(self) -> AbstractContextManager[UnitOfWork]:
        """Open a unit of work: commit on normal exit, roll back on exception."""
        ...

    def create_schema(self) -> None:
        """Create whatever the store needs (idempotent)."""
        ...

