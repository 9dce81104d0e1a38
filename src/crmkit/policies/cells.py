"""Spreadsheet cells (导入/导出): how a field's value becomes the text of a cell, and how a
cell someone typed (or another system wrote) becomes the raw value a field type validates.

Written cells are text, so a value reads back exactly as it was stored (big decimals included;
a spreadsheet's float would round them):

- dates ``2026-11-02``; date-times in the organisation's timezone without an offset,
  ``2026-11-02 09:30:00`` (microseconds only when there are some); decimals as stored
  (``12.50``); booleans 是/否 (yes/no); lists joined with ``;``.
- **Formula injection** (CSV/Excel injection): a text that starts with ``=``, ``+``, ``-``, ``@``,
  a tab or a carriage return is written with a leading apostrophe, so a spreadsheet shows it
  as text instead of running it (``=cmd|' /C calc'!A0``). Reading drops that one apostrophe
  again; a cell that *is* a formula (starts with ``=``) is refused, never stored.

Read cells may be text (CSV) or typed (XLSX: int, float, bool, datetime). Dates are read as
``2026-11-02``, ``2026/11/2``, ``2026.11.2`` or ``2026年11月2日``; date-times the same with a time
(``9:30``, ``09:30:00``, ``.123456``), with an offset or in the organisation's timezone.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime, time, tzinfo
from decimal import Decimal
from typing import Any

from crmkit.entities.common import JSONValue
from crmkit.entities.fields import FieldValueError, ValueKind

__all__ = [
    "FORMULA_STARTS",
    "LIST_SEPARATOR",
    "cell_text",
    "is_formula",
    "neutralised",
    "raw_value",
    "split_list",
    "table_text",
    "unescaped",
]

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What makes a spreadsheet read a cell as a formula (OWASP: CSV injection)."""
LIST_SEPARATOR = ";"
"""Between the items of a list value (multiselect, users) in a cell; ``；`` is read too."""
YES_NO = {"zh": ("是", "否"), "en": ("yes", "no")}
_TRUE = frozenset({"是", "true", "yes", "y", "1", "对", "√", "✓"})
_FALSE = frozenset({"否", "false", "no", "n", "0", "错", "×", "✗"})
_ESCAPABLE = re.compile(r"^'*[=+\-@\t\r]")
_ESCAPED = re.compile(r"^'+[=+\-@\t\r]")
_SPLIT = re.compile(r"\s*[;；]\s*")
_DAY = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
_DATE = re.compile(rf"^{_DAY}$")
_DATETIME = re.compile(
    rf"^{_DAY}(?:[T ]\s*(\d{{1,2}}):(\d{{2}})(?::(\d{{2}})(?:\.(\d{{1,6}}))?)?)?"
    r"\s*(Z|[+-]\d{2}:?\d{2})?$")


def neutralised(text: str) -> str:
    """``text`` as a cell: an apostrophe in front when a spreadsheet would take it for a
    formula — or when it already starts with apostrophes before such a character, so that
    :func:`unescaped` gives it back unchanged."""
    return "'" + text if _ESCAPABLE.match(text) else text


def table_text(cell: object) -> str:
    """A table cell (a report's, a header) as written: None → empty, text
    :func:`neutralised`, numbers as they are (``-5`` stays a number)."""
    if cell is None:
        return ""
    return neutralised(cell) if isinstance(cell, str) else str(cell)


def unescaped(text: str) -> str:
    """A read cell without the apostrophe :func:`neutralised` put in front."""
    return text[1:] if text[:1] == "'" and _ESCAPED.match(text) else text


def is_formula(cell: object) -> bool:
    """Whether a read cell is a formula (``=…``): refused, never stored."""
    return isinstance(cell, str) and cell.lstrip().startswith("=")


def split_list(text: str) -> list[str]:
    """The items of a list cell (``a;b``, ``a； b``), empty items dropped."""
    return [item for item in _SPLIT.split(text.strip()) if item]


def local_text(moment: datetime, tz: tzinfo) -> str:
    """A stored (aware) date-time as the organisation's wall-clock time — with its offset
    only where the wall clock is ambiguous (the hour a summer time ends)."""
    local = moment.astimezone(tz)
    naive = local.replace(tzinfo=None)
    spec = "microseconds" if local.microsecond else "seconds"
    if naive.replace(tzinfo=tz) != moment:
        return local.isoformat(sep=" ", timespec=spec)
    return naive.isoformat(sep=" ", timespec=spec)


