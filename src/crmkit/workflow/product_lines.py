"""Product lines (产品明细) of opportunities and contracts: payload parsing and pricing.

A line names an on-shelf product (a product already on the record may stay after it went off
shelf), a quantity and a discount; its name, unit and default price come from the product and
its subtotal is price × quantity × (1 − discount %) (:func:`crmkit.policies.sales.priced_line`).
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import attrs

from crmkit.entities.sales import ProductLine
from crmkit.errors import FieldError, ValidationError
from crmkit.policies import sales as rules
from crmkit.policies.validation import field_error
from crmkit.serialization import structure
from crmkit.workflow.operations import Op

MAX_LINES = 500
MAX_PRICE = Decimal(10) ** 12
MAX_QUANTITY = Decimal(10) ** 9
MAX_AMOUNT = Decimal(10) ** 18
HUNDRED = Decimal(100)


@attrs.frozen
class LineInput:
    """One product line of a payload (the price defaults to the product's price)."""

    product_id: str
    quantity: Decimal
    discount: Decimal = Decimal(0)
    price: Decimal | None = None


def repath(errors: Sequence[FieldError], prefix: str) -> list[FieldError]:
    """Errors reported at ``$…`` by :func:`structure`, moved under ``prefix``."""
    moved = []
    for e in errors:
        path = prefix + e.path[1:]
        moved.append(FieldError(path, e.code, e.message_zh.replace(e.path, path, 1),
                                e.message_en.replace(e.path, path, 1)))
    return moved


def decimal_problems(path: str, value: Decimal, *, places: int, low: Decimal, high: Decimal,
                      low_inclusive: bool = True) -> list[FieldError]:
    """Range (``range.min`` / ``range.max``) and decimal places (``decimal.precision``)."""
    if value < low or (value == low and not low_inclusive):
        relation_en = "at least" if low_inclusive else "more than"
        relation_zh = "不能小于" if low_inclusive else "必须大于"
        return [FieldError(path, "range.min", f"{path} {relation_zh} {low}",
                           f"{path} must be {relation_en} {low}")]
    if value > high:
        return [FieldError(path, "range.max", f"{path} 不能大于 {high}",
                           f"{path} must be at most {high}")]
    if value.quantize(Decimal(1).scaleb(-places)) != value:
        return [FieldError(path, "decimal.precision", f"{path} 小数位数不能超过 {places} 位",
                           f"{path} has more than {places} decimal places")]
    return []


def priced_lines(op: Op, raw: Any, old: Any | None
                 ) -> tuple[tuple[ProductLine, ...], list[FieldError]]:
    """Validate a ``lines`` payload against the catalogue: products exist, each once, on
    shelf unless ``old`` (the record being edited) already has it; quantity > 0 (≤ 4 places),
    discount 0–100 % (≤ 2 places), price ≥ 0 (≤ 2 places, default the product's). Returns the
    priced lines and the problems (paths ``$.lines[i]…``)."""
    if not isinstance(raw, list | tuple):
        return (), [field_error("$.lines", "type", " (list)")]
    if len(raw) > MAX_LINES:
        return (), [field_error("$.lines", "too_long", f" (max {MAX_LINES})")]
    errors: list[FieldError] = []
    parsed: list[tuple[int, LineInput]] = []
    for i, item in enumerate(raw):
        try:
            parsed.append((i, structure(item, LineInput)))
        except ValidationError as bad:
            errors.extend(repath(bad.errors, f"$.lines[{i}]"))
    wanted = [line.product_id for _, line in parsed]
    products = {p.id: p for p in op.uow.records("product").get_many(wanted)}
    existing = {line.product_id for line in old.lines} if old is not None else set()
    seen: set[str] = set()
    lines: list[ProductLine] = []
    for i, item in parsed:
        path = f"$.lines[{i}]"
        before = len(errors)
        product = products.get(item.product_id)
        if product is None:
            errors.append(field_error(f"{path}.product_id", "not_found"))
        elif item.product_id in seen:
            errors.append(field_error(f"{path}.product_id", "unique"))
        elif not product.on_shelf and item.product_id not in existing:
            errors.append(FieldError(f"{path}.product_id", "product.off_shelf",
                                     f"{path}.product_id 产品已下架，不能添加到新的明细",
                                     f"{path}.product_id is off shelf and cannot go on a "
                                     "new line"))
        seen.add(item.product_id)
        errors.extend(decimal_problems(f"{path}.quantity", item.quantity, places=4,
                                        low=Decimal(0), high=MAX_QUANTITY,
                                        low_inclusive=False))
        errors.extend(decimal_problems(f"{path}.discount", item.discount, places=2,
                                        low=Decimal(0), high=HUNDRED))
        if item.price is not None:
            errors.extend(decimal_problems(f"{path}.price", item.price, places=2,
                                            low=Decimal(0), high=MAX_PRICE))
        if len(errors) == before and product is not None:
            price = product.price if item.price is None else item.price
            lines.append(rules.priced_line(ProductLine(
                product.id, product.name, rules.money(price), abs(item.quantity),
                abs(item.discount), product.unit,
            )))
    return tuple(lines), errors

