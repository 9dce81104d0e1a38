"""客户详情 ``crm.customers.detail`` on memory, SQLite and PostgreSQL: the customer's contracts,
payment plans and payments are listed, each section cut to the viewer — what they may not see
(out of scope, no view permission on its module) is left out without a trace, a contract they
are on the team of is in — and the detail is read with a fixed number of statements however
many related records the customer has. A contact's detail shows its customer only to a viewer
who may see it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import attrs
import pytest

from crmkit.entities import User
from crmkit.entities.contracts import PlanStatus

from .conftest import Org
from .test_due_plans import contract, statements


@attrs.frozen
class Books:
    """华为 (张三's) with 张三's contract — plans of 3000 (paid 1000) and 2000 (overdue) and
    that payment — and a contract and payment of 孙七, a rep in 财务部 whom 张三 and his
    manager cannot see."""

    customer: Any
    mine: Any
    plans: list[Any]
    payment: Any
    stranger: User
    theirs: Any
    their_plan: Any
    their_payment: Any


def pay(org: Org, actor: User, contract_id: str, amount: str, plan_id: str | None = None) -> Any:
    """A payment in force (no flow defined: 无需审批)."""
    return org.crm.payments.create(actor, {"contract_id": contract_id, "paid_on": "2026-11-01",
                                           "amount": amount, "plan_id": plan_id}, submit=True)


@pytest.fixture
def books(org: Org) -> Books:
    crm = org.crm
    customer = crm.customers.create(org.rep, {"name": "华为"})
    mine = contract(org, org.rep, customer)
    plans = crm.contracts.add_plans(org.rep, mine.id, [
        {"amount": "3000", "planned_date": "2026-12-01"},
        {"amount": "2000", "planned_date": "2026-10-01"}])
    payment = pay(org, org.rep, mine.id, "1000", plans[0].id)
    stranger = org.user("13900000007", "孙七", org.finance, "sales_rep")
    theirs = crm.contracts.create(org.admin, {"name": "孙七的合同", "customer_id": customer.id,
                                              "amount": "500", "owner_id": stranger.id},
                                  submit=True)
    [their_plan] = crm.contracts.add_plans(org.admin, theirs.id, [
        {"amount": "500", "planned_date": "2026-11-30"}])
    their_payment = crm.payments.create(org.admin, {
        "contract_id": theirs.id, "paid_on": "2026-11-01", "amount": "100",
        "owner_id": stranger.id}, submit=True)
    return Books(customer, mine, plans, payment, stranger, theirs, their_plan, their_payment)


def sections(detail: Any) -> dict[str, list[str]]:
    return {"contracts": [c.id for c in detail.contracts],
            "plans": [v.plan.id for v in detail.payment_plans],
            "payments": [p.id for p in detail.payments]}


def test_the_owner_sees_their_contracts_plans_and_payments_not_a_strangers(
        org: Org, books: Books) -> None:
    detail = org.crm.customers.detail(org.rep, books.customer.id)
    assert sections(detail) == {"contracts": [books.mine.id],
                                "plans": [p.id for p in books.plans],
                                "payments": [books.payment.id]}
    first, second = detail.payment_plans
    assert (first.received, first.status) == (Decimal("1000.00"), PlanStatus.PARTIAL)
    assert (second.received, second.status) == (Decimal("0.00"), PlanStatus.OVERDUE)
    assert detail.contracts[0].received_amount == Decimal("1000.00")
    shown = repr(detail)
    for hidden in (books.theirs, books.their_plan, books.their_payment):
        assert hidden.id not in shown, "nothing of the stranger's records leaks"
    assert "孙七的合同" not in shown


def test_a_manager_sees_their_reps_records_and_the_admin_sees_everything(
        org: Org, books: Books) -> None:
    managed = sections(org.crm.customers.detail(org.manager, books.customer.id))
    assert managed == sections(org.crm.customers.detail(org.rep, books.customer.id))
    everything = sections(org.crm.customers.detail(org.admin, books.customer.id))
    assert sorted(everything["contracts"]) == sorted([books.mine.id, books.theirs.id])
    assert sorted(everything["plans"]) == sorted(
        [*(p.id for p in books.plans), books.their_plan.id])
    assert sorted(everything["payments"]) == sorted([books.payment.id, books.their_payment.id])


def test_a_team_member_of_a_contract_sees_it_and_its_plans_not_its_payments(
        org: Org, books: Books) -> None:
    org.crm.contracts.add_team_member(org.admin, books.theirs.id, org.rep.id)
    detail = org.crm.customers.detail(org.rep, books.customer.id)
    assert sorted(c.id for c in detail.contracts) == sorted([books.mine.id, books.theirs.id])
    assert books.their_plan.id in [v.plan.id for v in detail.payment_plans]
    assert [p.id for p in detail.payments] == [books.payment.id], "payments: its own scope"


def test_without_view_permission_on_a_module_its_section_is_empty(
        org: Org, books: Books) -> None:
    role = org.crm.org.add_role(org.admin, {
        "name": "客户查看", "permissions": {"customers": ["view"], "payments": ["view"]},
        "scopes": {"customers": {"level": "all"}, "payments": {"level": "all"}}})
    org.roles["customer_viewer"] = role.id
    viewer = org.user("13900000008", "观察员", org.top, "customer_viewer")
    org.crm.contacts.create(org.rep, {"name": "王经理", "customer_id": books.customer.id})
    detail = org.crm.customers.detail(viewer, books.customer.id)
    assert (detail.contacts, detail.opportunities, detail.contracts, detail.payment_plans) == (
        (), (), (), ())
    assert sorted(p.id for p in detail.payments) == sorted(
        [books.payment.id, books.their_payment.id])


def test_contacts_and_opportunities_are_cut_to_the_viewer_too(org: Org, books: Books) -> None:
    crm = org.crm
    crm.customers.add_team_member(org.rep, books.customer.id, books.stranger.id)
    own = crm.contacts.create(books.stranger, {"name": "孙七的联系人",
                                               "customer_id": books.customer.id})
    rep_contact = crm.contacts.create(org.rep, {"name": "王经理",
                                                "customer_id": books.customer.id})
    assert [c.id for c in crm.customers.detail(org.rep, books.customer.id).contacts] == [
        rep_contact.id]
    assert [c.id for c in crm.customers.detail(books.stranger, books.customer.id).contacts] == [
        own.id]
    assert sections(crm.customers.detail(books.stranger, books.customer.id)) == {
        "contracts": [books.theirs.id], "plans": [books.their_plan.id],
        "payments": [books.their_payment.id]}
    # a contact's detail shows the customer only to a viewer who may see it
    crm.customers.remove_team_member(org.rep, books.customer.id, books.stranger.id)
    assert crm.contacts.detail(books.stranger, own.id).customer is None
    assert crm.contacts.detail(org.admin, own.id).customer == crm.customers.get(
        org.admin, books.customer.id)


def test_the_detail_reads_a_fixed_number_of_statements(org: Org) -> None:
    storage = org.crm.storage
    if not hasattr(storage, "engine"):
        pytest.skip("counts SQL statements")
    crm = org.crm
    counts = []
    for n, name in ((1, "小客户"), (12, "大客户")):
        customer = crm.customers.create(org.rep, {"name": name})
        for _ in range(n):
            made = contract(org, org.rep, customer)
            plans = crm.contracts.add_plans(org.rep, made.id, [
                {"amount": "10", "planned_date": "2026-12-01"},
                {"amount": "10", "planned_date": "2027-01-01"}])
            pay(org, org.rep, made.id, "5", plans[0].id)
            crm.contacts.create(org.rep, {"name": "联系人", "customer_id": customer.id})
        crm.customers.detail(org.manager, customer.id)  # the manager's scope is kept from now
        with statements(storage) as seen:
            detail = crm.customers.detail(org.manager, customer.id)
        assert (len(detail.contracts), len(detail.payment_plans), len(detail.payments),
                len(detail.contacts)) == (n, 2 * n, n, n)
        counts.append(len(seen))
    assert counts[0] == counts[1], counts
