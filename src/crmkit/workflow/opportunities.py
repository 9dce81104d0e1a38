"""商机 Opportunities and stage groups (``crm.opportunities``).

Stage groups (商机组) — configured with the ``opportunities`` module's ``approve_config``
permission (the module's settings right; the default 销售员/销售经理 roles do not hold it):
- a name, an ordered list of stages (≥ 1; names unique in the group; 赢单率 0–100 with at most
  two decimals) and the departments that may use it (none = everyone; a listed department
  includes its sub-departments); enabled or disabled (a disabled group takes no new
  opportunities, existing ones carry on).
- a stage some opportunity sits on cannot be removed (``opportunity.stage_in_use``).

Opportunities:
- the customer must be visible to the actor, the stage group enabled and visible; a new
  opportunity starts in progress at the group's first stage;
- ``lines`` (products: price, quantity, discount %) and ``contact_ids`` (contacts of the same
  customer) are validated here; a line's name, unit and default price come from its product;
  a product that is off shelf may stay on a line the opportunity already has, never go on a new
  one (``product.off_shelf``); with lines, ``amount`` = order total after the order discount;
- ``advance`` (forward or back), ``win``, ``lose`` (reason required), ``invalidate`` and
  ``reopen`` each write a stage-history entry (:class:`StageChange`) and an operation-log entry
  (action ``stage``); the history starts with the entry at creation.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import attrs

from crmkit.entities import Module, Operation
from crmkit.entities.sales import (
    CONTACT,
    Opportunity,
    OpportunityStatus,
    Stage,
    StageChange,
    StageGroup,
)
from crmkit.errors import FieldError, NotFound, RuleViolation, ValidationError
from crmkit.policies import sales as rules
from crmkit.policies.conflicts import version_conflict
from crmkit.policies.sales import StageMove
from crmkit.policies.validation import Problems, field_error
from crmkit.serialization import structure, structure_patch
from crmkit.workflow.customers import customer_errors
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.oplog_diff import field_changes
from crmkit.workflow.product_lines import HUNDRED, MAX_AMOUNT, decimal_problems, priced_lines
from crmkit.workflow.records import RecordService

STAGE_GROUP = "stage_group"
"""Record kind of stage-group entries in the operation log."""
NAME_MAX = 50
REASON_MAX = 500
MAX_STAGES = 50
MAX_CONTACTS = 100


# -- payloads ------------------------------------------------------------------------------------
@attrs.frozen
class StageInput:
    """One stage of a stage-group payload; ``id`` keeps an existing stage on update."""

    name: str
    win_rate: Decimal
    id: str | None = None


@attrs.frozen
class NewStageGroup:
    name: str
    stages: tuple[StageInput, ...]
    department_ids: frozenset[str] = frozenset()
    enabled: bool = True


@attrs.frozen
class StageGroupChanges:
    name: str
    stages: tuple[StageInput, ...]
    department_ids: frozenset[str]
    enabled: bool


class OpportunityService(RecordService[Opportunity]):
    """Opportunities: product lines, stage groups, stage history, weighted amounts."""

    # -- stage groups ---------------------------------------------------------------------------
    def add_stage_group(self, actor: ActorRef, data: NewStageGroup | Mapping[str, Any]
                        ) -> StageGroup:
        """商机组: a name, ordered stages with win rates, the departments that may use it."""
        payload = structure(data, NewStageGroup)
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.APPROVE_CONFIG) as op:
            stages = self._checked_group(op, payload.name, payload.stages, payload.department_ids,
                                         None)
            group = StageGroup(self._rt.ids.new_id(), payload.name.strip(), stages,
                               payload.department_ids, payload.enabled)
            op.uow.stage_groups.add(group)
            op.log(STAGE_GROUP, group.id, "create", field_changes(None, group))
            return group

    def update_stage_group(self, actor: ActorRef, group_id: str, changes: Mapping[str, Any], *,
                           expected_version: int | None = None) -> StageGroup:
        """Change name, stages, departments or enabled. A stage given with its ``id`` keeps its
        identity (opportunities on it stay); stages without one are new; a left-out stage is
        removed, which is refused while an opportunity sits on it."""
        patch = structure_patch(changes, StageGroupChanges)
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.APPROVE_CONFIG) as op:
            old = self._group(op, group_id)
            if expected_version is not None and expected_version != old.version:
                raise version_conflict()
            name = patch.get("name", old.name)
            inputs = patch.get("stages")
            departments = patch.get("department_ids", old.department_ids)
            if inputs is None:
                inputs = tuple(StageInput(s.name, s.win_rate, s.id) for s in old.stages)
            stages = self._checked_group(op, name, inputs, departments, old)
            removed = {s.id for s in old.stages} - {s.id for s in stages}
            ref = self._stage_ref(op)
            for stage_id in sorted(removed):
                if self._repo(op).find_equal(ref, stage_id, limit=1):
                    raise RuleViolation("opportunity.stage_in_use",
                                        "还有商机处于要删除的阶段",
                                        "an opportunity still sits on a removed stage",
                                        details={"stage_id": stage_id})
            new = attrs.evolve(old, name=name.strip(), stages=stages, department_ids=departments,
                               enabled=patch.get("enabled", old.enabled),
                               version=old.version + 1)
            op.uow.stage_groups.update(new, expected_version=old.version)
            op.log(STAGE_GROUP, new.id, "update", field_changes(old, new))
            return new

    def enable_stage_group(self, actor: ActorRef, group_id: str) -> StageGroup:
        """Enable a stage group (销售阶段组) again, so new opportunities may use it."""
        return self.update_stage_group(actor, group_id, {"enabled": True})

    def disable_stage_group(self, actor: ActorRef, group_id: str) -> StageGroup:
        """A disabled group takes no new opportunities; its opportunities carry on."""
        return self.update_stage_group(actor, group_id, {"enabled": False})

    def get_stage_group(self, actor: ActorRef, group_id: str) -> StageGroup:
        """A group the actor may see (see :meth:`list_stage_groups`); NotFound otherwise."""
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.VIEW) as op:
            group = op.uow.stage_groups.get(group_id) if isinstance(group_id, str) else None
            if group is None or not self._usable(op, group):
                raise self._group_missing(group_id)
            return group

    def list_stage_groups(self, actor: ActorRef, *, include_disabled: bool = False
                          ) -> builtins.list[StageGroup]:
        """The groups the actor may use: those with no departments, and those listing the
        actor's department or one above it. Holders of ``approve_config`` use every group."""
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.VIEW) as op:
            return [g for g in op.uow.stage_groups.list()
                    if (include_disabled or g.enabled) and self._usable(op, g)]

    def _usable(self, op: Op, group: StageGroup) -> bool:
        """Whether the actor may see ``group`` and put opportunities in it."""
        if not group.department_ids or op.grants(Module.OPPORTUNITIES,
                                                 Operation.APPROVE_CONFIG):
            return True
        index = self._rt.org_index(op)
        department = index.department_of.get(op.actor_id or "")
        return rules.stage_group_visible(group, department, index.parent)

    def _checked_group(self, op: Op, name: str, inputs: Sequence[StageInput],
                       department_ids: frozenset[str], old: StageGroup | None
                       ) -> tuple[Stage, ...]:
        problems = Problems()
        problems.text("$.name", name, required=True, max_length=NAME_MAX)
        errors = problems.errors
        if not inputs:
            errors.append(field_error("$.stages", "required"))
        elif len(inputs) > MAX_STAGES:
            errors.append(FieldError("$.stages", "too_long", f"$.stages 最多 {MAX_STAGES} 个阶段",
                                     f"$.stages has more than {MAX_STAGES} stages"))
        known = {s.id: s for s in old.stages} if old is not None else {}
        seen_names: set[str] = set()
        seen_ids: set[str] = set()
        stages: list[Stage] = []
        for i, item in enumerate(inputs):
            path = f"$.stages[{i}]"
            before = len(errors)
            stage_problems = Problems()
            stage_problems.text(f"{path}.name", item.name, required=True, max_length=NAME_MAX)
            errors.extend(stage_problems.errors)
            stage_name = item.name.strip()
            if stage_name and stage_name in seen_names:
                errors.append(field_error(f"{path}.name", "unique"))
            seen_names.add(stage_name)
            errors.extend(decimal_problems(f"{path}.win_rate", item.win_rate, places=2,
                                            low=Decimal(0), high=HUNDRED))
            if item.id is not None and (item.id not in known or item.id in seen_ids):
                errors.append(field_error(f"{path}.id", "not_found"))
            if len(errors) == before:
                stage_id = item.id if item.id is not None else self._rt.ids.new_id()
                seen_ids.add(stage_id)
                stages.append(Stage(stage_id, stage_name, rules.money(abs(item.win_rate))))
        for department_id in sorted(department_ids):
            if op.uow.departments.get(department_id) is None:
                errors.append(field_error("$.department_ids", "not_found", f" ({department_id})"))
        if errors:
            raise ValidationError(errors)
        return tuple(stages)

    def _group(self, op: Op, group_id: str) -> StageGroup:
        group = op.uow.stage_groups.get(group_id) if isinstance(group_id, str) else None
        if group is None:
            raise self._group_missing(group_id)
        return group

    @staticmethod
    def _group_missing(group_id: object) -> NotFound:
        return NotFound("stage_group.not_found", "商机组不存在",
                        f"stage group {group_id} not found")

    def _stage_ref(self, op: Op) -> Any:
        fields = self._fields.load(op, self.kind)
        definition = fields.get("stage_id")
        assert definition is not None
        return fields.ref(definition)

    # -- record hooks ---------------------------------------------------------------------------
    def _extras(self, op: Op, extras: Mapping[str, Any], old: Opportunity | None) -> dict[str, Any]:
        values: dict[str, Any] = {}
        errors: list[FieldError] = []
        if "lines" in extras:
            lines, problems = priced_lines(op, extras["lines"], old)
            values["lines"] = lines
            errors.extend(problems)
        if "contact_ids" in extras:
            raw = extras["contact_ids"]
            if not isinstance(raw, list | tuple) or not all(isinstance(c, str) for c in raw):
                errors.append(field_error("$.contact_ids", "type", " (list of ids)"))
            elif len(raw) > MAX_CONTACTS:
                errors.append(field_error("$.contact_ids", "too_long", f" (max {MAX_CONTACTS})"))
            else:
                values["contact_ids"] = tuple(dict.fromkeys(raw))
        if errors:
            raise ValidationError(errors)
        return values

    def _before_write(self, op: Op, record: Opportunity, old: Opportunity | None) -> Opportunity:
        errors = customer_errors(self._access, op, record, old)
        customer_changed = old is None or record.customer_id != old.customer_id
        group: StageGroup | None = None
        group_changed = old is None or record.stage_group_id != old.stage_group_id
        if group_changed:
            if old is not None and old.status is not OpportunityStatus.IN_PROGRESS:
                raise RuleViolation("opportunity.closed", "商机已结束",
                                    "the opportunity has already ended")
            group = op.uow.stage_groups.get(record.stage_group_id)
            if group is None or not self._usable(op, group):
                errors.append(field_error("$.stage_group_id", "not_found"))
                group = None
            elif not group.enabled:
                errors.append(FieldError("$.stage_group_id", "stage_group.disabled",
                                         "$.stage_group_id 商机组已停用",
                                         "$.stage_group_id is disabled"))
        if record.contact_ids and (old is None or customer_changed
                                   or record.contact_ids != old.contact_ids):
            contacts = self._access.visible_many(op, CONTACT, record.contact_ids)
            for i, contact_id in enumerate(record.contact_ids):
                contact = contacts.get(contact_id)
                if contact is None or contact.customer_id != record.customer_id:
                    errors.append(field_error(f"$.contact_ids[{i}]", "not_found"))
        if errors:
            raise ValidationError(errors)
        if group is not None:
            record = attrs.evolve(record, stage_id=group.stages[0].id,
                                  status=OpportunityStatus.IN_PROGRESS)
        if record.lines:
            amount = rules.order_total(record.lines, record.order_discount)
            if amount >= MAX_AMOUNT:
                raise ValidationError([field_error("$.lines", "range.max")])
            record = attrs.evolve(record, amount=amount)
        return record

    def _after_write(self, op: Op, record: Opportunity, old: Opportunity | None) -> None:
        if old is None or record.stage_group_id != old.stage_group_id:
            op.uow.stage_changes.add(StageChange(
                self._rt.ids.new_id(), record.id, old.stage_id if old is not None else None,
                record.stage_id, old.status if old is not None else OpportunityStatus.IN_PROGRESS,
                record.status, op.now, op.actor_id,
            ))

    # -- stages ---------------------------------------------------------------------------------
    def advance(self, actor: ActorRef, opportunity_id: str, stage_id: str, *,
                expected_version: int | None = None) -> Opportunity:
        """推进/回退: move to any stage of the opportunity's group while it is in progress."""
        return self._move(actor, opportunity_id, StageMove.ADVANCE, stage_id, None,
                          expected_version)

    def win(self, actor: ActorRef, opportunity_id: str, *,
            expected_version: int | None = None) -> Opportunity:
        """赢单: the opportunity ends won (win rate 100%)."""
        return self._move(actor, opportunity_id, StageMove.WIN, None, None, expected_version)

    def lose(self, actor: ActorRef, opportunity_id: str, reason: str, *,
             expected_version: int | None = None) -> Opportunity:
        """输单: the opportunity ends lost (0%); the reason (输单原因) is required."""
        problems = Problems()
        problems.text("$.reason", reason if isinstance(reason, str) else None, required=True,
                      max_length=REASON_MAX)
        problems.raise_if_any()
        return self._move(actor, opportunity_id, StageMove.LOSE, None, reason.strip(),
                          expected_version)

    def invalidate(self, actor: ActorRef, opportunity_id: str, reason: str | None = None, *,
                   expected_version: int | None = None) -> Opportunity:
        """无效: the opportunity ends invalid (0%); the optional reason goes to the history."""
        if reason is not None:
            problems = Problems()
            problems.text("$.reason", reason if isinstance(reason, str) else None,
                          required=False, max_length=REASON_MAX)
            problems.raise_if_any()
            reason = reason.strip() or None
        return self._move(actor, opportunity_id, StageMove.INVALIDATE, None, reason,
                          expected_version)

    def reopen(self, actor: ActorRef, opportunity_id: str, stage_id: str | None = None, *,
               expected_version: int | None = None) -> Opportunity:
        """Back in progress after an ending: at ``stage_id``, else where it ended."""
        return self._move(actor, opportunity_id, StageMove.REOPEN, stage_id, None,
                          expected_version)

    def _move(self, actor: ActorRef, opportunity_id: str, move: StageMove,
              target: str | None, reason: str | None, expected_version: int | None
              ) -> Opportunity:
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.EDIT) as op:
            old: Opportunity = self._access.editable(op, self.kind, opportunity_id)
            if expected_version is not None and expected_version != old.version:
                raise version_conflict()
            group = self._group(op, old.stage_group_id)
            if target is not None and target not in {s.id for s in group.stages}:
                raise ValidationError([field_error("$.stage_id", "not_found")])
            stage_id, status = rules.next_stage(group, old.stage_id, old.status, move, target)
            if (stage_id, status) == (old.stage_id, old.status):
                return old
            ended = status is not OpportunityStatus.IN_PROGRESS
            new = attrs.evolve(
                old, stage_id=stage_id, status=status, version=old.version + 1,
                updated_at=op.now, closed_at=op.now if ended else None,
                lost_reason=reason if status is OpportunityStatus.LOST else None,
            )
            self._repo(op).update(new, expected_version=old.version, previous=old)
            op.log(self.kind, new.id, "stage", field_changes(old, new), note=reason or "")
            op.uow.stage_changes.add(StageChange(
                self._rt.ids.new_id(), new.id, old.stage_id, new.stage_id, old.status,
                new.status, op.now, op.actor_id, reason,
            ))
            return new

    def stage_history(self, actor: ActorRef, opportunity_id: str
                      ) -> builtins.list[StageChange]:
        """阶段变更记录, oldest first (the first entry is the creation at the first stage)."""
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.VIEW) as op:
            self._access.visible(op, self.kind, opportunity_id)
            return op.uow.stage_changes.list(opportunity_id=opportunity_id)

    def win_rate(self, actor: ActorRef, opportunity_id: str) -> Decimal:
        """赢单率 (percent): the stage's rate in progress, 100 won, 0 lost or invalid."""
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.VIEW) as op:
            record = self._access.visible(op, self.kind, opportunity_id)
            return rules.opportunity_rate(record, self._group(op, record.stage_group_id))

    def weighted_amount(self, actor: ActorRef, opportunity_id: str) -> Decimal:
        """加权金额 = amount × win rate / 100, rounded half-up to 0.01."""
        with self._rt.operation(actor, Module.OPPORTUNITIES, Operation.VIEW) as op:
            record = self._access.visible(op, self.kind, opportunity_id)
            return rules.opportunity_weighted(record, self._group(op, record.stage_group_id))
