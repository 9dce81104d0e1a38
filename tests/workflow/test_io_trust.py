"""crm.io against the permissions (attack review 1) on memory, SQLite and PostgreSQL: an overwrite
is an edit; follow-up history leaves a record the importer may only read as it was; a business
rule refusing one row is that row's error; the import history is cut to the viewer's scope."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest

from crmkit import SystemActor
from crmkit.errors import PermissionDenied
from crmkit.workflow.io.results import IMPORT_NOTE

from .conftest import Org
from .test_io import csv_bytes, imported


def outsider(org: Org, mobile: str = "13900009999") -> Any:
    """A sales manager of 财务部: outside org.manager's scope (销售部), and the other way round."""
    return org.user(mobile, "外人", org.finance, "sales_manager")


def clerk_role(org: Org, *operations: str) -> Any:
    return org.crm.org.add_role(org.admin, {
        "name": f"录入{len(operations)}", "permissions": {"customers": list(operations)},
        "scopes": {"customers": {"level": "all"}}})


# -- H1: an overwrite is an edit ------------------------------------------------------------------
def test_an_overwrite_needs_the_modules_edit_permission(org: Org) -> None:
    crm = org.crm
    target = crm.customers.create(org.rep, {"name": "华为", "remark": "原始"})
    clerk = org.user("13900000018", "录入员", org.sales,
                     role_ids=[clerk_role(org, "view", "create", "import").id])
    with pytest.raises(PermissionDenied) as refused:
        imported(org, clerk, ["客户名称", "备注"], ["华为", "改了"], ["新公司", ""],
                 on_duplicate="overwrite")
    assert refused.value.details == {"module": "customers", "operation": "edit"}
    assert crm.customers.get(org.rep, target.id).remark == "原始"
    assert [c.name for c in crm.customers.list(org.admin).items] == ["华为"], "nothing read"
    skipped = imported(org, clerk, ["客户名称", "备注"], ["华为", "改了"])  # skip: no edit needed
    assert (skipped.skipped, skipped.updated) == (1, 0)
    editor = org.user("13900000019", "编辑员", org.sales,
                      role_ids=[clerk_role(org, "view", "create", "edit", "import").id])
    allowed = imported(org, editor, ["客户名称", "备注"], ["华为", "改了"],
                       on_duplicate="overwrite")
    assert (allowed.updated, crm.customers.get(org.rep, target.id).remark) == (1, "改了")


def test_an_overwritten_record_must_be_editable_and_a_read_only_one_answers_as_a_hidden_one(
        org: Org) -> None:
    crm = org.crm
    other = outsider(org)
    read_only = crm.customers.create(other, {"name": "只读客户", "remark": "原始"})
    crm.customers.add_team_member(other, read_only.id, org.manager.id, "read")
    crm.customers.create(other, {"name": "隐藏客户", "remark": "原始"})
    writable = crm.customers.create(other, {"name": "协作客户", "remark": "原始"})
    crm.customers.add_team_member(other, writable.id, org.manager.id, "write")
    result = imported(org, org.manager, ["客户名称", "备注"], ["只读客户", "改了"],
                      ["隐藏客户", "改了"], ["协作客户", "改了"], on_duplicate="overwrite")
    assert (result.updated, result.failed) == (1, 2)
    answers = [(e.row, e.column, e.code, e.message_zh, e.message_en) for e in result.errors]
    taken = ("客户名称", "unique", "客户名称：已被占用", "客户名称: is already taken")
    assert answers == [(2, *taken), (3, *taken)], "a read-only record answers as a hidden one"
    after = {c.name: c.remark for c in crm.customers.list(other).items}
    assert after == {"只读客户": "原始", "隐藏客户": "原始", "协作客户": "改了"}


# -- H2: follow-up history and the parent record ------------------------------------------------
def followups_file(*rows: list[str]) -> io.BytesIO:
    return csv_bytes(["记录ID", "跟进内容", "跟进时间"], *rows)


def test_follow_up_history_leaves_a_record_the_importer_may_only_read_as_it_was(
        org: Org) -> None:
    crm = org.crm
    other = outsider(org)
    theirs = crm.customers.create(other, {"name": "只读客户"})
    crm.customers.add_team_member(other, theirs.id, org.manager.id, "read")
    shared = crm.customers.create(other, {"name": "协作客户"})
    crm.customers.add_team_member(other, shared.id, org.manager.id, "write")
    result = crm.io.import_followups(org.manager, "customer", followups_file(
        [theirs.id, "只读的", "2024-01-02 09:00"], [shared.id, "可写的", "2024-01-02 09:00"]))
    assert (result.created, result.failed) == (2, 0)
    after = crm.customers.get(other, theirs.id)
    assert (after.version, after.last_followup_at, after.last_followup_content) == (
        theirs.version, None, None)
    assert [f.content for f in crm.followups.list(other, "customer", theirs.id)] == ["只读的"]
    entry = crm.customers.operation_log(other, theirs.id)[0]
    assert (entry.action, entry.actor_id, entry.changes, entry.note) == (
        "followup", org.manager.id, (), IMPORT_NOTE)
    touched = crm.customers.get(other, shared.id)
    assert (touched.version, touched.last_followup_content) == (shared.version + 1, "可写的")
    assert touched.last_followup_at == datetime(2024, 1, 2, 1, 0, tzinfo=UTC)


