"""The built-in field types (text, money, 手机 …): validators that turn a raw JSON value into the
normalised value stored in a record's ``custom`` mapping.

Pure: stdlib + entities only. The workflow registers :data:`BUILTIN_FIELD_TYPES` through the
``crmkit_register_field_types`` hook, the same way a third-party plugin adds its own types.

Every validator has the shape ``validate(raw, definition) -> stored value`` and raises
:class:`~crmkit.entities.fields.FieldValueError` with a stable code and an English and Chinese
*predicate* ("is too long", "超出最大长度"): the caller prefixes the field's path. Validators are
never called with an empty value (None, "", or an empty list); see :func:`is_empty`.

Values are stored as users mean them, whatever their keyboard: full-width digits and letters
(１３８…, ＡＢＣ) become ASCII in numbers, dates, mobile/phone/ID numbers, e-mails and URLs;
mobile numbers lose spaces, dashes and +86; ID numbers are upper-cased (x → X); text is trimmed.
Each type's ``normalize`` applies the same rules to fragments, so filters find what was stored.

Stored forms (what queries and storage see):

- TEXT: the string without surrounding whitespace (mobile numbers are normalised to 11 digits,
  ID numbers to upper case); never a NUL character or a lone surrogate.
- INTEGER: a JSON integer within ±(2**53 - 1), so browsers read it exactly.
- DECIMAL: a fixed-point string with exactly ``precision`` places (``"12.50"``).
- DATE: ``YYYY-MM-DD``, years 1000–9998.
- DATETIME: UTC, years 1000–9998, ``YYYY-MM-DDTHH:MM:SS.ffffff+00:00`` — fixed width, so
  string order is time order.
- BOOLEAN: ``true`` / ``false``.
- LIST: a list of distinct strings (multiselect: in option order; users: sorted).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from urllib.parse import urlsplit

from crmkit.entities.common import JSONValue
from crmkit.entities.fields import (
    FieldDefinition,
    FieldType,
    FieldValueError,
    Normalizer,
    Validator,
    ValueKind,
    trim,
)
from crmkit.policies.arguments import (
    FIRST_DAY,
    LAST_DAY,
    date_in_range,
    datetime_problem,
    has_bad_text,
    is_id,
)
from crmkit.policies.validation import half_width, is_valid_email, mobile_digits, normalize_mobile

__all__ = [
    "BUILTIN_FIELD_TYPES",
    "DEFAULT_MAX_LENGTH",
    "DEFAULT_PRECISION",
    "MAX_PRECISION",
    "definition_problems",
    "id_number_text",
    "is_empty",
    "is_stored_form",
    "plain",
]

DEFAULT_MAX_LENGTH = {"text": 255, "textarea": 5000}
"""Max length (characters) of a text/textarea value when the definition sets none."""
DEFAULT_PRECISION = 2
"""Decimal places of decimal/percent/money values when the definition sets none."""
MAX_PRECISION = 10
MAX_INTEGER = 2**53 - 1
"""Integers stay within ±(2**53 - 1) so every JSON reader (browsers included) reads them exactly."""
MAX_DECIMAL_DIGITS = 18
"""Integer digits a decimal value may have (|value| < 10**18)."""
URL_MAX_LENGTH = 2048
MAX_LIST_ITEMS = 1000
"""Most items a multiselect/users value may hold."""
ID_MAX_LENGTH = 64

_DECIMAL = re.compile(r"^[+-]?[0-9]{1,40}(\.[0-9]{1,40})?$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
_PHONE = re.compile(r"^\+?[0-9 \-()]{5,20}$")
_HOST = re.compile(r"^[^\s/\\@?#]+$")
_ID_NUMBER = re.compile(r"^[0-9]{17}[0-9X]$")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


_ANY_FIELD = FieldDefinition("", "", "", "", "")
"""A definition with no settings, for checking stored forms."""


def is_empty(value: JSONValue) -> bool:
    """No value at all: None, "", or an empty list. Field types never see these; a required
    field rejects them before its type is asked."""
    return value is None or value == "" or (isinstance(value, list | tuple) and not value)


# --- helpers ---------------------------------------------------------------------------------


def _type_error(expected_en: str, expected_zh: str) -> FieldValueError:
    return FieldValueError("type", f"应为{expected_zh}", f"must be {expected_en}")


def _require_str(raw: JSONValue) -> str:
    if not isinstance(raw, str):
        raise _type_error("a string", "字符串")
    return raw


def plain(text: str) -> str:
    """Half-width and trimmed: how numbers, dates, addresses and codes are compared."""
    return half_width(text).strip()


def id_number_text(text: str) -> str:
    """An ID number (or part of one) as stored: half-width, no spaces, upper case."""
    return re.sub(r"\s", "", half_width(text)).upper()


def _require_str_list(raw: JSONValue) -> list[str]:
    if isinstance(raw, str) or not isinstance(raw, list | tuple):
        raise _type_error("a list of strings", "字符串列表")
    if not all(isinstance(item, str) for item in raw):
        raise _type_error("a list of strings", "字符串列表")
    if len(raw) > MAX_LIST_ITEMS:
        raise FieldValueError(
            "too_long",
            f"项数过多（最多 {MAX_LIST_ITEMS} 项）",
            f"has too many items (max {MAX_LIST_ITEMS})",
        )
    if len(set(raw)) != len(raw):
        duplicates = sorted(item for item, count in Counter(raw).items() if count > 1)
        raise FieldValueError(
            "duplicate",
            f"包含重复项：{'、'.join(duplicates)}",
            f"lists {', '.join(duplicates)} more than once",
        )
    return list(raw)


def _bound(text: str | None) -> Decimal | None:
    """A definition's min/max (a decimal string) as a Decimal; None when unset."""
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        raise FieldValueError(
            "definition.invalid",
            f"无法校验：字段的最小/最大值 {text!r} 不是数字",
            f"cannot be checked: the field's min/max {text!r} is not a number",
        )
    return Decimal(text)


