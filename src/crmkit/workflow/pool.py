"""公海 Public pool (``crm.pool``): pools, the reclaim sweep, warnings, claim, assign, release.

- Members (users, and users of member departments) see the pool's customers and claim them
  (领取); admins assign them (分配) and move them between pools; owners release theirs
  (放入公海). A 超级管理员 is member and admin of every pool. Every gain of customers checks
  the owned-customer limit, all or nothing.
- Claim rules: at most ``daily_claim_limit`` claims per user per local day (resets at local
  midnight); a previous owner cannot claim a customer back within ``claim_back_days`` days of
  it entering the pool. Two users claiming the same customer at once: exactly one wins.
- :meth:`PoolService.sweep` moves every customer due by its pool's rules into the pool in a few
  set-based statements and notifies the previous owners; ``dry_run=True`` only reports.
  :meth:`PoolService.warn` notifies owners ``warn_days`` before reclaim, once. Both hold the
  sweep's job lock (``uow.lock_job``): started in several processes at once, the work is done
  once.
"""

from __future__ import annotations

import builtins
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import attrs

from crmkit.entities import (
    FieldChange,
    Module,
    Notification,
    Operation,
    RecordScope,
)
from crmkit.entities.fields import ValueKind
from crmkit.entities.pool import Pool, ReclaimCandidate, ReclaimRule
from crmkit.entities.query import Condition, FieldRef, Operator, Page, RecordQuery
from crmkit.entities.records import ConditionSpec
from crmkit.entities.sales import CUSTOMER, OPPORTUNITY, Customer, OpportunityStatus
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.policies.conflicts import version_conflict
from crmkit.policies.pool_moves import move_changes, put_values, puttable, take_values
from crmkit.policies.reclaim import (
    cutoff,
    days_until_pool,
    local_date,
    pool_members,
    reclaim_spec,
)
from crmkit.policies.validation import field_error
from crmkit.serialization import structure, structure_patch
from crmkit.workflow.customers import CustomerService
from crmkit.workflow.operations import Actor, ActorRef, Op, Runtime
from crmkit.workflow.querying import ListRequest
from crmkit.workflow.record_access import RecordAccess

POOL_REF = FieldRef("pool_id", ValueKind.TEXT, True)

SWEEP_JOB = "pool.sweep"
"""The job lock of the sweep and the warnings (one at a time across processes)."""


@attrs.frozen
class NewPool:
    name: str
    admin_ids: frozenset[str] = frozenset()
    member_user_ids: frozenset[str] = frozenset()
    member_department_ids: frozenset[str] = frozenset()
    rules: tuple[ReclaimRule, ...] = ()
    daily_claim_limit: int | None = None
    claim_back_days: int = 0
    warn_days: int = 0
    reclaim_enabled: bool = True


@attrs.frozen
class PoolChanges:
    name: str
    admin_ids: frozenset[str]
    member_user_ids: frozenset[str]
    member_department_ids: frozenset[str]
    rules: tuple[ReclaimRule, ...]
    daily_claim_limit: int | None
    claim_back_days: int
    warn_days: int
    reclaim_enabled: bool


@attrs.frozen
class SweepReport:
    """What a sweep moved (or, on a dry run, would move), per pool, with the reason."""

    at: datetime
    dry_run: bool
    reclaimed: tuple[ReclaimCandidate, ...]

    def by_pool(self) -> dict[str, int]:
        return dict(Counter(c.pool_id for c in self.reclaimed))


