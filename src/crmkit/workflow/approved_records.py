"""Record kinds under approval (contracts, payments): numbers, submit, lock, void.

- **Numbers** (编号): a record created without ``number`` gets the next one of its kind's
  :class:`~crmkit.entities.contracts.NumberRule` (setting ``number_rule.<kind>``, changed with
  the module's ``approve_config``): prefix + local date + sequence, the sequence drawn from the
  storage's atomic counter, so concurrent creations never share a number; a number someone
  typed by hand is skipped. Numbers are unique (``unique`` error otherwise).
- **Approval status** lives on the record (``approval_status``, ``approval_id``) and changes
  only through approval actions (:mod:`crmkit.workflow.approvals`).
- **Lock**: a record can be edited or deleted only while 未提交, 拒绝 or 撤回
  (``<kind>.locked``); deleting is for records never submitted (``<kind>.submitted`` — void
  them instead). Transfer, team and follow-ups work in every status.
- **Void** (作废): with the module's ``delete`` permission on a record the actor may edit,
  from any status but 作废; the kind may refuse (a contract with payments).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import attrs

from crmkit.entities import Operation, RecordScope
from crmkit.entities.approvals import ApprovalInstance, ApprovalStatus, ApproverNode
from crmkit.entities.contracts import EDITABLE, EFFECTIVE, NumberRule
from crmkit.entities.fields import ValueKind
from crmkit.entities.kinds import RecordKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
from crmkit.errors import RuleViolation, ValidationError
from crmkit.policies.contracts import format_number, number_period, rule_problems
from crmkit.policies.validation import field_error
from crmkit.serialization import structure, to_dict
from crmkit.workflow.approval_kinds import Approval, ApprovalKind
from crmkit.workflow.approvals import ApprovalService
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.record_access import Record
from crmkit.workflow.records import RecordService

A = TypeVar("A", bound=Record)
"""The entity of a kind under approval."""

NUMBER = FieldRef("number", ValueKind.TEXT, True)
STATUS = FieldRef("approval_status", ValueKind.TEXT, True)
MAX_NUMBER_TRIES = 100


class ApprovedRecordService(RecordService[A]):
    """The shared part of ``crm.contracts`` and ``crm.payments``."""

    default_rule = NumberRule()

    def __init__(self, *args: Any, approvals: ApprovalService, **kwargs: Any) -> None:
        """The kind joins ``approvals`` (its flows, submissions and reactions)."""
        super().__init__(*args, **kwargs)
        self._approvals = approvals
        kind = self.declaration
        approvals.register_kind(ApprovalKind(
            kind.kind, kind.label_zh, kind.label_en, kind.module,
            load=self._load_for_approval, values=self.approval_values, react=self._react,
            field_names=self._condition_fields))

    def _condition_fields(self, op: Op) -> frozenset[str]:
        """What :meth:`approval_values` offers: attributes and ``custom.<key>``."""
        custom = {f"custom.{d.key}" for d in self._fields.load(op, self.kind).custom}
        return self.declaration.attributes | custom

    # -- numbers --------------------------------------------------------------------------------
    def number_rule(self, actor: ActorRef) -> NumberRule:
        """The number rule (编号规则) new records of this kind are numbered by."""
        with self._rt.operation(actor, self.declaration.module, Operation.VIEW) as op:
            return self._rule(op)

    def set_number_rule(self, actor: ActorRef, data: NumberRule | Mapping[str, Any]
                        ) -> NumberRule:
        """编号规则 of this kind; new numbers follow it at once."""
        with self._rt.operation(actor, self.declaration.module, Operation.APPROVE_CONFIG) as op:
            rule = structure(data, NumberRule)
            problems = rule_problems(rule)
            if problems:
                raise ValidationError(problems)
            op.put_setting(self._rule_key, to_dict(rule))
            return rule

    @property
    def _rule_key(self) -> str:
        return f"number_rule.{self.kind}"

    def _rule(self, op: Op) -> NumberRule:
        stored = self._rt.setting(op, self._rule_key)
        return structure(stored, NumberRule) if stored else self.default_rule

    def _next_number(self, op: Op) -> str:
        """The next free number of the rule (skipping numbers typed by hand)."""
        rule = self._rule(op)
        day = op.now.astimezone(self._rt.tz).date()
        period = number_period(rule, day)
        repo = self._repo(op)
        for _ in range(MAX_NUMBER_TRIES):
            number = format_number(rule, day, op.uow.sequences.next(self.kind, period))
            repo.lock_values(NUMBER.key, [number])  # as the unique check would
            if not repo.find_equal(NUMBER, number, limit=1):
                op.unique_free.add((self.kind, NUMBER.key, number))
                return number
        raise RuleViolation("number_rule.exhausted", "无可用编号，请检查编号规则",
                            "no free number: check the number rule")

    def _numbered(self, op: Op, record: Any, old: Any | None) -> Any:
        """A new record without a number gets the next one; an edit cannot clear it."""
        if old is None and not record.number:
            return attrs.evolve(record, number=self._next_number(op))
        if old is not None and not record.number:
            raise ValidationError([field_error("$.number", "required")])
        return record

    # -- lock -----------------------------------------------------------------------------------
    def _before_edit(self, op: Op, old: Any) -> None:
        if old.approval_status not in EDITABLE:
            raise RuleViolation(
                f"{self.kind}.locked",
                f"{self.declaration.label_zh}当前审核状态不允许修改",
                f"a {self.declaration.label_en} that is {old.approval_status.value} cannot be "
                "changed",
                details={"approval_status": old.approval_status.value})

    def delete(self, actor: ActorRef, record_id: str) -> None:
        """Delete a record never submitted; a submitted one is voided instead."""
        with self._rt.operation(actor, self.declaration.module, Operation.DELETE) as op:
            old = self._access.visible(op, self.kind, record_id)
        if old.approval_id is not None:
            raise RuleViolation(f"{self.kind}.submitted",
                                f"已提交审批的{self.declaration.label_zh}只能作废，不能删除",
                                f"a submitted {self.declaration.label_en} is voided, not deleted")
        super().delete(actor, record_id)

    # -- approvals ------------------------------------------------------------------------------
    def create(self, actor: ActorRef, data: Mapping[str, Any], *, submit: bool = False,
               chosen: Mapping[str, Sequence[str]] | None = None, comment: str = "") -> Any:
        """Create (未提交); with ``submit`` also submit it for approval in the same
        transaction, ``chosen`` naming the approvers of 审批人自选 nodes."""
        with self._rt.operation(actor, self.declaration.module, Operation.CREATE) as op:
            record = self._create_in(op, data)
            if submit:
                record = self._approvals.submit_in(op, self.kind, record.id, record,
                                                  chosen=chosen, comment=comment).record
            return record

    def submit(self, actor: ActorRef, record_id: str, *,
               chosen: Mapping[str, Sequence[str]] | None = None, comment: str = ""
               ) -> Approval:
        """提交审批 / 重新提交 (see :meth:`ApprovalService.submit`)."""
        return self._approvals.submit(actor, self.kind, record_id, chosen=chosen,
                                     comment=comment)

    def route(self, actor: ActorRef, record_id: str) -> tuple[ApproverNode, ...]:
        """The approver nodes a submission would pass now (which need ``chosen``)."""
        return self._approvals.route(actor, self.kind, record_id)

    def approval(self, actor: ActorRef, record_id: str) -> ApprovalInstance | None:
        """The record's approval and its history (审批记录)."""
        return self._approvals.instance(actor, self.kind, record_id)

    def void(self, actor: ActorRef, record_id: str, comment: str = "") -> Any:
        """作废 (see the module rules); returns the voided record."""
        with self._rt.operation(actor, self.declaration.module, Operation.DELETE) as op:
            record = self._access.editable(op, self.kind, record_id)
            self._before_void(op, record)
            return self._approvals.void_in(op, self.kind, record.id, record, comment).record

    def _before_void(self, op: Op, record: Any) -> None:
        """Rules a record must pass to be voided."""

    def _load_for_approval(self, op: Op, record_id: str, for_edit: bool) -> Any:
        if for_edit:
            return self._access.editable(op, self.kind, record_id)
        return self._access.visible(op, self.kind, record_id)

    @staticmethod
    def approval_values(record: Any) -> dict[str, Any]:
        """What flow conditions read: the record's attributes (``amount`` …) and its custom
        values as ``custom.<key>``."""
        values = {f.name: getattr(record, f.name) for f in attrs.fields(type(record))
                  if f.name != "custom"}
        values.update({f"custom.{k}": v for k, v in record.custom.items()})
        return values

    def _react(self, op: Op, record: Any, instance: ApprovalInstance) -> Any:
        """Write the approval's status onto the record, then :meth:`_on_status`."""
        if (record.approval_status, record.approval_id) == (instance.status, instance.id):
            return record
        new = attrs.evolve(record, approval_status=instance.status, approval_id=instance.id,
                           version=record.version + 1, updated_at=op.now)
        self._repo(op).update(new, expected_version=record.version, previous=record)
        if (record.approval_status in EFFECTIVE) != (new.approval_status in EFFECTIVE):
            self._on_effective(op, new)
        return new

    def _on_effective(self, op: Op, record: Any) -> None:
        """The record came into force (通过 / 无需审批) or left it (作废)."""



def exists(op: Op, kind: RecordKind[Any], field: str, value: str, *, void: bool = False
           ) -> bool:
    """Whether a record of ``kind`` under approval has system ``field`` = ``value`` (any
    scope); with ``void=False`` voided records do not count. One query."""
    conditions = [Condition(FieldRef(field, ValueKind.TEXT, True), Operator.EQ, value)]
    if not void:
        conditions.append(Condition(STATUS, Operator.NE, ApprovalStatus.VOID.value))
    query = RecordQuery(RecordScope.everything(), tuple(conditions), limit=1)
    return bool(op.uow.records(kind).query(query))


def in_force(record: Any) -> bool:
    """Whether a contract or payment is effective (通过 / 无需审批)."""
    return record.approval_status in EFFECTIVE
