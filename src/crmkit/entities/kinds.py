"""The business record kinds crmkit stores, and the module each belongs to."""

from __future__ import annotations

from crmkit.entities.contracts import CONTRACT, PAYMENT, Contract, Payment
from crmkit.entities.leads import LEAD, Lead
from crmkit.entities.org import Module
from crmkit.entities.sales import (
    CONTACT,
    CUSTOMER,
    OPPORTUNITY,
    PRODUCT,
    Contact,
    Customer,
    Opportunity,
    Product,
)

RECORD_TYPES: dict[str, type] = {
    LEAD: Lead,
    CUSTOMER: Customer,
    CONTACT: Contact,
    PRODUCT: Product,
    OPPORTUNITY: Opportunity,
    CONTRACT: Contract,
    PAYMENT: Payment,
}
"""Record kind → entity class (every adapter stores each of these)."""

RECORD_MODULES: dict[str, Module] = {
    LEAD: Module.LEADS,
    CUSTOMER: Module.CUSTOMERS,
    CONTACT: Module.CONTACTS,
    PRODUCT: Module.PRODUCTS,
    OPPORTUNITY: Module.OPPORTUNITIES,
    CONTRACT: Module.CONTRACTS,
    PAYMENT: Module.PAYMENTS,
}
"""Record kind → the module whose permissions and data scope govern it."""
