"""Storage ports of approvals (审批流), number sequences and payment plans.

Rules every adapter keeps (``crmkit.testing.ApprovalStorageContract`` checks them):
- one flow per record kind: ``put_flow`` inserts (``expected_version=None``; a second flow of
  the same kind is a ``Conflict`` ``approval_flow.kind_taken``) or replaces the kind's flow
  when its stored version is ``expected_version`` (else ``Conflict``).
- one instance per record: ``add`` of a second instance for the same ``(record_kind,
  record_id)`` is a ``Conflict``; ``update(instance, expected_version=v)`` writes only when the
  stored version is ``v`` (else ``Conflict`` ``version_conflict``) — two approvers acting at
  the same moment: one wins, the other gets the conflict.
- ``waiting_for(user_id)`` lists the running instances (待审核/审核中) whose current step waits
  for that user (``ApprovalInstance.current_step.waiting_for``), oldest submission first.
- ``SequenceRepository.next(name, period)`` returns 1, 2, 3 … per ``(name, period)``, each value
  once even under concurrent transactions (an atomic upsert-and-increment); a rolled-back
  transaction gives its value back.
- ``due(on, after=, limit=)`` (回款提醒) lists the plans still to be collected
  (:func:`crmkit.policies.contracts.plan_due`: reminder day (``remind_on``) on or before ``on``,
  neither done — the effective payments against the plan reach its amount — nor void, the
  plan's or its contract's, a contract not stored counting as void) — by
  ``(planned_date, id)``, keyset-paged: ``after`` is the ``(planned_date, id)`` of the last plan
  of the previous page, so the pages give every such plan exactly once. One statement per call.
- ``received_by_contract`` / ``received_by_plan`` sum the amounts of *effective* payments
  (approval status 通过 or 无需审批) — one statement per chunk of ids; ids without payments
  are absent from the result.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Protocol

from crmkit.entities.approvals import ApprovalFlow, ApprovalInstance
from crmkit.entities.contracts import PaymentPlan


class ApprovalRepository(Protocol):
    def flow(self, kind: str) -> ApprovalFlow | None:
        """The flow of records of ``kind`` (None when none is defined)."""
        ...

    def flows(self) -> builtins.list[ApprovalFlow]:
        """Every flow, by kind."""
        ...

    def put_flow(self, flow: ApprovalFlow, *, expected_version: int | None) -> None: ...

    def get(self, instance_id: str) -> ApprovalInstance | None: ...

    def for_record(self, record_kind: str, record_id: str) -> ApprovalInstance | None: ...

    def for_records(self, record_kind: str, record_ids: Sequence[str]
                    ) -> builtins.list[ApprovalInstance]:
        """The instances of these records of ``record_kind`` (a record without one is absent),
        by id — one statement per chunk of ids."""
        ...

    def add(self, instance: ApprovalInstance) -> None: ...

    def update(self, instance: ApprovalInstance, *, expected_version: int) -> None: ...

    def waiting_for(self, user_id: str, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        """待我审批: running instances whose current step waits for ``user_id``."""
        ...

    def submitted_by(self, user_id: str, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        """我提交的: instances submitted by ``user_id``, newest submission first."""
        ...


class SequenceRepository(Protocol):
    def next(self, name: str, period: str) -> int:
        """The next value of sequence ``name`` in ``period`` (starting at 1)."""
        ...


class PaymentPlanRepository(Protocol):
    def get(self, plan_id: str) -> PaymentPlan | None: ...

    def for_contracts(self, contract_ids: Sequence[str]) -> builtins.list[PaymentPlan]:
        """The plans of these contracts, by contract id, then period: one statement for any
        number of contracts."""
        ...

    def add_many(self, plans: Sequence[PaymentPlan]) -> None: ...

    def update(self, plan: PaymentPlan, *, expected_version: int) -> None: ...

    def due(self, on: date, *, after: tuple[date, str] | None = None,
            limit: int = 1000) -> builtins.list[PaymentPlan]:
        """At most ``limit`` plans due on ``on`` by
        :func:`crmkit.policies.contracts.plan_due`, in
        :func:`~crmkit.policies.contracts.due_order`, after ``after`` (the ``(planned_date,
        id)`` of the last plan of the previous page) when given."""
        ...

    def received_by_contract(self, contract_ids: Sequence[str]) -> dict[str, Decimal]: ...

    def received_by_plan(self, plan_ids: Sequence[str]) -> dict[str, Decimal]: ...
