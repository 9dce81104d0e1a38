"""The record kinds that go through approvals (``crm.approvals.register_kind``): what each
kind brings (how its records load, which values flow conditions read, how it reacts to an
action), and :class:`Approval`, what every approval call returns."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from crmkit.entities import Module
from crmkit.entities.approvals import ApprovalInstance
from crmkit.errors import ValidationError
from crmkit.workflow.operations import Op

Loader = Callable[[Op, str, bool], Any]
"""``(op, record_id, for_edit)`` → the record; NotFound / PermissionDenied when the actor may
not see it (or, with ``for_edit``, edit it)."""
Reaction = Callable[[Op, Any, ApprovalInstance], Any]
"""``(op, record, instance)`` after an action: write the status back, react; returns the
record as it is now."""


@attrs.frozen
class ApprovalKind:
    """A record kind that goes through approvals.

    Built-in kinds load their records (``load``), read condition values off them (``values``)
    and write the status back (``react``). A host's kind has none of these: the host passes
    the condition values at submit and may pass ``react`` to hear about every change (called
    inside the transaction with ``record=None``).
    """

    kind: str
    label_zh: str
    label_en: str
    module: Module = Module.APPROVALS
    load: Loader | None = None
    values: Callable[[Any], Mapping[str, Any]] | None = None
    react: Reaction | None = None
    field_names: Callable[[Op], frozenset[str]] | None = None
    """The names flow conditions may read (None: any — a host kind's values are its own)."""


@attrs.frozen
class Approval:
    """An approval with its record (None for a host's kind) as they are after the call."""

    instance: ApprovalInstance
    record: Any


class ApprovalKinds:
    """The registry of approval kinds of one CRM object."""

    def __init__(self) -> None:
        self._kinds: dict[str, ApprovalKind] = {}

    def register_kind(self, kind: str | ApprovalKind, label_zh: str = "", label_en: str = "",
                      *, react: Reaction | None = None,
                      fields: Iterable[str] | None = None) -> ApprovalKind:
        """Open approvals to a host's own record kind, e.g. ``register_kind("expense",
        label_zh="报销", label_en="expense claim", fields=["total", "category"])``; crmkit's
        contract and payment kinds register themselves. Kinds are configuration of this CRM
        object: register them in every process, before defining flows or submitting.

        ``fields`` names the values the kind's flow conditions may read: with it, a flow
        reading another field is refused (``flow.unknown_field``) and so is a submission
        whose ``values`` carry an unknown key. ``react(op, None, approval)`` hears about every
        change, inside the transaction."""
        if fields is not None and (isinstance(fields, str) or not all(
                isinstance(f, str) and f for f in fields)):
            raise ValidationError.at("$.fields", "type", "须为字段名列表",
                                     "must be a list of field names")
        if isinstance(kind, ApprovalKind) and fields is not None:
            raise ValidationError.at("$.fields", "invalid",
                                     "请在 ApprovalKind 中给出字段",
                                     "give fields inside the ApprovalKind")
        declared = frozenset(fields) if fields is not None else None
        entry = kind if isinstance(kind, ApprovalKind) else ApprovalKind(
            kind, label_zh or kind, label_en or kind, react=react,
            field_names=(lambda op: declared) if declared is not None else None)
        if not entry.kind or entry.kind in self._kinds:
            raise ValidationError.at("$.kind", "approval.kind_taken",
                                     "业务类型为空或已注册", "the kind is empty or taken")
        self._kinds[entry.kind] = entry
        return entry

    def _kind(self, kind: str) -> ApprovalKind:
        entry = self._kinds.get(kind) if isinstance(kind, str) else None
        if entry is None:
            raise ValidationError.at("$.kind", "approval.unknown_kind",
                                     "该业务类型没有审批", "no approvals for this kind")
        return entry

    @property
    def kinds(self) -> builtins.list[str]:
        return sorted(self._kinds)
