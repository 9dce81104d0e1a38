"""客户 Customers (``crm.customers``).

- The name is unique (查重, enforced by the record engine).
- 锁定/解锁: a locked customer is never reclaimed into a pool.
- 成交状态 is set by hand here (and to 已成交 automatically when a contract is approved).
- 客户数上限: per user or department, at most ``max_owned`` owned and ``max_locked`` locked
  customers; 已成交 customers count only when the rule says so. Every way a user gains customers
  (create, transfer, conversion, claim, assign) checks it for the whole batch — all or nothing
  — after locking the owner (``pools.lock_owners``), so concurrent gains are counted one after
  the other and the limit holds under any concurrency.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation, OperationLogEntry, RecordScope, User
from crmkit.entities.contracts import CONTRACT, PAYMENT, Contract, Payment, PlanView
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
from crmkit.entities.records import Access, Attachment, TeamMember
from crmkit.entities.sales import (
    CONTACT,
    CUSTOMER,
    DEAL_OPEN,
    DEAL_WON,
    OPPORTUNITY,
    Contact,
    Customer,
    Opportunity,
)
from crmkit.errors import FieldError, NotFound, RuleViolation, ValidationError
from crmkit.policies.conflicts import version_conflict
from crmkit.policies.contracts import plan_views
from crmkit.policies.sales import CustomerLimit, effective_limit
from crmkit.policies.validation import field_error
from crmkit.serialization import converter, structure
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.record_access import RecordAccess
from crmkit.workflow.record_ownership import Cascade
from crmkit.workflow.records import RecordService

LIMITS_KEY = "customers.limits"
OWNER = FieldRef("owner_id", ValueKind.TEXT, True)
LOCKED = FieldRef("locked", ValueKind.BOOLEAN, True)
DEAL = FieldRef("deal_status", ValueKind.TEXT, True)
CUSTOMER_REF = FieldRef("customer_id", ValueKind.TEXT, True)
RELATED_LIMIT = 10_000
"""Most records of one kind a customer's detail lists."""


@attrs.frozen
class CustomerDetail:
    """Everything a customer detail screen shows. The related sections are cut to the viewer:
    a contact, opportunity, contract or payment of the customer is listed only when the viewer
    may see it (the view permission on its module, and its owner in their scope there or they
    on its team); a payment plan only with its listed contract. What they may not see is left
    out without a trace."""

    customer: Customer
    contacts: tuple[Contact, ...]
    opportunities: tuple[Opportunity, ...]
    team: tuple[TeamMember, ...]
    attachments: tuple[Attachment, ...]
    log: tuple[OperationLogEntry, ...]
    contracts: tuple[Contract, ...]
    payment_plans: tuple[PlanView, ...]
    """The listed contracts' plans by contract, then period (期数), each with what was received
    against it and its status."""
    payments: tuple[Payment, ...]


def customer_errors(access: RecordAccess, op: Op, record: Any, old: Any | None
                    ) -> list[FieldError]:
    """A record of a customer (opportunity, contract) names a customer the actor can see —
    checked when it is new or its customer changed; a customer this operation created is
    visible by construction (a lead conversion's opportunity: no read needed), one it already
    found visible needs no second read (the payload's reference check)."""
    if (old is not None and record.customer_id == old.customer_id) or (
            (CUSTOMER, record.customer_id) in op.created) or (
            (CUSTOMER, record.customer_id) in op.seen):
        return []
    try:
        access.visible(op, CUSTOMER, record.customer_id)
    except NotFound:
        return [field_error("$.customer_id", "not_found")]
    return []


def children(access: RecordAccess, op: Op, kind: str, customer_id: str) -> tuple[Any, ...]:
    """The records of ``kind`` that belong to a customer and that the actor may see (one
    query, cut to their scope on the kind's module; at most :data:`RELATED_LIMIT`)."""
    scope = access.list_scope(op, kind)
    if scope is None:
        return ()
    query = RecordQuery(scope, (Condition(CUSTOMER_REF, Operator.EQ, customer_id),),
                        limit=RELATED_LIMIT)
    return tuple(op.uow.records(kind).query(query))


