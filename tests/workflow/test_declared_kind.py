"""A record kind declared in one place (tests/workflow/visits.py) gets the shared record
service for free: CRUD, lists with filters and scenes, the operation log, team, transfer,
follow-ups, attachments, the timeline, duplicates and the user hand-over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import attrs
import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.entities import Module
from crmkit.entities.kinds import Feature, RecordKind
from crmkit.entities.records import Access
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.testing.builders import SampleOrg, sample_org

from .conftest import make_storage
from .visits import VISIT, VISIT_KIND, Visit

NOTE_KIND: RecordKind[Visit] = attrs.evolve(VISIT_KIND, kind="note", label_zh="便签",
                                            label_en="note", table="crm_test_notes",
                                            features=frozenset())
"""The same entity declared again as a kind that takes part in no shared feature."""

DECLARED = (VISIT_KIND, NOTE_KIND)
BACKENDS = ["memory", "sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def org(request: pytest.FixtureRequest) -> Iterator[SampleOrg]:
    storage = make_storage(request.param, request, DECLARED)
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    crm = CRM(storage, clock=clock, ids=SequentialIds("v"), kinds=DECLARED)
    yield sample_org(crm, clock=clock, admin_password="s3cret-pass", accountant=False)
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def visit(org: SampleOrg) -> Visit:
    made: Visit = org.crm.kind(VISIT).create(org.rep, {
        "name": "拜访华为", "code": "V-1", "place": "深圳", "visited_on": "2026-11-01",
        "cost": "120.50", "done": True})
    return made


def test_the_declared_kind_is_reached_by_name(org: SampleOrg) -> None:
    assert org.crm.kind("lead") is org.crm.leads
    assert org.crm.kinds[VISIT] is VISIT_KIND
    with pytest.raises(NotFound) as caught:
        org.crm.kind("nope")
    assert caught.value.code == "record_kind.not_found"


def test_create_read_update_delete_with_typed_values_and_a_log(org: SampleOrg,
                                                              visit: Visit) -> None:
    visits = org.crm.kind(VISIT)
    assert isinstance(visit, Visit)
    assert (visit.owner_id, visit.cost, visit.visited_on) == (
        org.rep.id, Decimal("120.50"), date(2026, 11, 1))
    assert visits.get(org.rep, visit.id) == visit
    edited = visits.update(org.rep, visit.id, {"place": "广州", "custom": {}},
                           expected_version=1)
    assert (edited.place, edited.version) == ("广州", 2)
    log = visits.operation_log(org.rep, visit.id)
    assert [e.action for e in log] == ["update", "create"]
    assert [(c.field, c.old, c.new) for c in log[0].changes] == [("place", "深圳", "广州")]
    visits.delete(org.manager, visit.id)  # a manager's right: the rep holds no delete
    with pytest.raises(NotFound) as caught:
        visits.get(org.rep, visit.id)
    assert caught.value.code == "record.not_found"


def test_payloads_are_validated_by_the_declared_fields(org: SampleOrg, visit: Visit) -> None:
    with pytest.raises(ValidationError) as caught:
        org.crm.kind(VISIT).create(org.rep, {"code": "V-1", "cost": "-1", "bogus": 1,
                                             "last_followup_at": "2026-11-01T00:00:00+00:00"})
    assert caught.value.codes == {"$.name": "required", "$.cost": "range.min",
                                  "$.bogus": "unknown_field",
                                  "$.last_followup_at": "read_only"}
    with pytest.raises(ValidationError) as caught:
        org.crm.kind(VISIT).create(org.rep, {"name": "又一次", "code": "V-1"})
    assert caught.value.codes == {"$.code": "unique"}


def test_custom_fields_work_on_the_declared_kind(org: SampleOrg) -> None:
    org.crm.fields.define(org.admin, VISIT, {"key": "mood", "label_zh": "气氛",
                                             "label_en": "Mood", "type": "text",
                                             "required": True})
    assert "mood" in {f.key for f in org.crm.fields.list(org.admin, VISIT)}
    with pytest.raises(ValidationError) as caught:
        org.crm.kind(VISIT).create(org.rep, {"name": "无气氛"})
    assert caught.value.codes == {"$.custom.mood": "required"}
    made = org.crm.kind(VISIT).create(org.rep, {"name": "好", "custom": {"mood": "热烈"}})
    assert made.custom == {"mood": "热烈"}


def test_lists_filter_sort_page_and_follow_the_scope(org: SampleOrg) -> None:
    visits = org.crm.kind(VISIT)
    for n, cost in enumerate(("10", "200", "35.5")):
        visits.create(org.rep, {"name": f"拜访{n}", "cost": cost, "done": n != 1})
    visits.create(org.manager, {"name": "经理的拜访", "cost": "999"})
    page = visits.list(org.rep, {"conditions": [{"field": "cost", "op": "gt", "value": "20"}],
                                 "sort": [{"field": "cost"}], "with_total": True})
    assert ([v.name for v in page.items], page.total) == (["拜访2", "拜访1"], 2)
    done = visits.list(org.rep, {"conditions": [{"field": "done", "op": "eq", "value": True}]})
    assert {v.name for v in done.items} == {"拜访0", "拜访2"}
    first = visits.list(org.manager, {"limit": 2, "sort": [{"field": "cost",
                                                            "descending": True}]})
    rest = visits.list(org.manager, {"limit": 2, "cursor": first.next_cursor,
                                     "sort": [{"field": "cost", "descending": True}]})
    assert [v.name for v in (*first.items, *rest.items)] == ["经理的拜访", "拜访1", "拜访2",
                                                             "拜访0"]
    mine = visits.list(org.manager, {"scene": "mine"})
    assert [v.name for v in mine.items] == ["经理的拜访"]
    assert len(visits.list(org.rep).items) == 3  # the manager's visit is out of scope
    scene = org.crm.scenes.save(org.rep, VISIT, {"name": "贵的", "conditions": [
        {"field": "cost", "op": "ge", "value": "100"}]})
    assert [v.name for v in visits.list(org.rep, {"scene": scene.id}).items] == ["拜访1"]
    assert [s.id for s in org.crm.scenes.list(org.rep, VISIT)][-1] == scene.id


def test_team_members_see_the_visit_read_only_or_edit_it(org: SampleOrg, visit: Visit) -> None:
    visits = org.crm.kind(VISIT)
    other = org.user("13900000007", "孙七", org.finance, "sales_rep")
    with pytest.raises(NotFound):
        visits.get(other, visit.id)
    visits.add_team_member(org.rep, visit.id, other.id, "read")
    assert visits.get(other, visit.id).id == visit.id
    with pytest.raises(PermissionDenied) as caught:
        visits.update(other, visit.id, {"place": "外地"})
    assert caught.value.code == "record.read_only"
    visits.add_team_member(org.rep, visit.id, other.id, Access.WRITE)
    assert visits.update(other, visit.id, {"place": "外地"}).place == "外地"
    assert [m.user_id for m in visits.team(org.rep, visit.id)] == [other.id]
    assert [v.id for v in visits.list(other, {"scene": "participating"}).items] == [visit.id]
    visits.remove_team_member(org.rep, visit.id, other.id)
    with pytest.raises(NotFound):
        visits.get(other, visit.id)


def test_transfer_moves_the_owner_keeps_the_old_one_and_notifies(org: SampleOrg,
                                                                 visit: Visit) -> None:
    visits = org.crm.kind(VISIT)
    report = visits.transfer(org.manager, [visit.id], org.admin.id, keep_old_owner="read")
    assert (report.moved, report.to_user_id) == (1, org.admin.id)
    moved = visits.get(org.admin, visit.id)
    assert (moved.owner_id, moved.version) == (org.admin.id, 2)
    assert [(m.user_id, m.access) for m in visits.team(org.admin, visit.id)] == [
        (org.rep.id, Access.READ)]
    assert visits.operation_log(org.admin, visit.id)[0].action == "transfer"
    sent = org.crm.notifier.sent  # type: ignore[attr-defined]
    assert [(n.recipient_id, n.kind) for n in sent][-1] == (org.admin.id, "visit.transfer")


def test_follow_ups_attachments_and_the_timeline(org: SampleOrg, visit: Visit) -> None:
    followup = org.crm.followups.add(org.rep, VISIT, visit.id, {
        "method": "打电话", "content": "约好下周再去", "next_contact_at": "2026-11-09T02:00:00Z"})
    touched = org.crm.kind(VISIT).get(org.rep, visit.id)
    assert (touched.last_followup_at, touched.last_followup_content) == (
        followup.at, "约好下周再去")
    assert touched.next_contact_at == datetime(2026, 11, 9, 2, 0, tzinfo=UTC)
    attachment = org.crm.attachments.add(org.rep, VISIT, visit.id, "现场.txt", b"photo",
                                         "text/plain")
    assert [a.id for a in org.crm.attachments.list(org.rep, VISIT, visit.id)] == [
        attachment.id]
    timeline = org.crm.followups.timeline(org.rep, VISIT, visit.id)
    assert {i.type for i in timeline} == {"followup", "log", "schedule"}
    assert [e.action for e in org.crm.kind(VISIT).operation_log(org.rep, visit.id)][:2] == [
        "attach", "followup"]


def test_duplicates_and_the_hand_over_include_the_declared_kind(org: SampleOrg,
                                                                visit: Visit) -> None:
    hits = org.crm.duplicates.lookup(org.manager, name="拜访华为")
    assert [(h.kind, h.record_id) for h in hits] == [(VISIT, visit.id)]
    report = org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
    assert report.moved[VISIT] == 1
    assert org.crm.kind(VISIT).get(org.manager, visit.id).owner_id == org.manager.id


def test_a_kind_without_a_feature_refuses_its_calls(org: SampleOrg) -> None:
    notes = org.crm.kind("note")
    note = notes.create(org.rep, {"name": "备忘"})
    assert notes.list(org.rep).items == (note,)
    for call in (lambda: notes.transfer(org.rep, [note.id], org.manager.id),
                 lambda: notes.team(org.rep, note.id),
                 lambda: notes.add_team_member(org.rep, note.id, org.manager.id),
                 lambda: org.crm.attachments.add(org.rep, "note", note.id, "a.txt", b"x",
                                                 "text/plain"),
                 lambda: org.crm.followups.timeline(org.rep, "note", note.id)):
        with pytest.raises(RuleViolation) as caught:
            call()
        assert caught.value.code == "record_kind.feature"
    with pytest.raises(ValidationError) as refused:
        org.crm.followups.add(org.rep, "note", note.id, {"method": "打电话", "content": "x"})
    assert refused.value.codes == {"$.kind": "followup.kind"}
    assert [e.action for e in notes.operation_log(org.rep, note.id)] == ["create"]


def test_a_declaration_is_checked_when_it_is_made() -> None:
    with pytest.raises(ValueError, match="lacks the attributes pool_id"):
        attrs.evolve(VISIT_KIND, features=VISIT_KIND.features | {Feature.POOL})
    with pytest.raises(ValueError, match="declared twice"):
        CRM(kinds=[VISIT_KIND, VISIT_KIND])
    assert VISIT_KIND.module is Module.TASKS


def test_a_host_kind_cannot_join_the_pool_which_serves_customers_only() -> None:
    from crmkit.adapters.memory import MemoryStorage
    from crmkit.adapters.sqlalchemy import SqlStorage
    from crmkit.entities.kinds import CUSTOMER_KIND

    pooled = attrs.evolve(CUSTOMER_KIND, kind="vip", table="crm_vips")
    for build in (lambda: CRM(kinds=[pooled]), lambda: MemoryStorage(kinds=[pooled]),
                  lambda: SqlStorage("sqlite://", kinds=[pooled])):
        with pytest.raises(ValueError, match="the pool serves customers only"):
            build()


@pytest.mark.parametrize("table", ["CRM_LEADS", "Crm_Visits", "1visits", "visits;drop", ""])
def test_a_table_name_is_lower_case_so_none_reaches_another_by_case(table: str) -> None:
    """SQLite ignores the case of table names: ``CRM_LEADS`` would be crm_leads, read and
    written under another module's permission."""
    with pytest.raises(ValueError, match="lower-case names"):
        attrs.evolve(VISIT_KIND, table=table)


def test_a_unique_field_must_be_optional_text() -> None:
    from crmkit.adapters.sqlalchemy import SqlStorage

    counted = attrs.evolve(VISIT_KIND, unique_fields=("version",))
    with pytest.raises(ValueError, match="must be optional text"):
        SqlStorage("sqlite://", kinds=[counted])


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_decimal_field_keeps_the_places_it_validates(
        backend: str, request: pytest.FixtureRequest) -> None:
    """A column takes its scale from the system field's precision: 4 places come back
    unrounded (they used to be cut to the default 2)."""
    from crmkit.entities.kinds import fields_of

    gauge = attrs.evolve(
        NOTE_KIND, kind="gauge", table="crm_test_gauges", writable=frozenset({"name", "cost"}),
        system_fields=fields_of("gauge", ("name", "名称", "Name", "text", {"required": True}),
                                ("cost", "读数", "Reading", "decimal", {"precision": 4})))
    crm = CRM(make_storage(backend, request, [gauge]), kinds=[gauge])
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    made = crm.kind("gauge").create(boss, {"name": "a", "cost": "1.2345"})
    assert crm.kind("gauge").get(boss, made.id).cost == Decimal("1.2345")
