"""List requests from hosts → validated :class:`RecordQuery` values, and keyset cursors.

Field keys and operators come from payloads, so both are whitelisted: a key must name an
active field of the kind, an operator must be one of :class:`Operator` and apply to the
field's value kind; values are typed per kind. Anything else is a ValidationError with a path.

Filter values are normalised like stored values, so a filter finds what was stored however the
user typed it (``+86 138 0000 0000``, ``１３８…``, an ID number ending in ``x``, `` 甲公司 ``): a
whole value (eq, ne, in, comparisons, between) goes through the field type's validator when it
accepts it, a fragment (contains, prefix, suffix) — or a value the validator refuses — through
the type's ``normalize``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import attrs

from crmkit.entities import RecordScope
from crmkit.entities.fields import FieldDefinition, FieldType, ValueKind
from crmkit.entities.query import Condition, FieldRef, Keyword, Operator, RecordQuery, SortKey
from crmkit.entities.records import ConditionSpec, SortSpec
from crmkit.errors import FieldError, ValidationError
from crmkit.policies.arguments import date_in_range, datetime_problem, is_id, value_problems
from crmkit.policies.validation import field_error
from crmkit.workflow.fields import FieldSet, unavailable_error

MAX_LIMIT = 500
MAX_IN = 1000
"""Most values one list request compares with, over all its conditions (``in`` lists
included): SQLite's bound-variable and expression-depth limits stay far away."""
MAX_TOTAL_LIMIT = 1_000_000
"""Largest ``total_limit`` a list request may ask for."""
MAX_CURSOR = 65536
"""Longest cursor accepted (crmkit's own are a few hundred characters)."""
MAX_CONDITIONS = 50
"""Most conditions one list request or scene has."""
MAX_KEYWORD = 100
"""Longest keyword (搜索) accepted."""

Op = Operator
_EMPTINESS = frozenset({Op.IS_EMPTY, Op.NOT_EMPTY})
_FRAGMENTS = frozenset({Op.CONTAINS, Op.NOT_CONTAINS, Op.PREFIX, Op.SUFFIX})
_ORDERED = frozenset({Op.EQ, Op.NE, Op.GT, Op.GE, Op.LT, Op.LE, Op.BETWEEN, Op.IN}) | _EMPTINESS
OPERATORS: dict[ValueKind, frozenset[Operator]] = {
    ValueKind.TEXT: frozenset(
        {Op.EQ, Op.NE, Op.CONTAINS, Op.NOT_CONTAINS, Op.PREFIX, Op.SUFFIX, Op.IN}
    ) | _EMPTINESS,
    ValueKind.INTEGER: _ORDERED,
    ValueKind.DECIMAL: _ORDERED,
    ValueKind.DATE: _ORDERED,
    ValueKind.DATETIME: _ORDERED,
    ValueKind.BOOLEAN: frozenset({Op.EQ, Op.NE}) | _EMPTINESS,
    ValueKind.LIST: frozenset({Op.EQ, Op.NE, Op.IN}) | _EMPTINESS,
}
"""Which operators apply to which value kind."""


@attrs.frozen
class ListRequest:
    """What a host asks a list for: a scene and/or conditions, sort, page size, cursor."""

    scene: str | None = None
    conditions: tuple[ConditionSpec, ...] = ()
    sort: tuple[SortSpec, ...] = ()
    limit: int = 50
    cursor: str | None = None
    with_total: bool = False
    total_limit: int | None = None
    """With ``with_total``: count at most this many rows (1..:data:`MAX_TOTAL_LIMIT`) — the
    page's ``total`` is then at most this, and ``total_more`` says there are more."""
    keyword: str | None = None
    """搜索: records whose searchable fields (the kind's ``searchable``: name, mobile, phone,
    email …) contain this text, Latin letters without case; at most :data:`MAX_KEYWORD`
    characters, blanks around it ignored."""
    ids: tuple[str, ...] | None = None
    """Cut the list to these records (at most :data:`MAX_IN`; "export selected"): ids the
    actor cannot see are left out like ids that do not exist."""


class _Bad(Exception):
    pass


def _scalar(kind: ValueKind, raw: Any) -> Any:
    """One condition value typed for ``kind`` (raises _Bad)."""
    if kind in (ValueKind.TEXT, ValueKind.LIST):
        if not isinstance(raw, str):
            raise _Bad
        return raw
    if kind is ValueKind.BOOLEAN:
        if not isinstance(raw, bool):
            raise _Bad
        return raw
    if kind is ValueKind.INTEGER:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise _Bad
        return raw
    if kind is ValueKind.DECIMAL:
        if isinstance(raw, bool) or not isinstance(raw, int | str | Decimal):
            raise _Bad
        try:
            value = Decimal(raw)
        except InvalidOperation:
            raise _Bad from None
        if not value.is_finite():
            raise _Bad
        return value
    if kind is ValueKind.DATE:
        try:
            day = date.fromisoformat(raw) if isinstance(raw, str) else _raise()
        except ValueError:
            raise _Bad from None
        if not date_in_range(day):
            raise _Bad
        return day
    try:
        moment = datetime.fromisoformat(raw) if isinstance(raw, str) else _raise()
    except ValueError:
        raise _Bad from None
    if datetime_problem(moment) is not None:  # naive, or out of years 1000–9998
        raise _Bad
    return moment


