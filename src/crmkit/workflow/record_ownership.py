"""Who owns and who shares a record (DESIGN §4): 转移 transfer of one record or many, the
相关团队 team (read-only or read-write members) and the user hand-over — for every declared kind,
as its features allow (:attr:`~crmkit.entities.kinds.Feature.TRANSFER`,
:attr:`~crmkit.entities.kinds.Feature.TEAM`; otherwise RuleViolation ``record_kind.feature``).
"""

from __future__ import annotations

import builtins
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Generic

import attrs

from crmkit.entities import FieldChange, Notification, Operation, User
from crmkit.entities.kinds import Feature, RecordKind
from crmkit.entities.records import Access, TeamMember
from crmkit.errors import NotFound, PermissionDenied, ValidationError
from crmkit.policies.conflicts import version_conflict
from crmkit.policies.validation import field_error
from crmkit.ports.records import RecordRepository
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.record_access import E, RecordAccess

FEATURE_METHODS: Mapping[str, Feature] = {
    "transfer": Feature.TRANSFER, "team": Feature.TEAM, "add_team_member": Feature.TEAM,
    "remove_team_member": Feature.TEAM, "related_to": Feature.RELATED}
"""Methods of every record service that only kinds taking part in the feature answer (the
others refuse with RuleViolation ``record_kind.feature``, before any permission check)."""


def answers(declaration: RecordKind[Any], method: str) -> bool:
    """Whether the service of a kind so declared answers ``method`` (:data:`FEATURE_METHODS`)."""
    feature = FEATURE_METHODS.get(method)
    return feature is None or declaration.has(feature)


Cascade = Callable[[Op, Sequence[Any], str, "Access | None"], None]
"""Moves related records along with a transfer: ``(op, records, to_user_id, keep_access)``."""


@attrs.frozen
class TransferReport:
    """How many records changed owner (records the target owned already are not counted)."""

    moved: int
    to_user_id: str


