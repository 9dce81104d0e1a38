"""审批流 Approval flows and approval instances (DESIGN §5 "审批流").

A :class:`ApprovalFlow` is defined per record kind (``"contract"``, ``"payment"`` or a host's own
kind string) as a directed graph of nodes, entered at ``start``:

- :class:`ConditionNode` — ordered :class:`Branch` es (by ``priority``, lowest number first);
  each branch is a conjunction of :class:`Condition` s on the record's fields or on the
  submitter and points to its next node; ``default_next`` when no branch matches.
- :class:`ApproverNode` — who approves (:class:`ApproverSource`) and how (:class:`ApprovalMode`),
  then ``next``.
- :class:`EndNode` — the flow ends (``next=None`` ends it too).

An :class:`ApprovalInstance` is one submission of one record: the path of
:class:`ApprovalStep` s resolved *at submit* (a snapshot — later org changes do not rewrite a
running approval), the current step, the status and every action taken.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any

import attrs

__all__ = [
    "ALLOWED_MODES",
    "DEFAULT_MODES",
    "MAX_SUPERVISOR_LEVEL",
    "ApprovalAction",
    "ApprovalEvent",
    "ApprovalFlow",
    "ApprovalInstance",
    "ApprovalMode",
    "ApprovalStatus",
    "ApprovalStep",
    "ApproverNode",
    "ApproverSource",
    "Branch",
    "Condition",
    "ConditionNode",
    "ConditionOp",
    "EndNode",
    "FlowNode",
    "NoApproverPolicy",
    "ResubmitFrom",
]

MAX_SUPERVISOR_LEVEL = 20
"""The highest supervisor level a node may ask for (主管层级上限)."""


class ApprovalStatus(enum.StrEnum):
    """审批状态: 未提交, 待审核, 审核中, 通过, 拒绝, 撤回, 作废, 无需审批.

    DRAFT is the status of a record not yet submitted; an instance starts at submit, so it is
    never DRAFT itself. PENDING until the first approval, IN_REVIEW after it.
    """

    DRAFT = "draft"
    PENDING = "pending"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    VOID = "void"
    NOT_REQUIRED = "not_required"

    @property
    def running(self) -> bool:
        """Waiting for approvers (待审核 or 审核中)."""
        return self in (ApprovalStatus.PENDING, ApprovalStatus.IN_REVIEW)


class ApprovalMode(enum.StrEnum):
    """How the approvers of one step decide: one after another, 会签 all, 或签 any one."""

    SEQUENTIAL = "sequential"
    ALL = "all"
    ANY = "any"


class ApproverSource(enum.StrEnum):
    """Where an approver node's approvers come from.

    - MEMBERS: named users (``member_ids``), SEQUENTIAL / ALL / ANY;
    - SUPERVISOR: the submitter's ``level``-th supervisor (1 = 直属上级), optionally falling back
      upward when missing;
    - ROLE: the active holders of ``role_id``, ALL or ANY;
    - SUBMITTER_CHOOSES: 审批人自选 — the submitter names them at submit, ALL or ANY;
    - SUPERVISOR_CHAIN: 连续多级主管 — supervisors of level 1..``level``, one after another.
    """

    MEMBERS = "members"
    SUPERVISOR = "supervisor"
    ROLE = "role"
    SUBMITTER_CHOOSES = "submitter_chooses"
    SUPERVISOR_CHAIN = "supervisor_chain"


ALLOWED_MODES: Mapping[ApproverSource, frozenset[ApprovalMode]] = MappingProxyType({
    ApproverSource.MEMBERS: frozenset(ApprovalMode),
    ApproverSource.SUPERVISOR: frozenset(ApprovalMode),
    ApproverSource.ROLE: frozenset({ApprovalMode.ALL, ApprovalMode.ANY}),
    ApproverSource.SUBMITTER_CHOOSES: frozenset({ApprovalMode.ALL, ApprovalMode.ANY}),
    ApproverSource.SUPERVISOR_CHAIN: frozenset({ApprovalMode.SEQUENTIAL}),
})
"""The modes each source accepts (SUPERVISOR resolves to one person: the mode is moot)."""

DEFAULT_MODES: Mapping[ApproverSource, ApprovalMode] = MappingProxyType({
    ApproverSource.MEMBERS: ApprovalMode.SEQUENTIAL,
    ApproverSource.SUPERVISOR: ApprovalMode.ANY,
    ApproverSource.ROLE: ApprovalMode.ANY,
    ApproverSource.SUBMITTER_CHOOSES: ApprovalMode.ANY,
    ApproverSource.SUPERVISOR_CHAIN: ApprovalMode.SEQUENTIAL,
})
"""The mode of a node that names none."""


class ConditionOp(enum.StrEnum):
    """Condition operators: on a record field (=, >, <, between, contains) or on the submitter
    (is one of ``ids`` / in one of the departments ``ids`` / holds one of the roles ``ids``)."""

    EQ = "="
    GT = ">"
    LT = "<"
    BETWEEN = "between"
    CONTAINS = "contains"
    USER = "user"
    DEPARTMENT = "department"
    ROLE = "role"

    @property
    def on_submitter(self) -> bool:
        return self in (ConditionOp.USER, ConditionOp.DEPARTMENT, ConditionOp.ROLE)


class NoApproverPolicy(enum.StrEnum):
    """A node that resolves to nobody: 自动通过 skip it, or 转交管理员 go to the flow's admins."""

    AUTO_PASS = "auto_pass"
    ADMIN = "admin"


