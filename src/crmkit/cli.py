"""``crmkit`` command line: ``crmkit demo`` builds a sample organisation and shows data scopes;
``crmkit sweep --db URL`` runs the pool warnings, the reclaim sweep and the reminder scan (for
cron);
``crmkit db upgrade|current|downgrade --url URL`` runs crmkit's schema migrations.

For operators: a bad URL, an unreachable or missing database, a missing extra or a schema that
is missing or outdated ends the command with one line on stderr (``crmkit: error: …``) and exit
status 1, never a traceback (``--traceback`` shows it). ``sweep`` and ``db current|downgrade``
never create anything on a database without crmkit's schema (a mistyped URL stays empty, and a
mistyped SQLite path creates no file)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crmkit.adapters.clocks import FixedClock
from crmkit.entities import Module, SystemActor, User

DEFAULT_DEMO_DB = "sqlite:///crmkit-demo.db"


def _fresh_sqlite(url: str) -> None:
    """The demo starts from an empty database: remove a previous demo's SQLite file."""
    prefix = "sqlite:///"
    if url.startswith(prefix) and url != prefix + ":memory:":
        Path(url[len(prefix):]).unlink(missing_ok=True)


def run_demo(url: str, out: object = None) -> dict[str, list[str]]:
    """Build a sample org on ``url`` and return, per user, whose customers they can see."""
    from crmkit import build_crm

    write = print if out is None else (lambda *a: print(*a, file=out))  # type: ignore[call-overload]
    _fresh_sqlite(url)
    clock = FixedClock(datetime(2026, 11, 2, 1, 30, tzinfo=UTC))  # Monday 09:30 in Beijing
    crm = build_crm(url, clock=clock)
    org = crm.org
    boss = org.setup(admin_mobile="13800000000", admin_name="王总")
    top = org.list_departments(boss)[0]
    roles = {r.code: r.id for r in org.list_roles(boss)}

    def dept(name: str, parent: str) -> str:
        return org.add_department(boss, {"name": name, "parent_id": parent}).id

    def user(mobile: str, name: str, dept_id: str, role: str, boss_id: str | None) -> User:
        return org.add_user(boss, {
            "mobile": mobile, "name": name, "department_id": dept_id,
            "role_ids": [roles[role]], "supervisor_id": boss_id,
        })

    sales = dept("销售部", top.id)
    group1, group2 = dept("销售一组", sales), dept("销售二组", sales)
    finance = dept("财务部", top.id)
    manager = user("13900000001", "李经理", sales, "sales_manager", boss.id)
    lead1 = user("13900000002", "周组长", group1, "sales_rep", manager.id)
    zhang = user("13900000003", "张三", group1, "sales_rep", lead1.id)
    li = user("13900000004", "李四", group2, "sales_rep", manager.id)
    cashier = user("13900000005", "钱会计", finance, "finance", boss.id)
    people = [boss, manager, lead1, zhang, li, cashier]
    names = {p.id: p.name for p in people}

    write(f"crmkit demo on {url}")
    write("组织 organisation: 办公室 → 销售部 → 销售一组 / 销售二组; 办公室 → 财务部")
    write("")
    write(f"{'viewer':<8} {'role':<14} sees customers owned by")
    visible: dict[str, list[str]] = {}
    for person in people:
        scope = org.visible_scope(person, Module.CUSTOMERS)
        owners = [names[p.id] for p in people if scope.admits(p.id)]
        visible[person.name] = owners
        role = next(code for code, rid in roles.items() if rid in person.role_ids)
        shown = "everyone (全部)" if scope.all_records else ", ".join(owners) or "nobody"
        write(f"{person.name:<8} {role:<14} {shown}")
    group = _sales_cycle(crm, clock, boss, manager, zhang, li, cashier, sales, write)
    _dashboard(crm, manager, sales, group, names, write)
    return visible


