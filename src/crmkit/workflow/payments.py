"""回款 Payments (``crm.payments``).

- a payment goes on a contract the actor can see that is in force (通过 / 无需审批) —
  otherwise ``payment.contract_not_approved``; its customer is the contract's;
- ``plan_id``, when given, must be a plan of that contract that is not void
  (``payment_plan.void``);
- it is numbered, submitted, locked and voided like a contract
  (:mod:`crmkit.workflow.approved_records`) through the payment approval flow;
- only effective payments count: whenever one comes into force or is voided, its contract's
  received / unreceived amounts are recomputed from the stored payments (one sum).
"""

from __future__ import annotations

from typing import Any

import attrs

from crmkit.entities.contracts import CONTRACT, NumberRule, Payment
from crmkit.errors import FieldError, NotFound, RuleViolation, ValidationError
from crmkit.policies.validation import field_error
from crmkit.workflow.approved_records import ApprovedRecordService, in_force
from crmkit.workflow.contracts import ContractService
from crmkit.workflow.operations import Op


class PaymentService(ApprovedRecordService[Payment]):
    """Payments on effective contracts; approved ones count as received."""

    default_rule = NumberRule(prefix="HK")

    def __init__(self, *args: Any, contracts: ContractService, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._contracts = contracts

    def _before_write(self, op: Op, record: Payment, old: Payment | None) -> Payment:
        contract_changed = old is None or record.contract_id != old.contract_id
        if contract_changed:
            try:
                contract = self._access.visible(op, CONTRACT, record.contract_id)
            except NotFound:
                raise ValidationError([field_error("$.contract_id", "not_found")]) from None
            if not in_force(contract):
                raise RuleViolation(
                    "payment.contract_not_approved", "只能对审核通过的合同回款",
                    "payments go only on approved contracts",
                    details={"path": "$.contract_id",
                             "approval_status": contract.approval_status.value})
            self._contracts.touch(op, contract)  # serialises with a concurrent void
            record = attrs.evolve(record, customer_id=contract.customer_id)
        if record.plan_id is not None and (old is None or contract_changed
                                           or record.plan_id != old.plan_id):
            plan = op.uow.plans.get(record.plan_id)
            if plan is None or plan.contract_id != record.contract_id:
                raise ValidationError([field_error("$.plan_id", "not_found")])
            if plan.voided:
                raise ValidationError([FieldError("$.plan_id", "payment_plan.void",
                                                  "$.plan_id 回款计划已作废",
                                                  "$.plan_id is a void plan")])
        numbered: Payment = self._numbered(op, record, old)
        return numbered

    def _on_effective(self, op: Op, record: Any) -> None:
        self._contracts.recount(op, record.contract_id)
