"""客户 Customers (``crm.customers``)."""

from __future__ import annotations

from crmkit.entities import Module
from crmkit.entities.sales import CUSTOMER, Customer
from crmkit.entities.sales_fields import CUSTOMER_FIELDS, CUSTOMER_WRITABLE
from crmkit.workflow.record_kinds import KindSpec
from crmkit.workflow.records import RecordService


def customer_spec() -> KindSpec:
    return KindSpec(CUSTOMER, Module.CUSTOMERS, Customer, "客户", "customer", CUSTOMER_FIELDS,
                    CUSTOMER_WRITABLE)


class CustomerService(RecordService):
    """Customers: unique name, lock/unlock, deal status, owned/locked limits, detail."""
