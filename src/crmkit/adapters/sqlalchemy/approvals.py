"""Core repositories of approvals, number sequences and payment plans (DESIGN §5).

- Flows and instances are stored as JSON documents (:func:`crmkit.serialization.to_dict`,
  loaded back with :func:`~crmkit.serialization.structure`); the columns beside the document
  are what lookups filter and sort on. One flow per kind and one instance per record are
  unique indexes, checked first with a SELECT so the common clash leaves the transaction
  usable (PostgreSQL aborts a transaction on a constraint error).
- 待我审批 reads ``crm_approval_waiting``: the users a running instance's current step waits
  for, rewritten with every add/update of the instance — one indexed range per user.
- ``SequenceRepository.next`` is one ``INSERT … ON CONFLICT (name, period) DO UPDATE SET value =
  value + 1 RETURNING value``: concurrent transactions queue on the row and each gets its own
  value; a rollback undoes the increment (the value is given out again).
- Received sums are one ``SELECT … GROUP BY`` over the effective payments of any number of ids
  (exact: ``NUMERIC`` on PostgreSQL, integer cents on SQLite).
- Due reminders are one ``SELECT`` of the plans joined to their contracts, with a correlated sum
  of the plan's effective payments compared to its amount (the same exact arithmetic), keyset
  paged on ``(planned_date, id)``.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    bindparam,
    cast,
    delete,
    func,
    insert,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from crmkit.adapters.sqlalchemy.base import (
    Repository,
    bulk_insert,
    dialect_insert,
    raise_write_conflict,
    taken,
    version_conflict,
)
from crmkit.adapters.sqlalchemy.rows import PAYMENT_PLAN_ROWS
from crmkit.adapters.sqlalchemy.scope import in_key_set
from crmkit.adapters.sqlalchemy.tables import (
    approval_flows,
    approval_instances,
    approval_waiting,
    contracts,
    payment_plans,
    payments,
    sequences,
)
from crmkit.entities.approvals import ApprovalFlow, ApprovalInstance, ApprovalStatus
from crmkit.entities.contracts import EFFECTIVE, PaymentPlan
from crmkit.serialization import structure, to_dict

_FLOW, _INSTANCE = "approval_flow", "approval"


def _waiting_rows(instance: ApprovalInstance) -> list[dict[str, Any]]:
    """One ``crm_approval_waiting`` row per user the running instance's current step waits for."""
    step = instance.current_step
    if not instance.status.running or step is None or instance.submitted_at is None:
        return []
    return [{"instance_id": instance.id, "user_id": user_id,
             "submitted_at": instance.submitted_at}
            for user_id in dict.fromkeys(step.waiting_for)]


def _instance_row(instance: ApprovalInstance) -> dict[str, Any]:
    return {
        "id": instance.id,
        "record_kind": instance.record_kind,
        "record_id": instance.record_id,
        "submitter_id": instance.submitter_id,
        "status": instance.status.value,
        "submitted_at": instance.submitted_at,
        "version": instance.version,
        "document": to_dict(instance),
    }