def cell_text(kind: ValueKind, value: Any, tz: tzinfo, language: str = "zh") -> str:
    """The text of a cell for a typed field value (None → empty); text is neutralised."""
    if value is None:
        return ""
    if kind is ValueKind.BOOLEAN:
        yes, no = YES_NO[language]
        return yes if value else no
    if kind is ValueKind.DATETIME:
        return local_text(value, tz)
    if kind is ValueKind.DATE:
        return str(value.isoformat())
    if kind is ValueKind.DECIMAL:
        return format(Decimal(value), "f")
    if kind is ValueKind.LIST:
        return LIST_SEPARATOR.join(neutralised(str(item)) for item in value)
    if kind is ValueKind.INTEGER:
        return str(value)
    return neutralised(str(value))


def _bad(code: str, zh: str, en: str) -> FieldValueError:
    return FieldValueError(code, zh, en)


def _whole(number: float) -> int | None:
    return int(number) if number.is_integer() and abs(number) < 2**63 else None


def _number_text(cell: int | float) -> str:
    """A spreadsheet number as the digits a person typed (``13800000000.0`` → ``13800000000``)."""
    if isinstance(cell, float):
        whole = _whole(cell)
        return str(whole) if whole is not None else format(Decimal(repr(cell)), "f")
    return str(cell)


def _day(match: Sequence[str | None]) -> date:
    year, month, day = (int(part or 0) for part in match[:3])
    return date(year, month, day)


def _date(cell: object) -> JSONValue:
    if isinstance(cell, datetime):
        return cell.date().isoformat()
    if isinstance(cell, date):
        return cell.isoformat()
    text = str(cell).strip()
    found = _DATE.match(text)
    if found is None:
        return text  # the field type says what is wrong with it
    try:
        return _day(found.groups()).isoformat()
    except ValueError:
        return text


def _datetime(cell: object, tz: tzinfo) -> JSONValue:
    if isinstance(cell, datetime):
        moment = cell
    elif isinstance(cell, date):
        moment = datetime.combine(cell, time())
    else:
        text = str(cell).strip()
        found = _DATETIME.match(text)
        if found is None:
            return text
        parts = found.groups()
        try:
            day = _day(parts)
            fraction = (parts[6] or "").ljust(6, "0")
            moment = datetime.combine(day, time(int(parts[3] or 0), int(parts[4] or 0),
                                                int(parts[5] or 0), int(fraction or 0)))
        except ValueError:
            return text
        offset = parts[7]
        if offset:
            iso = moment.isoformat() + ("+00:00" if offset == "Z" else
                                        offset[:3] + ":" + offset[-2:])
            return iso
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat()


def _boolean(cell: object) -> JSONValue:
    if isinstance(cell, bool):
        return cell
    if isinstance(cell, int | float):
        cell = _number_text(cell)
    word = str(cell).strip().lower()
    if word in _TRUE:
        return True
    if word in _FALSE:
        return False
    raise _bad("format.boolean", "应为 是/否", "must be yes or no (是/否)")


def _integer(cell: object) -> JSONValue:
    if isinstance(cell, bool):
        raise _bad("type", "应为整数", "must be an integer")
    if isinstance(cell, int):
        return cell
    if isinstance(cell, float):
        whole = _whole(cell)
        if whole is None:
            raise _bad("type", "应为整数", "must be an integer")
        return whole
    text = str(cell).strip().replace(",", "")
    if re.fullmatch(r"[+-]?\d{1,20}", text):
        return int(text)
    raise _bad("type", "应为整数", "must be an integer")


def raw_value(kind: ValueKind, cell: object, tz: tzinfo) -> JSONValue:
    """The raw value a field type validates for a non-empty read cell of a field of ``kind``
    (text unescaped; numbers, dates, booleans and lists typed). Raises FieldValueError for a
    cell that cannot be such a value; whether the value is valid is the field type's call."""
    if isinstance(cell, str):
        cell = unescaped(cell.strip())
    if kind is ValueKind.BOOLEAN:
        return _boolean(cell)
    if kind is ValueKind.INTEGER:
        return _integer(cell)
    if kind is ValueKind.DATE:
        return _date(cell)
    if kind is ValueKind.DATETIME:
        return _datetime(cell, tz)
    if isinstance(cell, bool):
        cell = YES_NO["zh"][0 if cell else 1]
    elif isinstance(cell, int | float):
        cell = _number_text(cell)
    elif isinstance(cell, datetime | date):
        cell = cell.isoformat()
    text = str(cell)
    if kind is ValueKind.LIST:
        return [unescaped(item) for item in split_list(text)]
    return text