def _check_range(value: Decimal | int, definition: FieldDefinition) -> None:
    low, high = _bound(definition.min_value), _bound(definition.max_value)
    if low is not None and value < low:
        raise FieldValueError("range.min", f"不能小于 {low}", f"must be at least {low}")
    if high is not None and value > high:
        raise FieldValueError("range.max", f"不能大于 {high}", f"must be at most {high}")


def _check_length(value: str, limit: int) -> None:
    if len(value) > limit:
        raise FieldValueError(
            "too_long",
            f"超出最大长度（最多 {limit} 个字符）",
            f"is too long (max {limit} characters)",
        )


# --- validators ------------------------------------------------------------------------------


def _text(default_max: int) -> Validator:
    def validate(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
        value = _require_str(raw).strip()
        if has_bad_text(value):
            raise FieldValueError(
                "format.text", "不能包含空字符（NUL）或孤立代理字符",
                "must not contain NUL characters or lone surrogates",
            )
        _check_length(value, definition.max_length or default_max)
        return value

    return validate


def _integer(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    if type(raw) is not int:
        raise _type_error("an integer", "整数")
    if not -MAX_INTEGER <= raw <= MAX_INTEGER:
        code = "range.max" if raw > 0 else "range.min"
        raise FieldValueError(
            code, f"超出可存储的范围（±{MAX_INTEGER}）", f"must be within ±{MAX_INTEGER}"
        )
    _check_range(raw, definition)
    return raw


def _bad_decimal() -> FieldValueError:
    return FieldValueError(
        "format.decimal", "不是有效的数字（例如 12.50）", "is not a decimal number like 12.50"
    )


def _to_decimal(raw: JSONValue) -> Decimal:
    if type(raw) is int:
        return Decimal(raw)
    if isinstance(raw, Decimal):
        if not raw.is_finite():
            raise _bad_decimal()
        return raw
    if isinstance(raw, str):
        text = plain(raw)
        if not _DECIMAL.fullmatch(text):
            raise _bad_decimal()
        return Decimal(text)
    raise _type_error("an integer or a decimal string", "整数或数字字符串")


def _decimal(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    value = _to_decimal(raw)
    if value != 0 and value.adjusted() >= MAX_DECIMAL_DIGITS:
        code = "range.max" if value > 0 else "range.min"
        raise FieldValueError(
            code,
            f"整数部分最多 {MAX_DECIMAL_DIGITS} 位",
            f"must have at most {MAX_DECIMAL_DIGITS} integer digits",
        )
    places = DEFAULT_PRECISION if definition.precision is None else definition.precision
    quantum = Decimal(1).scaleb(-places)
    try:
        stored = value.quantize(quantum, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # pragma: no cover - bounded above; defensive
        stored = None
    if stored is None or stored != value:
        raise FieldValueError(
            "decimal.precision",
            f"小数位数不能超过 {places} 位",
            f"has more than {places} decimal places",
        )
    _check_range(stored, definition)
    if stored.is_zero():
        stored = abs(stored)  # no "-0.00"
    return format(stored, "f")


def _out_of_range(code: str) -> FieldValueError:
    return FieldValueError(
        code, f"必须在 {FIRST_DAY} 与 {LAST_DAY} 之间",
        f"must lie between {FIRST_DAY} and {LAST_DAY}",
    )


def _date(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    if isinstance(raw, date) and not isinstance(raw, datetime):
        day = raw
    else:
        value = plain(_require_str(raw))
        try:
            if not _DATE.fullmatch(value):
                raise ValueError(value)
            day = date.fromisoformat(value)
        except ValueError:
            raise FieldValueError(
                "format.date", "不是有效的日期（例如 2024-05-01）", "is not a date like 2024-05-01"
            ) from None
    if not date_in_range(day):
        raise _out_of_range("range.min" if day < FIRST_DAY else "range.max")
    return day.isoformat()


def _not_datetime() -> FieldValueError:
    return FieldValueError(
        "format.datetime",
        "不是带时区的有效时间（例如 2024-05-01T09:30:00+08:00）",
        "is not a date-time with a timezone like 2024-05-01T09:30:00+08:00",
    )


def _datetime(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    if isinstance(raw, datetime):
        parsed = raw
    else:
        text = plain(_require_str(raw))
        if len(text) > 64:
            raise _not_datetime()
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise _not_datetime() from None
    problem = datetime_problem(parsed)
    if problem == "format.datetime":
        raise _not_datetime()
    if problem is not None:
        raise _out_of_range(problem)
    return parsed.astimezone(UTC).isoformat(timespec="microseconds")


def _boolean(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    if not isinstance(raw, bool):
        raise _type_error("true or false", "布尔值（true 或 false）")
    return raw


def _not_an_option(value: str, definition: FieldDefinition) -> FieldValueError:
    return FieldValueError(
        "option", f"“{value}”不是可选项", f"{value!r} is not one of the options"
    )


def _select(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    value = _require_str(raw)
    if value not in definition.options:
        raise _not_an_option(value, definition)
    return value


def _multiselect(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    values = _require_str_list(raw)
    position = {option: index for index, option in enumerate(definition.options)}
    for value in values:
        if value not in position:
            raise _not_an_option(value, definition)
    return sorted(values, key=position.__getitem__)


def _mobile(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    normalised = normalize_mobile(_require_str(raw))
    if normalised is None:
        raise FieldValueError(
            "format.mobile", "不是有效的手机号", "is not a valid mainland China mobile number"
        )
    return normalised


def _phone(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    value = plain(_require_str(raw))
    if not _PHONE.fullmatch(value) or sum(ch in "0123456789" for ch in value) < 5:
        raise FieldValueError(
            "format.phone",
            "不是有效的电话号码（数字、空格、横线、括号，例如 010-12345678）",
            "is not a phone number (digits, spaces, dashes, parentheses; e.g. 010-12345678)",
        )
    return value


def _email(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    value = plain(_require_str(raw))
    # is_valid_email's "$" also matches before a trailing newline: refuse whitespace here
    if any(ch.isspace() for ch in value) or not is_valid_email(value):
        raise FieldValueError("format.email", "不是有效的邮箱地址", "is not a valid email address")
    return value


def _url(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    value = plain(_require_str(raw))
    _check_length(value, URL_MAX_LENGTH)
    bad = FieldValueError(
        "format.url",
        "不是有效的网址（例如 https://example.com）",
        "is not an http(s) address like https://example.com",
    )
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise bad
    try:
        parts = urlsplit(value)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise bad from None
    host = parts.hostname or ""
    if parts.scheme.lower() not in {"http", "https"} or not host or not _HOST.fullmatch(host):
        raise bad
    return value


def _id_number(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    """身份证号: 18 characters, 17 digits and a check character (a digit or X, GB 11643)."""
    value = id_number_text(_require_str(raw))
    if not _ID_NUMBER.fullmatch(value):
        raise FieldValueError(
            "format.id_number",
            "不是有效的身份证号（17 位数字加一位数字或 X）",
            "is not an ID number (17 digits and a digit or X)",
        )
    total = sum(int(digit) * weight for digit, weight in zip(value, _ID_WEIGHTS, strict=False))
    if _ID_CHECK[total % 11] != value[17]:
        raise FieldValueError(
            "checksum.id_number", "校验位不正确", "has a wrong check character"
        )
    return value


def _identifier(raw: JSONValue) -> str:
    value = _require_str(raw)
    if not is_id(value):
        raise FieldValueError(
            "format.id",
            f"不是有效的 ID（1–{ID_MAX_LENGTH} 个字符，不含空白）",
            f"is not an id (1–{ID_MAX_LENGTH} characters, no spaces)",
        )
    return value


def _id(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    return _identifier(raw)


def _ids(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    return sorted(_identifier(item) for item in _require_str_list(raw))


def is_stored_form(kind: ValueKind, value: object) -> bool:
    """Whether ``value`` is what a field of value kind ``kind`` stores (the forms listed at the
    top of this module). A plugin's validator must return one of these; anything else would be
    stored in memory and then fail, or compare differently, on SQL."""
    if kind is ValueKind.TEXT:
        return isinstance(value, str) and not has_bad_text(value)
    if kind is ValueKind.INTEGER:
        return type(value) is int and -MAX_INTEGER <= value <= MAX_INTEGER
    if kind is ValueKind.BOOLEAN:
        return isinstance(value, bool)
    if kind is ValueKind.LIST:
        return (isinstance(value, list) and len(value) <= MAX_LIST_ITEMS
                and all(isinstance(v, str) and not has_bad_text(v) for v in value)
                and len(set(value)) == len(value))
    if not isinstance(value, str):
        return False
    try:
        if kind is ValueKind.DECIMAL:
            number = _to_decimal(value)
            return number == 0 or number.adjusted() < MAX_DECIMAL_DIGITS
        normalise = _date if kind is ValueKind.DATE else _datetime
        return bool(normalise(value, _ANY_FIELD) == value)
    except FieldValueError:
        return False


def _builtin(
    name: str, kind: ValueKind, zh: str, en: str, validate: Validator, *, options: bool = False,
    normalize: Normalizer = plain,
) -> FieldType:
    return FieldType(
        name=name, value_kind=kind, label_zh=zh, label_en=en, validate=validate,
        options_required=options, normalize=normalize,
    )


BUILTIN_FIELD_TYPES: tuple[FieldType, ...] = (
    _builtin("text", ValueKind.TEXT, "单行文本", "Text", _text(DEFAULT_MAX_LENGTH["text"]),
             normalize=trim),
    _builtin(
        "textarea", ValueKind.TEXT, "多行文本", "Long text", _text(DEFAULT_MAX_LENGTH["textarea"]),
        normalize=trim,
    ),
    _builtin("integer", ValueKind.INTEGER, "整数", "Integer", _integer),
    _builtin("decimal", ValueKind.DECIMAL, "小数", "Decimal", _decimal),
    _builtin("percent", ValueKind.DECIMAL, "百分数", "Percent", _decimal),
    _builtin("money", ValueKind.DECIMAL, "货币", "Money", _decimal),
    _builtin("date", ValueKind.DATE, "日期", "Date", _date),
    _builtin("datetime", ValueKind.DATETIME, "日期时间", "Date and time", _datetime),
    _builtin("boolean", ValueKind.BOOLEAN, "布尔值", "Yes/no", _boolean),
    _builtin("select", ValueKind.TEXT, "单选", "Select", _select, options=True, normalize=trim),
    _builtin("multiselect", ValueKind.LIST, "多选", "Multi-select", _multiselect, options=True,
             normalize=trim),
    _builtin("mobile", ValueKind.TEXT, "手机", "Mobile", _mobile, normalize=mobile_digits),
    _builtin("id_number", ValueKind.TEXT, "身份证号", "ID number", _id_number,
             normalize=id_number_text),
    _builtin("phone", ValueKind.TEXT, "电话", "Phone", _phone),
    _builtin("email", ValueKind.TEXT, "邮箱", "Email", _email),
    _builtin("url", ValueKind.TEXT, "网址", "URL", _url),
    _builtin("user", ValueKind.TEXT, "员工", "User", _id),
    _builtin("users", ValueKind.LIST, "多个员工", "Users", _ids),
    _builtin("department", ValueKind.TEXT, "部门", "Department", _id),
    _builtin("record", ValueKind.TEXT, "关联记录", "Record reference", _id),
)
"""The built-in types, in the order forms list them."""


def definition_problems(
    definition: FieldDefinition, field_type: FieldType
) -> list[tuple[str, str, str, str]]:
    """What is wrong with a definition's settings for its type, as
    ``(attribute, code, message_zh, message_en)``; empty when it is usable.

    Checks options (present and distinct where the type needs them), precision (0–10), min/max
    (decimal strings, min ≤ max), max length (positive) and, for ``record``, the referenced kind.
    The default value is not checked here: validate it like any other value.
    """
    problems: list[tuple[str, str, str, str]] = []
    options: Sequence[str] = definition.options
    if field_type.options_required and not options:
        problems.append(
            ("options", "options.missing", "至少需要一个选项", "needs at least one option")
        )
    if len(set(options)) != len(options):
        problems.append(("options", "options.duplicate", "选项重复", "lists an option twice"))
    if any(not isinstance(o, str) or not o.strip() for o in options):
        problems.append(("options", "options.blank", "存在空白选项", "has a blank option"))
    if definition.precision is not None and not 0 <= definition.precision <= MAX_PRECISION:
        problems.append(
            (
                "precision",
                "precision.range",
                f"小数位数应在 0 到 {MAX_PRECISION} 之间",
                f"must be between 0 and {MAX_PRECISION}",
            )
        )
    if definition.max_length is not None and definition.max_length < 1:
        problems.append(("max_length", "max_length.range", "必须大于 0", "must be positive"))
    bounds: dict[str, Decimal] = {}
    for attribute in ("min_value", "max_value"):
        text = getattr(definition, attribute)
        if text is None or text == "":
            continue
        if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
            problems.append(
                (attribute, "format.decimal", "不是有效的数字", "is not a decimal number")
            )
        else:
            bounds[attribute] = Decimal(text)
    if len(bounds) == 2 and bounds["min_value"] > bounds["max_value"]:
        problems.append(
            ("max_value", "range.order", "不能小于最小值", "is below the minimum")
        )
    if field_type.name == "record" and not definition.reference_kind:
        problems.append(
            (
                "reference_kind",
                "required",
                "关联记录字段必须指定记录类型",
                "is required for a record reference",
            )
        )
    return problems
