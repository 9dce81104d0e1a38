"""Who may read and who may edit a record of any declared kind.

- *visible*: the actor's scope admits the record (owner in scope, team member, pool member).
  Anything else is NotFound — the same answer as a missing id.
- *editable*: visible through the owner scope, or a read-write team member, or the actor is a
  超级管理员 (pool customers included); plus the operation permission. Visible but not
  editable → PermissionDenied (``record.read_only``).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeVar, cast

import attrs

from crmkit.entities import Module, Operation, RecordScope
from crmkit.entities.kinds import RecordKind
from crmkit.entities.records import Access
from crmkit.errors import NotFound, PermissionDenied
from crmkit.workflow.operations import Op, Runtime


class Record(Protocol):
    """What the record engine reads on every entity (a declaration checks its entity has
    :data:`~crmkit.entities.kinds.RECORD_ATTRIBUTES`)."""

    @property
    def id(self) -> str: ...
    @property
    def owner_id(self) -> str | None: ...
    @property
    def version(self) -> int: ...
    @property
    def custom(self) -> Mapping[str, Any]: ...


E = TypeVar("E", bound=Record)
"""The entity of a record service's kind."""


def evolved(record: E, **changes: Any) -> E:
    """A copy of a record with ``changes`` (``attrs.evolve``: every entity is an attrs class,
    which the :class:`Record` protocol cannot say)."""
    copy: E = attrs.evolve(cast(Any, record), **changes)
    return copy


def record_not_found(spec: RecordKind[Any], record_id: str) -> NotFound:
    """The one answer for a record that is missing or out of sight."""
    return NotFound("record.not_found", f"{spec.label_zh}不存在",
                    f"{spec.kind} {record_id} not found")


class RecordAccess:
    """Visibility and edit rights on records of any declared kind."""

    def __init__(self, runtime: Runtime) -> None:
        self._rt = runtime

    def module_of(self, kind: str) -> Module:
        """The permission module a record kind belongs to (``lead`` → ``leads``)."""
        return self._rt.declaration(kind).module

    def admits(self, op: Op, spec: RecordKind[Any], scope: RecordScope, record: Any,
               team: Sequence[str] | None = None) -> bool:
        """Owner and pool grants first; the team (``team``: its user ids, when the caller read
        them) is read only when they do not decide."""
        if (spec.kind, record.id) in op.created or scope.admits(
                record.owner_id, (), getattr(record, "pool_id", None)):
            return True
        if team is None:
            team = [m.user_id for m in op.uow.team.members(spec.kind, record.id)]
        return scope.admits(record.owner_id, team, getattr(record, "pool_id", None))

    def list_scope(self, op: Op, kind: str) -> RecordScope | None:
        """The scope the actor reads records of ``kind`` in (as its lists do); None without the
        view permission on the kind's module — then they see none of them."""
        module = self._rt.declaration(kind).module
        return self._rt.scope(op, module) if op.grants(module, Operation.VIEW) else None

    def visible(self, op: Op, kind: str, record_id: str) -> Any:
        """The record if the actor may read it; NotFound otherwise (missing or out of scope)."""
        spec = self._rt.declaration(kind)
        record = op.uow.records(kind).get(record_id) if isinstance(record_id, str) else None
        if record is None or not self.admits(op, spec, self._rt.scope(op, spec.module), record):
            raise record_not_found(spec, record_id)
        op.seen.add((kind, record_id))
        return record

    def can_edit(self, op: Op, kind: str, record: Any) -> bool:
        """Edit rights on a visible record: owner inside the actor's scope, a read-write team
        member, or a 超级管理员."""
        return record.id in self.editable_ids(op, kind, [record])

    def editable_ids(self, op: Op, kind: str, records: Sequence[Any]) -> set[str]:
        """The ids of the visible ``records`` the actor may edit (:meth:`can_edit`), set-based:
        one read of the teams of those the owner rule does not admit."""
        spec = self._rt.declaration(kind)
        scope = self._rt.scope(op, spec.module)
        editable = {r.id for r in records if op.is_super_admin or (r.owner_id is not None and (
            scope.all_records or r.owner_id in scope.owner_ids))}
        rest = [r.id for r in records if r.id not in editable]
        me = op.actor_id or ""
        editable.update(m.record_id for m in (op.uow.team.members_many(kind, rest) if rest else ())
                        if m.user_id == me and m.access is Access.WRITE)
        return editable

    def visible_many(self, op: Op, kind: str, record_ids: Sequence[str]
                     ) -> dict[str, Any]:
        """The records among ``record_ids`` the actor may read, by id (references in a payload:
        one out of scope is as unknown as a missing one). Set-based: one read of the records,
        one of the teams of those the owner and pool grants do not admit."""
        spec = self._rt.declaration(kind)
        scope = self._rt.scope(op, spec.module)
        found = op.uow.records(kind).get_many(builtins.list(record_ids))
        seen = {r.id: r for r in found if self.admits(op, spec, scope, r, ())}
        rest = [r.id for r in found if r.id not in seen]
        teams: dict[str, builtins.list[str]] = {}
        for member in op.uow.team.members_many(kind, rest) if rest else ():
            teams.setdefault(member.record_id, []).append(member.user_id)
        return {r.id: r for r in found
                if r.id in seen or self.admits(op, spec, scope, r, teams.get(r.id, []))}

    def check_editable(self, op: Op, kind: str, record: Any) -> None:
        if not self.can_edit(op, kind, record):
            raise PermissionDenied("record.read_only", "你对该记录只有只读权限",
                                   "read-only access to this record")

    def editable(self, op: Op, kind: str, record_id: str) -> Any:
        record = self.visible(op, kind, record_id)
        self.check_editable(op, kind, record)
        return record

    def editable_many(self, op: Op, kind: str, record_ids: Sequence[str]) -> builtins.list[Any]:
        """Many records the actor may edit, checked set-based (one read of the records, one of
        their teams); NotFound / PermissionDenied as for a single record, all or nothing."""
        spec = self._rt.declaration(kind)
        scope = self._rt.scope(op, spec.module)
        wanted = builtins.list(dict.fromkeys(record_ids))
        records = {r.id: r for r in op.uow.records(kind).get_many(wanted)}
        by_owner = {rid for rid, r in records.items()
                    if op.is_super_admin or (r.owner_id is not None and (
                        scope.all_records or r.owner_id in scope.owner_ids))}
        rest = [rid for rid in wanted if rid not in by_owner]
        team = {(m.record_id, m.user_id): m.access
                for m in (op.uow.team.members_many(kind, rest) if rest else ())}
        me = op.actor_id or ""
        for rid in rest:
            record = records.get(rid)
            access = team.get((rid, me))
            pooled = record is not None and getattr(record, "pool_id", None) in scope.pool_ids
            if record is None or (access is None and not pooled):
                raise record_not_found(spec, rid)
            if access is not Access.WRITE:
                raise PermissionDenied("record.read_only",
                                       "你对该记录只有只读权限", "read-only access to this record")
        return [records[rid] for rid in wanted]
