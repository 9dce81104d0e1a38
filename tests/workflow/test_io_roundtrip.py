"""Export → import into an empty CRM gives the same records (issue 17): random customers with
custom fields of every value kind, Chinese text, empty values, big decimals, dates and times,
through CSV and XLSX — on memory for many examples, and once on every backend."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import CRM
from crmkit.ports import Storage
from crmkit.testing import sample_org

from .conftest import make_storage

FIELDS: list[dict[str, Any]] = [
    {"key": "note", "label_zh": "说明", "label_en": "Note", "type": "text"},
    {"key": "story", "label_zh": "经过", "label_en": "Story", "type": "textarea"},
    {"key": "seats", "label_zh": "座位数", "label_en": "Seats", "type": "integer"},
    {"key": "budget", "label_zh": "预算", "label_en": "Budget", "type": "money"},
    {"key": "signed_on", "label_zh": "签约日", "label_en": "Signed on", "type": "date"},
    {"key": "met_at", "label_zh": "见面时间", "label_en": "Met at", "type": "datetime"},
    {"key": "vip", "label_zh": "重点", "label_en": "VIP", "type": "boolean"},
    {"key": "tags", "label_zh": "标签", "label_en": "Tags", "type": "multiselect",
     "options": ["大客户", "老客户", "=危险", "a"]},
    {"key": "helper", "label_zh": "协助人", "label_en": "Helper", "type": "user"},
]
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc", "Zl", "Zp"],
                              exclude_characters="\ufffe\uffff\x85"), max_size=20)
_NAME = st.text("甲乙丙丁戊己庚辛壬癸公司集团=+-@' ", min_size=1, max_size=8).filter(
    lambda s: s.strip() != "")


def _values() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional={
        "note": _TEXT,
        "story": st.text(st.sampled_from("第一行\n第二行\r\n,\"引号\" =+"), max_size=12),
        "seats": st.integers(-(2**53) + 1, 2**53 - 1),
        "budget": st.decimals(places=2, min_value=Decimal(-(10**17)) + 1,
                              max_value=Decimal(10**17) - 1).map(str),
        "signed_on": st.dates(date(1000, 1, 1), date(9998, 12, 31)).map(date.isoformat),
        "met_at": st.datetimes(datetime(1001, 1, 1), datetime(9998, 1, 1),
                               timezones=st.just(UTC)).map(datetime.isoformat),
        "vip": st.booleans(),
        "tags": st.lists(st.sampled_from(["大客户", "老客户", "=危险", "a"]), unique=True),
        "helper": st.sampled_from(["manager", "rep"]),  # a user of the sample org
    })


def _crm(storage: Storage | None = None) -> tuple[CRM, Any]:
    org = sample_org(CRM(storage) if storage is not None else None)
    for field in FIELDS:
        org.crm.fields.define(org.admin, "customer", field)
    return org.crm, org


def _lines(value: Any) -> Any:
    """Line breaks as an XLSX holds them: XML reads CR LF and CR as LF."""
    return value.replace("\r\n", "\n").replace("\r", "\n") if isinstance(value, str) else value


def _shape(crm: CRM, org: Any, xlsx: bool = False) -> dict[str, tuple[Any, ...]]:
    """The customers as a user sees them (ids aside), by name; with ``xlsx`` line breaks
    as an XLSX keeps them."""
    names = {u.id: u.name for u in crm.org.list_users(org.admin)}
    shaped = {}
    for c in crm.customers.list(org.admin, {"limit": 500}).items:
        custom = {k: (names[v] if k == "helper" else v) for k, v in c.custom.items()
                  if v is not None}  # an empty value is no value, however it was given
        if xlsx:
            custom = {k: _lines(v) for k, v in custom.items()}
        shaped[c.name] = (_lines(c.remark) if xlsx else c.remark, c.level, c.next_contact_at,
                          names[c.owner_id or ""], c.created_at, c.received_at, custom)
    return shaped


def round_trip(records: list[dict[str, Any]], file_format: str,
               storages: tuple[Storage | None, Storage | None] = (None, None)) -> None:
    source, source_org = _crm(storages[0])
    for record in records:
        custom = dict(record.get("custom", {}))
        if "helper" in custom:
            custom["helper"] = getattr(source_org, custom["helper"]).id
        source.customers.create(source_org.admin, {**record, "custom": custom})
    out = io.BytesIO()
    assert source.io.export(source_org.admin, "customer", out, format=file_format).rows == len(
        records)
    target, target_org = _crm(storages[1])
    result = target.io.import_records(target_org.admin, "customer", io.BytesIO(out.getvalue()),
                                      format=file_format)
    assert (result.created, result.errors) == (len(records), ())
    xlsx = file_format == "xlsx"
    assert _shape(target, target_org, xlsx) == _shape(source, source_org, xlsx)


RECORDS = st.lists(
    st.fixed_dictionaries(
        {"name": _NAME, "custom": _values()},
        optional={"remark": _TEXT, "level": st.sampled_from(["A", "B", "C"]),
                  "next_contact_at": st.datetimes(
                      datetime(1900, 1, 1), datetime(2100, 1, 1),
                      timezones=st.just(UTC)).map(datetime.isoformat)}),
    min_size=1, max_size=5, unique_by=lambda r: str(r["name"]).strip())


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
@settings(max_examples=15, deadline=None)
@given(records=RECORDS)
def test_export_then_import_into_an_empty_crm_gives_the_same_records(
        file_format: str, records: list[dict[str, Any]]) -> None:
    round_trip(records, file_format)


SAMPLE = [
    {"name": "华为技术", "remark": "=SUM(A1)", "level": "A",
     "next_contact_at": "2026-11-02T09:30:00+08:00",
     "custom": {"note": "深圳；龙岗", "seats": 2**53 - 1, "budget": "99999999999999999.99",
                "signed_on": "1999-12-31", "met_at": "1990-09-15T16:30:00+00:00",
                "vip": False, "tags": ["=危险", "大客户"], "story": "第一行\r\n第二行",
                "helper": "rep"}},
    {"name": "空值公司", "custom": {}},
]


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_round_trip_holds_from_and_to_sqlite(file_format: str,
                                                 request: pytest.FixtureRequest) -> None:
    round_trip(SAMPLE, file_format, (make_storage("sqlite", request),
                                     make_storage("sqlite", request)))


@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_the_round_trip_holds_into_postgresql(file_format: str,
                                              request: pytest.FixtureRequest) -> None:
    round_trip(SAMPLE, file_format, (None, make_storage("postgres", request)))
