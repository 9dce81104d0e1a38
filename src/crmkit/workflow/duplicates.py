"""查重 Duplicate lookup across record kinds (``crm.duplicates``): a name or phone number is
searched in every declared kind that has such a field — leads, customers (pool included),
contacts — regardless of owner, so a salesperson learns that a prospect is already taken.
Only the kind, name and owner are revealed; ``visible`` says whether the actor may open it."""

from __future__ import annotations

import attrs

from crmkit.errors import ValidationError
from crmkit.policies.validation import normalize_mobile
from crmkit.workflow.fields import FieldService
from crmkit.workflow.operations import ActorRef, Runtime
from crmkit.workflow.record_access import RecordAccess

NAME_FIELDS = ("name",)
PHONE_FIELDS = ("mobile", "phone")
SEARCHED = frozenset(NAME_FIELDS + PHONE_FIELDS)


@attrs.frozen
class DuplicateHit:
    kind: str
    record_id: str
    name: str
    owner_id: str | None
    field: str
    visible: bool


class DuplicateService:
    def __init__(self, runtime: Runtime, fields: FieldService, access: RecordAccess) -> None:
        self._rt = runtime
        self._fields = fields
        self._access = access
        self._kinds = [declaration for declaration in runtime.kinds.values()
                       if {f.key for f in declaration.system_fields} & SEARCHED]
        """The kinds with a name, mobile or phone field, in declaration order."""

    def lookup(self, actor: ActorRef, *, name: str | None = None, phone: str | None = None,
               limit: int = 20) -> list[DuplicateHit]:
        """Records whose name equals ``name`` or whose mobile/phone equals ``phone``."""
        probes: list[tuple[tuple[str, ...], str]] = []
        if isinstance(name, str) and name.strip():
            probes.append((NAME_FIELDS, name.strip()))
        if isinstance(phone, str) and phone.strip():
            probes.append((PHONE_FIELDS, normalize_mobile(phone) or phone.strip()))
        if not probes:
            raise ValidationError.at("$", "required", "请输入名称或电话",
                                     "needs a name or a phone number")
        hits: dict[tuple[str, str], DuplicateHit] = {}
        with self._rt.operation(actor, self._kinds[0].module, None) as op:
            for spec in self._kinds:
                kind = spec.kind
                fields = self._fields.load(op, kind)
                scope = self._rt.scope(op, spec.module)
                for keys, value in probes:
                    for key in keys:
                        definition = fields.get(key)
                        if definition is None or not definition.system:
                            continue
                        for record in op.uow.records(kind).find_equal(
                                fields.ref(definition), value, limit=limit):
                            hits.setdefault((kind, record.id), DuplicateHit(
                                kind, record.id, spec.title(record), record.owner_id, key,
                                self._access.admits(op, spec, scope, record)))
        return list(hits.values())[:limit]
