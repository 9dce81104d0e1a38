"""Records serialise to JSON through ``crmkit.serialization`` (issue 12.7): ``to_dict`` /
``from_dict`` round-trip with the documented rules (Decimal → string, datetime → ISO 8601 with
its UTC offset, enums → values), ``record.custom`` is a read-only plain mapping any JSON encoder
takes, and error messages name a field by label as well as path. Memory and SQLite (the rules
are the adapter-independent converter's)."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import datetime
from decimal import Decimal

import pytest

from crmkit import CRM, ValidationError
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities.sales import Customer, Product
from crmkit.serialization import from_dict, to_dict
from crmkit.testing import SampleOrg, sample_crm, sample_org


@pytest.fixture(params=["memory", "sqlite"])
def org(request: pytest.FixtureRequest) -> SampleOrg:
    if request.param == "memory":
        return sample_org()
    storage = SqlStorage("sqlite://")
    storage.create_schema()
    crm: CRM = sample_crm(storage)
    return sample_org(crm)


def test_a_record_goes_to_json_and_back(org: SampleOrg) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {"key": "tags", "label_zh": "标签",
                                              "label_en": "Tags", "type": "multiselect",
                                              "options": ["VIP", "新"]})
    made = crm.customers.create(org.rep, {"name": "甲公司", "custom": {"tags": ["新", "VIP"]}})
    stored = crm.customers.get(org.rep, made.id)
    assert json.loads(json.dumps(stored.custom)) == {"tags": ["VIP", "新"]}
    data = to_dict(stored)
    text = json.dumps(data, ensure_ascii=False)
    assert data["created_at"] == stored.created_at.isoformat()
    assert datetime.fromisoformat(data["created_at"]).utcoffset() is not None
    assert from_dict(json.loads(text), Customer) == stored

    product = crm.products.create(org.admin, {"name": "CRM 标准版", "code": "STD",
                                              "price": "1999.5"})
    assert to_dict(product)["price"] == "1999.50"
    assert from_dict(json.loads(json.dumps(to_dict(product))), Product).price == Decimal(
        "1999.50")


def test_custom_is_a_read_only_plain_mapping(org: SampleOrg) -> None:
    made = org.crm.customers.create(org.rep, {"name": "乙公司"})
    custom = org.crm.customers.get(org.rep, made.id).custom
    assert isinstance(custom, dict) and custom == {}
    with pytest.raises(TypeError):
        custom["x"] = 1
    with pytest.raises(TypeError):
        custom.update(x=1)
    for twin in (copy.deepcopy(custom), pickle.loads(pickle.dumps(custom)), dict(custom)):
        assert twin == custom


def test_from_dict_refuses_bad_payloads_by_path() -> None:
    with pytest.raises(ValidationError) as caught:
        from_dict({"id": "p1", "name": "x", "code": "c", "owner_id": None, "created_by": None,
                   "created_at": "2026-11-02T09:00:00", "updated_at": 5, "price": 1.5,
                   "extra": True}, Product)
    assert caught.value.codes == {"$.created_at": "type", "$.updated_at": "type",
                                  "$.price": "type", "$.extra": "unknown_field"}


def test_error_messages_name_the_field_by_label_and_path(org: SampleOrg) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {"key": "budget", "label_zh": "预算",
                                              "label_en": "Budget", "type": "money"})
    with pytest.raises(ValidationError) as caught:
        crm.customers.create(org.rep, {"name": "", "mobile": "12",
                                       "custom": {"budget": "1.234"}})
    by_path = {e.path: e for e in caught.value.errors}
    assert set(by_path) == {"$.name", "$.mobile", "$.custom.budget"}
    assert by_path["$.custom.budget"].message_en.startswith("$.custom.budget (Budget) ")
    assert by_path["$.custom.budget"].message_zh.startswith("$.custom.budget（预算）")
    assert by_path["$.mobile"].message_zh.startswith("$.mobile（手机）")
    assert by_path["$.name"].message_en.startswith("$.name (Customer name) ")
