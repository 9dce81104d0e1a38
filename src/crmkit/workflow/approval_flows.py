"""审批流 configuration (``crm.approvals.define_flow`` …): one flow per record kind, defined,
replaced and switched on/off by holders of the ``approvals`` module's ``approve_config``
permission. A flow is validated as a graph (:func:`crmkit.policies.approvals.validate_flow`),
for texts every backend stores, and against the org: named members and admins must be existing
users, a ROLE node an existing role, a condition's field one the kind declares. No flow for a
kind = approval not required (无需审批) on submit, like a disabled flow."""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation
from crmkit.entities.approvals import (
    ApprovalFlow,
    ApproverNode,
    ApproverSource,
    ConditionNode,
    ConditionOp,
    FlowNode,
    NoApproverPolicy,
    ResubmitFrom,
)
from crmkit.errors import Conflict, FieldError, NotFound, ValidationError
from crmkit.policies import approvals as engine
from crmkit.serialization import structure, to_dict
from crmkit.workflow.approval_kinds import ApprovalKind, ApprovalKinds
from crmkit.workflow.operations import ActorRef, Op, Runtime

FLOW = "approval_flow"
"""Record kind of flow definitions in the operation log."""
TEXT_MAX = 200


@attrs.frozen
class FlowInput:
    """A flow definition payload (the id and version are crmkit's)."""

    kind: str
    name: str
    nodes: tuple[FlowNode, ...]
    start: str
    enabled: bool = True
    no_approver: NoApproverPolicy = NoApproverPolicy.AUTO_PASS
    admin_ids: tuple[str, ...] = ()
    resubmit_from: ResubmitFrom = ResubmitFrom.FIRST


def _text_problems(value: Any, at: str) -> list[FieldError]:
    """Texts of a flow document that no backend stores: NUL characters, or over 200 long."""
    if isinstance(value, str):
        if "\x00" in value or len(value) > TEXT_MAX:
            return [FieldError(at, "flow.bad_text", f"文本过长（>{TEXT_MAX}）或含 NUL 字符",
                               f"text longer than {TEXT_MAX} or with a NUL character")]
        return []
    if isinstance(value, Mapping):
        return [e for k, v in value.items() for e in _text_problems(v, f"{at}.{k}")]
    if isinstance(value, list | tuple):
        return [e for i, v in enumerate(value) for e in _text_problems(v, f"{at}[{i}]")]
    return []