def _contract_cycle(crm: Any, boss: User, manager: User, zhang: User, cashier: User,
                    customer_id: str, deal: Any, write: Any) -> None:
    """Contract → 审批 (supervisor, then finance) → 已成交; a plan and an approved payment."""
    finance = next(r.id for r in crm.org.list_roles(boss) if r.code == "finance")
    crm.approvals.define_flow(boss, {
        "kind": "contract", "name": "合同审批", "start": "lead", "no_approver": "admin",
        "admin_ids": [boss.id], "nodes": [
            {"type": "approver", "id": "lead", "source": "supervisor", "level": 2,
             "fallback_upward": True, "next": "finance"},
            {"type": "approver", "id": "finance", "source": "role", "role_id": finance}]})
    crm.approvals.define_flow(boss, {"kind": "payment", "name": "回款审批", "start": "finance",
                                     "nodes": [{"type": "approver", "id": "finance",
                                                "source": "role", "role_id": finance}]})
    contract = crm.contracts.create(zhang, {
        "name": deal.name, "customer_id": customer_id, "opportunity_id": deal.id,
        "order_discount": "5", "end_date": "2027-11-01",
        "lines": [{"product_id": line.product_id, "quantity": str(line.quantity),
                   "discount": str(line.discount)} for line in deal.lines]}, submit=True)
    write(f"  contract {contract.number} ({contract.amount}) submitted: waits for "
          f"{', '.join(u.name for u in (manager, boss) if crm.approvals.waiting(u))}")
    crm.approvals.approve(manager, "contract", contract.id, "同意")
    crm.approvals.approve(cashier, "contract", contract.id)
    status = crm.customers.get(zhang, customer_id).deal_status
    write(f"  李经理 and 钱会计 approve it: customer {status}")
    [plan] = crm.contracts.add_plans(zhang, contract.id, [
        {"amount": str(contract.amount), "planned_date": "2026-11-30", "method": "电汇"}])
    payment = crm.payments.create(zhang, {"contract_id": contract.id, "plan_id": plan.id,
                                          "paid_on": "2026-11-02", "amount": "20000",
                                          "method": "电汇"}, submit=True)
    crm.approvals.approve(cashier, "payment", payment.id)
    contract = crm.contracts.get(zhang, contract.id)
    view = crm.contracts.plans(zhang, contract.id)[0]
    write(f"  payment {payment.number} approved: received {contract.received_amount}, "
          f"unreceived {contract.unreceived_amount}, plan 1 {view.status.value}")


def _sales_cycle(crm: Any, clock: FixedClock, boss: User, manager: User, zhang: User, li: User,
                 cashier: User, sales: str, write: Any) -> str:
    """Lead → customer → opportunity → won → contract and payment under approval; an idle
    customer goes to the pool and is claimed."""
    write("")
    write("销售流程 sales cycle")
    lead = crm.leads.create(zhang, {"name": "星河科技", "contact_name": "陈总",
                                    "mobile": "13911112222", "source": "转介绍"})
    [converted] = crm.leads.convert(zhang, [lead.id])
    write(f"  张三 converts lead 星河科技 → customer + contact 陈总 ({converted.customer_id[:8]}…)")
    product = crm.products.create(boss, {"name": "CRM 专业版", "code": "CRM-PRO",
                                          "unit": "套", "price": "20000"})
    group = crm.opportunities.add_stage_group(boss, {
        "name": "标准销售流程", "department_ids": [sales],
        "stages": [{"name": "初步接洽", "win_rate": "10"}, {"name": "方案报价", "win_rate": "50"},
                   {"name": "谈判", "win_rate": "80"}]})
    deal = crm.opportunities.create(zhang, {
        "name": "星河科技 50 席", "customer_id": converted.customer_id,
        "stage_group_id": group.id, "order_discount": "5",
        "lines": [{"product_id": product.id, "quantity": "3", "discount": "10"}]})
    write(f"  opportunity amount {deal.amount} (3 × 20000, 10% line + 5% order discount)")
    crm.opportunities.advance(zhang, deal.id, group.stages[2].id)
    write(f"  at 谈判: weighted amount {crm.opportunities.weighted_amount(zhang, deal.id)}")
    crm.opportunities.win(zhang, deal.id)
    write(f"  won: weighted amount {crm.opportunities.weighted_amount(zhang, deal.id)}")
    _contract_cycle(crm, boss, manager, zhang, cashier, converted.customer_id, deal, write)
    crm.followups.add(zhang, "customer", converted.customer_id,
                      {"method": "见面拜访", "content": "签约仪式"})

    pool = crm.pool.create_pool(boss, {
        "name": "销售公海", "admin_ids": [manager.id], "member_department_ids": [sales],
        "rules": [{"type": "followup", "days": 30, "reclaim_won": False}], "warn_days": 3})
    idle = crm.customers.create(li, {"name": "沉睡科技"})
    clock.advance(days=31)
    report = crm.pool.sweep(SystemActor("demo: pool sweep"))
    write(f"  31 days later the sweep reclaims {len(report.reclaimed)} idle customer(s) into "
          f"{pool.name}; 已成交 星河科技 stays with 张三")
    [claimed] = crm.pool.claim(zhang, [idle.id])
    write(f"  张三 claims {claimed.name} from the pool")
    return str(group.id)


