"""Stateful hypothesis test of the approval engine over random flow graphs.

Random DAGs of condition and approver nodes over a small org are submitted with random record
values; random users then approve, reject, withdraw, resubmit and void. A model written from
the rule text (DESIGN §5 "审批流") — its own condition evaluation, its own supervisor walk, its
own approver resolution, and approvals fed only by the calls that succeeded — predicts every
outcome. Invariants: the submitter is never an approver and never approves their own
submission (a node only they could approve goes to the other 超级管理员); the instance is 通过
only if every required approver of every passed step approved (会签 all, 或签 at least one,
sequential all in order); nobody outside the current step can act (the attempt raises and the
instance is unchanged); statuses move only along the allowed edges."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from crmkit.entities import OrgMember, OrgSnapshot, OrgUnit
from crmkit.entities.approvals import (
    ApprovalAction,
    ApprovalFlow,
    ApprovalInstance,
    ApprovalMode,
    ApprovalStatus,
    ApproverNode,
    ApproverSource,
    Branch,
    Condition,
    ConditionNode,
    ConditionOp,
    EndNode,
    FlowNode,
    NoApproverPolicy,
    ResubmitFrom,
)
from crmkit.errors import CrmError, PermissionDenied, RuleViolation, ValidationError
from crmkit.policies.approvals import (
    TRANSITIONS,
    act,
    current_approvers,
    resubmit,
    submit,
    validate_flow,
)
from crmkit.policies.scopes import OrgIndex

A, S, M, Src, Op = ApprovalAction, ApprovalStatus, ApprovalMode, ApproverSource, ConditionOp
T0 = datetime(2026, 11, 2, tzinfo=UTC)

# d0 ─ d1 ─ d2            u0 ← u1 ← u2 ← u3;  u1 ← u4;  u0 ← u6 (disabled) ← u5
DEPARTMENT = {"u0": "d0", "u1": "d0", "u2": "d1", "u3": "d1", "u4": "d2", "u5": "d2", "u6": "d2"}
PARENT: dict[str, str | None] = {"d0": None, "d1": "d0", "d2": "d1"}
SUPERVISOR: dict[str, str | None] = {
    "u0": None, "u1": "u0", "u2": "u1", "u3": "u2", "u4": "u1", "u5": "u6", "u6": "u0"}
USERS = sorted(DEPARTMENT)
DISABLED = frozenset({"u6"})
ACTIVE = [u for u in USERS if u not in DISABLED]
ROLE_HOLDERS = {"r0": ["u1", "u3", "u6"], "r1": ["u2"], "r2": [], "r3": ["u6"]}
SUPER_ADMINS = ["u0", "u6"]  # 超级管理员 (u6 disabled): they decide nodes only the submitter could
ROLES = sorted(ROLE_HOLDERS)
USER_ROLES = {u: [r for r, holders in ROLE_HOLDERS.items() if u in holders] for u in USERS}
SNAPSHOT = OrgSnapshot(
    1, tuple(OrgUnit(d, p) for d, p in PARENT.items()),
    tuple(OrgMember(u, DEPARTMENT[u], SUPERVISOR[u], active=u not in DISABLED) for u in USERS))
ORG = OrgIndex(SNAPSHOT)

RUNNING = {S.PENDING, S.IN_REVIEW}
ALLOWED_EDGES: set[tuple[ApprovalStatus | None, ApprovalAction, ApprovalStatus]] = {
    *((None, A.SUBMIT, s) for s in (S.PENDING, S.APPROVED, S.NOT_REQUIRED)),
    *((s, A.APPROVE, t) for s in RUNNING for t in (S.IN_REVIEW, S.APPROVED)),
    *((s, A.REJECT, S.REJECTED) for s in RUNNING),
    *((s, A.WITHDRAW, S.WITHDRAWN) for s in RUNNING),
    *((s, A.RESUBMIT, t) for s in (S.REJECTED, S.WITHDRAWN)
      for t in (S.PENDING, S.IN_REVIEW, S.APPROVED, S.NOT_REQUIRED)),
    *((s, A.VOID, S.VOID) for s in S if s is not S.VOID),
    *((s, A.TRANSFER, s) for s in RUNNING),
}
MODES_OF = {  # from the rule text: which modes each source accepts
    Src.MEMBERS: [M.SEQUENTIAL, M.ALL, M.ANY], Src.SUPERVISOR: [M.SEQUENTIAL, M.ALL, M.ANY],
    Src.ROLE: [M.ALL, M.ANY], Src.SUBMITTER_CHOOSES: [M.ALL, M.ANY],
    Src.SUPERVISOR_CHAIN: [M.SEQUENTIAL],
}
DEFAULT_MODE = {Src.MEMBERS: M.SEQUENTIAL, Src.SUPERVISOR: M.ANY, Src.ROLE: M.ANY,
                Src.SUBMITTER_CHOOSES: M.ANY, Src.SUPERVISOR_CHAIN: M.SEQUENTIAL}


# -- random flows --------------------------------------------------------------------------------
amounts = st.integers(0, 100)
conditions = st.one_of(
    st.builds(Condition, op=st.sampled_from([Op.EQ, Op.GT, Op.LT]), field=st.just("amount"),
              value=amounts),
    st.tuples(amounts, amounts).map(
        lambda p: Condition(Op.BETWEEN, "amount", min(p), max(p))),
    st.builds(Condition, op=st.just(Op.CONTAINS), field=st.just("tags"),
              value=st.sampled_from(["a", "b"])),
    st.builds(Condition, op=st.just(Op.USER),
              ids=st.frozensets(st.sampled_from(USERS), min_size=1, max_size=3)),
    st.builds(Condition, op=st.just(Op.DEPARTMENT),
              ids=st.frozensets(st.sampled_from(sorted(PARENT)), min_size=1, max_size=2),
              include_children=st.booleans()),
    st.builds(Condition, op=st.just(Op.ROLE),
              ids=st.frozensets(st.sampled_from(ROLES), min_size=1, max_size=2)),
)


@st.composite
def flows(draw: st.DrawFn) -> ApprovalFlow:
    """A random well-formed flow: nodes point only forward (a DAG); unreachable ones dropped."""
    ids = [f"n{i}" for i in range(draw(st.integers(1, 6)))]

    def target(i: int) -> str | None:
        later = ids[i + 1:]
        return draw(st.sampled_from([*later, None])) if later else None

    nodes: list[FlowNode] = []
    for i, node_id in enumerate(ids):
        kind = draw(st.sampled_from(["approver", "approver", "approver", "condition", "end"]))
        if kind == "end":
            nodes.append(EndNode(node_id))
        elif kind == "condition":
            branches = [Branch(draw(st.lists(conditions, min_size=1, max_size=2)), target(i),
                               priority=draw(st.integers(0, 2)))
                        for _ in range(draw(st.integers(1, 3)))]
            nodes.append(ConditionNode(node_id, branches, default_next=target(i)))
        else:
            source = draw(st.sampled_from(list(Src)))
            nodes.append(ApproverNode(
                node_id, source, mode=draw(st.one_of(st.none(), st.sampled_from(MODES_OF[source]))),
                next=target(i),
                member_ids=draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=4,
                                         unique=True)) if source is Src.MEMBERS else (),
                level=draw(st.integers(1, 4)), fallback_upward=draw(st.booleans()),
                role_id=draw(st.sampled_from(ROLES)) if source is Src.ROLE else None))
    by_id = {n.id: n for n in nodes}
    reached, stack = {ids[0]}, [ids[0]]
    while stack:
        for nxt in by_id[stack.pop()].next_ids:
            if nxt is not None and nxt not in reached:
                reached.add(nxt)
                stack.append(nxt)
    policy = draw(st.sampled_from(list(NoApproverPolicy)))
    return ApprovalFlow(
        "f", "contract", "random", [n for n in nodes if n.id in reached], start=ids[0],
        enabled=draw(st.integers(0, 9)) < 9, no_approver=policy,
        admin_ids=draw(st.lists(st.sampled_from(USERS), min_size=1, max_size=2, unique=True))
        if policy is NoApproverPolicy.ADMIN else (),
        resubmit_from=draw(st.sampled_from(list(ResubmitFrom))))


# -- the model -----------------------------------------------------------------------------------
def chain_of(user: str) -> list[str]:
    out: list[str] = []
    boss = SUPERVISOR[user]
    while boss is not None:
        out.append(boss)
        boss = SUPERVISOR[boss]
    return out


def model_holds(c: Condition, values: dict[str, Any], submitter: str) -> bool:
    if c.op is Op.USER:
        return submitter in c.ids
    if c.op is Op.ROLE:
        return any(r in c.ids for r in USER_ROLES[submitter])
    if c.op is Op.DEPARTMENT:
        dept: str | None = DEPARTMENT[submitter]
        if not c.include_children:
            return dept in c.ids
        while dept is not None:
            if dept in c.ids:
                return True
            dept = PARENT[dept]
        return False
    x = values[c.field]
    if c.op is Op.EQ:
        return bool(x == c.value)
    if c.op is Op.GT:
        return bool(x > c.value)
    if c.op is Op.LT:
        return bool(x < c.value)
    if c.op is Op.BETWEEN:
        return bool(c.value <= x <= c.upper)
    assert c.op is Op.CONTAINS, c.op
    return bool(c.value in x)


def model_approvers(node: ApproverNode, submitter: str, chosen: dict[str, list[str]]
                    ) -> list[str]:
    def active(users: list[str]) -> list[str]:
        return list(dict.fromkeys(u for u in users if u not in DISABLED))

    if node.source is Src.MEMBERS:
        return active(list(node.member_ids))
    if node.source is Src.ROLE:
        return active(ROLE_HOLDERS[node.role_id or ""])
    if node.source is Src.SUBMITTER_CHOOSES:
        return active(chosen[node.id])
    chain = chain_of(submitter)
    if node.source is Src.SUPERVISOR_CHAIN:
        return active(chain[: node.level])
    wanted = chain[node.level - 1] if len(chain) >= node.level else None
    if wanted is not None and wanted not in DISABLED:
        return [wanted]
    if not node.fallback_upward:
        return []
    above, below = active(chain[node.level:]), active(chain[: node.level - 1])
    return above[:1] or below[-1:]


@dataclass
class ModelStep:
    node_id: str
    mode: ApprovalMode
    approvers: list[str]
    approved: list[str] = field(default_factory=list)

    def waiting(self) -> list[str]:
        if self.mode is M.SEQUENTIAL:
            return self.approvers[len(self.approved):][:1]
        if self.mode is M.ALL:
            return [a for a in self.approvers if a not in self.approved]
        return [] if self.approved else list(self.approvers)

    def complete(self) -> bool:
        return not self.waiting()


NO_APPROVER = "no approver"


def model_steps(flow: ApprovalFlow, values: dict[str, Any], submitter: str,
                chosen: dict[str, list[str]]) -> list[ModelStep] | str:
    nodes = {n.id: n for n in flow.nodes}
    supers = [u for u in SUPER_ADMINS if u not in DISABLED and u != submitter]
    admins = [u for u in flow.admin_ids if u not in DISABLED and u != submitter]
    if not admins and submitter in flow.admin_ids:
        admins = supers
    steps: list[ModelStep] = []
    at: str | None = flow.start
    while at is not None:
        node = nodes[at]
        if isinstance(node, EndNode):
            break
        if isinstance(node, ConditionNode):
            at = node.default_next
            for priority in sorted({b.priority for b in node.branches}):
                hits = [b for b in node.branches if b.priority == priority
                        and all(model_holds(c, values, submitter) for c in b.conditions)]
                if hits:
                    at = hits[0].next
                    break
            continue
        resolved = model_approvers(node, submitter, chosen)
        people = [u for u in resolved if u != submitter]  # nobody approves their own
        mode = M.ANY if node.source is Src.SUPERVISOR else (node.mode or DEFAULT_MODE[node.source])
        if people:
            steps.append(ModelStep(node.id, mode, people))
        elif resolved and supers:
            steps.append(ModelStep(node.id, M.ANY, supers))
        elif flow.no_approver is NoApproverPolicy.ADMIN:
            if not admins:
                return NO_APPROVER
            steps.append(ModelStep(node.id, M.ANY, admins))
        at = node.next
    return steps


# -- the machine ---------------------------------------------------------------------------------
ACTIONS = [A.APPROVE] * 10 + [A.REJECT] * 3 + [A.WITHDRAW] * 2 + [A.RESUBMIT] * 4 + [A.VOID]


class ApprovalMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.flow: ApprovalFlow | None = None
        self.instance: ApprovalInstance | None = None
        self.status: ApprovalStatus | None = None
        self.steps: list[ModelStep] = []
        self.current = 0
        self.submitter = ""
        self.successes = 0
        self.minutes = 0
        self.edges: list[tuple[ApprovalStatus | None, ApprovalAction, ApprovalStatus]] = []

    def now(self) -> datetime:
        self.minutes += 1
        return T0 + timedelta(minutes=self.minutes)

    def draw_record(self, data: st.DataObject, submitter: str
                    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        """Record values and the approvers the submitter picks (never themselves)."""
        assert self.flow is not None
        values = {"amount": data.draw(amounts),
                  "tags": data.draw(st.lists(st.sampled_from(["a", "b", "c"]), max_size=2))}
        others = [u for u in ACTIVE if u != submitter]
        chosen = {n.id: data.draw(st.lists(st.sampled_from(others), min_size=1, max_size=3))
                  for n in self.flow.nodes
                  if isinstance(n, ApproverNode) and n.source is Src.SUBMITTER_CHOOSES}
        return values, chosen

    def start_model(self, steps: list[ModelStep]) -> None:
        assert self.flow is not None
        self.steps, self.current = steps, 0
        self.status = (S.NOT_REQUIRED if not self.flow.enabled
                       else S.APPROVED if not steps else S.PENDING)

    @initialize(flow=flows(), data=st.data())
    def define(self, flow: ApprovalFlow, data: st.DataObject) -> None:
        assert validate_flow(flow) == []
        self.flow = flow
        self.new_submission(data)

    @rule(data=st.data())
    def next_move(self, data: st.DataObject) -> None:
        """A new record is submitted once the last one is settled (通过/作废/无需审批; those may
        still be voided), else someone acts on the running one."""
        settled = self.status in (None, S.APPROVED, S.VOID, S.NOT_REQUIRED)
        if settled and (self.instance is None or data.draw(st.integers(0, 3)) < 3):
            self.new_submission(data)
        else:
            self.someone_acts(data)

    def new_submission(self, data: st.DataObject) -> None:
        assert self.flow is not None
        submitter = data.draw(st.sampled_from(ACTIVE))
        values, chosen = self.draw_record(data, submitter)
        expected = model_steps(self.flow, values, submitter, chosen)
        if not self.flow.enabled:
            expected = []
        try:
            made = submit(self.flow, values, submitter, ORG, record_id="r", instance_id="i",
                          now=self.now(), role_holders=ROLE_HOLDERS,
                          submitter_role_ids=USER_ROLES[submitter], chosen=chosen,
                          disabled_user_ids=DISABLED, super_admin_ids=SUPER_ADMINS)
        except RuleViolation as error:
            assert expected == NO_APPROVER and error.code == "approval.no_approver"
            event("submit: nobody can approve")
            self.instance, self.status = None, None
            return
        assert isinstance(expected, list)
        event(f"submit → {made.status.value}")
        self.instance, self.submitter, self.successes = made, submitter, 0
        self.start_model(expected)
        self.edges.append((None, A.SUBMIT, made.status))

    def someone_acts(self, data: st.DataObject) -> None:
        before = self.instance
        assert before is not None and self.flow is not None
        waiting = self.steps[self.current].waiting() if self.status in RUNNING else []
        stopped = self.status in (S.REJECTED, S.WITHDRAWN)
        if waiting and data.draw(st.integers(0, 9)) < 6:
            actor = data.draw(st.sampled_from(waiting))
        elif stopped and data.draw(st.integers(0, 9)) < 6:
            actor = self.submitter
        else:
            actor = data.draw(st.sampled_from([self.submitter, *USERS]))
        if stopped and data.draw(st.booleans()):
            action = A.RESUBMIT
        else:
            action = data.draw(st.sampled_from(ACTIONS))
        comment = data.draw(st.sampled_from(["", "意见", "意见"]))
        expected_error, code = self.predict(actor, action, comment, waiting)
        values: dict[str, Any] = {}
        chosen: dict[str, list[str]] = {}
        resolved: list[ModelStep] | str = []
        if action is A.RESUBMIT:
            values, chosen = self.draw_record(data, self.submitter)
            resolved = model_steps(self.flow, values, self.submitter, chosen)
            if (expected_error is None and before.resubmit_from is ResubmitFrom.FIRST
                    and self.flow.enabled and resolved == NO_APPROVER):
                expected_error, code = RuleViolation, "approval.no_approver"
        try:
            if action is A.RESUBMIT:
                after = resubmit(before, actor, self.flow, values, ORG, now=self.now(),
                                 role_holders=ROLE_HOLDERS, chosen=chosen, comment=comment,
                                 submitter_role_ids=USER_ROLES[self.submitter],
                                 disabled_user_ids=DISABLED, super_admin_ids=SUPER_ADMINS)
            else:
                after = act(before, actor, action, now=self.now(), comment=comment)
        except CrmError as error:
            assert expected_error is not None, f"{actor} {action} refused: {error}"
            assert isinstance(error, expected_error) and error.code == code, error
            assert self.instance == before  # nothing changed
            return
        assert expected_error is None, f"{actor} {action} allowed, expected {code}"
        self.successes += 1
        event(f"{action.value} → {after.status.value}" + (
            f" ({before.resubmit_from.value})" if action is A.RESUBMIT else ""))
        if after.status is S.APPROVED:
            event(f"approved after {len(after.steps)} step(s)")
        self.edges.append((self.status, action, after.status))
        self.instance = after
        self.apply(actor, action, before, resolved)

    def predict(self, actor: str, action: ApprovalAction, comment: str, waiting: list[str]
                ) -> tuple[type[CrmError] | None, str]:
        if action is A.VOID:
            return (RuleViolation, "approval.bad_status") if self.status is S.VOID else (None, "")
        if action is A.RESUBMIT:
            if self.status not in (S.REJECTED, S.WITHDRAWN):
                return RuleViolation, "approval.bad_status"
            return (PermissionDenied, "approval.not_submitter") if actor != self.submitter else (
                None, "")
        if self.status not in RUNNING:
            return RuleViolation, "approval.bad_status"
        if action is A.WITHDRAW:
            return (PermissionDenied, "approval.not_submitter") if actor != self.submitter else (
                None, "")
        if actor not in waiting:
            return PermissionDenied, "approval.not_your_turn"
        if action is A.REJECT and not comment:
            return ValidationError, "validation_failed"
        return None, ""

    def apply(self, actor: str, action: ApprovalAction, before: ApprovalInstance,
              resolved: list[ModelStep] | str) -> None:
        if action is A.VOID:
            self.status = S.VOID
        elif action is A.WITHDRAW:
            self.status = S.WITHDRAWN
        elif action is A.REJECT:
            self.status = S.REJECTED
        elif action is A.APPROVE:
            step = self.steps[self.current]
            step.approved.append(actor)
            if step.complete():
                self.current += 1
            self.status = S.APPROVED if self.current == len(self.steps) else S.IN_REVIEW
        elif before.resubmit_from is ResubmitFrom.REJECTING:
            self.steps[self.current].approved = []
            self.status = S.IN_REVIEW if any(s.approved for s in self.steps) else S.PENDING
        else:
            assert isinstance(resolved, list)
            self.start_model(resolved if self.flow is not None and self.flow.enabled else [])

    # -- invariants ------------------------------------------------------------------------------
    @invariant()
    def instance_matches_the_model(self) -> None:
        instance = self.instance
        if instance is None:
            return
        assert instance.status is self.status
        assert [(s.node_id, s.mode, list(s.approver_ids)) for s in instance.steps] == [
            (s.node_id, s.mode, s.approvers) for s in self.steps]
        assert [list(s.approved_by) for s in instance.steps] == [s.approved for s in self.steps]
        waiting = self.steps[self.current].waiting() if self.status in RUNNING else []
        assert list(current_approvers(instance)) == waiting
        assert instance.version == 1 + self.successes

    @invariant()
    def approved_only_when_every_required_approver_approved(self) -> None:
        if self.status is not S.APPROVED:
            return
        for step in self.steps:
            if step.mode is M.SEQUENTIAL:
                assert step.approved == step.approvers
            elif step.mode is M.ALL:
                assert sorted(step.approved) == sorted(step.approvers)
            else:
                assert step.approved and set(step.approved) <= set(step.approvers)

    @invariant()
    def the_submitter_never_approves_their_own_submission(self) -> None:
        """No step waits for the submitter, and an approval never ends 通过 through a step
        the submitter acted on."""
        instance = self.instance
        if instance is None:
            return
        assert all(self.submitter not in s.approver_ids for s in instance.steps)
        if instance.status is S.APPROVED:
            assert all(e.actor_id != self.submitter for e in instance.history
                       if e.action is A.APPROVE)

    @invariant()
    def statuses_move_along_allowed_edges(self) -> None:
        assert set(self.edges) <= ALLOWED_EDGES


ApprovalMachine.TestCase.settings = settings(
    max_examples=min(settings().max_examples, 100), stateful_step_count=40, deadline=None,
    suppress_health_check=[HealthCheck.too_slow])
TestApprovalMachine = ApprovalMachine.TestCase


def test_the_published_transition_table_is_the_rule_text() -> None:
    assert set(TRANSITIONS) == ALLOWED_EDGES


# -- validation on random graphs -----------------------------------------------------------------
def _approvers(flow: ApprovalFlow) -> list[int]:
    return [i for i, n in enumerate(flow.nodes) if isinstance(n, ApproverNode)]


@given(flows())
def test_random_dags_are_well_formed(flow: ApprovalFlow) -> None:
    assert validate_flow(flow) == []


@given(flows().filter(_approvers))
def test_a_link_back_to_the_start_is_a_cycle(flow: ApprovalFlow) -> None:
    i = _approvers(flow)[-1]
    node = flow.nodes[i]
    assert isinstance(node, ApproverNode)
    nodes = list(flow.nodes)
    nodes[i] = attrs.evolve(node, next=flow.start)
    codes = {(p.path, p.code) for p in validate_flow(attrs.evolve(flow, nodes=nodes))}
    assert (f"$.nodes[{i}].next", "flow.cycle") in codes


@given(flows())
def test_a_node_nobody_points_to_is_unreachable(flow: ApprovalFlow) -> None:
    orphan = ApproverNode("orphan", Src.MEMBERS, member_ids=["u0"], next=flow.start)
    problems = validate_flow(attrs.evolve(flow, nodes=[*flow.nodes, orphan]))
    assert [(p.path, p.code) for p in problems] == [
        (f"$.nodes[{len(flow.nodes)}]", "flow.unreachable")]
