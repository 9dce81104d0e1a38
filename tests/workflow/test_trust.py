"""Issue 11 (Trust), items 1–5 and 8 through the facade on memory, SQLite and PostgreSQL: every
call has an actor; the system actor runs background work only; logs, timelines, attachments and
teams check the module permission and the record access; super administrators reach every pool.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import pytest

from crmkit import SystemActor
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError

from .conftest import Org

NIGHTLY = SystemActor("nightly pool jobs")


@pytest.fixture
def acme(org: Org) -> Any:
    return org.crm.customers.create(org.rep, {"name": "艾克米"})


class TestEveryCallHasAnActor:
    """Item 3: no facade method accepts a missing actor, and no string becomes the system."""

    def test_a_missing_actor_is_refused_everywhere_it_used_to_act_as_the_system(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        attachment = crm.attachments.add(org.rep, "customer", acme.id, "a.txt", b"x",
                                         "text/plain")
        calls: list[Callable[[], object]] = [
            lambda: crm.attachments.download(None, attachment.id),  # type: ignore[arg-type]
            lambda: crm.attachments.remove(None, attachment.id),  # type: ignore[arg-type]
            lambda: crm.followups.timeline(None, "customer", acme.id),  # type: ignore[arg-type]
            lambda: crm.duplicates.lookup(None, name="艾克米"),  # type: ignore[arg-type]
            lambda: crm.customers.get(None, acme.id),  # type: ignore[arg-type]
            lambda: crm.pool.sweep(None),  # type: ignore[arg-type]
            lambda: crm.pool.warn(None),  # type: ignore[arg-type]
            lambda: crm.customers.get(42, acme.id),  # type: ignore[arg-type]
        ]
        for call in calls:
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.code == "auth.no_actor"
        assert crm.attachments.list(org.rep, "customer", acme.id) == [attachment]

    @pytest.mark.parametrize("name", ["system", "", "None", "SystemActor"])
    def test_no_user_id_string_becomes_the_system(self, org: Org, acme: Any, name: str) -> None:
        with pytest.raises(PermissionDenied) as refused:
            org.crm.customers.get(name, acme.id)
        assert refused.value.code == "auth.inactive_user"

    def test_the_system_actor_runs_background_work_only(self, org: Org, acme: Any) -> None:
        crm = org.crm
        for call in (lambda: crm.customers.get(NIGHTLY, acme.id),  # type: ignore[arg-type]
                     lambda: crm.customers.create(NIGHTLY, {"name": "x"}),  # type: ignore
                     lambda: crm.org.list_users(NIGHTLY)):  # type: ignore[arg-type]
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.code == "auth.system_actor"
        assert crm.pool.sweep(NIGHTLY).reclaimed == ()
        assert crm.pool.warn(NIGHTLY) == 0

    def test_background_work_as_a_user_needs_the_pool_edit_permission(self, org: Org) -> None:
        for call in (lambda: org.crm.pool.sweep(org.rep, dry_run=True),
                     lambda: org.crm.pool.warn(org.rep)):
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.details == {"module": "pool", "operation": "edit"}
        assert org.crm.pool.sweep(org.admin, dry_run=True).reclaimed == ()

    def test_the_sweep_logs_the_system_as_no_user_and_an_admin_as_themselves(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        crm.pool.create_pool(org.admin, {"name": "公海", "member_department_ids": [org.sales.id],
                                         "rules": [{"type": "followup", "days": 30}]})
        other = crm.customers.create(org.rep, {"name": "贝塔"})
        org.clock.advance(days=40)
        crm.pool.sweep(NIGHTLY)
        assert crm.customers.operation_log(org.admin, acme.id)[0].actor_id is None
        crm.pool.claim(org.rep, [acme.id, other.id])
        org.clock.advance(days=40)
        crm.pool.sweep(org.admin)
        entry = crm.customers.operation_log(org.admin, acme.id)[0]
        assert (entry.action, entry.actor_id) == ("reclaim", org.admin.id)

    def test_a_system_actor_needs_a_purpose(self) -> None:
        with pytest.raises(ValueError, match="purpose"):
            SystemActor("  ")


def person(org: Org, mobile: str, name: str, permissions: dict[str, list[str]],
           scopes: dict[str, str] | None = None) -> Any:
    """A user holding one role with exactly these permissions (data scope SELF by default)."""
    role = org.crm.org.add_role(org.admin, {
        "name": f"{name} 的角色", "permissions": permissions,
        "scopes": {m: {"level": (scopes or {}).get(m, "self")} for m in permissions}})
    return org.crm.org.add_user(org.admin, {"mobile": mobile, "name": name,
                                            "department_id": org.group.id,
                                            "role_ids": [role.id]})


def refusal(call: Any, record_id: str) -> tuple[type, dict[str, Any]]:
    """The error of a refused call, the record id in its messages written as ``<id>``."""
    with pytest.raises((NotFound, PermissionDenied)) as refused:
        call()
    shown = {k: str(v).replace(record_id, "<id>") for k, v in refused.value.as_dict().items()}
    return type(refused.value), shown


def same_as_missing(call: Any, record_id: str) -> None:
    """``call(record_id)`` on an invisible record answers exactly as on an id that never was."""
    hidden = refusal(lambda: call(record_id), record_id)
    missing = refusal(lambda: call("no-such-id"), "no-such-id")
    assert hidden == missing and hidden[0] is NotFound


class TestOperationLogNeedsTheRecord:
    """Item 1: ``crm.org.operation_log`` shows a record's history only to who may see it."""

    def test_an_outsider_gets_the_answer_of_a_missing_record(self, org: Org, acme: Any) -> None:
        stranger = org.user("13900000009", "路人", org.finance, "sales_rep")
        same_as_missing(lambda rid: org.crm.org.operation_log(stranger, "customer", rid),
                        acme.id)
        assert [e.action for e in org.crm.org.operation_log(org.rep, "customer", acme.id)] == [
            "create"]

    def test_the_module_view_permission_is_needed(self, org: Org, acme: Any) -> None:
        blind = person(org, "13900000010", "盲人", {"org": ["view"]},
                       {"customers": "all"})
        with pytest.raises(PermissionDenied) as refused:
            org.crm.org.operation_log(blind, "customer", acme.id)
        assert refused.value.details == {"module": "customers", "operation": "view"}

    def test_org_records_need_their_module_view_permission(self, org: Org) -> None:
        nobody = person(org, "13900000011", "无权", {"customers": ["view"]})
        for kind, record_id, module in (("user", org.rep.id, "org"),
                                        ("role", org.roles["sales_rep"], "roles")):
            with pytest.raises(PermissionDenied) as refused:
                org.crm.org.operation_log(nobody, kind, record_id)
            assert refused.value.details == {"module": module, "operation": "view"}
        assert org.crm.org.operation_log(org.rep, "user", org.rep.id)[0].action == "create"


