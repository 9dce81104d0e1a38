"""产品 Products through ``crm.products`` on memory, SQLite and PostgreSQL: unique code,
category tree, price history, on/off shelf — each rule with its deny side."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from crmkit.entities import User
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org


@pytest.fixture
def keeper(org: Org) -> User:
    """A 产品管理员: view/create/edit products, every product in scope."""
    role = org.crm.org.add_role(org.admin, {
        "name": "产品管理员", "permissions": {"products": ["view", "create", "edit"]},
        "scopes": {"products": {"level": "all"}}})
    org.roles["product_keeper"] = role.id
    return org.user("13900000009", "产品专员", org.top, "product_keeper")


@pytest.fixture
def product(org: Org, keeper: User) -> Any:
    return org.crm.products.create(keeper, {"name": "CRM 标准版", "code": "CRM-STD",
                                            "price": "1000", "unit": "套"})


class TestProducts:
    def test_create_defaults_and_unique_code(self, org: Org, keeper: User, product: Any) -> None:
        assert (product.price, product.on_shelf, product.owner_id) == (
            Decimal("1000.00"), True, keeper.id)
        with pytest.raises(ValidationError) as caught:
            org.crm.products.create(org.admin, {"name": "另一个", "code": "CRM-STD"})
        assert caught.value.codes == {"$.code": "unique"}
        with pytest.raises(ValidationError) as caught:
            org.crm.products.create(keeper, {"name": "x", "code": "X", "price": "-1",
                                             "on_shelf": False})
        assert caught.value.codes == {"$.price": "range.min", "$.on_shelf": "read_only"}

    def test_create_needs_permission(self, org: Org) -> None:
        with pytest.raises(PermissionDenied) as caught:  # 销售员 may only view products
            org.crm.products.create(org.rep, {"name": "x", "code": "X"})
        assert caught.value.code == "permission_denied"

    def test_category_must_exist(self, org: Org, keeper: User, product: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.products.create(keeper, {"name": "x", "code": "X", "category_id": "ghost"})
        assert caught.value.codes == {"$.category_id": "not_found"}
        with pytest.raises(ValidationError) as caught:
            org.crm.products.update(keeper, product.id, {"category_id": "ghost"})
        assert caught.value.codes == {"$.category_id": "not_found"}
        cat = org.crm.products.add_category(keeper, {"name": "软件"})
        moved = org.crm.products.update(keeper, product.id, {"category_id": cat.id})
        assert moved.category_id == cat.id
        page = org.crm.products.list(keeper, {"conditions": [
            {"field": "category_id", "op": "eq", "value": cat.id}]})
        assert [p.code for p in page.items] == ["CRM-STD"]


class TestPriceHistory:
    def test_only_real_price_changes_are_recorded(self, org: Org, keeper: User,
                                                  product: Any) -> None:
        crm = org.crm
        assert crm.products.price_history(keeper, product.id) == []  # creating is no change
        crm.products.update(keeper, product.id, {"name": "CRM 标准版 2026"})
        crm.products.update(keeper, product.id, {"price": "1000.00"})
        assert crm.products.price_history(keeper, product.id) == []
        org.clock.advance(minutes=1)
        crm.products.update(keeper, product.id, {"price": "1200"})
        org.clock.advance(minutes=1)
        crm.products.update(org.admin, product.id, {"price": "999.50", "unit": "年"})
        history = crm.products.price_history(keeper, product.id)
        assert [(c.old_price, c.new_price, c.actor_id) for c in history] == [
            (Decimal("1200.00"), Decimal("999.50"), org.admin.id),
            (Decimal("1000.00"), Decimal("1200.00"), keeper.id),
        ]
        assert history[0].at > history[1].at
        entry = crm.products.operation_log(keeper, product.id)[0]
        assert {c.field: (c.old, c.new) for c in entry.changes}["price"] == ("1200.00", "999.50")

    def test_history_needs_view_and_scope(self, org: Org, product: Any) -> None:
        accountant = org.user("13900000007", "会计", org.finance, "finance")
        with pytest.raises(PermissionDenied) as caught:  # 财务 has no products permission
            org.crm.products.price_history(accountant, product.id)
        assert caught.value.code == "permission_denied"
        with pytest.raises(NotFound) as missing:
            org.crm.products.price_history(org.admin, "ghost")
        assert missing.value.code == "record.not_found"

    def test_failed_update_records_nothing(self, org: Org, keeper: User, product: Any) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.products.update(keeper, product.id, {"price": "5", "category_id": "ghost"})
        assert caught.value.codes == {"$.category_id": "not_found"}
        assert org.crm.products.price_history(keeper, product.id) == []
        assert org.crm.products.get(keeper, product.id).price == Decimal("1000.00")


class TestShelf:
    def test_take_off_and_put_on_in_batches(self, org: Org, keeper: User, product: Any) -> None:
        crm = org.crm
        other = crm.products.create(keeper, {"name": "CRM 旗舰版", "code": "CRM-PRO"})
        off = crm.products.take_off_shelf(keeper, [product.id, other.id])
        assert [(p.id, p.on_shelf, p.version) for p in off] == [
            (product.id, False, 2), (other.id, False, 2)]
        again = crm.products.take_off_shelf(keeper, [product.id])
        assert again[0].version == 2, "already off shelf: nothing written"
        log = crm.products.operation_log(keeper, product.id)
        assert [e.action for e in log] == ["take_off_shelf", "create"]
        assert [(c.field, c.old, c.new) for c in log[0].changes] == [("on_shelf", True, False)]
        page = crm.products.list(keeper, {"conditions": [
            {"field": "on_shelf", "op": "eq", "value": False}], "with_total": True})
        assert page.total == 2
        on = crm.products.put_on_shelf(keeper, [other.id])
        assert on[0].on_shelf and crm.products.get(keeper, product.id).on_shelf is False
        assert crm.products.operation_log(keeper, other.id)[0].action == "put_on_shelf"

    def test_shelf_needs_edit_and_is_all_or_nothing(self, org: Org, keeper: User,
                                                    product: Any) -> None:
        crm = org.crm
        with pytest.raises(PermissionDenied) as caught:  # 销售员: products view only
            crm.products.take_off_shelf(org.rep, [product.id])
        assert caught.value.code == "permission_denied"
        with pytest.raises(NotFound) as missing:
            crm.products.take_off_shelf(keeper, [product.id, "ghost"])
        assert missing.value.code == "record.not_found"
        assert crm.products.get(keeper, product.id).on_shelf is True
        with pytest.raises(ValidationError) as invalid:
            crm.products.put_on_shelf(keeper, [product.id, 42])  # type: ignore[list-item]
        assert invalid.value.codes == {"$.product_ids[1]": "type"}
        with pytest.raises(ValidationError) as invalid:
            crm.products.put_on_shelf(keeper, product.id)
        assert invalid.value.codes == {"$.product_ids": "type"}


class TestCategories:
    def test_tree_add_rename_move_list(self, org: Org, keeper: User) -> None:
        p = org.crm.products
        software = p.add_category(keeper, {"name": " 软件 "})
        saas = p.add_category(keeper, {"name": "SaaS", "parent_id": software.id})
        hardware = p.add_category(keeper, {"name": "硬件"})
        assert software.name == "软件" and saas.parent_id == software.id
        p.rename_category(keeper, saas.id, "云服务")
        p.move_category(keeper, saas.id, hardware.id)
        assert [(c.name, c.parent_id) for c in p.list_categories(org.rep)] == [
            ("硬件", None), ("云服务", hardware.id), ("软件", None)]
        p.move_category(keeper, saas.id, None)
        assert [c.name for c in p.list_categories(keeper)] == ["云服务", "硬件", "软件"]
        assert [e.action for e in org.crm.org.operation_log(
            org.admin, "product_category", saas.id)] == ["update", "update", "update", "create"]

    def test_tree_rules(self, org: Org, keeper: User) -> None:
        p = org.crm.products
        top = p.add_category(keeper, {"name": "软件"})
        child = p.add_category(keeper, {"name": "SaaS", "parent_id": top.id})
        grandchild = p.add_category(keeper, {"name": "CRM", "parent_id": child.id})
        for target in (top.id, child.id, grandchild.id):
            with pytest.raises(RuleViolation) as caught:
                p.move_category(keeper, top.id, target)
            assert caught.value.code == "product.category_cycle"
        bad = [({"name": "  "}, {"$.name": "blank"}),
               ({"name": "x", "parent_id": "ghost"}, {"$.parent_id": "not_found"}),
               ({"name": "SaaS", "parent_id": top.id}, {"$.name": "unique"}),
               ({"parent_id": top.id}, {"$.name": "required"})]
        for data, codes in bad:
            with pytest.raises(ValidationError) as invalid:
                p.add_category(keeper, data)
            assert invalid.value.codes == codes, data
        p.add_category(keeper, {"name": "SaaS"})  # same name, other parent: fine
        with pytest.raises(ValidationError) as invalid:
            p.move_category(keeper, child.id, None)  # a top-level SaaS exists already
        assert invalid.value.codes == {"$.name": "unique"}
        with pytest.raises(ValidationError) as invalid:
            p.move_category(keeper, child.id, "ghost")
        assert invalid.value.codes == {"$.parent_id": "not_found"}
        with pytest.raises(NotFound) as missing:
            p.rename_category(keeper, "ghost", "x")
        assert missing.value.code == "product_category.not_found"

    def test_delete_only_empty_categories(self, org: Org, keeper: User) -> None:
        p = org.crm.products
        top = p.add_category(keeper, {"name": "软件"})
        child = p.add_category(keeper, {"name": "SaaS", "parent_id": top.id})
        made = p.create(keeper, {"name": "CRM", "code": "CRM", "category_id": child.id})
        for category in (top, child):
            with pytest.raises(RuleViolation) as caught:
                p.delete_category(keeper, category.id)
            assert caught.value.code == "product.category_not_empty"
        p.update(keeper, made.id, {"category_id": None})
        p.delete_category(keeper, child.id)
        p.delete_category(keeper, top.id)
        assert p.list_categories(keeper) == []
        with pytest.raises(NotFound) as missing:
            p.delete_category(keeper, top.id)
        assert missing.value.code == "product_category.not_found"

    def test_managing_categories_needs_edit(self, org: Org, keeper: User) -> None:
        p = org.crm.products
        cat = p.add_category(keeper, {"name": "软件"})
        for call in (lambda a: p.add_category(a, {"name": "x"}),
                     lambda a: p.rename_category(a, cat.id, "x"),
                     lambda a: p.move_category(a, cat.id, None),
                     lambda a: p.delete_category(a, cat.id)):
            with pytest.raises(PermissionDenied) as caught:
                call(org.rep)  # 销售员: view only
            assert caught.value.code == "permission_denied"
        assert [c.name for c in p.list_categories(org.rep)] == ["软件"]
        accountant = org.user("13900000007", "会计", org.finance, "finance")
        with pytest.raises(PermissionDenied) as caught:
            p.list_categories(accountant)
        assert caught.value.code == "permission_denied"


def test_hand_over_moves_products(org: Org, keeper: User, product: Any) -> None:
    report = org.crm.org.hand_over(org.admin, keeper.id, org.manager.id)
    assert report.moved["product"] == 1
    assert org.crm.products.get(org.admin, product.id).owner_id == org.manager.id
