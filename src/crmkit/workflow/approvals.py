"""审批流 Approval flows and approvals through the facade (``crm.approvals``).

Kinds (contract, payment, or a host's kind added with ``register_kind``):
:mod:`crmkit.workflow.approval_kinds`; flows: :mod:`crmkit.workflow.approval_flows`. Here:
submitting, acting and reading.

Approvals: one instance per record (resubmission continues it). The submitter must be able to
edit the record; approvers need no permission on the module — being a current approver *is* the
permission (:func:`crmkit.policies.approvals.act`). Every action, in the same transaction:
updates the instance (versioned: of two approvers of a 或签 step acting at the same moment one
wins, the other gets ``Conflict`` ``version_conflict``), writes the record's
``approval_status``, adds an operation-log entry ``approval.<action>`` on the record (so it is
on the record's timeline) with the status change and the comment, notifies the approvers whose
turn begins (``approval.todo``) and, when the approval ends, the submitter
(``approval.approved`` / ``approval.rejected``), then lets the kind react (a contract approved
makes its customer 已成交; a payment approved counts as received).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmkit.entities import (
    SUPER_ADMIN_CODE,
    FieldChange,
    Module,
    Notification,
    Operation,
    UserStatus,
)
from crmkit.entities.approvals import (
    ApprovalAction,
    ApprovalFlow,
    ApprovalInstance,
    ApprovalStatus,
    ApproverNode,
    ApproverSource,
    ResubmitFrom,
)
from crmkit.errors import FieldError, NotFound, PermissionDenied, ValidationError
from crmkit.policies import approvals as engine
from crmkit.workflow.approval_flows import ApprovalFlows
from crmkit.workflow.approval_kinds import Approval, ApprovalKind
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import bounded_int

COMMENT_MAX = 1000
LIMIT_MAX = 500
RECORD_ID_MAX = 64


def _comment(comment: str) -> str:
    if not isinstance(comment, str) or len(comment) > COMMENT_MAX or "\x00" in comment:
        raise ValidationError.at("$.comment", "approval.bad_comment",
                                 f"意见须为不超过 {COMMENT_MAX} 字的文本",
                                 f"the comment must be text of at most {COMMENT_MAX} "
                                 "characters")
    return comment.strip()


def _no_approval() -> NotFound:
    return NotFound("approval.not_found", "该记录没有审批", "no approval for this record")


def _chosen(chosen: Mapping[str, Sequence[str]] | None) -> dict[str, tuple[str, ...]]:
    if chosen is None:
        return {}
    if not isinstance(chosen, Mapping) or not all(
            isinstance(k, str) and isinstance(v, list | tuple) and all(isinstance(u, str)
                                                                    for u in v)
            for k, v in chosen.items()):
        raise ValidationError.at("$.chosen", "type", "须为 节点编号 → 用户编号列表",
                                 "must map node ids to lists of user ids")
    return {k: tuple(v) for k, v in chosen.items()}


class ApprovalService(ApprovalFlows):
    """Flows and approvals of every registered kind: ``crm.approvals``."""

    # -- submitting -----------------------------------------------------------------------------
    def route(self, actor: ActorRef, kind: str, record_id: str, *,
              values: Mapping[str, Any] | None = None) -> tuple[ApproverNode, ...]:
        """The approver nodes a submission would pass now — the SUBMITTER_CHOOSES ones need
        ``chosen`` at submit. Empty when approval is not required."""
        entry = self._kind(kind)
        with self._rt.operation(actor, entry.module, self._submit_right(entry)) as op:
            record = self._load(op, entry, record_id, for_edit=True)
            flow = op.uow.approvals.flow(kind)
            if flow is None or not flow.enabled:
                return ()
            return engine.route(flow, self._values(op, entry, record, values), op.user_id,
                                self._rt.org_index(op), self._role_ids(op))

    def submit(self, actor: ActorRef, kind: str, record_id: str, *,
               chosen: Mapping[str, Sequence[str]] | None = None, comment: str = "",
               values: Mapping[str, Any] | None = None) -> Approval:
        """提交审批 (or 重新提交 after 拒绝/撤回). ``chosen`` names the approvers of the flow's
        审批人自选 nodes; ``values`` are a host kind's condition values."""
        entry = self._kind(kind)
        with self._rt.operation(actor, entry.module, self._submit_right(entry)) as op:
            record = self._load(op, entry, record_id, for_edit=True)
            return self.submit_in(op, entry, record_id, record, chosen=chosen, comment=comment,
                                  values=values)

    def submit_in(self, op: Op, entry: ApprovalKind | str, record_id: str, record: Any, *,
                  chosen: Mapping[str, Sequence[str]] | None = None, comment: str = "",
                  values: Mapping[str, Any] | None = None) -> Approval:
        """Submit inside a running operation (a contract created and submitted at once)."""
        if isinstance(entry, str):
            entry = self._kind(entry)
        picks, note = _chosen(chosen), _comment(comment)
        before = op.uow.approvals.for_record(entry.kind, record_id)
        flow = op.uow.approvals.flow(entry.kind)
        index = self._rt.org_index(op)
        facts = self._values(op, entry, record, values)
        if before is not None:
            if (before.status in (ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN)
                    and before.submitter_id != op.user_id):
                # whoever may edit the record now (a new owner after a transfer) resubmits
                before = attrs.evolve(before, submitter_id=op.user_id)
            people = self._people(op, flow or self._no_flow(entry.kind), picks)
            if flow is not None and self._resume(op, flow, before, facts, people):
                after = engine.act(before, op.user_id, ApprovalAction.RESUBMIT, now=op.now,
                                   comment=note)
            else:
                restart = attrs.evolve(before, resubmit_from=ResubmitFrom.FIRST)
                after = engine.resubmit(restart, op.user_id, flow or self._no_flow(entry.kind),
                                        facts, index, now=op.now, comment=note, **people)
        elif flow is None:
            after = engine.submit(self._no_flow(entry.kind), facts, op.user_id, index,
                                  record_id=record_id, instance_id=self._rt.ids.new_id(),
                                  now=op.now, comment=note)
        else:
            after = engine.submit(flow, facts, op.user_id, index, record_id=record_id,
                                  instance_id=self._rt.ids.new_id(), now=op.now, comment=note,
                                  **self._people(op, flow, picks))
        action = ApprovalAction.SUBMIT if before is None else ApprovalAction.RESUBMIT
        return self._apply(op, entry, record, before, after, action, note)

    @staticmethod
    def _no_flow(kind: str) -> ApprovalFlow:
        """No flow defined: submissions are not required to be approved (无需审批)."""
        return ApprovalFlow("", kind, "", (), "", enabled=False)

    def _resume(self, op: Op, flow: ApprovalFlow, before: ApprovalInstance,
                facts: Mapping[str, Any], people: Mapping[str, Any]) -> bool:
        """Resubmission continues at the stopping step only when the flow says so, is the
        same flow and still enabled, the record (as edited since) still takes the same route,
        and someone of the stopping step can still act — otherwise it starts over from the
        first node, so an edit never skips a node it now needs."""
        if (before.resubmit_from is not ResubmitFrom.REJECTING or before.flow_id != flow.id
                or not flow.enabled or before.current_step is None
                or engine.submitter_approves(before)):
            return False
        route = engine.route(flow, facts, before.submitter_id, self._rt.org_index(op),
                             people["submitter_role_ids"])
        passed = {e.node_id for e in before.history if e.action is ApprovalAction.AUTO_PASS}
        if {n.id for n in route} != {s.node_id for s in before.steps} | passed:
            return False
        return any(u not in people["disabled_user_ids"]
                   for u in before.current_step.approver_ids)

    @staticmethod
    def _submit_right(entry: ApprovalKind) -> Operation | None:
        """Submitting changes the record: the module's ``edit`` (a host kind: the host's call)."""
        return Operation.EDIT if entry.load is not None else None

    def _people(self, op: Op, flow: ApprovalFlow, chosen: Mapping[str, Sequence[str]]
                ) -> dict[str, Any]:
        """Role holders, the submitter's roles and the disabled users, read once."""
        role_ids = {n.role_id for n in flow.nodes
                    if isinstance(n, ApproverNode) and n.source is ApproverSource.ROLE
                    and n.role_id}
        holders = {rid: [u.id for u in op.uow.users.list(role_id=rid, status=UserStatus.ACTIVE)]
                   for rid in sorted(role_ids)}
        return {"role_holders": holders, "submitter_role_ids": self._role_ids(op),
                "chosen": chosen, "disabled_user_ids": self._disabled(op),
                "super_admin_ids": self._super_admins(op)}

    @staticmethod
    def _super_admins(op: Op) -> tuple[str, ...]:
        """The active 超级管理员: they decide a node only the submitter could approve."""
        role = op.uow.roles.get_by_code(SUPER_ADMIN_CODE)
        if role is None:
            return ()
        return tuple(u.id for u in op.uow.users.list(role_id=role.id, status=UserStatus.ACTIVE))

    @staticmethod
    def _disabled(op: Op) -> frozenset[str]:
        """Disabled users never approve (one read)."""
        return frozenset(u.id for u in op.uow.users.list(status=UserStatus.DISABLED))

    @staticmethod
    def _role_ids(op: Op) -> frozenset[str]:
        return frozenset(op.actor.role_ids) if op.actor is not None else frozenset()

    @staticmethod
    def _values(op: Op, entry: ApprovalKind, record: Any, values: Mapping[str, Any] | None
                ) -> Mapping[str, Any]:
        """The values flow conditions read: a built-in record's own, or a host's ``values`` —
        plain JSON values (see :func:`~crmkit.policies.approvals.plain_value`) under the
        kind's declared fields, if it declared any."""
        if entry.values is not None and record is not None:
            return entry.values(record)
        if values is None:
            return {}
        if not isinstance(values, Mapping):
            raise ValidationError.at("$.values", "type", "须为对象", "must be an object")
        known = entry.field_names(op) if entry.field_names is not None else None
        errors = [FieldError(f"$.values.{key}", "unknown_field", "没有这个字段", "no such field")
                  for key in values if known is not None and key not in known]
        errors += [FieldError(f"$.values.{key}", "flow.bad_value",
                              "须为文本、有限数字、布尔值或由它们组成的短列表",
                              "must be text, a finite number, a boolean or a short list of those")
                   for key, value in values.items()
                   if not isinstance(key, str) or not engine.plain_value(value)]
        if errors:
            raise ValidationError(errors)
        return values

    # -- acting ---------------------------------------------------------------------------------
    def approve(self, actor: ActorRef, kind: str, record_id: str, comment: str = "") -> Approval:
        """同意: a current approver of the record's approval approves."""
        return self._act(actor, kind, record_id, ApprovalAction.APPROVE, comment)

    def reject(self, actor: ActorRef, kind: str, record_id: str, comment: str) -> Approval:
        """拒绝 (a comment is required): the approval ends rejected."""
        return self._act(actor, kind, record_id, ApprovalAction.REJECT, comment)

    def withdraw(self, actor: ActorRef, kind: str, record_id: str, comment: str = "") -> Approval:
        """撤回: the submitter takes a running approval back."""
        return self._act(actor, kind, record_id, ApprovalAction.WITHDRAW, comment)

    def _act(self, actor: ActorRef, kind: str, record_id: str, action: ApprovalAction,
             comment: str) -> Approval:
        entry = self._kind(kind)
        note = _comment(comment)
        with self._rt.operation(actor, entry.module, None) as op:
            before = self._instance(op, entry, record_id)
            record = self._load(op, entry, record_id, for_edit=False, check=False)
            after = engine.act(before, op.user_id, action, now=op.now, comment=note)
            return self._apply(op, entry, record, before, after, action, note)

    def transfer(self, actor: ActorRef, kind: str, record_id: str, from_user_id: str,
                 to_user_id: str, comment: str = "") -> Approval:
        """转交: hand ``from_user_id``'s turn at the current step to ``to_user_id`` — done by
        that approver, by a flow admin, or by a holder of ``approvals.approve_config`` (e.g.
        when the approver left: a disabled user never approves). The new approver is
        notified; the step keeps its order and the votes already cast."""
        entry = self._kind(kind)
        note = _comment(comment)
        bad = [FieldError(path, "type", f"{path} 须为用户编号", f"{path} must be a user id")
               for path, value in (("$.from_user_id", from_user_id),
                                   ("$.to_user_id", to_user_id)) if not isinstance(value, str)]
        if bad:
            raise ValidationError(bad)
        with self._rt.operation(actor, entry.module, None) as op:
            flow = op.uow.approvals.flow(kind)
            me = op.user_id
            admin = me in (flow.admin_ids if flow else ()) or op.grants(
                Module.APPROVALS, Operation.APPROVE_CONFIG)
            found = self._instance(op, entry, record_id, trusted=admin)
            if me != from_user_id and not admin:
                raise PermissionDenied("approval.not_transferable",
                                       "只有审批人本人或审批管理员可以转交",
                                       "only the approver or an approval admin transfers")
            record = self._load(op, entry, record_id, for_edit=False, check=False)
            after = engine.transfer(found, me, from_user_id, to_user_id, now=op.now,
                                    comment=note, disabled_user_ids=self._disabled(op),
                                    known_user_ids=self._rt.org_index(op).department_of)
            return self._apply(op, entry, record, found, after, ApprovalAction.TRANSFER, note)

    def void_in(self, op: Op, entry: ApprovalKind | str, record_id: str, record: Any,
                comment: str = "") -> Approval:
        """作废 inside an operation whose caller checked who may void (the kind's service).
        A record never submitted gets a voided instance too, so its status reads 作废."""
        if isinstance(entry, str):
            entry = self._kind(entry)
        note = _comment(comment)
        before = op.uow.approvals.for_record(entry.kind, record_id)
        if before is None:
            base = ApprovalInstance(self._rt.ids.new_id(), entry.kind, record_id, "", 0,
                                    op.user_id, ApprovalStatus.DRAFT)
            after = engine.act(base, op.user_id, ApprovalAction.VOID, now=op.now, comment=note)
            after = attrs.evolve(after, version=1)
        else:
            after = engine.act(before, op.user_id, ApprovalAction.VOID, now=op.now, comment=note)
        return self._apply(op, entry, record, before, after, ApprovalAction.VOID, note)

    def void(self, actor: ActorRef, kind: str, record_id: str, comment: str = "") -> Approval:
        """作废 a host kind's approval (needs the ``approvals`` module's ``delete``); crmkit's
        own kinds are voided through their services (``crm.contracts.void``)."""
        entry = self._kind(kind)
        if entry.load is not None:
            raise PermissionDenied("approval.void_via_record",
                                   "请通过对应业务作废", "void this record through its own service")
        with self._rt.operation(actor, Module.APPROVALS, Operation.DELETE) as op:
            return self.void_in(op, entry, record_id, None, comment)

    def _apply(self, op: Op, entry: ApprovalKind, record: Any,
               before: ApprovalInstance | None, after: ApprovalInstance,
               action: ApprovalAction, comment: str) -> Approval:
        """Store the instance, log, notify, and let the kind react."""
        if before is None:
            op.uow.approvals.add(after)
        else:
            op.uow.approvals.update(after, expected_version=before.version)
        old_status = before.status if before is not None else ApprovalStatus.DRAFT
        changes = [FieldChange("approval_status", old_status.value, after.status.value)]
        last = after.history[-1]
        if last.action is ApprovalAction.TRANSFER:
            changes.append(FieldChange("approver", last.from_user_id, last.to_user_id))
        op.log(entry.kind, after.record_id, f"approval.{action.value}", tuple(changes), comment)
        for user_id in sorted(engine.newly_waiting(before, after)):
            op.notify(Notification(
                user_id, "approval.todo", f"有一条{entry.label_zh}待您审批",
                f"a {entry.label_en} waits for your approval", entry.kind, after.record_id,
                {"instance_id": after.id}))
        ended = {ApprovalStatus.APPROVED: "approved", ApprovalStatus.REJECTED: "rejected"}
        if after.status in ended and old_status is not after.status:
            outcome = ended[after.status]
            zh = "已通过" if outcome == "approved" else "被拒绝"
            op.notify(Notification(
                after.submitter_id, f"approval.{outcome}", f"您提交的{entry.label_zh}{zh}",
                f"your {entry.label_en} was {outcome}", entry.kind, after.record_id,
                {"instance_id": after.id}))
        if entry.react is not None:
            record = entry.react(op, record, after)
        return Approval(after, record)

    # -- reading --------------------------------------------------------------------------------
    def instance(self, actor: ActorRef, kind: str, record_id: str) -> ApprovalInstance | None:
        """The record's approval with its history (审批记录); None before the first submit.
        Readable by whoever sees the record, its submitter and every approver of the snapshot."""
        entry = self._kind(kind)
        with self._rt.operation(actor, entry.module, None) as op:
            found = self._stored(op, kind, record_id)
            if found is not None and self._involved(op, found):
                return found
            if entry.load is None:  # a host's record: only the people involved read it
                raise _no_approval()
            self._load(op, entry, record_id, for_edit=False)
            return found

    def record(self, actor: ActorRef, kind: str, record_id: str) -> Any:
        """The record under approval, for its submitter and approvers even outside their
        data scope (an approver must see what they decide); NotFound for anyone else who
        cannot see it."""
        entry = self._kind(kind)
        with self._rt.operation(actor, entry.module, None) as op:
            found = self._stored(op, kind, record_id)
            if found is not None and self._involved(op, found):
                return self._load(op, entry, record_id, for_edit=False, check=False)
            return self._load(op, entry, record_id, for_edit=False)

    def waiting(self, actor: ActorRef, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        """待我审批: approvals whose current step waits for the actor, oldest first."""
        limit = bounded_int(limit, "$.limit", 1, LIMIT_MAX)
        with self._rt.operation(actor, Module.APPROVALS, None) as op:
            return op.uow.approvals.waiting_for(op.user_id, limit=limit)

    def submitted(self, actor: ActorRef, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        """我提交的: the actor's submissions, newest first."""
        limit = bounded_int(limit, "$.limit", 1, LIMIT_MAX)
        with self._rt.operation(actor, Module.APPROVALS, None) as op:
            return op.uow.approvals.submitted_by(op.user_id, limit=limit)

    @staticmethod
    def _involved(op: Op, instance: ApprovalInstance) -> bool:
        me = op.user_id
        return me == instance.submitter_id or any(me in s.approver_ids for s in instance.steps)

    @staticmethod
    def _stored(op: Op, kind: str, record_id: str) -> ApprovalInstance | None:
        return op.uow.approvals.for_record(kind, record_id) if isinstance(
            record_id, str) else None

    def _instance(self, op: Op, entry: ApprovalKind, record_id: str, *,
                  trusted: bool = False) -> ApprovalInstance:
        """The record's approval for someone involved in it (or ``trusted``, an admin), or
        who sees the record; anyone else gets the answer of a record without an approval."""
        found = self._stored(op, entry.kind, record_id)
        if found is None or not (trusted or self._involved(op, found)):
            if found is None or entry.load is None:
                raise _no_approval()
            try:
                self._load(op, entry, record_id, for_edit=False)
            except NotFound:  # out of scope: the answer of a missing id, no other
                raise _no_approval() from None
        return found

    @staticmethod
    def _load(op: Op, entry: ApprovalKind, record_id: str, *, for_edit: bool,
              check: bool = True) -> Any:
        if entry.load is None:
            if (not isinstance(record_id, str) or not record_id.strip()
                    or len(record_id) > RECORD_ID_MAX or "\x00" in record_id):
                raise ValidationError.at("$.record_id", "invalid",
                                         f"记录编号须为 1..{RECORD_ID_MAX} 个字符",
                                         f"a record id of 1..{RECORD_ID_MAX} characters "
                                         "is required")
            return None
        if not check:
            record = op.uow.records(entry.kind).get(record_id)
            if record is None:
                raise NotFound("record.not_found",
                               f"{entry.label_zh}不存在", f"{entry.kind} {record_id} not found")
            return record
        return entry.load(op, record_id, for_edit)
