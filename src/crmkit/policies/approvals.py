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

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

import attrs

from crmkit.entities.approvals import (
    ALLOWED_MODES,
    MAX_SUPERVISOR_LEVEL,
    ApprovalAction,
    ApprovalEvent,
    ApprovalFlow,
    ApprovalInstance,
    ApprovalMode,
    ApprovalStatus,
    ApprovalStep,
    ApproverNode,
    ApproverSource,
    Condition,
    ConditionNode,
    ConditionOp,
    EndNode,
    FlowNode,
    NoApproverPolicy,
    ResubmitFrom,
)
from crmkit.entities.scope import OrgSnapshot
from crmkit.errors import FieldError, PermissionDenied, RuleViolation, ValidationError
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

NO_IDS: Mapping[str, Sequence[str]] = MappingProxyType({})

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


# -- flow validation -----------------------------------------------------------------------------
_MESSAGES: dict[str, tuple[str, str]] = {
    "flow.no_kind": ("the flow has no record kind", "审批流未指定业务类型"),
    "flow.no_start": ("the flow has no start node", "审批流没有开始节点"),
    "flow.empty_id": ("the node has no id", "节点缺少编号"),
    "flow.duplicate_node": ("another node has the same id", "节点编号重复"),
    "flow.unknown_node": ("no node of the flow has this id", "指向的节点不存在"),
    "flow.unreachable": ("the node cannot be reached from the start", "节点无法从开始节点到达"),
    "flow.cycle": ("this link closes a cycle", "该连线形成了循环"),
    "flow.no_branches": ("the condition node has no branches", "条件节点没有分支"),
    "flow.no_conditions": ("the branch has no conditions", "分支没有条件"),
    "flow.bad_condition": ("the condition is incomplete", "条件不完整"),
    "flow.bad_mode": ("this approver source does not allow this mode",
                      "该审批人类型不支持此审批方式"),
    "flow.empty_approvers": ("the node names no approver", "节点未指定审批人"),
    "flow.duplicate_approvers": ("an approver is named twice", "审批人重复"),
    "flow.bad_level": (f"the level must be 1..{MAX_SUPERVISOR_LEVEL}",
                       f"主管层级须为 1..{MAX_SUPERVISOR_LEVEL}"),
    "flow.no_admins": ("the admin no-approver policy names no admin", "未指定转交的管理员"),
    "flow.bad_value": ("a condition value must be text, a finite number, a boolean or a short "
                       "list of those", "条件值须为文本、有限数字、布尔值或由它们组成的短列表"),
}
MAX_VALUE_ITEMS = 100
MAX_VALUE_TEXT = 200
MAX_VALUE_INT = 10**18


def _problem(path: str, code: str) -> FieldError:
    en, zh = _MESSAGES[code]
    return FieldError(path, code, zh, en)


def _pointers(node: FlowNode, at: str) -> Iterator[tuple[str, str | None]]:
    """``(path, target)`` of every ``next`` pointer of ``node`` (at path ``at``)."""
    if isinstance(node, ConditionNode):
        for j, branch in enumerate(node.branches):
            yield f"{at}.branches[{j}].next", branch.next
        yield f"{at}.default_next", node.default_next
    elif isinstance(node, ApproverNode):
        yield f"{at}.next", node.next


def _as_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float | str):
        try:
            number = Decimal(str(value).strip())
        except InvalidOperation:
            return None
        return number if number.is_finite() else None
    return None


def _plain_scalar(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, int):
        return abs(value) < MAX_VALUE_INT
    if isinstance(value, float | Decimal):
        return _as_decimal(value) is not None and abs(Decimal(str(value))) < MAX_VALUE_INT
    return (isinstance(value, str) and len(value) <= MAX_VALUE_TEXT
            and "\x00" not in value)


def plain_value(value: Any) -> bool:
    """A condition value that stores as JSON on every backend: None, a boolean, a finite
    number below 10^18, text of at most 200 characters without NUL, or a list of at most 100
    of these."""
    if isinstance(value, list | tuple):
        return len(value) <= MAX_VALUE_ITEMS and all(_plain_scalar(v) for v in value)
    return _plain_scalar(value)


