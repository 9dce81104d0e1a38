"""Memory repositories for business records and their shared features (the reference)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from datetime import date, datetime
from typing import Any, Generic, TypeVar

import attrs

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
from crmkit.entities.timeline import FOLLOWUP_ITEM, TimelineKey
from crmkit.errors import Conflict
from crmkit.policies.conflicts import exists, taken, version_conflict
from crmkit.policies.query_eval import field_value, page_of, record_matches
from crmkit.ports.entity_store import EntityKind
from crmkit.ports.records import Child

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
E = TypeVar("E")
Undo = Callable[[], None]


class UndoDict(Generic[K, V]):
    """A dict whose writes push their inverse onto the storage's undo log."""

    def __init__(self, undo: list[Undo]) -> None:
        self.rows: dict[K, V] = {}
        self._undo = undo

    def _set(self, key: K, value: V) -> None:
        if key in self.rows:
            old = self.rows[key]
            self._undo.append(lambda: self.rows.__setitem__(key, old))
        else:
            self._undo.append(lambda: self._forget(key))
        self.rows[key] = value

    def _forget(self, key: K) -> None:
        self.rows.pop(key, None)

    def _replace(self, key: K, value: V, expected_version: int, kind: str) -> None:
        """Store ``value`` under ``key`` when the stored one has ``expected_version``; missing
        or stale → ``Conflict(version_conflict)``."""
        current = self.rows.get(key)
        if current is None or getattr(current, "version", None) != expected_version:
            raise version_conflict(kind, str(key))
        self._set(key, value)

    def _drop(self, key: K) -> None:
        if key in self.rows:
            old = self.rows.pop(key)
            self._undo.append(lambda: self.rows.__setitem__(key, old))


class MemoryTeam(UndoDict[tuple[str, str, str], TeamMember]):
    def members(self, record_kind: str, record_id: str) -> list[TeamMember]:
        return sorted(
            (m for (k, r, _), m in self.rows.items() if (k, r) == (record_kind, record_id)),
            key=lambda m: m.user_id,
        )

    def put_many(self, members: Sequence[TeamMember]) -> None:
        for m in members:
            self._set((m.record_kind, m.record_id, m.user_id), m)

    def remove(self, record_kind: str, record_id: str, user_id: str) -> None:
        self._drop((record_kind, record_id, user_id))

    def remove_user(self, record_kind: str, record_ids: Sequence[str], user_id: str) -> None:
        for record_id in record_ids:
            self._drop((record_kind, record_id, user_id))

    def members_many(self, record_kind: str, record_ids: Sequence[str]) -> list[TeamMember]:
        wanted = set(record_ids)
        return sorted((m for (k, r, _), m in self.rows.items() if k == record_kind and r in wanted),
                      key=lambda m: (m.record_id, m.user_id))

    def clear(self, record_kind: str, record_ids: Sequence[str]) -> None:
        wanted = set(record_ids)
        for key in [k for k in self.rows if k[0] == record_kind and k[1] in wanted]:
            self._drop(key)

    def access_of(self, record_kind: str, record_id: str, user_id: str) -> TeamMember | None:
        return self.rows.get((record_kind, record_id, user_id))

    def user_ids(self, record_kind: str, record_id: str) -> list[str]:
        return [m.user_id for m in self.members(record_kind, record_id)]


