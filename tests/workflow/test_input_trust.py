"""Issue 11, items 13–19: input that passes the type checks is storable, everything else is
refused with a ValidationError naming the field — the same answer on memory, SQLite and
PostgreSQL, and nothing written."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.files import LocalFileStore
from crmkit.adapters.ids import SequentialIds
from crmkit.entities import UserStatus
from crmkit.entities.common import JSONValue
from crmkit.entities.fields import FieldDefinition, FieldType, ValueKind
from crmkit.errors import NotFound, ValidationError
from crmkit.hookspecs import hookimpl
from crmkit.ports import Storage

from .conftest import Org

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)


def refused(call: Callable[[], Any]) -> dict[str, str]:
    """The ``{path: code}`` of the ValidationError ``call`` raises."""
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.codes


def customer_count(org: Org) -> int:
    total = org.crm.customers.list(org.admin, {"with_total": True}).total
    assert total is not None
    return total


def define(org: Org, kind: str, key: str, type_: str, **extra: Any) -> None:
    org.crm.fields.define(org.admin, kind, {"key": key, "label_zh": key, "label_en": key,
                                            "type": type_, **extra})


# -- 13: values that would crash a driver -------------------------------------------------------
class TestStorableValues:
    def test_nul_and_lone_surrogates_in_text_are_refused_by_path(self, org: Org) -> None:
        define(org, "customer", "note", "textarea")
        for bad in ("a\x00b", "a\ud800b", "\udfff"):
            assert refused(partial(org.crm.customers.create,
                org.rep, {"name": bad, "custom": {"note": bad}})) == {
                "$.name": "format.text", "$.custom.note": "format.text"}
            assert refused(partial(org.crm.followups.set_methods,
                org.admin, ["电话", bad])) == {"$.methods[1]": "format.text"}
        assert customer_count(org) == 0
        made = org.crm.customers.create(org.rep, {"name": "😀 客户\u00e9", "custom": {
            "note": "line\nbreak\ttab"}})
        assert org.crm.customers.get(org.rep, made.id).custom["note"] == "line\nbreak\ttab"

    def test_integers_beyond_64_bits_are_refused_wherever_they_go(self, org: Org) -> None:
        define(org, "customer", "size", "integer")
        made = org.crm.customers.create(org.rep, {"name": "客户", "custom": {"size": 2**53 - 1}})
        assert refused(lambda: org.crm.customers.update(
            org.rep, made.id, {"name": "x"}, expected_version=2**64)) == {
            "$.expected_version": "range.max"}
        assert refused(lambda: org.crm.customers.list(org.rep, {"conditions": [
            {"field": "size", "op": "gt", "value": -(2**70)}]})) == {
            "$.conditions[0].value": "range.min"}
        assert refused(lambda: org.crm.customers.create(
            org.rep, {"name": "y", "custom": {"size": 2**53}})) == {"$.custom.size": "range.max"}

    def test_dates_and_datetimes_near_year_1_and_9999_are_refused(self, org: Org) -> None:
        define(org, "customer", "founded", "date")
        define(org, "customer", "met", "datetime")
        assert refused(lambda: org.crm.customers.create(org.rep, {"name": "x", "custom": {
            "founded": "0001-01-01", "met": "9999-12-31T23:00:00-05:00"}})) == {
            "$.custom.founded": "range.min", "$.custom.met": "range.max"}
        for value in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
            assert refused(partial(org.crm.customers.list, org.rep, {"conditions": [
                {"field": "met", "op": "lt", "value": value}]})) == {
                "$.conditions[0].value": "type"}
        assert refused(lambda: org.crm.followups.schedules(
            org.rep, datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC))) == {
            "$.start": "range.min", "$.end": "range.max"}
        assert refused(lambda: org.crm.contracts.due_plans(org.rep, date.max)) == {
            "$.on": "range.max"}
        made = org.crm.customers.create(org.rep, {"name": "老字号", "custom": {
            "founded": "1669-01-01", "met": "1000-01-01T00:00:00+00:00"}})
        page = org.crm.customers.list(org.rep, {"conditions": [
            {"field": "founded", "op": "lt", "value": "1700-01-01"}]})
        assert [c.id for c in page.items] == [made.id]

    def test_nan_and_infinity_never_reach_storage(self, org: Org) -> None:
        define(org, "customer", "budget", "money")
        for bad in (Decimal("NaN"), Decimal("-Infinity"), Decimal("sNaN"), "NaN", "Infinity"):
            codes = refused(partial(org.crm.customers.create,
                org.rep, {"name": "x", "custom": {"budget": bad}}))
            assert codes == {"$.custom.budget": "format.decimal"}, bad
            codes = refused(partial(org.crm.customers.list, org.rep, {"conditions": [
                {"field": "budget", "op": "gt", "value": bad}]}))
            assert set(codes) == {"$.conditions[0].value"}, bad
        assert refused(lambda: org.crm.approvals.route(
            org.rep, "contract", "x", values={"amount": float("inf")})) == {
            "$.values.amount": "format.decimal"}
        assert customer_count(org) == 0

    def test_filters_with_thousands_of_conditions_or_values_are_refused(self, org: Org) -> None:
        org.crm.customers.create(org.rep, {"name": "客户"})
        many = [{"field": "name", "op": "ne", "value": f"n{i}"} for i in range(3000)]
        assert refused(lambda: org.crm.customers.list(org.rep, {"conditions": many})) == {
            "$.conditions": "too_long"}
        two_big_ins = [{"field": "name", "op": "in", "value": [f"n{i}" for i in range(1000)]}] * 2
        assert refused(lambda: org.crm.customers.list(
            org.rep, {"conditions": two_big_ins})) == {"$.conditions": "too_long"}
        fifty = many[:50]
        assert [c.name for c in org.crm.customers.list(org.rep, {"conditions": fifty}).items] \
            == ["客户"]
        assert refused(lambda: org.crm.pool.claim(org.rep, [f"id{i}" for i in range(5000)])) == {
            "$.customer_ids": "too_long"}


# -- 14: cursors --------------------------------------------------------------------------------
def _cursor(body: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


def test_tampered_or_foreign_cursors_are_validation_errors(org: Org) -> None:
    for i in range(3):
        org.crm.customers.create(org.rep, {"name": f"客户{i}"})
    request = {"sort": [{"field": "name"}], "limit": 1}
    page = org.crm.customers.list(org.rep, request)
    assert page.next_cursor is not None
    body = json.loads(base64.urlsafe_b64decode(page.next_cursor + "=="))
    assert body["s"] == "name"
    tampered = [
        page.next_cursor[:-3] + "!!!", "x" * 100_000, _cursor([1, 2]),
        _cursor({"s": "name", "v": [5, "id1"]}),                   # a number for a text key
        _cursor({"s": "name", "v": ["a", 7]}),                     # a number for the id
        _cursor({"s": "name", "v": ["a\x00", "id1"]}),             # NUL
        _cursor({"s": "name", "v": [{"n": "NaN"}, "id1"]}),
        _cursor({"s": "name", "v": [{"t": "0001-01-01T00:00:00+14:00"}, "id1"]}),
        _cursor({"s": "name", "v": [{"x": "1"}, "id1"]}),
        _cursor({"s": "name", "v": ["a", "id1", "extra"]}),
        _cursor({"s": "-updated_at", "v": ["2026-01-01", "id1"]}),  # another sort's cursor
        _cursor({"s": "name", "v": [[[[[[]]]]], "id1"]}),
        _cursor({"s": "name", "v": ["a", "x" * 65]}),
        base64.urlsafe_b64encode(b"[" * 100_000).decode(),
    ]
    for cursor in tampered:
        codes = refused(partial(org.crm.customers.list,
            org.rep, {**request, "cursor": cursor}))
        assert codes == {"$.cursor": "invalid"}, cursor
    assert refused(lambda: org.crm.customers.list(org.rep, {**request, "cursor": "\ud800"})) \
        == {"$.cursor": "format.text"}
    for wrong in (5, ["a"], {"s": "name"}):
        assert refused(partial(org.crm.customers.list,
            org.rep, {**request, "cursor": wrong})) == {"$.cursor": "type"}
    # a lead list cursor of the same sort is merely a position: it never breaks the list
    lead = org.crm.leads.create(org.rep, {"name": "线索"})
    lead_cursor = org.crm.leads.list(org.rep, request).next_cursor or _cursor(
        {"s": "name", "v": [lead.name, lead.id]})
    assert len(org.crm.customers.list(org.rep, {**request, "cursor": lead_cursor}).items) <= 1
    assert refused(lambda: org.crm.contracts.expiring(org.rep, cursor="%%%")) == {
        "$.cursor": "invalid"}


# -- 15: argument shapes ------------------------------------------------------------------------
class TestArgumentShapes:
    def test_a_string_where_a_list_of_ids_is_expected_is_refused(self, org: Org) -> None:
        customer = org.crm.customers.create(org.rep, {"name": "客户"})
        assert refused(lambda: org.crm.pool.claim(org.rep, customer.id)) == {
            "$.customer_ids": "type"}
        assert refused(lambda: org.crm.customers.transfer(org.rep, customer.id, org.rep.id)) \
            == {"$.record_ids": "type"}
        assert refused(lambda: org.crm.customers.lock(
            org.admin, [customer.id, None])) == {  # type: ignore[list-item]
            "$.customer_ids[1]": "required"}
        assert refused(lambda: org.crm.customers.lock(org.admin, [customer.id, "a b"])) == {
            "$.customer_ids[1]": "format.id"}
        locked = org.crm.customers.lock(org.admin, (c for c in [customer.id]))  # any iterable
        assert [c.id for c in locked] == [customer.id]

    def test_none_or_wrong_types_for_required_arguments_are_refused(self, org: Org) -> None:
        assert refused(lambda: org.crm.customers.get(org.rep, None)) == {  # type: ignore[arg-type]
            "$.record_id": "required"}
        # every call below passes a wrongly typed argument on purpose
        assert refused(lambda: org.crm.customers.get(
            org.rep, 5)) == {"$.record_id": "type"}  # type: ignore[arg-type]
        assert refused(lambda: org.crm.org.visible_scope(
            org.rep, [])) == {"$.module": "invalid"}  # type: ignore[arg-type]
        assert refused(lambda: org.crm.customers.create(
            org.rep, "name")) == {"$": "type"}  # type: ignore[arg-type]
        assert refused(lambda: org.crm.customers.transfer(
            org.rep, [], org.rep.id, cascade="yes")) == {"$.cascade": "type"}  # type: ignore[arg-type]
        assert refused(lambda: org.crm.fields.list(
            org.rep, {"kind": "customer"})) == {"$.kind": "type"}  # type: ignore[arg-type]

    def test_negative_or_huge_limits_are_refused(self, org: Org) -> None:
        customer = org.crm.customers.create(org.rep, {"name": "客户"})
        cases: list[tuple[Any, str]] = [(-1, "range.min"), (0, "range.min"),
                                        (10**9, "range.max"), ("5", "type"), (True, "type")]
        for limit, code in cases:
            assert refused(partial(org.crm.customers.operation_log,
                org.rep, customer.id, limit=limit)) == {"$.limit": code}
            assert refused(partial(org.crm.followups.timeline,
                org.rep, "customer", customer.id, limit=limit)) == {"$.limit": code}
            assert refused(partial(org.crm.duplicates.lookup,
                org.rep, name="客户", limit=limit)) == {"$.limit": code}
        assert len(org.crm.customers.operation_log(org.rep, customer.id, limit=1)) == 1

    def test_unknown_keep_old_owner_modes_are_refused(self, org: Org) -> None:
        customer = org.crm.customers.create(org.rep, {"name": "客户"})
        for mode in ("owner", "READ", ""):
            assert refused(partial(org.crm.customers.transfer,
                org.admin, [customer.id], org.manager.id, keep_old_owner=mode)) == {
                "$.keep_old_owner": "invalid"}
        assert refused(lambda: org.crm.customers.add_team_member(
            org.rep, customer.id, org.manager.id, "admin")) == {"$.access": "invalid"}
        assert org.crm.customers.get(org.admin, customer.id).owner_id == org.rep.id
        org.crm.customers.transfer(org.admin, [customer.id], org.manager.id,
                                   keep_old_owner="read")
        assert org.crm.customers.get(org.admin, customer.id).owner_id == org.manager.id

    def test_naive_datetimes_are_refused_everywhere(self, org: Org) -> None:
        customer = org.crm.customers.create(org.rep, {"name": "客户"})
        naive = datetime(2026, 11, 1, 9, 0)
        assert refused(lambda: org.crm.followups.schedules(org.rep, naive, NOW)) == {
            "$.start": "format.datetime"}
        assert refused(lambda: org.crm.followups.add(org.rep, "customer", customer.id, {
            "method": "打电话", "content": "聊了", "at": naive})) == {"$.at": "format.datetime"}
        assert refused(lambda: org.crm.followups.add(org.rep, "customer", customer.id, {
            "method": "打电话", "content": "聊了", "at": "2026-11-01T09:00:00"})) == {
            "$.at": "type"}

    def test_follow_ups_on_kinds_without_follow_ups_are_refused(self, org: Org) -> None:
        product = org.crm.products.create(org.admin, {"name": "产品", "code": "P1",
                                                      "price": "10.00"})
        assert refused(lambda: org.crm.followups.add(org.admin, "product", product.id, {
            "method": "打电话", "content": "x"})) == {"$.kind": "followup.kind"}

    def test_deeply_nested_values_are_refused_not_a_recursion_error(self, org: Org) -> None:
        nested: Any = "x"
        for _ in range(5000):
            nested = [nested]
        assert refused(lambda: org.crm.approvals.route(
            org.rep, "contract", "x", values={"amount": nested})) == {
            "$.values.amount" + "[0]" * 32: "too_deep"}
        deep: Any = {"op": "=", "field": "amount", "value": 1}
        for _ in range(2000):
            deep = {"op": "=", "field": "amount", "value": deep}
        codes = refused(lambda: org.crm.approvals.define_flow(org.admin, {
            "kind": "contract", "name": "深", "start": "c", "nodes": [
                {"type": "condition", "id": "c", "branches": [
                    {"conditions": [deep], "next": None}]}]}))
        assert set(codes.values()) == {"too_deep"}


# -- 16: follow-ups dated in the future ---------------------------------------------------------
def test_a_follow_up_dated_in_the_future_is_refused(org: Org) -> None:
    customer = org.crm.customers.create(org.rep, {"name": "客户"})
    later = NOW + timedelta(minutes=5, seconds=1)
    assert refused(lambda: org.crm.followups.add(org.rep, "customer", customer.id, {
        "method": "打电话", "content": "明天的电话", "at": later})) == {
        "$.at": "followup.in_future"}
    assert refused(lambda: org.crm.followups.add(org.rep, "customer", customer.id, {
        "method": "打电话", "content": "很久以后", "at": "2099-01-01T00:00:00+08:00"})) == {
        "$.at": "followup.in_future"}
    assert org.crm.followups.list(org.rep, "customer", customer.id) == []
    assert org.crm.customers.get(org.rep, customer.id).last_followup_at is None
    skewed = NOW + timedelta(minutes=5)          # a host clock a little ahead is fine
    org.crm.followups.add(org.rep, "customer", customer.id, {
        "method": "打电话", "content": "刚打完", "at": skewed})
    assert org.crm.customers.get(org.rep, customer.id).last_followup_at == skewed


# -- 17: references point at things that exist and that the writer sees ------------------------
def test_references_must_exist_and_records_be_visible_to_the_writer(org: Org) -> None:
    define(org, "lead", "partner", "record", reference_kind="customer")
    define(org, "lead", "helper", "user")
    define(org, "lead", "helpers", "users")
    define(org, "lead", "team", "department")
    mine = org.crm.customers.create(org.rep, {"name": "我的客户"})
    theirs = org.crm.customers.create(org.admin, {"name": "老板的客户"})
    for partner in (theirs.id, "no-such-customer"):   # invisible and missing: one answer
        assert refused(partial(org.crm.leads.create, org.rep, {
            "name": "线索", "custom": {"partner": partner}})) == {
            "$.custom.partner": "not_found"}
    assert refused(lambda: org.crm.leads.create(org.rep, {"name": "线索", "custom": {
        "helper": "nobody", "helpers": [org.manager.id, "nobody"], "team": "nowhere"}})) == {
        "$.custom.helper": "not_found", "$.custom.helpers": "not_found",
        "$.custom.team": "not_found"}
    assert org.crm.leads.list(org.admin, {"with_total": True}).total == 0
    lead = org.crm.leads.create(org.rep, {"name": "线索", "custom": {
        "partner": mine.id, "helper": org.manager.id, "helpers": [org.manager.id],
        "team": org.group.id}})
    assert lead.custom["partner"] == mine.id
    assert refused(lambda: org.crm.leads.update(org.rep, lead.id, {
        "custom": {"partner": theirs.id}})) == {"$.custom.partner": "not_found"}
    assert org.crm.leads.update(org.admin, lead.id, {
        "custom": {"partner": theirs.id}}).custom["partner"] == theirs.id


# -- 18: attachment names -----------------------------------------------------------------------
def test_attachment_names_with_control_characters_bidi_or_too_long_are_refused(
        org: Org) -> None:
    customer = org.crm.customers.create(org.rep, {"name": "客户"})
    cases = {
        "a\r\nb.pdf": "file.name_invalid", "a\x00.pdf": "format.text",
        "invoice\u202efdp.exe": "file.name_invalid", "x\u2066y.pdf": "file.name_invalid",
        "a/b.pdf": "file.name_invalid", "x" * 252 + ".pdf": "too_long", "  ": "blank",
        "..": "blank",
    }
    for name, code in cases.items():
        assert refused(partial(org.crm.attachments.add,
            org.rep, "customer", customer.id, name, b"%PDF", "application/pdf")) == {
            "$.name": code}, name
    assert org.crm.attachments.list(org.rep, "customer", customer.id) == []
    ok = org.crm.attachments.add(org.rep, "customer", customer.id, "x" * 251 + ".pdf", b"%PDF",
                                 "application/pdf")
    assert len(ok.name) == 255


def test_the_local_file_store_refuses_a_key_with_a_trailing_newline(tmp_path: Path) -> None:
    store = LocalFileStore(tmp_path)
    stored = store.put("合同.pdf", b"data", "application/pdf")
    assert store.get(stored.key) == b"data"
    for key in (stored.key + "\n", stored.key.upper(), "../" + stored.key, stored.key[:-1]):
        with pytest.raises(NotFound) as caught:
            store.get(key)
        assert caught.value.code == "file.not_found"
    with pytest.raises(ValidationError) as bad:
        store.put("a\nb.pdf", b"x", "application/pdf")
    assert bad.value.codes == {"$.name": "invalid"}


# -- 19: field-type plugins that misbehave ------------------------------------------------------
def _raises(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
    raise RuntimeError("plugin bug")


def _returns(value: Any) -> Callable[[JSONValue, FieldDefinition], JSONValue]:
    def validate(raw: JSONValue, definition: FieldDefinition) -> JSONValue:
        return value
    return validate


class Sloppy:
    """A third-party plugin whose validators crash or return what no backend stores."""

    @hookimpl
    def crmkit_register_field_types(self, register: Callable[[FieldType], None]) -> None:
        register(FieldType("crashy", ValueKind.TEXT, "崩", "Crashy", _raises))
        register(FieldType("day_obj", ValueKind.DATE, "日", "Day", _returns(date(2024, 5, 1))))
        register(FieldType("dec_obj", ValueKind.DECIMAL, "数", "Num", _returns(Decimal("1.5"))))
        register(FieldType("int_text", ValueKind.TEXT, "文", "Txt", _returns(42)))
        register(FieldType("nul_text", ValueKind.TEXT, "空", "Nul", _returns("a\x00")))
        register(FieldType("bad_list", ValueKind.LIST, "列", "List", _returns(["a", "a"])))
        register(FieldType("good_day", ValueKind.DATE, "好", "Good", _returns("2024-05-01")))


@pytest.fixture
def sloppy(backend: Storage) -> Iterator[tuple[CRM, Any]]:
    crm = CRM(backend, clock=FixedClock(NOW), ids=SequentialIds("id"), plugins=[Sloppy()])
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    yield crm, admin


def test_a_misbehaving_field_type_plugin_gives_a_validation_error_naming_field_and_plugin(
        sloppy: tuple[CRM, Any]) -> None:
    crm, admin = sloppy
    plugin = crm.field_types.source("crashy")
    expected = {"crashy": "field_type.plugin_failed", "day_obj": "field_type.bad_value",
                "dec_obj": "field_type.bad_value", "int_text": "field_type.bad_value",
                "nul_text": "field_type.bad_value", "bad_list": "field_type.bad_value"}
    for type_name in [*expected, "good_day"]:
        crm.fields.define(admin, "customer", {"key": f"f_{type_name}", "label_zh": type_name,
                                              "label_en": type_name, "type": type_name})
    for type_name, code in expected.items():
        with pytest.raises(ValidationError) as caught:
            crm.customers.create(admin, {"name": "x", "custom": {f"f_{type_name}": "raw"}})
        [error] = caught.value.errors
        assert (error.path, error.code) == (f"$.custom.f_{type_name}", code)
        assert type_name in error.message_en and plugin in error.message_en
        assert plugin in error.message_zh
    assert crm.customers.list(admin, {"with_total": True}).total == 0
    made = crm.customers.create(admin, {"name": "x", "custom": {"f_good_day": "whatever"}})
    assert crm.customers.get(admin, made.id).custom["f_good_day"] == "2024-05-01"


def test_an_enum_argument_given_by_its_value_reaches_the_method_as_the_member(org: Org) -> None:
    """The facade takes an enum by member or value; the method always gets the member (a
    status given as text used to reach the SQL adapter as text: AttributeError)."""
    active = org.crm.org.list_users(org.admin, status="active")  # type: ignore[arg-type]
    assert active == org.crm.org.list_users(org.admin, status=UserStatus.ACTIVE)
    assert org.admin in active
