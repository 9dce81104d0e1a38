"""The one cattrs converter: entities ↔ plain dicts, and payload errors → ValidationError.

- Enums travel as their values, datetimes as ISO 8601 strings (timezone required; dates and
  datetimes in years 1000–9998, see :mod:`crmkit.policies.arguments`), times of day as
  ``HH:MM`` (``HH:MM:SS`` with seconds), Decimals as strings, frozensets as sorted lists.
- Structuring is strict about JSON types (``"5"`` is not an int, ``1`` is not a str) and forbids
  unknown keys; every failure is reported by path (``$.roles[2]``) with a stable code.
- ``User.password_hash`` never leaves through :func:`to_dict`.
- Entity mappings (``record.custom`` …) are read-only ``dict`` subclasses, so ``json.dumps``
  takes them without a custom encoder.

Public API: :func:`to_dict` / :func:`from_dict` (documented in docs/embedding.md); the shared
:data:`converter` for hosts that register hooks of their own.
"""

from __future__ import annotations

import contextlib
import enum
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar, get_args, get_origin

import attrs
import cattrs
from cattrs.cols import homogenous_tuple_structure_factory, is_any_set, list_structure_factory
from cattrs.errors import (
    BaseValidationError,
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
    IterableValidationNote,
)
from cattrs.strategies import configure_tagged_union

from crmkit.entities import User
from crmkit.entities.approvals import ApproverNode, ConditionNode, EndNode, FlowNode
from crmkit.errors import FieldError, ValidationError
from crmkit.policies.arguments import date_in_range, datetime_problem
from crmkit.policies.validation import field_error

__all__ = [
    "NODE_TAGS",
    "converter",
    "from_dict",
    "structure",
    "structure_patch",
    "to_dict",
]

_T = TypeVar("_T")

converter = cattrs.Converter(forbid_extra_keys=True)


class _TypeMismatch(TypeError):
    def __init__(self, expected: str) -> None:
        super().__init__(f"expected {expected}")
        self.expected = expected


def _strict(kind: type, name: str) -> Any:
    def structure(value: Any, _: Any) -> Any:
        if type(value) is bool and kind is not bool:
            raise _TypeMismatch(name)
        if not isinstance(value, kind):
            raise _TypeMismatch(name)
        return value

    return structure


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _TypeMismatch(f"one of {[m.value for m in cls]}")
    return cls(value)


for _kind, _name in ((str, "string"), (bool, "boolean"), (int, "integer")):
    converter.register_structure_hook(_kind, _strict(_kind, _name))
# StrEnum/IntEnum come before str/int in the MRO, so enums keep value lookup
for _enum in (enum.StrEnum, enum.IntEnum, enum.Enum):
    converter.register_structure_hook(_enum, _structure_enum)


def _structure_float(value: Any, _: Any) -> float:
    if type(value) is bool or not isinstance(value, int | float):
        raise _TypeMismatch("number")
    return float(value)


def _structure_datetime(value: Any, _: Any) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _TypeMismatch("ISO 8601 datetime") from None
    else:
        raise _TypeMismatch("ISO 8601 datetime")
    problem = datetime_problem(parsed)
    if problem == "format.datetime":
        raise _TypeMismatch("datetime with a timezone")
    if problem is not None:
        raise _TypeMismatch("datetime in years 1000–9998")
    return parsed.astimezone(UTC)


def _structure_date(value: Any, _: Any) -> date:
    day: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            day = date.fromisoformat(value)
    if day is None:
        raise _TypeMismatch("ISO 8601 date")
    if not date_in_range(day):
        raise _TypeMismatch("date in years 1000–9998")
    return day


def _structure_time(value: Any, _: Any) -> time:
    """A local time of day, ``HH:MM`` or ``HH:MM:SS`` (no timezone: local to the org)."""
    moment: time | None = value if isinstance(value, time) else None
    if isinstance(value, str) and len(value) in (5, 8):
        with contextlib.suppress(ValueError):
            moment = time.fromisoformat(value)
    if moment is None or moment.tzinfo is not None:
        raise _TypeMismatch("time of day HH:MM")
    return moment


def _structure_decimal(value: Any, _: Any) -> Decimal:
    if type(value) is bool or not isinstance(value, str | int | Decimal):
        raise _TypeMismatch("decimal string")
    try:
        result = Decimal(value)
    except InvalidOperation:
        raise _TypeMismatch("decimal string") from None
    if not result.is_finite():
        raise _TypeMismatch("finite decimal")
    return result


def _is_collection(t: Any) -> bool:
    """Lists, sets and homogeneous tuples (``tuple[X, ...]``) of a payload."""
    if is_any_set(t) or get_origin(t) in (list, Sequence) or t is list:
        return True
    return get_origin(t) is tuple and get_args(t)[1:] == (Ellipsis,)


