"""A quarter of 星河软件's sales team, day by day, through the public facade.

Every night the host's cron job runs (``crm.pool.warn``, ``crm.pool.sweep``,
``crm.reminders.scan`` as the :class:`~crmkit.SystemActor`). Every working day 市场专员 hands out
new leads; each seller creates leads, follows up leads and customers, converts leads into
customers with an opportunity, moves opportunities through their stage group and wins or loses
them, turns won opportunities into contracts submitted for approval, and claims customers from
the public pool; approvers decide the next working day; approved contracts get payment plans,
and payments arrive around each plan's date and are approved by finance.

Decisions come from ``random.Random(seed)`` and time from the :class:`FixedClock` the CRM runs
on, advanced minute by minute through each day, so a seed gives the same quarter every time.
The simulation keeps its own notes of what it created (as a host's screens would remember
ids); everything it changes goes through ``crm.*``.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import attrs

from crmkit.demo.company import Company
from crmkit.entities import SystemActor, User
from crmkit.errors import RuleViolation

__all__ = ["Activity", "simulate"]

LOCAL = ZoneInfo("Asia/Shanghai")
CRON = SystemActor("crmkit demo: nightly cron job")
CRON_DAY = 0
"""The demo's cron job runs on Monday nights (weekly keeps the demo quick: the reclaim rules
count in weeks); a host runs ``crmkit sweep`` nightly."""

PLACES = ("北京", "上海", "深圳", "杭州", "成都", "武汉", "南京", "苏州", "广州", "西安")
WORDS = ("星辰", "远景", "华瑞", "博达", "启航", "东升", "联合", "恒信", "新元", "金鼎", "天成",
         "中和", "长风", "鼎新", "海川", "云帆", "瑞祥", "嘉信", "同创", "盛达")
TRADES = (("科技", "IT"), ("物流", "运输/物流"), ("制造", "生产"), ("商贸", "商业服务"),
          ("传媒", "文化传媒"), ("地产", "房地产"), ("金融服务", "金融"), ("教育", "其他"))
SURNAMES = "陈刘黄杨吴徐朱马胡郭林何高罗"
TITLES = ("总", "经理", "主任", "总监")
OWN_SOURCES = ("陌拜", "转介绍", "电话咨询", "预约上门")
MARKETING_SOURCES = ("广告", "搜索引擎", "线上注册", "线上询价", "促销活动")
CALL_NOTES = ("介绍了产品功能", "确认了采购预算", "约了下周演示", "客户在内部比价",
              "发送了报价单", "沟通了实施周期", "客户关心数据安全", "对接了IT负责人")
LOSS_REASONS = ("预算不足", "选择了竞品", "项目搁置")


@attrs.define
class Activity:
    """What the quarter did (each count is what the facade confirmed), and the records the
    report shows as audit trails."""

    leads: int = 0
    converted: int = 0
    followups: int = 0
    won: int = 0
    lost: int = 0
    contracts_submitted: int = 0
    contracts_approved: int = 0
    contracts_rejected: int = 0
    payments_approved: int = 0
    warned: int = 0
    reclaimed: int = 0
    claimed: int = 0
    showcase_contract: str | None = None
    """The largest approved contract."""
    showcase_customer: str | None = None
    """A customer the sweep reclaimed and another seller then claimed."""


@attrs.define
class _Customer:
    id: str
    name: str
    owner: str | None
    pool: str | None = None
    previous_owner: str | None = None
    reclaimed: bool = False


@attrs.frozen
class _Lead:
    id: str
    name: str
    day: date


@attrs.define
class _Deal:
    id: str
    customer: _Customer
    owner: User
    stages: tuple[str, ...]
    stage: int = 0


@attrs.define
class _Pending:
    """A record waiting for its approver: decided on ``day`` or later."""

    kind: str
    id: str
    owner: User
    day: date
    amount: Decimal = Decimal(0)
    approver: str | None = None
    """Whose turn it is (read from the approval once, then from each decision)."""


@attrs.define
class _Plan:
    contract_id: str
    plan_id: str
    owner: User
    due: date
    amount: Decimal


class _Quarter:
    def __init__(self, company: Company, rng: random.Random) -> None:
        self.co = company
        self.crm = company.crm
        self.rng = rng
        self.activity = Activity()
        self.customers: dict[str, _Customer] = {}
        self.leads: dict[str, list[_Lead]] = {u.id: [] for u in company.sellers}
        self.deals: list[_Deal] = []
        self.pending: list[_Pending] = []
        self.plans: list[_Plan] = []
        self.names: set[str] = set()
        self.mobiles = 0
        self.stage_ids = {
            key: tuple(s.id for s in self.crm.opportunities.get_stage_group(
                company.boss, group).stages) for key, group in company.stage_groups.items()}
        self.pool_teams: dict[str, tuple[str, ...]] = {
            company.pools["销售公海"]: ("team1", "team2"),
            company.pools["大客户公海"]: ("key",)}
        self.today = date.min
        self.largest = Decimal(0)

    # -- helpers ----------------------------------------------------------------------------
    def tick(self, low: int = 2, high: int = 9) -> None:
        """Time passes between two actions of the working day."""
        self.co.clock.advance(minutes=self.rng.randint(low, high))

    def at(self, day: date, hour: int, minute: int = 0) -> None:
        local = datetime.combine(day, time(hour, minute), LOCAL)
        self.co.clock.set(local.astimezone(UTC))

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def new_name(self) -> tuple[str, str]:
        while True:
            trade, industry = self.rng.choice(TRADES)
            name = f"{self.rng.choice(PLACES)}{self.rng.choice(WORDS)}{trade}有限公司"
            if name not in self.names:
                self.names.add(name)
                return name, industry

    def owned(self, user: User) -> list[_Customer]:
        return [c for c in self.customers.values() if c.owner == user.id]

    # -- the quarter -------------------------------------------------------------------------
    def load_book(self) -> None:
        """The customers moved in from the old system (the company imported them)."""
        page = self.crm.customers.list(self.co.boss, {"limit": 200})
        for c in page.items:
            self.customers[c.id] = _Customer(c.id, c.name, c.owner_id)
            self.names.add(c.name)

    def carry_over(self) -> None:
        """The pipeline of the previous quarter: an opportunity under way on one imported
        customer of each seller who has one."""
        for seller in self.co.sellers:
            mine = self.owned(seller)
            if not mine:
                continue
            self.tick(5, 20)
            team = self.co.team_of(seller)
            stages = self.stage_ids[team]
            customer = mine[0]
            deal = self.crm.opportunities.create(seller, {
                "name": f"{customer.name}二期", "customer_id": customer.id,
                "stage_group_id": self.co.stage_groups[team], "lines": self.lines(team)})
            stage = self.rng.randint(1, len(stages) - 2)
            self.crm.opportunities.advance(seller, deal.id, stages[stage])
            self.deals.append(_Deal(deal.id, customer, seller, stages, stage))

    def night(self, day: date) -> None:
        """The cron job at 02:00: warn owners, then reclaim into the pools (the reminder
        scan is left to ``crmkit sweep`` on the database the demo leaves)."""
        self.at(day, 2)
        self.activity.warned += self.crm.pool.warn(CRON)
        report = self.crm.pool.sweep(CRON)
        for moved in report.reclaimed:
            customer = self.customers[moved.customer_id]
            customer.previous_owner, customer.owner = customer.owner, None
            customer.pool, customer.reclaimed = moved.pool_id, True
            self.activity.reclaimed += 1

    def workday(self, day: date) -> None:
        self.today = day
        self.at(day, 9)
        self.marketing()
        for seller in self.co.sellers:
            self.seller_day(seller)
        self.at(day, 17, 30)
        self.decide()
        self.collect()

    def marketing(self) -> None:
        """市场专员 enters the day's inbound leads and hands each to a seller."""
        marketer = self.co.person("杨专员")
        for _ in range(self.rng.choice((0, 1, 1, 2))):
            self.tick()
            self.new_lead(marketer, self.rng.choice(self.co.sellers),
                          self.rng.choice(MARKETING_SOURCES))

    def new_lead(self, author: User, owner: User, source: str) -> None:
        name, industry = self.new_name()
        self.mobiles += 1
        lead = self.crm.leads.create(author, {
            "name": name, "contact_name": self.rng.choice(SURNAMES) + self.rng.choice(TITLES),
            "mobile": f"137{self.mobiles:08d}", "source": source, "industry": industry,
            "level": self.rng.choice("ABC"), "owner_id": owner.id})
        self.activity.leads += 1
        self.leads[owner.id].append(_Lead(lead.id, name, self.today))

    def seller_day(self, seller: User) -> None:
        """A seller does at most one thing worth recording a day (the rest is meetings)."""
        roll = self.rng.random()
        waiting = [lead for lead in self.leads[seller.id] if lead.day < self.today]
        deals = [d for d in self.deals if d.owner.id == seller.id]
        mine = self.owned(seller)
        self.tick(5, 25)
        if roll < 0.18 and deals:  # the hottest deal gets the attention, or any other
            hottest = max(deals, key=lambda d: d.stage / len(d.stages))
            self.move_deal(hottest if self.chance(0.6) else self.rng.choice(deals))
        elif 0.18 <= roll < 0.22 and waiting:
            self.work_lead(seller, self.rng.choice(waiting))
        elif 0.22 <= roll < 0.29 and mine:
            self.follow_up(seller, self.rng.choice(mine))
        elif 0.29 <= roll < 0.30:
            self.new_lead(seller, seller, self.rng.choice(OWN_SOURCES))
        elif 0.30 <= roll < 0.32:
            self.claim(seller)

    def work_lead(self, seller: User, lead: _Lead) -> None:
        """Call the lead; a promising one (or one waiting too long) is converted."""
        if self.chance(0.55) or (self.today - lead.day).days > 10:
            self.leads[seller.id].remove(lead)
            if self.chance(0.25):  # not a real prospect: stays an unconverted lead
                return
            self.convert(seller, lead)
        else:
            self.crm.followups.add(seller, "lead", lead.id, {
                "method": "打电话", "content": self.rng.choice(CALL_NOTES)})
            self.activity.followups += 1

    def convert(self, seller: User, lead: _Lead) -> None:
        """转化: the lead becomes a customer (and contact) with an opportunity."""
        team = self.co.team_of(seller)
        [done] = self.crm.leads.convert(seller, [lead.id], opportunities={lead.id: {
            "stage_group_id": self.co.stage_groups[team], "lines": self.lines(team),
            "expected_close_date": (self.today + timedelta(days=45)).isoformat()}})
        self.activity.converted += 1
        customer = _Customer(done.customer_id, lead.name, seller.id)
        self.customers[customer.id] = customer
        assert done.opportunity_id is not None
        self.deals.append(_Deal(done.opportunity_id, customer, seller, self.stage_ids[team]))

    def lines(self, team: str) -> list[dict[str, str]]:
        rng, products = self.rng, self.co.products
        if team == "key":
            chosen = [("XH-PRO", rng.randint(10, 30)), ("XH-IMP", rng.randint(5, 20)),
                      ("XH-OPS", 1)]
        else:
            chosen = [(rng.choice(("XH-STD", "XH-PRO")), rng.randint(1, 4)),
                      ("XH-APP", rng.randint(5, 30))]
            if self.chance(0.4):
                chosen.append(("XH-IMP", rng.randint(2, 6)))
        return [{"product_id": products[code][0], "quantity": str(quantity),
                 "discount": str(rng.choice((0, 0, 5, 10, 15)))} for code, quantity in chosen]

    def follow_up(self, seller: User, customer: _Customer) -> None:
        data: dict[str, object] = {"method": self.rng.choice(("打电话", "打电话", "见面拜访",
                                                              "发邮件")),
                                   "content": self.rng.choice(CALL_NOTES)}
        if self.chance(0.3):
            data["next_contact_at"] = datetime.combine(
                self.today + timedelta(days=self.rng.randint(2, 10)), time(10), LOCAL)
        self.crm.followups.add(seller, "customer", customer.id, data)
        self.activity.followups += 1

    def move_deal(self, deal: _Deal) -> None:
        last = len(deal.stages) - 1
        roll = self.rng.random()
        if deal.stage < last:
            if roll < 0.06:
                self.lose(deal)
            else:
                deal.stage = min(last, deal.stage + self.rng.choice((1, 1, 2)))
                self.crm.opportunities.advance(deal.owner, deal.id, deal.stages[deal.stage])
        elif roll < 0.6:
            self.win(deal)
        elif roll < 0.8:
            self.lose(deal)

    def lose(self, deal: _Deal) -> None:
        self.crm.opportunities.lose(deal.owner, deal.id, self.rng.choice(LOSS_REASONS))
        self.activity.lost += 1
        self.deals.remove(deal)

    def win(self, deal: _Deal) -> None:
        won = self.crm.opportunities.win(deal.owner, deal.id)
        self.activity.won += 1
        self.deals.remove(deal)
        contract = self.crm.contracts.create(deal.owner, {
            "name": f"{deal.customer.name}采购合同", "customer_id": deal.customer.id,
            "opportunity_id": deal.id, "order_date": self.today.isoformat(),
            "start_date": self.today.isoformat(),
            "end_date": (self.today + timedelta(days=364)).isoformat(),
            "lines": [{"product_id": line.product_id, "quantity": str(line.quantity),
                       "discount": str(line.discount)} for line in won.lines]}, submit=True)
        self.activity.contracts_submitted += 1
        self.pending.append(_Pending("contract", contract.id, deal.owner,
                                     self.today + timedelta(days=1), contract.amount))

    def claim(self, seller: User) -> None:
        team = self.co.team_of(seller)
        pooled = [c for c in self.customers.values()
                  if c.pool is not None and team in self.pool_teams[c.pool]
                  and c.previous_owner != seller.id]
        if not pooled:
            return
        customer = self.rng.choice(pooled)
        self.tick()
        try:
            self.crm.pool.claim(seller, [customer.id])
        except RuleViolation:  # today's claim limit reached: the seller tries another day
            return
        customer.owner, customer.pool = seller.id, None
        self.activity.claimed += 1
        if customer.reclaimed and self.activity.showcase_customer is None:
            self.activity.showcase_customer = customer.id

    # -- approvals and money -----------------------------------------------------------------
    def decide(self) -> None:
        """Each record waiting since yesterday gets its current approver's decision: a
        supervisor sends one contract in ten back (拒绝); everything else is approved."""
        for item in [p for p in self.pending if p.day <= self.today]:
            self.tick(1, 4)
            first_step = item.approver is None
            if item.approver is None:
                instance = self.crm.approvals.instance(item.owner, item.kind, item.id)
                assert instance is not None and instance.current_step is not None
                item.approver = instance.current_step.approver_ids[0]
            if item.kind == "contract" and first_step and self.chance(0.1):
                self.crm.approvals.reject(item.approver, item.kind, item.id,
                                          "折扣过大，请重新报价")
                self.activity.contracts_rejected += 1
                self.pending.remove(item)
                continue
            done = self.crm.approvals.approve(item.approver, item.kind, item.id, "同意")
            step = done.instance.current_step
            if step is not None:
                item.day, item.approver = self.today + timedelta(days=1), step.approver_ids[0]
                continue
            self.pending.remove(item)
            if item.kind == "contract":
                self.approved_contract(item)
            else:
                self.activity.payments_approved += 1

    def approved_contract(self, item: _Pending) -> None:
        self.activity.contracts_approved += 1
        show = self.activity.showcase_contract
        if show is None or item.amount > self.largest:
            self.activity.showcase_contract, self.largest = item.id, item.amount
        first = (item.amount * Decimal("0.5")).quantize(Decimal("0.01"))
        plans = self.crm.contracts.add_plans(item.owner, item.id, [
            {"amount": str(first), "method": "电汇",
             "planned_date": (self.today + timedelta(days=10)).isoformat()},
            {"amount": str(item.amount - first), "method": "电汇",
             "planned_date": (self.today + timedelta(days=40)).isoformat()}])
        self.plans += [_Plan(item.id, p.id, item.owner, p.planned_date, p.amount)
                       for p in plans]

    def collect(self) -> None:
        """Money arrives around each plan's date; the seller records it for finance."""
        for plan in [p for p in self.plans if p.due <= self.today]:
            if self.chance(0.35):  # the customer pays a little late
                continue
            self.plans.remove(plan)
            self.tick(1, 4)
            payment = self.crm.payments.create(plan.owner, {
                "contract_id": plan.contract_id, "plan_id": plan.plan_id,
                "paid_on": self.today.isoformat(), "amount": str(plan.amount),
                "method": "电汇"}, submit=True)
            self.pending.append(_Pending("payment", payment.id, plan.owner,
                                         self.today + timedelta(days=1), plan.amount))


def simulate(company: Company, seed: int, first_day: date, days: int,
             on_day: Callable[[date], None] | None = None) -> Activity:
    """Run ``days`` days from ``first_day`` with decisions drawn from ``random.Random(seed)``:
    work on weekdays, the pool's cron job on the first night and every Monday night.
    ``on_day`` is told each finished day."""
    quarter = _Quarter(company, random.Random(seed))
    quarter.load_book()
    quarter.carry_over()
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        if offset == 0 or day.weekday() == CRON_DAY:
            quarter.night(day)
        if day.weekday() < 5:
            quarter.workday(day)
        if on_day is not None:
            on_day(day)
    return quarter.activity