class PoolService:
    def __init__(self, runtime: Runtime, access: RecordAccess, customers: CustomerService
                 ) -> None:
        self._rt = runtime
        self._access = access
        self._customers = customers

    # -- pools ----------------------------------------------------------------------------------
    def create_pool(self, actor: ActorRef, data: NewPool | Mapping[str, Any]) -> Pool:
        """Add a pool (the ``pool`` module's ``edit`` permission)."""
        payload = structure(data, NewPool)
        with self._rt.operation(actor, Module.POOL, Operation.EDIT) as op:
            pool = Pool(self._rt.ids.new_id(), **attrs.asdict(payload, recurse=False))
            self._check(op, pool)
            op.uow.pools.add(pool)
            self._rt.org_changed(op)  # pool membership is part of every scope
            op.log("pool", pool.id, "create")
            return pool

    def update_pool(self, actor: ActorRef, pool_id: str, changes: Mapping[str, Any]) -> Pool:
        """Change a pool's name, members, administrators, reclaim rules or claim limits
        (checked as when added)."""
        patch = structure_patch(changes, PoolChanges)
        with self._rt.operation(actor, Module.POOL, Operation.EDIT) as op:
            old = self._pool(op, pool_id)
            new = attrs.evolve(old, version=old.version + 1, **patch)
            self._check(op, new)
            op.uow.pools.update(new, expected_version=old.version)
            self._rt.org_changed(op)
            op.log("pool", pool_id, "update")
            return new

    def delete_pool(self, actor: ActorRef, pool_id: str) -> None:
        """Delete a pool that holds no customers."""
        with self._rt.operation(actor, Module.POOL, Operation.EDIT) as op:
            self._pool(op, pool_id)
            if self._count_in(op, pool_id):
                raise RuleViolation("pool.not_empty", "公海中还有客户",
                                    "the pool still holds customers")
            op.uow.pools.delete(pool_id)
            self._rt.org_changed(op)
            op.log("pool", pool_id, "delete")

    def list_pools(self, actor: ActorRef) -> builtins.list[Pool]:
        """Every public pool (公海) with its members, administrators and rules."""
        with self._rt.operation(actor, Module.POOL, Operation.VIEW) as op:
            return op.uow.pools.list()

    def _pool(self, op: Op, pool_id: str) -> Pool:
        pool = op.uow.pools.get(pool_id) if isinstance(pool_id, str) else None
        if pool is None:
            raise NotFound("pool.not_found", "公海不存在", "pool not found")
        return pool

    def _check(self, op: Op, pool: Pool) -> None:
        errors = []
        if not pool.name.strip():
            errors.append(("$.name", "blank"))
        for path, ids, exists in (
            ("$.admin_ids", pool.admin_ids, op.uow.users.get),
            ("$.member_user_ids", pool.member_user_ids, op.uow.users.get),
            ("$.member_department_ids", pool.member_department_ids, op.uow.departments.get),
        ):
            if any(exists(i) is None for i in ids):
                errors.append((path, "not_found"))
        for i, rule in enumerate(pool.rules):
            days = [rule.days] if rule.days is not None else []
            days += builtins.list(rule.days_by_level.values())
            if not days or any(d < 0 for d in days):
                errors.append((f"$.rules[{i}].days", "invalid"))
        numbers = (pool.claim_back_days, pool.warn_days, pool.daily_claim_limit or 0)
        if any(n < 0 for n in numbers):
            errors.append(("$", "invalid"))
        if errors:
            raise ValidationError([field_error(p, c) for p, c in errors])

    def _members(self, op: Op, pool: Pool) -> frozenset[str]:
        return pool_members(pool, self._rt.org_index(op))

    def _is_admin(self, op: Op, pool: Pool) -> bool:
        return op.user_id in pool.admin_ids or op.is_super_admin

    def _member_pools(self, op: Op) -> builtins.list[Pool]:
        """The pools whose customers the actor may see (member, admin, or 超级管理员)."""
        me = op.user_id
        return [p for p in op.uow.pools.list()
                if op.is_super_admin or me in self._members(op, p) or me in p.admin_ids]

    def _count_in(self, op: Op, pool_id: str) -> int:
        query = RecordQuery(RecordScope.everything(), (Condition(POOL_REF, Operator.EQ, pool_id),))
        return int(op.uow.records(CUSTOMER).count(query))

    # -- lists ----------------------------------------------------------------------------------
    def customers(self, actor: ActorRef, pool_id: str,
                  request: ListRequest | Mapping[str, Any] | None = None) -> Page:
        """The pool's customers (members and admins only), filtered like any customer list."""
        req = structure(request or {}, ListRequest)
        with self._rt.operation(actor, Module.POOL, Operation.VIEW) as op:
            pool = self._pool(op, pool_id)
            if pool.id not in {p.id for p in self._member_pools(op)}:
                raise NotFound("pool.not_found", "公海不存在", "pool not found")
        condition = ConditionSpec("pool_id", "eq", pool.id)
        return self._customers.list(actor, attrs.evolve(
            req, conditions=(condition, *req.conditions), scene=req.scene or "all"))

    # -- claim, assign, release, move -----------------------------------------------------------
    def claim(self, actor: ActorRef, customer_ids: Iterable[str]) -> builtins.list[Customer]:
        """领取: a member takes pool customers (daily limit, claim-back rule, owned limit)."""
        ids = builtins.list(dict.fromkeys(customer_ids))
        with self._rt.operation(actor, Module.POOL, Operation.CLAIM) as op:
            me = op.user_id
            op.uow.pools.lock_owners([me])
            customers = self._pooled(op, ids)
            pools = {p.id: p for p in self._member_pools(op)}
            for customer in customers:
                pool = pools.get(customer.pool_id or "")
                if pool is None or not (op.is_super_admin or me in self._members(op, pool)):
                    raise PermissionDenied("pool.not_member", "你不是该公海的成员",
                                           "not a member of this pool")
                if customer.previous_owner_id == me and customer.pooled_at is not None:
                    days = (local_date(op.now, self._rt.tz)
                            - local_date(customer.pooled_at, self._rt.tz)).days
                    if days <= pool.claim_back_days and pool.claim_back_days > 0:
                        raise RuleViolation(
                            "pool.claim_back", f"{pool.claim_back_days} 天内不能领取自己退回的客户",
                            f"you cannot claim back a customer within {pool.claim_back_days} "
                            "days", details={"customer_id": customer.id})
            # The limit counts the user's claims of the local day across all pools; one call
            # may span pools, so its whole count is checked against each pool's limit.
            limits = [n for n in (pools[c.pool_id or ""].daily_claim_limit for c in customers)
                      if n is not None]
            if limits:
                limit = min(limits)
                since = cutoff(op.now, 0, self._rt.tz)
                if op.uow.pools.claims_since(me, since) + len(customers) > limit:
                    raise RuleViolation(
                        "pool.claim_limit_reached",
                        f"已达到每日领取上限（{limit}）", f"daily claim limit ({limit}) reached")
            self._customers.check_limits(op, me, adding=len(customers), records=customers)
            taken = self._take(op, customers, me, "claim")
            op.uow.pools.add_claims([(c.id, me, op.now) for c in customers])
            return taken

    def assign(self, actor: ActorRef, customer_ids: Iterable[str], to_user_id: str
               ) -> builtins.list[Customer]:
        """分配: a pool admin gives pool customers to an active user (owned limit holds)."""
        ids = builtins.list(dict.fromkeys(customer_ids))
        with self._rt.operation(actor, Module.POOL, Operation.ASSIGN) as op:
            target = op.uow.users.get(to_user_id) if isinstance(to_user_id, str) else None
            if target is None or not target.active:
                raise ValidationError([field_error("$.to_user_id", "not_found")])
            customers = self._pooled(op, ids)
            for customer in customers:
                if not self._is_admin(op, self._pool(op, customer.pool_id or "")):
                    raise PermissionDenied("pool.not_admin", "只有公海管理员可以分配",
                                           "only pool admins assign")
            self._customers.check_limits(op, target.id, adding=len(customers),
                                         records=customers)
            taken = self._take(op, customers, target.id, "assign")
            op.notify(Notification(target.id, "pool.assign",
                                   f"公海分配给你 {len(taken)} 个客户",
                                   f"{len(taken)} pool customer(s) were assigned to you",
                                   CUSTOMER, None, {"count": len(taken)}))
            return taken

    def _pooled(self, op: Op, ids: builtins.list[str]) -> builtins.list[Customer]:
        """Pool customers the actor can see (NotFound otherwise, as for any record)."""
        found = {c.id: c for c in op.uow.records(CUSTOMER).get_many(ids)}
        visible = {p.id for p in self._member_pools(op)}
        result = []
        for cid in ids:
            customer = found.get(cid)
            if customer is None or customer.pool_id not in visible:
                raise NotFound("record.not_found", "公海客户不存在",
                               f"customer {cid} not found in a pool")
            result.append(customer)
        return result

    def _take(self, op: Op, customers: builtins.list[Customer], owner_id: str, action: str
              ) -> builtins.list[Customer]:
        by_pool: dict[str, builtins.list[str]] = {}
        for c in customers:
            by_pool.setdefault(c.pool_id or "", []).append(c.id)
        for pool_id, ids in by_pool.items():
            versions = {c.id: c.version for c in customers if c.id in ids}
            if op.uow.pools.take(versions, pool_id, owner_id, op.now) != len(ids):
                # changed meanwhile: the answer of a later (serialised) call
                raise NotFound("record.not_found", "公海客户不存在",
                               "customer not found in a pool")
        taken = take_values(owner_id, op.now)
        for c in customers:
            op.log(CUSTOMER, c.id, action, move_changes(c, taken))
        return op.uow.records(CUSTOMER).get_many([c.id for c in customers])

    def release(self, actor: ActorRef, customer_ids: Iterable[str],
                pool_id: str | None = None) -> builtins.list[Customer]:
        """放入公海: the owner (or anyone who may edit them) puts customers into a pool — the
        given one, else the single pool the owner belongs to. Locked customers stay. Returns
        the released customers as stored now (like claim and assign)."""
        ids = builtins.list(dict.fromkeys(customer_ids))
        with self._rt.operation(actor, Module.CUSTOMERS, Operation.PUT_INTO_POOL) as op:
            customers = self._access.editable_many(op, CUSTOMER, ids)
            if any(c.pool_id is not None for c in customers):  # a 超级管理员's pool customer
                raise RuleViolation("pool.already_in_pool", "客户已在公海中",
                                    "the customer is already in a pool")
            if any(c.locked for c in customers):
                raise RuleViolation("customer.locked",
                                    "锁定的客户不能放入公海", "locked customers cannot be released")
            groups: dict[str, builtins.list[Customer]] = {}
            for customer in customers:
                target = self._home_pool(op, customer.owner_id, pool_id)
                groups.setdefault(target.id, []).append(customer)
            released: builtins.list[str] = []
            for target_id, group in groups.items():
                moved = len(self._put(op, group, target_id, "release"))
                released += [c.id for c in group if c.pool_id != target_id]
                for admin in sorted(self._pool(op, target_id).admin_ids) if moved else ():
                    op.notify(Notification(admin, "pool.release",
                                           f"{moved} 个客户被放入公海",
                                           f"{moved} customer(s) were put into the pool",
                                           CUSTOMER, None, {"count": moved,
                                                            "pool_id": target_id}))
            return op.uow.records(CUSTOMER).get_many(released)

    def _home_pool(self, op: Op, owner_id: str | None, pool_id: str | None) -> Pool:
        if pool_id is not None:
            return self._pool(op, pool_id)
        homes = [p for p in op.uow.pools.list() if owner_id in self._members(op, p)]
        if len(homes) != 1:
            raise RuleViolation("pool.ambiguous" if homes else "pool.none", "请选择要放入的公海",
                                "name the pool to release into")
        return homes[0]

    def move(self, actor: ActorRef, customer_ids: Iterable[str], to_pool_id: str
             ) -> builtins.list[Customer]:
        """Move pool customers to another pool (admin of both); returns them as stored now."""
        ids = builtins.list(dict.fromkeys(customer_ids))
        with self._rt.operation(actor, Module.POOL, Operation.ASSIGN) as op:
            target = self._pool(op, to_pool_id)
            customers = self._pooled(op, ids)
            pools = {c.pool_id for c in customers} | {target.id}
            if not all(self._is_admin(op, self._pool(op, p or "")) for p in pools):
                raise PermissionDenied("pool.not_admin",
                                       "只有公海管理员可以转移公海客户",
                                       "only pool admins move customers")
            return op.uow.records(CUSTOMER).get_many(
                self._put(op, customers, target.id, "move_pool"))

    def _put(self, op: Op, customers: builtins.list[Customer], pool_id: str, action: str
             ) -> builtins.list[str]:
        """Move the customers not in ``pool_id`` yet, each from the version read (one changed
        meanwhile → ``Conflict``); log exactly those moved, return their ids."""
        moving = [c for c in customers if puttable(c, pool_id)]
        moved = op.uow.pools.put({c.id: c.version for c in moving}, pool_id, op.now)
        if len(moved) != len(moving):
            raise version_conflict()
        put = put_values(pool_id, op.now)
        for c in moving:
            op.log(CUSTOMER, c.id, action, move_changes(c, put))
        return moved

    # -- sweep and warnings ---------------------------------------------------------------------
    def sweep(self, actor: Actor, *, dry_run: bool = False, at: datetime | None = None,
              pool_id: str | None = None,
              rules: Iterable[ReclaimRule | Mapping[str, Any]] | None = None) -> SweepReport:
        """Reclaim every due customer into its pool (set-based); ``dry_run`` reports only.

        Background work: ``actor`` is the host's :class:`~crmkit.SystemActor`, or a user holding
        the ``pool`` module's ``edit`` permission (e.g. an admin previewing a rule change:
        ``pool_id`` + ``rules`` preview one pool's new rules without saving them)."""
        if rules is not None:
            rules = structure(builtins.list(rules), tuple[ReclaimRule, ...])
        with self._rt.operation(actor, Module.POOL, Operation.EDIT, system=True) as op:
            if not dry_run:
                op.uow.lock_job(SWEEP_JOB)
            now = at or op.now
            pools = [p for p in op.uow.pools.list()
                     if (pool_id is None or p.id == pool_id) and (p.reclaim_enabled or rules)]
            moved: builtins.list[ReclaimCandidate] = []
            seen: set[str] = set()
            for pool in pools:
                spec = reclaim_spec(pool, self._members(op, pool), now, self._rt.tz,
                                    rules if pool.id == pool_id else None)
                if not spec.clauses:
                    continue
                found = (op.uow.pools.candidates(spec) if dry_run
                         else op.uow.pools.reclaim(spec, now))
                moved.extend(_unseen(found, seen))
            if not dry_run and moved:
                self._log_reclaim(op, moved, now)
            return SweepReport(now, dry_run, tuple(moved))

    def _log_reclaim(self, op: Op, moved: builtins.list[ReclaimCandidate], now: datetime
                     ) -> None:
        for c in moved:
            op.log(CUSTOMER, c.customer_id, "reclaim", (FieldChange("owner_id", c.owner_id, None),
                                                        FieldChange("pool_id", None, c.pool_id)),
                   note=f"rule {c.rule_index}: {c.rule_type.value}", at=now)
        for owner, count in sorted(Counter(c.owner_id for c in moved).items()):
            op.notify(Notification(owner, "pool.reclaim", f"{count} 个客户已被收回公海",
                                   f"{count} customer(s) went back to the pool", CUSTOMER,
                                   None, {"count": count}))

    def warn(self, actor: Actor, *, at: datetime | None = None) -> int:
        """Notify owners of customers within ``warn_days`` of reclaim — once per customer.
        Background work, run as :meth:`sweep` is."""
        with self._rt.operation(actor, Module.POOL, Operation.EDIT, system=True) as op:
            op.uow.lock_job(SWEEP_JOB)
            now = at or op.now
            warned: builtins.list[ReclaimCandidate] = []
            seen: set[str] = set()
            for pool in op.uow.pools.list():
                if not pool.reclaim_enabled or pool.warn_days <= 0 or not pool.rules:
                    continue
                early = [_earlier(r, pool.warn_days) for r in pool.rules]
                spec = reclaim_spec(pool, self._members(op, pool), now, self._rt.tz, early)
                warned.extend(_unseen(op.uow.pools.candidates(spec, unwarned=True), seen))
            op.uow.pools.mark_warned([c.customer_id for c in warned], now)
            for owner, count in sorted(Counter(c.owner_id for c in warned).items()):
                op.notify(Notification(owner, "pool.warning", f"{count} 个客户即将被收回公海",
                                       f"{count} customer(s) will soon go back to the pool",
                                       CUSTOMER, None, {"count": count,
                                                        "ids": [c.customer_id for c in warned
                                                                if c.owner_id == owner]}))
            return len(warned)

    def days_until_pool(self, actor: ActorRef, customer_ids: Iterable[str]
                        ) -> dict[str, int | None]:
        """'Days until pool' per visible customer: min over its pool rules of (N+1) − elapsed."""
        ids = builtins.list(dict.fromkeys(customer_ids))
        with self._rt.operation(actor, Module.CUSTOMERS, Operation.VIEW) as op:
            customers = [self._access.visible(op, CUSTOMER, cid) for cid in ids]
            return self._days_left(op, customers, op.now)

    def _days_left(self, op: Op, customers: builtins.list[Customer], now: datetime
                   ) -> dict[str, int | None]:
        """Days until pool of each customer under the rules of the pools its owner is in."""
        pools = [p for p in op.uow.pools.list() if p.reclaim_enabled]
        facts = self._opportunity_facts(op, [c.id for c in customers])
        result: dict[str, int | None] = {}
        for customer in customers:
            rules = [r for p in pools if customer.owner_id in self._members(op, p)
                     for r in p.rules]
            newest, open_ = facts.get(customer.id, (None, False))
            result[customer.id] = days_until_pool(rules, customer, newest, open_, now,
                                                  self._rt.tz)
        return result

    def reclaimed_soon(self, op: Op, now: datetime, days: int, owner_id: str | None = None
                       ) -> builtins.list[tuple[Customer, int | None]]:
        """Customers (of ``owner_id`` only, when given) their pools' rules reclaim within
        ``days`` days, each with its days until pool: one candidate query per pool (the rules
        moved ``days`` earlier, as for :meth:`warn`), one read of the customers and one of
        their opportunities."""
        found: builtins.list[ReclaimCandidate] = []
        seen: set[str] = set()
        for pool in op.uow.pools.list():
            members = self._members(op, pool)
            if owner_id is not None:
                members = members & {owner_id}
            if not pool.reclaim_enabled or not pool.rules or not members:
                continue
            spec = reclaim_spec(pool, members, now, self._rt.tz,
                                [_earlier(r, days) for r in pool.rules])
            found.extend(_unseen(op.uow.pools.candidates(spec), seen))
        if not found:
            return []
        customers = op.uow.records(CUSTOMER).get_many([c.customer_id for c in found])
        left = self._days_left(op, customers, now)
        return [(c, left[c.id]) for c in customers]

    @staticmethod
    def _opportunity_facts(op: Op, customer_ids: builtins.list[str]
                           ) -> dict[str, tuple[datetime | None, bool]]:
        repo = op.uow.records(OPPORTUNITY)
        rows = repo.children_of("customer_id", customer_ids)
        facts: dict[str, tuple[datetime | None, bool]] = {}
        for opp in repo.get_many([child.id for child in rows]):
            newest, open_ = facts.get(opp.customer_id, (None, False))
            newest = opp.created_at if newest is None or opp.created_at > newest else newest
            facts[opp.customer_id] = (newest,
                                      open_ or opp.status is OpportunityStatus.IN_PROGRESS)
        return facts



def _earlier(rule: ReclaimRule, days: int) -> ReclaimRule:
    """The rule ``days`` earlier: it selects customers within ``days`` of reclaim."""
    return attrs.evolve(
        rule, days=None if rule.days is None else max(rule.days - days, 0),
        days_by_level={k: max(v - days, 0) for k, v in rule.days_by_level.items()})


def _unseen(candidates: Iterable[ReclaimCandidate], seen: set[str]
            ) -> builtins.list[ReclaimCandidate]:
    """The candidates no earlier pool took (an owner in two pools: the first pool takes the
    customer, as the real sweep does); marks them seen."""
    fresh = [c for c in candidates if c.customer_id not in seen]
    seen.update(c.customer_id for c in fresh)
    return fresh
