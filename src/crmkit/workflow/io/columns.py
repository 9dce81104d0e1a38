"""Sheet columns of one record kind: which fields a file holds, under which headers, and how a
field's value becomes a cell and a cell the value a field type validates.

Headers are field labels (``客户名称``; ``label[key]`` when two fields share a label); a header
is matched by label (Chinese or English), by key or by that ``label[key]`` form, a trailing
``*`` (required, in templates) ignored. Users are written by name and read by name or mobile
(or id); departments by name (or id); select options stored as codes by their label
(:attr:`RecordKind.option_labels`), read by label or code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import tzinfo
from typing import Any

import attrs

from crmkit.entities import Department, User
from crmkit.entities.common import JSONValue
from crmkit.entities.fields import FieldDefinition, FieldValueError, ValueKind
from crmkit.entities.kinds import RecordKind
from crmkit.entities.query import FieldRef
from crmkit.policies.cells import cell_text, is_formula, raw_value, unescaped
from crmkit.policies.query_eval import field_value
from crmkit.workflow.fields import FieldSet

HISTORY_FIELDS = ("created_at", "received_at", "last_followup_at", "last_followup_content")
"""Times and notes a move from another system may carry (only through an import)."""
REQUIRED_MARK = "*"
_MARKS = "*＊ "
_TYPE_NOTES = {
    "date": ("日期，如 2026-11-02", "date, e.g. 2026-11-02"),
    "datetime": ("时间，如 2026-11-02 09:30", "time, e.g. 2026-11-02 09:30"),
    "user": ("员工姓名或手机号", "user name or mobile"),
    "users": ("员工姓名或手机号，用 ; 分隔", "user names or mobiles, separated by ;"),
    "department": ("部门名称", "department name"),
    "boolean": ("是/否", "yes/no"),
    "multiselect": ("可多选，用 ; 分隔", "several, separated by ;"),
}


@attrs.frozen
class SheetColumn:
    """One field in a file."""

    definition: FieldDefinition
    ref: FieldRef
    header: str

    @property
    def key(self) -> str:
        return self.definition.key


def label(definition: FieldDefinition, language: str) -> str:
    return definition.label_zh if language == "zh" else definition.label_en


def columns_of(fields: FieldSet, definitions: Sequence[FieldDefinition], language: str
               ) -> list[SheetColumn]:
    """Columns for these fields, headed by their labels (``label[key]`` for a shared label)."""
    labels = [label(d, language) for d in definitions]
    return [SheetColumn(d, fields.ref(d), text if labels.count(text) == 1 else f"{text}[{d.key}]")
            for d, text in zip(definitions, labels, strict=True)]


class Names:
    """Users and departments by id, name and mobile (one read of each per file)."""

    def __init__(self, users: Iterable[User], departments: Iterable[Department]) -> None:
        self.users = {u.id: u for u in users}
        self.departments = {d.id: d for d in departments}
        self._user_keys: dict[str, set[str]] = {}
        for user in self.users.values():
            for key in (user.name, user.mobile):
                self._user_keys.setdefault(key, set()).add(user.id)
        self._department_keys: dict[str, set[str]] = {}
        for department in self.departments.values():
            self._department_keys.setdefault(department.name, set()).add(department.id)

    def user_name(self, user_id: str) -> str:
        found = self.users.get(user_id)
        return found.name if found is not None else user_id

    def department_name(self, department_id: str) -> str:
        found = self.departments.get(department_id)
        return found.name if found is not None else department_id

    @staticmethod
    def _one(text: str, by_id: Mapping[str, Any], keys: Mapping[str, set[str]]) -> str:
        if text in by_id:
            return text
        found = keys.get(text, set())
        if len(found) > 1:
            raise FieldValueError("import.ambiguous", f"“{text}”对应多个，请改用手机号或 ID",
                                  f"{text!r} names several: use the mobile or the id")
        if not found:
            raise FieldValueError("not_found", f"“{text}”不存在", f"{text!r} does not exist")
        return next(iter(found))

    def user_id(self, text: str) -> str:
        return self._one(text, self.users, self._user_keys)

    def department_id(self, text: str) -> str:
        return self._one(text, self.departments, self._department_keys)


class Cells:
    """A kind's values ↔ cells in one language and timezone."""

    def __init__(self, declaration: RecordKind[Any], names: Names, tz: tzinfo,
                 language: str = "zh") -> None:
        self._labels = declaration.option_labels
        self._names = self.names = names
        self._tz = self.tz = tz
        self._language = 0 if language == "zh" else 1
        self.language = language
        self._codes: dict[str, dict[str, str]] = {
            key: {text: code for code, pair in labels.items() for text in (*pair, code)}
            for key, labels in self._labels.items()}

    def option_label(self, key: str, code: str) -> str:
        pair = self._labels.get(key, {}).get(code)
        return pair[self._language] if pair is not None else code

    def text(self, column: SheetColumn, record: Any) -> str:
        """The cell of ``column`` for ``record``."""
        value = field_value(record, column.ref)
        if value is None:
            return ""
        kind, field_type = column.ref.kind, column.definition.type
        if field_type in ("user", "users", "department"):
            name = (self._names.department_name if field_type == "department"
                    else self._names.user_name)
            value = [name(v) for v in value] if kind is ValueKind.LIST else name(value)
        elif column.key in self._labels:
            value = ([self.option_label(column.key, v) for v in value]
                     if kind is ValueKind.LIST else self.option_label(column.key, value))
        return cell_text(kind, value, self._tz, self.language)

    def value(self, column: SheetColumn, cell: object) -> JSONValue:
        """The raw value of a non-empty cell (FieldValueError when it cannot be one)."""
        if is_formula(cell):
            raise FieldValueError("import.formula", "是公式，不能导入（如需文本请以 ' 开头）",
                                  "is a formula and cannot be imported (start text with ')")
        raw = raw_value(column.ref.kind, cell, self._tz)
        field_type, key = column.definition.type, column.key
        if field_type in ("user", "department"):
            find = self._names.department_id if field_type == "department" else \
                self._names.user_id
            return find(str(raw))
        if field_type == "users" and isinstance(raw, list):
            return [self._names.user_id(str(item)) for item in raw]
        codes = self._codes.get(key)
        if codes is not None:
            if isinstance(raw, list):
                return [codes.get(str(item), item) for item in raw]
            return codes.get(str(raw), raw)
        return raw

    def choices(self, column: SheetColumn) -> list[str]:
        """The cells a single-choice column takes (its options' labels), for a template's
        drop-down; [] for any other column (a multiselect cell holds several)."""
        definition = column.definition
        if not definition.options or column.ref.kind is ValueKind.LIST:
            return []
        return [self.option_label(definition.key, o) for o in definition.options]

    def note(self, definition: FieldDefinition) -> str:
        """The hint a template shows under a header: required, the options, the format."""
        parts = []
        zh = self._language == 0
        if definition.required:
            parts.append("必填" if zh else "required")
        if definition.options:
            options = " / ".join(self.option_label(definition.key, o) for o in definition.options)
            parts.append(("可选：" if zh else "one of: ") + options)
        hint = _TYPE_NOTES.get(definition.type)
        if hint is not None and not (definition.type == "boolean" and definition.options):
            parts.append(hint[self._language])
        return ("；" if zh else "; ").join(parts)


def bare(header: object) -> str:
    """A header without the required mark, surrounding space and the apostrophe an export
    put in front of a label a spreadsheet would take for a formula."""
    return unescaped(str(header).strip()).strip(_MARKS) if header is not None else ""


def header_index(fields: FieldSet, usable: Iterable[FieldDefinition]
                 ) -> dict[str, list[FieldDefinition]]:
    """Header text → the usable fields it may name (key, both labels, ``label[key]``)."""
    index: dict[str, list[FieldDefinition]] = {}
    for definition in usable:
        for text in {definition.key, definition.label_zh, definition.label_en,
                     f"{definition.label_zh}[{definition.key}]",
                     f"{definition.label_en}[{definition.key}]"}:
            index.setdefault(text, []).append(definition)
    return index
