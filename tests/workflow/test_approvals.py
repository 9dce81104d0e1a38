"""审批流 through ``crm.approvals`` on memory, SQLite and PostgreSQL: flow definitions
(permission, validation against the org), submit/approve/reject/withdraw/resubmit/void, who may
act, notifications, operation log and timeline, and a host's own kind."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from crmkit.entities import User
from crmkit.entities.approvals import ApprovalInstance, ApprovalStatus
from crmkit.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org

S = ApprovalStatus


@attrs.define
class Setup:
    """张三 (rep) → 李经理 (manager) → 王总 (admin); 钱会计 (finance); a customer and a product."""

    finance: User
    customer: Any
    product: Any


@pytest.fixture
def setup(org: Org) -> Setup:
    crm = org.crm
    finance = org.user("13900000009", "钱会计", org.finance, "finance")
    customer = crm.customers.create(org.rep, {"name": "华为"})
    product = crm.products.create(org.admin, {"name": "CRM 标准版", "code": "CRM-STD",
                                              "price": "1000"})
    return Setup(finance, customer, product)


def flow(org: Org, *nodes: dict[str, Any], kind: str = "contract", **options: Any) -> Any:
    return org.crm.approvals.define_flow(org.admin, {
        "kind": kind, "name": "合同审批", "start": nodes[0]["id"], "nodes": list(nodes),
        **options})


def approver(node_id: str, source: str, nxt: str | None = None, **extra: Any) -> dict[str, Any]:
    return {"type": "approver", "id": node_id, "source": source, "next": nxt, **extra}


def approval_of(org: Org, actor: User | str, contract_id: str) -> ApprovalInstance:
    """The contract's approval, which the test knows exists."""
    found = org.crm.contracts.approval(actor, contract_id)
    assert found is not None
    return found


def contract(org: Org, setup: Setup, amount: str = "9000", **data: Any) -> Any:
    return org.crm.contracts.create(org.rep, {"name": "华为合同", "customer_id": setup.customer.id,
                                              "amount": amount, **data})


# -- flows -----------------------------------------------------------------------------------
def test_define_flow_needs_approve_config(org: Org, setup: Setup) -> None:
    nodes = [approver("a", "supervisor")]
    with pytest.raises(PermissionDenied) as caught:
        org.crm.approvals.define_flow(org.manager, {"kind": "contract", "name": "x",
                                                    "start": "a", "nodes": nodes})
    assert caught.value.code == "permission_denied"
    made = flow(org, *nodes)
    assert made.version == 1 and org.crm.approvals.flow(org.rep, "contract") == made


def test_redefining_keeps_id_and_bumps_version(org: Org, setup: Setup) -> None:
    first = flow(org, approver("a", "supervisor"))
    second = flow(org, approver("b", "members", member_ids=[setup.finance.id]))
    assert (second.id, second.version) == (first.id, 2)
    with pytest.raises(Conflict) as caught:
        org.crm.approvals.define_flow(org.admin, {
            "kind": "contract", "name": "x", "start": "a",
            "nodes": [approver("a", "supervisor")]}, expected_version=1)
    assert caught.value.code == "version_conflict"


def test_malformed_flows_are_refused_with_paths(org: Org, setup: Setup) -> None:
    with pytest.raises(ValidationError) as bad:
        flow(org, approver("a", "members", "missing", member_ids=["nobody"]),
             approver("b", "role", role_id="no-role"))
    codes = {(e.path, e.code) for e in bad.value.errors}
    assert ("$.nodes[0].next", "flow.unknown_node") in codes
    assert ("$.nodes[0].member_ids[0]", "flow.unknown_user") in codes
    assert ("$.nodes[1].role_id", "flow.unknown_role") in codes
    with pytest.raises(ValidationError) as cyc:
        flow(org, approver("a", "supervisor", "b"), approver("b", "supervisor", "a"))
    assert "flow.cycle" in {e.code for e in cyc.value.errors}
    with pytest.raises(ValidationError) as caught:
        flow(org, {"type": "nonsense", "id": "a"})
    assert caught.value.codes == {"$.nodes[0]": "required"}
    with pytest.raises(ValidationError) as caught:
        org.crm.approvals.define_flow(org.admin, {"kind": "unknown", "name": "x", "start": "a",
                                                  "nodes": [approver("a", "supervisor")]})
    assert caught.value.codes == {"$.kind": "approval.unknown_kind"}
    assert org.crm.approvals.flow(org.admin, "contract") is None