def _raise() -> Any:
    raise _Bad


def normalised(field_type: FieldType, definition: FieldDefinition, op: Operator, raw: Any) -> Any:
    """A text filter value in the form stored values take (see the module docstring); other
    values unchanged. Never raises: a plugin's failing validator or normaliser only means the
    value is compared as given."""
    if not isinstance(raw, str):
        return raw
    if op not in _FRAGMENTS and raw.strip():
        listed = field_type.value_kind is ValueKind.LIST
        try:
            stored = field_type.validate([raw] if listed else raw, definition)
        except Exception:
            stored = None
        if listed and isinstance(stored, list) and len(stored) == 1:
            stored = stored[0]
        if isinstance(stored, str):
            return stored
    try:
        return field_type.normalize(raw)
    except Exception:
        return raw


def parse_condition(fields: FieldSet, spec: ConditionSpec, path: str) -> Condition:
    definition = fields.get(spec.field) if isinstance(spec.field, str) else None
    if definition is None:
        raise ValidationError([field_error(f"{path}.field", "unknown_field")])
    if not fields.available(definition):
        raise ValidationError([unavailable_error(f"{path}.field", definition)])
    ref = fields.ref(definition)
    try:
        op = Operator(spec.op)
    except ValueError:
        raise ValidationError([field_error(f"{path}.op", "invalid")]) from None
    if op not in OPERATORS[ref.kind]:
        raise ValidationError([field_error(f"{path}.op", "operator.not_applicable",
                                      f" ({op.value} / {ref.kind.value})")])
    raw = spec.value
    field_type = fields.types[definition.key]

    def typed(item: Any) -> Any:
        return _scalar(ref.kind, normalised(field_type, definition, op, item))

    try:
        if op in _EMPTINESS:
            value: Any = None
        elif op is Op.BETWEEN:
            if not isinstance(raw, list | tuple) or len(raw) != 2:
                raise _Bad
            value = (typed(raw[0]), typed(raw[1]))
        elif op is Op.IN:
            if not isinstance(raw, list | tuple) or not 0 < len(raw) <= MAX_IN:
                raise _Bad
            value = tuple(typed(item) for item in raw)
        else:
            value = typed(raw)
    except (_Bad, TypeError):
        raise ValidationError(
            [field_error(f"{path}.value", "type", f" ({ref.kind.value})")]) from None
    return Condition(ref, op, value)


ID_REF = FieldRef("id", ValueKind.TEXT, True)


def id_condition(ids: Sequence[Any]) -> Condition:
    """``id in ids`` for a list cut to chosen records (1..:data:`MAX_IN` ids)."""
    if not isinstance(ids, list | tuple) or len(ids) > MAX_IN:
        raise ValidationError([field_error("$.ids", "too_long", f" (max {MAX_IN})")])
    bad = [i for i, value in enumerate(ids) if not is_id(value)]
    if bad:
        raise ValidationError([field_error(f"$.ids[{i}]", "format.id") for i in bad])
    return Condition(ID_REF, Op.IN, tuple(dict.fromkeys(ids)))


def parse_conditions(fields: FieldSet, specs: Sequence[ConditionSpec], path: str
                     ) -> tuple[Condition, ...]:
    if len(specs) > MAX_CONDITIONS:
        raise ValidationError([field_error(path, "too_long", f" (max {MAX_CONDITIONS})")])
    errors: list[FieldError] = []
    parsed: list[Condition] = []
    for i, spec in enumerate(specs):
        try:
            parsed.append(parse_condition(fields, spec, f"{path}[{i}]"))
        except ValidationError as bad:
            errors.extend(bad.errors)
    if errors:
        raise ValidationError(errors)
    values = sum(len(c.value) if isinstance(c.value, tuple) else 1 for c in parsed)
    if values > MAX_IN:
        raise ValidationError([field_error(path, "too_long", f" (max {MAX_IN} values)")])
    return tuple(parsed)


