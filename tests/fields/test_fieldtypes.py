"""The built-in field types: what each accepts, how it stores it, and what it rejects (by code)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.fields import FieldDefinition, FieldType, FieldValueError, ValueKind
from crmkit.policies.fieldtypes import BUILTIN_FIELD_TYPES, definition_problems, is_empty

TYPES = {t.name: t for t in BUILTIN_FIELD_TYPES}


def field(type_name: str, **settings: Any) -> FieldDefinition:
    return FieldDefinition(
        kind="lead", key="f", label_zh="字段", label_en="Field", type=type_name, **settings
    )


def ok(type_name: str, raw: Any, **settings: Any) -> Any:
    return TYPES[type_name].validate(raw, field(type_name, **settings))


def code_of(type_name: str, raw: Any, **settings: Any) -> str:
    with pytest.raises(FieldValueError) as caught:
        ok(type_name, raw, **settings)
    error = caught.value
    assert error.message_en and error.message_zh and error.message_en != error.message_zh
    return error.code


def test_every_required_type_is_built_in_with_its_value_kind() -> None:
    expected = {
        "text": ValueKind.TEXT, "textarea": ValueKind.TEXT, "integer": ValueKind.INTEGER,
        "decimal": ValueKind.DECIMAL, "percent": ValueKind.DECIMAL, "money": ValueKind.DECIMAL,
        "date": ValueKind.DATE, "datetime": ValueKind.DATETIME, "boolean": ValueKind.BOOLEAN,
        "select": ValueKind.TEXT, "multiselect": ValueKind.LIST, "mobile": ValueKind.TEXT,
        "phone": ValueKind.TEXT, "email": ValueKind.TEXT, "url": ValueKind.TEXT,
        "user": ValueKind.TEXT, "users": ValueKind.LIST, "department": ValueKind.TEXT,
        "record": ValueKind.TEXT, "id_number": ValueKind.TEXT,
    }
    assert {name: t.value_kind for name, t in TYPES.items()} == expected
    assert len(TYPES) == len(BUILTIN_FIELD_TYPES)
    assert {n for n, t in TYPES.items() if t.options_required} == {"select", "multiselect"}
    assert all(isinstance(t, FieldType) and t.label_zh and t.label_en for t in BUILTIN_FIELD_TYPES)


def test_is_empty() -> None:
    empties: tuple[Any, ...] = (None, "", [], ())
    assert all(is_empty(v) for v in empties)
    assert not any(is_empty(v) for v in (0, False, " ", ["a"], "0"))


# --- text ------------------------------------------------------------------------------------


def test_text_is_trimmed_and_its_length_limited() -> None:
    assert ok("text", "  上海某某科技\u3000") == "上海某某科技"
    assert ok("textarea", "\n第一行\n第二行 ") == "第一行\n第二行"
    assert ok("text", "x" * 255) == "x" * 255
    assert code_of("text", "x" * 256) == "too_long"
    assert ok("text", "x" * 300, max_length=300) == "x" * 300
    assert code_of("text", "abcd", max_length=3) == "too_long"
    assert ok("textarea", "第一行\n第二行" * 100)
    assert ok("textarea", "x" * 5000) and code_of("textarea", "x" * 5001) == "too_long"
    for bad in (1, True, ["a"], {"a": 1}, 1.5):
        assert code_of("text", bad) == "type"
        assert code_of("textarea", bad) == "type"
    assert code_of("text", "a\x00b") == "format.text"


# --- numbers ---------------------------------------------------------------------------------


def test_integer_is_a_strict_json_int_within_the_range() -> None:
    assert ok("integer", 0) == 0 and ok("integer", -42) == -42
    for bad in ("5", 5.0, True, False, None, [1]):
        assert code_of("integer", bad) == "type"
    assert ok("integer", 10, min_value="10", max_value="20") == 10
    assert ok("integer", 20, min_value="10", max_value="20") == 20
    assert code_of("integer", 9, min_value="10") == "range.min"
    assert code_of("integer", 21, max_value="20") == "range.max"
    assert code_of("integer", 2, min_value="2.5") == "range.min"
    assert ok("integer", 2**53 - 1) == 2**53 - 1
    assert code_of("integer", 2**53) == "range.max"
    assert code_of("integer", -(2**53)) == "range.min"


@pytest.mark.parametrize("type_name", ["decimal", "percent", "money"])
def test_decimals_are_stored_as_fixed_point_strings(type_name: str) -> None:
    assert ok(type_name, "12.5") == "12.50"
    assert ok(type_name, 12) == "12.00"
    assert ok(type_name, "-0.5") == "-0.50"
    assert ok(type_name, "-0") == "0.00"
    assert ok(type_name, "+3.10") == "3.10"
    assert ok(type_name, "007.100") == "7.10"
    assert ok(type_name, Decimal("1E+2")) == "100.00"
    assert ok(type_name, "12", precision=0) == "12"
    assert ok(type_name, "1.2345", precision=4) == "1.2345"
    assert code_of(type_name, "12.345") == "decimal.precision"
    assert code_of(type_name, "12.5", precision=0) == "decimal.precision"
    assert code_of(type_name, "0.001") == "decimal.precision"
    for wrong in (12.5, True, None, ["1"], {"v": "1"}):
        assert code_of(type_name, wrong) == "type"
    for bad in ("abc", "1e3", "NaN", "Infinity", "1 0", "1,000", "1_000", ".5", "5.", "¥12", "١٢"):
        assert code_of(type_name, bad) == "format.decimal", bad
    assert ok(type_name, " １２.５\u3000") == "12.50"  # trimmed, full-width digits
    assert code_of(type_name, Decimal("NaN")) == "format.decimal"
    assert code_of(type_name, "1" * 19) == "range.max"
    assert code_of(type_name, "-" + "1" * 19) == "range.min"
    assert ok(type_name, "9" * 18) == "9" * 18 + ".00"
    assert ok(type_name, "5", min_value="0", max_value="100") == "5.00"
    assert code_of(type_name, "-0.01", min_value="0") == "range.min"
    assert code_of(type_name, "100.01", max_value="100") == "range.max"
    assert code_of(type_name, "1", min_value="lots") == "definition.invalid"


@given(
    st.decimals(
        min_value=Decimal("-1e17"), max_value=Decimal("1e17"), places=2,
        allow_nan=False, allow_infinity=False,
    )
)
def test_money_round_trips(value: Decimal) -> None:
    for raw in (str(value), format(value, "f")):
        if "E" in raw:
            continue  # exponent notation is not an accepted input form
        stored = ok("money", raw)
        assert Decimal(stored) == value
        assert stored == format(value.quantize(Decimal("0.01")) + 0, "f")
        assert ok("money", stored) == stored, "validation is idempotent"


@given(st.integers(min_value=-(10**17), max_value=10**17), st.integers(0, 6))
def test_decimal_from_int_keeps_the_value(value: int, places: int) -> None:
    stored = ok("decimal", value, precision=places)
    assert Decimal(stored) == value
    assert len(stored.partition(".")[2]) == places


# --- dates and times -------------------------------------------------------------------------


def test_date() -> None:
    assert ok("date", "2024-02-29") == "2024-02-29"
    assert ok("date", date(2024, 5, 1)) == "2024-05-01"
    for bad in ("2023-02-29", "2024-13-01", "20240101", "2024-W01-1", "2024-5-1", "2024/05/01",
                "2024-05-01T00:00:00", "2024 -05-01", "tomorrow"):
        assert code_of("date", bad) == "format.date", bad
    assert ok("date", " ２０２４-０５-０１ ") == "2024-05-01"
    for wrong in (20240501, True, ["2024-05-01"]):
        assert code_of("date", wrong) == "type"


def test_datetime_is_stored_in_utc_fixed_width() -> None:
    assert ok("datetime", "2024-05-01T09:30:00+08:00") == "2024-05-01T01:30:00.000000+00:00"
    assert ok("datetime", "2024-05-01T01:30:00Z") == "2024-05-01T01:30:00.000000+00:00"
    assert ok("datetime", "2024-05-01T01:30:00.123+00:00") == "2024-05-01T01:30:00.123000+00:00"
    assert ok("datetime", "2024-01-01T00:30:00+01:00") == "2023-12-31T23:30:00.000000+00:00"
    aware = datetime(2024, 5, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    assert ok("datetime", aware) == "2024-05-01T01:30:00.000000+00:00"
    for bad in ("2024-05-01T09:30:00", "2024-05-01", "yesterday", "2024-05-01T25:00:00+08:00",
                "x" * 100):
        assert code_of("datetime", bad) == "format.datetime", bad
    # years 1000–9998 in UTC: no timezone shift overflows on any backend
    assert code_of("datetime", "0001-01-01T00:00:00+01:00") == "range.min"
    assert code_of("datetime", "0999-12-31T23:59:59+00:00") == "range.min"
    assert code_of("datetime", "9999-12-31T23:59:59-14:00") == "range.max"
    assert ok("datetime", "1000-01-01T00:00:00+00:00") == "1000-01-01T00:00:00.000000+00:00"
    assert code_of("datetime", datetime(2024, 5, 1)) == "format.datetime"
    for wrong in (1714527000, True, None):
        assert code_of("datetime", wrong) == "type"


aware_datetimes = st.datetimes(
    min_value=datetime(1900, 1, 2), max_value=datetime(9998, 12, 30),
    timezones=st.sampled_from(
        [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30)),
         timezone(timedelta(hours=14))]
    ),
)


@given(aware_datetimes, aware_datetimes)
def test_datetime_string_order_is_time_order(a: datetime, b: datetime) -> None:
    sa, sb = ok("datetime", a.isoformat()), ok("datetime", b.isoformat())
    assert len(sa) == len(sb) == len("2024-05-01T01:30:00.000000+00:00")
    assert (sa < sb) == (a < b) and (sa == sb) == (a == b)
    assert datetime.fromisoformat(sa) == a


# --- boolean, select, multiselect ------------------------------------------------------------


def test_boolean() -> None:
    assert ok("boolean", True) is True and ok("boolean", False) is False
    for bad in (1, 0, "true", "是", None):
        assert code_of("boolean", bad) == "type"


def test_select_and_multiselect() -> None:
    levels = ("A 重点", "B 普通", "C 非优先")
    assert ok("select", "B 普通", options=levels) == "B 普通"
    assert code_of("select", "D", options=levels) == "option"
    assert code_of("select", "b 普通", options=levels) == "option"
    assert code_of("select", 1, options=levels) == "type"
    assert code_of("select", "A 重点") == "option", "no options: nothing is allowed"
    assert ok("multiselect", ["C 非优先", "A 重点"], options=levels) == ["A 重点", "C 非优先"]
    assert ok("multiselect", ("B 普通",), options=levels) == ["B 普通"]
    assert code_of("multiselect", ["A 重点", "X"], options=levels) == "option"
    assert code_of("multiselect", ["A 重点", "A 重点"], options=levels) == "duplicate"
    for bad in ("A 重点", [1], {"A 重点": True}, [None]):
        assert code_of("multiselect", bad, options=levels) == "type"


@given(st.lists(st.sampled_from("abcdefg"), unique=True, min_size=1))
def test_multiselect_is_stored_in_option_order(chosen: list[str]) -> None:
    options = tuple("gfedcba")
    stored = ok("multiselect", chosen, options=options)
    assert stored == [o for o in options if o in chosen]


# --- contact details -------------------------------------------------------------------------


def test_mobile_is_normalised() -> None:
    assert ok("mobile", "13800000000") == "13800000000"
    assert ok("mobile", "+86 138-0000-0000") == "13800000000"
    assert ok("mobile", "8613800000000") == "13800000000"
    assert ok("mobile", "＋８６ １３８００００００００") == "13800000000"  # full-width
    assert ok("mobile", " 138 0000 0000\u3000") == "13800000000"
    for bad in ("12800000000", "1380000000", "138000000001", "phone", "010-12345678"):
        assert code_of("mobile", bad) == "format.mobile", bad
    assert code_of("mobile", 13800000000) == "type"


def test_phone() -> None:
    for good in ("010-12345678", "(0755) 8888 6666", "+86 10 1234 5678", "95588", "13800000000",
                 "400-800-8888"):
        assert ok("phone", good) == good
    for bad in ("1234", "12-34", "-----", "010-1234567x", "+", "1" * 21, "010–12345678",
                "86+10123456", "010\n12345678", "١٢٣٤٥٦"):
        assert code_of("phone", bad) == "format.phone", bad
    assert code_of("phone", 1012345678) == "type"
    assert ok("phone", "０１０-１２３４５６７８ ") == "010-12345678"


def test_id_number_is_checked_and_stored_upper_case() -> None:
    """身份证号 (GB 11643): 17 digits and a check character; a typed x is the stored X."""
    for typed in ("11010519491231002X", "11010519491231002x", " 110105 19491231 002x ",
                  "１１０１０５１９４９１２３１００２ｘ"):
        assert ok("id_number", typed) == "11010519491231002X", typed
    assert ok("id_number", "440524188001010014") == "440524188001010014"
    for bad in ("11010519491231002", "1101051949123100200", "11010519491231002Y",
                "A1010519491231002X"):
        assert code_of("id_number", bad) == "format.id_number", bad
    assert code_of("id_number", "110105194912310021") == "checksum.id_number"
    assert code_of("id_number", 110105194912310021) == "type"


def test_email() -> None:
    assert ok("email", "zhang.san@example.com.cn") == "zhang.san@example.com.cn"
    for bad in ("zhang", "a@b", "@example.com", "a b@example.com", "a@" + "x" * 250 + ".com"):
        assert code_of("email", bad) == "format.email", bad
    assert code_of("email", ["a@example.com"]) == "type"


def test_url() -> None:
    for good in ("https://example.com", "http://example.com:8080/a?b=1#c", "HTTPS://例子.中国/路径",
                 "http://192.168.1.10/"):
        assert ok("url", good) == good
    for bad in ("example.com", "ftp://example.com", "javascript:alert(1)", "https://",
                "http:///path", "https://exa mple.com", "http://a:99999/", "https://x.com/\na",
                "http://@/", "mailto:a@example.com"):
        assert code_of("url", bad) == "format.url", bad
    assert code_of("url", "https://example.com/" + "a" * 2048) == "too_long"
    assert code_of("url", 1) == "type"


# --- references ------------------------------------------------------------------------------


@pytest.mark.parametrize("type_name", ["user", "department", "record"])
def test_single_references_are_id_strings(type_name: str) -> None:
    settings = {"reference_kind": "customer"} if type_name == "record" else {}
    assert ok(type_name, "0190f3a2-7c1e-7000-8000-000000000001", **settings)
    assert ok(type_name, "42", **settings) == "42"
    for bad in (" ", "a b", "x" * 65, "a\tb"):
        assert code_of(type_name, bad, **settings) == "format.id", bad
    for wrong in (42, True, ["u1"]):
        assert code_of(type_name, wrong, **settings) == "type"


def test_users_are_distinct_ids_stored_sorted() -> None:
    assert ok("users", ["u3", "u1", "u2"]) == ["u1", "u2", "u3"]
    assert code_of("users", ["u1", "u1"]) == "duplicate"
    assert len(ok("users", [f"u{i}" for i in range(1000)])) == 1000
    assert code_of("users", [f"u{i}" for i in range(1001)]) == "too_long"
    assert code_of("users", ["u1"] * 1000) == "duplicate"
    assert code_of("users", ["u1", " "]) == "format.id"
    for bad in ("u1", [1], [["u1"]]):
        assert code_of("users", bad) == "type"


@pytest.mark.parametrize(
    ("type_name", "raw", "code"),
    [
        ("money", "12.5\n", "format.decimal"),
        ("date", "2024-05-01\n", "format.date"),
        ("phone", "010-12345678\n", "format.phone"),
        ("email", "a@example.com\n", "format.email"),
        ("url", "https://example.com\n", "format.url"),
        ("user", "u1\n", "format.id"),
        ("users", ["u1\n"], "format.id"),
    ],
)
def test_a_trailing_newline_is_not_smuggled_in(type_name: str, raw: Any, code: str) -> None:
    """Refused (ids) or trimmed away (everything a user types), never stored."""
    try:
        stored = ok(type_name, raw)
    except FieldValueError as error:
        assert error.code == code
    else:
        assert "\n" not in str(stored) and type_name not in ("user", "users")


# --- definitions -----------------------------------------------------------------------------


def test_definition_problems() -> None:
    def problems(type_name: str, **settings: Any) -> set[tuple[str, str]]:
        found = definition_problems(field(type_name, **settings), TYPES[type_name])
        return {(attribute, code) for attribute, code, _zh, _en in found}

    assert problems("text") == set()
    assert problems("select") == {("options", "options.missing")}
    assert problems("select", options=("a", "a")) == {("options", "options.duplicate")}
    assert problems("multiselect", options=("a", " ")) == {("options", "options.blank")}
    assert problems("money", precision=11) == {("precision", "precision.range")}
    assert problems("money", precision=-1) == {("precision", "precision.range")}
    assert problems("text", max_length=0) == {("max_length", "max_length.range")}
    assert problems("integer", min_value="x") == {("min_value", "format.decimal")}
    assert problems("integer", min_value="5", max_value="1") == {("max_value", "range.order")}
    assert problems("record") == {("reference_kind", "required")}
    assert problems("record", reference_kind="customer") == set()
