"""What the demo shows: the dashboard a sales manager opens at the end of the quarter and a
few audit trails, read through ``crm.dashboard``, ``crm.*.operation_log`` and
``crm.timeline``, then rendered as terminal tables (:mod:`crmkit.console`).

:class:`Dashboard` holds the answers as crmkit returned them (the HTML page draws the same
values, so the text and the page cannot disagree).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from crmkit.console import number, percent, render_table
from crmkit.demo import ID_PREFIX
from crmkit.demo.company import Company
from crmkit.demo.simulation import Activity
from crmkit.entities.common import OperationLogEntry
from crmkit.entities.statistics import Brief, Funnel, Performance, Trend

__all__ = ["FIGURE_LABELS", "AuditTrail", "Dashboard", "audit_trails", "read_dashboard",
           "render_text"]

LOCAL = ZoneInfo("Asia/Shanghai")
ID = re.compile(re.escape(ID_PREFIX) + r"\d+")
PERIOD = "this_quarter"

FIGURE_LABELS = {
    "new_customers": "新增客户 new customers", "new_contacts": "新增联系人 new contacts",
    "new_opportunities": "新增商机 new opportunities",
    "opportunity_amount": "商机金额 opportunity amount", "new_contracts": "新增合同 new contracts",
    "contract_amount": "合同金额 contract amount", "payment_amount": "回款金额 payment amount",
    "new_followups": "新增跟进 new follow-ups"}
RANKING_LABELS = {"contract_amount": "合同金额排行 contract amount",
                  "payment_amount": "回款金额排行 payment amount"}
MEASURE_LABELS = {"contract_amount": "合同金额 contracts", "payment_amount": "回款金额 payments"}


@attrs.frozen
class Dashboard:
    """李经理's 仪表盘 of 销售部 for the quarter."""

    viewer: str
    subject: str
    brief: Brief
    performance: tuple[Performance, ...]
    funnels: tuple[tuple[str, Funnel], ...]
    """(stage group name, funnel)"""
    trend: Trend
    rankings: tuple[tuple[str, tuple[tuple[int, str, Decimal | int], ...]], ...]
    """(measure, ((place, user name, value), …)) highest first"""


@attrs.frozen
class AuditTrail:
    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


def read_dashboard(company: Company, top: int = 8) -> Dashboard:
    """Ask ``crm.dashboard`` as 李经理 (销售经理: his department tree) about 销售部."""
    crm, manager = company.crm, company.person("李经理")
    subject = {"department_ids": [company.sales.id]}
    groups = crm.opportunities.list_stage_groups(company.boss)  # configuration: every group
    rankings = []
    for measure in RANKING_LABELS:
        ranked = crm.dashboard.ranking(manager, measure, subject, PERIOD)[:top]
        rankings.append((measure, tuple((r.place, company.name_of(r.user_id), r.value)
                                        for r in ranked)))
    return Dashboard(
        manager.name, company.sales.name, crm.dashboard.brief(manager, subject, PERIOD),
        tuple(crm.dashboard.performance(manager, measure, subject, PERIOD)
              for measure in MEASURE_LABELS),
        tuple((g.name, crm.dashboard.funnel(manager, g.id, subject, PERIOD)) for g in groups),
        crm.dashboard.trend(manager, subject, PERIOD), tuple(rankings))


def _when(at: datetime) -> str:
    return at.astimezone(LOCAL).strftime("%m-%d %H:%M")


def _shown(field: str, value: object, company: Company) -> str:
    """A logged value as a person reads it: names for users and pools, local times."""
    if value is None or value == "":
        return "-"
    if isinstance(value, str):
        if field.endswith("owner_id"):
            return company.name_of(value)
        if field == "pool_id":
            return next((name for name, pid in company.pools.items() if pid == value), value)
        try:
            return _when(datetime.fromisoformat(value)) if "T" in value else value
        except ValueError:
            return value
    return str(value)


def _changes(entry: OperationLogEntry, company: Company) -> str:
    """The note (unless it is just an id) and up to three field changes, ids left out."""
    shown = [f"{c.field}: {_shown(c.field, c.old, company)} → {_shown(c.field, c.new, company)}"
             for c in entry.changes
             if not c.field.endswith("_id") or c.field in ("owner_id", "pool_id")][:3]
    note = entry.note if entry.note and not ID.fullmatch(entry.note) else ""
    return "; ".join([note, *shown] if note else shown)


def _log_trail(title: str, entries: Sequence[OperationLogEntry], company: Company
               ) -> AuditTrail:
    return AuditTrail(title, ("时间 at", "操作人 who", "操作 action", "内容 details"),
                      tuple((_when(e.at), company.name_of(e.actor_id), e.action,
                             _changes(e, company)) for e in reversed(entries)))