def parse_sort(fields: FieldSet, specs: Sequence[SortSpec], path: str) -> tuple[SortKey, ...]:
    keys: list[SortKey] = []
    for i, spec in enumerate(specs):
        definition = fields.get(spec.field)
        if definition is None:
            raise ValidationError([field_error(f"{path}[{i}].field", "unknown_field")])
        if not fields.available(definition):
            raise ValidationError([unavailable_error(f"{path}[{i}].field", definition)])
        ref = fields.ref(definition)
        if ref.kind is ValueKind.LIST:
            raise ValidationError([field_error(f"{path}[{i}].field", "sort.not_sortable")])
        keys.append(SortKey(ref, spec.descending))
    if len(keys) > 3:
        raise ValidationError([field_error(path, "too_long", " (max 3)")])
    return tuple(keys)


# -- cursors ----------------------------------------------------------------------------------
def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return {"t": value.isoformat()}
    if isinstance(value, date):
        return {"d": value.isoformat()}
    if isinstance(value, Decimal):
        return {"n": str(value)}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and len(value) == 1:
        (tag, text), = value.items()
        if not isinstance(text, str):
            raise ValueError("bad cursor value")
        if tag == "t":
            parsed = datetime.fromisoformat(text)
            if parsed.tzinfo is None:
                raise ValueError("naive datetime in cursor")
            return parsed
        if tag == "d":
            return date.fromisoformat(text)
        if tag == "n":
            return Decimal(text)
        raise ValueError("bad cursor tag")
    if isinstance(value, list | dict):
        raise ValueError("bad cursor value")
    return value


_CURSOR_TYPES: dict[ValueKind, Any] = {
    ValueKind.TEXT: lambda v: isinstance(v, str),
    ValueKind.INTEGER: lambda v: isinstance(v, int) and not isinstance(v, bool),
    ValueKind.DECIMAL: lambda v: isinstance(v, Decimal),
    ValueKind.BOOLEAN: lambda v: isinstance(v, bool),
    ValueKind.DATE: lambda v: isinstance(v, date) and not isinstance(v, datetime),
    ValueKind.DATETIME: lambda v: isinstance(v, datetime),
}
"""What a cursor may hold for a sort key of each value kind (None: the row had no value)."""


def _signature(sort: Sequence[SortKey]) -> str:
    return ",".join(f"{'-' if k.descending else ''}{k.field.key}" for k in sort)


def encode_cursor(values: Sequence[Any], sort: Sequence[SortKey]) -> str:
    """An opaque cursor naming a row's sort values and id (and the sort it belongs to)."""
    body = json.dumps({"s": _signature(sort), "v": [_encode(v) for v in values]},
                      separators=(",", ":"), ensure_ascii=False)
    return base64.urlsafe_b64encode(body.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sequence[SortKey]) -> tuple[Any, ...]:
    try:
        if len(cursor) > MAX_CURSOR:
            raise ValueError("cursor too long")
        padded = cursor + "=" * (-len(cursor) % 4)
        body = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if body["s"] != _signature(sort) or len(body["v"]) != len(sort) + 1:
            raise ValueError("cursor of another sort")
        values = tuple(_decode(v) for v in body["v"])
        if not is_id(values[-1]) or value_problems(values, "$.cursor"):
            raise ValueError("cursor id or value")
        for key, value in zip(sort, values, strict=False):
            if value is not None and not _CURSOR_TYPES[key.field.kind](value):
                raise ValueError("cursor value of another type")
        return values
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise ValidationError([field_error("$.cursor", "invalid")]) from None


def parse_keyword(fields: FieldSet, searchable: Sequence[str], raw: Any) -> Keyword | None:
    """The request's keyword over ``searchable`` (the kind's declaration); None when blank.
    Not text, or longer than :data:`MAX_KEYWORD` → ValidationError at ``$.keyword``."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise ValidationError([field_error("$.keyword", "type", " (text)")])
    text = raw.strip()
    if len(text) > MAX_KEYWORD:
        raise ValidationError([field_error("$.keyword", "too_long", f" (max {MAX_KEYWORD})")])
    if not text:
        return None
    return Keyword.of(tuple(field_ref(fields, key) for key in searchable), text)


def build_query(
    fields: FieldSet,
    scope: RecordScope,
    conditions: tuple[Condition, ...],
    sort: tuple[SortKey, ...],
    request: ListRequest,
    keyword: Keyword | None = None,
) -> RecordQuery:
    if not 1 <= request.limit <= MAX_LIMIT:
        raise ValidationError([field_error("$.limit", "invalid", f" (1..{MAX_LIMIT})")])
    cap = request.total_limit
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int)
                            or not 1 <= cap <= MAX_TOTAL_LIMIT):
        raise ValidationError([field_error("$.total_limit", "invalid",
                                           f" (1..{MAX_TOTAL_LIMIT})")])
    after = decode_cursor(request.cursor, sort) if request.cursor else None
    return RecordQuery(scope, conditions, sort, request.limit, after, request.with_total, cap,
                       keyword)


def field_ref(fields: FieldSet, key: str) -> FieldRef:
    definition = fields.get(key)
    assert definition is not None, key
    return fields.ref(definition)
