"""A payment and a plan race a void of their contract (SQLite file and PostgreSQL).

A payment checks that its contract is in force, and a void checks that the contract has no
payments. Neither check sees the other's uncommitted work, so both writers bump the contract's
version under its optimistic lock (:meth:`ContractService.touch`). Of a payment and a void of
the same contract started together, exactly one commits. A plugin holds the payment open
after its contract check, which makes the window certain rather than lucky.
"""

from __future__ import annotations

import threading
from typing import Any

from crmkit.entities.approvals import ApprovalStatus
from crmkit.errors import Conflict, RuleViolation
from crmkit.hookspecs import hookimpl

from . import test_approval_concurrency as concurrency
from .test_approval_concurrency import Shop, race

storage = concurrency.storage  # the same fixtures: a SQLite file / PostgreSQL schema, a shop
shop = concurrency.shop

ROUNDS = 3


class SlowPayments:
    """Pauses a payment's validation (after its contract check) until told to go on."""

    def __init__(self) -> None:
        self.checked = threading.Event()
        self.go_on = threading.Event()

    @hookimpl
    def crmkit_validate_record(self, kind: str, record: Any, previous: Any) -> list[Any]:
        if kind == "payment" and previous is None:
            self.checked.set()
            self.go_on.wait(timeout=1.0)
        return []


def test_a_payment_and_a_void_of_its_contract_never_both_commit(shop: Shop) -> None:
    crm = shop.crm
    slow = SlowPayments()
    crm.plugin_manager.register(slow)
    outcomes = []
    for i in range(ROUNDS):
        contract = crm.contracts.create(shop.rep, {
            "name": f"合同{i}", "customer_id": shop.customer_id, "amount": "1000"}, submit=True)
        slow.checked.clear()
        slow.go_on.clear()

        def pay(contract_id: str = contract.id) -> Any:
            return crm.payments.create(shop.rep, {"contract_id": contract_id,
                                                  "paid_on": "2026-11-02", "amount": "400"},
                                       submit=True)

        def void(contract_id: str = contract.id) -> Any:
            slow.checked.wait(timeout=5)  # the payment has passed its contract check
            try:
                return crm.contracts.void(shop.manager, contract_id)
            finally:
                slow.go_on.set()

        (pay_kind, paid), (void_kind, voided) = race(pay, void)
        assert [pay_kind, void_kind].count("ok") == 1, (paid, voided)
        loser = voided if pay_kind == "ok" else paid
        assert isinstance(loser, Conflict | RuleViolation), repr(loser)
        outcomes.append(("payment" if pay_kind == "ok" else "void", loser.code))
        stored = crm.contracts.get(shop.boss, contract.id)
        payments = crm.payments.list(shop.boss, {"conditions": [
            {"field": "contract_id", "op": "eq", "value": contract.id}]}).items
        if pay_kind == "ok":
            assert stored.approval_status is ApprovalStatus.NOT_REQUIRED
            assert stored.received_amount == 400 and len(payments) == 1
        else:
            assert stored.approval_status is ApprovalStatus.VOID
            assert stored.received_amount == 0 and payments == ()
    print(f"\n[{shop.backend}] payment vs void: {outcomes}")


def test_two_plan_batches_on_one_contract_never_overbook_it(shop: Shop) -> None:
    crm = shop.crm
    contract = crm.contracts.create(shop.rep, {
        "name": "合同", "customer_id": shop.customer_id, "amount": "1000"}, submit=True)
    results = race(*(lambda: crm.contracts.add_plans(shop.rep, contract.id, [
        {"amount": "800", "planned_date": "2026-12-01"}]) for _ in range(2)))
    assert [kind for kind, _ in results].count("ok") == 1, results
    plans = crm.contracts.plans(shop.rep, contract.id)
    assert [(v.plan.period, str(v.plan.amount)) for v in plans] == [(1, "800.00")]