def audit_trails(company: Company, activity: Activity) -> list[AuditTrail]:
    """The largest contract's operation log (操作记录) and its customer's timeline (跟进记录), and
    the operation log of a customer the pool sweep reclaimed and another seller claimed."""
    crm, boss = company.crm, company.boss
    trails = []
    if activity.showcase_contract is not None:
        contract = crm.contracts.get(boss, activity.showcase_contract)
        trails.append(_log_trail(
            f"操作记录 operation log: 合同 {contract.number} {contract.name} "
            f"({number(contract.amount)})",
            crm.contracts.operation_log(boss, contract.id, limit=12), company))
        customer = crm.customers.get(boss, contract.customer_id)
        page = crm.timeline.of(boss, "customer", customer.id, limit=10)
        trails.append(AuditTrail(
            f"跟进记录 timeline: 客户 {customer.name} (newest first)",
            ("时间 at", "类别 category", "记录 record", "操作人 who", "摘要 title"),
            tuple((_when(i.at), i.category.label_zh, i.source.kind,
                   company.name_of(i.actor_id), i.title) for i in page.items)))
    if activity.showcase_customer is not None:
        customer = crm.customers.get(boss, activity.showcase_customer)
        trails.append(_log_trail(
            f"操作记录 operation log: 客户 {customer.name} — reclaimed by the sweep, claimed",
            crm.customers.operation_log(boss, customer.id, limit=12), company))
    return trails


def _title(text: str) -> list[str]:
    return ["", text, ""]


def render_text(company: Company, activity: Activity, dashboard: Dashboard,
                trails: Sequence[AuditTrail]) -> str:
    """The demo's terminal report: the company, the quarter, the dashboard, audit trails."""
    lines: list[str] = []
    add = lines.extend
    add(_title("组织 the company: who reports to whom"))
    roles = {r.id: r.name for r in company.crm.org.list_roles(company.boss)}
    departments = {d.id: d.name for d in company.departments.values()}
    customers = {u.id: 0 for u in company.people.values()}
    for c in company.crm.customers.list(company.boss, {"limit": 500}).items:
        if c.owner_id is not None:
            customers[c.owner_id] = customers.get(c.owner_id, 0) + 1
    lines.append(render_table(
        ("姓名 name", "部门 department", "角色 role", "上级 supervisor", "客户 customers"),
        [(u.name, departments[u.department_id], ", ".join(roles[r] for r in u.role_ids),
          company.name_of(u.supervisor_id) if u.supervisor_id else "",
          customers.get(u.id, 0)) for u in company.people.values()]))
    add(_title("本季度 the quarter, as the simulation did it through crm.*"))
    done = attrs.asdict(activity)
    lines.append(render_table(("活动 activity", "次数 count"), [
        ("线索 leads created", done["leads"]), ("转化 leads converted", done["converted"]),
        ("跟进 follow-ups", done["followups"]), ("赢单 opportunities won", done["won"]),
        ("输单 opportunities lost", done["lost"]),
        ("合同提交 contracts submitted", done["contracts_submitted"]),
        ("合同通过 contracts approved", done["contracts_approved"]),
        ("合同拒绝 contracts rejected", done["contracts_rejected"]),
        ("回款通过 payments approved", done["payments_approved"]),
        ("回收预警 reclaim warnings", done["warned"]),
        ("公海回收 reclaimed by the sweep", done["reclaimed"]),
        ("公海领取 claimed from the pool", done["claimed"])]))
    period = dashboard.brief.period
    add(_title(f"仪表盘 dashboard: {dashboard.viewer} views {dashboard.subject}, "
               f"{period.first_day} – {period.last_day}"))
    lines.append("销售简报 sales brief (against the previous quarter)")
    lines.append(render_table(("指标 figure", "本期 this", "上期 previous", "变化 change"), [
        (FIGURE_LABELS.get(f.name, f.name), f.value, f.previous, percent(f.change_rate))
        for f in dashboard.brief.figures], align="lrrr"))
    lines += ["", "业绩指标 targets"]
    lines.append(render_table(("指标 measure", "目标 target", "完成 actual", "完成率 rate"), [
        (MEASURE_LABELS[p.measure.value], p.target, p.actual, percent(p.completion_rate))
        for p in dashboard.performance], align="lrrr"))
    for name, funnel in dashboard.funnels:
        lines += ["", f"销售漏斗 funnel: {name} (weighted {number(funnel.weighted_amount)})"]
        lines.append(render_table(("阶段 stage", "赢率 win rate", "商机 count", "金额 amount"), [
            (s.name, percent(s.win_rate), s.count, s.amount)
            for s in (*funnel.stages, funnel.won, funnel.lost)], align="lrrr"))
    trend = dashboard.trend
    lines += ["", f"销售趋势 trend per {trend.granularity.value} (contracts, payments, targets)"]
    lines.append(render_table(
        ("从 from", "到 to", "合同 contracts", "目标 target", "回款 payments", "目标 target"),
        [(p.first_day.isoformat(), p.last_day.isoformat(), p.contract_amount, p.contract_target,
          p.payment_amount, p.payment_target) for p in trend.points]))
    for measure, ranked in dashboard.rankings:
        lines += ["", f"排行 ranking: {RANKING_LABELS[measure]}"]
        lines.append(render_table(("名次 place", "姓名 name", "金额 amount"),
                                  ranked))
    for trail in trails:
        add(_title(trail.title))
        lines.append(render_table(trail.headers, trail.rows, max_width=60))
    return "\n".join(lines)
