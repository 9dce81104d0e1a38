"""回收规则 Reclaim rules as pure policy (DESIGN §5 "公海", precise semantics).

Days are local calendar days in the organisation's timezone: ``elapsed = local_date(now) −
local_date(base)``; a rule of N days reclaims when ``elapsed > N``. Equivalently the base lies
before the *cutoff* — the instant local midnight of ``local_date(now) − N`` begins — which is
how both interpreters test it (no per-row timezone arithmetic, DST-safe).

Bases: follow-up rule — the later of the last follow-up and the receive time; opportunity rule —
the later of the receive time and the creation of the customer's newest opportunity; deal rule
— the receive time, only customers not 已成交. Locked customers and customers already in a
pool are never selected; "reclaim 已成交" off skips 已成交 customers; "reclaim with open
opportunities" off skips customers with an opportunity still in progress.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from crmkit.entities.pool import (
    Pool,
    ReclaimCandidate,
    ReclaimRule,
    ReclaimSpec,
    RuleClause,
    RuleType,
)
from crmkit.entities.sales import DEAL_WON, Customer
from crmkit.policies.scopes import OrgIndex


def local_date(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def cutoff(now: datetime, days: int, tz: ZoneInfo) -> datetime:
    """The instant local day ``local_date(now) − days`` begins: base < cutoff ⇔ elapsed > days."""
    day = local_date(now, tz) - timedelta(days=days)
    return datetime.combine(day, time.min, tzinfo=tz)


def pool_members(pool: Pool, index: OrgIndex) -> frozenset[str]:
    """Member users: listed users plus the users of each member department and of the
    departments below it."""
    members = set(pool.member_user_ids)
    for department in pool.member_department_ids:
        members |= index.users_in_tree(department)
    return frozenset(members)


def reclaim_spec(pool: Pool, owner_ids: Iterable[str], now: datetime, tz: ZoneInfo,
                 rules: Iterable[ReclaimRule] | None = None) -> ReclaimSpec:
    """The spec of ``rules`` (default: the pool's) for customers of ``owner_ids`` at ``now``."""
    clauses: list[RuleClause] = []
    for index, rule in enumerate(pool.rules if rules is None else rules):
        groups: dict[int, list[str]] = {}
        if rule.days_by_level:
            for level, days in rule.days_by_level.items():
                groups.setdefault(days, []).append(level)
        elif rule.days is not None:
            groups[rule.days] = []
        for days, levels in sorted(groups.items()):
            clauses.append(RuleClause(
                index, rule.type, cutoff(now, days, tz),
                tuple(sorted(levels)) if rule.days_by_level else None,
                rule.reclaim_won, rule.reclaim_with_open_opportunities,
            ))
    return ReclaimSpec(pool.id, frozenset(owner_ids), tuple(clauses), now)


def clause_matches(clause: RuleClause, customer: Customer, newest_opportunity_at: datetime | None,
                   has_open_opportunity: bool) -> bool:
    """The reference interpreter of one clause (customer eligibility checked separately)."""
    if clause.levels is not None and customer.level not in clause.levels:
        return False
    if not clause.reclaim_won and customer.deal_status == DEAL_WON:
        return False
    if not clause.reclaim_with_open_opportunities and has_open_opportunity:
        return False
    received = customer.received_at or customer.created_at
    if received >= clause.cutoff:
        return False
    if clause.type is RuleType.FOLLOWUP:
        last = customer.last_followup_at
        return last is None or last < clause.cutoff
    if clause.type is RuleType.OPPORTUNITY:
        return newest_opportunity_at is None or newest_opportunity_at < clause.cutoff
    return customer.deal_status != DEAL_WON


def eligible(spec: ReclaimSpec, customer: Customer) -> bool:
    return (customer.owner_id is not None and customer.owner_id in spec.owner_ids
            and not customer.locked and customer.pool_id is None)


def select(spec: ReclaimSpec, customer: Customer, newest_opportunity_at: datetime | None,
           has_open_opportunity: bool) -> ReclaimCandidate | None:
    """The first clause of ``spec`` that reclaims ``customer``, as a candidate; else None."""
    if not eligible(spec, customer):
        return None
    for clause in spec.clauses:
        if clause_matches(clause, customer, newest_opportunity_at, has_open_opportunity):
            assert customer.owner_id is not None
            return ReclaimCandidate(customer.id, customer.owner_id, spec.pool_id,
                                    clause.rule_index, clause.type)
    return None


def days_until_pool(rules: Iterable[ReclaimRule], customer: Customer,
                    newest_opportunity_at: datetime | None, has_open_opportunity: bool,
                    now: datetime, tz: ZoneInfo) -> int | None:
    """min over applicable rules of (N + 1) − elapsed (≤ 0: due now); None when no rule applies
    (locked, pooled, excluded by the switches, or no days for the customer's level)."""
    if customer.locked or customer.pool_id is not None or customer.owner_id is None:
        return None
    today = local_date(now, tz)
    received = customer.received_at or customer.created_at
    best: int | None = None
    for rule in rules:
        days = rule.days_for(customer.level)
        if days is None:
            continue
        if not rule.reclaim_won and customer.deal_status == DEAL_WON:
            continue
        if not rule.reclaim_with_open_opportunities and has_open_opportunity:
            continue
        if rule.type is RuleType.DEAL and customer.deal_status == DEAL_WON:
            continue
        base = received
        if rule.type is RuleType.FOLLOWUP and customer.last_followup_at is not None:
            base = max(base, customer.last_followup_at)
        if rule.type is RuleType.OPPORTUNITY and newest_opportunity_at is not None:
            base = max(base, newest_opportunity_at)
        remaining = (days + 1) - (today - local_date(base, tz)).days
        best = remaining if best is None else min(best, remaining)
    return best