class CustomerService(RecordService[Customer]):
    """Customers through the shared record engine plus lock, deal status, limits and detail."""

    def _before_write(self, op: Op, record: Customer, old: Customer | None) -> Customer:
        # the creator receives it when it is made (an import may carry an older receive time)
        if old is not None:
            return record
        return attrs.evolve(record, received_at=record.received_at or record.created_at)

    def _before_create_many(self, op: Op, records: Sequence[Customer]) -> None:
        per_owner: dict[str, builtins.list[Any]] = {}
        for record in records:
            if record.owner_id is not None:
                per_owner.setdefault(record.owner_id, []).append(record)
        for owner, mine in sorted(per_owner.items()):
            self.check_limits(op, owner, adding=len(mine), records=mine)

    def _before_transfer(self, op: Op, records: Sequence[Customer], target: User) -> None:
        if any(r.pool_id is not None for r in records):  # only a 超级管理员 reaches them here
            raise RuleViolation("customer.in_pool",
                                "公海客户请通过公海分配",
                                "a pool customer is assigned from the pool, not transferred")
        self.check_limits(op, target.id, adding=sum(1 for r in records
                                                    if r.owner_id != target.id),
                          records=records)

    # -- limits ---------------------------------------------------------------------------------
    def set_limits(self, actor: ActorRef, rules: Iterable[Mapping[str, Any] | CustomerLimit]
                   ) -> builtins.list[CustomerLimit]:
        """Replace the 客户数上限 rules (each for one user or one department)."""
        with self._rt.operation(actor, Module.ORG, Operation.EDIT) as op:
            parsed: builtins.list[CustomerLimit] = []
            for i, raw in enumerate(rules):
                if isinstance(raw, Mapping) and "id" not in raw:
                    raw = {**raw, "id": self._rt.ids.new_id()}
                rule = structure(raw, CustomerLimit)
                if (rule.user_id is None) == (rule.department_id is None):
                    raise ValidationError.at(f"$[{i}]", "invalid",
                                             "须指定一个员工或一个部门",
                                             "names exactly one user or department")
                if rule.user_id is not None and op.uow.users.get(rule.user_id) is None:
                    raise ValidationError.at(f"$[{i}].user_id", "not_found", "员工不存在",
                                             "not found")
                if (rule.department_id is not None
                        and op.uow.departments.get(rule.department_id) is None):
                    raise ValidationError.at(f"$[{i}].department_id", "not_found",
                                             "部门不存在", "not found")
                for name in ("max_owned", "max_locked"):
                    value = getattr(rule, name)
                    if value is not None and value < 0:
                        raise ValidationError.at(f"$[{i}].{name}", "invalid",
                                                 "不能为负数", "must not be negative")
                parsed.append(rule)
            op.put_setting(LIMITS_KEY, converter.unstructure(parsed))
            return parsed

    def limits(self, actor: ActorRef) -> builtins.list[CustomerLimit]:
        """The ownership limits (客户数上限) configured per user or department."""
        with self._rt.operation(actor, Module.CUSTOMERS, None) as op:
            return self._limits(op)

    def _limits(self, op: Op) -> builtins.list[CustomerLimit]:
        stored = self._rt.setting(op, LIMITS_KEY)
        return converter.structure(stored or [], builtins.list[CustomerLimit])

    def _rule_for(self, op: Op, user_id: str) -> CustomerLimit | None:
        rules = self._limits(op)
        if not rules:
            return None
        user = op.uow.users.get(user_id)
        parents = {d.id: d.parent_id for d in op.uow.departments.list()}
        return effective_limit(rules, user_id, user.department_id if user else None, parents)

    def count_owned(self, op: Op, user_id: str, *, count_won: bool, locked_only: bool = False
                    ) -> int:
        conditions = [Condition(OWNER, Operator.EQ, user_id)]
        if not count_won:
            conditions.append(Condition(DEAL, Operator.NE, DEAL_WON))
        if locked_only:
            conditions.append(Condition(LOCKED, Operator.EQ, True))
        query = RecordQuery(RecordScope.everything(), tuple(conditions))
        return int(op.uow.records(CUSTOMER).count(query))

    def check_limits(self, op: Op, user_id: str | None, *, adding: int = 0, locking: int = 0,
                     records: Sequence[Any] = ()) -> None:
        """Refuse when ``user_id`` would own (or lock) more customers than their rule allows."""
        if user_id is None or not (adding or locking):
            return
        rule = self._rule_for(op, user_id)
        if rule is None:
            return
        if (rule.max_owned is not None and adding) or (rule.max_locked is not None and locking):
            op.uow.pools.lock_owners([user_id])  # counted below: concurrent gains wait here
        if rule.max_owned is not None and adding:
            extra = adding if rule.count_won else sum(
                1 for r in records if r.deal_status != DEAL_WON) if records else adding
            owned = self.count_owned(op, user_id, count_won=rule.count_won)
            if owned + extra > rule.max_owned:
                raise RuleViolation(
                    "customer.owned_limit",
                    f"超出拥有客户数上限（{rule.max_owned}）",
                    f"the user would own more than {rule.max_owned} customers",
                    details={"user_id": user_id, "limit": rule.max_owned, "owned": owned})
        if rule.max_locked is not None and locking:
            locked = self.count_owned(op, user_id, count_won=rule.count_won, locked_only=True)
            if locked + locking > rule.max_locked:
                raise RuleViolation(
                    "customer.locked_limit",
                    f"超出锁定客户数上限（{rule.max_locked}）",
                    f"the user would lock more than {rule.max_locked} customers",
                    details={"user_id": user_id, "limit": rule.max_locked, "locked": locked})

    # -- lock and deal status -------------------------------------------------------------------
    def lock(self, actor: ActorRef, customer_ids: Iterable[str]) -> builtins.list[Customer]:
        """锁定: locked customers are never reclaimed; the owner's locked limit holds."""
        return self._set_locked(actor, customer_ids, True)

    def unlock(self, actor: ActorRef, customer_ids: Iterable[str]) -> builtins.list[Customer]:
        """解锁: unlock customers the actor may edit, so the pool may reclaim them again."""
        return self._set_locked(actor, customer_ids, False)

    def _set_locked(self, actor: ActorRef, customer_ids: Iterable[str], locked: bool
                    ) -> builtins.list[Customer]:
        with self._rt.operation(actor, Module.CUSTOMERS, Operation.LOCK) as op:
            records = self._access.editable_many(op, CUSTOMER, builtins.list(customer_ids))
            changing = [r for r in records if r.locked != locked]
            if locked:
                per_owner: dict[str, int] = {}
                for r in changing:
                    if r.owner_id is None:
                        raise RuleViolation("customer.in_pool",
                                            "公海客户不能锁定", "pool customers cannot be locked")
                    per_owner[r.owner_id] = per_owner.get(r.owner_id, 0) + 1
                for owner, count in sorted(per_owner.items()):
                    self.check_limits(op, owner, locking=count)
            return [self._save(op, None, r, None, "lock" if locked else "unlock", locked=locked)
                    if r in changing else r for r in records]

    def set_deal_status(self, actor: ActorRef, customer_id: str, status: str) -> Customer:
        """Set 成交状态 by hand: 未成交 or 已成交."""
        if status not in (DEAL_OPEN, DEAL_WON):
            raise ValidationError.at("$.deal_status", "option", "不是有效的成交状态",
                                     "is not a deal status")
        with self._rt.operation(actor, Module.CUSTOMERS, Operation.EDIT) as op:
            old = self._access.editable(op, CUSTOMER, customer_id)
            result: Customer = self._save(op, None, old, None, "deal_status", deal_status=status)
            return result

    def mark_won(self, op: Op, customer_id: str) -> None:
        """已成交 inside another operation (a contract was approved)."""
        old = op.uow.records(CUSTOMER).get(customer_id)
        if old is not None and old.deal_status != DEAL_WON:
            self._save(op, None, old, None, "deal_status", deal_status=DEAL_WON)

    # -- detail and cascades --------------------------------------------------------------------
    def detail(self, actor: ActorRef, customer_id: str) -> CustomerDetail:
        """The customer with what the actor may see of its contacts, opportunities, contracts,
        payment plans and payments, and its team, attachments and log — a fixed number of
        statements however many related records there are."""
        with self._rt.operation(actor, Module.CUSTOMERS, Operation.VIEW) as op:
            customer = self._access.visible(op, CUSTOMER, customer_id)
            contracts = children(self._access, op, CONTRACT, customer.id)
            plans = op.uow.plans.for_contracts([c.id for c in contracts]) if contracts else []
            received = op.uow.plans.received_by_plan([p.id for p in plans]) if plans else {}
            return CustomerDetail(
                customer,
                children(self._access, op, CONTACT, customer.id),
                children(self._access, op, OPPORTUNITY, customer.id),
                tuple(op.uow.team.members(CUSTOMER, customer.id)),
                tuple(op.uow.attachments.for_record(CUSTOMER, customer.id)),
                tuple(op.uow.oplog.for_record(CUSTOMER, customer.id)),
                contracts,
                tuple(plan_views(plans, received,
                                 {c.id: c.approval_status for c in contracts},
                                 op.now.astimezone(self._rt.tz).date())),
                children(self._access, op, PAYMENT, customer.id),
            )