class MemoryRecords(UndoDict[str, Any]):
    """Records of one kind; queries run the reference interpreter over every row."""

    def __init__(self, kind: str, undo: list[Undo], team: MemoryTeam,
                 unique_fields: Sequence[str] = ()) -> None:
        super().__init__(undo)
        self.kind = kind
        self._team = team
        self._unique = tuple(unique_fields)

    def _check_unique(self, record: Any) -> None:
        """Another record holding a unique field's value → ``Conflict(<kind>.<field>_taken)``;
        empty values (None: ``""`` is stored as None, :meth:`_stored`) never clash."""
        for field in self._unique:
            value = getattr(record, field)
            if value is None:
                continue
            if any(getattr(r, field) == value and r.id != record.id for r in self.rows.values()):
                raise taken(self.kind, field)

    def get(self, record_id: str) -> Any | None:
        return self.rows.get(record_id)

    def get_many(self, record_ids: Sequence[str]) -> list[Any]:
        return [self.rows[i] for i in sorted(set(record_ids)) if i in self.rows]

    def _stored(self, record: Any) -> Any:
        """``record`` as stored: a unique field's ``""`` becomes None (as on SQL)."""
        blank = {f: None for f in self._unique if getattr(record, f) == ""}
        return attrs.evolve(record, **blank) if blank else record

    def add(self, record: Any) -> None:
        if record.id in self.rows:
            raise exists(self.kind, record.id)
        record = self._stored(record)
        self._check_unique(record)
        self._set(record.id, record)

    def add_many(self, records: Sequence[Any]) -> None:
        for record in records:
            self.add(record)

    def update(self, record: Any, *, expected_version: int, previous: Any | None = None
               ) -> None:
        record = self._stored(record)
        self._check_unique(record)
        self._replace(record.id, record, expected_version, self.kind)

    def update_many(self, records: Sequence[Any], expected_versions: Sequence[int],
                    previous: Sequence[Any] | None = None) -> None:
        for record, expected in zip(records, expected_versions, strict=True):
            current = self.rows.get(record.id)
            if current is None or current.version != expected:
                raise version_conflict(self.kind, record.id)
        for record, expected in zip(records, expected_versions, strict=True):
            self.update(record, expected_version=expected)

    def delete(self, record_id: str) -> None:
        self._drop(record_id)

    def _visible(self, query: RecordQuery) -> list[Any]:
        scope = query.scope
        return [
            r for r in self.rows.values()
            if scope.admits(r.owner_id, self._team.user_ids(self.kind, r.id),
                            getattr(r, "pool_id", None))
            and record_matches(r, query.conditions, query.keyword)
        ]

    def query(self, query: RecordQuery) -> list[Any]:
        return page_of(self._visible(query), query.sort, query.after, query.limit)

    def count(self, query: RecordQuery) -> int:
        found = len(self._visible(query))
        return found if query.total_limit is None else min(found, query.total_limit + 1)

    def find_equal(self, field: FieldRef, value: Any, *, limit: int = 10) -> list[Any]:
        found = [r for r in self.rows.values() if field_value(r, field) == value]
        return sorted(found, key=lambda r: r.id)[:limit]

    def reassign(self, record_ids: Sequence[str], owner_id: str | None, at: datetime, *,
                 versions: Mapping[str, int] | None = None) -> int:
        changed = 0
        for record_id in dict.fromkeys(record_ids):
            record = self.rows.get(record_id)
            if record is not None and (versions is None
                                       or versions.get(record_id) == record.version):
                extra = ({"received_at": at, "pool_warned_at": None}
                         if hasattr(record, "received_at") else {})
                self._set(record_id, attrs.evolve(
                    record, owner_id=owner_id, version=record.version + 1, updated_at=at,
                    **extra))
                changed += 1
        return changed

    def lock_values(self, field: str, values: Sequence[Any]) -> None:
        """Memory transactions are serial already."""

    def children_of(self, field: str, parent_ids: Sequence[str]) -> list[Child]:
        wanted = set(parent_ids)
        return sorted(Child(r.id, r.owner_id, getattr(r, field), r.version)
                      for r in self.rows.values() if getattr(r, field) in wanted)


class MemoryFields(UndoDict[tuple[str, str], FieldDefinition]):
    def list(self, kind: str) -> list[FieldDefinition]:
        return sorted((d for (k, _), d in self.rows.items() if k == kind),
                      key=lambda d: (d.order, d.key))

    def add(self, definition: FieldDefinition) -> None:
        key = (definition.kind, definition.key)
        if key in self.rows:
            raise Conflict("field.key_taken", "字段已存在", f"field {definition.key} exists")
        self._set(key, definition)

    def update(self, definition: FieldDefinition, *, expected_version: int) -> None:
        key = (definition.kind, definition.key)
        self._replace(key, definition, expected_version, "field")



class MemoryColumns(UndoDict[tuple[str, str], ColumnConfig]):
    def get(self, user_id: str, record_kind: str) -> ColumnConfig | None:
        return self.rows.get((user_id, record_kind))

    def put(self, config: ColumnConfig) -> None:
        self._set((config.user_id, config.record_kind), config)


