"""合同, 回款计划 and 回款 through ``crm.contracts`` / ``crm.payments`` on memory, SQLite and
PostgreSQL: every rule with its deny side."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import attrs
import pytest
from sqlalchemy import event

from crmkit.entities import User
from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contracts import PlanStatus
from crmkit.entities.records import Access
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org

S = ApprovalStatus


@attrs.define
class Deal:
    finance: User
    customer: Any
    contact: Any
    opportunity: Any
    product: Any
    off_shelf: Any


@pytest.fixture
def deal(org: Org) -> Deal:
    crm = org.crm
    finance = org.user("13900000009", "钱会计", org.finance, "finance")
    customer = crm.customers.create(org.rep, {"name": "华为"})
    contact = crm.contacts.create(org.rep, {"name": "王工", "customer_id": customer.id})
    group = crm.opportunities.add_stage_group(org.admin, {"name": "流程", "stages": [
        {"name": "初步接洽", "win_rate": "10"}]})
    opportunity = crm.opportunities.create(org.rep, {"name": "项目", "customer_id": customer.id,
                                                     "stage_group_id": group.id})
    product = crm.products.create(org.admin, {"name": "CRM 标准版", "code": "CRM-STD",
                                              "price": "1000", "unit": "套"})
    old = crm.products.create(org.admin, {"name": "旧版", "code": "OLD", "price": "10"})
    crm.products.take_off_shelf(org.admin, [old.id])
    return Deal(finance, customer, contact, opportunity, product, old)


def new_contract(org: Org, deal: Deal, actor: User | None = None, **data: Any) -> Any:
    return org.crm.contracts.create(actor or org.rep, {
        "name": "华为合同", "customer_id": deal.customer.id, "amount": "10000", **data})


def approved_contract(org: Org, deal: Deal, **data: Any) -> Any:
    """No flow defined: a submitted contract is 无需审批 (in force)."""
    return org.crm.contracts.create(org.rep, {"name": "华为合同", "customer_id": deal.customer.id,
                                              "amount": "10000", **data}, submit=True)


# -- contracts -------------------------------------------------------------------------------
def test_contract_numbers_follow_the_rule(org: Org, deal: Deal) -> None:
    first, second = new_contract(org, deal), new_contract(org, deal)
    assert (first.number, second.number) == ("HT202611020001", "HT202611020002")
    org.clock.set(datetime(2026, 11, 3, 1, 0, tzinfo=UTC))
    assert new_contract(org, deal).number == "HT202611030001"
    org.crm.contracts.set_number_rule(org.admin, {"prefix": "SO-", "date_format": "%Y%m",
                                                  "digits": 3, "reset": "monthly"})
    assert new_contract(org, deal).number == "SO-202611001"
    typed = new_contract(org, deal, number="SO-202611002")
    assert new_contract(org, deal).number == "SO-202611003"  # the typed number is skipped
    with pytest.raises(ValidationError) as taken:
        new_contract(org, deal, number=typed.number)
    assert taken.value.errors[0].code == "unique"
    with pytest.raises(ValidationError) as cleared:  # a number is never cleared
        org.crm.contracts.update(org.rep, typed.id, {"number": ""})
    assert cleared.value.errors[0].path == "$.number"


def test_a_new_contract_reads_its_customer_and_checks_its_number_once(
        org: Org, deal: Deal, backend: Any) -> None:
    """The payload's customer reference is checked once (the customer rule reuses it) and a
    generated number is looked up once, under the lock the unique check takes: the unique
    check does not read it again. A number typed by hand is still checked."""
    engine = getattr(backend, "engine", None)
    if engine is None:
        pytest.skip("statements are counted on SQL storage")
    new_contract(org, deal)  # warm the operation's kept values
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        made = new_contract(org, deal)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    reads = [text.split()[1].split(".")[0] for text in seen if text.startswith("SELECT ")]
    assert reads.count("crm_customers") == 1, seen
    assert reads.count("crm_contracts") == 1, seen
    assert made.number == "HT202611020002"
    with pytest.raises(ValidationError) as typed:
        new_contract(org, deal, number=made.number)
    assert typed.value.errors[0].path == "$.number"


def test_number_rule_needs_permission_and_a_date_that_tells_periods_apart(org: Org,
                                                                         deal: Deal) -> None:
    with pytest.raises(PermissionDenied) as caught:
        org.crm.contracts.set_number_rule(org.rep, {"prefix": "X"})
    assert caught.value.code == "permission_denied"
    with pytest.raises(ValidationError) as bad:
        org.crm.contracts.set_number_rule(org.admin, {"prefix": "A B", "date_format": "%Y",
                                                      "digits": 0, "reset": "daily"})
    assert {e.path for e in bad.value.errors} == {"$.prefix", "$.digits", "$.reset"}
    with pytest.raises(ValidationError) as invalid:
        org.crm.contracts.set_number_rule(org.admin, {"prefix": "HT\x00"})
    assert invalid.value.codes == {"$.prefix": "format.text"}
    assert org.crm.contracts.number_rule(org.rep).prefix == "HT"


def test_contract_lines_and_totals(org: Org, deal: Deal) -> None:
    c = new_contract(org, deal, lines=[{"product_id": deal.product.id, "quantity": "3",
                                        "discount": "10"}], order_discount="5")
    assert c.amount == Decimal("2565.00") and c.unreceived_amount == Decimal("2565.00")
    with pytest.raises(ValidationError) as off:
        new_contract(org, deal, lines=[{"product_id": deal.off_shelf.id, "quantity": "1"}])
    assert off.value.errors[0].code == "product.off_shelf"


def test_contract_references_belong_to_the_customer(org: Org, deal: Deal) -> None:
    c = new_contract(org, deal, opportunity_id=deal.opportunity.id,
                     customer_signer_id=deal.contact.id, company_signer_id=org.rep.id,
                     start_date="2026-11-01", end_date="2027-10-31")
    assert (c.opportunity_id, c.customer_signer_id) == (deal.opportunity.id, deal.contact.id)
    other = org.crm.customers.create(org.rep, {"name": "中兴"})
    with pytest.raises(ValidationError) as bad:
        new_contract(org, deal, customer_id=other.id, opportunity_id=deal.opportunity.id,
                     customer_signer_id=deal.contact.id, start_date="2026-12-01",
                     end_date="2026-11-01")
    assert {e.path for e in bad.value.errors} == {"$.opportunity_id", "$.customer_signer_id",
                                                  "$.end_date"}
    hidden = org.crm.customers.create(org.manager, {"name": "经理的客户"})
    with pytest.raises(ValidationError) as caught:
        new_contract(org, deal, customer_id=hidden.id)
    assert caught.value.codes == {"$.customer_id": "not_found"}


def test_submitted_contracts_are_locked_and_voided_not_deleted(org: Org, deal: Deal) -> None:
    draft = new_contract(org, deal)
    org.crm.contracts.delete(org.manager, draft.id)
    c = approved_contract(org, deal)
    with pytest.raises(RuleViolation) as locked:
        org.crm.contracts.update(org.rep, c.id, {"amount": "1"})
    assert locked.value.code == "contract.locked"
    with pytest.raises(RuleViolation) as submitted:
        org.crm.contracts.delete(org.manager, c.id)
    assert submitted.value.code == "contract.submitted"
    with pytest.raises(PermissionDenied) as caught:
        org.crm.contracts.void(org.rep, c.id)  # 销售员 has no delete on contracts
    assert caught.value.code == "permission_denied"
    voided = org.crm.contracts.void(org.manager, c.id, "客户取消")
    assert voided.approval_status is S.VOID
    with pytest.raises(RuleViolation) as refused:
        org.crm.contracts.void(org.manager, c.id)
    assert refused.value.code == "approval.bad_status"


def test_transfer_and_team_work_on_approved_contracts(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    other = org.user("13900000012", "李四", org.group, "sales_rep")
    org.crm.contracts.transfer(org.manager, [c.id], other.id, keep_old_owner=Access.READ)
    assert org.crm.contracts.get(other, c.id).owner_id == other.id
    assert org.crm.contracts.get(org.rep, c.id).id == c.id  # read-only team member now


def test_customer_transfer_cascades_to_contracts_and_payments(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    p = org.crm.payments.create(org.rep, {"contract_id": c.id, "paid_on": "2026-11-02",
                                          "amount": "100"})
    other = org.user("13900000012", "李四", org.group, "sales_rep")
    org.crm.customers.transfer(org.manager, [deal.customer.id], other.id,
                               move_related=["contract"])
    assert org.crm.contracts.get(other, c.id).owner_id == other.id
    assert org.crm.payments.get(other, p.id).owner_id == other.id


def test_expiring_contracts(org: Org, deal: Deal) -> None:
    soon = approved_contract(org, deal, end_date="2026-11-20")
    approved_contract(org, deal, end_date="2027-06-01")
    new_contract(org, deal, end_date="2026-11-10")  # a draft is not in force
    assert [c.id for c in org.crm.contracts.expiring(org.rep, 30).items] == [soon.id]
    for days, code in ((-1, "range.min"), (4000, "range.max"), ("7", "type")):
        with pytest.raises(ValidationError) as bad:
            org.crm.contracts.expiring(org.rep, days)  # type: ignore[arg-type]
        assert bad.value.errors[0].code == code


def test_lists_filter_on_approval_status(org: Org, deal: Deal) -> None:
    approved = approved_contract(org, deal)
    new_contract(org, deal)
    page = org.crm.contracts.list(org.rep, {"conditions": [
        {"field": "approval_status", "op": "eq", "value": "not_required"}]})
    assert [c.id for c in page.items] == [approved.id]


# -- payment plans -----------------------------------------------------------------------------
def test_plans_in_batches_within_the_contract_amount(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    plans = org.crm.contracts.add_plans(org.rep, c.id, [
        {"amount": "4000", "planned_date": "2026-11-01", "method": "电汇"},
        {"amount": "4000", "planned_date": "2026-12-01", "remind_days": 7}])
    assert [p.period for p in plans] == [1, 2]
    with pytest.raises(RuleViolation) as over:
        org.crm.contracts.add_plans(org.rep, c.id, [{"amount": "2000.01",
                                                     "planned_date": "2027-01-01"}])
    assert over.value.code == "payment_plan.exceeds_contract"
    with pytest.raises(ValidationError) as bad:
        org.crm.contracts.add_plans(org.rep, c.id, [
            {"amount": "0", "planned_date": "2027-01-01"},
            {"amount": "1", "planned_date": "soon", "method": "比特币"}])
    assert {e.path for e in bad.value.errors} >= {"$[0].amount", "$[1].planned_date"}
    with pytest.raises(ValidationError) as caught:
        org.crm.contracts.add_plans(org.rep, c.id, [{"amount": "1", "remark": "a\x00",
                                                     "planned_date": "2027-01-01"}])
    assert set(caught.value.codes.values()) == {"format.text"}
    assert len(org.crm.contracts.plans(org.rep, c.id)) == 2  # nothing written
    org.crm.contracts.void_plan(org.rep, plans[1].id)
    assert [p.period for p in org.crm.contracts.add_plans(org.rep, c.id, [
        {"amount": "6000", "planned_date": "2027-01-01"}])] == [3]
    stranger = org.user("13900000013", "路人", org.finance, "sales_rep")
    with pytest.raises(NotFound) as missing:
        org.crm.contracts.add_plans(stranger, c.id, [{"amount": "1",
                                                      "planned_date": "2027-01-01"}])
    assert missing.value.code == "record.not_found"


def test_plan_statuses_follow_payments_and_dates(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    p1, p2, p3, p4 = org.crm.contracts.add_plans(org.rep, c.id, [
        {"amount": "1000", "planned_date": "2026-11-01"},   # overdue
        {"amount": "1000", "planned_date": "2026-12-01"},   # partial
        {"amount": "1000", "planned_date": "2026-12-01"},   # done
        {"amount": "1000", "planned_date": "2026-12-01"}])  # void
    for plan, amount in ((p2, "400"), (p3, "1000")):
        org.crm.payments.create(org.rep, {"contract_id": c.id, "plan_id": plan.id,
                                          "paid_on": "2026-11-02", "amount": amount},
                                submit=True)
    org.crm.contracts.void_plan(org.rep, p4.id)
    views = {v.plan.id: v for v in org.crm.contracts.plans(org.rep, c.id)}
    assert [views[p.id].status for p in (p1, p2, p3, p4)] == [
        PlanStatus.OVERDUE, PlanStatus.PARTIAL, PlanStatus.DONE, PlanStatus.VOID]
    assert views[p2.id].received == Decimal("400.00")


def test_due_plans_respect_remind_days_and_scope(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    due, _later = org.crm.contracts.add_plans(org.rep, c.id, [
        {"amount": "1000", "planned_date": "2026-11-05", "remind_days": 3},
        {"amount": "1000", "planned_date": "2026-11-30", "remind_days": 3}])
    assert [v.plan.id for v in org.crm.contracts.due_plans(org.rep)] == [due.id]
    assert [v.plan.id for v in org.crm.contracts.due_plans(
        org.rep, on=date(2026, 11, 27))] == [due.id, _later.id]
    assert len(org.crm.contracts.due_plans(org.rep, on="2026-11-27")) == 2  # ISO text too
    stranger = org.user("13900000013", "路人", org.finance, "sales_rep")
    assert org.crm.contracts.due_plans(stranger) == []


# -- payments ----------------------------------------------------------------------------------
def test_payments_only_on_effective_contracts(org: Org, deal: Deal) -> None:
    draft = new_contract(org, deal)
    with pytest.raises(RuleViolation) as refused:
        org.crm.payments.create(org.rep, {"contract_id": draft.id, "paid_on": "2026-11-02",
                                          "amount": "100"})
    assert refused.value.code == "payment.contract_not_approved"
    with pytest.raises(ValidationError) as caught:
        org.crm.payments.create(org.rep, {"contract_id": "missing", "paid_on": "2026-11-02",
                                          "amount": "100"})
    assert caught.value.codes == {"$.contract_id": "not_found"}
    c = approved_contract(org, deal)
    with pytest.raises(ValidationError) as bad:
        org.crm.payments.create(org.rep, {"contract_id": c.id, "paid_on": "2026-11-02",
                                          "amount": "0"})
    assert bad.value.errors[0].path == "$.amount"
    p = org.crm.payments.create(org.rep, {"contract_id": c.id, "paid_on": "2026-11-02",
                                          "amount": "100", "method": "电汇"})
    assert (p.customer_id, p.number, p.approval_status) == (deal.customer.id,
                                                            "HK202611020001", S.DRAFT)


def test_plan_of_a_payment_must_be_the_contracts_and_not_void(org: Org, deal: Deal) -> None:
    c1, c2 = approved_contract(org, deal), approved_contract(org, deal)
    plan = org.crm.contracts.add_plans(org.rep, c1.id, [{"amount": "10",
                                                         "planned_date": "2026-12-01"}])[0]
    with pytest.raises(ValidationError) as caught:
        org.crm.payments.create(org.rep, {"contract_id": c2.id, "plan_id": plan.id,
                                          "paid_on": "2026-11-02", "amount": "1"})
    assert caught.value.codes == {"$.plan_id": "not_found"}
    org.crm.contracts.void_plan(org.rep, plan.id)
    with pytest.raises(ValidationError) as void:
        org.crm.payments.create(org.rep, {"contract_id": c1.id, "plan_id": plan.id,
                                          "paid_on": "2026-11-02", "amount": "1"})
    assert void.value.errors[0].code == "payment_plan.void"


def test_only_approved_payments_count_as_received(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    org.crm.approvals.define_flow(org.admin, {
        "kind": "payment", "name": "回款审批", "start": "fin", "nodes": [
            {"type": "approver", "id": "fin", "source": "members",
             "member_ids": [deal.finance.id]}]})
    p1 = org.crm.payments.create(org.rep, {"contract_id": c.id, "paid_on": "2026-11-02",
                                           "amount": "3000"}, submit=True)
    p2 = org.crm.payments.create(org.rep, {"contract_id": c.id, "paid_on": "2026-11-02",
                                           "amount": "500.50"}, submit=True)
    assert org.crm.contracts.get(org.rep, c.id).received_amount == 0
    org.crm.approvals.approve(deal.finance, "payment", p1.id)
    got = org.crm.contracts.get(org.rep, c.id)
    assert (got.received_amount, got.unreceived_amount) == (Decimal("3000.00"),
                                                            Decimal("7000.00"))
    org.crm.approvals.reject(deal.finance, "payment", p2.id, "金额不符")
    assert org.crm.contracts.get(org.rep, c.id).received_amount == Decimal("3000.00")
    with pytest.raises(RuleViolation) as has:
        org.crm.contracts.void(org.manager, c.id)
    assert has.value.code == "contract.has_payments"
    org.crm.payments.void(org.manager, p1.id)
    org.crm.payments.void(org.manager, p2.id)
    assert org.crm.contracts.get(org.rep, c.id).received_amount == 0
    assert org.crm.contracts.void(org.manager, c.id).approval_status is S.VOID


def test_contract_approval_marks_customer_won_only_when_approved(org: Org, deal: Deal) -> None:
    org.crm.approvals.define_flow(org.admin, {
        "kind": "contract", "name": "合同审批", "start": "mgr", "nodes": [
            {"type": "approver", "id": "mgr", "source": "supervisor"}]})
    c = new_contract(org, deal)
    org.crm.contracts.submit(org.rep, c.id)
    assert org.crm.customers.get(org.rep, deal.customer.id).deal_status == "未成交"
    org.crm.approvals.approve(org.manager, "contract", c.id)
    assert org.crm.customers.get(org.rep, deal.customer.id).deal_status == "已成交"


def test_missing_payment_is_not_found_for_strangers(org: Org, deal: Deal) -> None:
    c = approved_contract(org, deal)
    p = org.crm.payments.create(org.rep, {"contract_id": c.id, "paid_on": "2026-11-02",
                                          "amount": "1"})
    stranger = org.user("13900000013", "路人", org.finance, "sales_rep")
    with pytest.raises(NotFound) as caught:
        org.crm.payments.get(stranger, p.id)
    assert caught.value.code == "record.not_found"
    assert org.crm.payments.get(deal.finance, p.id).id == p.id  # 财务 sees every payment
