"""The shared record engine through ``crm.leads`` and friends, on memory, SQLite, PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from crmkit.entities.records import Access, RecordRef
from crmkit.errors import Conflict, FieldError, NotFound, PermissionDenied, ValidationError
from crmkit.hookspecs import hookimpl

from .conftest import Org


@pytest.fixture
def lead(org: Org) -> Any:
    return org.crm.leads.create(org.rep, {"name": "华为采购", "mobile": "13911112222",
                                          "source": "广告"})


def names(page: Any) -> list[str]:
    return [r.name for r in page.items]


class TestCrud:
    def test_create_defaults_owner_and_logs(self, org: Org, lead: Any) -> None:
        assert (lead.owner_id, lead.created_by, lead.version) == (org.rep.id, org.rep.id, 1)
        [entry] = org.crm.leads.operation_log(org.rep, lead.id)
        assert entry.action == "create"
        assert {c.field: c.new for c in entry.changes} == {
            "name": "华为采购", "owner_id": org.rep.id, "mobile": "13911112222", "source": "广告"}

    def test_bad_values_reported_by_path_nothing_written(self, org: Org) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.create(org.rep, {"mobile": "123", "source": "做梦", "email": "x@",
                                           "converted": True, "bogus": 1,
                                           "custom": {"nope": 1}})
        assert caught.value.codes == {
            "$.mobile": "format.mobile", "$.source": "option", "$.email": "format.email",
            "$.converted": "read_only", "$.bogus": "unknown_field",
            "$.custom.nope": "unknown_field", "$.name": "required",
        }
        assert org.crm.leads.list(org.admin, {"with_total": True}).total == 0

    def test_owner_must_be_inside_the_actors_scope(self, org: Org) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.create(org.rep, {"name": "x", "owner_id": org.manager.id})
        assert caught.value.codes == {"$.owner_id": "out_of_scope"}
        made = org.crm.leads.create(org.manager, {"name": "x", "owner_id": org.rep.id})
        assert made.owner_id == org.rep.id

    def test_missing_and_out_of_scope_look_the_same(self, org: Org, lead: Any) -> None:
        other = org.user("13900000005", "王五", org.finance, "sales_rep")
        for actor, record_id in ((other, lead.id), (org.rep, "no-such-id")):
            with pytest.raises(NotFound) as caught:
                org.crm.leads.get(actor, record_id)
            assert caught.value.code == "record.not_found"
        with pytest.raises(NotFound) as caught:
            org.crm.leads.update(other, lead.id, {"name": "偷改"})
        assert caught.value.code == "record.not_found"

    def test_update_diff_and_optimistic_lock(self, org: Org, lead: Any) -> None:
        updated = org.crm.leads.update(org.rep, lead.id, {"level": "A", "remark": "急"},
                                       expected_version=1)
        assert (updated.level, updated.version) == ("A", 2)
        with pytest.raises(Conflict) as caught:
            org.crm.leads.update(org.rep, lead.id, {"level": "B"}, expected_version=1)
        assert caught.value.code == "version_conflict"
        entry = org.crm.leads.operation_log(org.rep, lead.id)[0]
        assert [(c.field, c.old, c.new) for c in entry.changes] == [
            ("level", None, "A"), ("remark", None, "急")]

    def test_delete_needs_permission_and_scope(self, org: Org, lead: Any) -> None:
        with pytest.raises(PermissionDenied) as caught:
            org.crm.leads.delete(org.rep, lead.id)  # 销售员 has no delete
        assert caught.value.code == "permission_denied"
        org.crm.leads.delete(org.manager, lead.id)
        with pytest.raises(NotFound) as missing:
            org.crm.leads.get(org.admin, lead.id)
        assert missing.value.code == "record.not_found"


class TestCustomFields:
    def test_define_use_filter_retire_restore(self, org: Org) -> None:
        f = org.crm.fields
        f.define(org.admin, "lead", {"key": "budget", "label_zh": "预算", "label_en": "Budget",
                                     "type": "money", "min_value": "0"})
        made = org.crm.leads.create(org.rep, {"name": "a", "custom": {"budget": "12.5"}})
        assert made.custom == {"budget": "12.50"}
        page = org.crm.leads.list(org.rep, {"conditions": [
            {"field": "budget", "op": "ge", "value": "12.5"}]})
        assert names(page) == ["a"]
        f.retire(org.admin, "lead", "budget")
        assert "budget" not in [d.key for d in f.list(org.admin, "lead")]
        assert org.crm.leads.get(org.rep, made.id).custom == {"budget": "12.50"}
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.update(org.rep, made.id, {"custom": {"budget": "1"}})
        assert caught.value.codes == {"$.custom.budget": "field.retired"}
        f.restore(org.admin, "lead", "budget")
        assert org.crm.leads.update(org.rep, made.id, {"custom": {"budget": "1"}}).custom == {
            "budget": "1.00"}

    def test_required_default_unique(self, org: Org) -> None:
        f = org.crm.fields
        f.define(org.admin, "lead", {"key": "region", "label_zh": "区域", "label_en": "Region",
                                     "type": "select", "options": ["华东", "华南"],
                                     "default": "华东"})
        f.define(org.admin, "lead", {"key": "code", "label_zh": "编号", "label_en": "Code",
                                     "type": "text", "unique": True, "required": True})
        first = org.crm.leads.create(org.rep, {"name": "a", "custom": {"code": "C1"}})
        assert first.custom == {"region": "华东", "code": "C1"}
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.create(org.manager, {"name": "b", "custom": {"code": "C1"}})
        assert caught.value.codes == {"$.custom.code": "unique"}
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.create(org.rep, {"name": "c"})
        assert caught.value.codes == {"$.custom.code": "required"}

    def test_definition_rules(self, org: Org) -> None:
        f = org.crm.fields
        bad = [
            ({"key": "Bad Key", "type": "text"}, "$.key"),
            ({"key": "name", "type": "text"}, "$.key"),
            ({"key": "x", "type": "no_such_type"}, "$.type"),
            ({"key": "x", "type": "select"}, "$.options"),
        ]
        for data, path in bad:
            with pytest.raises(ValidationError) as caught:
                f.define(org.admin, "lead", {"label_zh": "x", "label_en": "x", **data})
            assert path in caught.value.codes, (data, caught.value.codes)
        with pytest.raises(PermissionDenied) as denied:
            f.define(org.rep, "lead", {"key": "x", "label_zh": "x", "label_en": "x",
                                       "type": "text"})
        assert denied.value.code == "permission_denied"
        with pytest.raises(ValidationError) as caught:
            f.update(org.admin, "lead", "name", {"required": False})
        assert caught.value.codes == {"$.required": "field.system_locked"}

    def test_reorder_and_hide_including_system_fields(self, org: Org) -> None:
        f = org.crm.fields
        f.define(org.admin, "lead", {"key": "tags", "label_zh": "标签", "label_en": "Tags",
                                     "type": "multiselect", "options": ["hot", "cold"]})
        f.reorder(org.admin, "lead", ["tags", "mobile", "name"])
        assert [d.key for d in f.list(org.admin, "lead")][:3] == ["tags", "mobile", "name"]
        f.update(org.admin, "lead", "remark", {"hidden": True, "label_en": "Notes"})
        remark = next(d for d in f.list(org.admin, "lead") if d.key == "remark")
        assert (remark.hidden, remark.label_en, remark.system) == (True, "Notes", True)
        assert "remark" not in org.crm.scenes.columns(org.rep, "lead").fields


class TestListsAndScenes:
    @pytest.fixture
    def many(self, org: Org) -> None:
        org.crm.fields.define(org.admin, "lead", {"key": "score", "label_zh": "评分",
                                                  "label_en": "Score", "type": "integer"})
        for i, (actor, level) in enumerate([(org.rep, "A"), (org.rep, "B"), (org.manager, "A"),
                                            (org.admin, None), (org.rep, "C")]):
            org.clock.advance(minutes=1)
            org.crm.leads.create(actor, {"name": f"L{i}", "level": level,
                                         "custom": {"score": i * 10}})

    def test_scopes_cut_every_list(self, org: Org, many: None) -> None:
        assert names(org.crm.leads.list(org.rep)) == ["L4", "L1", "L0"]
        assert names(org.crm.leads.list(org.manager)) == ["L4", "L2", "L1", "L0"]
        assert len(org.crm.leads.list(org.admin).items) == 5

    def test_filters_sort_and_keyset_pages(self, org: Org, many: None) -> None:
        req: dict[str, Any] = {"conditions": [{"field": "level", "op": "in",
                                               "value": ["A", "B", "C"]}],
                               "sort": [{"field": "score", "descending": True}], "limit": 2,
                               "with_total": True}
        first = org.crm.leads.list(org.admin, req)
        assert names(first) == ["L4", "L2"] and first.total == 4 and first.next_cursor
        second = org.crm.leads.list(org.admin, {**req, "cursor": first.next_cursor})
        assert names(second) == ["L1", "L0"] and second.next_cursor is None
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.list(org.admin, {"cursor": first.next_cursor})
        assert caught.value.codes == {"$.cursor": "invalid"}

    def test_capped_totals(self, org: Org, many: None) -> None:
        """A total counted up to ``total_limit``: exact up to it, the limit and ``total_more``
        beyond it; every viewer's own rows (the scope's parts are capped and added up)."""
        for viewer, count in ((org.admin, 5), (org.manager, 4), (org.rep, 3)):
            for cap in (1, count - 1, count, count + 1, 1000):
                page = org.crm.leads.list(viewer, {"limit": 1, "with_total": True,
                                                   "total_limit": cap})
                assert (page.total, page.total_more) == (min(cap, count), count > cap)
            exact = org.crm.leads.list(viewer, {"with_total": True})
            assert (exact.total, exact.total_more) == (count, False)
        assert org.crm.leads.list(org.admin, {"total_limit": 2}).total is None
        for bad in (0, -1, 10**7, "5", True):
            with pytest.raises(ValidationError) as caught:
                org.crm.leads.list(org.admin, {"with_total": True, "total_limit": bad})
            assert set(caught.value.codes) == {"$.total_limit"}

    def test_keyword_searches_the_declared_fields_within_the_scope(self, org: Org,
                                                                  many: None) -> None:
        """搜索 looks in name, mobile, phone and email at once, Latin letters without case,
        only among the records the viewer sees, with the scene, conditions and totals."""
        crm = org.crm
        crm.leads.create(org.rep, {"name": "HuaWei 深圳", "mobile": "13911112222"})
        crm.leads.create(org.rep, {"name": "中兴", "email": "Buyer@HUAWEI.com"})
        crm.leads.create(org.manager, {"name": "华为 huawei 北京"})
        crm.leads.create(org.rep, {"name": "腾讯", "phone": "0755-8888", "remark": "huawei"})
        page = crm.leads.list(org.rep, {"keyword": "  HUAWEI ", "with_total": True})
        assert sorted(names(page)) == ["HuaWei 深圳", "中兴"] and page.total == 2
        assert sorted(names(crm.leads.list(org.manager, {"keyword": "huawei"}))) == [
            "HuaWei 深圳", "中兴", "华为 huawei 北京"]
        assert names(crm.leads.list(org.rep, {"keyword": "1111"})) == ["HuaWei 深圳"]
        assert names(crm.leads.list(org.rep, {"keyword": "0755"})) == ["腾讯"]
        assert names(crm.leads.list(org.rep, {"keyword": "%"})) == []
        assert len(crm.leads.list(org.rep, {"keyword": "   "}).items) == 6  # blank: no search
        assert names(crm.leads.list(org.rep, {"keyword": "huawei", "conditions": [
            {"field": "email", "op": "not_empty"}]})) == ["中兴"]
        assert names(crm.leads.list(org.rep, {"keyword": "huawei", "scene": "converted"})) == []
        for bad, code in ((5, "type"), (["x"], "type"), ("x" * 101, "too_long")):
            with pytest.raises(ValidationError) as caught:
                crm.leads.list(org.rep, {"keyword": bad})
            assert caught.value.codes == {"$.keyword": code}

    def test_hostile_payloads(self, org: Org, many: None) -> None:
        for condition, path in [
            ({"field": "name; DROP TABLE crm_leads", "op": "eq", "value": "x"}, ".field"),
            ({"field": "name", "op": "LIKE '%'", "value": "x"}, ".op"),
            ({"field": "score", "op": "gt", "value": "10"}, ".value"),
            ({"field": "score", "op": "contains", "value": 1}, ".op"),
            ({"field": "score", "op": "between", "value": [1]}, ".value"),
            ({"field": "level", "op": "between", "value": ["A", "B"]}, ".op"),
        ]:
            with pytest.raises(ValidationError) as caught:
                org.crm.leads.list(org.admin, {"conditions": [condition]})
            assert list(caught.value.codes) == [f"$.conditions[0]{path}"], condition
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.list(org.admin, {"sort": [{"field": "x' OR 1=1"}]})
        assert caught.value.codes == {"$.sort[0].field": "unknown_field"}
        with pytest.raises(ValidationError) as caught:
            org.crm.leads.list(org.admin, {"limit": 100000})
        assert caught.value.codes == {"$.limit": "invalid"}
        assert len(org.crm.leads.list(org.admin).items) == 5, "nothing was dropped"

    def test_system_and_saved_scenes(self, org: Org, many: None) -> None:
        crm = org.crm
        assert names(crm.leads.list(org.manager, {"scene": "mine"})) == ["L2"]
        assert names(crm.leads.list(org.manager, {"scene": "subordinates"})) == [
            "L4", "L1", "L0"]
        assert names(crm.leads.list(org.rep, {"scene": "subordinates"})) == []
        scene = crm.scenes.save(org.rep, "lead", {
            "name": "A级", "conditions": [{"field": "level", "op": "eq", "value": "A"}],
            "is_default": True})
        assert names(crm.leads.list(org.rep)) == ["L0"], "the default scene applies"
        assert names(crm.leads.list(org.rep, {"scene": "all"})) == ["L4", "L1", "L0"]
        views = crm.scenes.list(org.rep, "lead")
        assert [v.id for v in views if v.is_default] == [scene.id]
        crm.scenes.update(org.rep, scene.id, {"hidden": True, "is_default": False})
        assert scene.id not in [v.id for v in crm.scenes.list(org.rep, "lead")]
        with pytest.raises(ValidationError) as caught:
            crm.leads.list(org.manager, {"scene": scene.id})  # not theirs
        assert caught.value.codes == {"$.scene": "not_found"}
        with pytest.raises(ValidationError) as caught:
            crm.scenes.save(org.rep, "lead", {"name": "bad", "conditions": [
                {"field": "nope", "op": "eq", "value": 1}]})
        assert caught.value.codes == {"$.conditions[0].field": "unknown_field"}

    def test_converted_leads_leave_default_scenes(self, org: Org, many: None) -> None:
        assert names(org.crm.leads.list(org.rep, {"scene": "converted"})) == []

    def test_columns(self, org: Org) -> None:
        cols = org.crm.scenes.set_columns(org.rep, "lead", ["mobile", "name"], {"name": 200})
        assert org.crm.scenes.columns(org.rep, "lead") == cols
        assert org.crm.scenes.columns(org.manager, "lead").fields[0] == "name"
        with pytest.raises(ValidationError) as caught:
            org.crm.scenes.set_columns(org.rep, "lead", ["name", "secret_column"])
        assert caught.value.codes == {"$.fields[1]": "unknown_field"}


class TestTeamAndTransfer:
    def test_team_read_and_write(self, org: Org, lead: Any) -> None:
        other = org.user("13900000005", "王五", org.finance, "sales_rep")
        with pytest.raises(NotFound) as caught:
            org.crm.leads.get(other, lead.id)
        assert caught.value.code == "record.not_found"
        org.crm.leads.add_team_member(org.rep, lead.id, other.id, "read")
        assert org.crm.leads.get(other, lead.id).id == lead.id
        assert names(org.crm.leads.list(other, {"scene": "participating"})) == ["华为采购"]
        with pytest.raises(PermissionDenied) as denied:
            org.crm.leads.update(other, lead.id, {"level": "A"})
        assert denied.value.code == "record.read_only"
        org.crm.leads.add_team_member(org.rep, lead.id, other.id, "write")
        assert org.crm.leads.update(other, lead.id, {"level": "A"}).level == "A"
        with pytest.raises(PermissionDenied) as denied:
            org.crm.leads.add_team_member(other, lead.id, org.admin.id)  # not the owner
        assert denied.value.code == "team.not_owner"
        org.crm.leads.remove_team_member(org.rep, lead.id, other.id)
        with pytest.raises(NotFound) as caught:
            org.crm.leads.get(other, lead.id)
        assert caught.value.code == "record.not_found"
        actions = [e.action for e in org.crm.leads.operation_log(org.rep, lead.id)]
        assert actions[:4] == ["team_remove", "update", "team_add", "team_add"]

    def test_transfer_batch_keeps_old_owner(self, org: Org, lead: Any) -> None:
        second = org.crm.leads.create(org.rep, {"name": "腾讯"})
        report = org.crm.leads.transfer(org.manager, [lead.id, second.id], org.manager.id,
                                        keep_old_owner="read")
        assert report.moved == 2
        moved = org.crm.leads.get(org.rep, lead.id)
        assert moved.owner_id == org.manager.id and moved.version == 2
        assert [m.access for m in org.crm.leads.team(org.rep, lead.id)] == [Access.READ]
        assert org.notifier.for_user(org.manager.id)[-1].data["count"] == 2
        assert org.crm.leads.operation_log(org.rep, lead.id)[0].action == "transfer"

    def test_transfer_is_all_or_nothing(self, org: Org, lead: Any) -> None:
        theirs = org.crm.leads.create(org.admin, {"name": "老板的"})
        with pytest.raises(NotFound) as caught:
            org.crm.leads.transfer(org.manager, [lead.id, theirs.id], org.manager.id)
        assert caught.value.code == "record.not_found"
        assert org.crm.leads.get(org.rep, lead.id).owner_id == org.rep.id
        with pytest.raises(ValidationError) as invalid:
            org.crm.leads.transfer(org.manager, [lead.id], "ghost")
        assert invalid.value.codes == {"$.to_user_id": "not_found"}

    def test_hand_over_moves_leads(self, org: Org, lead: Any) -> None:
        report = org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
        assert report.moved["lead"] == 1
        assert org.crm.leads.get(org.manager, lead.id).owner_id == org.manager.id


class TestFollowUpsAndAttachments:
    def test_followup_updates_parent_and_calendar(self, org: Org, lead: Any) -> None:
        crm = org.crm
        follow = crm.followups.add(org.rep, "lead", lead.id, {
            "method": "打电话", "content": "谈了预算",
            "next_contact_at": "2026-11-05T10:00:00+08:00"})
        parent = crm.leads.get(org.rep, lead.id)
        assert parent.last_followup_content == "谈了预算"
        assert parent.last_followup_at == follow.at
        assert parent.next_contact_at == datetime(2026, 11, 5, 2, 0, tzinfo=UTC)
        [entry] = crm.followups.schedules(org.rep, datetime(2026, 11, 1, tzinfo=UTC),
                                          datetime(2026, 12, 1, tzinfo=UTC))
        assert (entry.related, entry.source, entry.starts_at) == (
            (RecordRef("lead", lead.id),), "followup", parent.next_contact_at)
        assert crm.schedules.get(org.rep, entry.id) == entry
        kinds = [i.type for i in crm.followups.timeline(org.rep, "lead", lead.id)]
        assert sorted(kinds) == ["followup", "log", "log", "schedule"]
        with pytest.raises(ValidationError) as caught:
            crm.followups.add(org.rep, "lead", lead.id, {"method": "飞鸽传书", "content": "",
                                                         "contact_ids": ["c1"]})
        assert caught.value.codes == {"$.method": "invalid", "$.content": "blank",
                                      "$.contact_ids[0]": "not_found"}

    def test_methods_are_configurable(self, org: Org) -> None:
        org.crm.followups.set_methods(org.admin, ["微信", "打电话"])
        assert org.crm.followups.methods(org.rep) == ["微信", "打电话"]
        with pytest.raises(PermissionDenied) as caught:
            org.crm.followups.set_methods(org.rep, ["x"])
        assert caught.value.code == "permission_denied"

    def test_attachments_limits_and_cleanup(self, org: Org, lead: Any) -> None:
        crm = org.crm
        att = crm.attachments.add(org.rep, "lead", lead.id, "报价.pdf", b"%PDF", "application/pdf")
        got, data = crm.attachments.download(org.rep, att.id)
        assert (got.name, data) == ("报价.pdf", b"%PDF")
        crm.attachments.set_limits(org.admin, 10, ["text/plain"])
        for name, blob, ctype, code in [("a.txt", b"x" * 11, "text/plain", "file.too_large"),
                                        ("a.pdf", b"x", "application/pdf",
                                         "file.type_not_allowed")]:
            with pytest.raises(ValidationError) as caught:
                crm.attachments.add(org.rep, "lead", lead.id, name, blob, ctype)
            assert list(caught.value.codes.values()) == [code]
        other = org.user("13900000005", "王五", org.finance, "sales_rep")
        with pytest.raises(NotFound) as missing:
            crm.attachments.download(other, att.id)
        assert missing.value.code == "attachment.not_found"
        crm.attachments.remove(org.rep, att.id)
        assert crm.attachments.list(org.rep, "lead", lead.id) == []
        with pytest.raises(NotFound) as missing:
            crm.files.get(att.file_key)
        assert missing.value.code == "file.not_found"


class TestDuplicates:
    def test_lookup_across_owners(self, org: Org, lead: Any) -> None:
        other = org.user("13900000005", "王五", org.finance, "sales_rep")
        [hit] = org.crm.duplicates.lookup(other, phone="+86 139 1111 2222")
        assert (hit.kind, hit.record_id, hit.visible, hit.field) == (
            "lead", lead.id, False, "mobile")
        assert org.crm.duplicates.lookup(org.rep, name="华为采购")[0].visible
        assert org.crm.duplicates.lookup(org.rep, name="不存在") == []
        with pytest.raises(ValidationError) as caught:
            org.crm.duplicates.lookup(org.rep)
        assert caught.value.codes == {"$": "required"}


class NoTestLeads:
    @hookimpl
    def crmkit_validate_record(self, kind: str, record: Any, previous: Any
                               ) -> Sequence[FieldError] | None:
        if kind == "lead" and "test" in record.name.lower():
            return [FieldError("$.name", "lead.test_name", "不要测试数据", "no test data")]
        return None


def test_plugin_record_validation(org: Org) -> None:
    org.crm.plugin_manager.register(NoTestLeads())
    with pytest.raises(ValidationError) as caught:
        org.crm.leads.create(org.rep, {"name": "Test lead"})
    assert caught.value.codes == {"$.name": "lead.test_name"}