class MemoryFollowUps(UndoDict[str, FollowUp]):
    def add(self, followup: FollowUp) -> None:
        self._set(followup.id, followup)

    def for_record(self, record_kind: str, record_id: str, *, limit: int = 100) -> list[FollowUp]:
        mine = [f for f in self.rows.values()
                if (f.record_kind, f.record_id) == (record_kind, record_id)]
        return sorted(mine, key=lambda f: (f.at, f.id), reverse=True)[:limit]

    def for_records(self, records: Sequence[RecordRef], *, before: TimelineKey | None = None,
                    limit: int = 100) -> list[FollowUp]:
        wanted = set(records)
        mine = [f for f in self.rows.values()
                if RecordRef(f.record_kind, f.record_id) in wanted
                and (before is None or TimelineKey(f.at, FOLLOWUP_ITEM, f.id) < before)]
        return sorted(mine, key=lambda f: (f.at, f.id), reverse=True)[:limit]


class MemoryAttachments(UndoDict[str, Attachment]):
    def get(self, attachment_id: str) -> Attachment | None:
        return self.rows.get(attachment_id)

    def add(self, attachment: Attachment) -> None:
        self._set(attachment.id, attachment)

    def delete(self, attachment_id: str) -> None:
        self._drop(attachment_id)

    def for_record(self, record_kind: str, record_id: str) -> list[Attachment]:
        mine = [a for a in self.rows.values()
                if (a.record_kind, a.record_id) == (record_kind, record_id)]
        return sorted(mine, key=lambda a: (a.uploaded_at, a.id))


class MemoryLinks(UndoDict[RecordLink, RecordLink]):
    """相关业务 links, each its own key."""

    def replace(self, source: RecordRef, targets: Sequence[RecordRef]) -> None:
        self.clear(source.kind, [source.id])
        for target in targets:
            link = RecordLink(source.kind, source.id, target.kind, target.id)
            self._set(link, link)

    def sources(self, source_kind: str, targets: Sequence[RecordRef]) -> list[RecordLink]:
        wanted = set(targets)
        return sorted((link for link in self.rows if link.source_kind == source_kind
                       and link.target in wanted),
                      key=lambda link: (link.target_kind, link.target_id, link.source_id))

    def clear(self, source_kind: str, source_ids: Sequence[str]) -> None:
        wanted = set(source_ids)
        for link in [k for k in self.rows if k.source_kind == source_kind
                     and k.source_id in wanted]:
            self._drop(link)

    def unlink(self, target: RecordRef) -> None:
        for link in [k for k in self.rows if k.target == target]:
            self._drop(link)


class MemorySettings(UndoDict[str, JSONValue]):
    def get(self, key: str) -> JSONValue:
        return self.rows.get(key)

    def put(self, key: str, value: JSONValue) -> None:
        self._set(key, value)


class MemoryEntities(UndoDict[str, E]):
    """The generic :class:`~crmkit.ports.entity_store.EntityStore` of one
    :class:`~crmkit.ports.entity_store.EntityKind` (the reference for the SQL one)."""

    def __init__(self, undo: list[Undo], kind: EntityKind[E]) -> None:
        super().__init__(undo)
        self.kind = kind

    def get(self, entity_id: str) -> E | None:
        return self.rows.get(entity_id)

    def list(self, **equal: object) -> list[E]:
        chosen = [e for e in self.rows.values()
                  if all(getattr(e, name) == value for name, value in equal.items())]
        return sorted(chosen, key=lambda e: tuple(getattr(e, a) for a in self.kind.order),
                      reverse=self.kind.descending)

    def add(self, entity: E) -> None:
        self._set(getattr(entity, "id"), entity)  # noqa: B009 - E is any attrs class with an id

    def update(self, entity: E, *, expected_version: int) -> None:
        self._replace(getattr(entity, "id"), entity, expected_version,  # noqa: B009
                      self.kind.kind)

    def delete(self, entity_id: str) -> None:
        self._drop(entity_id)


class MemorySentReminders(UndoDict[str, tuple[date, datetime]]):
    """Sent reminder keys with their due day and send time; the storage lock serialises
    transactions, so a key is recorded by one of them."""

    def record(self, sent: Sequence[tuple[str, date]], at: datetime) -> set[str]:
        fresh: set[str] = set()
        for key, due in sent:
            if key not in self.rows:
                self._set(key, (due, at))
                fresh.add(key)
        return fresh

    def sent(self, keys: Sequence[str]) -> set[str]:
        return {key for key in keys if key in self.rows}
