"""字段 Field definitions per record kind (``crm.fields``): system fields are built in (their
label, help text, order and hidden flag can be adjusted); custom fields are defined, edited,
reordered, hidden and retired by admins. Retiring keeps every stored value.

A custom field whose type no installed plugin provides is *unavailable*, never fatal: it is
reported by key and type name (:meth:`FieldService.unavailable`), reads return its stored value
untouched, writes, filters and sorts naming it are refused (``field.unavailable``), everything
else works, and an admin can still list, reorder, hide and retire it.
"""

from __future__ import annotations

import builtins
import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation
from crmkit.entities.fields import FieldDefinition, FieldType, UnavailableField, ValueKind
from crmkit.entities.kinds import RecordKind
from crmkit.entities.query import FieldRef
from crmkit.errors import FieldError, NotFound, RuleViolation, ValidationError
from crmkit.serialization import structure, structure_patch
from crmkit.workflow.fieldtypes import FieldTypeRegistry
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.oplog_diff import field_changes

log = logging.getLogger("crmkit.fields")

KEY = re.compile(r"[a-z][a-z0-9_]{0,39}")
SYSTEM_ADJUSTABLE = frozenset({"label_zh", "label_en", "help_text", "order", "hidden"})


@attrs.frozen
class NewField:
    key: str
    label_zh: str
    label_en: str
    type: str
    required: bool = False
    unique: bool = False
    default: Any = None
    options: tuple[str, ...] = ()
    max_length: int | None = None
    precision: int | None = None
    min_value: str | None = None
    max_value: str | None = None
    help_text: str = ""
    order: int | None = None
    hidden: bool = False
    reference_kind: str | None = None


@attrs.frozen
class FieldChanges:
    label_zh: str
    label_en: str
    required: bool
    unique: bool
    default: Any
    options: tuple[str, ...]
    max_length: int | None
    precision: int | None
    min_value: str | None
    max_value: str | None
    help_text: str
    order: int
    hidden: bool


@attrs.frozen
class FieldSet:
    """Every field of one kind (system and custom, retired included), in display order.

    ``types`` holds the field type of every *available* field (``kinds`` its value kind); a
    field missing from it is unavailable (see the module docstring)."""

    kind: str
    definitions: tuple[FieldDefinition, ...]
    types: Mapping[str, FieldType]
    kinds: Mapping[str, ValueKind] = attrs.field(init=False)
    by_key: Mapping[str, FieldDefinition] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "kinds", {k: t.value_kind for k, t in self.types.items()})
        by_key: dict[str, FieldDefinition] = {}
        for definition in self.definitions:
            by_key.setdefault(definition.key, definition)  # the first of a key, as before
        object.__setattr__(self, "by_key", by_key)

    def get(self, key: str) -> FieldDefinition | None:
        return self.by_key.get(key)

    def available(self, definition: FieldDefinition) -> bool:
        return definition.key in self.kinds

    @property
    def unavailable(self) -> list[UnavailableField]:
        return [UnavailableField(d.kind, d.key, d.type, d.label_zh, d.label_en, d.retired)
                for d in self.definitions if not self.available(d)]

    @property
    def active(self) -> list[FieldDefinition]:
        return [d for d in self.definitions if not d.retired]

    @property
    def custom(self) -> list[FieldDefinition]:
        return [d for d in self.definitions if not d.system]

    def ref(self, definition: FieldDefinition) -> FieldRef:
        return FieldRef(definition.key, self.kinds[definition.key], definition.system)


def unavailable_error(path: str, definition: FieldDefinition) -> FieldError:
    """The refusal of a write, filter or sort that names an unavailable field."""
    return FieldError(
        path, "field.unavailable",
        f"{path}（{definition.label_zh}）的字段类型 {definition.type} 未安装，暂不能使用",
        f"{path} ({definition.label_en}) has the field type {definition.type!r}, which no "
        "installed plugin provides; it cannot be used until the plugin is back",
    )


