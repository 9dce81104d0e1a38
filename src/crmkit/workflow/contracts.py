"""合同 Contracts and 回款计划 payment plans (``crm.contracts``).

Contracts (numbers, submit, lock and void: :mod:`crmkit.workflow.approved_records`):
- the customer must be visible to the actor; an ``opportunity_id`` must be an opportunity of
  that customer, a ``customer_signer_id`` one of its contacts (客户签约人), a
  ``company_signer_id`` an active user (公司签约人); ``start_date`` ≤ ``end_date``;
- ``lines`` are product lines as on opportunities (on-shelf products only on new lines,
  discounts, Decimal totals); with lines, ``amount`` = order total after ``order_discount``;
- approval (通过 or 无需审批) makes the customer 已成交; a contract with payments that are not
  void cannot be voided (``contract.has_payments``);
- ``received_amount`` is the sum of its effective payments, ``unreceived_amount`` = amount −
  received, both recomputed whenever a payment comes into force or leaves it;
- :meth:`ContractService.expiring` lists effective contracts whose end date is within N days
  (到期提醒).

Payment plans (回款计划), with the contracts ``edit`` permission on a contract the actor may
edit, in batches (all or none): amount > 0 (2 places), a planned date, a method of
:data:`~crmkit.entities.contract_fields.PAYMENT_METHODS`, remind 0–365 days before; periods
(期数) are numbered 1, 2, 3 … per contract; the plans that are not void may not add up to more
than the contract amount (``payment_plan.exceeds_contract``); no plans on a void contract.
A plan is voided, never deleted. Its status is derived
(:func:`crmkit.policies.contracts.plan_status`).
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation
from crmkit.entities.approvals import ApprovalStatus
from crmkit.entities.contract_fields import PAYMENT_METHODS
from crmkit.entities.contracts import (
    CONTRACT,
    Contract,
    NumberRule,
    PaymentPlan,
    PlanView,
)
from crmkit.entities.kinds import PAYMENT_KIND
from crmkit.entities.query import Page
from crmkit.entities.sales import CONTACT, OPPORTUNITY
from crmkit.errors import FieldError, NotFound, RuleViolation, ValidationError
from crmkit.policies import sales as rules
from crmkit.policies.contracts import plan_views, unreceived
from crmkit.policies.validation import field_error
from crmkit.serialization import structure
from crmkit.workflow.approved_records import ApprovedRecordService, exists, in_force
from crmkit.workflow.customers import CustomerService, customer_errors
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.product_lines import (
    MAX_AMOUNT,
    MAX_PRICE,
    decimal_problems,
    priced_lines,
    repath,
)
from crmkit.workflow.records import bounded_int

PLAN = "payment_plan"
"""Record kind of payment plans in the operation log."""
MAX_PLANS = 120
MAX_REMIND_DAYS = 365
ZERO = Decimal("0.00")


def _planned(plans: Sequence[PaymentPlan]) -> Decimal:
    """The amount of the plans that are not void."""
    return sum((p.amount for p in plans if not p.voided), ZERO)


def _within_amount(contract: Contract, planned: Decimal) -> None:
    """The plans that are not void never add up to more than the contract amount."""
    if planned > contract.amount:
        raise RuleViolation("payment_plan.exceeds_contract",
                            "回款计划总额超过合同金额",
                            "the plans add up to more than the contract amount",
                            details={"contract_amount": str(contract.amount),
                                     "planned": str(planned)})


@attrs.frozen
class _Day:
    on: date


@attrs.frozen
class PlanInput:
    """One period of a payment-plan payload."""

    amount: Decimal
    planned_date: date
    method: str | None = None
    remind_days: int = 0
    remark: str | None = None


class ContractService(ApprovedRecordService[Contract]):
    """Contracts: lines and totals, approvals, received amounts, plans, expiry."""

    default_rule = NumberRule(prefix="HT")

    def __init__(self, *args: Any, customers: CustomerService, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._customers = customers

    # -- record hooks ---------------------------------------------------------------------------
    def _extras(self, op: Op, extras: Mapping[str, Any], old: Contract | None) -> dict[str, Any]:
        if "lines" not in extras:
            return {}
        lines, problems = priced_lines(op, extras["lines"], old)
        if problems:
            raise ValidationError(problems)
        return {"lines": lines}

    def _before_write(self, op: Op, record: Contract, old: Contract | None) -> Contract:
        errors = customer_errors(self._access, op, record, old)
        customer_changed = old is None or record.customer_id != old.customer_id
        for key, kind in (("opportunity_id", OPPORTUNITY), ("customer_signer_id", CONTACT)):
            value = getattr(record, key)
            if value is None or not (customer_changed or value != getattr(old, key)):
                continue
            related = self._access.visible_many(op, kind, [value]).get(value)
            if related is None or related.customer_id != record.customer_id:
                errors.append(field_error(f"$.{key}", "not_found"))
        if record.start_date and record.end_date and record.start_date > record.end_date:
            errors.append(FieldError("$.end_date", "contract.dates", "结束日期不能早于开始日期",
                                     "the end date is before the start date"))
        if errors:
            raise ValidationError(errors)
        if record.lines:
            amount = rules.order_total(record.lines, record.order_discount)
            if amount >= MAX_AMOUNT:
                raise ValidationError([field_error("$.lines", "range.max")])
            record = attrs.evolve(record, amount=amount)
        if old is not None and (customer_changed or record.amount < old.amount):
            self._check_plans_follow(op, record)
        record = attrs.evolve(record, unreceived_amount=unreceived(record.amount,
                                                                   record.received_amount))
        numbered: Contract = self._numbered(op, record, old)
        return numbered

    def _check_plans_follow(self, op: Op, record: Contract) -> None:
        """A contract with plans keeps its customer, and its amount covers its plans."""
        plans = [p for p in op.uow.plans.for_contracts([record.id]) if not p.voided]
        if not plans:
            return
        if plans[0].customer_id != record.customer_id:
            raise RuleViolation("contract.has_plans",
                                "合同已有回款计划，不能更换客户",
                                "the contract has payment plans: its customer stays")
        _within_amount(record, _planned(plans))

    def touch(self, op: Op, contract: Contract) -> Contract:
        """Bump the contract's version (optimistic lock): a payment or plan added to it and a
        concurrent void, edit or plan of the same contract cannot both commit — the later
        writer gets ``Conflict`` instead of a payment on a void contract."""
        new = attrs.evolve(contract, version=contract.version + 1)
        self._repo(op).update(new, expected_version=contract.version, previous=contract)
        return new

    def _before_void(self, op: Op, record: Any) -> None:
        if self.payments_exist(op, record.id):
            raise RuleViolation("contract.has_payments",
                                "合同下还有未作废的回款，请先作废回款",
                                "the contract has payments: void them first")

    def payments_exist(self, op: Op, contract_id: str) -> bool:
        """Whether the contract has payments that are not void (one query)."""
        return exists(op, PAYMENT_KIND, "contract_id", contract_id)

    def _on_effective(self, op: Op, record: Any) -> None:
        if in_force(record):
            self._customers.mark_won(op, record.customer_id)

    def recount(self, op: Op, contract_id: str) -> Contract | None:
        """Received / unreceived amounts from the contract's effective payments (one sum)."""
        contract: Contract | None = self._repo(op).get(contract_id)
        if contract is None:
            return None
        received = op.uow.plans.received_by_contract([contract_id]).get(contract_id, ZERO)
        if received == contract.received_amount:
            return contract
        new = attrs.evolve(contract, received_amount=rules.money(received),
                           unreceived_amount=rules.money(unreceived(contract.amount, received)),
                           version=contract.version + 1, updated_at=op.now)
        self._repo(op).update(new, expected_version=contract.version, previous=contract)
        op.log(self.kind, new.id, "received", (
            FieldChange("received_amount", str(contract.received_amount),
                        str(new.received_amount)),
            FieldChange("unreceived_amount", str(contract.unreceived_amount),
                        str(new.unreceived_amount))))
        return new

    # -- expiry ---------------------------------------------------------------------------------
    def expiring(self, actor: ActorRef, days: int = 30, *, limit: int = 50,
                 cursor: str | None = None) -> Page:
        """到期提醒: effective contracts the actor sees whose end date is today or within
        ``days`` days (local), soonest first."""
        bounded_int(days, "$.days", 0, 3650)
        today = self._rt.clock.now().astimezone(self._rt.tz).date()
        return self.list(actor, {
            "conditions": [
                {"field": "end_date", "op": "between",
                 "value": [today.isoformat(), (today + timedelta(days=days)).isoformat()]},
                {"field": "approval_status", "op": "in",
                 "value": [ApprovalStatus.APPROVED.value, ApprovalStatus.NOT_REQUIRED.value]},
            ],
            "sort": [{"field": "end_date"}], "limit": limit, "cursor": cursor,
        })

    # -- payment plans --------------------------------------------------------------------------
    def add_plans(self, actor: ActorRef, contract_id: str,
                  items: Sequence[PlanInput | Mapping[str, Any]]) -> builtins.list[PaymentPlan]:
        """回款计划, one or many periods at once (see the module rules)."""
        if not isinstance(items, list | tuple):
            raise ValidationError([field_error("$", "type", " (a list of plans)")])
        if not 0 < len(items) <= MAX_PLANS:
            raise ValidationError([field_error("$", "required" if not items else "too_long",
                                               f" (1..{MAX_PLANS} plans)")])
        inputs = self._plan_inputs(items)
        with self._rt.operation(actor, Module.CONTRACTS, Operation.EDIT) as op:
            contract = self._access.editable(op, CONTRACT, contract_id)
            if contract.approval_status is ApprovalStatus.VOID:
                raise RuleViolation("contract.void", "合同已作废", "the contract is void")
            contract = self.touch(op, contract)
            existing = op.uow.plans.for_contracts([contract.id])
            _within_amount(contract, _planned(existing) + sum((i.amount for i in inputs), ZERO))
            first = max((p.period for p in existing), default=0) + 1
            plans = [PaymentPlan(
                self._rt.ids.new_id(), contract.id, contract.customer_id, first + i,
                rules.money(item.amount), item.planned_date, op.actor_id, op.now,
                item.method, item.remind_days, (item.remark or "").strip() or None)
                for i, item in enumerate(inputs)]
            op.uow.plans.add_many(plans)
            for plan in plans:
                op.log(CONTRACT, contract.id, "plan_add", (
                    FieldChange(f"plan.{plan.period}", None, str(plan.amount)),))
            return plans

    @staticmethod
    def _plan_inputs(items: Sequence[Any]) -> builtins.list[PlanInput]:
        errors: list[FieldError] = []
        inputs: list[PlanInput] = []
        for i, item in enumerate(items):
            at = f"$[{i}]" if len(items) > 1 else "$"
            try:
                plan = structure(item, PlanInput)
            except ValidationError as bad:
                errors.extend(repath(bad.errors, at))
                continue
            before = len(errors)
            errors.extend(decimal_problems(f"{at}.amount", plan.amount, places=2,
                                           low=Decimal(0), high=MAX_PRICE, low_inclusive=False))
            if not 0 <= plan.remind_days <= MAX_REMIND_DAYS:
                errors.append(FieldError(f"{at}.remind_days", "range.max",
                                         f"提前提醒天数须为 0..{MAX_REMIND_DAYS}",
                                         f"remind_days must be 0..{MAX_REMIND_DAYS}"))
            if plan.method is not None and plan.method not in PAYMENT_METHODS:
                errors.append(field_error(f"{at}.method", "option"))
            if plan.remark is not None and (len(plan.remark) > 500 or "\x00" in plan.remark):
                errors.append(field_error(f"{at}.remark", "too_long", " (max 500)"))
            if len(errors) == before:
                inputs.append(plan)
        if errors:
            raise ValidationError(errors)
        return inputs

    def void_plan(self, actor: ActorRef, plan_id: str) -> PaymentPlan:
        """作废 one plan (its payments stay; new payments may not name it)."""
        with self._rt.operation(actor, Module.CONTRACTS, Operation.EDIT) as op:
            plan = op.uow.plans.get(plan_id) if isinstance(plan_id, str) else None
            try:
                if plan is None:
                    raise NotFound("not_found", "", "")
                contract = self._access.visible(op, CONTRACT, plan.contract_id)
            except NotFound:  # a plan of a contract out of scope answers as a missing plan
                raise NotFound("payment_plan.not_found", "回款计划不存在",
                               "no such payment plan") from None
            self._access.check_editable(op, CONTRACT, contract)
            if plan.voided:
                return plan
            new = attrs.evolve(plan, voided=True, version=plan.version + 1)
            op.uow.plans.update(new, expected_version=plan.version)
            op.log(CONTRACT, plan.contract_id, "plan_void",
                   (FieldChange(f"plan.{plan.period}", str(plan.amount), None),))
            return new

    def plans(self, actor: ActorRef, contract_id: str) -> builtins.list[PlanView]:
        """The contract's plans by period, each with what was received against it and its
        derived status (待回款/部分回款/完成/逾期/作废)."""
        with self._rt.operation(actor, Module.CONTRACTS, Operation.VIEW) as op:
            contract = self._access.visible(op, CONTRACT, contract_id)
            return self._views(op, op.uow.plans.for_contracts([contract.id]),
                               {contract.id: contract})

    def due_plans(self, actor: ActorRef, on: date | str | None = None, *,
                  limit: int = 200) -> builtins.list[PlanView]:
        """回款提醒: at most ``limit`` (1..1000) plans of contracts the actor sees whose
        reminder day has come (``on``, default today) and that are neither done nor void, by
        planned date then id.

        The storage leaves out done and void plans and pages through the rest (keyset); each
        page's contracts are checked against the actor's scope set-based — one read of the
        contracts, one of the teams of those the owner scope does not admit — until ``limit``
        plans are found or the due plans run out."""
        if on is not None:
            try:
                on = structure({"on": on}, _Day).on  # a date or an ISO date text
            except ValidationError:
                raise ValidationError([field_error("$.on", "type", " (a date)")]) from None
        bounded_int(limit, "$.limit", 1, 1000)
        with self._rt.operation(actor, Module.CONTRACTS, Operation.VIEW) as op:
            day = on or op.now.astimezone(self._rt.tz).date()
            size = max(limit, 500)  # more than asked: fewer pages when most plans are others'
            kept: list[PaymentPlan] = []
            seen: dict[str, Contract] = {}
            checked: set[str] = set()
            after: tuple[date, str] | None = None
            while len(kept) < limit:
                page = op.uow.plans.due(day, after=after, limit=size)
                seen.update(self._visible_contracts(op, page, checked))
                kept += [p for p in page if p.contract_id in seen]
                if len(page) < size:
                    break
                after = (page[-1].planned_date, page[-1].id)
            return self._views(op, kept[:limit], seen, today=day)

    def _visible_contracts(self, op: Op, plans: Sequence[PaymentPlan],
                           checked: set[str]) -> dict[str, Contract]:
        """The contracts of ``plans`` not ``checked`` yet that the actor sees (all of them are
        then checked): one read of the contracts, one of the teams of those whose owner is out
        of the actor's scope."""
        wanted = builtins.list(dict.fromkeys(p.contract_id for p in plans
                                             if p.contract_id not in checked))
        checked.update(wanted)
        if not wanted:
            return {}
        scope = self._rt.scope(op, Module.CONTRACTS)
        found: dict[str, Contract] = {c.id: c for c in self._repo(op).get_many(wanted)}
        seen = {cid: c for cid, c in found.items() if scope.admits(c.owner_id)}
        rest = [cid for cid in found if cid not in seen]
        if rest and scope.team_user_id is not None:
            teams: dict[str, list[str]] = {}
            for member in op.uow.team.members_many(CONTRACT, rest):
                teams.setdefault(member.record_id, []).append(member.user_id)
            seen.update((cid, found[cid]) for cid in rest
                        if scope.admits(found[cid].owner_id, teams.get(cid, ())))
        return seen

    def _views(self, op: Op, plans: Sequence[PaymentPlan], contracts: Mapping[str, Contract],
               *, today: date | None = None) -> builtins.list[PlanView]:
        day = today or op.now.astimezone(self._rt.tz).date()
        received = op.uow.plans.received_by_plan([p.id for p in plans]) if plans else {}
        return plan_views(plans, received, {c.id: c.approval_status for c in contracts.values()},
                          day)

