"""Query specifications for record lists: conditions, sort, keyset page. Interpreted twice —
in memory (reference) and compiled to SQL — with the same semantics:

- ``eq`` / ``ne``: equal / not equal; ``ne`` also matches an empty value. For LIST fields ``eq``
  means "contains the element" and ``ne`` "does not contain it".
- ``contains`` / ``not_contains``, ``prefix``, ``suffix``: case-sensitive substring tests on text;
  ``not_contains`` also matches an empty value.
- ``is_empty`` / ``not_empty``: null, ``""`` or an empty list counts as empty.
- ``gt ge lt le between`` (inclusive): an empty value never matches.
- ``in``: the value is one of the given values (LIST: shares an element with them).
- Sorting puts null values last in both directions (empty strings and lists are stored as
  null); ties are broken by id (ascending, or descending when the first sort key is
  descending).
- Decimal custom values compare exactly on PostgreSQL (NUMERIC); SQLite compares them as
  REAL, exact to 15 significant digits.
- A :class:`Keyword` (搜索) matches a record when any of its fields holds its text, Latin
  letters ``A``–``Z`` compared without case (other letters as they are); an empty value never
  matches.
"""

from __future__ import annotations

import enum
from typing import Any

import attrs

from crmkit.entities.fields import ValueKind
from crmkit.entities.scope import RecordScope

__all__ = [
    "Condition",
    "FieldRef",
    "Keyword",
    "Operator",
    "Page",
    "RecordQuery",
    "SortKey",
    "fold_latin",
]


class Operator(enum.StrEnum):
    EQ = "eq"  # 等于
    NE = "ne"  # 不等于
    CONTAINS = "contains"  # 包含
    NOT_CONTAINS = "not_contains"  # 不包含
    IS_EMPTY = "is_empty"  # 为空
    NOT_EMPTY = "not_empty"  # 不为空
    GT = "gt"
    GE = "ge"
    LT = "lt"
    LE = "le"
    BETWEEN = "between"  # 范围
    PREFIX = "prefix"  # 前缀
    SUFFIX = "suffix"  # 后缀
    IN = "in"


@attrs.frozen
class FieldRef:
    """A validated reference to a field: system column or custom JSON key, with its kind."""

    key: str
    kind: ValueKind
    system: bool


@attrs.frozen
class Condition:
    """One typed condition: value is ``None`` (emptiness tests), a scalar, or a tuple
    (``between``: two values; ``in``: one or more)."""

    field: FieldRef
    op: Operator
    value: Any = None


@attrs.frozen
class SortKey:
    field: FieldRef
    descending: bool = False


_LATIN_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def fold_latin(text: str) -> str:
    """``text`` with Latin capitals ``A``–``Z`` lowered and nothing else changed — what SQL's
    ``lower()`` does under SQLite and under PostgreSQL's ``"C"`` collation."""
    return text.translate(_LATIN_LOWER)


@attrs.frozen
class Keyword:
    """搜索: records whose value in any of ``fields`` (text) contains ``text``, Latin letters
    without case. ``text`` is kept folded (:func:`fold_latin`); build it with :meth:`of`."""

    fields: tuple[FieldRef, ...]
    text: str

    @classmethod
    def of(cls, fields: tuple[FieldRef, ...], text: str) -> Keyword:
        return cls(fields, fold_latin(text))


@attrs.frozen
class RecordQuery:
    """A complete list request, already validated and always cut to a scope.

    ``after`` is the keyset cursor: the sort values and id of the last row of the previous page.
    ``team_kind`` names the team table entries that grant visibility (相关团队).
    """

    scope: RecordScope
    conditions: tuple[Condition, ...] = ()
    sort: tuple[SortKey, ...] = ()
    limit: int = 50
    after: tuple[Any, ...] | None = None
    with_total: bool = False
    total_limit: int | None = None
    """Count at most this many rows (the count stops there); None: count them all."""
    keyword: Keyword | None = None
    """搜索 across the kind's searchable fields, besides ``conditions``."""


@attrs.frozen
class Page:
    """One page of results; ``next_cursor`` is None on the last page.

    ``total`` is None unless asked for; asked for with a ``total_limit`` it is at most that
    limit, and ``total_more`` says there are more rows than it ("1,000+")."""

    items: tuple[Any, ...]
    next_cursor: str | None
    total: int | None = None
    total_more: bool = False
