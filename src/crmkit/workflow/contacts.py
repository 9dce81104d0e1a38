"""联系人 Contacts (``crm.contacts``)."""

from __future__ import annotations

from crmkit.entities import Module
from crmkit.entities.sales import CONTACT, Contact
from crmkit.entities.sales_fields import CONTACT_FIELDS, CONTACT_WRITABLE
from crmkit.workflow.record_kinds import KindSpec
from crmkit.workflow.records import RecordService


def contact_spec() -> KindSpec:
    return KindSpec(CONTACT, Module.CONTACTS, Contact, "联系人", "contact", CONTACT_FIELDS,
                    CONTACT_WRITABLE)


class ContactService(RecordService):
    """Contacts belong to one customer; one primary contact per customer."""