def _dashboard(crm: Any, manager: User, sales: str, group_id: str, names: dict[str, str],
               write: Any) -> None:
    """李经理's dashboard of 销售部 for last month (November): the brief, the funnel and the
    contract-amount ranking (仪表盘)."""
    subject = {"department_ids": [sales]}
    brief = crm.dashboard.brief(manager, subject, "last_month")
    write("")
    write(f"仪表盘 dashboard: 李经理 views 销售部, {brief.period.first_day} … "
          f"{brief.period.last_day}")
    write("  " + ", ".join(f"{f.name} {f.value}" for f in brief.figures))
    funnel = crm.dashboard.funnel(manager, group_id, subject, "last_month")
    stages = ", ".join(f"{s.name} {s.count}" for s in funnel.stages)
    write(f"  funnel: {stages}; won {funnel.won.count} ({funnel.won.amount}); weighted "
          f"{funnel.weighted_amount}")
    ranked = crm.dashboard.ranking(manager, "contract_amount", subject, "last_month")
    write("  ranking by contract amount: " + ", ".join(
        f"{r.place}. {names[r.user_id]} {r.value}" for r in ranked))


def run_pool_jobs(url: str, *, dry_run: bool = False) -> str:
    """The scheduled work: warn owners, reclaim due customers (公海回收), then send the due
    reminders (提醒: each once), on a database that already has crmkit's schema
    (``SchemaError`` otherwise; nothing created). A dry run reports the sweep only."""
    from crmkit import build_crm

    _existing_sqlite_file(url)
    crm = build_crm(url, create_schema=False)
    jobs = SystemActor("crmkit sweep command")
    warned = 0 if dry_run else crm.pool.warn(jobs)
    report = crm.pool.sweep(jobs, dry_run=dry_run)
    verb = "would reclaim" if dry_run else "reclaimed"
    lines = [f"{report.at.isoformat()}: warned {warned} customer(s); {verb} "
             f"{len(report.reclaimed)} customer(s)"]
    lines += [f"  pool {pool}: {count}" for pool, count in sorted(report.by_pool().items())]
    if not dry_run:
        scan = crm.reminders.scan(jobs)
        lines.append(f"sent {len(scan.sent)} reminder(s)")
        lines += [f"  {kind.value}: {count}" for kind, count in sorted(scan.by_kind().items())]
    return "\n".join(lines)


class OperatorError(Exception):
    """A problem the operator fixes (wrong path, wrong URL): reported as one line."""


def _existing_sqlite_file(url: str) -> None:
    """A SQLite URL naming a file that does not exist is refused (connecting would create it)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.query.get("mode") != "memory" and not Path(parsed.database).exists():
        raise OperatorError(f"no SQLite database file at {parsed.database}")


def run_db(action: str, url: str, revision: str = "head") -> str:
    """``crmkit db``: upgrade to ``revision`` (creating the schema on an empty database), show
    the current revision, or downgrade to ``revision``."""
    from crmkit.adapters.sqlalchemy import make_engine, migrations

    if action != "upgrade":
        _existing_sqlite_file(url)
    engine = make_engine(url)
    try:
        if action == "upgrade":
            migrations.upgrade(engine, revision)
        elif action == "downgrade":
            migrations.downgrade(engine, revision)
        current = migrations.current(engine)
    finally:
        engine.dispose()
    head = migrations.head()
    if current is None:
        return "no crmkit migration applied"
    return f"{current} (head)" if current == head else f"{current} (head is {head})"


def _one_line(err: BaseException) -> str:
    """The first line of an error's message, without SQLAlchemy's statement and links."""
    from sqlalchemy.exc import DBAPIError

    text = str(err.orig) if isinstance(err, DBAPIError) else str(err)
    first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
    return first.strip()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crmkit", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--traceback", action="store_true", help="show a failure's traceback")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="build a sample organisation and show data scopes")
    demo.add_argument("--db", default=DEFAULT_DEMO_DB, help="database URL (SQLite file default)")
    sweep = commands.add_parser(
        "sweep", help="warn owners, reclaim due customers, send due reminders (for cron)")
    sweep.add_argument("--db", required=True, help="database URL (schema must exist)")
    sweep.add_argument("--dry-run", action="store_true", help="report only, change nothing")
    db = commands.add_parser("db", help="crmkit's schema migrations (needs crmkit[migrations])")
    actions = db.add_subparsers(dest="action", required=True)
    upgrade = actions.add_parser("upgrade", help="migrate to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    actions.add_parser("current", help="show the applied revision")
    downgrade = actions.add_parser("downgrade", help="undo migrations down to a revision")
    downgrade.add_argument("revision", help="target revision (base: remove crmkit's tables)")
    for action in (upgrade, actions.choices["current"], downgrade):
        action.add_argument("--url", required=True, help="database URL")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "demo":
            run_demo(args.db)
        elif args.command == "sweep":
            print(run_pool_jobs(args.db, dry_run=args.dry_run))
        else:
            print(run_db(args.action, args.url, getattr(args, "revision", "head")))
    except Exception as err:
        if args.traceback:
            raise
        print(f"crmkit: error: {_one_line(err)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
