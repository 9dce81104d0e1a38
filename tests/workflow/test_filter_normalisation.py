"""Values compare as users type them (issue 12.6): filter values go through the same
normalisation as stored values — mobile numbers with spaces/+86, ID numbers with a lower-case x,
full-width digits, trimmed text — so a filter finds what was stored. On memory, SQLite and
PostgreSQL; the rule itself as a hypothesis property."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.fields import FieldDefinition
from crmkit.entities.query import Operator
from crmkit.policies.fieldtypes import BUILTIN_FIELD_TYPES
from crmkit.policies.validation import half_width
from crmkit.workflow.querying import normalised

from .conftest import Org

TYPES = {t.name: t for t in BUILTIN_FIELD_TYPES}
FULL_WIDTH = {chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)}
WIDEN = str.maketrans("".join(FULL_WIDTH), "".join(FULL_WIDTH.values()))


def names(org: Org, *conditions: dict[str, Any]) -> list[str]:
    page = org.crm.customers.list(org.rep, {"conditions": list(conditions),
                                            "sort": [{"field": "name"}]})
    return [c.name for c in page.items]


@pytest.fixture
def customers(org: Org) -> Org:
    org.crm.fields.define(org.admin, "customer", {"key": "id_no", "label_zh": "身份证号",
                                                  "label_en": "ID number", "type": "id_number"})
    org.crm.fields.define(org.admin, "customer", {"key": "budget", "label_zh": "预算",
                                                  "label_en": "Budget", "type": "money"})
    org.crm.fields.define(org.admin, "customer", {"key": "since", "label_zh": "合作起始",
                                                  "label_en": "Since", "type": "date"})
    made = org.crm.customers.create(org.rep, {
        "name": " 甲公司\u3000", "mobile": "+86 139-0000-0003",
        "custom": {"id_no": "11010519491231002x", "budget": "１２.５",
                   "since": "２０２６-１１-０１"}})
    assert made.name == "甲公司" and made.mobile == "13900000003"
    assert made.custom == {"id_no": "11010519491231002X", "budget": "12.50",
                           "since": "2026-11-01"}
    org.crm.customers.create(org.rep, {"name": "乙公司", "mobile": "13900000004",
                                       "custom": {"id_no": "440524188001010014"}})
    return org


def test_mobile_and_id_number_filters_find_the_value_however_it_is_typed(
        customers: Org) -> None:
    for typed in ("13900000003", "139 0000 0003", "+86 139-0000-0003", "8613900000003",
                  "１３９００００００03", " 13900000003 "):
        assert names(customers, {"field": "mobile", "op": "eq", "value": typed}) == ["甲公司"]
        assert names(customers, {"field": "mobile", "op": "in", "value": [typed, "x"]}) == [
            "甲公司"]
        assert names(customers, {"field": "mobile", "op": "ne", "value": typed}) == ["乙公司"]
    assert names(customers, {"field": "mobile", "op": "contains", "value": "0000 0003"}) == [
        "甲公司"]
    assert sorted(names(customers, {"field": "mobile", "op": "prefix", "value": "+86 139"})) == [
        "乙公司", "甲公司"]
    assert names(customers, {"field": "mobile", "op": "suffix", "value": "０００３"}) == ["甲公司"]
    for typed in ("11010519491231002x", "11010519491231002X", " 110105 19491231 002x ",
                  "１１０１０５１９４９１２３１００２ｘ"):
        assert names(customers, {"field": "id_no", "op": "eq", "value": typed}) == ["甲公司"]
    assert names(customers, {"field": "id_no", "op": "suffix", "value": "002x"}) == ["甲公司"]
    assert names(customers, {"field": "id_no", "op": "contains", "value": "1949 1231"}) == [
        "甲公司"]


def test_text_is_trimmed_and_full_width_numbers_and_dates_compare_as_stored(
        customers: Org) -> None:
    assert names(customers, {"field": "name", "op": "eq", "value": "甲公司\u3000"}) == ["甲公司"]
    assert names(customers, {"field": "name", "op": "in", "value": [" 甲公司 "]}) == ["甲公司"]
    assert names(customers, {"field": "name", "op": "prefix", "value": " 甲"}) == ["甲公司"]
    assert names(customers, {"field": "budget", "op": "eq", "value": "１２.５"}) == ["甲公司"]
    assert names(customers, {"field": "budget", "op": "ge", "value": " 12 "}) == ["甲公司"]
    assert names(customers, {"field": "since", "op": "between",
                             "value": ["２０２６-１１-０１", "2026-11-30"]}) == ["甲公司"]
    assert names(customers, {"field": "since", "op": "eq", "value": "2026-11-02"}) == []


# --- the rule as a property: a typed variant of a stored value compares equal -----------------


def _definition(type_name: str) -> FieldDefinition:
    return FieldDefinition("customer", "f", "字段", "Field", type_name)


@st.composite
def typed_mobiles(draw: st.DrawFn) -> tuple[str, str]:
    """A mobile number and one way a user might type it."""
    number = "1" + draw(st.sampled_from("3456789")) + draw(st.text("0123456789", min_size=9,
                                                                    max_size=9))
    chars = [FULL_WIDTH[c] if draw(st.booleans()) else c for c in number]
    separators = [draw(st.sampled_from(["", "", " ", "-", "\u3000"])) for _ in chars]
    typed = "".join(c + s for c, s in zip(chars, separators, strict=True))
    prefix = draw(st.sampled_from(["", "+86", "+86 ", "86", "＋８６ "]))
    padding = draw(st.sampled_from(["", " ", "\u3000"]))
    return number, padding + prefix + typed + padding


@given(typed_mobiles())
def test_a_typed_mobile_normalises_to_the_stored_number(case: tuple[str, str]) -> None:
    number, typed = case
    mobile = TYPES["mobile"]
    stored = mobile.validate(number, _definition("mobile"))
    assert normalised(mobile, _definition("mobile"), Operator.EQ, typed) == stored
    fragment = typed.strip()[-6:]
    assert normalised(mobile, _definition("mobile"), Operator.CONTAINS, fragment) in stored


@given(st.text("0123456789", min_size=17, max_size=17), st.booleans())
def test_a_typed_id_number_normalises_to_the_stored_one(digits: str, full: bool) -> None:
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    check = "10X98765432"[sum(int(d) * w for d, w in zip(digits, weights, strict=True)) % 11]
    id_type, definition = TYPES["id_number"], _definition("id_number")
    stored = id_type.validate(digits + check, definition)
    typed = (digits + check.lower()).translate(WIDEN if full else {})
    assert normalised(id_type, definition, Operator.EQ, typed) == stored
    assert normalised(id_type, definition, Operator.SUFFIX, typed[-3:]) == stored[-3:]


@given(st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30),
       st.sampled_from(["", " ", "\u3000", "  \u3000"]))
def test_typed_text_normalises_to_the_stored_text(text: str, padding: str) -> None:
    text_type, definition = TYPES["text"], _definition("text")
    if not text.strip():
        return
    stored = text_type.validate(padding + text + padding, definition)
    assert normalised(text_type, definition, Operator.EQ, text + padding) == stored


def test_half_width_maps_full_width_ascii_only() -> None:
    assert half_width("１３８ＡＢｘ＠．　甲") == "138ABx@. 甲"
