"""The demo's sample company, 星河软件, set up through the public facade as a host would.

Twenty people in a department tree, each with a supervisor and a role (the default roles and
one custom 市场专员 role); two public pools with reclaim rules; two stage groups; a product
catalogue; contract and payment approval flows; targets for the quarter; and the customer list
moved in from the previous system through ``crm.io`` (with its history, so the first nightly
sweep has something to reclaim).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import date

import attrs

from crmkit.adapters.clocks import FixedClock
from crmkit.app import CRM
from crmkit.entities import Department, User

__all__ = ["SELLER_TEAMS", "Company", "build_company"]

COMPANY = "星河软件"

# (name, mobile suffix, department key, role code, supervisor name)
PEOPLE: tuple[tuple[str, str, str, str, str | None], ...] = (
    ("李经理", "01", "sales", "sales_manager", "王总"),
    ("周组长", "02", "team1", "sales_manager", "李经理"),
    ("张三", "03", "team1", "sales_rep", "周组长"),
    ("李四", "04", "team1", "sales_rep", "周组长"),
    ("王五", "05", "team1", "sales_rep", "周组长"),
    ("赵六", "06", "team1", "sales_rep", "周组长"),
    ("孙七", "07", "team1", "sales_rep", "周组长"),
    ("吴组长", "08", "team2", "sales_manager", "李经理"),
    ("郑一", "09", "team2", "sales_rep", "吴组长"),
    ("冯二", "10", "team2", "sales_rep", "吴组长"),
    ("陈三", "11", "team2", "sales_rep", "吴组长"),
    ("褚四", "12", "team2", "sales_rep", "吴组长"),
    ("卫组长", "13", "key", "sales_manager", "李经理"),
    ("蒋五", "14", "key", "sales_rep", "卫组长"),
    ("沈六", "15", "key", "sales_rep", "卫组长"),
    ("韩七", "16", "key", "sales_rep", "卫组长"),
    ("钱会计", "17", "finance", "finance", "王总"),
    ("孙出纳", "18", "finance", "finance", "钱会计"),
    ("杨专员", "19", "marketing", "marketing", "王总"),
)
SELLER_TEAMS = ("team1", "team2", "key")
"""The departments whose people sell (the team leads sell too)."""

DEPARTMENTS = (  # key, name, parent key
    ("sales", "销售部", "top"), ("team1", "销售一组", "sales"), ("team2", "销售二组", "sales"),
    ("key", "大客户组", "sales"), ("finance", "财务部", "top"), ("marketing", "市场部", "top"))

PRODUCTS = (  # code, name, unit, price
    ("XH-STD", "星河CRM 标准版", "套", "9800"), ("XH-PRO", "星河CRM 专业版", "套", "19800"),
    ("XH-APP", "移动端授权", "个", "600"), ("XH-IMP", "实施服务", "人天", "2500"),
    ("XH-OPS", "年度运维", "年", "6000"))

STANDARD_STAGES = (("初步接洽", "10"), ("需求确认", "30"), ("方案报价", "50"), ("谈判审核", "80"))
KEY_ACCOUNT_STAGES = (("初步接洽", "5"), ("需求调研", "20"), ("方案演示", "40"),
                      ("商务谈判", "60"), ("合同审核", "90"))

MONTHLY_TARGETS = {  # per seller per month of the quarter (July–September): contracts, payments
    "team1": ("40000", "30000"), "team2": ("35000", "25000"), "key": ("90000", "60000")}


@attrs.define
class Company:
    """Who and what the simulation works with: people by name, departments by key, the
    catalogue, the stage groups and pools (ids)."""

    crm: CRM
    clock: FixedClock
    boss: User
    people: dict[str, User]
    departments: dict[str, Department]
    products: dict[str, tuple[str, str]]
    """code → (product id, unit price)"""
    stage_groups: dict[str, str]
    """department key → stage group id"""
    pools: dict[str, str]
    """pool name → id"""
    imported: int = 0

    def person(self, name: str) -> User:
        return self.people[name]

    def team_of(self, user: User) -> str:
        return next(key for key, dept in self.departments.items()
                    if dept.id == user.department_id)

    @property
    def sellers(self) -> list[User]:
        """Everyone who sells, in the order of :data:`PEOPLE` (team leads and reps)."""
        teams = {self.departments[key].id for key in SELLER_TEAMS}
        return [u for u in self.people.values() if u.department_id in teams]

    @property
    def sales(self) -> Department:
        return self.departments["sales"]

    def name_of(self, user_id: str | None) -> str:
        """A user's name (the system's sweep has none: 系统)."""
        if user_id is None:
            return "系统"
        return next((u.name for u in self.people.values() if u.id == user_id), user_id)


def build_company(crm: CRM, clock: FixedClock, quarter_start: date) -> Company:
    """Set up 星河软件 on an empty ``crm``: org, roles, catalogue, stage groups, flows, pools,
    targets for the quarter starting ``quarter_start``, and the imported customer list."""
    org = crm.org
    boss = org.setup(admin_mobile="13800000000", admin_name="王总", top_department=COMPANY)
    top = org.list_departments(boss)[0]
    departments = {"top": top}
    for key, name, parent in DEPARTMENTS:
        departments[key] = org.add_department(boss, {"name": name,
                                                     "parent_id": departments[parent].id})
    roles = {role.code: role.id for role in org.list_roles(boss)}
    roles["marketing"] = org.add_role(boss, {
        "name": "市场专员",
        "permissions": {"leads": ["view", "create", "edit", "import", "export"],
                        "org": ["view"]},
        "scopes": {"leads": {"level": "custom", "departments": [
            {"department_id": departments["sales"].id, "include_children": True},
            {"department_id": departments["marketing"].id, "include_children": True}]}},
    }).id
    people = {"王总": boss}
    for name, suffix, dept, role, supervisor in PEOPLE:
        people[name] = org.add_user(boss, {
            "mobile": f"139000000{suffix}", "name": name, "department_id": departments[dept].id,
            "role_ids": [roles[role]], "supervisor_id": people[supervisor].id
            if supervisor else None})
    products = {}
    for code, name, unit, price in PRODUCTS:
        product = crm.products.create(boss, {"name": name, "code": code, "unit": unit,
                                             "price": price})
        products[code] = (product.id, price)
    company = Company(crm, clock, boss, people, departments, products, {}, {})
    _stage_groups(company)
    _flows(company, roles["finance"])
    _pools(company)
    _targets(company, quarter_start)
    company.imported = _move_in(company)
    return company


def _stage_groups(company: Company) -> None:
    crm, boss, dept = company.crm, company.boss, company.departments

    def group(name: str, stages: Sequence[tuple[str, str]], keys: Sequence[str]) -> str:
        return crm.opportunities.add_stage_group(boss, {
            "name": name, "department_ids": [dept[k].id for k in keys],
            "stages": [{"name": n, "win_rate": rate} for n, rate in stages]}).id

    standard = group("标准销售流程", STANDARD_STAGES, ("team1", "team2"))
    key = group("大客户流程", KEY_ACCOUNT_STAGES, ("key",))
    company.stage_groups = {"team1": standard, "team2": standard, "key": key}


def _flows(company: Company, finance_role: str) -> None:
    """Contracts above 100,000 go to the seller's second-level supervisor, others to the
    first; then to finance (或签: either accountant). Payments go to finance."""
    crm, boss = company.crm, company.boss
    finance = {"type": "approver", "id": "finance", "source": "role", "role_id": finance_role,
               "mode": "any", "name": "财务审核"}
    crm.approvals.define_flow(boss, {
        "kind": "contract", "name": "合同审批", "start": "size", "no_approver": "admin",
        "admin_ids": [boss.id], "nodes": [
            {"type": "condition", "id": "size", "default_next": "lead", "branches": [
                {"conditions": [{"op": ">", "field": "amount", "value": "100000"}],
                 "next": "manager", "name": "大额合同"}]},
            {"type": "approver", "id": "lead", "source": "supervisor", "level": 1,
             "fallback_upward": True, "next": "finance", "name": "上级审批"},
            {"type": "approver", "id": "manager", "source": "supervisor", "level": 2,
             "fallback_upward": True, "next": "finance", "name": "经理审批"},
            finance]})
    crm.approvals.define_flow(boss, {"kind": "payment", "name": "回款审批", "start": "finance",
                                     "nodes": [finance]})


def _pools(company: Company) -> None:
    crm, boss, dept, people = company.crm, company.boss, company.departments, company.people
    general = crm.pool.create_pool(boss, {
        "name": "销售公海", "admin_ids": [people["李经理"].id],
        "member_department_ids": [dept["team1"].id, dept["team2"].id],
        "rules": [{"type": "followup", "days": 20}, {"type": "deal", "days": 90}],
        "warn_days": 3, "daily_claim_limit": 3, "claim_back_days": 7})
    key = crm.pool.create_pool(boss, {
        "name": "大客户公海", "admin_ids": [people["卫组长"].id],
        "member_department_ids": [dept["key"].id],
        "rules": [{"type": "followup", "days_by_level": {"A": 45, "B": 30, "C": 15}}],
        "warn_days": 5, "daily_claim_limit": 2})
    company.pools = {general.name: general.id, key.name: key.id}


def _targets(company: Company, quarter_start: date) -> None:
    """Monthly targets for the quarter: each seller's, and 销售部's as their sum."""
    crm, boss = company.crm, company.boss
    months = range(quarter_start.month - 1, quarter_start.month + 2)
    department = {"contract_amount": 0, "payment_amount": 0}
    for seller in company.sellers:
        for measure, value in zip(department, MONTHLY_TARGETS[company.team_of(seller)],
                                  strict=True):
            values = [value if m in months else "0" for m in range(12)]
            crm.dashboard.set_target(boss, {"year": quarter_start.year, "measure": measure,
                                            "user_id": seller.id, "months": values})
            department[measure] += int(value)
    for measure, total in department.items():
        values = [str(total) if m in months else "0" for m in range(12)]
        crm.dashboard.set_target(boss, {"year": quarter_start.year, "measure": measure,
                                        "department_id": company.sales.id, "months": values})


RECEIVED = "2026-05-15 09:00"
"""When the owners received the imported customers (the old system's 领取时间)."""
# The customer list of the previous system: name, level, owner, created, last follow-up.
OLD_BOOK = (
    ("北京华信科技有限公司", "A", "张三", "2025-03-02 10:00", "2026-06-28 15:00"),
    ("上海远航物流有限公司", "B", "张三", "2025-05-11 09:30", "2026-05-20 11:00"),
    ("深圳博远制造有限公司", "B", "李四", "2025-06-18 14:00", "2026-06-26 16:30"),
    ("杭州启明传媒有限公司", "C", "王五", "2025-08-09 10:15", "2026-04-30 10:00"),
    ("成都东方商贸有限公司", "B", "赵六", "2025-09-21 11:00", "2026-06-22 09:40"),
    ("武汉联创教育有限公司", "C", "孙七", "2025-10-03 15:20", "2026-03-15 14:00"),
    ("南京恒通建设有限公司", "A", "周组长", "2025-11-12 09:00", "2026-06-29 17:00"),
    ("苏州新锐医疗有限公司", "B", "郑一", "2025-12-01 10:30", "2026-06-01 10:30"),
    ("广州金桥金融服务有限公司", "A", "冯二", "2026-01-08 11:45", "2026-06-25 15:10"),
    ("天津天合地产有限公司", "C", "陈三", "2026-02-14 16:00", "2026-05-02 09:00"),
    ("西安中科软件有限公司", "B", "褚四", "2026-03-03 09:10", "2026-06-27 11:20"),
    ("重庆长城制造有限公司", "B", "吴组长", "2026-03-19 13:30", "2026-06-10 10:00"),
    ("青岛海纳物流有限公司", "A", "蒋五", "2025-04-07 10:00", "2026-05-25 14:00"),
    ("厦门云端科技有限公司", "B", "沈六", "2025-07-15 15:00", "2026-06-18 16:00"),
    ("宁波瑞丰商贸有限公司", "C", "韩七", "2025-11-28 09:20", "2026-05-30 10:10"),
    ("长沙嘉禾教育有限公司", "A", "卫组长", "2026-02-02 14:40", "2026-06-24 09:30"),
)


def _move_in(company: Company) -> int:
    """导入: the old system's customers with their history, through ``crm.io`` (the first
    nightly sweep reclaims those nobody followed up for too long)."""
    text = io.StringIO()
    rows = csv.writer(text)
    rows.writerow(["客户名称", "客户级别", "负责人", "创建时间", "领取时间", "最后跟进时间",
                   "最后跟进记录"])
    rows.writerows([name, level, owner, created, RECEIVED, last, "旧系统迁入的跟进"]
                   for name, level, owner, created, last in OLD_BOOK)
    result = company.crm.io.import_records(
        company.boss, "customer", io.BytesIO(text.getvalue().encode("utf-8")))
    if result.failed:  # the demo's own data: a refusal is a bug in the demo
        raise RuntimeError(f"the demo's customer import failed: {result.errors}")
    return result.created
