"""公海 Public pools, their reclaim rules (回收规则) and the reclaim specification."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from crmkit.entities.common import frozen_mapping


class RuleType(enum.StrEnum):
    """N days without: a new follow-up record / a new opportunity / a deal."""

    FOLLOWUP = "followup"
    OPPORTUNITY = "opportunity"
    DEAL = "deal"


@attrs.frozen
class ReclaimRule:
    """One reclaim rule. ``days`` applies to every customer, or ``days_by_level`` per level
    (a customer whose level has no entry is not selected by the rule)."""

    type: RuleType
    days: int | None = None
    days_by_level: Mapping[str, int] = attrs.field(factory=dict, converter=frozen_mapping)
    reclaim_won: bool = False
    reclaim_with_open_opportunities: bool = False

    def days_for(self, level: str | None) -> int | None:
        if self.days_by_level:
            return self.days_by_level.get(level) if level is not None else None
        return self.days


@attrs.frozen
class Pool:
    """A pool: admins assign, members (users and users of member departments) see and claim.

    Claim rules: at most ``daily_claim_limit`` claims per user per local day; the previous
    owner cannot claim a customer back within ``claim_back_days`` days; ``warn_days`` before
    reclaim the owner is warned once.
    """

    id: str
    name: str
    admin_ids: frozenset[str] = frozenset()
    member_user_ids: frozenset[str] = frozenset()
    member_department_ids: frozenset[str] = frozenset()
    rules: tuple[ReclaimRule, ...] = ()
    daily_claim_limit: int | None = None
    claim_back_days: int = 0
    warn_days: int = 0
    reclaim_enabled: bool = True
    version: int = 1


@attrs.frozen
class RuleClause:
    """One compiled branch of a reclaim spec: customers of ``levels`` (None = any level) whose
    base time is before ``cutoff`` (an instant: local midnight of today − N days)."""

    rule_index: int
    type: RuleType
    cutoff: datetime
    levels: tuple[str, ...] | None
    reclaim_won: bool
    reclaim_with_open_opportunities: bool


@attrs.frozen
class ReclaimSpec:
    """Which customers one pool reclaims now: owned by ``owner_ids``, not locked, not pooled,
    and matching any clause. Evaluated in memory and compiled to SQL."""

    pool_id: str
    owner_ids: frozenset[str]
    clauses: tuple[RuleClause, ...]
    at: datetime


@attrs.frozen
class ReclaimCandidate:
    """A customer a sweep (or dry run) selects, with the first rule that selects it."""

    customer_id: str
    owner_id: str
    pool_id: str
    rule_index: int
    rule_type: RuleType
