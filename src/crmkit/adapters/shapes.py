"""What an attrs attribute's type stores as (:class:`Shape`), storage-neutral: the SQL adapter
derives a record kind's columns and row mapping from it, the storage contract its random
records and query fields."""

from __future__ import annotations

import collections.abc
import enum
import types
import typing
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import attrs


class Shape(enum.Enum):
    """What an attribute's type stores as (see :func:`attribute_shape`)."""

    TEXT = "text"
    ENUM = "enum"
    BOOL = "bool"
    INT = "int"
    DECIMAL = "decimal"
    DATETIME = "datetime"
    DATE = "date"
    TIME = "time"
    """A local time of day (no zone)."""
    DOCUMENT = "document"
    """Tuples, sets, mappings and nested attrs objects (a repeat rule): a JSON document."""


def attribute_shape(hint: Any) -> tuple[Shape, bool, Any]:
    """(shape, optional, the type without ``None``) of an attrs attribute's resolved type;
    a type crmkit cannot store is a ``TypeError``."""
    optional = False
    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:
        members = [m for m in typing.get_args(hint) if m is not type(None)]
        optional = len(members) < len(typing.get_args(hint))
        if len(members) != 1:
            raise TypeError(f"cannot store a union {hint!r}")
        hint = members[0]
    origin = typing.get_origin(hint) or hint
    if attrs.has(origin):
        return Shape.DOCUMENT, optional, hint
    shape = next((shape for cls, shape in _SHAPES if isinstance(origin, type)
                  and issubclass(origin, cls)), None)
    if shape is None:
        raise TypeError(f"cannot store {hint!r}")
    return shape, optional, hint


_SHAPES: tuple[tuple[type, Shape], ...] = (
    (enum.Enum, Shape.ENUM),  # before str: a StrEnum is a str
    (str, Shape.TEXT),
    (bool, Shape.BOOL),  # before int: a bool is an int
    (int, Shape.INT),
    (Decimal, Shape.DECIMAL),
    (datetime, Shape.DATETIME),  # before date: a datetime is a date
    (date, Shape.DATE),
    (time, Shape.TIME),
    (tuple, Shape.DOCUMENT),
    (frozenset, Shape.DOCUMENT),
    (list, Shape.DOCUMENT),
    (collections.abc.Mapping, Shape.DOCUMENT),
)


def attribute_types(cls: type) -> dict[str, Any]:
    """The resolved type of every attrs attribute of ``cls``, in attribute order (string
    annotations resolved in the class's module, or beforehand by the host with
    ``attrs.resolve_types(cls, namespace)``)."""
    attrs.resolve_types(cls)
    return {f.name: f.type for f in attrs.fields(cls)}


def attribute_shapes(entity: type) -> dict[str, tuple[Shape, bool, Any]]:
    """:func:`attribute_shape` of every attrs attribute of ``entity``, in attribute order."""
    return {name: attribute_shape(hint) for name, hint in attribute_types(entity).items()}


def is_id(name: str) -> bool:
    """Ids by name: ``id``, ``*_id`` and ``created_by``."""
    return name in ("id", "created_by") or name.endswith("_id")