def _condition_problems(condition: Condition, at: str) -> list[FieldError]:
    op = condition.op
    bad = [_problem(f"{at}.{name}", "flow.bad_value") for name in ("value", "upper")
           if not plain_value(getattr(condition, name))]
    if bad:
        return bad
    if op.on_submitter:
        return [] if condition.ids else [_problem(f"{at}.ids", "flow.bad_condition")]
    if not condition.field:
        return [_problem(f"{at}.field", "flow.bad_condition")]
    if op in (ConditionOp.GT, ConditionOp.LT, ConditionOp.CONTAINS) and condition.value is None:
        return [_problem(f"{at}.value", "flow.bad_condition")]
    if op is ConditionOp.BETWEEN:
        if condition.value is None or condition.upper is None:
            return [_problem(f"{at}.upper", "flow.bad_condition")]
        low, high = _as_decimal(condition.value), _as_decimal(condition.upper)
        if low is not None and high is not None and low > high:
            return [_problem(f"{at}.upper", "flow.bad_condition")]
    return []


def _node_problems(node: FlowNode, at: str) -> list[FieldError]:
    problems: list[FieldError] = []
    if isinstance(node, ConditionNode):
        if not node.branches:
            problems.append(_problem(f"{at}.branches", "flow.no_branches"))
        for j, branch in enumerate(node.branches):
            if not branch.conditions:
                problems.append(_problem(f"{at}.branches[{j}].conditions", "flow.no_conditions"))
            for k, condition in enumerate(branch.conditions):
                problems += _condition_problems(
                    condition, f"{at}.branches[{j}].conditions[{k}]")
    elif isinstance(node, ApproverNode):
        if node.mode is not None and node.mode not in ALLOWED_MODES[node.source]:
            problems.append(_problem(f"{at}.mode", "flow.bad_mode"))
        if node.source is ApproverSource.MEMBERS:
            if not node.member_ids or not all(node.member_ids):
                problems.append(_problem(f"{at}.member_ids", "flow.empty_approvers"))
            elif len(set(node.member_ids)) != len(node.member_ids):
                problems.append(_problem(f"{at}.member_ids", "flow.duplicate_approvers"))
        elif node.source is ApproverSource.ROLE and not node.role_id:
            problems.append(_problem(f"{at}.role_id", "flow.empty_approvers"))
        elif (node.source in (ApproverSource.SUPERVISOR, ApproverSource.SUPERVISOR_CHAIN)
              and not 1 <= node.level <= MAX_SUPERVISOR_LEVEL):
            problems.append(_problem(f"{at}.level", "flow.bad_level"))
    return problems


def validate_flow(flow: ApprovalFlow) -> list[FieldError]:
    """Every problem of ``flow``'s definition and graph (empty list: well formed)."""
    problems: list[FieldError] = []
    if not flow.kind:
        problems.append(_problem("$.kind", "flow.no_kind"))
    position: dict[str, int] = {}
    for i, node in enumerate(flow.nodes):
        if not node.id:
            problems.append(_problem(f"$.nodes[{i}].id", "flow.empty_id"))
        elif node.id in position:
            problems.append(_problem(f"$.nodes[{i}].id", "flow.duplicate_node"))
        else:
            position[node.id] = i
    if not flow.nodes or not flow.start:
        problems.append(_problem("$.start", "flow.no_start"))
    elif flow.start not in position:
        problems.append(_problem("$.start", "flow.unknown_node"))
    if flow.no_approver is NoApproverPolicy.ADMIN and not any(flow.admin_ids):
        problems.append(_problem("$.admin_ids", "flow.no_admins"))

    edges: dict[int, list[tuple[str, int]]] = {}
    for i, node in enumerate(flow.nodes):
        at = f"$.nodes[{i}]"
        problems += _node_problems(node, at)
        out = edges.setdefault(i, [])
        for path, target in _pointers(node, at):
            if target is None:
                continue
            if target not in position:
                problems.append(_problem(path, "flow.unknown_node"))
            elif position.get(node.id) == i:
                out.append((path, position[target]))

    if flow.start in position:
        reached = {position[flow.start]}
        stack = [position[flow.start]]
        while stack:
            for _, target_index in edges.get(stack.pop(), ()):
                if target_index not in reached:
                    reached.add(target_index)
                    stack.append(target_index)
        problems += [_problem(f"$.nodes[{i}]", "flow.unreachable")
                     for i in sorted(set(position.values()) - reached)]
    problems += [_problem(path, "flow.cycle") for path in _back_edges(edges)]
    return problems