class SqlApprovals(Repository):
    """:class:`~crmkit.ports.approvals.ApprovalRepository` over ``crm_approval_*`` (the
    shared plumbing works on the instances)."""

    kind = _INSTANCE
    table = approval_instances
    unique_fields = ("record",)

    # -- flows -------------------------------------------------------------------------------
    def _flows(self, statement: Select[Any]) -> builtins.list[ApprovalFlow]:
        return [structure(doc, ApprovalFlow) for doc in self._conn.execute(statement).scalars()]

    def flow(self, kind: str) -> ApprovalFlow | None:
        found = self._flows(select(approval_flows.c.document)
                            .where(approval_flows.c.kind == kind))
        return found[0] if found else None

    def flows(self) -> builtins.list[ApprovalFlow]:
        return self._flows(select(approval_flows.c.document).order_by(approval_flows.c.kind))

    def put_flow(self, flow: ApprovalFlow, *, expected_version: int | None) -> None:
        """Insert (the kind has no flow yet) or replace the kind's flow at
        ``expected_version``: ``approval_flow.kind_taken`` / ``version_conflict``."""
        row = {"id": flow.id, "kind": flow.kind, "document": to_dict(flow),
               "version": flow.version}
        try:
            if expected_version is None:
                held = self._conn.execute(
                    select(approval_flows.c.id).where(approval_flows.c.kind == flow.kind)
                ).first()
                if held is not None:
                    raise taken(_FLOW, "kind")
                self._conn.execute(insert(approval_flows), row)
                return
            result = self._conn.execute(
                update(approval_flows)
                .where(approval_flows.c.kind == flow.kind,
                       approval_flows.c.version == expected_version)
                .values(row)
            )
        except IntegrityError as err:
            raise_write_conflict(err, _FLOW, ("kind",))
        if result.rowcount == 0:
            raise version_conflict(_FLOW, flow.kind)

    # -- instances ---------------------------------------------------------------------------
    def _instances(self, statement: Select[Any]) -> builtins.list[ApprovalInstance]:
        documents = self._conn.execute(statement).scalars()
        return [structure(doc, ApprovalInstance) for doc in documents]

    def _first(self, condition: ColumnElement[bool]) -> ApprovalInstance | None:
        found = self._instances(select(approval_instances.c.document).where(condition))
        return found[0] if found else None

    def get(self, instance_id: str) -> ApprovalInstance | None:
        return self._first(approval_instances.c.id == instance_id)

    def for_record(self, record_kind: str, record_id: str) -> ApprovalInstance | None:
        return self._first((approval_instances.c.record_kind == record_kind)
                           & (approval_instances.c.record_id == record_id))

    def for_records(self, record_kind: str, record_ids: Sequence[str]
                    ) -> builtins.list[ApprovalInstance]:
        """One SELECT over the ``(record_kind, record_id)`` index."""
        if not record_ids:
            return []
        return self._instances(
            select(approval_instances.c.document)
            .where(approval_instances.c.record_kind == record_kind,
                   in_key_set(approval_instances.c.record_id, record_ids))
            .order_by(approval_instances.c.id))

    def _check_record(self, instance: ApprovalInstance) -> None:
        """Another instance of the same record → ``Conflict(approval.record_taken)``."""
        holder = self._conn.execute(
            select(approval_instances.c.id).where(
                approval_instances.c.record_kind == instance.record_kind,
                approval_instances.c.record_id == instance.record_id,
                approval_instances.c.id != instance.id,
            )
        ).first()
        if holder is not None:
            raise taken(_INSTANCE, "record")

    def _write_waiting(self, instance: ApprovalInstance) -> None:
        rows = _waiting_rows(instance)
        if rows:
            self._conn.execute(insert(approval_waiting), rows)

    def add(self, instance: ApprovalInstance) -> None:
        """Insert; an existing id → ``approval.exists``, a record that already has an
        instance → ``approval.record_taken``."""
        self._check_record(instance)
        self._insert(_instance_row(instance))
        self._write_waiting(instance)

    def update(self, instance: ApprovalInstance, *, expected_version: int) -> None:
        """``UPDATE … WHERE id AND version = :expected`` (no row → ``version_conflict``),
        then the instance's waiting rows are replaced. (An update moving the instance onto
        another record's key is caught by the unique index, not by a SELECT per update.)"""
        self._update_versioned(_instance_row(instance), expected_version)
        self._conn.execute(
            delete(approval_waiting).where(approval_waiting.c.instance_id == instance.id)
        )
        self._write_waiting(instance)

    def waiting_for(self, user_id: str, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        """One SELECT: the user's range of the waiting index, joined to the documents."""
        statement = (
            select(approval_instances.c.document)
            .join(approval_waiting, approval_waiting.c.instance_id == approval_instances.c.id)
            .where(approval_waiting.c.user_id == user_id)
            .order_by(approval_waiting.c.submitted_at, approval_waiting.c.instance_id)
            .limit(limit)
        )
        return self._instances(statement)

    def submitted_by(self, user_id: str, *, limit: int = 100) -> builtins.list[ApprovalInstance]:
        """Submitted instances (``submitted_at`` set), newest submission first, then by id
        descending."""
        statement = (
            select(approval_instances.c.document)
            .where(approval_instances.c.submitter_id == user_id,
                   approval_instances.c.submitted_at.is_not(None))
            .order_by(approval_instances.c.submitted_at.desc(), approval_instances.c.id.desc())
            .limit(limit)
        )
        return self._instances(statement)


class SqlSequences:
    """:class:`~crmkit.ports.approvals.SequenceRepository` over ``crm_sequences``."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def next(self, name: str, period: str) -> int:
        """One atomic upsert-and-increment returning the new value (the statement built once
        per dialect: every numbered creation sends it)."""
        statement = _NEXT.get(self._conn.dialect.name)
        if statement is None:
            statement = _NEXT[self._conn.dialect.name] = dialect_insert(
                self._conn, sequences).values(
                    name=bindparam("seq_name"), period=bindparam("seq_period"), value=1,
                ).on_conflict_do_update(
                    index_elements=[sequences.c.name, sequences.c.period],
                    set_={"value": sequences.c.value + 1},
                ).returning(sequences.c.value)
        return int(self._conn.execute(statement, {"seq_name": name, "seq_period": period})
                   .scalar_one())


_NEXT: dict[str, Any] = {}
"""The sequence upsert of :meth:`SqlSequences.next`, per dialect name."""


class SqlPaymentPlans(Repository):
    """:class:`~crmkit.ports.approvals.PaymentPlanRepository` over ``crm_payment_plans``;
    received sums read ``crm_payments``."""

    kind = "payment_plan"
    table = payment_plans

    def _all(self, statement: Select[Any]) -> builtins.list[PaymentPlan]:
        rows = self._conn.execute(statement).mappings()
        return [PAYMENT_PLAN_ROWS.from_row(row) for row in rows]

    def get(self, plan_id: str) -> PaymentPlan | None:
        return self._one(select(payment_plans).where(payment_plans.c.id == plan_id),
                         PAYMENT_PLAN_ROWS.from_row)

    def for_contracts(self, contract_ids: Sequence[str]) -> builtins.list[PaymentPlan]:
        if not contract_ids:
            return []
        plan = payment_plans.c
        return self._all(
            select(payment_plans)
            .where(in_key_set(plan.contract_id, contract_ids))
            .order_by(plan.contract_id, plan.period, plan.id)
        )

    def add_many(self, plans: Sequence[PaymentPlan]) -> None:
        """One executemany INSERT; an existing id → ``Conflict(payment_plan.exists)``."""
        if not plans:
            return
        try:
            bulk_insert(self._conn, payment_plans, [PAYMENT_PLAN_ROWS.to_row(p) for p in plans])
        except IntegrityError as err:
            raise_write_conflict(err, self.kind, ())

    def update(self, plan: PaymentPlan, *, expected_version: int) -> None:
        self._update_versioned(PAYMENT_PLAN_ROWS.to_row(plan), expected_version)

    def due(self, on: date, *, after: tuple[date, str] | None = None,
            limit: int = 1000) -> builtins.list[PaymentPlan]:
        """:func:`crmkit.policies.contracts.plan_due` in SQL (the storage contract's property
        test holds the two to each other). One SELECT: the plans of ``remind_on`` ≤ ``on`` (a
        range of its index), not voided, joined to their contract (not void), whose effective
        payments — a correlated sum over the ``(plan_id, approval_status)`` index of
        ``crm_payments`` — are less than the plan amount; by ``(planned_date, id)`` after
        ``after``."""
        plan = payment_plans.c
        received = (
            select(func.coalesce(func.sum(self._cents(payments.c.amount)), 0))
            .where(payments.c.plan_id == plan.id, _effective(payments.c.approval_status))
            .scalar_subquery()
        )
        statement = (
            select(payment_plans)
            .join(contracts, contracts.c.id == plan.contract_id)
            .where(plan.remind_on <= on, plan.voided.is_(False),
                   contracts.c.approval_status != ApprovalStatus.VOID.value,
                   received < self._cents(plan.amount))
            .order_by(plan.planned_date, plan.id)
            .limit(limit)
        )
        if after is not None:
            day, last = after
            statement = statement.where(or_(plan.planned_date > day,
                                            and_(plan.planned_date == day, plan.id > last)))
        return self._all(statement)

    def _cents(self, amount: Any) -> Any:
        """A money column to add and compare: itself (exact ``NUMERIC``), or on SQLite, which
        keeps ``NUMERIC`` as REAL, its exact integer cents."""
        if self._conn.dialect.name == "sqlite":
            return cast(func.round(amount * literal_column("100")), BigInteger)
        return amount

    def _received(self, key: Any, ids: Sequence[str]) -> dict[str, Decimal]:
        """``key → sum(amount)`` of the effective payments whose ``key`` is one of ``ids``:
        one statement whatever the number of ids."""
        if not ids:
            return {}
        sqlite = self._conn.dialect.name == "sqlite"
        statement = (
            select(key, func.sum(self._cents(payments.c.amount)))
            .where(in_key_set(key, ids), _effective(payments.c.approval_status))
            .group_by(key)
        )
        sums: dict[str, Decimal] = {}
        for found, total in self._conn.execute(statement):
            sums[found] = Decimal(total).scaleb(-2) if sqlite else total
        return sums

    def received_by_contract(self, contract_ids: Sequence[str]) -> dict[str, Decimal]:
        return self._received(payments.c.contract_id, contract_ids)

    def received_by_plan(self, plan_ids: Sequence[str]) -> dict[str, Decimal]:
        return self._received(payments.c.plan_id, plan_ids)


def _effective(status: ColumnElement[Any]) -> ColumnElement[bool]:
    """The approval status is one of :data:`~crmkit.entities.contracts.EFFECTIVE`."""
    return status.in_(sorted(s.value for s in EFFECTIVE))