def move_children(*kinds: str) -> Cascade:
    """A transfer cascade: the customers' records of ``kinds`` owned by the customer's old
    owner follow it to the new owner. Each moves only from the version read with it: one
    changed by a concurrent writer (another transfer, an edit) makes the whole transfer a
    ``Conflict`` instead of silently overwriting that change."""

    def cascade(op: Op, customers: Sequence[Any], to_user_id: str, keep: Access | None) -> None:
        old_owner = {c.id: c.owner_id for c in customers}
        for kind in kinds:
            repo = op.uow.records(kind)
            moving = [child for child in repo.children_of("customer_id", builtins.list(old_owner))
                      if child.owner_id is not None and child.owner_id != to_user_id
                      and child.owner_id == old_owner.get(child.parent_id)]
            if not moving:
                continue
            versions = {child.id: child.version for child in moving}
            if repo.reassign(builtins.list(versions), to_user_id, op.now,
                             versions=versions) != len(versions):
                raise version_conflict(kind)
            ids = builtins.list(versions)
            if keep is not None:
                op.uow.team.put_many([TeamMember(kind, child.id, child.owner_id or "", keep)
                                      for child in moving])
            op.uow.team.remove_user(kind, ids, to_user_id)
            for child in moving:
                op.log(kind, child.id, "transfer",
                       (FieldChange("owner_id", child.owner_id, to_user_id),))

    return cascade