# -- submit and act ----------------------------------------------------------------------------
def test_no_flow_and_disabled_flow_mean_not_required(org: Org, setup: Setup) -> None:
    c = contract(org, setup)
    done = org.crm.contracts.submit(org.rep, c.id)
    assert done.record.approval_status is S.NOT_REQUIRED
    flow(org, approver("a", "supervisor"))
    org.crm.approvals.set_flow_enabled(org.admin, "contract", False)
    c2 = contract(org, setup)
    assert org.crm.contracts.submit(org.rep, c2.id).record.approval_status is S.NOT_REQUIRED


def test_condition_branch_routes_by_amount(org: Org, setup: Setup) -> None:
    flow(org, {"type": "condition", "id": "big", "branches": [
        {"conditions": [{"op": ">", "field": "amount", "value": "50000"}], "next": "boss"}],
        "default_next": "mgr"},
        approver("boss", "supervisor", level=2), approver("mgr", "supervisor"))
    small = org.crm.contracts.create(org.rep, {"name": "小单", "customer_id": setup.customer.id,
                                               "amount": "100"}, submit=True)
    big = org.crm.contracts.create(org.rep, {"name": "大单", "customer_id": setup.customer.id,
                                             "amount": "60000"}, submit=True)
    assert approval_of(org, org.rep, small.id).steps[0].approver_ids == (
        org.manager.id,)
    assert approval_of(org, org.rep, big.id).steps[0].approver_ids == (org.admin.id,)


def test_only_current_approvers_act_and_refusals_change_nothing(org: Org, setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor", "fin"),
         approver("fin", "members", member_ids=[setup.finance.id]))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id,
                                           "amount": "100"}, submit=True)
    before = org.crm.contracts.approval(org.rep, c.id)
    for outsider in (setup.finance, org.rep, org.admin):
        with pytest.raises(PermissionDenied) as caught:
            org.crm.approvals.approve(outsider, "contract", c.id)
        assert caught.value.code == "approval.not_your_turn"
    assert org.crm.contracts.approval(org.rep, c.id) == before
    step1 = org.crm.approvals.approve(org.manager, "contract", c.id, "同意")
    assert step1.instance.status is S.IN_REVIEW and step1.record.approval_status is S.IN_REVIEW
    with pytest.raises(PermissionDenied) as caught:
        org.crm.approvals.approve(org.manager, "contract", c.id)
    assert caught.value.code == "approval.not_your_turn"
    done = org.crm.approvals.approve(setup.finance, "contract", c.id)
    assert done.record.approval_status is S.APPROVED
    assert org.crm.customers.get(org.rep, setup.customer.id).deal_status == "已成交"
    with pytest.raises(RuleViolation) as refused:
        org.crm.approvals.approve(setup.finance, "contract", c.id)
    assert refused.value.code == "approval.bad_status"


def test_countersign_needs_everyone_or_sign_needs_one(org: Org, setup: Setup) -> None:
    both = [org.manager.id, setup.finance.id]
    flow(org, approver("all", "members", "any", mode="all", member_ids=both),
         approver("any", "members", mode="any", member_ids=both))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    assert org.crm.approvals.approve(setup.finance, "contract", c.id).instance.current == 0
    assert org.crm.approvals.approve(org.manager, "contract", c.id).instance.current == 1
    done = org.crm.approvals.approve(org.manager, "contract", c.id)
    assert done.instance.status is S.APPROVED
    with pytest.raises(RuleViolation) as caught:
        org.crm.approvals.approve(setup.finance, "contract", c.id)
    assert caught.value.code == "approval.bad_status"