def _collection_hook(cl: Any) -> Any:
    """cattrs' own list/tuple hooks (paths per item), refusing text and objects: a string is
    iterable, but ``"abc"`` is not the list ``["a", "b", "c"]``."""
    args = get_args(cl)
    inner = args[0] if args else Any
    wrap: Any = None
    if is_any_set(cl):
        base = list_structure_factory(list[inner], converter)  # type: ignore[valid-type]
        wrap = frozenset if get_origin(cl) is frozenset or cl is frozenset else set
    elif get_origin(cl) is tuple:
        base = homogenous_tuple_structure_factory(cl, converter)
    else:
        base = list_structure_factory(list[inner], converter)  # type: ignore[valid-type]

    def structure(value: Any, t: Any) -> Any:
        if isinstance(value, str | bytes | Mapping):
            raise _TypeMismatch("list")
        items = base(value, t)
        return wrap(items) if wrap is not None else items

    return structure


converter.register_structure_hook_factory(_is_collection, _collection_hook)
converter.register_structure_hook(float, _structure_float)
converter.register_structure_hook(datetime, _structure_datetime)
converter.register_structure_hook(date, _structure_date)
converter.register_structure_hook(time, _structure_time)
converter.register_structure_hook(Decimal, _structure_decimal)
converter.register_unstructure_hook(datetime, lambda v: v.isoformat())
converter.register_unstructure_hook(date, lambda v: v.isoformat())
converter.register_unstructure_hook(
    time, lambda v: v.isoformat("seconds" if v.second or v.microsecond else "minutes"))
converter.register_unstructure_hook(Decimal, str)
def _is_frozenset(t: Any) -> bool:
    return t is frozenset or get_origin(t) is frozenset


converter.register_unstructure_hook_func(
    _is_frozenset, lambda v: sorted((converter.unstructure(x) for x in v), key=str)
)
# StrEnum before str in the MRO: enums leave as their plain values
converter.register_unstructure_hook(enum.StrEnum, lambda v: v.value)
converter.register_unstructure_hook(enum.Enum, lambda v: v.value)
converter.register_unstructure_hook(
    User,
    lambda u: {
        f.name: converter.unstructure(getattr(u, f.name))
        for f in attrs.fields(User)
        if f.name != "password_hash"
    },
)


NODE_TAGS: dict[type, str] = {ConditionNode: "condition", ApproverNode: "approver",
                              EndNode: "end"}
"""Approval flow nodes travel as objects tagged ``"type": "condition" | "approver" | "end"``."""
configure_tagged_union(FlowNode, converter, tag_generator=lambda cls: NODE_TAGS[cls],
                       tag_name="type")


def _field_error(path: str, code: str, detail: str = "") -> FieldError:
    return field_error(path, code, f" ({detail})" if detail else "")


def _collect(exc: BaseException, path: str, out: list[FieldError]) -> None:
    """Walk cattrs' exception tree, turning each leaf into a FieldError at its JSON path."""
    if isinstance(exc, ForbiddenExtraKeysError):
        out.extend(
            _field_error(f"{path}.{key}", "unknown_field") for key in sorted(exc.extra_fields)
        )
        return
    if isinstance(exc, ClassValidationError | IterableValidationError):
        with_notes, without_notes = exc.group_exceptions()
        for sub, note in with_notes:
            if isinstance(note, IterableValidationNote):
                index = note.index
                sub_path = f"{path}.{index}" if isinstance(index, str) else f"{path}[{index}]"
            else:
                sub_path = f"{path}.{note.name}"
            _collect(sub, sub_path, out)
        for sub in without_notes:
            _collect(sub, path, out)
        return
    if isinstance(exc, KeyError):
        out.append(_field_error(path, "required"))
    elif isinstance(exc, _TypeMismatch):
        out.append(_field_error(path, "type", exc.expected))
    else:
        out.append(_field_error(path, "invalid", str(exc)[:200]))


def structure(data: Any, cls: type[_T]) -> _T:
    """Build ``cls`` from a plain payload; any problem becomes one ValidationError with paths."""
    if isinstance(cls, type) and isinstance(data, cls):
        return data
    if attrs.has(cls) and not isinstance(data, Mapping):
        raise ValidationError([_field_error("$", "type", "object")])
    try:
        return converter.structure(data, cls)
    except (BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
        errors: list[FieldError] = []
        _collect(exc, "$", errors)
        raise ValidationError(errors) from None


def structure_patch(data: Any, cls: type[Any]) -> dict[str, Any]:
    """Structure a partial update: only the given keys, each typed like ``cls``'s field."""
    if not isinstance(data, Mapping):
        raise ValidationError([_field_error("$", "type", "object")])
    fields = {f.name: f for f in attrs.fields(attrs.resolve_types(cls))}
    result: dict[str, Any] = {}
    errors: list[FieldError] = []
    for key, value in data.items():
        field = fields.get(key) if isinstance(key, str) else None
        if field is None or field.type is None:
            errors.append(_field_error(f"$.{key}", "unknown_field"))
            continue
        try:
            result[key] = converter.structure(value, field.type)
        except (BaseValidationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            _collect(exc, f"$.{key}", errors)
    if errors:
        raise ValidationError(errors)
    return result


def to_dict(entity: Any) -> Any:
    """An entity as plain JSON-able data (no password hashes)."""
    return converter.unstructure(entity)


def from_dict(data: Any, cls: type[_T]) -> _T:
    """Alias of :func:`structure` for symmetry with :func:`to_dict`."""
    return structure(data, cls)