class ApprovalFlows(ApprovalKinds):
    """The flows of every registered kind."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__()
        self._rt = runtime

    def define_flow(self, actor: ActorRef, data: FlowInput | Mapping[str, Any], *,
                    expected_version: int | None = None) -> ApprovalFlow:
        """Define the flow of ``data["kind"]``, or replace it (same id, version + 1). Running
        approvals keep the snapshot they were submitted with."""
        payload = structure(data, FlowInput)
        self._kind(payload.kind)
        with self._rt.operation(actor, Module.APPROVALS, Operation.APPROVE_CONFIG) as op:
            old = op.uow.approvals.flow(payload.kind)
            if expected_version is not None and (old is None or old.version != expected_version):
                raise Conflict("version_conflict", "审批流已被他人修改",
                               "the flow was changed by someone else")
            flow = ApprovalFlow(
                id=old.id if old is not None else self._rt.ids.new_id(), kind=payload.kind,
                name=payload.name.strip(), nodes=payload.nodes, start=payload.start,
                enabled=payload.enabled, no_approver=payload.no_approver,
                admin_ids=payload.admin_ids, resubmit_from=payload.resubmit_from,
                version=old.version + 1 if old is not None else 1)
            self._check_flow(op, self._kind(payload.kind), flow)
            op.uow.approvals.put_flow(flow, expected_version=old.version if old else None)
            op.log(FLOW, flow.id, "update" if old else "create",
                   (FieldChange("version", old.version if old else None, flow.version),))
            return flow

    def _check_flow(self, op: Op, entry: ApprovalKind, flow: ApprovalFlow) -> None:
        """The graph rules, texts every backend stores, and every id and field the flow
        names known (users, departments, roles; the kind's fields)."""
        errors = _text_problems(to_dict(flow), "$")
        if errors:
            raise ValidationError(errors)
        errors = engine.validate_flow(flow)
        if not flow.name:
            errors.append(FieldError("$.name", "required", "$.name 不能为空", "$.name is required"))
        users = {u.id for u in op.uow.users.list()}
        roles = {r.id for r in op.uow.roles.list()}
        departments = {d.id for d in op.uow.departments.list()}
        known = {ConditionOp.USER: users, ConditionOp.DEPARTMENT: departments,
                 ConditionOp.ROLE: roles}
        fields = entry.field_names(op) if entry.field_names is not None else None
        for n, node in enumerate(flow.nodes):
            if not isinstance(node, ConditionNode):
                continue
            for b, branch in enumerate(node.branches):
                for c, condition in enumerate(branch.conditions):
                    at = f"$.nodes[{n}].branches[{b}].conditions[{c}]"
                    if condition.op.on_submitter:
                        if not condition.ids <= known[condition.op]:
                            errors.append(FieldError(f"{at}.ids", "flow.unknown_id",
                                                     "条件引用了不存在的用户/部门/角色",
                                                     "the condition names an unknown id"))
                    elif fields is not None and condition.field not in fields:
                        errors.append(FieldError(f"{at}.field", "flow.unknown_field",
                                                 "条件引用了不存在的字段",
                                                 "the condition reads an unknown field"))
        unknown_user = ("flow.unknown_user", "用户不存在", "no such user")
        for i, admin in enumerate(flow.admin_ids):
            if admin not in users:
                errors.append(FieldError(f"$.admin_ids[{i}]", unknown_user[0], *unknown_user[1:]))
        for n, node in enumerate(flow.nodes):
            if not isinstance(node, ApproverNode):
                continue
            for i, member in enumerate(node.member_ids):
                if member not in users:
                    errors.append(FieldError(f"$.nodes[{n}].member_ids[{i}]", unknown_user[0],
                                             *unknown_user[1:]))
            if node.source is ApproverSource.ROLE and node.role_id and node.role_id not in roles:
                errors.append(FieldError(f"$.nodes[{n}].role_id", "flow.unknown_role",
                                         "角色不存在", "no such role"))
        if errors:
            raise ValidationError(errors)

    def set_flow_enabled(self, actor: ActorRef, kind: str, enabled: bool) -> ApprovalFlow:
        """启用/停用: a disabled flow approves on submit (无需审批)."""
        with self._rt.operation(actor, Module.APPROVALS, Operation.APPROVE_CONFIG) as op:
            old = self._flow(op, kind)
            if old.enabled == enabled:
                return old
            new = attrs.evolve(old, enabled=bool(enabled), version=old.version + 1)
            op.uow.approvals.put_flow(new, expected_version=old.version)
            op.log(FLOW, new.id, "enable" if enabled else "disable",
                   (FieldChange("enabled", old.enabled, new.enabled),))
            return new

    def flow(self, actor: ActorRef, kind: str) -> ApprovalFlow | None:
        """The flow of ``kind`` (None = approval not required)."""
        self._kind(kind)
        with self._rt.operation(actor, Module.APPROVALS, None) as op:
            return op.uow.approvals.flow(kind)

    def flows(self, actor: ActorRef) -> builtins.list[ApprovalFlow]:
        """Every approval flow configured, of every kind (needs the approvals module)."""
        with self._rt.operation(actor, Module.APPROVALS, None) as op:
            return op.uow.approvals.flows()

    @staticmethod
    def _flow(op: Op, kind: str) -> ApprovalFlow:
        flow = op.uow.approvals.flow(kind)
        if flow is None:
            raise NotFound("approval_flow.not_found", "该业务类型没有审批流",
                           f"no approval flow for {kind}")
        return flow
