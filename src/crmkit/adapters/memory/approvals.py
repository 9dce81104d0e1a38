"""Memory repositories of approvals, number sequences and payment plans (the reference).

Every write goes through :class:`~crmkit.adapters.memory.records.UndoDict`, so a rolled-back
transaction undoes it — a sequence value taken inside it is given back too.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

from crmkit.adapters.memory.records import MemoryRecords, UndoDict
from crmkit.entities.approvals import ApprovalFlow, ApprovalInstance
from crmkit.entities.contracts import EFFECTIVE, PaymentPlan
from crmkit.policies.conflicts import exists, taken, version_conflict
from crmkit.policies.contracts import due_order, plan_due

Undo = Callable[[], None]

CENTS = Decimal("0.01")
"""Received sums have two places, as the SQL adapter's ``NUMERIC(20, 2)`` gives them."""


class MemoryApprovals:
    """Flows by kind and instances by id; 待我审批 and 我提交的 scan the instances."""

    def __init__(self, undo: list[Undo]) -> None:
        self._flows: UndoDict[str, ApprovalFlow] = UndoDict(undo)
        self._instances: UndoDict[str, ApprovalInstance] = UndoDict(undo)

    # -- flows -------------------------------------------------------------------------------
    def flow(self, kind: str) -> ApprovalFlow | None:
        return self._flows.rows.get(kind)

    def flows(self) -> builtins.list[ApprovalFlow]:
        return [self._flows.rows[k] for k in sorted(self._flows.rows)]

    def put_flow(self, flow: ApprovalFlow, *, expected_version: int | None) -> None:
        current = self._flows.rows.get(flow.kind)
        if expected_version is None:
            if current is not None:
                raise taken("approval_flow", "kind")
        elif current is None or current.version != expected_version:
            raise version_conflict("approval_flow", flow.kind)
        if any(f.id == flow.id and f.kind != flow.kind for f in self._flows.rows.values()):
            raise exists("approval_flow", flow.id)
        self._flows._set(flow.kind, flow)

    # -- instances ---------------------------------------------------------------------------
    def get(self, instance_id: str) -> ApprovalInstance | None:
        return self._instances.rows.get(instance_id)

    def for_record(self, record_kind: str, record_id: str) -> ApprovalInstance | None:
        return next((i for i in self._instances.rows.values()
                     if (i.record_kind, i.record_id) == (record_kind, record_id)), None)

    def for_records(self, record_kind: str, record_ids: Sequence[str]
                    ) -> builtins.list[ApprovalInstance]:
        wanted = set(record_ids)
        return sorted((i for i in self._instances.rows.values()
                       if i.record_kind == record_kind and i.record_id in wanted),
                      key=lambda i: i.id)

    def _check_record(self, instance: ApprovalInstance) -> None:
        holder = self.for_record(instance.record_kind, instance.record_id)
        if holder is not None and holder.id != instance.id:
            raise taken("approval", "record")

    def add(self, instance: ApprovalInstance) -> None:
        self._check_record(instance)
        if instance.id in self._instances.rows:
            raise exists("approval", instance.id)
        self._instances._set(instance.id, instance)

    def update(self, instance: ApprovalInstance, *, expected_version: int) -> None:
        self._check_record(instance)
        self._instances._replace(instance.id, instance, expected_version, "approval")

    def waiting_for(self, user_id: str, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        mine = [i for i in self._instances.rows.values() if user_id in _waiting(i)]
        return sorted(mine, key=_submission)[:limit]

    def submitted_by(self, user_id: str, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        mine = [i for i in self._instances.rows.values()
                if i.submitter_id == user_id and i.submitted_at is not None]
        return sorted(mine, key=_submission, reverse=True)[:limit]


def _waiting(instance: ApprovalInstance) -> tuple[str, ...]:
    """Who the instance waits for: the current step's approvers while a submitted instance
    runs, else nobody."""
    step = instance.current_step
    if not instance.status.running or step is None or instance.submitted_at is None:
        return ()
    return step.waiting_for


def _submission(instance: ApprovalInstance) -> tuple[datetime, str]:
    assert instance.submitted_at is not None
    return instance.submitted_at, instance.id


class MemorySequences(UndoDict[tuple[str, str], int]):
    def next(self, name: str, period: str) -> int:
        value = self.rows.get((name, period), 0) + 1
        self._set((name, period), value)
        return value


class MemoryPaymentPlans(UndoDict[str, PaymentPlan]):
    """Plans by id; received sums read the payment records, due reminders the contracts."""

    def __init__(self, undo: list[Undo], payments: MemoryRecords,
                 contracts: MemoryRecords) -> None:
        super().__init__(undo)
        self._payments = payments
        self._contracts = contracts

    def get(self, plan_id: str) -> PaymentPlan | None:
        return self.rows.get(plan_id)

    def for_contracts(self, contract_ids: Sequence[str]) -> builtins.list[PaymentPlan]:
        wanted = set(contract_ids)
        mine = [p for p in self.rows.values() if p.contract_id in wanted]
        return sorted(mine, key=lambda p: (p.contract_id, p.period, p.id))

    def add_many(self, plans: Sequence[PaymentPlan]) -> None:
        seen: set[str] = set()
        for plan in plans:
            if plan.id in self.rows or plan.id in seen:
                raise exists("payment_plan", plan.id)
            seen.add(plan.id)
        for plan in plans:
            self._set(plan.id, plan)

    def update(self, plan: PaymentPlan, *, expected_version: int) -> None:
        self._replace(plan.id, plan, expected_version, "payment_plan")

    def due(self, on: date, *, after: tuple[date, str] | None = None,
            limit: int = 1000) -> builtins.list[PaymentPlan]:
        """Plans still to be collected whose reminder day has come (see the port), after
        ``after`` by ``(planned_date, id)``."""
        found = [p for p in self.rows.values() if after is None or due_order(p) > after]
        received = self.received_by_plan([p.id for p in found])
        contracts = self._contracts.rows
        found = [p for p in found if plan_due(
            p, on, received.get(p.id, Decimal(0)),
            contracts[p.contract_id].approval_status if p.contract_id in contracts else None)]
        return sorted(found, key=due_order)[:limit]

    def _received(self, field: str, ids: Sequence[str]) -> dict[str, Decimal]:
        wanted = set(ids)
        sums: dict[str, Decimal] = {}
        for payment in self._payments.rows.values():
            key = getattr(payment, field)
            if key in wanted and payment.approval_status in EFFECTIVE:
                sums[key] = sums.get(key, Decimal(0)) + payment.amount
        return {k: v.quantize(CENTS) for k, v in sums.items()}

    def received_by_contract(self, contract_ids: Sequence[str]) -> dict[str, Decimal]:
        return self._received("contract_id", contract_ids)

    def received_by_plan(self, plan_ids: Sequence[str]) -> dict[str, Decimal]:
        return self._received("plan_id", plan_ids)
