"""联系人 Contacts (``crm.contacts``): each belongs to one customer the actor can see; a
customer has at most one 首要联系人 (setting one clears the others; choosers of one customer's
primary contact run one after the other, so the rule holds under concurrency)."""

from __future__ import annotations

from collections.abc import Sequence

import attrs

from crmkit.entities import Module, Operation
from crmkit.entities.sales import CONTACT, CUSTOMER, OPPORTUNITY, Contact, Customer, Opportunity
from crmkit.errors import NotFound, ValidationError
from crmkit.workflow.customers import children
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import RecordService


@attrs.frozen
class ContactDetail:
    """A contact with its customer and the customer's opportunities, as far as the viewer may
    see them: ``customer`` is None when they may not see it (a contact's owner need not see
    the customer), ``opportunities`` lists only the visible ones."""

    contact: Contact
    customer: Customer | None
    opportunities: tuple[Opportunity, ...]


class ContactService(RecordService[Contact]):
    """Contacts through the record engine, tied to a visible customer."""

    def _before_write(self, op: Op, record: Contact, old: Contact | None) -> Contact:
        """The customer must be visible — a customer this operation created is, by
        construction (a lead conversion creates both, no read needed), one it already found
        visible needs no second read."""
        if (CUSTOMER, record.customer_id) in op.created or (
                (CUSTOMER, record.customer_id) in op.seen):
            return record
        if old is None or record.customer_id != old.customer_id:
            try:
                self._access.visible(op, CUSTOMER, record.customer_id)
            except NotFound:
                raise ValidationError.at("$.customer_id", "not_found",
                                         "客户不存在或无权查看",
                                         "refers to no visible customer") from None
        return record

    def _after_write(self, op: Op, record: Contact, old: Contact | None) -> None:
        if not (old is not None and old.primary and old.customer_id == record.customer_id):
            self._after_create_many(op, [record])

    def _after_create_many(self, op: Op, records: Sequence[Contact]) -> None:
        """Only one primary contact per customer: the newest choice wins (one read of the
        customers' contacts for the whole batch)."""
        chosen = {r.customer_id: r.id for r in records if r.primary}
        if not chosen:
            return
        repo = op.uow.records(CONTACT)
        # one chooser per customer at a time: the later one reads the earlier one's choice
        repo.lock_values("primary_of", sorted(chosen))
        siblings = [c.id for c in repo.children_of("customer_id", list(chosen))
                    if chosen[c.parent_id] != c.id]
        for other in repo.get_many(siblings):
            if other.primary:
                self._save(op, None, other, None, "update", primary=False)

    def detail(self, actor: ActorRef, contact_id: str) -> ContactDetail:
        """The contact, its customer and the customer's opportunities."""
        with self._rt.operation(actor, Module.CONTACTS, Operation.VIEW) as op:
            contact = self._access.visible(op, CONTACT, contact_id)
            customer = self._access.visible_many(op, CUSTOMER, [contact.customer_id])
            return ContactDetail(contact, customer.get(contact.customer_id),
                                 children(self._access, op, OPPORTUNITY, contact.customer_id))
