"""审批流 routing: which approver nodes a submission passes (:func:`route`, deciding each
condition with :func:`condition_holds`) and who approves at each (:func:`resolve_approvers`,
:func:`supervisor_chain`). Public through :mod:`crmkit.policies.approvals`, whose docstring
states the rules.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from crmkit.entities.approvals import (
    ApprovalFlow,
    ApproverNode,
    ApproverSource,
    Condition,
    ConditionOp,
    EndNode,
)
from crmkit.entities.scope import OrgSnapshot
from crmkit.errors import FieldError, ValidationError
from crmkit.policies.approval_flows import as_decimal, check_flow
from crmkit.policies.scopes import OrgIndex

NO_IDS: Mapping[str, Sequence[str]] = MappingProxyType({})


# -- conditions and routing ----------------------------------------------------------------------
def _comparable(actual: Any, expected: Any, ordering: bool = True) -> tuple[Any, Any]:
    """Numbers compare as Decimal: a condition value "100.50" reads as a number when the
    field holds one, a host's text "5000" when the condition's value is a number, and two
    numeric texts when ordering (>, <, between — "900" < "1000"; for = text stays text, so
    "007" is not "7"); dates and datetimes from ISO strings (a naive one in the field's
    timezone); anything else as it is."""
    if isinstance(actual, int | float | Decimal) and not isinstance(actual, bool):
        return as_decimal(actual), as_decimal(expected)
    numeric_expected = isinstance(expected, int | float | Decimal) and not isinstance(
        expected, bool)
    if isinstance(actual, str) and (numeric_expected or (ordering and isinstance(expected,
                                                                                 str))):
        left, right = as_decimal(actual), as_decimal(expected)
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


def unique_ids(ids: Iterable[str]) -> tuple[str, ...]:
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
        return unique_ids(u for u in node.member_ids if eligible(u))
    if source is ApproverSource.ROLE:
        holders = role_holders.get(node.role_id or "", ())
        return unique_ids(u for u in holders if eligible(u))
    if source is ApproverSource.SUBMITTER_CHOOSES:
        return unique_ids(u for u in chosen.get(node.id, ()) if eligible(u))
    chain = supervisor_chain(org, submitter_id)
    if source is ApproverSource.SUPERVISOR_CHAIN:
        return unique_ids(u for u in chain[: node.level] if eligible(u))
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


def check_choices(
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
