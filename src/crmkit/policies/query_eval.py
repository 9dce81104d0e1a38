"""The reference interpreter of :mod:`crmkit.entities.query` (the memory adapter uses it; the
SQL compiler must agree with it). Semantics are documented in ``crmkit.entities.query``."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import cmp_to_key
from typing import Any, TypeVar

from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition, FieldRef, Keyword, Operator, SortKey, fold_latin

T = TypeVar("T")


def decode_custom(kind: ValueKind, raw: Any) -> Any:
    """A custom value as stored in JSON → its Python value (None stays None)."""
    if raw is None:
        return None
    if kind is ValueKind.DECIMAL:
        return Decimal(str(raw))
    if kind is ValueKind.DATE and isinstance(raw, str):
        return date.fromisoformat(raw)
    if kind is ValueKind.DATETIME and isinstance(raw, str):
        return datetime.fromisoformat(raw)
    return raw


def field_value(record: Any, ref: FieldRef) -> Any:
    """The value of ``ref`` on ``record``: an attribute, or a decoded custom value."""
    if ref.system:
        return getattr(record, ref.key)
    return decode_custom(ref.kind, record.custom.get(ref.key))


def is_empty(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


def _ordered(value: Any, condition: Condition, test: Callable[[Any, Any], bool]) -> bool:
    return value is not None and test(value, condition.value)


def matches(condition: Condition, value: Any) -> bool:
    """Whether a value satisfies one condition."""
    op, arg = condition.op, condition.value
    if op is Operator.IS_EMPTY:
        return is_empty(value)
    if op is Operator.NOT_EMPTY:
        return not is_empty(value)
    if condition.field.kind is ValueKind.LIST:
        items = set(value or ())
        if op is Operator.EQ:
            return arg in items
        if op is Operator.NE:
            return arg not in items
        if op is Operator.IN:
            return bool(items & set(arg))
        raise ValueError(f"operator {op} does not apply to lists")
    if op is Operator.EQ:
        return value is not None and value == arg
    if op is Operator.NE:
        return value is None or value != arg
    if op is Operator.IN:
        return value is not None and value in arg
    if op is Operator.CONTAINS:
        return value is not None and arg in value
    if op is Operator.NOT_CONTAINS:
        return value is None or arg not in value
    if op is Operator.PREFIX:
        return value is not None and value.startswith(arg)
    if op is Operator.SUFFIX:
        return value is not None and value.endswith(arg)
    if op is Operator.GT:
        return _ordered(value, condition, lambda v, a: v > a)
    if op is Operator.GE:
        return _ordered(value, condition, lambda v, a: v >= a)
    if op is Operator.LT:
        return _ordered(value, condition, lambda v, a: v < a)
    if op is Operator.LE:
        return _ordered(value, condition, lambda v, a: v <= a)
    if op is Operator.BETWEEN:
        low, high = arg
        return value is not None and low <= value <= high
    raise ValueError(f"unknown operator {op}")


def record_matches(record: Any, conditions: Iterable[Condition],
                   keyword: Keyword | None = None) -> bool:
    """Every condition holds, and the keyword (when given) is found."""
    return all(matches(c, field_value(record, c.field)) for c in conditions) and (
        keyword is None or keyword_found(record, keyword))


def keyword_found(record: Any, keyword: Keyword) -> bool:
    """Some field of ``keyword`` holds its text, Latin letters without case."""
    for ref in keyword.fields:
        value = field_value(record, ref)
        if isinstance(value, str) and keyword.text in fold_latin(value):
            return True
    return False


def compare_positions(a: Sequence[Any], b: Sequence[Any], sort: Sequence[SortKey]) -> int:
    """-1/0/1: order of two cursors (sort values then id): empty values last in either
    direction; the id breaks ties in the direction of the first sort key."""
    for key, x, y in zip(sort, a, b, strict=False):
        if (x is None) != (y is None):
            return 1 if x is None else -1
        if x is None or x == y:
            continue
        less = x < y
        return (1 if less else -1) if key.descending else (-1 if less else 1)
    x_id, y_id = a[-1], b[-1]
    if x_id == y_id:
        return 0
    less = x_id < y_id
    descending = bool(sort) and sort[0].descending
    return (1 if less else -1) if descending else (-1 if less else 1)


def cursor_values(record: Any, sort: Sequence[SortKey]) -> tuple[Any, ...]:
    """The keyset cursor of a record: its sort values, then its id."""
    return (*(field_value(record, k.field) for k in sort), record.id)


def page_of(
    records: Iterable[T], sort: Sequence[SortKey], after: Sequence[Any] | None, limit: int
) -> list[T]:
    """Records in sort order, strictly after the cursor ``after`` when given, at most ``limit``."""
    keyed = [(cursor_values(r, sort), r) for r in records]
    if after is not None:
        keyed = [(c, r) for c, r in keyed if compare_positions(c, after, sort) > 0]

    def order(x: tuple[tuple[Any, ...], T], y: tuple[tuple[Any, ...], T]) -> int:
        return compare_positions(x[0], y[0], sort)

    keyed.sort(key=cmp_to_key(order))
    return [r for _, r in keyed[:limit]]