def _back_edges(edges: Mapping[int, Sequence[tuple[str, int]]]) -> list[str]:
    """Paths of the links that close a cycle (iterative depth-first search, every root)."""
    state: dict[int, int] = {}  # 1 on the stack, 2 done
    found: list[str] = []
    for root in sorted(edges):
        if root in state:
            continue
        state[root] = 1
        stack: list[tuple[int, Iterator[tuple[str, int]]]] = [(root, iter(edges[root]))]
        while stack:
            node, links = stack[-1]
            link = next(links, None)
            if link is None:
                state[node] = 2
                stack.pop()
                continue
            path, target = link
            if state.get(target) == 1:
                found.append(path)
            elif target not in state:
                state[target] = 1
                stack.append((target, iter(edges.get(target, ()))))
    return found


def check_flow(flow: ApprovalFlow) -> None:
    """Raise ``ValidationError`` listing every problem of ``flow`` (see :func:`validate_flow`)."""
    problems = validate_flow(flow)
    if problems:
        raise ValidationError(problems)


# -- conditions and routing ----------------------------------------------------------------------
def _comparable(actual: Any, expected: Any, ordering: bool = True) -> tuple[Any, Any]:
    """Numbers compare as Decimal: a condition value "100.50" reads as a number when the
    field holds one, a host's text "5000" when the condition's value is a number, and two
    numeric texts when ordering (>, <, between — "900" < "1000"; for = text stays text, so
    "007" is not "7"); dates and datetimes from ISO strings (a naive one in the field's
    timezone); anything else as it is."""
    if isinstance(actual, int | float | Decimal) and not isinstance(actual, bool):
        return _as_decimal(actual), _as_decimal(expected)
    numeric_expected = isinstance(expected, int | float | Decimal) and not isinstance(
        expected, bool)
    if isinstance(actual, str) and (numeric_expected or (ordering and isinstance(expected,
                                                                                 str))):
        left, right = _as_decimal(actual), _as_decimal(expected)
        if left is not None and right is not None:
            return left, right
    if isinstance(expected, str):
        try:
            if isinstance(actual, datetime):
                moment = datetime.fromisoformat(expected)
                if moment.tzinfo is None and actual.tzinfo is not None:
                    moment = moment.replace(tzinfo=actual.tzinfo)
                return actual, moment
            if isinstance(actual, date):
                return actual, date.fromisoformat(expected)
        except ValueError:
            return actual, None
    return actual, expected


def condition_holds(
    condition: Condition,
    record_values: Mapping[str, Any],
    submitter_id: str,
    org: OrgIndex,
    submitter_role_ids: Collection[str] = (),
) -> bool:
    """Whether one condition holds for this record and submitter. A missing field or values
    that cannot be compared make a field test false (``= None`` holds for a missing field)."""
    op = condition.op
    if op is ConditionOp.USER:
        return submitter_id in condition.ids
    if op is ConditionOp.ROLE:
        return not condition.ids.isdisjoint(submitter_role_ids)
    if op is ConditionOp.DEPARTMENT:
        department = org.department_of.get(submitter_id)
        if department is None:
            return False
        if not condition.include_children:
            return department in condition.ids
        return any(org.is_below(department, d) for d in condition.ids)
    actual = record_values.get(condition.field)
    try:
        if op is ConditionOp.CONTAINS:
            if isinstance(actual, str):
                return isinstance(condition.value, str) and condition.value in actual
            if isinstance(actual, list | tuple | set | frozenset):
                return condition.value in actual
            return False
        if op is ConditionOp.EQ:
            if actual is None or condition.value is None:
                return actual is None and condition.value is None
            left, right = _comparable(actual, condition.value, ordering=False)
            return right is not None and bool(left == right)
        if actual is None:
            return False
        left, right = _comparable(actual, condition.value)
        if left is None or right is None:
            return False
        if op is ConditionOp.GT:
            return bool(left > right)
        if op is ConditionOp.LT:
            return bool(left < right)
        _, upper = _comparable(actual, condition.upper)
        return upper is not None and bool(right <= left <= upper)
    except (TypeError, ArithmeticError):
        return False