class ResubmitFrom(enum.StrEnum):
    """After a rejection or a withdrawal, resubmission starts at the first node (re-resolved)
    or at the step that rejected (or was current when withdrawn), from the snapshot."""

    FIRST = "first"
    REJECTING = "rejecting"


class ApprovalAction(enum.StrEnum):
    """What happened to an instance (one :class:`ApprovalEvent` each)."""

    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    WITHDRAW = "withdraw"
    RESUBMIT = "resubmit"
    VOID = "void"
    AUTO_PASS = "auto_pass"
    NOT_REQUIRED = "not_required"
    TRANSFER = "transfer"


def _frozen_ids(value: Iterable[str]) -> frozenset[str]:
    return frozenset(value)


def _ids(value: Iterable[str]) -> tuple[str, ...]:
    return tuple(value)


def _conditions(value: Iterable[Condition]) -> tuple[Condition, ...]:
    return tuple(value)


def _branches(value: Iterable[Branch]) -> tuple[Branch, ...]:
    return tuple(value)


def _nodes(value: Iterable[FlowNode]) -> tuple[FlowNode, ...]:
    return tuple(value)


def _steps(value: Iterable[ApprovalStep]) -> tuple[ApprovalStep, ...]:
    return tuple(value)


def _events(value: Iterable[ApprovalEvent]) -> tuple[ApprovalEvent, ...]:
    return tuple(value)


@attrs.frozen
class Condition:
    """One test. Field tests read ``record_values[field]``: ``=``/``>``/``<`` against ``value``,
    ``between`` is ``value ≤ x ≤ upper``, ``contains`` is substring (text) or membership
    (a list). Submitter tests use ``ids``: USER — the submitter is one of them; DEPARTMENT —
    the submitter's department is one of them (or below one, when ``include_children``);
    ROLE — the submitter holds one of them."""

    op: ConditionOp
    field: str = ""
    value: Any = None
    upper: Any = None
    ids: frozenset[str] = attrs.field(default=frozenset(), converter=_frozen_ids)
    include_children: bool = True


@attrs.frozen
class Branch:
    """A branch of a condition node: all ``conditions`` hold → go to ``next`` (None = end)."""

    conditions: tuple[Condition, ...] = attrs.field(converter=_conditions)
    next: str | None
    priority: int = 0
    name: str = ""


@attrs.frozen
class ConditionNode:
    """条件分支: the first branch (by ``priority``, then declaration order) whose conditions all
    hold decides the next node; none holds → ``default_next`` (None = end)."""

    id: str
    branches: tuple[Branch, ...] = attrs.field(converter=_branches)
    default_next: str | None = None
    name: str = ""

    @property
    def next_ids(self) -> tuple[str | None, ...]:
        return (*(b.next for b in self.branches), self.default_next)


@attrs.frozen
class ApproverNode:
    """审批人节点: approvers from ``source`` deciding by ``mode`` (None = the source's default,
    see :data:`DEFAULT_MODES`), then ``next`` (None = end).

    ``member_ids`` (ordered) for MEMBERS; ``level`` for SUPERVISOR and SUPERVISOR_CHAIN;
    ``fallback_upward`` for SUPERVISOR; ``role_id`` for ROLE.
    """

    id: str
    source: ApproverSource
    mode: ApprovalMode | None = None
    next: str | None = None
    member_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    level: int = 1
    fallback_upward: bool = False
    role_id: str | None = None
    name: str = ""

    @property
    def effective_mode(self) -> ApprovalMode:
        return self.mode if self.mode is not None else DEFAULT_MODES[self.source]

    @property
    def next_ids(self) -> tuple[str | None, ...]:
        return (self.next,)


