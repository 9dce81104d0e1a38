"""产品 Products (``crm.products``)."""

from __future__ import annotations

from crmkit.entities import Module
from crmkit.entities.sales import PRODUCT, Product
from crmkit.entities.sales_fields import PRODUCT_FIELDS, PRODUCT_WRITABLE
from crmkit.workflow.record_kinds import KindSpec
from crmkit.workflow.records import RecordService


def product_spec() -> KindSpec:
    return KindSpec(PRODUCT, Module.PRODUCTS, Product, "产品", "product", PRODUCT_FIELDS,
                    PRODUCT_WRITABLE)


class ProductService(RecordService):
    """Products: unique code, category tree, price history, on/off shelf."""
