"""审批流 rules, one by one (DESIGN §5 "审批流"): flow validation rejects each malformed graph;
conditions, routing, every approver source and the no-approver policy at submit; and the
actions approve / reject / withdraw / resubmit / void, each on its allowed and refused side."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

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
from crmkit.errors import PermissionDenied, RuleViolation, ValidationError
from crmkit.policies.approvals import (
    TRANSITIONS,
    act,
    check_flow,
    condition_holds,
    current_approvers,
    disabled_members,
    newly_waiting,
    plain_value,
    resolve_approvers,
    resubmit,
    route,
    submit,
    supervisor_chain,
    transfer,
    validate_flow,
)
from crmkit.policies.scopes import OrgIndex

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A = ApprovalAction
S = ApprovalStatus

#   hq ── sales ── east           boss ← vp ← mgr ← amy, bob, gone (disabled)
#     └── finance                 boss ← cfo ← fin1, fin2;  lonely (no supervisor)
SNAPSHOT = OrgSnapshot(
    version=1,
    units=(OrgUnit("hq", None), OrgUnit("sales", "hq"), OrgUnit("east", "sales"),
           OrgUnit("finance", "hq")),
    members=(
        OrgMember("boss", "hq"), OrgMember("vp", "hq", "boss"),
        OrgMember("mgr", "sales", "vp"), OrgMember("amy", "east", "mgr"),
        OrgMember("bob", "east", "mgr"), OrgMember("gone", "east", "mgr", active=False),
        OrgMember("cfo", "finance", "boss"), OrgMember("fin1", "finance", "cfo"),
        OrgMember("fin2", "finance", "cfo"), OrgMember("lonely", "hq"),
        OrgMember("temp", "east", "gone"),
    ),
)
ORG = OrgIndex(SNAPSHOT)
DISABLED = disabled_members(SNAPSHOT)
HOLDERS = {"finance": ["fin1", "gone", "fin2"], "nobody": [], "ghosts": ["gone"]}


def flow_of(*nodes: FlowNode, start: str | None = None, **options: Any) -> ApprovalFlow:
    return ApprovalFlow("f1", "contract", "合同审批", nodes,
                        start=nodes[0].id if start is None else start, **options)


def approver(node_id: str = "n", source: ApproverSource = ApproverSource.MEMBERS,
             **fields: Any) -> ApproverNode:
    return ApproverNode(node_id, source, **fields)


def go(flow: ApprovalFlow, submitter: str = "amy", values: dict[str, Any] | None = None,
       **options: Any) -> ApprovalInstance:
    options.setdefault("role_holders", HOLDERS)
    options.setdefault("disabled_user_ids", DISABLED)
    return submit(flow, values or {}, submitter, ORG, record_id="c1", instance_id="ap1",
                  now=NOW, **options)


def steps_of(instance: ApprovalInstance) -> list[tuple[str, ApprovalMode, tuple[str, ...]]]:
    return [(s.node_id, s.mode, s.approver_ids) for s in instance.steps]


def do(instance: ApprovalInstance, actor: str, action: ApprovalAction = A.APPROVE,
       comment: str = "") -> ApprovalInstance:
    after = act(instance, actor, action, now=NOW + timedelta(minutes=instance.version),
                comment=comment)
    assert (instance.status, action, after.status) in TRANSITIONS
    assert after.version == instance.version + 1
    return after


def refused(instance: ApprovalInstance, actor: str, action: ApprovalAction,
            error: type[Exception], code: str, comment: str = "x") -> None:
    with pytest.raises(error) as caught:
        act(instance, actor, action, now=NOW, comment=comment)
    assert getattr(caught.value, "code", None) == code


# -- validate_flow -------------------------------------------------------------------------------
GOOD = flow_of(
    ConditionNode("c", [Branch([Condition(ConditionOp.GT, "amount", 100)], "big")],
                  default_next="small"),
    approver("big", member_ids=["boss"], next="end"),
    approver("small", ApproverSource.SUPERVISOR, next="end"),
    EndNode("end"),
)


def test_a_well_formed_flow_has_no_problems() -> None:
    assert validate_flow(GOOD) == []
    check_flow(GOOD)


MALFORMED: list[tuple[str, ApprovalFlow, tuple[str, str]]] = [
    ("no nodes", ApprovalFlow("f", "contract", "x", (), start=""), ("$.start", "flow.no_start")),
    ("no start", attrs.evolve(GOOD, start=""), ("$.start", "flow.no_start")),
    ("unknown start", attrs.evolve(GOOD, start="zz"), ("$.start", "flow.unknown_node")),
    ("no kind", attrs.evolve(GOOD, kind=""), ("$.kind", "flow.no_kind")),
    ("unknown next", flow_of(approver(member_ids=["boss"], next="zz")),
     ("$.nodes[0].next", "flow.unknown_node")),
    ("unknown branch target", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.EQ, "a", 1)], "zz")])),
     ("$.nodes[0].branches[0].next", "flow.unknown_node")),
    ("unknown default", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.EQ, "a", 1)], None)], default_next="zz")),
     ("$.nodes[0].default_next", "flow.unknown_node")),
    ("unreachable", flow_of(approver("a", member_ids=["boss"]), approver("b", member_ids=["vp"])),
     ("$.nodes[1]", "flow.unreachable")),
    ("self loop", flow_of(approver("a", member_ids=["boss"], next="a")),
     ("$.nodes[0].next", "flow.cycle")),
    ("two-node cycle", flow_of(approver("a", member_ids=["boss"], next="b"),
                               approver("b", member_ids=["vp"], next="a")),
     ("$.nodes[1].next", "flow.cycle")),
    ("cycle through a branch", flow_of(
        approver("a", member_ids=["boss"], next="c"),
        ConditionNode("c", [Branch([Condition(ConditionOp.EQ, "x", 1)], "a")])),
     ("$.nodes[1].branches[0].next", "flow.cycle")),
    ("duplicate id", flow_of(approver("a", member_ids=["boss"], next="a2"),
                             approver("a2", member_ids=["vp"]), approver("a", member_ids=["x"])),
     ("$.nodes[2].id", "flow.duplicate_node")),
    ("empty id", flow_of(approver("a", member_ids=["boss"]), approver("", member_ids=["vp"])),
     ("$.nodes[1].id", "flow.empty_id")),
    ("empty members", flow_of(approver(member_ids=[])),
     ("$.nodes[0].member_ids", "flow.empty_approvers")),
    ("blank member", flow_of(approver(member_ids=["boss", ""])),
     ("$.nodes[0].member_ids", "flow.empty_approvers")),
    ("member twice", flow_of(approver(member_ids=["boss", "vp", "boss"])),
     ("$.nodes[0].member_ids", "flow.duplicate_approvers")),
    ("role without role", flow_of(approver(source=ApproverSource.ROLE)),
     ("$.nodes[0].role_id", "flow.empty_approvers")),
    ("supervisor level 0", flow_of(approver(source=ApproverSource.SUPERVISOR, level=0)),
     ("$.nodes[0].level", "flow.bad_level")),
    ("chain level 21", flow_of(approver(source=ApproverSource.SUPERVISOR_CHAIN, level=21)),
     ("$.nodes[0].level", "flow.bad_level")),
    ("role in sequence", flow_of(approver(source=ApproverSource.ROLE, role_id="finance",
                                          mode=ApprovalMode.SEQUENTIAL)),
     ("$.nodes[0].mode", "flow.bad_mode")),
    ("chooser in sequence", flow_of(approver(source=ApproverSource.SUBMITTER_CHOOSES,
                                             mode=ApprovalMode.SEQUENTIAL)),
     ("$.nodes[0].mode", "flow.bad_mode")),
    ("chain 会签", flow_of(approver(source=ApproverSource.SUPERVISOR_CHAIN, mode=ApprovalMode.ALL)),
     ("$.nodes[0].mode", "flow.bad_mode")),
    ("no branches", flow_of(ConditionNode("c", [])), ("$.nodes[0].branches", "flow.no_branches")),
    ("branch without conditions", flow_of(ConditionNode("c", [Branch([], None)])),
     ("$.nodes[0].branches[0].conditions", "flow.no_conditions")),
    ("condition without field", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.EQ, "", 1)], None)])),
     ("$.nodes[0].branches[0].conditions[0].field", "flow.bad_condition")),
    ("> without value", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.GT, "amount")], None)])),
     ("$.nodes[0].branches[0].conditions[0].value", "flow.bad_condition")),
    ("between without upper", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.BETWEEN, "amount", 1)], None)])),
     ("$.nodes[0].branches[0].conditions[0].upper", "flow.bad_condition")),
    ("between upside down", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.BETWEEN, "amount", "9", 1)], None)])),
     ("$.nodes[0].branches[0].conditions[0].upper", "flow.bad_condition")),
    ("user test without users", flow_of(ConditionNode(
        "c", [Branch([Condition(ConditionOp.USER)], None)])),
     ("$.nodes[0].branches[0].conditions[0].ids", "flow.bad_condition")),
    ("admin policy without admins", attrs.evolve(GOOD, no_approver=NoApproverPolicy.ADMIN),
     ("$.admin_ids", "flow.no_admins")),
]


@pytest.mark.parametrize(("flow", "expected"), [(f, e) for _, f, e in MALFORMED],
                         ids=[name for name, _, _ in MALFORMED])
def test_validate_flow_rejects_each_malformed_case(
        flow: ApprovalFlow, expected: tuple[str, str]) -> None:
    problems = [(p.path, p.code) for p in validate_flow(flow)]
    assert expected in problems
    with pytest.raises(ValidationError) as caught:
        check_flow(flow)
    assert caught.value.codes[expected[0]] == expected[1]
    assert all(p.message_zh and p.message_en for p in validate_flow(flow))


def test_submit_refuses_a_malformed_flow_but_a_disabled_one_needs_no_approval() -> None:
    broken = flow_of(approver("a", member_ids=["boss"], next="a"))
    with pytest.raises(ValidationError) as caught:
        go(broken)
    assert caught.value.codes == {"$.nodes[0].next": "flow.cycle"}
    off = go(attrs.evolve(broken, enabled=False))
    assert off.status is S.NOT_REQUIRED and off.steps == () and off.finished_at == NOW
    assert [e.action for e in off.history] == [A.SUBMIT, A.NOT_REQUIRED]
    assert current_approvers(off) == ()


def test_cycles_in_unreachable_parts_are_reported_too() -> None:
    flow = flow_of(approver("a", member_ids=["boss"]), approver("b", member_ids=["vp"], next="c"),
                   approver("c", member_ids=["vp"], next="b"))
    codes = {(p.path, p.code) for p in validate_flow(flow)}
    assert {("$.nodes[1]", "flow.unreachable"), ("$.nodes[2]", "flow.unreachable"),
            ("$.nodes[2].next", "flow.cycle")} <= codes


# -- conditions ----------------------------------------------------------------------------------
def holds(condition: Condition, values: dict[str, Any], submitter: str = "amy",
          roles: Sequence[str] = ()) -> bool:
    return condition_holds(condition, values, submitter, ORG, roles)


@pytest.mark.parametrize(("condition", "values", "expected"), [
    (Condition(ConditionOp.EQ, "type", "新签"), {"type": "新签"}, True),
    (Condition(ConditionOp.EQ, "type", "新签"), {"type": "续签"}, False),
    (Condition(ConditionOp.EQ, "amount", "100.00"), {"amount": Decimal(100)}, True),
    (Condition(ConditionOp.EQ, "amount", 100), {"amount": 100.0}, True),
    (Condition(ConditionOp.EQ, "note", None), {}, True),
    (Condition(ConditionOp.EQ, "amount", 1), {}, False),
    (Condition(ConditionOp.GT, "amount", "100000"), {"amount": Decimal("100000.01")}, True),
    (Condition(ConditionOp.GT, "amount", "100000"), {"amount": Decimal("100000")}, False),
    (Condition(ConditionOp.GT, "amount", "lots"), {"amount": Decimal(5)}, False),
    (Condition(ConditionOp.GT, "amount", 5), {"amount": "text"}, False),
    (Condition(ConditionOp.GT, "amount", 5), {}, False),
    (Condition(ConditionOp.GT, "amount", 5), {"amount": True}, False),
    (Condition(ConditionOp.LT, "amount", 10), {"amount": 9}, True),
    (Condition(ConditionOp.LT, "amount", 10), {"amount": 10}, False),
    (Condition(ConditionOp.LT, "signed", "2026-01-01"), {"signed": date(2025, 12, 31)}, True),
    (Condition(ConditionOp.LT, "signed", "not a date"), {"signed": date(2025, 12, 31)}, False),
    (Condition(ConditionOp.GT, "at", "2026-01-01T08:00"),
     {"at": datetime(2026, 1, 1, 9, tzinfo=UTC)}, True),
    (Condition(ConditionOp.BETWEEN, "amount", 10, 20), {"amount": 10}, True),
    (Condition(ConditionOp.BETWEEN, "amount", 10, 20), {"amount": 20}, True),
    (Condition(ConditionOp.BETWEEN, "amount", 10, 20), {"amount": Decimal("20.01")}, False),
    (Condition(ConditionOp.BETWEEN, "amount", 10, 20), {"amount": 9}, False),
    (Condition(ConditionOp.CONTAINS, "name", "框架"), {"name": "年度框架合同"}, True),
    (Condition(ConditionOp.CONTAINS, "name", "框架"), {"name": "单次合同"}, False),
    (Condition(ConditionOp.CONTAINS, "tags", "vip"), {"tags": ["vip", "new"]}, True),
    (Condition(ConditionOp.CONTAINS, "tags", "vip"), {"tags": ["new"]}, False),
    (Condition(ConditionOp.CONTAINS, "tags", "vip"), {"tags": 5}, False),
])
def test_field_conditions(condition: Condition, values: dict[str, Any], expected: bool) -> None:
    assert holds(condition, values) is expected


def test_submitter_conditions() -> None:
    user = Condition(ConditionOp.USER, ids={"amy", "cfo"})
    assert holds(user, {}, "amy") and not holds(user, {}, "bob")
    tree = Condition(ConditionOp.DEPARTMENT, ids={"sales"})
    assert holds(tree, {}, "amy") and holds(tree, {}, "mgr") and not holds(tree, {}, "fin1")
    flat = Condition(ConditionOp.DEPARTMENT, ids={"sales"}, include_children=False)
    assert holds(flat, {}, "mgr") and not holds(flat, {}, "amy")
    assert not holds(tree, {}, "stranger")
    role = Condition(ConditionOp.ROLE, ids={"sales_manager"})
    assert holds(role, {}, roles=["clerk", "sales_manager"]) and not holds(role, {}, roles=[])


# -- routing -------------------------------------------------------------------------------------
def branching(*branches: Branch, default: str | None = "dflt") -> ApprovalFlow:
    targets = {b.next for b in branches} | {default}
    return flow_of(ConditionNode("c", branches, default_next=default),
                   *(approver(t, member_ids=["boss"]) for t in sorted(t for t in targets if t)))


def test_first_matching_branch_by_priority_wins_ties_in_declared_order() -> None:
    big = Condition(ConditionOp.GT, "amount", 100)
    huge = Condition(ConditionOp.GT, "amount", 1000)
    flow = branching(Branch([big], "b1", priority=2), Branch([huge], "b2", priority=1),
                     Branch([big], "b3", priority=1))
    assert [n.id for n in route(flow, {"amount": 5000}, "amy", ORG)] == ["b2"]
    assert [n.id for n in route(flow, {"amount": 500}, "amy", ORG)] == ["b3"]
    assert [n.id for n in route(flow, {"amount": 5}, "amy", ORG)] == ["dflt"]


def test_a_branch_needs_all_its_conditions() -> None:
    flow = branching(Branch([Condition(ConditionOp.GT, "amount", 100),
                             Condition(ConditionOp.DEPARTMENT, ids={"finance"})], "fin"))
    assert [n.id for n in route(flow, {"amount": 500}, "fin1", ORG)] == ["fin"]
    assert [n.id for n in route(flow, {"amount": 500}, "amy", ORG)] == ["dflt"]


def test_no_default_or_an_end_node_ends_the_flow_approved_at_submit() -> None:
    flow = branching(Branch([Condition(ConditionOp.GT, "amount", 100)], "b"), default=None)
    assert route(flow, {"amount": 1}, "amy", ORG) == ()
    done = go(flow, values={"amount": 1})
    assert done.status is S.APPROVED and done.steps == () and done.finished_at == NOW
    ended = go(flow_of(EndNode("e")))
    assert ended.status is S.APPROVED


def test_steps_follow_the_path_through_conditions() -> None:
    instance = go(GOOD, values={"amount": 500})
    assert steps_of(instance) == [("big", ApprovalMode.SEQUENTIAL, ("boss",))]
    instance = go(GOOD, values={"amount": 50})
    assert steps_of(instance) == [("small", ApprovalMode.ANY, ("mgr",))]
    assert instance.status is S.PENDING and instance.record_kind == "contract"
    assert (instance.flow_id, instance.flow_version, instance.submitter_id) == ("f1", 1, "amy")


# -- approver sources ----------------------------------------------------------------------------
def resolve(node: ApproverNode, submitter: str = "amy",
            chosen: dict[str, list[str]] | None = None) -> tuple[str, ...]:
    return resolve_approvers(node, submitter, ORG, role_holders=HOLDERS, chosen=chosen or {},
                             disabled_user_ids=DISABLED)


def test_supervisor_chain_walks_up_and_includes_disabled_links() -> None:
    assert supervisor_chain(ORG, "amy") == ("mgr", "vp", "boss")
    assert supervisor_chain(ORG, "temp") == ("gone", "mgr", "vp", "boss")
    assert supervisor_chain(ORG, "lonely") == ()


def test_members_keep_their_order_and_skip_disabled_and_unknown_users() -> None:
    node = approver(member_ids=["fin2", "gone", "stranger", "fin1"])
    assert resolve(node) == ("fin2", "fin1")


@pytest.mark.parametrize(("submitter", "level", "fallback", "expected"), [
    ("amy", 1, False, ("mgr",)),
    ("amy", 2, False, ("vp",)),
    ("amy", 3, False, ("boss",)),
    ("amy", 4, False, ()),            # the chain is shorter: nobody …
    ("amy", 4, True, ("boss",)),      # … or the top of the chain with the fallback
    ("temp", 1, False, ()),           # the direct supervisor is disabled: nobody …
    ("temp", 1, True, ("mgr",)),      # … or the nearest active one above
    ("lonely", 1, True, ()),          # no supervisor at all
])
def test_nth_level_supervisor(submitter: str, level: int, fallback: bool,
                              expected: tuple[str, ...]) -> None:
    node = approver(source=ApproverSource.SUPERVISOR, level=level, fallback_upward=fallback)
    assert resolve(node, submitter) == expected


def test_fallback_prefers_above_then_the_highest_below() -> None:
    snapshot = OrgSnapshot(1, (OrgUnit("hq", None),), (
        OrgMember("top", "hq", active=False), OrgMember("mid", "hq", "top"),
        OrgMember("low", "hq", "mid"), OrgMember("me", "hq", "low")))
    org = OrgIndex(snapshot)
    node = approver(source=ApproverSource.SUPERVISOR, level=3, fallback_upward=True)
    assert resolve_approvers(node, "me", org, disabled_user_ids=disabled_members(snapshot)) == (
        "mid",)


def test_supervisor_chain_source_is_continuous_and_sequential() -> None:
    chain = approver(source=ApproverSource.SUPERVISOR_CHAIN, level=2)
    assert resolve(chain) == ("mgr", "vp")
    assert resolve(attrs.evolve(chain, level=9)) == ("mgr", "vp", "boss")
    assert resolve(attrs.evolve(chain, level=2), "temp") == ("mgr",)
    instance = go(flow_of(chain))
    assert steps_of(instance) == [("n", ApprovalMode.SEQUENTIAL, ("mgr", "vp"))]
    refused(instance, "vp", A.APPROVE, PermissionDenied, "approval.not_your_turn")
    assert do(do(instance, "mgr"), "vp").status is S.APPROVED


def test_role_resolves_to_its_active_holders() -> None:
    node = approver(source=ApproverSource.ROLE, role_id="finance", mode=ApprovalMode.ALL)
    assert resolve(node) == ("fin1", "fin2")
    assert resolve(attrs.evolve(node, role_id="nobody")) == ()
    assert resolve(attrs.evolve(node, role_id="ghosts")) == ()


def test_submitter_chooses_the_approvers() -> None:
    node = approver("pick", ApproverSource.SUBMITTER_CHOOSES, mode=ApprovalMode.ALL)
    instance = go(flow_of(node), chosen={"pick": ["cfo", "fin1", "cfo"], "elsewhere": ["x"]})
    assert steps_of(instance) == [("pick", ApprovalMode.ALL, ("cfo", "fin1"))]
    with pytest.raises(ValidationError) as missing:
        go(flow_of(node))
    assert missing.value.codes == {"$.chosen.pick": "approval.approvers_required"}
    with pytest.raises(ValidationError) as bad:
        go(flow_of(node), chosen={"pick": ["cfo", "gone"]})
    assert bad.value.codes == {"$.chosen.pick": "approval.bad_approver"}
    with pytest.raises(ValidationError) as caught:
        go(flow_of(node), chosen={"pick": ["stranger"]})
    assert caught.value.codes == {"$.chosen.pick": "approval.bad_approver"}
    with pytest.raises(ValidationError) as own:
        go(flow_of(node), chosen={"pick": ["cfo", "amy"]})
    assert own.value.codes == {"$.chosen.pick": "approval.self_approver"}


def test_a_chooser_node_off_the_path_needs_no_choice() -> None:
    flow = flow_of(
        ConditionNode("c", [Branch([Condition(ConditionOp.GT, "amount", 100)], "pick")],
                      default_next="boss"),
        approver("pick", ApproverSource.SUBMITTER_CHOOSES), approver("boss", member_ids=["boss"]))
    assert steps_of(go(flow, values={"amount": 1})) == [
        ("boss", ApprovalMode.SEQUENTIAL, ("boss",))]


# -- nobody to approve ---------------------------------------------------------------------------
EMPTY_ROLE = approver("r", ApproverSource.ROLE, role_id="ghosts", next="m")
THEN_BOSS = approver("m", member_ids=["boss"])


def test_auto_pass_skips_a_node_resolving_to_nobody_and_records_it() -> None:
    instance = go(flow_of(EMPTY_ROLE, THEN_BOSS))
    assert steps_of(instance) == [("m", ApprovalMode.SEQUENTIAL, ("boss",))]
    assert [(e.action, e.node_id, e.actor_id) for e in instance.history] == [
        (A.SUBMIT, None, "amy"), (A.AUTO_PASS, "r", None)]
    assert go(flow_of(attrs.evolve(EMPTY_ROLE, next=None))).status is S.APPROVED


def test_admin_policy_hands_the_node_to_the_active_admins_as_any() -> None:
    flow = flow_of(EMPTY_ROLE, THEN_BOSS, no_approver=NoApproverPolicy.ADMIN,
                   admin_ids=["gone", "cfo", "vp"])
    instance = go(flow)
    assert steps_of(instance)[0] == ("r", ApprovalMode.ANY, ("cfo", "vp"))
    assert instance.steps[0].by_admin and not instance.steps[1].by_admin
    with pytest.raises(RuleViolation) as caught:
        go(attrs.evolve(flow, admin_ids=["gone"]))
    assert caught.value.code == "approval.no_approver"


# -- acting: modes -------------------------------------------------------------------------------
def members(mode: ApprovalMode, *ids: str, **options: Any) -> ApprovalInstance:
    return go(flow_of(approver(member_ids=ids, mode=mode), **options))


def test_sequential_only_the_next_in_order() -> None:
    instance = members(ApprovalMode.SEQUENTIAL, "mgr", "vp", "boss")
    assert current_approvers(instance) == ("mgr",)
    refused(instance, "vp", A.APPROVE, PermissionDenied, "approval.not_your_turn")
    refused(instance, "boss", A.REJECT, PermissionDenied, "approval.not_your_turn")
    instance = do(instance, "mgr")
    assert instance.status is S.IN_REVIEW and current_approvers(instance) == ("vp",)
    refused(instance, "mgr", A.APPROVE, PermissionDenied, "approval.not_your_turn")
    instance = do(do(instance, "vp"), "boss")
    assert instance.status is S.APPROVED and instance.steps[0].approved_by == ("mgr", "vp", "boss")
    assert instance.current == 1 and instance.finished_at is not None


def test_all_each_approver_once_and_all_of_them() -> None:
    instance = members(ApprovalMode.ALL, "mgr", "vp", "boss")
    assert set(current_approvers(instance)) == {"mgr", "vp", "boss"}
    instance = do(instance, "boss")
    refused(instance, "boss", A.APPROVE, PermissionDenied, "approval.not_your_turn")
    refused(instance, "boss", A.REJECT, PermissionDenied, "approval.not_your_turn")
    assert set(current_approvers(instance)) == {"mgr", "vp"}
    instance = do(instance, "mgr")
    assert instance.status is S.IN_REVIEW
    assert do(instance, "vp").status is S.APPROVED


def test_any_one_approval_ends_the_step() -> None:
    instance = go(flow_of(approver("a", member_ids=["mgr", "vp"], mode=ApprovalMode.ANY,
                                   next="b"), approver("b", member_ids=["boss"])))
    instance = do(instance, "vp")
    assert instance.current == 1 and current_approvers(instance) == ("boss",)
    refused(instance, "mgr", A.APPROVE, PermissionDenied, "approval.not_your_turn")
    assert do(instance, "boss").status is S.APPROVED


def test_one_rejection_rejects_and_needs_a_comment() -> None:
    instance = members(ApprovalMode.ALL, "mgr", "vp")
    instance = do(instance, "mgr")
    with pytest.raises(ValidationError) as caught:
        act(instance, "vp", A.REJECT, now=NOW, comment="  ")
    assert caught.value.codes == {"$.comment": "approval.comment_required"}
    refused(instance, "amy", A.REJECT, PermissionDenied, "approval.not_your_turn")
    rejected = do(instance, "vp", A.REJECT, "价格太低")
    assert rejected.status is S.REJECTED and rejected.current == 0
    assert (rejected.steps[0].rejected_by, rejected.steps[0].comment) == ("vp", "价格太低")
    assert current_approvers(rejected) == ()
    refused(rejected, "vp", A.APPROVE, RuleViolation, "approval.bad_status")


def test_nobody_acts_on_a_finished_approval() -> None:
    approved = do(members(ApprovalMode.ANY, "mgr"), "mgr")
    for action in (A.APPROVE, A.REJECT, A.WITHDRAW):
        refused(approved, "mgr", action, RuleViolation, "approval.bad_status")
        refused(approved, "amy", action, RuleViolation, "approval.bad_status")


def test_history_records_every_action() -> None:
    instance = members(ApprovalMode.SEQUENTIAL, "mgr", "vp")
    instance = do(do(instance, "mgr", comment="ok"), "vp", A.REJECT, "no")
    assert [(e.actor_id, e.action, e.comment, e.step, e.node_id) for e in instance.history] == [
        ("amy", A.SUBMIT, "", None, None), ("mgr", A.APPROVE, "ok", 0, "n"),
        ("vp", A.REJECT, "no", 0, "n")]
    assert instance.version == 3


def test_submit_and_act_refuse_other_actions() -> None:
    instance = members(ApprovalMode.ANY, "mgr")
    for action in (A.SUBMIT, A.AUTO_PASS, A.NOT_REQUIRED):
        refused(instance, "mgr", action, RuleViolation, "approval.bad_action")


# -- withdraw, resubmit, void --------------------------------------------------------------------
def test_withdraw_by_the_submitter_while_running_only() -> None:
    instance = members(ApprovalMode.SEQUENTIAL, "mgr", "vp")
    refused(instance, "mgr", A.WITHDRAW, PermissionDenied, "approval.not_submitter")
    pending = do(instance, "amy", A.WITHDRAW)
    assert pending.status is S.WITHDRAWN and current_approvers(pending) == ()
    in_review = do(do(instance, "mgr"), "amy", A.WITHDRAW)
    assert in_review.status is S.WITHDRAWN and in_review.current == 0
    refused(in_review, "amy", A.WITHDRAW, RuleViolation, "approval.bad_status")
    refused(in_review, "mgr", A.APPROVE, RuleViolation, "approval.bad_status")


def rejecting_flow() -> ApprovalFlow:
    return flow_of(approver("a", member_ids=["mgr"], next="b"),
                   approver("b", member_ids=["vp", "boss"], mode=ApprovalMode.ALL),
                   resubmit_from=ResubmitFrom.REJECTING)


def test_resubmit_from_the_rejecting_step_keeps_earlier_approvals() -> None:
    instance = do(do(do(go(rejecting_flow()), "mgr"), "boss"), "vp", A.REJECT, "改价")
    again = do(instance, "amy", A.RESUBMIT)
    assert again.status is S.IN_REVIEW and again.current == 1 and again.finished_at is None
    assert again.steps[0].approved_by == ("mgr",)
    assert (again.steps[1].approved_by, again.steps[1].rejected_by) == ((), None)
    assert set(current_approvers(again)) == {"vp", "boss"}
    assert do(do(again, "vp"), "boss").status is S.APPROVED
    via_resubmit = resubmit(instance, "amy", rejecting_flow(), {}, ORG, now=NOW)
    assert via_resubmit.steps == again.steps and via_resubmit.status is again.status


def test_resubmit_after_withdrawal_restarts_the_step_it_stopped_at() -> None:
    withdrawn = do(go(rejecting_flow()), "amy", A.WITHDRAW)
    again = do(withdrawn, "amy", A.RESUBMIT)
    assert again.status is S.PENDING and again.current == 0


def test_resubmit_is_for_the_submitter_after_rejection_or_withdrawal() -> None:
    running = go(rejecting_flow())
    refused(running, "amy", A.RESUBMIT, RuleViolation, "approval.bad_status")
    rejected = do(running, "mgr", A.REJECT, "no")
    refused(rejected, "mgr", A.RESUBMIT, PermissionDenied, "approval.not_submitter")
    with pytest.raises(PermissionDenied) as caught:
        resubmit(rejected, "mgr", rejecting_flow(), {}, ORG, now=NOW)
    assert caught.value.code == "approval.not_submitter"


def test_resubmit_from_first_re_resolves_through_submit() -> None:
    flow = flow_of(
        ConditionNode("c", [Branch([Condition(ConditionOp.GT, "amount", 100)], "big")],
                      default_next="sup"),
        approver("big", member_ids=["boss"], next="sup"),
        approver("sup", ApproverSource.SUPERVISOR))
    rejected = do(go(flow, values={"amount": 50}), "mgr", A.REJECT, "金额不对")
    refused(rejected, "amy", A.RESUBMIT, RuleViolation, "approval.resubmit_from_first")
    # amy changed the amount and now reports to cfo: the new route and supervisor apply
    moved = OrgIndex(attrs.evolve(SNAPSHOT, version=2, members=tuple(
        attrs.evolve(m, supervisor_id="cfo") if m.id == "amy" else m for m in SNAPSHOT.members)))
    later = NOW + timedelta(days=1)
    again = resubmit(rejected, "amy", flow, {"amount": 500}, moved, now=later, comment="已改")
    assert steps_of(again) == [("big", ApprovalMode.SEQUENTIAL, ("boss",)),
                               ("sup", ApprovalMode.ANY, ("cfo",))]
    assert (again.id, again.status, again.current, again.version) == ("ap1", S.PENDING, 0, 3)
    assert again.submitted_at == later and again.finished_at is None
    assert [e.action for e in again.history] == [A.SUBMIT, A.REJECT, A.RESUBMIT]
    with pytest.raises(RuleViolation) as caught:
        resubmit(rejected, "amy", attrs.evolve(flow, id="other"), {}, ORG, now=later)
    assert caught.value.code == "approval.wrong_flow"
    off = resubmit(rejected, "amy", attrs.evolve(flow, enabled=False, version=2), {}, ORG,
                   now=later)
    assert off.status is S.NOT_REQUIRED and off.flow_version == 2


def test_void_from_any_status_but_void() -> None:
    pending = members(ApprovalMode.ANY, "mgr")
    for instance in (pending, do(pending, "mgr"), do(pending, "mgr", A.REJECT, "no"),
                     do(pending, "amy", A.WITHDRAW), go(attrs.evolve(GOOD, enabled=False))):
        void = do(instance, "boss", A.VOID, "合同作废")
        assert void.status is S.VOID and current_approvers(void) == ()
        refused(void, "boss", A.VOID, RuleViolation, "approval.bad_status")
        refused(void, "amy", A.RESUBMIT, RuleViolation, "approval.bad_status")


# -- snapshot and notification -------------------------------------------------------------------
def test_approvers_are_a_snapshot_taken_at_submit() -> None:
    node = approver(source=ApproverSource.SUPERVISOR)
    instance = go(flow_of(node))
    assert current_approvers(instance) == ("mgr",)
    # amy moves under cfo after submitting: a new resolution says cfo, the running approval
    # still waits for mgr (act() never looks at the org)
    moved = OrgIndex(attrs.evolve(SNAPSHOT, version=2, members=tuple(
        attrs.evolve(m, supervisor_id="cfo") if m.id == "amy" else m for m in SNAPSHOT.members)))
    assert resolve_approvers(node, "amy", moved) == ("cfo",)
    refused(instance, "cfo", A.APPROVE, PermissionDenied, "approval.not_your_turn")
    assert do(instance, "mgr").status is S.APPROVED


def test_newly_waiting_names_whom_to_notify() -> None:
    instance = go(flow_of(approver("a", member_ids=["mgr", "vp"], mode=ApprovalMode.ALL,
                                   next="b"), approver("b", member_ids=["boss"])))
    assert newly_waiting(None, instance) == {"mgr", "vp"}
    half = do(instance, "mgr")
    assert newly_waiting(instance, half) == frozenset()
    step_two = do(half, "vp")
    assert newly_waiting(half, step_two) == {"boss"}
    assert newly_waiting(step_two, do(step_two, "boss")) == frozenset()


def test_transfer_keeps_the_step_and_its_votes() -> None:
    node = approver("all", ApproverSource.MEMBERS, mode=ApprovalMode.ALL,
                    member_ids=("cfo", "fin1", "fin2"))
    started = go(flow_of(node))
    voted = act(started, "fin1", ApprovalAction.APPROVE, now=NOW)
    moved = transfer(voted, "admin", "fin2", "fin3", now=NOW, comment="休假")
    assert moved.steps[0].approver_ids == ("cfo", "fin1", "fin3")
    assert moved.steps[0].approved_by == ("fin1",)
    assert (moved.status, moved.version) == (voted.status, voted.version + 1)
    event = moved.history[-1]
    assert (event.action, event.from_user_id, event.to_user_id, event.comment) == (
        ApprovalAction.TRANSFER, "fin2", "fin3", "休假")
    with pytest.raises(PermissionDenied) as caught:  # fin1 already voted: not waited for
        transfer(voted, "admin", "fin1", "fin3", now=NOW)
    assert caught.value.code == "approval.not_your_turn"
    with pytest.raises(ValidationError) as invalid:  # already an approver of the step
        transfer(voted, "admin", "fin2", "cfo", now=NOW)
    assert invalid.value.codes == {"$.to_user_id": "approval.bad_approver"}
    with pytest.raises(ValidationError) as own:  # the submitter never approves
        transfer(voted, "admin", "fin2", "amy", now=NOW)
    assert own.value.codes == {"$.to_user_id": "approval.self_approver"}
    with pytest.raises(ValidationError) as invalid:
        transfer(voted, "admin", "fin2", "ghost", now=NOW, known_user_ids={"cfo", "fin3"})
    assert invalid.value.codes == {"$.to_user_id": "approval.bad_approver"}
    done = act(act(moved, "cfo", ApprovalAction.APPROVE, now=NOW), "fin3",
               ApprovalAction.APPROVE, now=NOW)
    assert done.status is ApprovalStatus.APPROVED
    with pytest.raises(RuleViolation) as refused:
        transfer(done, "admin", "cfo", "fin3", now=NOW)
    assert refused.value.code == "approval.bad_status"


@pytest.mark.parametrize(("value", "plain"), [
    (["x"] * 100, True), (["x"] * 101, False), (("x",) * 100, True),
    ("字" * 200, True), ("字" * 201, False), ("a\x00b", False), ([1, "a" * 201], False),
    (10**18 - 1, True), (10**18, False), (-(10**18 - 1), True), (-(10**18), False),
    (Decimal("999999999999999999.9"), True), (Decimal(10**18), False),
    (Decimal("-1E18"), False), (9.9e17, True), (1e18, False), (float("nan"), False),
    (Decimal("Infinity"), False), (None, True), (True, True), ({"a": 1}, False),
])
def test_condition_values_are_plain_up_to_the_exact_limits(value: object, plain: bool) -> None:
    """100 items, 200 characters, |n| < 10^18 — each limit checked on both sides."""
    assert plain_value(value) is plain

