"""转化为客户、商机: lead conversion also creates an opportunity of the new customer, in the same
atomic action, on memory, SQLite and PostgreSQL — logged and given a stage history as by
``crm.opportunities.create``; a bad opportunity payload is a ValidationError at
``$.opportunities.<lead id>.<field>`` and nothing is written (no customer, no contact, no
opportunity, the lead not converted), for one lead and for a batch."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from crmkit.entities import User
from crmkit.entities.sales import OpportunityStatus
from crmkit.errors import PermissionDenied, ValidationError

from .conftest import Org


@pytest.fixture
def group(org: Org) -> Any:
    return org.crm.opportunities.add_stage_group(org.admin, {"name": "标准流程", "stages": [
        {"name": "初步接洽", "win_rate": "10"}, {"name": "方案报价", "win_rate": "60"}]})


def lead(org: Org, name: str, **data: Any) -> Any:
    return org.crm.leads.create(org.rep, {"name": name, **data})


def nothing_written(org: Org, *leads: Any) -> None:
    crm = org.crm
    for one in leads:
        assert not crm.leads.get(org.admin, one.id).converted
    assert crm.customers.list(org.admin, {"with_total": True}).total == 0
    assert crm.contacts.list(org.admin, {"with_total": True}).total == 0
    assert crm.opportunities.list(org.admin, {"with_total": True}).total == 0


def test_one_lead_becomes_customer_contact_and_opportunity(org: Org, group: Any) -> None:
    crm = org.crm
    one = lead(org, "甲公司", contact_name="甲总", mobile="13911112222")
    [done] = crm.leads.convert(org.rep, [one.id], opportunities={one.id: {
        "amount": "120000.5", "stage_group_id": group.id,
        "expected_close_date": "2026-12-31"}})
    assert done.opportunity_id is not None
    deal = crm.opportunities.get(org.rep, done.opportunity_id)
    assert (deal.name, deal.customer_id, deal.owner_id, deal.amount, deal.expected_close_date) == (
        "甲公司", done.customer_id, org.rep.id, Decimal("120000.50"), date(2026, 12, 31))
    assert (deal.stage_id, deal.status) == (group.stages[0].id, OpportunityStatus.IN_PROGRESS)
    assert deal.contact_ids == (done.contact_id,), "the lead's person is the deal's contact"
    [entry] = crm.opportunities.operation_log(org.rep, deal.id)
    assert entry.action == "create"
    assert {c.field: c.new for c in entry.changes}["amount"] == "120000.50"
    [history] = crm.opportunities.stage_history(org.rep, deal.id)
    assert (history.from_stage_id, history.to_stage_id) == (None, group.stages[0].id)
    assert crm.customers.detail(org.rep, done.customer_id).opportunities == (deal,)


def test_a_batch_gives_opportunities_to_the_leads_named(org: Org, group: Any) -> None:
    crm = org.crm
    a, b, c = lead(org, "甲公司"), lead(org, "乙公司"), lead(org, "丙公司")
    done = crm.leads.convert(org.rep, [a.id, b.id, c.id], opportunities={
        a.id: {"name": "甲项目", "amount": "10", "stage_group_id": group.id},
        c.id: {"amount": "30", "stage_group_id": group.id}})
    assert done[1].opportunity_id is None
    deals = {d.lead_id: crm.opportunities.get(org.rep, d.opportunity_id)
             for d in done if d.opportunity_id}
    assert {k: (v.name, v.amount, v.contact_ids) for k, v in deals.items()} == {
        a.id: ("甲项目", Decimal("10.00"), ()), c.id: ("丙公司", Decimal("30.00"), ())}
    assert deals[c.id].customer_id == done[2].customer_id


@pytest.mark.parametrize("payload, codes", [
    ({"amount": "-1"}, {"amount": "range.min"}),
    ({"stage_group_id": "nope"}, {"stage_group_id": "not_found"}),
    ({"amount": "abc", "expected_close_date": "31/12/2026"},
     {"amount": "format.decimal", "expected_close_date": "format.date"}),
    ({"customer_id": "x", "owner_id": "y"},
     {"customer_id": "read_only", "owner_id": "read_only"}),
    ({"contact_ids": []}, {"contact_ids": "read_only"}),
    ({"no_such_field": 1}, {"no_such_field": "unknown_field"}),
])
def test_a_bad_opportunity_payload_writes_nothing(org: Org, group: Any, payload: dict[str, Any],
                                                  codes: dict[str, str]) -> None:
    one = lead(org, "甲公司", contact_name="甲总")
    with pytest.raises(ValidationError) as caught:
        org.crm.leads.convert(org.rep, [one.id], opportunities={one.id: {
            "stage_group_id": group.id, **payload}})
    at = f"$.opportunities.{one.id}"
    assert caught.value.codes == {
        f"{at}.{key}": code for key, code in codes.items()}
    nothing_written(org, one)


def test_a_bad_payload_of_one_lead_in_a_batch_writes_nothing(org: Org, group: Any) -> None:
    crm = org.crm
    a, b = lead(org, "甲公司", contact_name="甲总"), lead(org, "乙公司")
    with pytest.raises(ValidationError) as caught:
        crm.leads.convert(org.rep, [a.id, b.id], opportunities={
            a.id: {"amount": "10", "stage_group_id": group.id},
            b.id: {"amount": "10", "stage_group_id": group.id, "name": ""}})
    assert caught.value.codes == {f"$.opportunities.{b.id}.name": "required"}
    nothing_written(org, a, b)
    disabled = crm.opportunities.disable_stage_group(org.admin, group.id)
    with pytest.raises(ValidationError) as caught:
        crm.leads.convert(org.rep, [a.id, b.id], opportunities={
            b.id: {"stage_group_id": disabled.id}})
    assert caught.value.codes == {f"$.opportunities.{b.id}.stage_group_id":
                                  "stage_group.disabled"}
    nothing_written(org, a, b)


def test_an_opportunity_for_a_lead_not_converted_is_refused(org: Org, group: Any) -> None:
    one, other = lead(org, "甲公司"), lead(org, "乙公司")
    with pytest.raises(ValidationError) as caught:
        org.crm.leads.convert(org.rep, [one.id], opportunities={
            other.id: {"stage_group_id": group.id}})
    assert caught.value.codes == {f"$.opportunities.{other.id}": "not_found"}
    with pytest.raises(ValidationError) as typed:
        org.crm.leads.convert(org.rep, [one.id], opportunities={one.id: "项目"})  # type: ignore[dict-item]
    assert typed.value.codes == {"$.opportunities": "type"}  # the facade's argument check
    nothing_written(org, one, other)


def test_a_stage_group_the_owner_may_not_use_is_not_found(org: Org) -> None:
    crm = org.crm
    finance_only = crm.opportunities.add_stage_group(org.admin, {
        "name": "财务流程", "stages": [{"name": "一", "win_rate": "10"}],
        "department_ids": [org.finance.id]})
    one = lead(org, "甲公司")
    with pytest.raises(ValidationError) as caught:
        crm.leads.convert(org.rep, [one.id], opportunities={
            one.id: {"stage_group_id": finance_only.id}})
    assert caught.value.codes == {f"$.opportunities.{one.id}.stage_group_id": "not_found"}
    nothing_written(org, one)


def converter_without_opportunities(org: Org) -> User:
    role = org.crm.org.add_role(org.admin, {
        "name": "线索转化", "permissions": {"leads": ["view", "convert", "edit"],
                                         "customers": ["create", "view"]},
        "scopes": {"leads": {"level": "all"}, "customers": {"level": "all"}}})
    org.roles["converter"] = role.id
    return org.user("13900000008", "转化员", org.sales, "converter")


def test_converting_with_an_opportunity_needs_the_opportunity_create_permission(
        org: Org, group: Any) -> None:
    crm = org.crm
    converter = converter_without_opportunities(org)
    one = lead(org, "甲公司")
    with pytest.raises(PermissionDenied) as caught:
        crm.leads.convert(converter, [one.id], opportunities={
            one.id: {"stage_group_id": "whatever"}})
    assert caught.value.details == {"module": "opportunities", "operation": "create"}
    nothing_written(org, one)
    [done] = crm.leads.convert(converter, [one.id])  # without an opportunity: allowed
    assert done.opportunity_id is None
