"""Field validation helpers: collect every bad field, then raise one ValidationError."""

from __future__ import annotations

import re
from collections.abc import Mapping

from crmkit.errors import FieldError, ValidationError

_MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}$")

MESSAGES: dict[str, tuple[str, str]] = {
    "required": ("必填", "is required"),
    "blank": ("不能为空", "must not be blank"),
    "too_long": ("超出最大长度", "is too long"),
    "format.mobile": ("不是有效的手机号", "is not a valid mainland China mobile number"),
    "format.email": ("不是有效的邮箱地址", "is not a valid email address"),
    "not_found": ("引用的对象不存在", "refers to something that does not exist"),
    "unique": ("已被占用", "is already taken"),
    "type": ("类型错误", "has the wrong type"),
    "unknown_field": ("不是可识别的字段", "is not a known field"),
    "invalid": ("取值无效", "is invalid"),
    "format.id": ("不是有效的 ID（1–64 个字符，不含空白或控制字符）",
                  "is not an id (1–64 characters, no spaces or control characters)"),
    "password.too_short": ("密码至少 8 位", "must have at least 8 characters"),
    "followup.in_future": ("不能晚于当前时间（允许 5 分钟误差）",
                           "must not be in the future (5 minutes of clock skew allowed)"),
    "file.name_invalid": (
        "不能包含斜杠、控制字符或双向文本控制符",
        "must not contain slashes, control characters or bidirectional overrides",
    ),
}


def field_error(path: str, code: str, detail: str = "", *,
                messages: Mapping[str, tuple[str, str]] = MESSAGES) -> FieldError:
    """A FieldError at ``path`` with the catalogued Chinese and English messages for ``code``
    (``messages`` maps a code to ``(zh, en)``; an uncatalogued code stands for itself), the
    path in front and ``detail`` after: ``$.name 必填`` / ``$.name is required``."""
    zh, en = messages.get(code, (code, code))
    return FieldError(path, code, f"{path} {zh}{detail}", f"{path} {en}{detail}")


FILE_NAME_MAX = 255
"""Longest attachment file name (characters), as most file systems allow."""
_FILE_NAME_BAD = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff/\\\\]"
)


def file_name_problem(name: object) -> str | None:
    """What is wrong with an attachment's file name, as a code, or None.

    A name is text of 1–255 characters, not blank, not ``.`` or ``..``, without ``/`` or
    ``\\``, control characters (CR, LF, NUL …), bidirectional overrides and marks (U+202A–202E,
    U+2066–2069, U+200E/200F, U+061C: they make ``invoice‮fdp.exe`` read as ``invoiceexe.pdf``)
    or lone surrogates. Such names are refused, never silently cleaned: the user sees why.
    """
    if not isinstance(name, str):
        return "type"
    if not name.strip() or name in {".", ".."}:
        return "blank"
    if len(name) > FILE_NAME_MAX:
        return "too_long"
    if _FILE_NAME_BAD.search(name):
        return "file.name_invalid"
    return None


_FULL_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


def half_width(text: str) -> str:
    """Full-width ASCII (１３８, ＡＢＣ, ＠, the ideographic space) as plain ASCII: what a Chinese
    input method types is stored and compared like what an English one types."""
    return text.translate(_FULL_WIDTH)


def mobile_digits(raw: str) -> str:
    """A mobile number or a part of one as typed, without full-width digits, spaces, dashes and
    a leading +86 (or 86 before 11 digits)."""
    digits = re.sub(r"[\s\-]", "", half_width(raw))
    if digits.startswith("+86"):
        return digits[3:]
    if digits.startswith("86") and len(digits) == 13:
        return digits[2:]
    return digits


def normalize_mobile(raw: str) -> str | None:
    """A mainland mobile number (11 digits starting 1[3-9]); accepts +86/86, spaces, dashes and
    full-width digits."""
    digits = mobile_digits(raw)
    return digits if _MOBILE.fullmatch(digits) else None


def is_valid_email(raw: str) -> bool:
    return len(raw) <= 254 and _EMAIL.fullmatch(raw) is not None


class Problems:
    """Collects field errors by path; :meth:`raise_if_any` raises them together."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, path: str, code: str, detail_zh: str = "", detail_en: str = "") -> None:
        zh, en = MESSAGES.get(code, (code, code))
        self.errors.append(
            FieldError(path, code, f"{path} {zh}{detail_zh}", f"{path} {en}{detail_en}")
        )

    def text(self, path: str, value: str | None, *, required: bool, max_length: int) -> None:
        """Check a text field: present when required, not blank, not longer than allowed."""
        if value is None:
            if required:
                self.add(path, "required")
            return
        if required and not value.strip():
            self.add(path, "blank")
        elif len(value) > max_length:
            self.add(path, "too_long", f"（最多 {max_length}）", f" (max {max_length})")

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