def route(
    flow: ApprovalFlow,
    record_values: Mapping[str, Any],
    submitter_id: str,
    org: OrgIndex,
    submitter_role_ids: Collection[str] = (),
) -> tuple[ApproverNode, ...]:
    """The approver nodes a submission passes through, in order (conditions decided now).

    Use it before submit to learn which SUBMITTER_CHOOSES nodes need the submitter's choice.
    Raises ``ValidationError`` when the flow is malformed.
    """
    check_flow(flow)
    nodes = {n.id: n for n in flow.nodes}
    path: list[ApproverNode] = []
    current: str | None = flow.start
    while current is not None:
        node = nodes[current]
        if isinstance(node, EndNode):
            break
        if isinstance(node, ApproverNode):
            path.append(node)
            current = node.next
            continue
        current = node.default_next
        for branch in sorted(node.branches, key=lambda b: b.priority):
            if all(condition_holds(c, record_values, submitter_id, org, submitter_role_ids)
                   for c in branch.conditions):
                current = branch.next
                break
    return tuple(path)


# -- approver resolution -------------------------------------------------------------------------
def disabled_members(snapshot: OrgSnapshot) -> frozenset[str]:
    """The inactive members of a snapshot (what ``disabled_user_ids`` expects)."""
    return frozenset(m.id for m in snapshot.members if not m.active)


def supervisor_chain(org: OrgIndex, user_id: str) -> tuple[str, ...]:
    """The user's supervisors, direct one first, up to the top (cycle-safe); disabled included."""
    chain: list[str] = []
    seen = {user_id}
    current = org.supervisor_of.get(user_id)
    while current is not None and current not in seen:
        chain.append(current)
        seen.add(current)
        current = org.supervisor_of.get(current)
    return tuple(chain)


def _unique(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(ids))


def resolve_approvers(
    node: ApproverNode,
    submitter_id: str,
    org: OrgIndex,
    *,
    role_holders: Mapping[str, Sequence[str]] = NO_IDS,
    chosen: Mapping[str, Sequence[str]] = NO_IDS,
    disabled_user_ids: Collection[str] = frozenset(),
) -> tuple[str, ...]:
    """The active approvers of ``node`` for this submitter, in order, each once (maybe none)."""

    def eligible(user_id: str) -> bool:
        return user_id in org.department_of and user_id not in disabled_user_ids

    source = node.source
    if source is ApproverSource.MEMBERS:
        return _unique(u for u in node.member_ids if eligible(u))
    if source is ApproverSource.ROLE:
        holders = role_holders.get(node.role_id or "", ())
        return _unique(u for u in holders if eligible(u))
    if source is ApproverSource.SUBMITTER_CHOOSES:
        return _unique(u for u in chosen.get(node.id, ()) if eligible(u))
    chain = supervisor_chain(org, submitter_id)
    if source is ApproverSource.SUPERVISOR_CHAIN:
        return _unique(u for u in chain[: node.level] if eligible(u))
    level = node.level
    if len(chain) >= level and eligible(chain[level - 1]):
        return (chain[level - 1],)
    if not node.fallback_upward:
        return ()
    above = [u for u in chain[level:] if eligible(u)]
    below = [u for u in chain[: level - 1] if eligible(u)]
    if above:
        return (above[0],)
    return (below[-1],) if below else ()


