"""审批流 The approval engine as pure policy (DESIGN §5 "审批流").

Flows (:func:`validate_flow`): a flow is well formed when it has a start node, every ``next``
names a node of the flow, node ids are unique, every node is reachable from ``start``, there is
no cycle, every condition node has branches and every branch conditions (each well formed),
every approver node has a mode its source accepts, MEMBERS name someone (no one twice), ROLE
names a role, SUPERVISOR / SUPERVISOR_CHAIN ask for a level in 1..20, and an ADMIN no-approver
policy names admins. Problems come back as :class:`~crmkit.errors.FieldError` (path, stable
``flow.*`` code, zh/en message).

Submit (:func:`submit`): a disabled flow gives 无需审批 at once. Otherwise the graph is walked
from ``start`` (:func:`route`): a condition node takes its first branch, by ``priority`` (lowest
number first, ties in declaration order), whose conditions all hold, else ``default_next``; an
approver node becomes a step; an end node or ``next=None`` ends. Approvers are resolved now and
snapshotted (:func:`resolve_approvers`); only active, known users approve, each once per step:

- MEMBERS: the named users, in the order given;
- SUPERVISOR: the ``level``-th supervisor up the chain (1 = 直属上级). When it is missing (the
  chain is shorter) or disabled: nobody — or, with ``fallback_upward``, the nearest active
  supervisor above level N, else the highest active one below it (the top of a short chain);
- ROLE: the active holders of the role (``role_holders``);
- SUBMITTER_CHOOSES: ``chosen[node_id]``, which must name at least one user, all active, not
  the submitter (``approval.self_approver``);
- SUPERVISOR_CHAIN: the active supervisors of levels 1..``level``, one after another.

The submitter never approves their own submission, at any node: they are left out of every
node's approvers. A node whose only approver was the submitter goes to the organisation's active
超级管理员 other than the submitter (``super_admin_ids``) as a 或签 step. A node resolving to
nobody — or to the submitter alone with no other 超级管理员 — is skipped (AUTO_PASS, recorded
in the history) or handed to the flow's active admins other than the submitter as a 或签 step
(ADMIN; when the submitter is the only one, to the other 超级管理员; nobody →
``approval.no_approver``). A path without steps is approved at submit.

Acting (:func:`act`): only while 待审核/审核中, and only the current step's approvers (see
:attr:`~crmkit.entities.approvals.ApprovalStep.waiting_for`): SEQUENTIAL — the next one in
order; ALL (会签) — each approver once, all must approve; ANY (或签) — any one decides. One
rejection (comment required) rejects the instance. A completed step moves to the next; after
the last, 通过. Status is 待审核 while no approval is recorded, 审核中 after. Withdraw (撤回):
the submitter, while running. Resubmit (:func:`resubmit`): the submitter, after 拒绝 or 撤回 —
per the flow's setting at submit, from the first node (re-resolved through :func:`submit`,
same instance id) or from the stopping step of the snapshot (that step's votes cleared,
earlier steps keep theirs). Void (作废): from any status but 作废; *who* may void is the
workflow's permission check. Every success adds history and bumps ``version``; a refusal
raises and changes nothing (values are immutable).

Errors: ``PermissionDenied`` ``approval.not_your_turn`` / ``approval.not_submitter``;
``RuleViolation`` ``approval.bad_status`` / ``approval.bad_action`` / ``approval.no_approver``
/ ``approval.resubmit_from_first`` / ``approval.wrong_flow``; ``ValidationError``
``approval.comment_required`` / ``approval.approvers_required`` / ``approval.bad_approver`` /
``approval.self_approver``
and the ``flow.*`` codes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from crmkit.entities.approvals import (
    ApprovalAction,
    ApprovalEvent,
    ApprovalFlow,
    ApprovalInstance,
    ApprovalMode,
    ApprovalStatus,
    ApprovalStep,
    ApproverSource,
    NoApproverPolicy,
    ResubmitFrom,
)
from crmkit.errors import PermissionDenied, RuleViolation, ValidationError
from crmkit.policies.approval_flows import (
    MAX_VALUE_INT,
    MAX_VALUE_ITEMS,
    MAX_VALUE_TEXT,
    check_flow,
    plain_value,
    validate_flow,
)
from crmkit.policies.approval_routing import (
    NO_IDS,
    check_choices,
    condition_holds,
    disabled_members,
    resolve_approvers,
    route,
    supervisor_chain,
    unique_ids,
)
from crmkit.policies.scopes import OrgIndex

__all__ = [
    "MAX_VALUE_INT",
    "MAX_VALUE_ITEMS",
    "MAX_VALUE_TEXT",
    "NO_IDS",
    "TRANSITIONS",
    "act",
    "check_flow",
    "condition_holds",
    "current_approvers",
    "disabled_members",
    "newly_waiting",
    "plain_value",
    "resolve_approvers",
    "resubmit",
    "route",
    "submit",
    "submitter_approves",
    "supervisor_chain",
    "transfer",
    "validate_flow",
]

TRANSITIONS: frozenset[tuple[ApprovalStatus | None, ApprovalAction, ApprovalStatus]] = frozenset(
    {
        *((None, ApprovalAction.SUBMIT, s) for s in (
            ApprovalStatus.PENDING, ApprovalStatus.APPROVED, ApprovalStatus.NOT_REQUIRED)),
        *((s, ApprovalAction.APPROVE, t)
          for s in (ApprovalStatus.PENDING, ApprovalStatus.IN_REVIEW)
          for t in (ApprovalStatus.IN_REVIEW, ApprovalStatus.APPROVED)),
        *((s, a, t) for s in (ApprovalStatus.PENDING, ApprovalStatus.IN_REVIEW)
          for a, t in ((ApprovalAction.REJECT, ApprovalStatus.REJECTED),
                       (ApprovalAction.WITHDRAW, ApprovalStatus.WITHDRAWN))),
        *((s, ApprovalAction.RESUBMIT, t)
          for s in (ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN)
          for t in (ApprovalStatus.PENDING, ApprovalStatus.IN_REVIEW, ApprovalStatus.APPROVED,
                    ApprovalStatus.NOT_REQUIRED)),
        *((s, ApprovalAction.VOID, ApprovalStatus.VOID)
          for s in ApprovalStatus if s is not ApprovalStatus.VOID),
        *((s, ApprovalAction.TRANSFER, s)
          for s in (ApprovalStatus.PENDING, ApprovalStatus.IN_REVIEW)),
    }
)
"""Every allowed ``(status before, action, status after)``; ``None`` before = not submitted."""


# -- submit --------------------------------------------------------------------------------------
def _running_status(steps: Sequence[ApprovalStep]) -> ApprovalStatus:
    return (ApprovalStatus.IN_REVIEW if any(s.approved_by for s in steps)
            else ApprovalStatus.PENDING)


def submit(
    flow: ApprovalFlow,
    record_values: Mapping[str, Any],
    submitter_id: str,
    org: OrgIndex,
    *,
    record_id: str,
    instance_id: str,
    now: datetime,
    role_holders: Mapping[str, Sequence[str]] = NO_IDS,
    submitter_role_ids: Collection[str] = (),
    chosen: Mapping[str, Sequence[str]] = NO_IDS,
    disabled_user_ids: Collection[str] = frozenset(),
    super_admin_ids: Collection[str] = (),
    comment: str = "",
) -> ApprovalInstance:
    """Submit record ``record_id`` (of ``flow.kind``, field values ``record_values``) for approval.

    Disabled flow → 无需审批. Else the route is decided, approvers resolved and snapshotted;
    no step at all → 通过 at once; otherwise 待审核 waiting for the first step.
    ``role_holders`` maps a role id to its holders; ``chosen`` maps a SUBMITTER_CHOOSES node id
    to the users the submitter picked; ``disabled_user_ids`` never approve;
    ``super_admin_ids`` (the 超级管理员) decide nodes only the submitter could approve.
    """
    base = ApprovalInstance(
        id=instance_id, record_kind=flow.kind, record_id=record_id, flow_id=flow.id,
        flow_version=flow.version, submitter_id=submitter_id, status=ApprovalStatus.PENDING,
        resubmit_from=flow.resubmit_from, submitted_at=now,
    )
    submitted = ApprovalEvent(submitter_id, ApprovalAction.SUBMIT, now, comment)
    if not flow.enabled:
        return attrs.evolve(
            base, status=ApprovalStatus.NOT_REQUIRED, finished_at=now,
            history=(submitted, ApprovalEvent(None, ApprovalAction.NOT_REQUIRED, now)))
    path = route(flow, record_values, submitter_id, org, submitter_role_ids)
    check_choices(path, chosen, org, disabled_user_ids, submitter_id)
    steps: list[ApprovalStep] = []
    history = [submitted]

    def others(ids: Iterable[str]) -> tuple[str, ...]:
        return unique_ids(u for u in ids if u != submitter_id
                       and u in org.department_of and u not in disabled_user_ids)

    supers = others(super_admin_ids)
    admins = others(flow.admin_ids) or (supers if submitter_id in flow.admin_ids else ())
    for node in path:
        resolved = resolve_approvers(node, submitter_id, org, role_holders=role_holders,
                                     chosen=chosen, disabled_user_ids=disabled_user_ids)
        approvers = others(resolved)
        if approvers:
            mode = node.effective_mode
            if node.source is ApproverSource.SUPERVISOR:
                mode = ApprovalMode.ANY
            steps.append(ApprovalStep(node.id, mode, approvers))
        elif resolved and supers:  # only the submitter could approve: 超级管理员 decide
            steps.append(ApprovalStep(node.id, ApprovalMode.ANY, supers, by_admin=True))
        elif flow.no_approver is NoApproverPolicy.AUTO_PASS:
            history.append(ApprovalEvent(None, ApprovalAction.AUTO_PASS, now, node_id=node.id))
        elif admins:
            steps.append(ApprovalStep(node.id, ApprovalMode.ANY, admins, by_admin=True))
        else:
            raise RuleViolation(
                "approval.no_approver",
                f"节点 {node.id!r} 没有审批人，也没有可用的管理员",
                f"nobody can approve step {node.id!r}: no approver and no active admin",
                details={"node_id": node.id})
    if not steps:
        return attrs.evolve(base, status=ApprovalStatus.APPROVED, finished_at=now,
                            history=tuple(history))
    return attrs.evolve(base, steps=tuple(steps), history=tuple(history))


# -- acting --------------------------------------------------------------------------------------
def current_approvers(instance: ApprovalInstance) -> tuple[str, ...]:
    """Who may approve or reject now (empty unless 待审核/审核中)."""
    step = instance.current_step
    if not instance.status.running or step is None:
        return ()
    return step.waiting_for


def newly_waiting(before: ApprovalInstance | None, after: ApprovalInstance) -> frozenset[str]:
    """Approvers whose turn began with this change (whom to notify)."""
    now_waiting = set(current_approvers(after))
    if before is None or before.current != after.current or not before.status.running:
        return frozenset(now_waiting)
    return frozenset(now_waiting - set(current_approvers(before)))


def _bad_status(instance: ApprovalInstance, action: ApprovalAction) -> RuleViolation:
    return RuleViolation(
        "approval.bad_status",
        f"当前审批状态（{instance.status.value}）不允许此操作（{action.value}）",
        f"cannot {action.value} an approval that is {instance.status.value}",
        details={"status": instance.status.value, "action": action.value})


def _not_submitter(instance: ApprovalInstance) -> PermissionDenied:
    return PermissionDenied("approval.not_submitter", "只有提交人可以执行此操作",
                            "only the submitter may do this",
                            details={"submitter_id": instance.submitter_id})


def _check_resubmit(instance: ApprovalInstance, actor_id: str) -> None:
    if instance.status not in (ApprovalStatus.REJECTED, ApprovalStatus.WITHDRAWN):
        raise _bad_status(instance, ApprovalAction.RESUBMIT)
    if actor_id != instance.submitter_id:
        raise _not_submitter(instance)


def act(
    instance: ApprovalInstance,
    actor_id: str,
    action: ApprovalAction,
    *,
    now: datetime,
    comment: str = "",
) -> ApprovalInstance:
    """The instance after ``actor_id`` does ``action`` (APPROVE, REJECT, WITHDRAW, VOID, or
    RESUBMIT of a flow that resubmits from the rejecting step); raises and changes nothing
    when the action is not allowed. Resubmission from the first node needs the flow and the
    record again: use :func:`resubmit`."""
    status = instance.status
    event = ApprovalEvent(actor_id, action, now, comment)
    if action is ApprovalAction.VOID:
        if status is ApprovalStatus.VOID:
            raise _bad_status(instance, action)
        return _done(instance, event, status=ApprovalStatus.VOID, finished_at=now)
    if action is ApprovalAction.WITHDRAW:
        if not status.running:
            raise _bad_status(instance, action)
        if actor_id != instance.submitter_id:
            raise _not_submitter(instance)
        return _done(instance, _at_step(event, instance), status=ApprovalStatus.WITHDRAWN,
                     finished_at=now)
    if action is ApprovalAction.RESUBMIT:
        _check_resubmit(instance, actor_id)
        if instance.resubmit_from is ResubmitFrom.FIRST or submitter_approves(instance):
            raise RuleViolation(
                "approval.resubmit_from_first",
                "该审批流从第一个节点重新提交，需重新解析审批人",
                "this flow resubmits from the first node: use resubmit() with the flow")
        steps = list(instance.steps)
        steps[instance.current] = attrs.evolve(
            steps[instance.current], approved_by=(), rejected_by=None, comment="")
        return _done(instance, _at_step(event, instance), steps=tuple(steps),
                     status=_running_status(steps), submitted_at=now, finished_at=None)
    if action not in (ApprovalAction.APPROVE, ApprovalAction.REJECT):
        raise RuleViolation("approval.bad_action",
                            f"不支持的审批操作：{action.value}",
                            f"{action.value} is not an action on a submitted approval")
    step = instance.current_step
    if not status.running or step is None:
        raise _bad_status(instance, action)
    if actor_id not in step.waiting_for:
        raise PermissionDenied(
            "approval.not_your_turn",
            "您不是当前步骤的审批人，或尚未轮到 / 已处理",
            "you are not an approver of the current step, or not yet / no longer",
            details={"step": instance.current, "waiting_for": list(step.waiting_for)})
    event = _at_step(event, instance)
    steps = list(instance.steps)
    if action is ApprovalAction.REJECT:
        if not comment.strip():
            raise ValidationError.at("$.comment", "approval.comment_required",
                                     "拒绝时须填写意见", "a rejection needs a comment")
        steps[instance.current] = attrs.evolve(step, rejected_by=actor_id, comment=comment)
        return _done(instance, event, steps=tuple(steps), status=ApprovalStatus.REJECTED,
                     finished_at=now)
    done = attrs.evolve(step, approved_by=(*step.approved_by, actor_id))
    steps[instance.current] = done
    current = instance.current + 1 if done.complete else instance.current
    if current == len(steps):
        return _done(instance, event, steps=tuple(steps), current=current,
                     status=ApprovalStatus.APPROVED, finished_at=now)
    return _done(instance, event, steps=tuple(steps), current=current,
                 status=ApprovalStatus.IN_REVIEW)


def submitter_approves(instance: ApprovalInstance) -> bool:
    """Whether the submitter is an approver of some step (a record that changed hands since
    the snapshot): such an approval cannot resume from the stopping step, only start over."""
    return any(instance.submitter_id in s.approver_ids for s in instance.steps)


def _at_step(event: ApprovalEvent, instance: ApprovalInstance) -> ApprovalEvent:
    step = instance.current_step
    return attrs.evolve(event, step=instance.current,
                        node_id=step.node_id if step is not None else None)


def _done(instance: ApprovalInstance, event: ApprovalEvent, **changes: Any) -> ApprovalInstance:
    return attrs.evolve(instance, history=(*instance.history, event),
                        version=instance.version + 1, **changes)


def resubmit(
    instance: ApprovalInstance,
    actor_id: str,
    flow: ApprovalFlow,
    record_values: Mapping[str, Any],
    org: OrgIndex,
    *,
    now: datetime,
    role_holders: Mapping[str, Sequence[str]] = NO_IDS,
    submitter_role_ids: Collection[str] = (),
    chosen: Mapping[str, Sequence[str]] = NO_IDS,
    disabled_user_ids: Collection[str] = frozenset(),
    super_admin_ids: Collection[str] = (),
    comment: str = "",
) -> ApprovalInstance:
    """重新提交 after 拒绝 or 撤回, by the submitter, per the flow's setting at submit:

    - REJECTING: from the stopping step of the snapshot (same as ``act(…, RESUBMIT)``; the
      other arguments are not used) — unless the submitter is an approver of the snapshot,
      then as FIRST;
    - FIRST: :func:`submit` again with ``flow`` (its current version and enabled switch) and
      the record's current values — same instance id, history continued, ``version`` + 1.
    """
    _check_resubmit(instance, actor_id)
    if instance.resubmit_from is ResubmitFrom.REJECTING and not submitter_approves(instance):
        return act(instance, actor_id, ApprovalAction.RESUBMIT, now=now, comment=comment)
    if flow.id != instance.flow_id:
        raise RuleViolation("approval.wrong_flow", "不是该审批所用的审批流",
                            "this is not the flow of the approval")
    fresh = submit(flow, record_values, instance.submitter_id, org, record_id=instance.record_id,
                   instance_id=instance.id, now=now, role_holders=role_holders,
                   submitter_role_ids=submitter_role_ids, chosen=chosen,
                   disabled_user_ids=disabled_user_ids, super_admin_ids=super_admin_ids,
                   comment=comment)
    again = ApprovalEvent(actor_id, ApprovalAction.RESUBMIT, now, comment)
    return attrs.evolve(fresh, history=(*instance.history, again, *fresh.history[1:]),
                        version=instance.version + 1)


def transfer(
    instance: ApprovalInstance,
    actor_id: str,
    from_user_id: str,
    to_user_id: str,
    *,
    now: datetime,
    comment: str = "",
    disabled_user_ids: Collection[str] = frozenset(),
    known_user_ids: Collection[str] | None = None,
) -> ApprovalInstance:
    """转交: ``from_user_id``'s turn in the current step goes to ``to_user_id``, in the same
    place of the step (order and votes kept). Only while running, only for someone the step
    waits for, only to an active user who approves no step of this approval (one person never
    decides two steps through a transfer) and is not the submitter
    (``approval.self_approver``). *Who* may transfer
    (the approver, an admin) is the workflow's permission check."""
    step = instance.current_step
    if not instance.status.running or step is None:
        raise _bad_status(instance, ApprovalAction.TRANSFER)
    if from_user_id not in step.waiting_for:
        raise PermissionDenied("approval.not_your_turn",
                               "该用户不是当前步骤待审批的人",
                               "that user is not waited for at the current step",
                               details={"waiting_for": list(step.waiting_for)})
    if to_user_id == instance.submitter_id:
        raise ValidationError.at("$.to_user_id", "approval.self_approver",
                                 "不能转交给提交人本人",
                                 "the submitter cannot approve their own submission")
    unknown = known_user_ids is not None and to_user_id not in known_user_ids
    elsewhere = any(to_user_id in s.approver_ids for s in instance.steps)
    if unknown or to_user_id in disabled_user_ids or elsewhere:
        raise ValidationError.at("$.to_user_id", "approval.bad_approver",
                                 "新审批人不存在、已停用或已是本审批的审批人",
                                 "the new approver is unknown, disabled or already an "
                                 "approver of this approval")
    approvers = tuple(to_user_id if u == from_user_id else u for u in step.approver_ids)
    steps = list(instance.steps)
    steps[instance.current] = attrs.evolve(step, approver_ids=approvers)
    event = _at_step(ApprovalEvent(actor_id, ApprovalAction.TRANSFER, now, comment,
                                   from_user_id=from_user_id, to_user_id=to_user_id), instance)
    return _done(instance, event, steps=tuple(steps))
