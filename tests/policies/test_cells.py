"""Cell rules of import/export (crmkit.policies.cells): formula injection neutralised on the way
out and refused on the way in; values read back exactly as written; what people type read."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.fields import FieldValueError, ValueKind
from crmkit.policies.cells import (
    cell_text,
    is_formula,
    neutralised,
    raw_value,
    split_list,
    unescaped,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize("text", ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "\t=1",
                                  "\r=1"])
def test_a_text_a_spreadsheet_would_run_is_written_with_an_apostrophe(text: str) -> None:
    assert neutralised(text) == "'" + text
    assert not is_formula(neutralised(text))


@given(st.text(max_size=20) | st.text("'=+-@a", max_size=5))
def test_a_neutralised_text_reads_back_as_itself(text: str) -> None:
    assert unescaped(neutralised(text)) == text


def test_a_cell_that_is_a_formula_is_recognised() -> None:
    assert is_formula("=1+1") and is_formula("  =HYPERLINK(1)")
    assert not is_formula("'=1+1") and not is_formula("1=1") and not is_formula(5)


@given(st.decimals(allow_nan=False, allow_infinity=False, places=2,
                   min_value=Decimal(-10) ** 17, max_value=Decimal(10) ** 17))
def test_a_decimal_cell_keeps_every_digit(value: Decimal) -> None:
    text = cell_text(ValueKind.DECIMAL, value, SHANGHAI)
    assert Decimal(str(raw_value(ValueKind.DECIMAL, text, SHANGHAI))) == value


@given(st.datetimes(min_value=datetime(1001, 1, 1), max_value=datetime(9998, 1, 1),
                    timezones=st.just(UTC)))
def test_a_datetime_cell_in_local_time_reads_back_as_the_same_instant(moment: datetime) -> None:
    text = cell_text(ValueKind.DATETIME, moment, SHANGHAI)
    assert "+" not in text  # the organisation's wall-clock time
    read = datetime.fromisoformat(str(raw_value(ValueKind.DATETIME, text, SHANGHAI)))
    assert read == moment


@pytest.mark.parametrize("typed", ["2026-11-02", "2026/11/2", "2026.11.02", "2026年11月2日",
                                   datetime(2026, 11, 2, 0, 0), date(2026, 11, 2)])
def test_dates_are_read_as_people_write_them(typed: object) -> None:
    assert raw_value(ValueKind.DATE, typed, SHANGHAI) == "2026-11-02"


@pytest.mark.parametrize(("typed", "instant"), [
    ("2026-11-02 09:30", datetime(2026, 11, 2, 1, 30, tzinfo=UTC)),
    ("2026/11/2 9:30:15", datetime(2026, 11, 2, 1, 30, 15, tzinfo=UTC)),
    ("2026-11-02T09:30:00+00:00", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    ("2026-11-02 09:30:00Z", datetime(2026, 11, 2, 9, 30, tzinfo=UTC)),
    ("2026-11-02", datetime(2026, 11, 1, 16, 0, tzinfo=UTC)),
    (datetime(2026, 11, 2, 9, 30), datetime(2026, 11, 2, 1, 30, tzinfo=UTC)),
])
def test_times_are_read_in_the_organisation_timezone_unless_they_say_otherwise(
        typed: object, instant: datetime) -> None:
    read = datetime.fromisoformat(str(raw_value(ValueKind.DATETIME, typed, SHANGHAI)))
    assert read == instant and read.utcoffset() is not None


def test_a_date_that_is_no_date_is_handed_to_the_field_type_as_typed() -> None:
    assert raw_value(ValueKind.DATE, "2026-13-45", SHANGHAI) == "2026-13-45"
    assert raw_value(ValueKind.DATETIME, "下周一", SHANGHAI) == "下周一"


@pytest.mark.parametrize(("typed", "value"), [("是", True), ("否", False), ("TRUE", True),
                                              ("no", False), ("1", True), (0, False),
                                              (True, True), ("√", True)])
def test_booleans_are_read_in_chinese_and_english(typed: object, value: bool) -> None:
    assert raw_value(ValueKind.BOOLEAN, typed, SHANGHAI) is value


def test_a_boolean_cell_that_is_neither_is_refused() -> None:
    with pytest.raises(FieldValueError) as refused:
        raw_value(ValueKind.BOOLEAN, "也许", SHANGHAI)
    assert refused.value.code == "format.boolean"


@pytest.mark.parametrize(("typed", "value"), [("12", 12), (12.0, 12), ("-3", -3),
                                              ("1,200", 1200), (7, 7)])
def test_integers_are_read_from_text_and_spreadsheet_numbers(typed: object, value: int) -> None:
    assert raw_value(ValueKind.INTEGER, typed, SHANGHAI) == value


@pytest.mark.parametrize("typed", ["1.5", 1.5, "十二", True])
def test_an_integer_cell_that_is_no_integer_is_refused(typed: object) -> None:
    with pytest.raises(FieldValueError):
        raw_value(ValueKind.INTEGER, typed, SHANGHAI)


def test_spreadsheet_numbers_in_text_fields_read_as_the_digits_typed() -> None:
    assert raw_value(ValueKind.TEXT, 13800000000.0, SHANGHAI) == "13800000000"
    assert raw_value(ValueKind.DECIMAL, 0.1, SHANGHAI) == "0.1"
    assert raw_value(ValueKind.TEXT, "'=literal", SHANGHAI) == "=literal"


def test_lists_are_split_on_semicolons_of_either_width() -> None:
    assert split_list("大客户; 老客户；新客户;") == ["大客户", "老客户", "新客户"]
    assert raw_value(ValueKind.LIST, "甲;'=乙", SHANGHAI) == ["甲", "=乙"]
    assert cell_text(ValueKind.LIST, ["甲", "=乙"], SHANGHAI) == "甲;'=乙"


def test_booleans_and_times_are_written_for_people() -> None:
    assert cell_text(ValueKind.BOOLEAN, True, SHANGHAI) == "是"
    assert cell_text(ValueKind.BOOLEAN, False, SHANGHAI, "en") == "no"
    moment = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    assert cell_text(ValueKind.DATETIME, moment, SHANGHAI) == "2026-11-02 09:30:00"
    assert cell_text(ValueKind.DATETIME, moment + timedelta(microseconds=5),
                     SHANGHAI) == "2026-11-02 09:30:00.000005"
    assert cell_text(ValueKind.TEXT, None, SHANGHAI) == ""
