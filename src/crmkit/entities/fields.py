"""Field definitions (默认字段 + 自定义字段) and the value kinds queries and storage work with."""

from __future__ import annotations

import enum
import warnings
from collections.abc import Callable
from typing import Any

import attrs

from crmkit.entities.common import JSONValue

__all__ = [
    "BOOKKEEPING_FIELDS",
    "FieldDefinition",
    "FieldType",
    "FieldValueError",
    "Normalizer",
    "UnavailableField",
    "Validator",
    "ValueKind",
    "bookkeeping_fields",
    "system_field",
    "trim",
]


class ValueKind(enum.StrEnum):
    """How a field's value is stored and compared (each field type declares one).

    TEXT: str, compared by code point. INTEGER: int. DECIMAL: ``Decimal`` (stored as a string in
    custom values). BOOLEAN. DATE: ``date``. DATETIME: aware ``datetime`` (UTC). LIST: a list of
    strings (multiselect, users); compared by membership.
    """

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    BOOLEAN = "boolean"
    DATE = "date"
    DATETIME = "datetime"
    LIST = "list"


@attrs.frozen
class FieldDefinition:
    """One field of a record kind. System fields are built in; custom ones are admin-defined.

    ``key`` is stable (never the label) and unique per kind across system and custom fields.
    A retired field keeps its stored values but accepts no writes and leaves forms and lists.
    """

    kind: str
    key: str
    label_zh: str
    label_en: str
    type: str
    system: bool = False
    required: bool = False
    unique: bool = False
    default: JSONValue = None
    options: tuple[str, ...] = ()
    max_length: int | None = None
    precision: int | None = None
    min_value: str | None = None
    max_value: str | None = None
    help_text: str = ""
    order: int = 0
    hidden: bool = False
    retired: bool = False
    reference_kind: str | None = None
    version: int = 1

    @property
    def label(self) -> str:
        return f"{self.label_zh} / {self.label_en}"


@attrs.frozen
class UnavailableField:
    """A stored custom field whose type no installed plugin provides (its plugin is missing or
    failed to load): the field keeps its values but takes no writes until the plugin is back."""

    kind: str
    key: str
    type: str
    label_zh: str
    label_en: str
    retired: bool


def system_field(
    kind: str, key: str, label_zh: str, label_en: str, type_: str, order: int, **options: Any
) -> FieldDefinition:
    """A built-in field of a record kind (system fields are declared with this)."""
    return FieldDefinition(kind, key, label_zh, label_en, type_, system=True, order=order,
                           **options)


BOOKKEEPING_FIELDS = (
    ("created_by", "创建人", "Created by", "user"),
    ("created_at", "创建时间", "Created at", "datetime"),
    ("updated_at", "更新时间", "Updated at", "datetime"),
)


def bookkeeping_fields(kind: str, start: int) -> tuple[FieldDefinition, ...]:
    """创建人/创建时间/更新时间: read-only, hidden by default, filterable and sortable."""
    return tuple(
        system_field(kind, key, zh, en, type_, start + 10 * i, hidden=True)
        for i, (key, zh, en, type_) in enumerate(BOOKKEEPING_FIELDS)
    )


class FieldValueError(ValueError):
    """Raised by a field type's validator: a stable ``code`` plus Chinese and English text, in
    that order (as every crmkit error)."""

    def __init__(self, code: str, message_zh: str, message_en: str) -> None:
        if _has_cjk(message_en) and not _has_cjk(message_zh):
            # The 0.1 order was (code, en, zh): swapped back for one major release, and said.
            warnings.warn("FieldValueError(code, message_en, message_zh) is the old order; "
                          "pass (code, message_zh, message_en)", DeprecationWarning,
                          stacklevel=2)
            message_zh, message_en = message_en, message_zh
        super().__init__(message_en)
        self.code = code
        self.message_en = message_en
        self.message_zh = message_zh


def _has_cjk(text: str) -> bool:
    """Whether ``text`` holds a CJK ideograph (U+3400–U+9FFF)."""
    return any("\u3400" <= ch <= "\u9fff" for ch in text)


Validator = Callable[[JSONValue, FieldDefinition], JSONValue]
"""``validate(raw, definition)``: the normalised, JSON-able stored value, or FieldValueError.
Never called with None or "" (emptiness and ``required`` are checked before)."""

Normalizer = Callable[[str], str]
"""``normalize(text)``: a *fragment* of a value as a user typed it (a 包含/前缀/后缀 filter value,
or a whole value the validator refused) in the form stored values take — e.g. full-width digits
made ASCII, spaces dropped from a mobile number, an ID number upper-cased. Never raises."""


def trim(text: str) -> str:
    """The default normaliser: surrounding whitespace (full-width spaces included) dropped."""
    return text.strip()


@attrs.frozen
class FieldType:
    """A field type (text, money, 统一社会信用代码 …). Built-ins and plugins register these
    through the ``crmkit_register_field_types`` hook; names are unique per CRM.

    Filter values go through the same normalisation as stored values: a whole value through
    ``validate`` (when it accepts it), a fragment through ``normalize``."""

    name: str
    value_kind: ValueKind
    label_zh: str
    label_en: str
    validate: Validator
    options_required: bool = False
    normalize: Normalizer = trim
