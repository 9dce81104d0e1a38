"""Storage port for business records and the shared record features (DESIGN §4).

Rules every adapter keeps (``crmkit.testing.RecordStorageContract`` checks them):
- ``query`` returns exactly the records the reference interpreter
  (:mod:`crmkit.policies.query_eval`) returns: scope ∧ conditions, in sort order, after the
  cursor, at most ``limit``; ``count`` ignores sort, cursor and limit.
- ``scope`` is evaluated like :meth:`RecordScope.admits`, with team grants read from the team
  members of the same record kind and ``pool_ids`` matched against a record's ``pool_id``
  attribute when the kind has one.
- ``reassign`` is one set-based statement: owner set, version + 1, ``updated_at`` set, and
  ``received_at`` set too on kinds that have it (customers: the day the owner got it), and
  ``pool_warned_at`` cleared on kinds that have it (a new owner gets a fresh warning).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol, TypeVar

from crmkit.entities import JSONValue
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.query import FieldRef, RecordQuery
from crmkit.entities.records import (
    Attachment,
    ColumnConfig,
    FollowUp,
    RecordLink,
    RecordRef,
    TeamMember,
)
from crmkit.entities.timeline import TimelineKey

T = TypeVar("T")


class Child(NamedTuple):
    """A record that points at a parent (a customer's contact …): what a cascade reads to move
    it, with the version read so the move is conditioned on it."""

    id: str
    owner_id: str | None
    parent_id: str
    version: int


class RecordRepository(Protocol[T]):
    """Records of one kind (leads, customers …), entities of type ``T``: attrs classes with
    ``id``, ``owner_id``, ``version``, ``updated_at`` and ``custom``
    (:data:`crmkit.entities.kinds.RECORD_ATTRIBUTES`)."""

    def get(self, record_id: str) -> T | None: ...
    def get_many(self, record_ids: Sequence[str]) -> list[T]: ...
    def add(self, record: T) -> None: ...
    def add_many(self, records: Sequence[T]) -> None: ...
    def update(self, record: T, *, expected_version: int, previous: T | None = None) -> None:
        """Write ``record`` if the stored one is still at ``expected_version`` (else
        ``Conflict``). ``previous``, the record as read, lets a store write only what
        changed; the outcome is the same without it."""
        ...
    def update_many(self, records: Sequence[T], expected_versions: Sequence[int],
                    previous: Sequence[T] | None = None) -> None:
        """``update`` of many records at once (one executemany, unique values checked with
        one query per field): any stale or missing one → ``Conflict`` (the caller's
        transaction then rolls back, so nothing is written)."""
        ...
    def delete(self, record_id: str) -> None: ...
    def query(self, query: RecordQuery) -> list[T]: ...
    def count(self, query: RecordQuery) -> int:
        """How many rows the scope and conditions admit; with ``query.total_limit`` the count
        may stop once it passes the limit (it is then ``total_limit + 1``)."""
        ...
    def find_equal(self, field: FieldRef, value: Any, *, limit: int = 10) -> list[T]:
        """Records whose ``field`` equals ``value`` (duplicate checks), any owner, any scope."""
        ...
    def reassign(self, record_ids: Sequence[str], owner_id: str | None, at: datetime, *,
                 versions: Mapping[str, int] | None = None) -> int:
        """Set the owner of these records in one statement; returns how many changed. With
        ``versions`` (id → the version the caller read) only the records still at that version
        change: a concurrent writer's change makes the count fall short."""
        ...
    def lock_values(self, field: str, values: Sequence[Any]) -> None:
        """Serialise, until the transaction ends, every writer that checks or claims one of
        these values of ``field`` (a unique value; the customer whose primary contact is being
        chosen): a check-then-write of the same value then runs one writer after the other,
        and the later one sees the earlier one's committed row."""
        ...
    def children_of(self, field: str, parent_ids: Sequence[str]) -> list[Child]:
        """The :class:`Child` rows (id, owner, parent, version) of the records whose system
        field ``field`` (e.g. ``customer_id``, or ``owner_id`` for a user's records) is one of
        ``parent_ids``, by id — one statement per chunk of ids."""
        ...


class TeamRepository(Protocol):
    def members(self, record_kind: str, record_id: str) -> list[TeamMember]: ...
    def put_many(self, members: Sequence[TeamMember]) -> None:
        """Insert or update (access) each member."""
        ...
    def remove(self, record_kind: str, record_id: str, user_id: str) -> None: ...
    def remove_user(self, record_kind: str, record_ids: Sequence[str], user_id: str) -> None:
        """Take one user off the teams of many records (set-based)."""
        ...
    def members_many(self, record_kind: str, record_ids: Sequence[str]) -> list[TeamMember]:
        """Team members of many records at once."""
        ...
    def clear(self, record_kind: str, record_ids: Sequence[str]) -> None: ...
    def access_of(self, record_kind: str, record_id: str, user_id: str) -> TeamMember | None: ...


class FieldRepository(Protocol):
    """Custom field definitions (system ones are built in)."""

    def list(self, kind: str) -> list[FieldDefinition]: ...
    def add(self, definition: FieldDefinition) -> None: ...
    def update(self, definition: FieldDefinition, *, expected_version: int) -> None: ...



class ColumnRepository(Protocol):
    def get(self, user_id: str, record_kind: str) -> ColumnConfig | None: ...
    def put(self, config: ColumnConfig) -> None: ...


class FollowUpRepository(Protocol):
    def add(self, followup: FollowUp) -> None: ...
    def for_record(self, record_kind: str, record_id: str, *, limit: int = 100) -> list[FollowUp]:
        """Newest first (by ``at``, then id)."""
        ...
    def for_records(self, records: Sequence[RecordRef], *, before: TimelineKey | None = None,
                    limit: int = 100) -> list[FollowUp]:
        """At most ``limit`` follow-ups of any of ``records``, newest first (by ``at``, then id,
        descending) — with ``before``, only those whose timeline key ``(at, "followup", id)``
        lies below it. One statement."""
        ...


class AttachmentRepository(Protocol):
    def get(self, attachment_id: str) -> Attachment | None: ...
    def add(self, attachment: Attachment) -> None: ...
    def delete(self, attachment_id: str) -> None: ...
    def for_record(self, record_kind: str, record_id: str) -> list[Attachment]: ...


class RecordLinkRepository(Protocol):
    """相关业务 links (:class:`~crmkit.entities.records.RecordLink`): which records a record
    names (a task's related customers, its tags …), one row per link, so the reverse question
    — which tasks name this customer — is one indexed lookup, never a scan of documents."""

    def replace(self, source: RecordRef, targets: Sequence[RecordRef]) -> None:
        """The links of ``source`` become exactly ``targets`` (duplicates ignored)."""
        ...
    def sources(self, source_kind: str, targets: Sequence[RecordRef]) -> list[RecordLink]:
        """The links from records of ``source_kind`` to any of ``targets``, sorted (by target
        kind, target id, then source id): one statement per chunk of targets."""
        ...
    def clear(self, source_kind: str, source_ids: Sequence[str]) -> None:
        """Drop every link of these sources (set-based)."""
        ...
    def unlink(self, target: RecordRef) -> None:
        """Drop every link to ``target`` (a deleted tag), in one statement."""
        ...


class SettingsRepository(Protocol):
    """Organisation settings as JSON values (follow-up methods, attachment limits …)."""

    def get(self, key: str) -> JSONValue: ...
    def put(self, key: str, value: JSONValue) -> None: ...