class RecordOwnership(Generic[E]):
    """The owner-and-team half of a record service (the record service builds it)."""

    _rt: Runtime
    _access: RecordAccess
    declaration: RecordKind[E]
    _cascades: Mapping[str, Cascade]

    @property
    def kind(self) -> str:
        return self.declaration.kind

    def _takes(self, feature: Feature) -> None:
        """RuleViolation ``record_kind.feature`` unless this kind takes part in ``feature``."""
        self._rt.declaration(self.kind, feature)

    def _repo(self, op: Op) -> RecordRepository[E]:
        return op.uow.records(self.declaration)

    def _before_transfer(self, op: Op, records: Sequence[E], target: User) -> None:
        """Rules a transfer must pass as a whole (e.g. the owned-customer limit)."""

    def _team_changed(self, op: Op, record_ids: Sequence[str]) -> None:
        """Follow-up writes after the teams of these records changed (e.g. a task's
        participants follow its team)."""

    def transfer(
        self,
        actor: ActorRef,
        record_ids: Iterable[str],
        to_user_id: str,
        *,
        keep_old_owner: Access | str | None = None,
        move_related: Iterable[str] = (),
        cascade: bool | None = None,
    ) -> TransferReport:
        """转移: give records to another active user, all or none; optionally keep each old
        owner on the team (read-only or read-write).

        ``move_related`` names the related kinds that move along, each on its own (a
        customer's ``contact``, ``opportunity``, ``contract`` — a contract with its payments):
        their records the old owner owned follow, each from the version read (a concurrent
        change of one → ``Conflict`` ``version_conflict``, nothing moved); an unknown name →
        ValidationError ``$.move_related[i]`` ``invalid``. ``cascade=True`` (deprecated)
        moves every related kind."""
        self._takes(Feature.TRANSFER)
        if cascade is not None:
            warnings.warn("transfer(cascade=…) is deprecated: name the related kinds in "
                          "move_related=(…)", DeprecationWarning, stacklevel=3)
        ids = list(dict.fromkeys(record_ids))
        keep = Access(keep_old_owner) if keep_old_owner is not None else None
        with self._rt.operation(actor, self.declaration.module, Operation.TRANSFER) as op:
            related = self._related(list(self._cascades) if cascade else list(move_related))
            target = op.uow.users.get(to_user_id) if isinstance(to_user_id, str) else None
            if target is None or not target.active:
                raise ValidationError([field_error("$.to_user_id", "not_found")])
            records = self._access.editable_many(op, self.kind, ids)
            self._before_transfer(op, records, target)
            moved = self.move_owner(op, records, target, keep, action="transfer")
            for follow in related:
                follow(op, records, target.id, keep)
            return TransferReport(moved, target.id)

    def _related(self, names: Sequence[str]) -> builtins.list[Cascade]:
        """The cascades ``names`` choose, in their declared order (ValidationError for a name
        this kind moves nothing of)."""
        known = ", ".join(self._cascades) or "-"
        errors = [field_error(f"$.move_related[{i}]", "invalid", f" ({known})")
                  for i, name in enumerate(names) if name not in self._cascades]
        if errors:
            raise ValidationError(errors)
        return [cascade for name, cascade in self._cascades.items() if name in names]

    def move_owner(self, op: Op, records: Sequence[E], target: User, keep: Access | None,
                   *, action: str) -> int:
        """Set-based owner change with team bookkeeping, log entries and one notification;
        returns how many records changed owner (those the target owned already do not).

        Each record changes only from the version read (of two racing transfers one wins, the
        other gets ``Conflict`` ``version_conflict``), so the log describes what happened."""
        moving = [r for r in records if r.owner_id != target.id]
        if not moving:
            return 0
        versions = {r.id: r.version for r in moving}
        if self._repo(op).reassign(builtins.list(versions), target.id, op.now,
                                   versions=versions) != len(versions):
            raise version_conflict()
        if keep is not None:
            op.uow.team.put_many([
                TeamMember(self.kind, r.id, r.owner_id, keep) for r in moving if r.owner_id
            ])
        op.uow.team.remove_user(self.kind, [r.id for r in moving], target.id)
        self._team_changed(op, [r.id for r in moving])
        for record in moving:
            op.log(self.kind, record.id, action,
                   (FieldChange("owner_id", record.owner_id, target.id),))
        op.notify(Notification(
            target.id, f"{self.kind}.{action}",
            f"你收到了 {len(moving)} 条{self.declaration.label_zh}",
            f"{len(moving)} {self.declaration.label_en} record(s) were given to you",
            self.kind, moving[0].id if len(moving) == 1 else None, {"count": len(moving)},
        ))
        return len(moving)

    def team(self, actor: ActorRef, record_id: str) -> builtins.list[TeamMember]:
        """The record's team members (相关团队) with their access; the record must be visible."""
        self._takes(Feature.TEAM)
        with self._rt.operation(actor, self.declaration.module, Operation.VIEW) as op:
            self._access.visible(op, self.kind, record_id)
            return op.uow.team.members(self.kind, record_id)

    def add_team_member(self, actor: ActorRef, record_id: str, user_id: str,
                        access: Access | str = Access.READ) -> TeamMember:
        """相关团队: the owner (or a team-manage holder) adds a member, read-only or read-write;
        both need the module's ``edit`` permission and edit rights on the record."""
        self._takes(Feature.TEAM)
        with self._rt.operation(actor, self.declaration.module, Operation.EDIT) as op:
            record = self._team_manager(op, record_id)
            user = op.uow.users.get(user_id) if isinstance(user_id, str) else None
            if user is None or not user.active:
                raise ValidationError([field_error("$.user_id", "not_found")])
            try:
                level = Access(access)
            except ValueError:
                raise ValidationError([field_error("$.access", "invalid")]) from None
            if user.id == record.owner_id:
                raise ValidationError([field_error("$.user_id", "team.owner")])
            member = TeamMember(self.kind, record.id, user.id, level)
            old = op.uow.team.access_of(self.kind, record.id, user.id)
            op.uow.team.put_many([member])
            op.log(self.kind, record.id, "team_add", (FieldChange(
                f"team.{user.id}", old.access.value if old else None, level.value),))
            self._team_changed(op, [record.id])
            return member

    def remove_team_member(self, actor: ActorRef, record_id: str, user_id: str) -> None:
        """Take a member off the team (the rights of :meth:`add_team_member`)."""
        self._takes(Feature.TEAM)
        with self._rt.operation(actor, self.declaration.module, Operation.EDIT) as op:
            record = self._team_manager(op, record_id)
            old = op.uow.team.access_of(self.kind, record.id, user_id)
            if old is None:
                raise NotFound("team.not_member", "不是团队成员", "not a team member")
            op.uow.team.remove(self.kind, record.id, user_id)
            op.log(self.kind, record.id, "team_remove",
                   (FieldChange(f"team.{user_id}", old.access.value, None),))
            self._team_changed(op, [record.id])

    def _team_manager(self, op: Op, record_id: str) -> E:
        record: E = self._access.editable(op, self.kind, record_id)
        if record.owner_id != op.actor_id and not op.grants(self.declaration.module,
                                                            Operation.TEAM_MANAGE):
            raise PermissionDenied("team.not_owner", "只有负责人可以管理团队成员",
                                   "only the owner manages the team")
        return record

    # -- hand-over ------------------------------------------------------------------------------
    def hand_over(self, op: Op, from_user_id: str, to_user_id: str) -> int:
        """Move every record of this kind from one owner to another (the org hand-over), each
        from the version read: a record changed meanwhile → ``Conflict``, nothing moved."""
        repo = self._repo(op)
        versions = {c.id: c.version for c in repo.children_of("owner_id", [from_user_id])}
        if not versions:
            return 0
        if repo.reassign(builtins.list(versions), to_user_id, op.now,
                         versions=versions) != len(versions):
            raise version_conflict(self.kind)
        for rid in versions:
            op.log(self.kind, rid, "hand_over",
                   (FieldChange("owner_id", from_user_id, to_user_id),))
        return len(versions)
