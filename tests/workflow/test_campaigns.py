"""crm.campaigns on every backend: the campaign record kind, the campaign a lead or customer came
from (and its passing to the converted customer), and the evaluation — only approved money, only
records inside the viewer's dashboard scope, never a campaign the viewer cannot see."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crmkit.entities import User
from crmkit.entities.campaigns import CampaignStatus, CampaignType
from crmkit.errors import CrmError, NotFound, PermissionDenied, ValidationError

from .conftest import Org


def _campaign(org: Org, **fields: Any) -> str:
    return org.crm.campaigns.create(org.manager, {
        "name": "秋季展会", "type": "exhibition", "starts_on": "2026-11-01",
        "ends_on": "2026-11-03", "budget": "5000", "actual_cost": "4000", **fields}).id


def _paths(refused: pytest.ExceptionInfo[ValidationError]) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in refused.value.errors]


def _won(org: Org, seller: User, campaign: str | None, amount: str, *, submit: bool = True
         ) -> str:
    """A lead of ``campaign`` converted to a customer with a contract of ``amount`` (submitted:
    no flow → 无需审批, effective) and a payment of half of it."""
    lead = org.crm.leads.create(seller, {"name": f"线索{amount}{submit}",
                                         "campaign_id": campaign})
    [done] = org.crm.leads.convert(seller, [lead.id])
    contract = org.crm.contracts.create(seller, {
        "name": "合同", "customer_id": done.customer_id, "amount": amount}, submit=submit)
    if submit:
        org.crm.payments.create(seller, {"contract_id": contract.id, "paid_on": "2026-11-02",
                                         "amount": str(Decimal(amount) / 2)}, submit=True)
    return done.customer_id


def test_a_campaign_is_a_record_of_the_campaigns_module(org: Org) -> None:
    campaign = org.crm.campaigns.get(org.rep, _campaign(org))  # reps see every campaign
    assert (campaign.type, campaign.status) == (CampaignType.EXHIBITION, CampaignStatus.PLANNED)
    assert (campaign.budget, campaign.actual_cost) == (Decimal("5000.00"), Decimal("4000.00"))
    changed = org.crm.campaigns.update(org.manager, campaign.id, {
        "status": "running", "type": None, "actual_cost": None})
    assert (changed.status, changed.type, changed.actual_cost) == (
        CampaignStatus.RUNNING, CampaignType.OTHER, Decimal("0.00"))
    with pytest.raises(PermissionDenied):  # a rep only looks
        org.crm.campaigns.update(org.rep, campaign.id, {"status": "ended"})
    assert [e.action for e in org.crm.campaigns.operation_log(org.manager, campaign.id)] == [
        "update", "create"]


def test_a_campaign_ending_before_it_starts_is_refused(org: Org) -> None:
    with pytest.raises(ValidationError) as refused:
        _campaign(org, starts_on="2026-11-05", ends_on="2026-11-04")
    assert _paths(refused) == [("$.ends_on", "range.order")]
    with pytest.raises(ValidationError) as refused:
        _campaign(org, type="庙会", budget="-1")
    assert sorted(_paths(refused)) == [("$.budget", "range.min"), ("$.type", "option")]
    assert org.crm.campaigns.list(org.manager).items == ()


def test_a_lead_and_a_customer_name_only_a_campaign_their_writer_sees(org: Org) -> None:
    campaign = _campaign(org)
    role = org.crm.org.add_role(org.admin, {
        "name": "只看自己的活动", "permissions": {"leads": ["view", "create"],
                                                "customers": ["view", "create"],
                                                "campaigns": ["view"]},
        "scopes": {"leads": {"level": "self"}, "customers": {"level": "self"},
                   "campaigns": {"level": "self"}}})
    outsider = org.crm.org.add_user(org.admin, {"mobile": "13700000001", "name": "外人",
                                                "department_id": org.sales.id,
                                                "role_ids": [role.id]})
    answers = []
    for target in (campaign, "no-such-campaign"):
        for kind in ("leads", "customers"):
            with pytest.raises(ValidationError) as refused:
                getattr(org.crm, kind).create(outsider, {"name": "某公司",
                                                         "campaign_id": target})
            answers.append([(e.path, e.code, e.message_en) for e in refused.value.errors])
    assert answers[:2] == answers[2:]  # hidden answers as missing
    assert answers[0][0][:2] == ("$.campaign_id", "not_found")
    customer = org.crm.customers.create(org.rep, {"name": "某公司", "campaign_id": campaign})
    assert customer.campaign_id == campaign


def test_conversion_hands_the_lead_campaign_to_its_customer(org: Org) -> None:
    campaign = _campaign(org)
    lead = org.crm.leads.create(org.rep, {"name": "张三公司", "campaign_id": campaign})
    org.crm.campaigns.delete(org.manager, campaign)  # the converter need not see it any more
    [done] = org.crm.leads.convert(org.rep, [lead.id])
    assert org.crm.customers.get(org.rep, done.customer_id).campaign_id == campaign


def test_the_evaluation_counts_what_came_of_the_campaign(org: Org) -> None:
    campaign = _campaign(org)
    _won(org, org.rep, campaign, "10000")
    _won(org, org.rep, campaign, "3000", submit=False)  # a draft contract is no money
    org.crm.leads.create(org.rep, {"name": "还没转化", "campaign_id": campaign})
    customer = org.crm.customers.create(org.rep, {"name": "直接来的", "campaign_id": campaign})
    group = org.crm.opportunities.add_stage_group(org.admin, {
        "name": "流程", "stages": [{"name": "接洽", "win_rate": "10"}]})
    org.crm.opportunities.create(org.rep, {"name": "项目", "customer_id": customer.id,
                                           "stage_group_id": group.id, "amount": "800"})
    _won(org, org.rep, None, "99999")  # no campaign: counts for none
    result = org.crm.campaigns.evaluate(org.manager, campaign)
    assert (result.leads, result.converted_leads, result.customers) == (3, 2, 3)
    assert (result.opportunities, result.opportunity_amount) == (1, Decimal("800.00"))
    assert (result.contracts, result.contract_amount) == (1, Decimal("10000.00"))
    assert result.received == Decimal("5000.00")
    assert result.cost_per_lead == Decimal("1333.33")  # 4000 / 3
    assert result.roi == Decimal("25.00")  # (5000 − 4000) / 4000
    assert result.lead_conversion_rate == Decimal("66.67")
    free = org.crm.campaigns.evaluate(org.manager, _campaign(org, actual_cost="0"))
    assert (free.leads, free.cost_per_lead, free.roi, free.lead_conversion_rate) == (
        0, None, None, None)


def test_the_evaluation_counts_only_the_records_inside_the_viewer_scope(org: Org) -> None:
    campaign = _campaign(org)
    other = org.user("13700000002", "李四", org.group, "sales_rep")
    _won(org, org.rep, campaign, "1000")
    _won(org, other, campaign, "2000")
    mine = org.crm.campaigns.evaluate(org.rep, campaign)
    theirs = org.crm.campaigns.evaluate(other, campaign)
    everyone = org.crm.campaigns.evaluate(org.manager, campaign)
    assert (mine.leads, mine.received) == (1, Decimal("500.00"))
    assert (theirs.leads, theirs.received) == (1, Decimal("1000.00"))
    assert (everyone.leads, everyone.received) == (2, Decimal("1500.00"))
    assert org.crm.campaigns.evaluate(org.admin, campaign) == everyone


def test_an_evaluation_needs_a_visible_campaign_and_the_dashboard(org: Org) -> None:
    campaign = _campaign(org)
    role = org.crm.org.add_role(org.admin, {
        "name": "无仪表盘", "permissions": {"campaigns": ["view"]},
        "scopes": {"campaigns": {"level": "all"}}})
    blind = org.crm.org.add_user(org.admin, {"mobile": "13700000003", "name": "市场",
                                             "department_id": org.sales.id,
                                             "role_ids": [role.id]})
    with pytest.raises(PermissionDenied) as refused:
        org.crm.campaigns.evaluate(blind, campaign)
    assert refused.value.details == {"module": "dashboard", "operation": "view"}
    with pytest.raises(PermissionDenied):
        org.crm.campaigns.report(blind)
    role = org.crm.org.add_role(org.admin, {
        "name": "自己的活动", "permissions": {"campaigns": ["view"], "dashboard": ["view"]},
        "scopes": {"campaigns": {"level": "self"}, "dashboard": {"level": "self"}}})
    stranger = org.crm.org.add_user(org.admin, {"mobile": "13700000004", "name": "路人",
                                                "department_id": org.sales.id,
                                                "role_ids": [role.id]})
    answers = []
    for target in (campaign, "no-such-campaign"):
        for call in (lambda t: org.crm.campaigns.evaluate(stranger, t),
                     lambda t: org.crm.campaigns.report(stranger, [t])):
            with pytest.raises(NotFound) as hidden:
                call(target)
            answers.append(hidden.value.code)
    assert answers == ["record.not_found"] * 4
    assert org.crm.campaigns.report(stranger).rows == ()


def test_a_report_lists_campaigns_with_totals_and_by_period(org: Org) -> None:
    autumn = _campaign(org)
    winter = _campaign(org, name="冬季推广", type="online", starts_on="2026-12-01",
                       ends_on=None, budget=None, actual_cost="1000")
    _won(org, org.rep, autumn, "10000")
    _won(org, org.rep, winter, "2000")
    report = org.crm.campaigns.report(org.manager, [autumn, winter])
    assert [row.campaign_id for row in report.rows] == [autumn, winter]
    assert (report.totals.leads, report.totals.received) == (2, Decimal("6000.00"))
    assert report.totals.actual_cost == Decimal("5000.00")
    assert report.totals.budget == Decimal("5000.00")
    assert report.totals.roi == Decimal("20.00")  # (6000 − 5000) / 5000
    assert report.series("received") == (("秋季展会", "冬季推广"),
                                         (Decimal("5000.00"), Decimal("1000.00")))
    november = org.crm.campaigns.report(org.manager, period="this_month")
    assert [row.campaign_id for row in november.rows] == [autumn]  # winter starts in December
    later = org.crm.campaigns.report(org.manager, period="custom",
                                        start=org.clock.now().date().replace(day=3),
                                        end=org.clock.now().date().replace(day=30))
    assert [(r.campaign_id, r.leads) for r in later.rows] == [(autumn, 0)]  # leads: 2 Nov
    with pytest.raises(ValidationError) as refused:
        org.crm.campaigns.report(org.manager, start=org.clock.now().date())
    assert _paths(refused) == [("$.period", "required")]
    with pytest.raises(CrmError):
        org.crm.campaigns.report(org.manager, period="someday")
