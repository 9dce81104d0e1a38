"""商机 Opportunities and stage groups through ``crm.opportunities`` on memory, SQLite and
PostgreSQL — each rule with its deny side — plus a property test of stage histories (memory)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.entities import User
from crmkit.entities.records import Access
from crmkit.entities.sales import Contact, Customer, OpportunityStatus, Product, StageGroup
from crmkit.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org

IN_PROGRESS, WON, LOST, INVALID = (OpportunityStatus.IN_PROGRESS, OpportunityStatus.WON,
                                   OpportunityStatus.LOST, OpportunityStatus.INVALID)


@attrs.define
class Sales:
    """A stage group for everyone, a customer of 张三 with a contact, two products."""

    group: StageGroup
    customer: Customer
    contact: Contact
    crm_std: Product
    crm_pro: Product

    def stage(self, name: str) -> str:
        return next(s.id for s in self.group.stages if s.name == name)


@pytest.fixture
def sales(org: Org) -> Sales:
    crm = org.crm
    group = crm.opportunities.add_stage_group(org.admin, {"name": "标准销售流程", "stages": [
        {"name": "初步接洽", "win_rate": "10"}, {"name": "需求确认", "win_rate": "30"},
        {"name": "方案报价", "win_rate": "60"}, {"name": "谈判审核", "win_rate": "80.5"}]})
    customer = crm.customers.create(org.rep, {"name": "华为"})
    contact = crm.contacts.create(org.rep, {"name": "王工", "customer_id": customer.id})
    std = crm.products.create(org.admin, {"name": "CRM 标准版", "code": "CRM-STD",
                                          "price": "1000", "unit": "套"})
    pro = crm.products.create(org.admin, {"name": "CRM 旗舰版", "code": "CRM-PRO",
                                          "price": "2500.50", "unit": "套"})
    return Sales(group, customer, contact, std, pro)


def new_opportunity(org: Org, sales: Sales, actor: User | None = None, **data: Any) -> Any:
    payload = {"name": "华为 CRM 项目", "customer_id": sales.customer.id,
               "stage_group_id": sales.group.id, **data}
    return org.crm.opportunities.create(actor or org.rep, payload)


def viewer(org: Org) -> User:
    """A user whose role may only view opportunities (all of them) and customers."""
    role = org.crm.org.add_role(org.admin, {
        "name": "商机查看", "permissions": {"opportunities": ["view"], "customers": ["view"]},
        "scopes": {"opportunities": {"level": "all"}, "customers": {"level": "all"}}})
    org.roles["opportunity_viewer"] = role.id
    return org.user("13900000008", "观察员", org.top, "opportunity_viewer")


class TestStageGroups:
    def test_add_list_and_normalise(self, org: Org, sales: Sales) -> None:
        group = sales.group
        assert [(s.name, s.win_rate) for s in group.stages] == [
            ("初步接洽", Decimal("10.00")), ("需求确认", Decimal("30.00")),
            ("方案报价", Decimal("60.00")), ("谈判审核", Decimal("80.50"))]
        assert len({s.id for s in group.stages}) == 4
        assert group.enabled and group.department_ids == frozenset()
        assert org.crm.opportunities.list_stage_groups(org.rep) == [group]
        assert org.crm.opportunities.get_stage_group(org.rep, group.id) == group
        [entry] = org.crm.org.operation_log(org.admin, "stage_group", group.id)
        assert entry.action == "create"

    def test_configuring_needs_approve_config(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        payload = {"name": "x", "stages": [{"name": "a", "win_rate": "1"}]}
        for actor in (org.rep, org.manager):
            with pytest.raises(PermissionDenied) as caught:
                ops.add_stage_group(actor, payload)
            assert caught.value.code == "permission_denied"
            with pytest.raises(PermissionDenied) as caught:
                ops.update_stage_group(actor, sales.group.id, {"name": "改名"})
            assert caught.value.code == "permission_denied"
            with pytest.raises(PermissionDenied) as caught:
                ops.disable_stage_group(actor, sales.group.id)
            assert caught.value.code == "permission_denied"
        role = org.crm.org.add_role(org.admin, {
            "name": "商机配置", "permissions": {"opportunities": ["view", "approve_config"]}})
        org.roles["stage_admin"] = role.id
        configurer = org.user("13900000006", "配置员", org.finance, "stage_admin")
        made = ops.add_stage_group(configurer, {**payload, "department_ids": [org.sales.id]})
        assert made.id in [g.id for g in ops.list_stage_groups(configurer)]
        accountant = org.user("13900000007", "会计", org.finance, "finance")
        with pytest.raises(PermissionDenied) as caught:
            ops.list_stage_groups(accountant)
        assert caught.value.code == "permission_denied"

    def test_payload_rules(self, org: Org) -> None:
        ops = org.crm.opportunities
        bad: list[tuple[dict[str, Any], dict[str, str]]] = [
            ({"name": "x", "stages": []}, {"$.stages": "required"}),
            ({"name": " ", "stages": [{"name": "a", "win_rate": "1"}]}, {"$.name": "blank"}),
            ({"name": "x", "stages": [{"name": "a", "win_rate": "10"},
                                      {"name": "a", "win_rate": "20"}]},
             {"$.stages[1].name": "unique"}),
            ({"name": "x", "stages": [{"name": "a", "win_rate": "100.01"},
                                      {"name": "b", "win_rate": -1},
                                      {"name": "c", "win_rate": "12.345"}]},
             {"$.stages[0].win_rate": "range.max", "$.stages[1].win_rate": "range.min",
              "$.stages[2].win_rate": "decimal.precision"}),
            ({"name": "x", "stages": [{"name": "a", "win_rate": 0.5}]},
             {"$.stages[0].win_rate": "type"}),
            ({"name": "x", "stages": [{"name": "a", "win_rate": "5"}],
              "department_ids": ["ghost"]}, {"$.department_ids": "not_found"}),
            ({"name": "x"}, {"$.stages": "required"}),
        ]
        for data, codes in bad:
            with pytest.raises(ValidationError) as caught:
                ops.add_stage_group(org.admin, data)
            assert caught.value.codes == codes, data
        edge = ops.add_stage_group(org.admin, {"name": "x", "stages": [
            {"name": "a", "win_rate": 0}, {"name": "b", "win_rate": "100"}]})
        assert [s.win_rate for s in edge.stages] == [Decimal("0.00"), Decimal("100.00")]

    def test_update_keeps_stage_ids_and_guards_used_stages(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        first, second, third, fourth = sales.group.stages
        opp = new_opportunity(org, sales)
        ops.advance(org.rep, opp.id, third.id)
        with pytest.raises(RuleViolation) as caught:
            ops.update_stage_group(org.admin, sales.group.id, {"stages": [
                {"id": first.id, "name": first.name, "win_rate": "10"}]})
        assert caught.value.code == "opportunity.stage_in_use"
        updated = ops.update_stage_group(org.admin, sales.group.id, {"stages": [
            {"id": third.id, "name": "报价", "win_rate": "65"},
            {"name": "签约", "win_rate": "95"},
            {"id": first.id, "name": first.name, "win_rate": "5"}],
        }, expected_version=1)
        assert [(s.name, s.win_rate) for s in updated.stages] == [
            ("报价", Decimal("65.00")), ("签约", Decimal("95.00")), ("初步接洽", Decimal("5.00"))]
        assert updated.stages[0].id == third.id and updated.version == 2
        assert ops.win_rate(org.rep, opp.id) == Decimal("65.00")
        assert second.id not in {s.id for s in updated.stages}
        with pytest.raises(Conflict) as clash:
            ops.update_stage_group(org.admin, sales.group.id, {"name": "x"}, expected_version=1)
        assert clash.value.code == "version_conflict"
        with pytest.raises(ValidationError) as invalid:
            ops.update_stage_group(org.admin, sales.group.id, {"stages": [
                {"id": fourth.id, "name": "复活", "win_rate": "1"}]})
        assert invalid.value.codes == {"$.stages[0].id": "not_found"}
        with pytest.raises(ValidationError) as invalid:
            ops.update_stage_group(org.admin, sales.group.id, {"bogus": 1})
        assert invalid.value.codes == {"$.bogus": "unknown_field"}
        with pytest.raises(NotFound) as missing:
            ops.update_stage_group(org.admin, "ghost", {"name": "x"})
        assert missing.value.code == "stage_group.not_found"

    def test_visibility_by_department_tree(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        mine = ops.add_stage_group(org.admin, {"name": "销售部流程", "department_ids": [
            org.sales.id], "stages": [{"name": "a", "win_rate": "50"}]})
        outsider = org.user("13900000005", "王五", org.finance, "sales_rep")
        # 张三 sits in 销售一组, below 销售部: he sees it; 王五 in 财务部 does not
        assert [g.name for g in ops.list_stage_groups(org.rep)] == ["标准销售流程", "销售部流程"]
        assert [g.name for g in ops.list_stage_groups(outsider)] == ["标准销售流程"]
        with pytest.raises(NotFound) as caught:
            ops.get_stage_group(outsider, mine.id)
        assert caught.value.code == "stage_group.not_found"
        assert len(ops.list_stage_groups(org.admin)) == 2  # the configurer uses all
        boss_customer = org.crm.customers.create(org.admin, {"name": "阿里"})
        org.crm.opportunities.create(org.admin, {"name": "x", "customer_id": boss_customer.id,
                                                 "stage_group_id": mine.id})
        new_opportunity(org, sales, stage_group_id=mine.id)
        theirs = org.crm.customers.create(outsider, {"name": "腾讯"})
        with pytest.raises(ValidationError) as invalid:
            org.crm.opportunities.create(outsider, {"name": "x", "customer_id": theirs.id,
                                                    "stage_group_id": mine.id})
        assert invalid.value.codes == {"$.stage_group_id": "not_found"}

    def test_disabled_groups_take_no_new_opportunities(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales)
        disabled = ops.disable_stage_group(org.admin, sales.group.id)
        assert not disabled.enabled
        assert ops.list_stage_groups(org.rep) == []
        assert ops.list_stage_groups(org.rep, include_disabled=True) == [disabled]
        with pytest.raises(ValidationError) as caught:
            new_opportunity(org, sales)
        assert caught.value.codes == {"$.stage_group_id": "stage_group.disabled"}
        assert ops.advance(org.rep, opp.id, sales.stage("方案报价")).stage_id == sales.stage(
            "方案报价"), "existing opportunities carry on"
        ops.enable_stage_group(org.admin, sales.group.id)
        new_opportunity(org, sales)


class TestCreateAndEdit:
    def test_starts_at_first_stage_in_progress(self, org: Org, sales: Sales) -> None:
        opp = new_opportunity(org, sales, amount="50000", expected_close_date="2026-12-31")
        assert (opp.stage_id, opp.status, opp.amount, opp.owner_id) == (
            sales.stage("初步接洽"), IN_PROGRESS, Decimal("50000.00"), org.rep.id)
        [start] = org.crm.opportunities.stage_history(org.rep, opp.id)
        assert (start.from_stage_id, start.to_stage_id, start.to_status, start.actor_id) == (
            None, opp.stage_id, IN_PROGRESS, org.rep.id)
        assert org.crm.opportunities.win_rate(org.rep, opp.id) == Decimal("10.00")
        assert org.crm.opportunities.weighted_amount(org.rep, opp.id) == Decimal("5000.00")
        with pytest.raises(ValidationError) as caught:
            new_opportunity(org, sales, stage_id=sales.stage("方案报价"), status="won")
        assert caught.value.codes == {"$.stage_id": "read_only", "$.status": "read_only"}

    def test_customer_must_be_visible(self, org: Org, sales: Sales) -> None:
        outsider = org.user("13900000005", "王五", org.finance, "sales_rep")
        for actor, customer_id in ((outsider, sales.customer.id), (org.rep, "ghost")):
            with pytest.raises(ValidationError) as caught:
                org.crm.opportunities.create(actor, {"name": "x", "customer_id": customer_id,
                                                     "stage_group_id": sales.group.id})
            assert caught.value.codes == {"$.customer_id": "not_found"}
        with pytest.raises(ValidationError) as caught:
            org.crm.opportunities.create(org.rep, {"name": "x", "customer_id": sales.customer.id,
                                                   "stage_group_id": "ghost"})
        assert caught.value.codes == {"$.stage_group_id": "not_found"}
        assert org.crm.opportunities.list(org.admin, {"with_total": True}).total == 0

    def test_create_needs_permission(self, org: Org, sales: Sales) -> None:
        with pytest.raises(PermissionDenied) as caught:
            new_opportunity(org, sales, actor=viewer(org))
        assert caught.value.code == "permission_denied"
        accountant = org.user("13900000007", "会计", org.finance, "finance")
        with pytest.raises(PermissionDenied) as caught:
            new_opportunity(org, sales, actor=accountant)
        assert caught.value.code == "permission_denied"

    def test_lines_price_from_product_and_totals(self, org: Org, sales: Sales) -> None:
        opp = new_opportunity(org, sales, amount="1", order_discount="5", lines=[
            {"product_id": sales.crm_std.id, "quantity": "3", "discount": "10"},
            {"product_id": sales.crm_pro.id, "quantity": "1.5", "price": "2000"}])
        std, pro = opp.lines
        assert (std.name, std.unit, std.price, std.subtotal) == (
            "CRM 标准版", "套", Decimal("1000.00"), Decimal("2700.00"))
        assert (pro.price, pro.quantity, pro.discount, pro.subtotal) == (
            Decimal("2000.00"), Decimal("1.5"), Decimal("0"), Decimal("3000.00"))
        assert opp.amount == Decimal("5415.00")  # (2700 + 3000) × 95%, the payload's 1 ignored
        edited = org.crm.opportunities.update(org.rep, opp.id, {"order_discount": "0"})
        assert edited.amount == Decimal("5700.00")
        cleared = org.crm.opportunities.update(org.rep, opp.id, {"lines": [], "amount": "99"})
        assert (cleared.lines, cleared.amount) == ((), Decimal("99.00"))

    def test_line_rules(self, org: Org, sales: Sales) -> None:
        std = sales.crm_std.id
        bad: list[tuple[Any, dict[str, str]]] = [
            ("x", {"$.lines": "type"}),
            ([{"product_id": "ghost", "quantity": "1"}], {"$.lines[0].product_id": "not_found"}),
            ([{"product_id": std, "quantity": "1"}, {"product_id": std, "quantity": "2"}],
             {"$.lines[1].product_id": "unique"}),
            ([{"product_id": std, "quantity": "0", "discount": "101", "price": "-1"}],
             {"$.lines[0].quantity": "range.min", "$.lines[0].discount": "range.max",
              "$.lines[0].price": "range.min"}),
            ([{"product_id": std, "quantity": "1.00001", "price": "0.001"}],
             {"$.lines[0].quantity": "decimal.precision", "$.lines[0].price": "decimal.precision"}),
            ([{"product_id": std}], {"$.lines[0].quantity": "required"}),
            ([{"product_id": std, "quantity": 1.5}], {"$.lines[0].quantity": "type"}),
            ([{"product_id": std, "quantity": "1", "colour": "red"}],
             {"$.lines[0].colour": "unknown_field"}),
        ]
        for lines, codes in bad:
            with pytest.raises(ValidationError) as caught:
                new_opportunity(org, sales, lines=lines)
            assert caught.value.codes == codes, lines
        assert org.crm.opportunities.list(org.admin, {"with_total": True}).total == 0

    def test_off_shelf_product_refused_on_new_lines_only(self, org: Org, sales: Sales) -> None:
        crm = org.crm
        opp = new_opportunity(org, sales, lines=[{"product_id": sales.crm_std.id,
                                                  "quantity": "1"}])
        crm.products.take_off_shelf(org.admin, [sales.crm_std.id, sales.crm_pro.id])
        with pytest.raises(ValidationError) as caught:
            new_opportunity(org, sales, lines=[{"product_id": sales.crm_std.id,
                                                "quantity": "1"}])
        assert caught.value.codes == {"$.lines[0].product_id": "product.off_shelf"}
        kept = crm.opportunities.update(org.rep, opp.id, {"lines": [
            {"product_id": sales.crm_std.id, "quantity": "4"}]})
        assert kept.amount == Decimal("4000.00"), "an existing line may stay"
        with pytest.raises(ValidationError) as caught:
            crm.opportunities.update(org.rep, opp.id, {"lines": [
                {"product_id": sales.crm_std.id, "quantity": "4"},
                {"product_id": sales.crm_pro.id, "quantity": "1"}]})
        assert caught.value.codes == {"$.lines[1].product_id": "product.off_shelf"}
        crm.products.put_on_shelf(org.admin, [sales.crm_pro.id])
        both = crm.opportunities.update(org.rep, opp.id, {"lines": [
            {"product_id": sales.crm_std.id, "quantity": "4"},
            {"product_id": sales.crm_pro.id, "quantity": "1"}]})
        assert both.amount == Decimal("6500.50")

    def test_contacts_of_the_same_customer(self, org: Org, sales: Sales) -> None:
        crm = org.crm
        other = crm.customers.create(org.rep, {"name": "中兴"})
        stranger = crm.contacts.create(org.rep, {"name": "李工", "customer_id": other.id})
        opp = new_opportunity(org, sales, contact_ids=[sales.contact.id, sales.contact.id])
        assert opp.contact_ids == (sales.contact.id,)
        with pytest.raises(ValidationError) as caught:
            crm.opportunities.update(org.rep, opp.id, {"contact_ids": [sales.contact.id,
                                                                       stranger.id, "ghost"]})
        assert caught.value.codes == {"$.contact_ids[1]": "not_found",
                                      "$.contact_ids[2]": "not_found"}
        with pytest.raises(ValidationError) as caught:
            crm.opportunities.update(org.rep, opp.id, {"customer_id": other.id})
        assert caught.value.codes == {"$.contact_ids[0]": "not_found"}
        moved = crm.opportunities.update(org.rep, opp.id, {"customer_id": other.id,
                                                           "contact_ids": [stranger.id]})
        assert (moved.customer_id, moved.contact_ids) == (other.id, (stranger.id,))
        with pytest.raises(ValidationError) as caught:
            crm.opportunities.update(org.rep, opp.id, {"contact_ids": "x"})
        assert caught.value.codes == {"$.contact_ids": "type"}

    def test_changing_the_stage_group_restarts(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        other = ops.add_stage_group(org.admin, {"name": "快速流程", "stages": [
            {"name": "报价", "win_rate": "50"}, {"name": "签约", "win_rate": "90"}]})
        opp = new_opportunity(org, sales)
        ops.advance(org.rep, opp.id, sales.stage("方案报价"))
        moved = ops.update(org.rep, opp.id, {"stage_group_id": other.id})
        assert (moved.stage_id, moved.status) == (other.stages[0].id, IN_PROGRESS)
        last = ops.stage_history(org.rep, opp.id)[-1]
        assert (last.from_stage_id, last.to_stage_id) == (sales.stage("方案报价"),
                                                          other.stages[0].id)
        ops.win(org.rep, opp.id)
        with pytest.raises(RuleViolation) as caught:
            ops.update(org.rep, opp.id, {"stage_group_id": sales.group.id})
        assert caught.value.code == "opportunity.closed"


class TestStages:
    def test_advance_back_win_and_history(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales, amount="10000")
        org.clock.advance(minutes=1)
        ops.advance(org.rep, opp.id, sales.stage("谈判审核"))
        assert ops.weighted_amount(org.rep, opp.id) == Decimal("8050.00")
        org.clock.advance(minutes=1)
        back = ops.advance(org.rep, opp.id, sales.stage("需求确认"))
        assert back.stage_id == sales.stage("需求确认") and back.version == 3
        assert ops.advance(org.rep, opp.id, sales.stage("需求确认")).version == 3, "no-op"
        org.clock.advance(minutes=1)
        won = ops.win(org.rep, opp.id, expected_version=3)
        assert (won.status, won.stage_id, won.closed_at) == (WON, sales.stage("需求确认"),
                                                             org.clock.now())
        assert ops.win_rate(org.rep, opp.id) == Decimal("100")
        assert ops.weighted_amount(org.rep, opp.id) == Decimal("10000.00")
        history = ops.stage_history(org.rep, opp.id)
        assert [(h.to_stage_id, h.to_status) for h in history] == [
            (sales.stage("初步接洽"), IN_PROGRESS), (sales.stage("谈判审核"), IN_PROGRESS),
            (sales.stage("需求确认"), IN_PROGRESS), (sales.stage("需求确认"), WON)]
        assert [h.from_stage_id for h in history[1:]] == [
            h.to_stage_id for h in history[:-1]]
        log = ops.operation_log(org.rep, opp.id)
        assert [e.action for e in log] == ["stage", "stage", "stage", "create"]
        assert {c.field: c.new for c in log[0].changes}["status"] == "won"

    def test_ended_opportunities_do_not_move(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales)
        ops.win(org.rep, opp.id)
        moves: list[Callable[[], object]] = [
            lambda: ops.advance(org.rep, opp.id, sales.stage("方案报价")),
            lambda: ops.win(org.rep, opp.id),
            lambda: ops.lose(org.rep, opp.id, "太贵"),
            lambda: ops.invalidate(org.rep, opp.id)]
        for move in moves:
            with pytest.raises(RuleViolation) as caught:
                move()
            assert caught.value.code == "opportunity.closed"
        assert len(ops.stage_history(org.rep, opp.id)) == 2

    def test_lose_needs_a_reason_and_weighs_nothing(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales, amount="10000")
        for reason, code in (("", "blank"), ("   ", "blank"), (None, "required"),
                             ("x" * 501, "too_long")):
            with pytest.raises(ValidationError) as caught:
                ops.lose(org.rep, opp.id, reason)  # type: ignore[arg-type]
            assert caught.value.codes == {"$.reason": code}
        assert ops.get(org.rep, opp.id).status is IN_PROGRESS
        lost = ops.lose(org.rep, opp.id, " 价格太高 ")
        assert (lost.status, lost.lost_reason) == (LOST, "价格太高")
        assert ops.win_rate(org.rep, opp.id) == Decimal(0)
        assert ops.weighted_amount(org.rep, opp.id) == Decimal("0.00")
        last = ops.stage_history(org.rep, opp.id)[-1]
        assert (last.to_status, last.reason) == (LOST, "价格太高")
        assert ops.operation_log(org.rep, opp.id)[0].note == "价格太高"

    def test_invalidate_and_reopen(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales, amount="200")
        ops.advance(org.rep, opp.id, sales.stage("方案报价"))
        dead = ops.invalidate(org.rep, opp.id, "重复录入")
        assert (dead.status, dead.lost_reason) == (INVALID, None)
        assert ops.weighted_amount(org.rep, opp.id) == Decimal("0.00")
        assert ops.stage_history(org.rep, opp.id)[-1].reason == "重复录入"
        back = ops.reopen(org.rep, opp.id)
        assert (back.status, back.stage_id, back.closed_at) == (
            IN_PROGRESS, sales.stage("方案报价"), None)
        assert ops.weighted_amount(org.rep, opp.id) == Decimal("120.00")
        with pytest.raises(RuleViolation) as caught:
            ops.reopen(org.rep, opp.id)
        assert caught.value.code == "opportunity.not_closed"
        ops.lose(org.rep, opp.id, "预算取消")
        again = ops.reopen(org.rep, opp.id, sales.stage("初步接洽"))
        assert (again.stage_id, again.lost_reason) == (sales.stage("初步接洽"), None)

    def test_unknown_stage_and_version(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        other = ops.add_stage_group(org.admin, {"name": "其他", "stages": [
            {"name": "a", "win_rate": "50"}]})
        opp = new_opportunity(org, sales)
        for stage_id in (other.stages[0].id, "ghost"):
            with pytest.raises(ValidationError) as caught:
                ops.advance(org.rep, opp.id, stage_id)
            assert caught.value.codes == {"$.stage_id": "not_found"}
        with pytest.raises(Conflict) as clash:
            ops.advance(org.rep, opp.id, sales.stage("方案报价"), expected_version=7)
        assert clash.value.code == "version_conflict"
        assert len(ops.stage_history(org.rep, opp.id)) == 1

    def test_stage_moves_need_edit_rights(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales)
        outsider = org.user("13900000005", "王五", org.finance, "sales_rep")
        with pytest.raises(NotFound) as caught:
            ops.advance(outsider, opp.id, sales.stage("方案报价"))
        assert caught.value.code == "record.not_found"
        with pytest.raises(NotFound) as caught:
            ops.stage_history(outsider, opp.id)
        assert caught.value.code == "record.not_found"
        looker = viewer(org)
        assert ops.win_rate(looker, opp.id) == Decimal("10.00")
        with pytest.raises(PermissionDenied) as denied:
            ops.win(looker, opp.id)
        assert denied.value.code == "permission_denied"
        ops.add_team_member(org.rep, opp.id, outsider.id, "read")
        with pytest.raises(PermissionDenied) as denied:
            ops.win(outsider, opp.id)
        assert denied.value.code == "record.read_only"
        ops.add_team_member(org.rep, opp.id, outsider.id, "write")
        assert ops.win(outsider, opp.id).status is WON
        assert org.crm.opportunities.get(org.manager, opp.id).status is WON


class TestOwnership:
    def test_transfer_keeps_old_owner_on_the_team(self, org: Org, sales: Sales) -> None:
        ops = org.crm.opportunities
        opp = new_opportunity(org, sales)
        report = ops.transfer(org.manager, [opp.id], org.manager.id, keep_old_owner="read")
        assert report.moved == 1
        moved = ops.get(org.rep, opp.id)
        assert moved.owner_id == org.manager.id
        assert [(m.user_id, m.access) for m in ops.team(org.rep, opp.id)] == [
            (org.rep.id, Access.READ)]
        with pytest.raises(PermissionDenied) as caught:
            ops.advance(org.rep, opp.id, sales.stage("方案报价"))
        assert caught.value.code == "record.read_only"
        assert ops.operation_log(org.manager, opp.id)[0].action == "transfer"
        with pytest.raises(PermissionDenied) as caught:
            ops.transfer(viewer(org), [opp.id], org.rep.id)
        assert caught.value.code == "permission_denied"

    def test_hand_over_moves_opportunities(self, org: Org, sales: Sales) -> None:
        opp = new_opportunity(org, sales)
        report = org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
        assert report.moved["opportunity"] == 1
        assert org.crm.opportunities.get(org.manager, opp.id).owner_id == org.manager.id

    def test_lists_filter_on_status_amount_and_custom_fields(self, org: Org,
                                                              sales: Sales) -> None:
        ops = org.crm.opportunities
        org.crm.fields.define(org.admin, "opportunity", {
            "key": "channel", "label_zh": "渠道", "label_en": "Channel", "type": "select",
            "options": ["直销", "代理"]})
        for i, amount in enumerate(("100", "2000", "30000")):
            org.clock.advance(minutes=1)
            made = new_opportunity(org, sales, name=f"商机{i}", amount=amount,
                                   custom={"channel": "直销" if i else "代理"})
            if i == 1:
                ops.win(org.rep, made.id)
        page = ops.list(org.rep, {"conditions": [
            {"field": "status", "op": "eq", "value": "in_progress"},
            {"field": "amount", "op": "ge", "value": "1000"}]})
        assert [o.name for o in page.items] == ["商机2"]
        page = ops.list(org.manager, {"conditions": [
            {"field": "channel", "op": "eq", "value": "直销"}],
            "sort": [{"field": "amount"}]})
        assert [o.name for o in page.items] == ["商机1", "商机2"]


# -- property: a random stage history through the facade matches the rule text (memory) --------
def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


MOVES = st.lists(st.one_of(
    st.tuples(st.just("advance"), st.integers(0, 5)),
    st.tuples(st.sampled_from(["win", "lose", "invalidate", "reopen"]), st.integers(0, 5)),
), max_size=12)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rates=st.lists(st.integers(0, 10000), min_size=1, max_size=5),
       amount=st.integers(0, 10**9), moves=MOVES)
def test_stage_history_property(rates: list[int], amount: int,
                                moves: list[tuple[str, int]]) -> None:
    """Whatever sequence of moves, the opportunity's win rate and weighted amount follow
    DESIGN §5 (stage rate in progress, 100 won, 0 lost/invalid; amount × rate / 100 to the
    cent), refused moves change nothing, and every accepted move adds one history entry."""
    crm = CRM(clock=FixedClock(datetime(2026, 11, 2, tzinfo=UTC)), ids=SequentialIds("p"))
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    stages = [{"name": f"S{i}", "win_rate": str(Decimal(r) / 100)} for i, r in enumerate(rates)]
    group = crm.opportunities.add_stage_group(boss, {"name": "g", "stages": stages})
    customer = crm.customers.create(boss, {"name": "c"})
    money = str(Decimal(amount) / 100)
    opp = crm.opportunities.create(boss, {"name": "o", "customer_id": customer.id,
                                          "stage_group_id": group.id, "amount": money})
    ops = crm.opportunities

    def run(move: str, target: str) -> None:
        if move == "advance":
            ops.advance(boss, opp.id, target)
        elif move == "reopen":
            ops.reopen(boss, opp.id, target)
        elif move == "lose":
            ops.lose(boss, opp.id, "r")
        else:
            getattr(ops, move)(boss, opp.id)

    stage, status, entries = 0, "in_progress", 1
    for move, index in moves:
        target = group.stages[index % len(rates)].id
        allowed = (status == "in_progress") != (move == "reopen")
        if not allowed:
            with pytest.raises(RuleViolation):
                run(move, target)
            continue
        run(move, target)
        if move in ("advance", "reopen"):
            changed = index % len(rates) != stage or status != "in_progress"
            stage, status = index % len(rates), "in_progress"
        else:
            changed = True
            status = {"win": "won", "lose": "lost", "invalidate": "invalid"}[move]
        entries += changed
    rate = {"won": Decimal(100), "lost": Decimal(0), "invalid": Decimal(0)}.get(
        status, Decimal(rates[stage]) / 100)
    assert crm.opportunities.win_rate(boss, opp.id) == rate
    assert crm.opportunities.weighted_amount(boss, opp.id) == _cents(Decimal(money) * rate / 100)
    assert len(crm.opportunities.stage_history(boss, opp.id)) == entries
    current = crm.opportunities.get(boss, opp.id)
    assert (current.stage_id, current.status.value) == (group.stages[stage].id, status)
