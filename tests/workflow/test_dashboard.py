"""crm.dashboard on every backend: the brief against the previous period, targets and their
completion, the funnel, the trend, forgotten and due customers, rankings — and the subject
never reaching beyond the viewer's dashboard scope."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from crmkit.entities import User
from crmkit.entities.statistics import Granularity, Subject
from crmkit.errors import PermissionDenied, ValidationError

from .conftest import Org


def _sell(org: Org, amount: str, *, submit: bool = True, actor: User | None = None) -> str:
    """A customer with one contract of ``amount`` (submitted: no flow → 无需审批, effective)
    and a payment of half of it."""
    seller = actor or org.rep
    customer = org.crm.customers.create(seller, {"name": f"客户{amount}{submit}"})
    contract = org.crm.contracts.create(seller, {"name": "合同", "customer_id": customer.id,
                                                 "amount": amount}, submit=submit)
    if submit:
        org.crm.payments.create(seller, {"contract_id": contract.id, "paid_on": "2026-11-02",
                                         "amount": str(Decimal(amount) / 2)}, submit=True)
    return customer.id


def test_the_brief_counts_this_month_against_last_month(org: Org) -> None:
    customer = _sell(org, "1000")
    _sell(org, "500", submit=False)  # a draft contract is no money
    org.crm.followups.add(org.rep, "customer", customer, {"method": "打电话", "content": "好"})
    brief = org.crm.dashboard.brief(org.rep)
    assert (brief.period.first_day, brief.period.last_day) == (date(2026, 11, 1),
                                                                date(2026, 11, 30))
    assert brief["new_customers"].value == 2
    assert brief["new_contracts"].value == 1
    assert brief["contract_amount"].value == Decimal("1000.00")
    assert brief["payment_amount"].value == Decimal("500.00")
    assert brief["new_followups"].value == 1
    assert brief["new_customers"].change_rate is None  # nothing the month before
    org.clock.advance(days=30)  # 2 December: November is now the previous period
    _sell(org, "3000")
    december = org.crm.dashboard.brief(org.rep)
    figure = december["new_customers"]
    assert (figure.value, figure.previous, figure.change_rate) == (1, 2, Decimal("-50.00"))
    assert december["contract_amount"].change_rate == Decimal("200.00")
    ids = org.crm.dashboard.brief_ids(org.rep, "new_customers", previous_period=True)
    assert len(ids) == 2 and ids == sorted(ids)
    assert org.crm.dashboard.brief_ids(org.rep, "new_customers", previous_period=True,
                                       after=ids[0], limit=5) == ids[1:]


def test_a_subject_beyond_the_viewer_scope_is_refused_not_trimmed(org: Org) -> None:
    _sell(org, "1000")
    sales = Subject(department_ids=frozenset({org.sales.id}))
    with pytest.raises(PermissionDenied) as refused:
        org.crm.dashboard.brief(org.rep, sales)  # a rep sees only their own
    assert refused.value.code == "dashboard.subject_beyond_scope"
    assert org.crm.dashboard.brief(org.manager, sales)["contract_amount"].value == Decimal(
        "1000.00")
    org.user("13900000031", "钱会计", org.finance, "finance")
    with pytest.raises(PermissionDenied):
        org.crm.dashboard.brief(org.manager, {"department_ids": [org.finance.id]})
    with pytest.raises(PermissionDenied):
        org.crm.dashboard.brief(org.manager, {"user_ids": ["nobody"]})
    team = org.crm.dashboard.brief(org.manager, {"subordinates": True})
    assert team["new_customers"].value == 1
    alone = org.crm.dashboard.brief(org.manager, {"department_ids": [org.sales.id],
                                                  "include_children": False})
    assert alone["new_customers"].value == 0  # the rep sits in 一组, below 销售部


def test_bad_periods_are_validation_errors(org: Org) -> None:
    with pytest.raises(ValidationError) as bad:
        org.crm.dashboard.brief(org.rep, period="custom", start=date(2026, 11, 5))
    assert [e.path for e in bad.value.errors] == ["$.end"]
    with pytest.raises(ValidationError):
        org.crm.dashboard.brief(org.rep, period="custom", start=date(2026, 11, 5),
                                end=date(2026, 11, 1))
    with pytest.raises(ValidationError):
        org.crm.dashboard.brief(org.rep, period="this_week", start=date(2026, 11, 5))
    with pytest.raises(ValidationError):
        org.crm.dashboard.brief_ids(org.rep, "nonsense")


def test_targets_give_the_completion_rate_pro_rata_for_part_months(org: Org) -> None:
    months = ["1000"] * 10 + ["3000", "6000"]
    org.crm.dashboard.set_target(org.admin, {"year": 2026, "measure": "contract_amount",
                                             "user_id": org.rep.id, "months": months})
    _sell(org, "1500")
    november = org.crm.dashboard.performance(org.rep, "contract_amount")
    assert (november.target, november.actual, november.completion_rate) == (
        Decimal("3000.00"), Decimal("1500.00"), Decimal("50.00"))
    week = org.crm.dashboard.performance(org.rep, "contract_amount", period="this_week")
    assert week.target == Decimal("700.00")  # 7 of November's 30 days
    changed = org.crm.dashboard.set_target(org.admin, {
        "year": 2026, "measure": "contract_amount", "user_id": org.rep.id,
        "months": ["0"] * 10 + ["1500", "0"]})
    assert changed.version == 2
    assert org.crm.dashboard.performance(org.rep, "contract_amount").completion_rate == 100
    assert [t.id for t in org.crm.dashboard.targets(org.rep, 2026)] == [changed.id]
    with pytest.raises(ValidationError):
        org.crm.dashboard.set_target(org.admin, {"year": 2026, "measure": "contract_amount",
                                                 "user_id": org.rep.id, "months": ["1"] * 11})
    with pytest.raises(PermissionDenied):  # 销售经理 holds dashboard view, not edit
        org.crm.dashboard.set_target(org.manager, {
            "year": 2026, "measure": "payment_amount", "user_id": org.rep.id,
            "months": ["1"] * 12})


def test_a_department_target_blocks_deleting_the_department(org: Org) -> None:
    empty = org.crm.org.add_department(org.admin, {"name": "空部门", "parent_id": org.top.id})
    org.crm.dashboard.set_target(org.admin, {"year": 2026, "measure": "payment_amount",
                                             "department_id": empty.id, "months": ["1"] * 12})
    with pytest.raises(Exception) as refused:
        org.crm.org.delete_department(org.admin, empty.id)
    assert "target" in str(refused.value.details)  # type: ignore[attr-defined]


def test_the_funnel_sums_stages_won_lost_and_the_weighted_total(org: Org) -> None:
    crm = org.crm
    group = crm.opportunities.add_stage_group(org.admin, {"name": "流程", "stages": [
        {"name": "接洽", "win_rate": "10"}, {"name": "报价", "win_rate": "50"}]})
    customer = crm.customers.create(org.rep, {"name": "华为"})

    def deal(amount: str) -> str:
        return str(crm.opportunities.create(org.rep, {
            "name": "项目", "customer_id": customer.id, "stage_group_id": group.id,
            "amount": amount}).id)

    deal("1000")
    crm.opportunities.advance(org.rep, deal("2000"), group.stages[1].id)
    crm.opportunities.win(org.rep, deal("4000"))
    crm.opportunities.lose(org.rep, deal("8000"), "预算")
    funnel = crm.dashboard.funnel(org.rep, group.id)
    assert [(s.count, s.amount) for s in funnel.stages] == [(1, Decimal("1000.00")),
                                                            (1, Decimal("2000.00"))]
    assert (funnel.won.count, funnel.won.amount) == (1, Decimal("4000.00"))
    assert (funnel.lost.count, funnel.lost.amount) == (1, Decimal("8000.00"))
    assert funnel.weighted_amount == Decimal("5100.00")  # 100 + 1000 + 4000


def test_the_trend_runs_per_month_and_per_day_against_targets(org: Org) -> None:
    org.crm.dashboard.set_target(org.admin, {"year": 2026, "measure": "payment_amount",
                                             "user_id": org.rep.id, "months": ["300"] * 12})
    _sell(org, "1000")
    year = org.crm.dashboard.trend(org.rep)
    assert year.granularity is Granularity.MONTH and len(year.points) == 12
    november = year.points[10]
    assert (november.contract_amount, november.payment_amount, november.payment_target) == (
        Decimal("1000.00"), Decimal("500.00"), Decimal("300.00"))
    month = org.crm.dashboard.trend(org.rep, period="this_month")
    assert month.granularity is Granularity.DAY and len(month.points) == 30
    assert month.points[1].first_day == date(2026, 11, 2)
    assert month.points[1].payment_amount == Decimal("500.00")
    assert month.points[1].payment_target == Decimal("10.00")


def test_forgotten_and_due_customers(org: Org) -> None:
    quiet = org.crm.customers.create(org.rep, {"name": "沉默客户"})
    org.clock.advance(days=20)
    busy = org.crm.customers.create(org.rep, {"name": "活跃客户"})
    org.crm.followups.add(org.rep, "customer", busy.id, {
        "method": "打电话", "content": "约了", "next_contact_at":
        (org.clock.now() + timedelta(hours=2)).isoformat()})
    forgotten = {f.days: f.count for f in org.crm.dashboard.forgotten(org.rep)}
    assert forgotten == {7: 1, 15: 1, 30: 0, 90: 0, 180: 0}
    assert org.crm.dashboard.forgotten_ids(org.rep, 15) == [quiet.id]
    assert org.crm.dashboard.due_today(org.rep) == [busy.id]


def test_rankings_share_places_and_list_everyone_of_the_subject(org: Org) -> None:
    second = org.user("13900000021", "李四", org.group, "sales_rep",
                      supervisor_id=org.manager.id)
    _sell(org, "1000")
    _sell(org, "3000", actor=second)
    ranked = org.crm.dashboard.ranking(org.manager, "contract_amount", {"subordinates": True})
    assert [(r.place, r.user_id, r.value) for r in ranked] == [
        (1, second.id, Decimal("3000.00")), (2, org.rep.id, Decimal("1000.00")),
        (3, org.manager.id, Decimal("0.00"))]
    customers = org.crm.dashboard.ranking(org.manager, "new_customers", {"subordinates": True})
    assert [r.place for r in customers] == [1, 1, 3]


def test_a_trend_over_too_many_buckets_is_refused(org: Org) -> None:
    def trend(granularity: str) -> int:
        return len(org.crm.dashboard.trend(org.rep, period="custom", start=date(2016, 11, 5),
                                           end=date(2026, 11, 1), granularity=granularity
                                           ).points)

    for granularity in ("day", "week"):
        with pytest.raises(ValidationError) as refused:
            trend(granularity)
        assert refused.value.codes == {"$.granularity": "period.too_many_buckets"}
    assert trend("month") == 121
    assert len(org.crm.dashboard.trend(org.rep, period="this_year", granularity="day").points
               ) == 365
