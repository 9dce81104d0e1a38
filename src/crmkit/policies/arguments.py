"""What any value handed to crmkit may hold, whatever its declared type (issue 11, items 13/15).

A value can have the right type and still crash a database driver or a later computation. So
every argument of every public call, and everything nested in it, obeys these rules; a value
that breaks one is refused with a ValidationError at its path, before anything is read or
written, on every backend alike:

- text holds no NUL character and no lone surrogate (neither encodes as UTF-8 on SQL);
- integers fit in 64 bits (±(2**63 - 1)); floats and decimals are finite (no NaN, no infinity);
- datetimes carry a timezone — a naive datetime is refused everywhere, crmkit never guesses a
  zone — and datetimes and dates lie in years 1000–9998 (so no timezone shift or date
  arithmetic overflows);
- nesting is at most :data:`MAX_DEPTH` levels deep and one argument holds at most
  :data:`MAX_NODES` values (so no recursion and no quadratic work on hostile shapes).

Ids (``*_id`` arguments, elements of ``*_ids``) are, in addition, 1–64 characters with no
whitespace or control characters (:func:`is_id`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal

import attrs

from crmkit.errors import FieldError
from crmkit.policies.validation import field_error

__all__ = [
    "FIRST_DAY",
    "LAST_DAY",
    "MAX_DEPTH",
    "MAX_INT64",
    "MAX_NODES",
    "date_in_range",
    "datetime_problem",
    "has_bad_text",
    "is_id",
    "value_problems",
]

MAX_INT64 = 2**63 - 1
MAX_DEPTH = 32
"""Most levels of nested lists/mappings one argument may have."""
MAX_NODES = 100_000
"""Most values (containers included) one argument may hold."""
FIRST_DAY = date(1000, 1, 1)
LAST_DAY = date(9998, 12, 31)
"""Dates and datetimes (in UTC) lie in ``FIRST_DAY .. LAST_DAY``."""

_ID = re.compile(r"^[^\s\x00-\x1f\x7f\ud800-\udfff]{1,64}$")
_BAD_TEXT = re.compile(r"[\x00\ud800-\udfff]")

_MESSAGES: dict[str, tuple[str, str]] = {
    "format.text": ("不能包含空字符（NUL）或孤立代理字符",
                    "must not contain NUL characters or lone surrogates"),
    "range.max": ("超出允许的最大值", "is too large"),
    "range.min": ("低于允许的最小值", "is too small"),
    "format.decimal": ("必须是有限的数字（不能是 NaN 或无穷大）",
                       "must be a finite number (no NaN or infinity)"),
    "format.datetime": ("必须是带时区的时间", "must be a date-time with a timezone"),
    "too_deep": (f"嵌套层数过多（最多 {MAX_DEPTH} 层）",
                 f"is nested too deeply (max {MAX_DEPTH} levels)"),
    "too_long": (f"包含的值过多（最多 {MAX_NODES} 个）",
                 f"holds too many values (max {MAX_NODES})"),
}


def problem(path: str, code: str) -> FieldError:
    """A FieldError at ``path`` with this module's message for ``code``."""
    return field_error(path, code, messages=_MESSAGES)


def is_id(value: object) -> bool:
    """Whether ``value`` can be an id: a string of 1–64 characters, no whitespace, no control
    characters, no lone surrogates."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None


def has_bad_text(text: str) -> bool:
    """Whether ``text`` holds a NUL character or a lone surrogate."""
    return _BAD_TEXT.search(text) is not None


def date_in_range(day: date) -> bool:
    return FIRST_DAY <= day <= LAST_DAY


def datetime_problem(moment: datetime) -> str | None:
    """The code of what is wrong with ``moment`` (naive: ``format.datetime``; out of years
    1000–9998 in UTC: ``range.min`` / ``range.max``), or None."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        return "format.datetime"
    try:
        day = moment.astimezone(UTC).date()
    except (OverflowError, ValueError):
        return "range.min" if moment.year < 5000 else "range.max"
    if day < FIRST_DAY:
        return "range.min"
    if day > LAST_DAY:
        return "range.max"
    return None


def _scalar_problem(value: object) -> str | None:
    if isinstance(value, str):
        return "format.text" if has_bad_text(value) else None
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value > MAX_INT64:
            return "range.max"
        return "range.min" if value < -MAX_INT64 else None
    if isinstance(value, float):
        return None if math.isfinite(value) else "format.decimal"
    if isinstance(value, Decimal):
        return None if value.is_finite() else "format.decimal"
    if isinstance(value, datetime):
        return datetime_problem(value)
    if isinstance(value, date):
        if value < FIRST_DAY:
            return "range.min"
        return "range.max" if value > LAST_DAY else None
    return None


_SCALARS = frozenset({str, int, bool, float, Decimal, type(None)})
"""Types whose values hold nothing else (exact types: a subclass may be anything)."""


def value_problems(value: object, path: str) -> list[FieldError]:
    """Every break of the rules above in ``value`` and what it holds (mappings, lists, tuples,
    sets, attrs instances), each at its path (``$.data.custom.note``, ``$.ids[3]``)."""
    if type(value) in _SCALARS:  # the common case, without the walk
        code = _scalar_problem(value)
        return [] if code is None else [problem(path, code)]
    problems: list[FieldError] = []
    seen = 0
    stack: list[tuple[object, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        seen += 1
        if seen > MAX_NODES:
            return [problem(path, "too_long")]
        if depth > MAX_DEPTH:
            return [problem(where, "too_deep")]
        children: list[tuple[object, str]] = []
        if isinstance(item, Mapping):
            for key, child in item.items():
                if not isinstance(key, str):
                    children.append((key, f"{where}.<key>"))
                    label = repr(key)[:40]
                elif has_bad_text(key):
                    problems.append(problem(f"{where}.<key>", "format.text"))
                    continue
                else:
                    label = key
                children.append((child, f"{where}.{label}"))
        elif isinstance(item, list | tuple):
            children = [(child, f"{where}[{i}]") for i, child in enumerate(item)]
        elif isinstance(item, set | frozenset):
            children = [(child, f"{where}[]") for child in item]
        elif attrs.has(type(item)):
            children = [(getattr(item, f.name), f"{where}.{f.name}")
                        for f in attrs.fields(type(item))]  # type: ignore[arg-type]
        else:
            code = _scalar_problem(item)
            if code is not None:
                problems.append(problem(where, code))
        stack.extend((child, child_path, depth + 1) for child, child_path in reversed(children))
    return problems