class TestAttachmentsAndTeamsNeedEditRights:
    """Item 2: removing an attachment and changing a team need the module's ``edit``
    permission and editable access (a non-owner also ``team_manage``)."""

    def test_removing_an_attachment_needs_the_edit_permission(self, org: Org) -> None:
        keeper = person(org, "13900000012", "只读", {"customers": ["view", "create"]})
        mine = org.crm.customers.create(keeper, {"name": "自己的"})
        file = org.crm.attachments.add(org.admin, "customer", mine.id, "a.txt", b"x",
                                       "text/plain")
        with pytest.raises(PermissionDenied) as refused:
            org.crm.attachments.remove(keeper, file.id)
        assert refused.value.details == {"module": "customers", "operation": "edit"}
        org.crm.attachments.remove(org.admin, file.id)
        assert org.crm.attachments.list(keeper, "customer", mine.id) == []

    def test_a_read_only_member_cannot_remove_and_an_outsider_sees_nothing(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        reader = org.user("13900000013", "读者", org.group, "sales_rep")
        stranger = org.user("13900000014", "路人", org.finance, "sales_rep")
        crm.customers.add_team_member(org.rep, acme.id, reader.id, "read")
        file = crm.attachments.add(org.rep, "customer", acme.id, "a.txt", b"x", "text/plain")
        with pytest.raises(PermissionDenied) as refused:
            crm.attachments.remove(reader, file.id)
        assert refused.value.code == "record.read_only"
        assert crm.attachments.download(reader, file.id)[1] == b"x"
        for call in (crm.attachments.remove, crm.attachments.download):
            same_as_missing(lambda aid, call=call: call(stranger, aid), file.id)
        crm.attachments.remove(org.rep, file.id)

    def test_changing_the_team_needs_the_edit_permission_even_for_the_owner(
            self, org: Org) -> None:
        keeper = person(org, "13900000015", "只读", {"customers": ["view", "create"]})
        mine = org.crm.customers.create(keeper, {"name": "自己的"})
        for call in (lambda: org.crm.customers.add_team_member(keeper, mine.id, org.rep.id),
                     lambda: org.crm.customers.remove_team_member(keeper, mine.id, org.rep.id)):
            with pytest.raises(PermissionDenied) as refused:
                call()
            assert refused.value.details == {"module": "customers", "operation": "edit"}
        org.crm.customers.add_team_member(org.admin, mine.id, org.rep.id)
        assert [m.user_id for m in org.crm.customers.team(keeper, mine.id)] == [org.rep.id]

    def test_a_read_write_member_without_team_manage_cannot_change_the_team(
            self, org: Org, acme: Any) -> None:
        writer = org.user("13900000016", "写者", org.group, "sales_rep")
        org.crm.customers.add_team_member(org.rep, acme.id, writer.id, "write")
        with pytest.raises(PermissionDenied) as refused:
            org.crm.customers.add_team_member(writer, acme.id, org.manager.id)
        assert refused.value.code == "team.not_owner"
        org.crm.customers.add_team_member(org.manager, acme.id, org.admin.id)  # team_manage


class TestFollowUpsOfReadOnlyMembers:
    """Item 4: a follow-up by someone who may see but not edit the record is recorded, and
    leaves the record's own fields (last follow-up, next contact time) untouched."""

    NOTE: ClassVar[dict[str, str]] = {"method": "打电话", "content": "聊过了",
                                      "next_contact_at": "2026-11-20T02:00:00Z"}

    def test_a_read_only_member_records_a_follow_up_without_touching_the_customer(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        reader = org.user("13900000017", "读者", org.group, "sales_rep")
        crm.customers.add_team_member(org.rep, acme.id, reader.id, "read")
        note = crm.followups.add(reader, "customer", acme.id, self.NOTE)
        after = crm.customers.get(org.rep, acme.id)
        assert (after.version, after.last_followup_at, after.next_contact_at) == (
            acme.version, None, None)
        assert [f.id for f in crm.followups.list(org.rep, "customer", acme.id)] == [note.id]
        assert crm.customers.operation_log(org.rep, acme.id)[0].action == "followup"

    def test_a_read_write_member_moves_the_customer_s_follow_up_fields(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        writer = org.user("13900000018", "写者", org.group, "sales_rep")
        crm.customers.add_team_member(org.rep, acme.id, writer.id, "write")
        note = crm.followups.add(writer, "customer", acme.id, self.NOTE)
        after = crm.customers.get(org.rep, acme.id)
        assert (after.last_followup_at, after.next_contact_at) == (note.at,
                                                                   note.next_contact_at)


class TestTimelineNeedsTheModuleViewPermission:
    """Item 5: a record's timeline is a read of that record's module."""

    def test_without_view_on_the_module_the_timeline_is_refused(self, org: Org) -> None:
        maker = person(org, "13900000019", "只建", {"customers": ["create"],
                                                   "followups": ["view", "create"]})
        mine = org.crm.customers.create(maker, {"name": "自己的"})
        with pytest.raises(PermissionDenied) as refused:
            org.crm.followups.timeline(maker, "customer", mine.id)
        assert refused.value.details == {"module": "customers", "operation": "view"}
        assert org.crm.followups.timeline(org.admin, "customer", mine.id)[0].type == "log"

    def test_an_outsider_gets_the_answer_of_a_missing_record(self, org: Org, acme: Any) -> None:
        stranger = org.user("13900000020", "路人", org.finance, "sales_rep")
        same_as_missing(lambda rid: org.crm.followups.timeline(stranger, "customer", rid),
                        acme.id)


class TestSuperAdministratorsReachEveryPool:
    """Item 8: 超级管理员 reads and acts on the customers of pools they are no member of."""

    def test_read_edit_claim_move_and_assign(self, org: Org) -> None:
        crm = org.crm
        east = crm.pool.create_pool(org.admin, {"name": "东区", "member_user_ids": [org.rep.id],
                                                "rules": [{"type": "followup", "days": 30}]})
        west = crm.pool.create_pool(org.admin, {"name": "西区",
                                                "member_user_ids": [org.manager.id]})
        a, b, c = (crm.customers.create(org.rep, {"name": n}) for n in ("甲", "乙", "丙"))
        crm.pool.release(org.rep, [a.id, b.id, c.id], east.id)
        assert {x.id for x in crm.pool.customers(org.admin, east.id).items} == {a.id, b.id, c.id}
        assert crm.customers.get(org.admin, a.id).pool_id == east.id
        assert crm.customers.update(org.admin, a.id, {"remark": "核实"}).remark == "核实"
        crm.followups.add(org.admin, "customer", a.id, {"method": "打电话", "content": "在"})
        assert [c.pool_id for c in crm.pool.move(org.admin, [b.id], west.id)] == [west.id]
        [mine] = crm.pool.claim(org.admin, [a.id])
        assert (mine.owner_id, mine.pool_id) == (org.admin.id, None)
        [given] = crm.pool.assign(org.admin, [b.id], org.manager.id)
        assert given.owner_id == org.manager.id
        assert crm.pool.days_until_pool(org.admin, [c.id]) == {c.id: None}

    def test_a_pool_customer_never_becomes_owned_and_pooled_at_once(self, org: Org) -> None:
        crm = org.crm
        east = crm.pool.create_pool(org.admin, {"name": "东区", "member_user_ids": [org.rep.id]})
        a = crm.customers.create(org.rep, {"name": "甲"})
        crm.pool.release(org.rep, [a.id], east.id)
        for call, code in (
                (lambda: crm.customers.transfer(org.admin, [a.id], org.rep.id),
                 "customer.in_pool"),
                (lambda: crm.pool.release(org.admin, [a.id], east.id), "pool.already_in_pool")):
            with pytest.raises(RuleViolation) as refused:
                call()
            assert refused.value.code == code
        after = crm.customers.get(org.admin, a.id)
        assert (after.owner_id, after.pool_id) == (None, east.id)


class TestIdsInAPayload:
    """Item 7: an id named in a payload that the writer cannot see is as unknown as a missing
    one (no 'exists' oracle through follow-ups, opportunities or contracts)."""

    def test_a_follow_up_naming_someone_else_s_contact(self, org: Org, acme: Any) -> None:
        crm = org.crm
        stranger = org.user("13900000021", "路人", org.finance, "sales_rep")
        theirs = crm.customers.create(stranger, {"name": "别家"})
        contact = crm.contacts.create(stranger, {"name": "王工", "customer_id": theirs.id})
        answers = []
        for contact_id in (contact.id, "no-such-id"):
            with pytest.raises(ValidationError) as refused:
                crm.followups.add(org.rep, "customer", acme.id, {
                    "method": "打电话", "content": "x", "contact_ids": [contact_id]})
            answers.append(refused.value.codes)
        assert answers == [{"$.contact_ids[0]": "not_found"}] * 2

    def test_an_opportunity_naming_a_contact_of_its_customer_out_of_scope(
            self, org: Org, acme: Any) -> None:
        crm = org.crm
        helper = org.user("13900000022", "同事", org.group, "sales_rep")
        crm.customers.add_team_member(org.rep, acme.id, helper.id, "write")
        hidden = crm.contacts.create(org.rep, {"name": "李工", "customer_id": acme.id})
        group = crm.opportunities.add_stage_group(org.admin, {"name": "流程", "stages": [
            {"name": "接洽", "win_rate": "10"}]})
        for contact_id in (hidden.id, "no-such-id"):
            with pytest.raises(ValidationError) as refused:
                crm.opportunities.create(helper, {
                    "name": "项目", "customer_id": acme.id, "stage_group_id": group.id,
                    "contact_ids": [contact_id]})
            assert refused.value.codes == {"$.contact_ids[0]": "not_found"}


class TestEverySettingChangeIsLogged:
    """Each configuration writer leaves its 操作记录 (kind ``setting``, old and new value)."""

    @pytest.mark.parametrize(("key", "change"), [
        ("followup.methods", lambda crm, a: crm.followups.set_methods(a, ["打电话"])),
        ("attachments.limits",
         lambda crm, a: crm.attachments.set_limits(a, 1024, ["text/plain"])),
        ("customers.limits", lambda crm, a: crm.customers.set_limits(a, [])),
        ("leads.conversion_mapping",
         lambda crm, a: crm.leads.set_conversion_mapping(a, {})),
        ("number_rule.contract",
         lambda crm, a: crm.contracts.set_number_rule(a, {"prefix": "HT"})),
    ])
    def test_the_change_is_in_the_setting_s_operation_log(
            self, org: Org, key: str, change: Callable[[Any, Any], object]) -> None:
        change(org.crm, org.admin)
        (entry,) = org.crm.org.operation_log(org.admin, "setting", key)
        assert (entry.actor_id, entry.action) == (org.admin.id, "update")

    def test_a_refused_writer_answers_permission_denied_before_judging_its_input(
            self, org: Org) -> None:
        for call in (lambda: org.crm.attachments.set_limits(org.rep, -1, []),
                     lambda: org.crm.contracts.set_number_rule(org.rep, {"prefix": 7})):
            with pytest.raises(PermissionDenied):
                call()


class TestFeaturesAreCheckedOnReads:
    def test_follow_ups_of_a_kind_without_them_are_refused_not_empty(self, org: Org) -> None:
        product = org.crm.products.create(org.admin, {"name": "软件", "code": "P1",
                                                      "price": "10"})
        with pytest.raises(RuleViolation) as refused:
            org.crm.followups.list(org.admin, "product", product.id)
        assert refused.value.code == "record_kind.feature"