def load_fields(uow: Any, declaration: RecordKind[Any], types: FieldTypeRegistry) -> FieldSet:
    """Merge the built-in system fields (with stored adjustments) and the custom fields."""
    stored = {d.key: d for d in uow.fields.list(declaration.kind)}
    merged: list[FieldDefinition] = []
    for system in declaration.system_fields:
        override = stored.pop(system.key, None)
        if override is not None:
            system = attrs.evolve(system, **{a: getattr(override, a) for a in SYSTEM_ADJUSTABLE},
                                  version=override.version)
        merged.append(system)
    merged.extend(stored.values())
    merged.sort(key=lambda d: (d.order, d.key))
    found = {d.key: types.find(d.type) for d in merged}
    missing = [f"{declaration.kind}.{d.key} ({d.type})" for d in merged if found[d.key] is None]
    if missing:
        log.warning("fields without an installed field type (plugin missing?): %s",
                    ", ".join(missing))
    return FieldSet(declaration.kind, tuple(merged),
                    {key: t for key, t in found.items() if t is not None})


class FieldService:
    """Define and adjust the fields of each record kind (needs the ``fields`` module's rights)."""

    def __init__(self, runtime: Runtime, types: FieldTypeRegistry) -> None:
        self._rt = runtime
        self._types = types

    def load(self, op: Op, kind: str) -> FieldSet:
        declaration = self._rt.declaration(kind)
        return self._rt.kept(op, ("fields", kind),
                             lambda: load_fields(op.uow, declaration, self._types))

    def list(self, actor: ActorRef, kind: str, *, include_retired: bool = False
             ) -> list[FieldDefinition]:
        """All fields of ``kind`` in display order (retired ones only when asked)."""
        with self._rt.operation(actor, Module.FIELDS, None) as op:
            fields = self.load(op, kind)
        return list(fields.definitions if include_retired else fields.active)

    def unavailable(self, actor: ActorRef, kind: str | None = None
                    ) -> builtins.list[UnavailableField]:
        """Custom fields whose type no installed plugin provides, of ``kind`` or of every kind
        (retired ones included: they still hold values)."""
        kinds = [kind] if kind is not None else builtins.list(self._rt.kinds)
        with self._rt.operation(actor, Module.FIELDS, None) as op:
            return [u for k in kinds for u in self.load(op, k).unavailable]

    def define(
        self, actor: ActorRef, kind: str, data: NewField | Mapping[str, Any]
    ) -> FieldDefinition:
        """Add a custom field. Keys are ``[a-z][a-z0-9_]*`` and unique per kind."""
        payload = structure(data, NewField)
        with self._rt.operation(actor, Module.FIELDS, Operation.CREATE) as op:
            fields = self.load(op, kind)
            if not KEY.fullmatch(payload.key):
                raise ValidationError.at("$.key", "format.key",
                                         "只能包含小写字母、数字和下划线，且以字母开头",
                                         "must be lower-case letters, digits and _")
            if fields.get(payload.key) is not None:
                raise ValidationError.at("$.key", "unique", "已被占用", "is already taken")
            order = payload.order
            if order is None:
                order = max((d.order for d in fields.definitions), default=0) + 10
            definition = FieldDefinition(
                kind, payload.key, payload.label_zh, payload.label_en, payload.type,
                required=payload.required, unique=payload.unique, default=None,
                options=payload.options, max_length=payload.max_length,
                precision=payload.precision, min_value=payload.min_value,
                max_value=payload.max_value, help_text=payload.help_text, order=order,
                hidden=payload.hidden, reference_kind=payload.reference_kind,
            )
            definition = self._checked(definition, payload.default)
            op.uow.fields.add(definition)
            self._rt.org_changed(op)
            op.log("field", f"{kind}.{payload.key}", "create", _changes(None, definition))
            return definition

    def update(self, actor: ActorRef, kind: str, key: str, changes: Mapping[str, Any]
               ) -> FieldDefinition:
        """Edit a field. Type and key never change; system fields only take label, help text,
        order and hidden."""
        patch = structure_patch(changes, FieldChanges)
        with self._rt.operation(actor, Module.FIELDS, Operation.EDIT) as op:
            fields = self.load(op, kind)
            old = self._field(op, kind, key, fields)
            if not fields.available(old) and set(patch) - SYSTEM_ADJUSTABLE:
                bad = sorted(set(patch) - SYSTEM_ADJUSTABLE)
                raise ValidationError([unavailable_error(f"$.{bad[0]}", old)])
            if old.system and set(patch) - SYSTEM_ADJUSTABLE:
                bad = sorted(set(patch) - SYSTEM_ADJUSTABLE)
                raise ValidationError.at(
                    f"$.{bad[0]}", "field.system_locked",
                    "系统字段不可修改此项", "cannot be changed on a system field",
                )
            default = patch.pop("default", old.default)
            new = attrs.evolve(old, version=old.version + 1, **patch)
            if fields.available(old):
                new = self._checked(new, default)
            self._save(op, old, new)
            return new

    def reorder(
        self, actor: ActorRef, kind: str, keys: Iterable[str]
    ) -> builtins.list[FieldDefinition]:
        """Put the named fields first, in this order (others keep their relative order after)."""
        wanted = list(keys)
        with self._rt.operation(actor, Module.FIELDS, Operation.EDIT) as op:
            fields = self.load(op, kind)
            unknown = [k for k in wanted if fields.get(k) is None]
            if unknown or len(set(wanted)) != len(wanted):
                raise ValidationError.at(
                    "$.keys", "invalid", "包含未知或重复的字段", "lists unknown or repeated fields"
                )
            rest = [d.key for d in fields.definitions if d.key not in wanted]
            for position, field_key in enumerate(wanted + rest):
                old = fields.get(field_key)
                assert old is not None
                if old.order != (position + 1) * 10:
                    self._save(op, old, attrs.evolve(old, order=(position + 1) * 10,
                                                     version=old.version + 1))
            return self.load(op, kind).active

    def retire(self, actor: ActorRef, kind: str, key: str) -> FieldDefinition:
        """停用 a custom field: stored values stay; it takes no more writes."""
        return self._set_retired(actor, kind, key, True)

    def restore(self, actor: ActorRef, kind: str, key: str) -> FieldDefinition:
        """Bring a retired custom field back into forms, lists and filters."""
        return self._set_retired(actor, kind, key, False)

    def _set_retired(self, actor: ActorRef, kind: str, key: str, retired: bool) -> FieldDefinition:
        with self._rt.operation(actor, Module.FIELDS, Operation.EDIT) as op:
            old = self._field(op, kind, key)
            if old.system:
                raise RuleViolation("field.system_locked", "系统字段不能停用",
                                    "system fields cannot be retired")
            new = attrs.evolve(old, retired=retired, version=old.version + 1)
            self._save(op, old, new)
            return new

    def _field(self, op: Op, kind: str, key: str, fields: FieldSet | None = None
               ) -> FieldDefinition:
        found = (fields or self.load(op, kind)).get(key)
        if found is None:
            raise NotFound("field.not_found", f"字段 {key} 不存在", f"field {key} not found")
        return found

    def _checked(self, definition: FieldDefinition, default: Any) -> FieldDefinition:
        self._types.check_definition(attrs.evolve(definition, default=None))
        stored = None
        if default is not None:
            probe = attrs.evolve(definition, required=False)
            stored = self._types.validate_value(probe, default, "$.default")
        return attrs.evolve(definition, default=stored)

    def _save(self, op: Op, old: FieldDefinition, new: FieldDefinition) -> None:
        if old.system and not _stored(op, old):
            op.uow.fields.add(new)  # the first adjustment of a built-in field
        else:
            op.uow.fields.update(new, expected_version=old.version)
        self._rt.org_changed(op)
        op.log("field", f"{old.kind}.{old.key}", "update", _changes(old, new))


def _stored(op: Op, definition: FieldDefinition) -> bool:
    return any(d.key == definition.key for d in op.uow.fields.list(definition.kind))


def _changes(old: FieldDefinition | None, new: FieldDefinition) -> tuple[FieldChange, ...]:
    return field_changes(old, new) if old is not None else field_changes(None, new)