def test_reject_needs_comment_then_resubmit_from_first(org: Org, setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor"))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    with pytest.raises(ValidationError) as caught:
        org.crm.approvals.reject(org.manager, "contract", c.id, "  ")
    assert caught.value.codes == {"$.comment": "approval.comment_required"}
    rejected = org.crm.approvals.reject(org.manager, "contract", c.id, "价格太低")
    assert rejected.record.approval_status is S.REJECTED
    edited = org.crm.contracts.update(org.rep, c.id, {"amount": "12000"})
    assert edited.amount == 12000
    stranger = org.user("13900000011", "赵六", org.finance, "sales_rep")
    with pytest.raises(NotFound) as missing:
        org.crm.contracts.submit(stranger, c.id)
    assert missing.value.code == "record.not_found"
    again = org.crm.contracts.submit(org.rep, c.id, comment="已调价")
    assert again.instance.status is S.PENDING and again.instance.id == rejected.instance.id
    assert [e.action.value for e in again.instance.history] == [
        "submit", "reject", "resubmit"]


def test_withdraw_is_for_the_submitter_and_resubmit_from_rejecting(org: Org,
                                                                   setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor", "fin"),
         approver("fin", "members", member_ids=[setup.finance.id]), resubmit_from="rejecting")
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    org.crm.approvals.approve(org.manager, "contract", c.id)
    with pytest.raises(PermissionDenied) as caught:
        org.crm.approvals.withdraw(org.manager, "contract", c.id)
    assert caught.value.code == "approval.not_submitter"
    withdrawn = org.crm.approvals.withdraw(org.rep, "contract", c.id)
    assert withdrawn.record.approval_status is S.WITHDRAWN
    again = org.crm.contracts.submit(org.rep, c.id)
    assert again.instance.current == 1 and again.instance.status is S.IN_REVIEW
    assert org.crm.approvals.approve(setup.finance, "contract", c.id).instance.status is (
        S.APPROVED)


def test_submitter_chosen_approvers(org: Org, setup: Setup) -> None:
    flow(org, approver("pick", "submitter_chooses", mode="all"))
    c = contract(org, setup)
    assert [n.id for n in org.crm.contracts.route(org.rep, c.id)] == ["pick"]
    with pytest.raises(ValidationError) as bad:
        org.crm.contracts.submit(org.rep, c.id)
    assert bad.value.errors[0].path == "$.chosen.pick"
    assert org.crm.contracts.get(org.rep, c.id).approval_status is S.DRAFT
    done = org.crm.contracts.submit(org.rep, c.id, chosen={"pick": [setup.finance.id]})
    assert done.instance.steps[0].approver_ids == (setup.finance.id,)


def test_notifications_log_and_timeline(org: Org, setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor"))
    c = contract(org, setup)
    org.notifier.sent.clear()
    org.crm.contracts.submit(org.rep, c.id)
    assert [(n.recipient_id, n.kind) for n in org.notifier.sent] == [
        (org.manager.id, "approval.todo")]
    org.crm.approvals.reject(org.manager, "contract", c.id, "不行")
    assert (org.rep.id, "approval.rejected") in {(n.recipient_id, n.kind)
                                                 for n in org.notifier.sent}
    actions = [e.action for e in org.crm.contracts.operation_log(org.rep, c.id)]
    assert actions[:2] == ["approval.reject", "approval.submit"]
    timeline = org.crm.followups.timeline(org.rep, "contract", c.id)
    assert any(item.summary == "approval.reject: approval_status — 不行" for item in timeline)


def test_waiting_and_submitted_lists(org: Org, setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor"))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    assert [i.record_id for i in org.crm.approvals.waiting(org.manager)] == [c.id]
    assert org.crm.approvals.waiting(setup.finance) == []
    assert [i.record_id for i in org.crm.approvals.submitted(org.rep)] == [c.id]
    org.crm.approvals.approve(org.manager, "contract", c.id)
    assert org.crm.approvals.waiting(org.manager) == []


def test_approver_reads_the_record_outside_scope(org: Org, setup: Setup) -> None:
    flow(org, approver("fin", "members", member_ids=[org.manager.id]))
    other = org.user("13900000011", "赵六", org.finance, "sales_rep")
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    assert org.crm.approvals.record(org.manager, "contract", c.id).id == c.id
    with pytest.raises(NotFound) as caught:
        org.crm.approvals.record(other, "contract", c.id)
    assert caught.value.code == "record.not_found"
    with pytest.raises(NotFound) as caught:
        org.crm.approvals.instance(other, "contract", c.id)
    assert caught.value.code == "record.not_found"


def test_no_approver_goes_to_admin_or_passes(org: Org, setup: Setup) -> None:
    flow(org, approver("boss", "supervisor", level=5), no_approver="admin",
         admin_ids=[setup.finance.id])
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    step = approval_of(org, org.rep, c.id).steps[0]
    assert step.by_admin and step.approver_ids == (setup.finance.id,)
    flow(org, approver("boss", "supervisor", level=5))
    c2 = org.crm.contracts.create(org.rep, {"name": "合同2", "customer_id": setup.customer.id},
                                  submit=True)
    assert c2.approval_status is S.APPROVED


def test_the_submitter_never_approves_their_own_submission_at_any_node(
        org: Org, setup: Setup) -> None:
    flow(org, approver("pair", "members", "reps", member_ids=[org.rep.id, setup.finance.id]),
         approver("reps", "role", "chain", role_id=org.roles["sales_rep"]),
         approver("chain", "supervisor_chain", level=2))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    steps = approval_of(org, org.rep, c.id).steps
    assert [(s.node_id, s.approver_ids, s.by_admin) for s in steps] == [
        ("pair", (setup.finance.id,), False),
        ("reps", (org.admin.id,), True),   # only 张三 holds 销售员: the 超级管理员 decide
        ("chain", (org.manager.id, org.admin.id), False)]
    org.crm.approvals.approve(setup.finance, "contract", c.id)
    with pytest.raises(PermissionDenied) as refused:
        org.crm.approvals.approve(org.rep, "contract", c.id)
    assert refused.value.code == "approval.not_your_turn"
    for user in (org.admin, org.manager, org.admin):
        org.crm.approvals.approve(user, "contract", c.id)
    done = approval_of(org, org.rep, c.id)
    assert done.status is S.APPROVED
    assert org.rep.id not in {e.actor_id for e in done.history if e.action.value == "approve"}


def test_a_node_only_the_sole_super_admin_could_approve_follows_the_no_approver_setting(
        org: Org, setup: Setup) -> None:
    own = org.crm.customers.create(org.admin, {"name": "王总的客户"})
    data = {"name": "自己的合同", "customer_id": own.id}
    flow(org, approver("me", "members", member_ids=[org.admin.id]))  # auto_pass by default
    passed = org.crm.contracts.create(org.admin, data, submit=True)
    assert passed.approval_status is S.APPROVED
    history = approval_of(org, org.admin, passed.id).history
    assert [e.action.value for e in history] == ["submit", "auto_pass"]
    flow(org, approver("me", "members", member_ids=[org.admin.id]), no_approver="admin",
         admin_ids=[org.admin.id])
    with pytest.raises(RuleViolation) as refused:
        org.crm.contracts.create(org.admin, {**data, "name": "自己的合同2"}, submit=True)
    assert refused.value.code == "approval.no_approver"
    second = org.user("13900000031", "副总", org.top, "super_admin")
    handed = org.crm.contracts.create(org.admin, {**data, "name": "自己的合同3"}, submit=True)
    step = approval_of(org, org.admin, handed.id).steps[0]
    assert step.approver_ids == (second.id,) and step.by_admin


def rejected_at_finance(org: Org, setup: Setup) -> Any:
    """A contract under 主管 → 财务 (resubmit from the rejecting step): 李经理 approved, 钱会计
    rejected."""
    flow(org, approver("mgr", "supervisor", "fin"),
         approver("fin", "members", member_ids=[setup.finance.id]), resubmit_from="rejecting")
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    org.crm.approvals.approve(org.manager, "contract", c.id)
    org.crm.approvals.reject(setup.finance, "contract", c.id, "付款条件")
    return c


def test_a_new_owner_who_approved_before_resubmits_from_the_first_node(
        org: Org, setup: Setup) -> None:
    c = rejected_at_finance(org, setup)
    org.crm.contracts.transfer(org.admin, [c.id], org.manager.id)
    again = org.crm.contracts.submit(org.manager, c.id).instance
    assert again.current == 0 and again.status is S.PENDING
    assert [(s.node_id, s.approver_ids) for s in again.steps] == [
        ("mgr", (org.admin.id,)), ("fin", (setup.finance.id,))]

# -- a host's own kind -------------------------------------------------------------------------
def test_host_kind_goes_through_the_same_engine(org: Org, setup: Setup) -> None:
    seen: list[tuple[Any, str]] = []
    org.crm.approvals.register_kind("expense", "报销", "expense",
                                    react=lambda op, record, inst: seen.append(
                                        (record, inst.status.value)))
    with pytest.raises(ValidationError) as caught:
        org.crm.approvals.register_kind("expense")
    assert caught.value.codes == {"$.kind": "approval.kind_taken"}
    flow(org, {"type": "condition", "id": "c", "branches": [
        {"conditions": [{"op": ">", "field": "total", "value": "1000"}], "next": "mgr"}]},
        approver("mgr", "supervisor"), kind="expense")
    small = org.crm.approvals.submit(org.rep, "expense", "exp-1", values={"total": 10})
    assert small.instance.status is S.APPROVED and small.record is None
    big = org.crm.approvals.submit(org.rep, "expense", "exp-2", values={"total": 5000})
    assert big.instance.status is S.PENDING
    assert org.crm.approvals.approve(org.manager, "expense", "exp-2").instance.status is (
        S.APPROVED)
    assert seen == [(None, "approved"), (None, "pending"), (None, "approved")]
    with pytest.raises(PermissionDenied) as denied:
        org.crm.approvals.void(org.rep, "expense", "exp-2")
    assert denied.value.code == "permission_denied"
    assert org.crm.approvals.void(org.admin, "expense", "exp-2").instance.status is S.VOID


# -- review findings -----------------------------------------------------------------------------
def test_resubmit_from_rejecting_starts_over_when_an_edit_changes_the_route(
        org: Org, setup: Setup) -> None:
    flow(org, {"type": "condition", "id": "size", "default_next": "mgr", "branches": [
        {"conditions": [{"op": ">", "field": "amount", "value": "50000"}], "next": "boss"}]},
        approver("boss", "supervisor", "mgr", level=2), approver("mgr", "supervisor"),
        resubmit_from="rejecting")
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id,
                                           "amount": "100"}, submit=True)
    org.crm.approvals.reject(org.manager, "contract", c.id, "再议")
    org.crm.contracts.update(org.rep, c.id, {"amount": "99000000"})
    again = org.crm.contracts.submit(org.rep, c.id)
    assert [s.node_id for s in again.instance.steps] == ["boss", "mgr"]
    assert again.instance.current_step is not None
    assert again.instance.current_step.approver_ids == (org.admin.id,)
    with pytest.raises(PermissionDenied) as caught:
        org.crm.approvals.approve(org.manager, "contract", c.id)
    assert caught.value.code == "approval.not_your_turn"


def test_resubmit_from_rejecting_keeps_earlier_steps_when_the_route_holds(
        org: Org, setup: Setup) -> None:
    c = rejected_at_finance(org, setup)
    org.crm.contracts.update(org.rep, c.id, {"remark": "已改付款条件"})
    again = org.crm.contracts.submit(org.rep, c.id)
    assert again.instance.current == 1
    org.crm.approvals.reject(setup.finance, "contract", c.id, "还是不行")
    org.crm.org.disable_user(org.admin, setup.finance.id)  # nobody left at the stopping step
    restarted = org.crm.contracts.submit(org.rep, c.id)
    assert restarted.instance.current == 0
    assert [s.node_id for s in restarted.instance.steps] == ["mgr"]


def test_submitting_needs_the_edit_permission(org: Org, setup: Setup) -> None:
    auditor_role = org.crm.org.add_role(org.admin, {
        "name": "审计", "permissions": {"contracts": ["view"]},
        "scopes": {"contracts": {"level": "all"}}})
    auditor = org.crm.org.add_user(org.admin, {"mobile": "13900000021", "name": "审计员",
                                               "department_id": org.top.id,
                                               "role_ids": [auditor_role.id]})
    c = contract(org, setup)
    with pytest.raises(PermissionDenied) as caught:
        org.crm.contracts.submit(auditor, c.id)
    assert caught.value.code == "permission_denied"
    with pytest.raises(PermissionDenied) as caught:
        org.crm.contracts.route(auditor, c.id)
    assert caught.value.code == "permission_denied"
    assert org.crm.contracts.get(auditor, c.id).approval_status is S.DRAFT


def test_a_new_owner_resubmits_after_a_transfer(org: Org, setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor"))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    org.crm.approvals.reject(org.manager, "contract", c.id, "换人跟进")
    other = org.user("13900000012", "李四", org.group, "sales_rep", supervisor_id=org.manager.id)
    org.crm.contracts.transfer(org.manager, [c.id], other.id)
    again = org.crm.contracts.submit(other, c.id)
    assert again.instance.submitter_id == other.id and again.instance.status is S.PENDING


def test_host_kind_approvals_are_private_to_the_people_involved(org: Org, setup: Setup) -> None:
    org.crm.approvals.register_kind("expense", "报销", "expense")
    flow(org, approver("mgr", "supervisor"), kind="expense")
    org.crm.approvals.submit(org.rep, "expense", "EXP-9", comment="住院费")
    assert org.crm.approvals.instance(org.manager, "expense", "EXP-9") is not None
    with pytest.raises(NotFound) as caught:
        org.crm.approvals.instance(setup.finance, "expense", "EXP-9")
    assert caught.value.code == "approval.not_found"
    with pytest.raises(ValidationError) as invalid:
        org.crm.approvals.submit(org.rep, "expense", "x" * 65)
    assert invalid.value.codes == {"$.record_id": "format.id"}


@pytest.mark.parametrize("bad", [
    {"op": ">", "field": "amount", "value": {"nested": "junk"}},
    {"op": ">", "field": "amount", "value": 10**30},
    {"op": "=", "field": "name", "value": "a\x00b"},
    {"op": "user", "ids": "abc"},
    {"op": "user", "ids": ["nobody"]},
    {"op": ">", "field": "no_such_field", "value": 1},
])
def test_hostile_flow_conditions_are_validation_errors(org: Org, setup: Setup,
                                                      bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        flow(org, {"type": "condition", "id": "c", "default_next": "a",
                   "branches": [{"conditions": [bad], "next": "a"}]}, approver("a", "supervisor"))
    assert org.crm.approvals.flow(org.admin, "contract") is None


def test_hostile_limits_and_comments(org: Org, setup: Setup) -> None:
    for limit in (0, -1, 10**30, "x", True):
        with pytest.raises(ValidationError):
            org.crm.approvals.waiting(org.rep, limit=limit)  # type: ignore[arg-type]
    flow(org, approver("mgr", "supervisor"))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    with pytest.raises(ValidationError) as caught:
        org.crm.approvals.approve(org.manager, "contract", c.id, "ok\x00")
    assert caught.value.codes == {"$.comment": "format.text"}


def test_host_kind_values_are_checked_and_numeric_text_compares_as_numbers(
        org: Org, setup: Setup) -> None:
    org.crm.approvals.register_kind("expense", label_zh="报销", label_en="expense claim",
                                    fields=["total", "category"])
    with pytest.raises(ValidationError) as typo:
        flow(org, {"type": "condition", "id": "c", "default_next": "fin", "branches": [
            {"conditions": [{"op": ">", "field": "totl", "value": 1000}], "next": "mgr"}]},
            approver("mgr", "supervisor", "fin"),
            approver("fin", "members", member_ids=[setup.finance.id]), kind="expense")
    assert typo.value.errors[0].code == "flow.unknown_field"
    flow(org, {"type": "condition", "id": "c", "default_next": "fin", "branches": [
        {"conditions": [{"op": ">", "field": "total", "value": 1000}], "next": "mgr"}]},
        approver("mgr", "supervisor", "fin"),
        approver("fin", "members", member_ids=[setup.finance.id]), kind="expense")
    big = org.crm.approvals.submit(org.rep, "expense", "EXP-1", values={"total": "5000"})
    assert [s.node_id for s in big.instance.steps] == ["mgr", "fin"]
    small = org.crm.approvals.submit(org.rep, "expense", "EXP-2", values={"total": "900"})
    assert [s.node_id for s in small.instance.steps] == ["fin"]  # 900 < 1000, not "900" > "1"
    for bad in ({"amount": 5}, {"total": object()}, {"total": float("nan")}):
        with pytest.raises(ValidationError):
            org.crm.approvals.submit(org.rep, "expense", "EXP-3", values=bad)


def test_transfer_hands_a_turn_to_someone_else(org: Org, setup: Setup) -> None:
    """转交: the approver or an admin moves a turn; a disabled approver's turn is not stuck."""
    flow(org, approver("fin", "members", "mgr", mode="all",
                       member_ids=[setup.finance.id, org.admin.id]),
         approver("mgr", "supervisor"))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    other = org.user("13900000031", "孙会计", org.finance, "finance")
    with pytest.raises(PermissionDenied) as caught:  # 张三 is neither the approver nor an admin
        org.crm.approvals.transfer(org.rep, "contract", c.id, setup.finance.id, other.id)
    assert caught.value.code == "approval.not_transferable"
    with pytest.raises(ValidationError) as invalid:  # already in the step
        org.crm.approvals.transfer(setup.finance.id, "contract", c.id, setup.finance.id,
                                   org.admin.id)
    assert invalid.value.codes == {"$.to_user_id": "approval.bad_approver"}
    org.crm.org.disable_user(org.admin, setup.finance.id)
    org.notifier.sent.clear()
    moved = org.crm.approvals.transfer(org.admin, "contract", c.id, setup.finance.id, other.id,
                                       "钱会计已离职")
    assert moved.instance.steps[0].approver_ids == (other.id, org.admin.id)
    assert [(n.recipient_id, n.kind) for n in org.notifier.sent] == [(other.id, "approval.todo")]
    assert moved.record.approval_status is S.PENDING
    org.crm.approvals.approve(other, "contract", c.id)
    org.crm.approvals.approve(org.admin, "contract", c.id)
    assert org.crm.approvals.approve(org.manager, "contract", c.id).instance.status is (
        S.APPROVED)
    entry = next(e for e in org.crm.contracts.operation_log(org.rep, c.id)
                 if e.action == "approval.transfer")
    assert entry.note == "钱会计已离职"
    assert (setup.finance.id, other.id) in {(ch.old, ch.new) for ch in entry.changes}
    with pytest.raises(RuleViolation) as refused:  # approved: nothing to transfer
        org.crm.approvals.transfer(org.admin, "contract", c.id, org.manager.id, other.id)
    assert refused.value.code == "approval.bad_status"


def test_transfer_never_gives_one_person_two_steps_and_checks_its_input(
        org: Org, setup: Setup) -> None:
    flow(org, approver("mgr", "supervisor", "fin"),
         approver("fin", "members", member_ids=[setup.finance.id]))
    c = org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": setup.customer.id},
                                 submit=True)
    with pytest.raises(ValidationError) as twice:  # 钱会计 already approves the next step
        org.crm.approvals.transfer(org.manager, "contract", c.id, org.manager.id,
                                   setup.finance.id)
    assert twice.value.errors[0].code == "approval.bad_approver"
    with pytest.raises(ValidationError) as caught:
        org.crm.approvals.transfer(org.manager, "contract", c.id, org.manager.id,
                                   ["x"])  # type: ignore[arg-type]
    assert caught.value.codes == {"$.to_user_id": "type"}
    stranger = org.user("13900000041", "路人", org.finance, "sales_rep")
    with pytest.raises(NotFound) as missing:  # unseen contract: as no approval
        org.crm.approvals.transfer(stranger, "contract", c.id, org.manager.id, stranger.id)
    assert missing.value.code == "approval.not_found"


def test_host_kind_transfer_is_private_and_fields_must_be_names(org: Org, setup: Setup) -> None:
    with pytest.raises(ValidationError) as caught:
        org.crm.approvals.register_kind("trip", fields="total")  # a str is no list of names
    assert caught.value.codes == {"$.fields": "type"}
    org.crm.approvals.register_kind("trip", fields=["total"])
    flow(org, approver("mgr", "supervisor"), kind="trip")
    org.crm.approvals.submit(org.rep, "trip", "T-1", values={"total": 1})
    with pytest.raises(NotFound) as missing:
        org.crm.approvals.transfer(setup.finance, "trip", "T-1", org.manager.id,
                                   setup.finance.id)
    assert missing.value.code == "approval.not_found"


def test_equality_on_text_stays_text(org: Org, setup: Setup) -> None:
    org.crm.approvals.register_kind("order", fields=["code"])
    flow(org, {"type": "condition", "id": "c", "branches": [
        {"conditions": [{"op": "=", "field": "code", "value": "7"}], "next": "mgr"}]},
        approver("mgr", "supervisor"), kind="order")
    assert org.crm.approvals.submit(org.rep, "order", "O-1", values={"code": "007"}
                                    ).instance.status is S.APPROVED  # "007" is not "7"
    assert org.crm.approvals.submit(org.rep, "order", "O-2", values={"code": "7"}
                                    ).instance.status is S.PENDING
