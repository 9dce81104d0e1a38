"""Customers, contacts and lead conversion through the facade (memory, SQLite, PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crmkit import CRM
from crmkit.adapters.ids import SequentialIds
from crmkit.entities.sales import DEAL_OPEN, DEAL_WON
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org


@pytest.fixture
def customer(org: Org) -> Any:
    return org.crm.customers.create(org.rep, {"name": "华为技术", "level": "A"})


class TestCustomers:
    def test_name_is_unique_across_owners(self, org: Org, customer: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.customers.create(org.admin, {"name": "华为技术"})
        assert caught.value.codes == {"$.name": "unique"}
        other = org.crm.customers.create(org.admin, {"name": "腾讯"})
        with pytest.raises(ValidationError) as caught:
            org.crm.customers.update(org.admin, other.id, {"name": "华为技术"})
        assert caught.value.codes == {"$.name": "unique"}

    def test_system_fields_are_real_and_protected(self, org: Org, customer: Any) -> None:
        assert (customer.deal_status, customer.locked) == (DEAL_OPEN, False)
        assert customer.pool_id is None
        assert customer.received_at == customer.created_at
        with pytest.raises(ValidationError) as caught:
            org.crm.customers.update(org.rep, customer.id, {"locked": True, "deal_status": "已成交",
                                                            "pool_id": "p"})
        assert set(caught.value.codes.values()) == {"read_only"}

    def test_lock_unlock_needs_lock_permission(self, org: Org, customer: Any) -> None:
        with pytest.raises(PermissionDenied) as caught:
            org.crm.customers.lock(org.rep, [customer.id])  # 销售员 has no lock
        assert caught.value.code == "permission_denied"
        [locked] = org.crm.customers.lock(org.manager, [customer.id])
        assert locked.locked
        [unlocked] = org.crm.customers.unlock(org.manager, [customer.id])
        assert not unlocked.locked
        actions = [e.action for e in org.crm.customers.operation_log(org.rep, customer.id)]
        assert actions[:2] == ["unlock", "lock"]

    def test_manual_deal_status(self, org: Org, customer: Any) -> None:
        won = org.crm.customers.set_deal_status(org.rep, customer.id, DEAL_WON)
        assert won.deal_status == DEAL_WON
        with pytest.raises(ValidationError) as caught:
            org.crm.customers.set_deal_status(org.rep, customer.id, "赢麻了")
        assert caught.value.codes == {"$.deal_status": "option"}

    def test_owned_limit_on_create_and_batch_transfer(self, org: Org, customer: Any) -> None:
        crm = org.crm
        crm.customers.set_limits(org.admin, [{"user_id": org.rep.id, "max_owned": 2},
                                             {"department_id": org.sales.id, "max_owned": 1}])
        crm.customers.create(org.rep, {"name": "第二家"})
        with pytest.raises(RuleViolation) as caught:
            crm.customers.create(org.rep, {"name": "第三家"})
        assert caught.value.code == "customer.owned_limit"
        a = crm.customers.create(org.admin, {"name": "A"})
        b = crm.customers.create(org.admin, {"name": "B"})
        with pytest.raises(RuleViolation) as caught:  # manager: department rule, max 1
            crm.customers.transfer(org.admin, [a.id, b.id], org.manager.id)
        assert caught.value.code == "customer.owned_limit"
        assert crm.customers.get(org.admin, a.id).owner_id == org.admin.id, "all or nothing"
        crm.customers.transfer(org.admin, [a.id], org.manager.id)

    def test_won_customers_count_only_when_switched_on(self, org: Org, customer: Any) -> None:
        crm = org.crm
        crm.customers.set_deal_status(org.rep, customer.id, DEAL_WON)
        crm.customers.set_limits(org.admin, [{"user_id": org.rep.id, "max_owned": 1,
                                              "count_won": False}])
        crm.customers.create(org.rep, {"name": "未成交一家"})
        with pytest.raises(RuleViolation) as caught:
            crm.customers.create(org.rep, {"name": "再一家"})
        assert caught.value.code == "customer.owned_limit"

    def test_locked_limit(self, org: Org, customer: Any) -> None:
        crm = org.crm
        second = crm.customers.create(org.rep, {"name": "第二家"})
        crm.customers.set_limits(org.admin, [{"user_id": org.rep.id, "max_locked": 1}])
        crm.customers.lock(org.manager, [customer.id])
        with pytest.raises(RuleViolation) as caught:
            crm.customers.lock(org.manager, [second.id])
        assert caught.value.code == "customer.locked_limit"

    def test_limit_rules_are_validated(self, org: Org) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.customers.set_limits(org.admin, [{"max_owned": 1}])
        assert caught.value.codes == {"$[0]": "invalid"}
        with pytest.raises(ValidationError) as caught:
            org.crm.customers.set_limits(org.admin, [{"user_id": "ghost", "max_owned": 1}])
        assert caught.value.codes == {"$[0].user_id": "not_found"}
        with pytest.raises(PermissionDenied) as denied:
            org.crm.customers.set_limits(org.rep, [])
        assert denied.value.code == "permission_denied"

    def test_transfer_cascades_contacts_when_asked(self, org: Org, customer: Any) -> None:
        crm = org.crm
        contact = crm.contacts.create(org.rep, {"name": "王经理", "customer_id": customer.id})
        crm.customers.transfer(org.manager, [customer.id], org.manager.id)
        assert crm.contacts.get(org.rep, contact.id).owner_id == org.rep.id
        crm.customers.transfer(org.manager, [customer.id], org.rep.id)
        crm.customers.transfer(org.manager, [customer.id], org.manager.id,
                               move_related=["contact"],
                               keep_old_owner="read")
        assert crm.contacts.get(org.manager, contact.id).owner_id == org.manager.id
        assert crm.contacts.get(org.rep, contact.id).name == "王经理", "kept on the team"

    def test_detail_aggregates(self, org: Org, customer: Any) -> None:
        crm = org.crm
        crm.contacts.create(org.rep, {"name": "王经理", "customer_id": customer.id})
        crm.customers.add_team_member(org.rep, customer.id, org.manager.id, "write")
        detail = crm.customers.detail(org.rep, customer.id)
        assert [c.name for c in detail.contacts] == ["王经理"]
        assert [m.user_id for m in detail.team] == [org.manager.id]
        assert detail.log[0].action == "team_add"
        assert (detail.contracts, detail.payments) == ((), ())


class TestContacts:
    def test_contact_needs_a_visible_customer(self, org: Org, customer: Any) -> None:
        other = org.user("13900000005", "王五", org.finance, "sales_rep")
        with pytest.raises(ValidationError) as caught:
            org.crm.contacts.create(other, {"name": "x", "customer_id": customer.id})
        assert caught.value.codes == {"$.customer_id": "not_found"}
        with pytest.raises(ValidationError) as caught:
            org.crm.contacts.create(org.rep, {"name": "x"})
        assert caught.value.codes == {"$.customer_id": "required"}

    def test_one_primary_contact_per_customer(self, org: Org, customer: Any) -> None:
        crm = org.crm
        a = crm.contacts.create(org.rep, {"name": "甲", "customer_id": customer.id,
                                          "primary": True, "decision_maker": True})
        b = crm.contacts.create(org.rep, {"name": "乙", "customer_id": customer.id,
                                          "primary": True})
        assert not crm.contacts.get(org.rep, a.id).primary
        assert crm.contacts.get(org.rep, b.id).primary
        crm.contacts.update(org.rep, a.id, {"primary": True})
        assert not crm.contacts.get(org.rep, b.id).primary

    def test_detail_shows_customer(self, org: Org, customer: Any) -> None:
        contact = org.crm.contacts.create(org.rep, {"name": "甲", "customer_id": customer.id})
        detail = org.crm.contacts.detail(org.rep, contact.id)
        assert (detail.customer, detail.opportunities) == (customer, ())
        with pytest.raises(NotFound) as caught:
            org.crm.contacts.detail(org.user("13900000005", "王五", org.finance, "sales_rep"),
                                    contact.id)
        assert caught.value.code == "record.not_found"


class TestConversion:
    def test_convert_many(self, org: Org) -> None:
        crm = org.crm
        crm.fields.define(org.admin, "lead", {"key": "budget", "label_zh": "预算",
                                              "label_en": "Budget", "type": "money"})
        crm.fields.define(org.admin, "customer", {"key": "budget2", "label_zh": "预算",
                                                  "label_en": "Budget", "type": "money"})
        crm.leads.set_conversion_mapping(org.admin, {"budget": "budget2"})
        a = crm.leads.create(org.rep, {"name": "甲公司", "contact_name": "甲总",
                                       "mobile": "13911112222", "level": "A",
                                       "custom": {"budget": "88"}})
        b = crm.leads.create(org.rep, {"name": "乙公司"})
        results = crm.leads.convert(org.rep, [a.id, b.id])
        first = crm.customers.get(org.rep, results[0].customer_id)
        assert (first.name, first.level, first.mobile, first.owner_id, first.lead_id) == (
            "甲公司", "A", "13911112222", org.rep.id, a.id)
        assert first.custom == {"budget2": "88.00"}
        assert results[0].contact_id is not None
        contact = crm.contacts.get(org.rep, results[0].contact_id)
        assert (contact.name, contact.primary, contact.customer_id) == ("甲总", True, first.id)
        assert results[1].contact_id is None
        converted = crm.leads.get(org.rep, a.id)
        assert (converted.converted, converted.customer_id) == (True, first.id)
        assert crm.leads.list(org.rep).items == ()
        assert len(crm.leads.list(org.rep, {"scene": "converted"}).items) == 2
        with pytest.raises(RuleViolation) as caught:
            crm.leads.convert(org.rep, [a.id])
        assert caught.value.code == "lead.already_converted"

    def test_conversion_is_all_or_nothing(self, org: Org) -> None:
        crm = org.crm
        crm.customers.create(org.admin, {"name": "已存在"})
        ok = crm.leads.create(org.rep, {"name": "新公司"})
        clash = crm.leads.create(org.rep, {"name": "已存在"})
        with pytest.raises(ValidationError) as caught:
            crm.leads.convert(org.rep, [ok.id, clash.id])
        assert caught.value.codes == {"$[1].name": "unique"}
        assert not crm.leads.get(org.rep, ok.id).converted
        assert crm.customers.list(org.admin, {"with_total": True}).total == 1

    def test_conversion_permissions(self, org: Org) -> None:
        lead = org.crm.leads.create(org.rep, {"name": "x"})
        finance = org.user("13900000006", "钱会计", org.finance, "finance")
        with pytest.raises(PermissionDenied) as caught:
            org.crm.leads.convert(finance, [lead.id])
        assert caught.value.code == "permission_denied"

    def test_mapping_is_validated(self, org: Org) -> None:
        crm = org.crm
        crm.fields.define(org.admin, "lead", {"key": "n", "label_zh": "n", "label_en": "n",
                                              "type": "integer"})
        crm.fields.define(org.admin, "customer", {"key": "t", "label_zh": "t", "label_en": "t",
                                                  "type": "text"})
        for mapping in ({"n": "t"}, {"nope": "t"}, {"n": "nope"}, {"name": "t"}):
            with pytest.raises(ValidationError):
                crm.leads.set_conversion_mapping(org.admin, mapping)


@settings(max_examples=30, deadline=None)
@given(values=st.lists(st.one_of(st.none(), st.integers(-1000, 1000)), min_size=1, max_size=5),
       texts=st.lists(st.text(alphabet="甲乙丙abc", min_size=1, max_size=4), min_size=1,
                      max_size=5))
def test_conversion_never_loses_a_mapped_custom_value(values: list[int | None],
                                                      texts: list[str]) -> None:
    crm = CRM(ids=SequentialIds("h"))
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    for kind, keys in (("lead", ("score", "tag")), ("customer", ("points", "label"))):
        crm.fields.define(boss, kind, {"key": keys[0], "label_zh": "分", "label_en": "n",
                                       "type": "integer"})
        crm.fields.define(boss, kind, {"key": keys[1], "label_zh": "标", "label_en": "t",
                                       "type": "text"})
    crm.leads.set_conversion_mapping(boss, {"score": "points", "tag": "label"})
    leads = [crm.leads.create(boss, {"name": f"公司{i}", "custom": {
        "score": value, "tag": texts[i % len(texts)]}}) for i, value in enumerate(values)]
    for lead, result in zip(leads, crm.leads.convert(boss, [le.id for le in leads]), strict=True):
        customer = crm.customers.get(boss, result.customer_id)
        assert customer.custom.get("points") == lead.custom.get("score")
        assert customer.custom.get("label") == lead.custom.get("tag")
