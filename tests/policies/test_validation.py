"""Field validation helpers: mobile numbers, e-mail addresses and the Problems collector."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.errors import FieldError, ValidationError
from crmkit.policies.validation import MESSAGES, Problems, is_valid_email, normalize_mobile

ASCII_MOBILE = re.compile(r"[0-9]{11}\Z", re.ASCII)

# ---------------------------------------------------------------------------------------------
# normalize_mobile
# ---------------------------------------------------------------------------------------------

mobiles = st.builds(
    lambda second, rest: "1" + second + rest,
    st.sampled_from("3456789"),
    st.text("0123456789", min_size=9, max_size=9),
)


@st.composite
def formatted(draw: st.DrawFn, number: str) -> str:
    """``number`` as people type it: optional +86/86 prefix, spaces and dashes anywhere."""
    prefix = draw(st.sampled_from(["", "+86", "86", "+86 ", "+86-", "86 ", " +86"]))
    out = []
    for char in prefix.strip() + number:
        out.append(char)
        out.append(draw(st.sampled_from(["", "", "", " ", "-", "\t", "  "])))
    lead = draw(st.sampled_from(["", " ", "\u3000"]))
    return lead + "".join(out)


@given(st.data())
def test_formatted_mobile_normalizes_to_eleven_digits(data: st.DataObject) -> None:
    number = data.draw(mobiles, label="number")
    typed = data.draw(formatted(number), label="typed")
    assert normalize_mobile(typed) == number
    assert normalize_mobile(number) == number  # idempotent


@given(st.text(max_size=20))
def test_normalized_mobile_is_a_valid_mainland_number_or_none(raw: str) -> None:
    result = normalize_mobile(raw)
    if result is not None:
        assert re.fullmatch(r"1[3-9]\d{9}", result)
        assert normalize_mobile(result) == result


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("86 138-0013-8000", "13800138000"),
        ("19912345678", "19912345678"),
    ],
)
def test_valid_mobiles(raw: str, expected: str) -> None:
    assert normalize_mobile(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "+86",
        "86",
        "12800138000",  # second digit must be 3-9
        "10800138000",
        "23800138000",  # must start with 1
        "1380013800",  # 10 digits
        "138001380001",  # 12 digits
        "861380013800",  # 86 + 10 digits
        "008613800138000",  # 0086 is not accepted
        "+85213800138000",  # another country code
        "1380013800a",
        "138.0013.8000",
        "(138)00138000",
        "+86+8613800138000",
    ],
)
def test_invalid_mobiles(raw: str) -> None:
    assert normalize_mobile(raw) is None


@pytest.mark.parametrize("raw", ["13８00138000", "138００１３８０００", "138٠٠١٣٨٠٠٠"])
def test_unicode_digits_are_not_returned(raw: str) -> None:
    result = normalize_mobile(raw)
    assert result is None or ASCII_MOBILE.match(result)


# ---------------------------------------------------------------------------------------------
# is_valid_email
# ---------------------------------------------------------------------------------------------

local_parts = st.text("abcxyzABC0189._%+-", min_size=1, max_size=20)
labels = st.text("abcxyz0189-", min_size=1, max_size=12)
tlds = st.text("abcdefghijklmnopqrstuvwxyzABC", min_size=2, max_size=6)


@given(local_parts, st.lists(labels, min_size=1, max_size=3), tlds)
def test_well_formed_emails_are_valid(local: str, domain: list[str], tld: str) -> None:
    assert is_valid_email(f"{local}@{'.'.join(domain)}.{tld}")


@given(local_parts, labels, tlds, st.sampled_from([" ", "\t", "\u3000", "@", ",", "<", "中"]))
def test_emails_with_a_forbidden_character_are_invalid(
    local: str, label: str, tld: str, bad: str
) -> None:
    assert not is_valid_email(f"{local}{bad}@{label}.{tld}")
    assert not is_valid_email(f"{local}@{label}{bad}.{tld}")
    assert not is_valid_email(f"{bad}{local}@{label}.{tld}")


@pytest.mark.parametrize(
    "raw", ["a@b.cn", "zhang.san+crm@example.com.cn", "x_y%z@ex-ample.org", "A1@B2.COM"]
)
def test_valid_emails(raw: str) -> None:
    assert is_valid_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "a",
        "a@",
        "@b.com",
        "a@b",
        "a@b.c",  # one-letter TLD
        "a@b.c0m",
        "a@@b.com",
        "a@b..com",
        "a@b.com.",
        "a@.com",
        "a b@c.com",
        " a@b.com",
        "a@b.com ",
        "张三@example.com",
    ],
)
def test_invalid_emails(raw: str) -> None:
    assert not is_valid_email(raw)


def test_email_length_limit() -> None:
    domain = "example.com"
    local = "a" * (254 - len(domain) - 1)
    assert is_valid_email(f"{local}@{domain}")
    assert not is_valid_email(f"a{local}@{domain}")


def test_trailing_newline_is_invalid() -> None:
    assert not is_valid_email("a@b.com\n")  # '$' would match before it: needs fullmatch
    assert normalize_mobile("13800138000\n") == "13800138000"  # whitespace is stripped first


# ---------------------------------------------------------------------------------------------
# Problems
# ---------------------------------------------------------------------------------------------


def test_no_problems_raises_nothing() -> None:
    problems = Problems()
    problems.raise_if_any()
    problems.text("$.name", "张三", required=True, max_length=10)
    problems.text("$.note", None, required=False, max_length=10)
    problems.text("$.note", "", required=False, max_length=10)
    problems.text("$.note", "   ", required=False, max_length=10)
    problems.text("$.name", "x" * 10, required=True, max_length=10)  # exactly the limit
    assert problems.errors == []
    problems.raise_if_any()


@pytest.mark.parametrize(
    ("value", "required", "code"),
    [
        (None, True, "required"),
        ("", True, "blank"),
        ("  \t\u3000", True, "blank"),
        ("x" * 11, True, "too_long"),
        ("x" * 11, False, "too_long"),
        (" " * 11, True, "blank"),  # blank wins over too long
    ],
)
def test_text_codes(value: str | None, required: bool, code: str) -> None:
    problems = Problems()
    problems.text("$.users[0].name", value, required=required, max_length=10)
    assert [(e.path, e.code) for e in problems.errors] == [("$.users[0].name", code)]


def test_messages_name_the_path_in_both_languages() -> None:
    problems = Problems()
    problems.add("$.mobile", "format.mobile")
    problems.text("$.name", "x" * 5, required=True, max_length=4)
    problems.add("$.custom", "some.host_code")  # unknown codes echo the code itself
    mobile, name, custom = problems.errors
    assert mobile == FieldError(
        "$.mobile",
        "format.mobile",
        "$.mobile 不是有效的手机号",
        "$.mobile is not a valid mainland China mobile number",
    )
    assert name.message_en == "$.name is too long (max 4)"
    assert name.message_zh == "$.name 超出最大长度（最多 4）"
    assert (custom.message_en, custom.message_zh) == (
        "$.custom some.host_code",
        "$.custom some.host_code",
    )


paths = st.builds(
    lambda field, index: f"$.users[{index}].{field}" if index is not None else f"$.{field}",
    st.sampled_from(["mobile", "name", "email", "password", "department_id"]),
    st.none() | st.integers(0, 3),
)
codes = st.sampled_from([*MESSAGES, "host.specific"])


@given(st.lists(st.tuples(paths, codes), max_size=8))
def test_raise_if_any_reports_every_error_in_order(added: list[tuple[str, str]]) -> None:
    problems = Problems()
    for path, code in added:
        problems.add(path, code)
    if not added:
        problems.raise_if_any()
        return
    with pytest.raises(ValidationError) as caught:
        problems.raise_if_any()
    error = caught.value
    assert [(e.path, e.code) for e in error.errors] == added
    assert error.paths == [path for path, _ in added]
    assert error.codes == dict(added)  # last code per path
    assert error.code == "validation_failed"
    assert [e["code"] for e in error.as_dict()["errors"]] == [code for _, code in added]
    for path, code in added:
        assert f"{path}: {code}" in error.message_en
        assert f"{path}: {code}" in error.message_zh
    for field_error in error.errors:
        assert field_error.message_en.startswith(field_error.path + " ")
        assert field_error.message_zh.startswith(field_error.path + " ")
    # raising does not clear: a second call raises the same errors again
    with pytest.raises(ValidationError) as again:
        problems.raise_if_any()
    assert again.value.errors == error.errors
