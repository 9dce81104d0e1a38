"""审批流 definitions: is a flow well formed (:func:`validate_flow`, :func:`check_flow`), and
is a condition value one every backend stores (:func:`plain_value`).

A flow is well formed when it has a start node, every ``next`` names a node of the flow, node
ids are unique, every node is reachable from ``start``, there is no cycle, every condition node
has branches and every branch conditions (each well formed), every approver node has a mode its
source accepts, MEMBERS name someone (no one twice), ROLE names a role, SUPERVISOR /
SUPERVISOR_CHAIN ask for a level in 1..20, and an ADMIN no-approver policy names admins.
Problems come back as :class:`~crmkit.errors.FieldError` (path, stable ``flow.*`` code, zh/en
message). Public through :mod:`crmkit.policies.approvals`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from crmkit.entities.approvals import (
    ALLOWED_MODES,
    MAX_SUPERVISOR_LEVEL,
    ApprovalFlow,
    ApproverNode,
    ApproverSource,
    Condition,
    ConditionNode,
    ConditionOp,
    FlowNode,
    NoApproverPolicy,
)
from crmkit.errors import FieldError, ValidationError

_MESSAGES: dict[str, tuple[str, str]] = {
    "flow.no_kind": ("审批流未指定业务类型", "the flow has no record kind"),
    "flow.no_start": ("审批流没有开始节点", "the flow has no start node"),
    "flow.empty_id": ("节点缺少编号", "the node has no id"),
    "flow.duplicate_node": ("节点编号重复", "another node has the same id"),
    "flow.unknown_node": ("指向的节点不存在", "no node of the flow has this id"),
    "flow.unreachable": ("节点无法从开始节点到达", "the node cannot be reached from the start"),
    "flow.cycle": ("该连线形成了循环", "this link closes a cycle"),
    "flow.no_branches": ("条件节点没有分支", "the condition node has no branches"),
    "flow.no_conditions": ("分支没有条件", "the branch has no conditions"),
    "flow.bad_condition": ("条件不完整", "the condition is incomplete"),
    "flow.bad_mode": ("该审批人类型不支持此审批方式",
                      "this approver source does not allow this mode"),
    "flow.empty_approvers": ("节点未指定审批人", "the node names no approver"),
    "flow.duplicate_approvers": ("审批人重复", "an approver is named twice"),
    "flow.bad_level": (f"主管层级须为 1..{MAX_SUPERVISOR_LEVEL}",
                       f"the level must be 1..{MAX_SUPERVISOR_LEVEL}"),
    "flow.no_admins": ("未指定转交的管理员", "the admin no-approver policy names no admin"),
    "flow.bad_value": ("条件值须为文本、有限数字、布尔值或由它们组成的短列表",
                       "a condition value must be text, a finite number, a boolean or a short "
                       "list of those"),
}
MAX_VALUE_ITEMS = 100
MAX_VALUE_TEXT = 200
MAX_VALUE_INT = 10**18


def _problem(path: str, code: str) -> FieldError:
    return FieldError(path, code, *_MESSAGES[code])


def _pointers(node: FlowNode, at: str) -> Iterator[tuple[str, str | None]]:
    """``(path, target)`` of every ``next`` pointer of ``node`` (at path ``at``)."""
    if isinstance(node, ConditionNode):
        for j, branch in enumerate(node.branches):
            yield f"{at}.branches[{j}].next", branch.next
        yield f"{at}.default_next", node.default_next
    elif isinstance(node, ApproverNode):
        yield f"{at}.next", node.next


def as_decimal(value: Any) -> Decimal | None:
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
        return as_decimal(value) is not None and abs(Decimal(str(value))) < MAX_VALUE_INT
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
        low, high = as_decimal(condition.value), as_decimal(condition.upper)
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