def _check_choices(
    path: Sequence[ApproverNode],
    chosen: Mapping[str, Sequence[str]],
    org: OrgIndex,
    disabled_user_ids: Collection[str],
    submitter_id: str,
) -> None:
    errors: list[FieldError] = []
    for node in path:
        if node.source is not ApproverSource.SUBMITTER_CHOOSES:
            continue
        picked = chosen.get(node.id, ())
        at = f"$.chosen.{node.id}"
        if not picked:
            errors.append(FieldError(at, "approval.approvers_required", "请选择审批人",
                                     "choose the approvers of this step"))
        elif any(u not in org.department_of or u in disabled_user_ids for u in picked):
            errors.append(FieldError(at, "approval.bad_approver", "审批人不存在或已停用",
                                     "an approver is unknown or disabled"))
        elif submitter_id in picked:
            errors.append(FieldError(at, "approval.self_approver", "不能选择自己作为审批人",
                                     "the submitter cannot approve their own submission"))
    if errors:
        raise ValidationError(errors)


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
    _check_choices(path, chosen, org, disabled_user_ids, submitter_id)
    steps: list[ApprovalStep] = []
    history = [submitted]

    def others(ids: Iterable[str]) -> tuple[str, ...]:
        return _unique(u for u in ids if u != submitter_id
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
                f"nobody can approve step {node.id!r}: no approver and no active admin",
                f"节点 {node.id!r} 没有审批人，也没有可用的管理员",
                code="approval.no_approver", details={"node_id": node.id})
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
        f"cannot {action.value} an approval that is {instance.status.value}",
        f"当前审批状态（{instance.status.value}）不允许此操作（{action.value}）",
        code="approval.bad_status",
        details={"status": instance.status.value, "action": action.value})


def _not_submitter(instance: ApprovalInstance) -> PermissionDenied:
    return PermissionDenied("only the submitter may do this", "只有提交人可以执行此操作",
                            code="approval.not_submitter",
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
                "this flow resubmits from the first node: use resubmit() with the flow",
                "该审批流从第一个节点重新提交，需重新解析审批人",
                code="approval.resubmit_from_first")
        steps = list(instance.steps)
        steps[instance.current] = attrs.evolve(
            steps[instance.current], approved_by=(), rejected_by=None, comment="")
        return _done(instance, _at_step(event, instance), steps=tuple(steps),
                     status=_running_status(steps), submitted_at=now, finished_at=None)
    if action not in (ApprovalAction.APPROVE, ApprovalAction.REJECT):
        raise RuleViolation(f"{action.value} is not an action on a submitted approval",
                            f"不支持的审批操作：{action.value}", code="approval.bad_action")
    step = instance.current_step
    if not status.running or step is None:
        raise _bad_status(instance, action)
    if actor_id not in step.waiting_for:
        raise PermissionDenied(
            "you are not an approver of the current step, or not yet / no longer",
            "您不是当前步骤的审批人，或尚未轮到 / 已处理", code="approval.not_your_turn",
            details={"step": instance.current, "waiting_for": list(step.waiting_for)})
    event = _at_step(event, instance)
    steps = list(instance.steps)
    if action is ApprovalAction.REJECT:
        if not comment.strip():
            raise ValidationError.single("$.comment", "approval.comment_required",
                                         "a rejection needs a comment", "拒绝时须填写意见")
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
        raise RuleViolation("this is not the flow of the approval", "不是该审批所用的审批流",
                            code="approval.wrong_flow")
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
        raise PermissionDenied("that user is not waited for at the current step",
                               "该用户不是当前步骤待审批的人", code="approval.not_your_turn",
                               details={"waiting_for": list(step.waiting_for)})
    if to_user_id == instance.submitter_id:
        raise ValidationError.single("$.to_user_id", "approval.self_approver",
                                     "the submitter cannot approve their own submission",
                                     "不能转交给提交人本人")
    unknown = known_user_ids is not None and to_user_id not in known_user_ids
    elsewhere = any(to_user_id in s.approver_ids for s in instance.steps)
    if unknown or to_user_id in disabled_user_ids or elsewhere:
        raise ValidationError.single("$.to_user_id", "approval.bad_approver",
                                     "the new approver is unknown, disabled or already an "
                                     "approver of this approval",
                                     "新审批人不存在、已停用或已是本审批的审批人")
    approvers = tuple(to_user_id if u == from_user_id else u for u in step.approver_ids)
    steps = list(instance.steps)
    steps[instance.current] = attrs.evolve(step, approver_ids=approvers)
    event = _at_step(ApprovalEvent(actor_id, ApprovalAction.TRANSFER, now, comment,
                                   from_user_id=from_user_id, to_user_id=to_user_id), instance)
    return _done(instance, event, steps=tuple(steps))