def test_follow_up_history_on_a_pooled_customer_writes_only_the_follow_up(org: Org) -> None:
    crm = org.crm
    crm.pool.create_pool(org.admin, {"name": "销售公海", "admin_ids": [org.manager.id],
                                     "member_department_ids": [org.sales.id]})
    one, two = (crm.customers.create(org.rep, {"name": n}).id for n in ("甲", "乙"))
    crm.pool.release(org.rep, [one, two])
    crm.followups.add(org.manager, "customer", one, {"method": "打电话", "content": "单条"})
    crm.io.import_followups(org.manager, "customer", followups_file(
        [two, "导入的", "2024-01-02 09:00"]))
    single, bulk = (crm.customers.get(org.manager, i) for i in (one, two))
    assert (single.last_followup_content, bulk.last_followup_content) == (None, None)
    assert single.version == bulk.version
    assert [f.content for f in crm.followups.list(org.manager, "customer", two)] == ["导入的"]


def test_follow_up_history_restarts_the_pool_warning_as_a_single_follow_up_does(
        org: Org) -> None:
    crm = org.crm
    crm.pool.create_pool(org.admin, {"name": "销售公海", "member_department_ids": [org.sales.id],
                                     "rules": [{"type": "followup", "days": 30}],
                                     "warn_days": 3})
    one, two = (crm.customers.create(org.rep, {"name": n}).id for n in ("甲", "乙"))
    org.clock.set(datetime(2026, 11, 30, 2, 0, tzinfo=UTC))
    assert crm.pool.warn(SystemActor("test: pool warning")) == 2
    assert crm.customers.get(org.rep, two).pool_warned_at is not None
    crm.followups.add(org.manager, "customer", one, {"method": "打电话", "content": "单条"})
    crm.io.import_followups(org.manager, "customer", followups_file(
        [two, "导入的", "2026-11-30 09:00"]))
    single, bulk = (crm.customers.get(org.rep, i) for i in (one, two))
    assert (single.pool_warned_at, bulk.pool_warned_at) == (None, None)
    assert bulk.last_followup_content == "导入的"


# -- H3: a business rule refusing one row -------------------------------------------------------
def test_a_row_a_business_rule_refuses_is_its_error_and_the_import_completes(org: Org) -> None:
    crm = org.crm
    customer = crm.customers.create(org.rep, {"name": "客户一"}).id
    approved = crm.contracts.create(org.rep, {"name": "正式", "customer_id": customer,
                                              "amount": "1000"}, submit=True).id
    draft = crm.contracts.create(org.rep, {"name": "草稿", "customer_id": customer,
                                           "amount": "100"}).id
    rows = [[approved, "2026-11-01", "1"]] * 3 + [[draft, "2026-11-01", "1"]] + [
        [approved, "2026-11-01", "1"]] * 3
    for batch_size in (1, 2, 1000):
        result = imported(org, org.manager, ["contract_id", "paid_on", "amount"], *rows,
                          kind="payment", batch_size=batch_size)
        assert (result.rows, result.created, result.failed) == (7, 6, 1)
        assert [(e.row, e.column, e.code, e.message_en) for e in result.errors] == [
            (5, "contract_id", "payment.contract_not_approved",
             "contract_id: payments go only on approved contracts")]
        assert result.errors[0].message_zh == "contract_id：只能对审核通过的合同回款"
        entry = crm.io.history(org.manager, "payment")[0]
        assert (entry.action, entry.note) == (
            "import", "7 (csv): 6 created, 0 updated, 0 skipped, 1 failed")
    assert len(crm.payments.list(org.manager).items) == 18


# -- H5: the history is cut to the viewer's scope -----------------------------------------------
def test_the_import_history_shows_only_the_actors_in_the_viewers_scope(org: Org) -> None:
    crm = org.crm
    other = outsider(org)
    crm.io.import_records(other, "customer", csv_bytes(["客户名称"], ["别人的"]))
    crm.io.export(other, "customer", io.BytesIO())
    imported(org, org.manager, ["客户名称"], ["我的"])
    seen = [(e.action, e.actor_id) for e in crm.io.history(org.manager, "customer")]
    assert seen == [("import", org.manager.id)]
    everyone = [(e.action, e.actor_id) for e in crm.io.history(org.admin, "customer")]
    assert everyone == [("import", org.manager.id), ("export", other.id), ("import", other.id)]
    assert [e.actor_id for e in crm.io.history(other, "customer")] == [other.id, other.id]
    assert [e.actor_id for e in crm.io.history(org.admin, "customer", limit=1)] == [
        org.manager.id]
    assert [e.actor_id for e in crm.io.history(other, "customer", limit=1)] == [other.id]