@attrs.frozen
class EndNode:
    """结束: the flow ends here."""

    id: str
    name: str = ""

    @property
    def next_ids(self) -> tuple[str | None, ...]:
        return ()


FlowNode = ConditionNode | ApproverNode | EndNode


@attrs.frozen
class ApprovalFlow:
    """An approval flow for records of ``kind``: a graph of ``nodes`` entered at ``start``.

    A disabled flow approves on submit (无需审批). ``no_approver`` says what a node resolving
    to nobody does (ADMIN hands it to ``admin_ids``, 或签). ``resubmit_from`` says where a
    rejected or withdrawn submission starts again.
    """

    id: str
    kind: str
    name: str
    nodes: tuple[FlowNode, ...] = attrs.field(converter=_nodes)
    start: str
    enabled: bool = True
    no_approver: NoApproverPolicy = NoApproverPolicy.AUTO_PASS
    admin_ids: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    resubmit_from: ResubmitFrom = ResubmitFrom.FIRST
    version: int = 1

    def node(self, node_id: str) -> FlowNode | None:
        return next((n for n in self.nodes if n.id == node_id), None)


@attrs.frozen
class ApprovalStep:
    """One resolved step of an instance: ``approver_ids`` (in order) deciding by ``mode``;
    who approved so far (in order), who rejected and why. ``by_admin`` marks a node that
    resolved to nobody (or to the submitter alone) and went to the flow's admins or the
    other 超级管理员."""

    node_id: str
    mode: ApprovalMode
    approver_ids: tuple[str, ...] = attrs.field(converter=_ids)
    approved_by: tuple[str, ...] = attrs.field(default=(), converter=_ids)
    rejected_by: str | None = None
    comment: str = ""
    by_admin: bool = False

    @property
    def complete(self) -> bool:
        """SEQUENTIAL and ALL: everyone approved; ANY: someone did."""
        if self.rejected_by is not None:
            return False
        if self.mode is ApprovalMode.ANY:
            return bool(self.approved_by)
        return len(self.approved_by) == len(self.approver_ids)

    @property
    def waiting_for(self) -> tuple[str, ...]:
        """Who may act on this step now (empty once complete or rejected)."""
        if self.rejected_by is not None or self.complete:
            return ()
        if self.mode is ApprovalMode.SEQUENTIAL:
            return (self.approver_ids[len(self.approved_by)],)
        if self.mode is ApprovalMode.ALL:
            return tuple(a for a in self.approver_ids if a not in self.approved_by)
        return self.approver_ids


@attrs.frozen
class ApprovalEvent:
    """One entry of an instance's history (审批记录): who did what, when, at which step."""

    actor_id: str | None
    action: ApprovalAction
    at: datetime
    comment: str = ""
    step: int | None = None
    node_id: str | None = None
    from_user_id: str | None = None
    to_user_id: str | None = None
    """For TRANSFER (转交): whose turn went to whom."""


@attrs.frozen
class ApprovalInstance:
    """One submission of record ``record_kind``/``record_id`` through flow ``flow_id`` at
    ``flow_version``.

    ``steps`` is the path resolved at submit; ``current`` indexes the step waiting (or the one
    that rejected / was current when withdrawn); ``current == len(steps)`` once approved.
    ``resubmit_from`` is the flow's setting at submit.
    """

    id: str
    record_kind: str
    record_id: str
    flow_id: str
    flow_version: int
    submitter_id: str
    status: ApprovalStatus
    steps: tuple[ApprovalStep, ...] = attrs.field(default=(), converter=_steps)
    current: int = 0
    resubmit_from: ResubmitFrom = ResubmitFrom.FIRST
    history: tuple[ApprovalEvent, ...] = attrs.field(default=(), converter=_events)
    submitted_at: datetime | None = None
    finished_at: datetime | None = None
    version: int = 1

    @property
    def current_step(self) -> ApprovalStep | None:
        return self.steps[self.current] if self.current < len(self.steps) else None
