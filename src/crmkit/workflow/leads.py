"""线索 Leads (``crm.leads``): the record engine plus 转化为客户、商机 conversion.

Converting one or several leads (all or none): each becomes a customer owned by the lead's
owner — system fields copied by :data:`SYSTEM_MAPPING`, custom fields by the configurable
mapping (lead key → customer key, same value kind), and the lead's 市场活动 (``campaign_id``,
as it is: the converter need not see the campaign) — plus a contact made from the lead's
person when it names one, plus, when asked, an opportunity of the new customer (商机: amount,
stage group, expected close date … validated as by ``crm.opportunities.create``, logged and
given its stage history alike, owned by the lead's owner, linked to the new contact); the lead
is marked converted with a link to its customer and moves from the default scenes to 已转化. A
converted lead cannot be converted again. Any refusal — a bad opportunity payload included —
leaves nothing written.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import attrs

from crmkit.entities import Module, Operation
from crmkit.entities.leads import LEAD, Lead
from crmkit.entities.sales import CUSTOMER, Contact, Customer, Opportunity
from crmkit.errors import FieldError, RuleViolation, ValidationError
from crmkit.policies.validation import field_error
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.oplog_diff import field_changes
from crmkit.workflow.records import RecordService

MAPPING_KEY = "leads.conversion_mapping"
SYSTEM_MAPPING = {
    "name": "name", "level": "level", "industry": "industry", "source": "source",
    "phone": "phone", "mobile": "mobile", "email": "email", "address": "address",
    "remark": "remark", "next_contact_at": "next_contact_at",
}
"""Lead system field → customer system field, always copied on conversion."""


@attrs.frozen
class Conversion:
    """What one lead became: a customer, a contact when the lead names a person, an
    opportunity when one was asked for."""

    lead_id: str
    customer_id: str
    contact_id: str | None
    opportunity_id: str | None = None


CONVERTED = ("converted", "converted_at", "customer_id")
"""What conversion changes on a lead."""
SET_BY_CONVERSION = ("customer_id", "owner_id", "contact_ids")
"""Opportunity fields conversion fills in itself (the new customer, the lead's owner, the new
contact): an opportunity payload naming one is refused (``read_only``)."""


class LeadService(RecordService[Lead]):
    """Leads through the record engine, plus conversion to customers."""

    def __init__(self, *args: Any, customers: RecordService[Customer],
                 contacts: RecordService[Contact], opportunities: RecordService[Opportunity],
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._customers = customers
        self._contacts = contacts
        self._opportunities = opportunities

    def set_conversion_mapping(self, actor: ActorRef, mapping: Mapping[str, str]
                               ) -> dict[str, str]:
        """Map lead custom fields to customer custom fields of the same value kind."""
        with self._rt.operation(actor, Module.FIELDS, Operation.EDIT) as op:
            lead_fields = self._fields.load(op, LEAD)
            customer_fields = self._fields.load(op, CUSTOMER)
            if not isinstance(mapping, Mapping):
                raise ValidationError.at("$", "type", "必须是对象", "must be an object")
            for source, target in mapping.items():
                lead_def, cust_def = lead_fields.get(source), customer_fields.get(str(target))
                if lead_def is None or lead_def.system:
                    raise ValidationError.at(f"$.{source}", "unknown_field",
                                             "不是线索自定义字段", "is no lead custom field")
                if cust_def is None or cust_def.system:
                    raise ValidationError.at(f"$.{source}", "not_found",
                                             "对应的客户自定义字段不存在",
                                             "maps to no customer custom field")
                if (lead_fields.kinds.get(source) is None
                        or lead_fields.kinds.get(source) is not customer_fields.kinds.get(
                            cust_def.key)):
                    raise ValidationError.at(f"$.{source}", "type",
                                             "字段类型不一致",
                                             "maps to a field of another kind")
            op.put_setting(MAPPING_KEY, dict(mapping))
            return dict(mapping)

    def conversion_mapping(self, actor: ActorRef) -> dict[str, str]:
        """The lead → customer field mapping that conversion applies (lead field key →
        customer field key)."""
        with self._rt.operation(actor, Module.LEADS, None) as op:
            return self._mapping(op)

    def _mapping(self, op: Op) -> dict[str, str]:
        stored = self._rt.setting(op, MAPPING_KEY)
        return dict(stored) if isinstance(stored, dict) else {}

    def convert(self, actor: ActorRef, lead_ids: Iterable[str], *,
                opportunities: Mapping[str, Mapping[str, Any]] | None = None
                ) -> builtins.list[Conversion]:
        """转化为客户、商机: leads become customers (+ contacts), all or none.

        ``opportunities`` maps a lead id to the opportunity its new customer gets (a payload as
        for ``crm.opportunities.create``: ``stage_group_id``, ``amount``,
        ``expected_close_date``, lines …; ``name`` defaults to the customer's name), which needs
        the opportunities ``create`` permission too. Its errors are reported at
        ``$.opportunities.<lead id>.<field>``; a lead id not converted here is ``not_found``."""
        ids = builtins.list(dict.fromkeys(lead_ids))
        wanted = dict(opportunities or {})
        with self._rt.operation(actor, Module.LEADS, Operation.CONVERT) as op:
            needed = [Module.CUSTOMERS] + ([Module.OPPORTUNITIES] if wanted else [])
            for module in needed:
                op.require(module, Operation.CREATE)
            stray = [f"$.opportunities.{lead_id}" for lead_id in wanted if lead_id not in ids]
            if stray:
                raise ValidationError([field_error(path, "not_found") for path in stray])
            leads = self._access.editable_many(op, LEAD, ids)
            done = [lead.id for lead in leads if lead.converted]
            if done:
                raise RuleViolation("lead.already_converted", "线索已转化，不能重复转化",
                                    "a lead was already converted", details={"lead_ids": done})
            mapping = self._mapping(op)
            customer_items = [(self._customer_payload(lead, mapping),
                               {"owner_id": lead.owner_id, "lead_id": lead.id,
                                "campaign_id": lead.campaign_id})
                              for lead in leads]
            customers = self._customers._create_many_in(op, customer_items)
            contact_items = [({"name": lead.contact_name, "mobile": lead.mobile,
                               "email": lead.email, "phone": lead.phone, "primary": True},
                              {"owner_id": lead.owner_id, "customer_id": customer.id})
                             for lead, customer in zip(leads, customers, strict=True)
                             if lead.contact_name]
            contacts = self._contacts._create_many_in(op, contact_items) if contact_items else []
            contact_of = {c.customer_id: c.id for c in contacts}
            opportunity_of = self._opportunities_for(op, leads, customers, contact_of, wanted)
            marked = [attrs.evolve(lead, converted=True, converted_at=op.now,
                                   customer_id=customer.id, version=lead.version + 1,
                                   updated_at=op.now)
                      for lead, customer in zip(leads, customers, strict=True)]
            self._repo(op).update_many(marked, [lead.version for lead in leads], leads)
            for lead, new in zip(leads, marked, strict=True):
                op.log(LEAD, lead.id, "convert", field_changes(lead, new, only=CONVERTED))
            return [Conversion(lead.id, customer.id, contact_of.get(customer.id),
                               opportunity_of.get(lead.id))
                    for lead, customer in zip(leads, customers, strict=True)]

    def _opportunities_for(self, op: Op, leads: Sequence[Lead], customers: Sequence[Customer],
                           contact_of: Mapping[str, str],
                           wanted: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
        """Create the asked-for opportunities of the new customers in one batch, exactly as
        ``crm.opportunities.create`` would (rules, log, stage history); lead id → its id."""
        items: builtins.list[tuple[Mapping[str, Any], Mapping[str, Any]]] = []
        paths: builtins.list[str] = []
        errors: builtins.list[FieldError] = []
        for lead, customer in zip(leads, customers, strict=True):
            payload = wanted.get(lead.id)
            if payload is None:
                continue
            path = f"$.opportunities.{lead.id}"
            errors += [field_error(f"{path}.{key}", "read_only")
                       for key in SET_BY_CONVERSION if key in payload]
            contact = contact_of.get(customer.id)
            items.append(({"name": customer.name, **payload},
                          {"customer_id": customer.id, "owner_id": lead.owner_id,
                           "contact_ids": (contact,) if contact else ()}))
            paths.append(path)
        if errors:
            raise ValidationError(errors)
        if not items:
            return {}
        made = self._opportunities._create_many_in(op, items, paths)
        lead_of = {customer.id: lead.id for lead, customer in zip(leads, customers, strict=True)}
        return {lead_of[o.customer_id]: o.id for o in made}

    @staticmethod
    def _customer_payload(lead: Lead, mapping: Mapping[str, str]) -> dict[str, Any]:
        payload: dict[str, Any] = {
            target: _plain(getattr(lead, source)) for source, target in SYSTEM_MAPPING.items()
            if getattr(lead, source) not in (None, "")
        }
        payload["custom"] = {target: lead.custom[source] for source, target in mapping.items()
                             if lead.custom.get(source) is not None}
        return payload


def _plain(value: Any) -> Any:
    """A system value as a payload value (datetimes travel as ISO text)."""
    return value.isoformat() if hasattr(value, "isoformat") else value
