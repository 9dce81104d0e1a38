"""Field validation helpers: collect every bad field, then raise one ValidationError."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from crmkit.entities.records import RecordRef
from crmkit.entities.tasks import RELATED_KINDS
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
    "out_of_scope": ("不在你的数据范围内", "is outside your data scope"),
    "read_only": ("不能由你设置", "cannot be set by you"),
    "type": ("类型错误", "has the wrong type"),
    "unknown_field": ("不是可识别的字段", "is not a known field"),
    "invalid": ("取值无效", "is invalid"),
    "format.id": ("不是有效的 ID（1–64 个字符，不含空白或控制字符）",
                  "is not an id (1–64 characters, no spaces or control characters)"),
    "password.too_short": ("密码至少 8 位", "must have at least 8 characters"),
    "followup.in_future": ("不能晚于当前时间（允许 5 分钟误差）",
                           "must not be in the future (5 minutes of clock skew allowed)"),
    "related.kind": ("只能关联客户、联系人、商机或合同",
                    "must name a customer, contact, opportunity or contract"),
    "related.duplicate": ("重复关联同一条记录", "names the same record twice"),
    "too_many": ("条目过多", "holds too many entries"),
    "task.time_without_date": ("需要截止日期", "needs a due date"),
    "task.nested_subtask": ("只能是非子任务的任务（子任务只有一层）",
                           "must be a task that is not itself a subtask"),
    "task.has_subtasks": ("有子任务的任务不能成为子任务",
                         "cannot be set on a task that has subtasks"),
    "tag.name_taken": ("与您已有的标签重名", "is already one of your tags"),
    "tag.colour": ("不是有效的颜色", "is not a colour"),
    "repeat.until_and_count": ("不能与结束日期同时设置",
                              "cannot be set together with an end date"),
    "repeat.until_before_start": ("早于第一次日程", "lies before the first occurrence"),
    "repeat.weekdays_unsupported": ("该重复频率不能选择星期",
                                   "cannot be chosen for this frequency"),
    "event.ends_before_start": ("必须晚于开始时间", "must lie after the start"),
    "event.all_day_midnight": ("全天日程须从零点到零点", "must be midnight for an all-day event"),
    "work_log.period_start": ("不是该周期的第一天", "is not the first day of the period"),
    "work_log.empty": ("日志内容不能全部为空", "is empty: a log needs some text"),
    "range.min": ("低于允许的最小值", "is too small"),
    "range.max": ("超出允许的最大值", "is too large"),
    "range.order": ("不能早于开始日期", "must not lie before the start"),
    "choice": ("不是可选的值", "is not one of the choices"),
    "decimal.places": ("小数位数过多", "has too many decimal places"),
    "period.custom_only": ("只用于自定义周期", "is for a custom period only"),
    "target.one_holder": ("须指定一个员工或一个部门（二选一）",
                          "needs exactly one of a user and a department"),
    "target.twelve_months": ("须是 12 个月的目标值", "must hold 12 monthly values"),
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


_MOBILE_NOISE = re.compile(r"[\s\-]")


def mobile_digits(raw: str) -> str:
    """A mobile number or a part of one as typed, without full-width digits, spaces, dashes and
    a leading +86 (or 86 before 11 digits)."""
    digits = _MOBILE_NOISE.sub("", half_width(raw))
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

    def related(self, path: str, refs: Sequence[RecordRef], *, max_count: int = 50) -> None:
        """Check related records (相关业务): customers, contacts, opportunities or contracts,
        each once, at most ``max_count``."""
        if len(refs) > max_count:
            self.add(path, "too_many", f"（最多 {max_count} 条）", f" (max {max_count})")
        seen: set[RecordRef] = set()
        for index, ref in enumerate(refs):
            if ref.kind not in RELATED_KINDS:
                self.add(f"{path}[{index}].kind", "related.kind")
            elif ref in seen:
                self.add(f"{path}[{index}]", "related.duplicate")
            seen.add(ref)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationError(self.errors)
