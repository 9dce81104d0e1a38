"""统一社会信用代码 (unified social credit code, GB 32100-2015) as a crmkit field type.

The module itself is the plugin: ``CRM(plugins=[crmkit_uscc])``, or install the distribution and
construct ``CRM(load_entrypoints=True)`` (it publishes ``uscc = "crmkit_uscc"`` in the ``crmkit``
entry-point group).

A code has 18 characters from ``0-9 A-H J-N P-R T U W-Y`` (no I, O, S, V, Z). The last one is a
check character: with the weights ``1, 3, 9, 27, …`` (3**i mod 31) over the first 17, it is
``CHARSET[(31 - sum % 31) % 31]``. Values are stored in upper case.
"""

from __future__ import annotations

from collections.abc import Callable

from crmkit.entities import JSONValue
from crmkit.entities.fields import FieldDefinition, FieldType, FieldValueError, ValueKind
from crmkit.hookspecs import hookimpl

__all__ = ["USCC", "check_character", "crmkit_register_field_types", "validate_uscc"]

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_VALUE = {char: index for index, char in enumerate(CHARSET)}


def check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code (upper case, valid charset)."""
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_uscc(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    """A field-type validator: ``raw`` → the stored code (upper case), or FieldValueError."""
    if not isinstance(raw, str):
        raise FieldValueError("type", "应为字符串", "must be a string")
    code = raw.upper()
    if len(code) != 18 or any(char not in _VALUE for char in code):
        raise FieldValueError(
            "format.uscc",
            "不是有效的统一社会信用代码（18 位数字或大写字母，不含 I、O、S、V、Z）",
            "is not a unified social credit code (18 characters: digits and capital letters "
            "except I, O, S, V, Z)",
        )
    if check_character(code[:17]) != code[17]:
        raise FieldValueError(
            "checksum.uscc",
            "校验位（最后一位）不正确，请检查是否输错",
            "has a wrong check character (the last one); is there a typo?",
        )
    return code


USCC = FieldType(
    name="uscc",
    value_kind=ValueKind.TEXT,
    label_zh="统一社会信用代码",
    label_en="Unified social credit code",
    validate=validate_uscc,
)


@hookimpl
def crmkit_register_field_types(register: Callable[[FieldType], None]) -> None:
    register(USCC)
