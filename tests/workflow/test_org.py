"""Org use cases through the facade, on memory, SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from crmkit.entities import DataScope, Module, ScopeLevel, UserStatus
from crmkit.entities.org import UNSCOPED_MODULES
from crmkit.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.policies import credentials
from crmkit.serialization import to_dict

from .conftest import Org


def counts(o: Org) -> tuple[int, int, int]:
    """(departments, users, roles) — to prove a refused operation wrote nothing."""
    a = o.admin
    return (len(o.crm.org.list_departments(a)), len(o.crm.org.list_users(a)),
            len(o.crm.org.list_roles(a)))


def log_actions(o: Org, kind: str, record_id: str) -> list[str]:
    return [e.action for e in o.crm.org.operation_log(o.admin, kind, record_id)]


class TestSetup:
    def test_new_org_has_top_department_roles_and_super_admin(self, org: Org) -> None:
        assert org.top.name == "办公室" and org.top.parent_id is None
        assert set(org.roles) == {"super_admin", "sales_manager", "sales_rep", "finance"}
        assert org.admin.role_ids == {org.roles["super_admin"]}

    def test_second_setup_is_refused(self, org: Org) -> None:
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.setup(admin_mobile="13700000000", admin_name="x")
        assert caught.value.code == "org.already_set_up"


class TestDepartments:
    def test_add_rename_move_delete(self, org: Org) -> None:
        crm, a = org.crm.org, org.admin
        east = crm.add_department(a, {"name": "华东区", "parent_id": org.sales.id})
        assert crm.rename_department(a, east.id, " 华东大区 ").name == "华东大区"
        moved = crm.move_department(a, east.id, org.finance.id)
        assert moved.parent_id == org.finance.id and moved.version == 3
        assert log_actions(org, "department", east.id) == ["update", "update", "create"]
        crm.delete_department(a, east.id)
        with pytest.raises(NotFound) as caught:
            crm.get_department(a, east.id)
        assert caught.value.code == "department.not_found"

    def test_listing_is_a_preorder_tree(self, org: Org) -> None:
        names = [d.name for d in org.crm.org.list_departments(org.admin)]
        assert names == ["办公室", "财务部", "销售部", "销售一组"]

    @pytest.mark.parametrize("target", ["self", "child"])
    def test_move_never_creates_a_cycle(self, org: Org, target: str) -> None:
        parent = org.sales.id if target == "self" else org.group.id
        before = counts(org)
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.move_department(org.admin, org.sales.id, parent)
        assert caught.value.code == "org.department_cycle"
        assert org.crm.org.get_department(org.admin, org.sales.id).parent_id == org.top.id
        assert counts(org) == before

    def test_top_department_cannot_move_or_go(self, org: Org) -> None:
        for call in (lambda: org.crm.org.move_department(org.admin, org.top.id, org.sales.id),
                     lambda: org.crm.org.delete_department(org.admin, org.top.id)):
            with pytest.raises(RuleViolation) as caught:
                call()
            assert caught.value.code == "org.top_department"

    def test_delete_is_refused_while_anything_refers_to_the_department(self, org: Org) -> None:
        crm, a = org.crm, org.admin
        east = crm.org.add_department(a, {"name": "华东区", "parent_id": org.sales.id})
        role = crm.org.add_role(a, {"name": "华东督导", "permissions": {"customers": ["view"]},
                                    "scopes": {"customers": {"level": "custom", "departments": [
                                        {"department_id": east.id}]}}})
        pool = crm.pool.create_pool(a, {"name": "华东公海", "member_department_ids": [east.id]})
        group = crm.opportunities.add_stage_group(a, {
            "name": "华东流程", "department_ids": [east.id],
            "stages": [{"name": "接洽", "win_rate": "10"}]})
        flow = crm.approvals.define_flow(a, {
            "kind": "contract", "name": "合同审批", "start": "where", "nodes": [
                {"type": "condition", "id": "where", "branches": [
                    {"conditions": [{"op": "department", "ids": [east.id]}], "next": "mgr"}]},
                {"type": "approver", "id": "mgr", "source": "supervisor"}]})
        with pytest.raises(RuleViolation) as caught:
            crm.org.delete_department(a, east.id)
        assert caught.value.code == "org.department_in_use"
        assert caught.value.details["references"] == [
            {"kind": "approval_flow", "id": flow.id, "name": "合同审批", "field": "nodes.where"},
            {"kind": "pool", "id": pool.id, "name": "华东公海", "field": "member_department_ids"},
            {"kind": "role", "id": role.id, "name": "华东督导", "field": "scopes.customers"},
            {"kind": "stage_group", "id": group.id, "name": "华东流程",
             "field": "department_ids"}]
        assert crm.org.get_department(a, east.id).name == "华东区"
        crm.org.update_role(a, role.id, {"scopes": {"customers": {"level": "self"}}})
        crm.pool.delete_pool(a, pool.id)
        crm.opportunities.update_stage_group(a, group.id, {"department_ids": []})
        crm.approvals.define_flow(a, {"kind": "contract", "name": "合同审批", "start": "mgr",
                                      "nodes": [{"type": "approver", "id": "mgr",
                                                 "source": "supervisor"}]})
        crm.org.delete_department(a, east.id)
        with pytest.raises(NotFound) as gone:
            crm.org.get_department(a, east.id)
        assert gone.value.code == "department.not_found"

    def test_delete_only_when_empty(self, org: Org) -> None:
        for dept in (org.sales, org.group):  # has a child / has a user
            with pytest.raises(RuleViolation) as caught:
                org.crm.org.delete_department(org.admin, dept.id)
            assert caught.value.code == "org.department_not_empty"
        org.crm.org.delete_department(org.admin, org.finance.id)

    def test_bad_input_names_fields_and_writes_nothing(self, org: Org) -> None:
        before = counts(org)
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_department(org.admin, {"name": "  ", "parent_id": "nope"})
        assert caught.value.codes == {"$.name": "blank", "$.parent_id": "not_found"}
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_department(org.admin, {"name": 3, "sort_order": "1"})
        assert caught.value.codes == {
            "$.name": "type", "$.parent_id": "required", "$.sort_order": "type"
        }
        assert counts(org) == before

    def test_unknown_department_is_not_found(self, org: Org) -> None:
        with pytest.raises(NotFound) as caught:
            org.crm.org.rename_department(org.admin, "nope", "x")
        assert caught.value.code == "department.not_found"


class TestUsers:
    def test_add_normalises_and_logs(self, org: Org) -> None:
        user = org.user("+86 139-0000-0009", " 赵六 ", org.group, "sales_rep", email="z@x.cn")
        assert (user.mobile, user.name, user.status) == ("13900000009", "赵六", UserStatus.ACTIVE)
        [entry] = org.crm.org.operation_log(org.admin, "user", user.id)
        assert entry.action == "create" and entry.actor_id == org.admin.id
        assert {c.field: c.new for c in entry.changes}["mobile"] == "13900000009"

    def test_bad_fields_all_reported_nothing_written(self, org: Org) -> None:
        before = counts(org)
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_user(org.admin, {
                "mobile": "12345", "name": "", "department_id": "nope", "email": "not-mail",
                "role_ids": ["ghost"], "supervisor_id": "nobody", "password": "short",
            })
        assert caught.value.codes == {
            "$.mobile": "format.mobile", "$.name": "blank", "$.department_id": "not_found",
            "$.email": "format.email", "$.role_ids[0]": "not_found",
            "$.supervisor_id": "not_found", "$.password": "password.too_short",
        }
        assert counts(org) == before

    def test_duplicate_mobile(self, org: Org) -> None:
        with pytest.raises(ValidationError) as caught:
            org.user("139 0000 0002", "重复", org.group)
        assert caught.value.codes == {"$.mobile": "unique"}
        with pytest.raises(ValidationError) as caught:
            org.crm.org.update_user(org.admin, org.manager.id, {"mobile": "13900000002"})
        assert caught.value.codes == {"$.mobile": "unique"}

    def test_wrong_json_types_have_paths(self, org: Org) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_user(org.admin, {
                "mobile": 13900000007, "name": ["x"], "department_id": org.group.id,
                "gender": "robot", "role_ids": "sales", "extra": 1,
            })
        codes = caught.value.codes
        assert codes["$.mobile"] == "type" and codes["$.name"] == "type"
        assert codes["$.extra"] == "unknown_field" and "$.gender" in codes
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_user(org.admin, ["not", "an", "object"])  # type: ignore[arg-type]
        assert caught.value.codes == {"$": "type"}

    def test_update_and_optimistic_lock(self, org: Org) -> None:
        rep = org.crm.org.update_user(org.admin, org.rep.id, {"position": "销售代表"},
                                      expected_version=org.rep.version)
        assert rep.position == "销售代表" and rep.version == org.rep.version + 1
        with pytest.raises(Conflict) as caught:
            org.crm.org.update_user(org.admin, org.rep.id, {"name": "x"},
                                    expected_version=org.rep.version)
        assert caught.value.code == "version_conflict"
        [update, _] = org.crm.org.operation_log(org.admin, "user", org.rep.id)
        assert [(c.field, c.old, c.new) for c in update.changes] == [
            ("position", None, "销售代表")]

    def test_supervisor_cycle_refused(self, org: Org) -> None:
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.update_user(org.admin, org.admin.id, {"supervisor_id": org.rep.id})
        assert caught.value.code == "org.supervisor_cycle"
        with pytest.raises(ValidationError) as invalid:
            org.crm.org.update_user(org.admin, org.rep.id, {"supervisor_id": org.rep.id})
        assert invalid.value.codes == {"$.supervisor_id": "invalid"}

    def test_disable_instead_of_delete(self, org: Org) -> None:
        org.crm.org.disable_user(org.admin, org.rep.id)
        assert org.crm.org.get_user(org.admin, org.rep.id).status is UserStatus.DISABLED
        with pytest.raises(PermissionDenied) as caught:
            org.crm.org.visible_scope(org.rep.id, Module.CUSTOMERS)
        assert caught.value.code == "auth.inactive_user"
        assert log_actions(org, "user", org.rep.id)[0] == "disable"
        org.crm.org.enable_user(org.admin, org.rep.id)
        org.crm.org.visible_scope(org.rep.id, Module.CUSTOMERS)

    def test_password_is_hashed_and_checked(self, org: Org) -> None:
        assert org.crm.org.authenticate("13800000000", "s3cret-pass").id == org.admin.id
        stored = org.crm.org.get_user(org.admin, org.admin.id).password_hash or ""
        assert stored.startswith("scrypt$") and "s3cret" not in stored
        assert "password_hash" not in to_dict(org.admin)
        for mobile, password in [("13800000000", "wrong-pass"), ("13900000002", "")]:
            with pytest.raises(PermissionDenied) as caught:
                org.crm.org.authenticate(mobile, password)
            assert caught.value.code == "auth.failed"
        org.crm.org.set_password(org.rep, org.rep.id, "rep-password")
        assert org.crm.org.authenticate("13900000002", "rep-password").id == org.rep.id
        with pytest.raises(ValidationError) as invalid:
            org.crm.org.set_password(org.rep, org.rep.id, "short")
        assert invalid.value.codes == {"$.password": "password.too_short"}

    def test_every_sign_in_failure_runs_the_kdf_once_and_answers_alike(
        self, org: Org, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        runs: list[int] = []
        real_scrypt = hashlib.scrypt

        def counting_scrypt(*args: Any, **kwargs: Any) -> bytes:
            runs.append(kwargs["n"])
            return real_scrypt(*args, **kwargs)

        monkeypatch.setattr(hashlib, "scrypt", counting_scrypt)
        org.crm.org.disable_user(org.admin, org.manager.id)
        attempts: list[tuple[Any, Any]] = [
            ("13800000000", "wrong-pass"),      # known user, wrong password
            ("13911119999", "s3cret-pass"),     # unknown mobile
            ("not a mobile", "s3cret-pass"),    # malformed mobile
            ("13900000002", "s3cret-pass"),     # user without a password
            ("13900000001", "s3cret-pass"),     # disabled user
            (None, "s3cret-pass"), (13800000000, "s3cret-pass"), (["13800000000"], "x"),
            ("13800000000", None), ("13800000000", 12345678), ("13800000000", b"s3cret-pass"),
            ("13800000000", "s3cret-pass\ud800"),
        ]
        answers = []
        for mobile, password in attempts:
            runs.clear()
            with pytest.raises(PermissionDenied) as caught:
                org.crm.org.authenticate(mobile, password)
            assert runs == [credentials.N], (mobile, password)
            answers.append(caught.value.as_dict())
        assert all(answer == answers[0] for answer in answers)
        assert answers[0]["code"] == "auth.failed"
        runs.clear()
        assert org.crm.org.authenticate("+86 138-0000-0000", "s3cret-pass").id == org.admin.id
        assert runs == [credentials.N]


class TestSuperAdmin:
    def test_last_super_admin_cannot_be_disabled_or_demoted(self, org: Org) -> None:
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.disable_user(org.admin, org.admin.id)
        assert caught.value.code == "org.last_super_admin"
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.update_user(org.admin, org.admin.id, {"role_ids": []})
        assert caught.value.code == "org.last_super_admin"
        assert org.crm.org.get_user(org.admin, org.admin.id).version == org.admin.version

    def test_several_holders_allowed_then_one_may_go(self, org: Org) -> None:
        second = org.user("13900000008", "副总", org.top, "super_admin")
        org.crm.org.disable_user(org.admin, org.admin.id)
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.update_user(second, second.id, {"role_ids": [org.roles["finance"]]})
        assert caught.value.code == "org.last_super_admin"

    def test_builtin_role_is_locked(self, org: Org) -> None:
        role_id = org.roles["super_admin"]
        for call in (lambda: org.crm.org.update_role(org.admin, role_id, {"name": "x"}),
                     lambda: org.crm.org.delete_role(org.admin, role_id)):
            with pytest.raises(RuleViolation) as caught:
                call()
            assert caught.value.code == "role.builtin_locked"


class TestRoles:
    def test_add_update_delete(self, org: Org) -> None:
        role = org.crm.org.add_role(org.admin, {
            "name": "客服", "permissions": {"customers": ["view"]},
            "scopes": {"customers": {"level": "custom", "departments": [
                {"department_id": org.sales.id, "include_children": False}],
                "users": [org.rep.id]}},
        })
        assert role.scope_for(Module.CUSTOMERS) is not None
        role = org.crm.org.update_role(org.admin, role.id, {"description": "售后"})
        assert role.description == "售后" and role.version == 2
        org.crm.org.delete_role(org.admin, role.id)
        assert log_actions(org, "role", role.id) == ["delete", "update", "create"]

    def test_role_in_use_and_unique_name(self, org: Org) -> None:
        with pytest.raises(RuleViolation) as caught:
            org.crm.org.delete_role(org.admin, org.roles["sales_rep"])
        assert caught.value.code == "role.in_use"
        with pytest.raises(ValidationError) as v:
            org.crm.org.add_role(org.admin, {"name": "销售员"})
        assert v.value.codes == {"$.name": "unique"}

    def test_bad_scope_payload(self, org: Org) -> None:
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_role(org.admin, {
                "name": "x", "permissions": {"customers": ["fly"]},
                "scopes": {"customers": {"level": "custom",
                                         "departments": [{"department_id": "ghost"}]}},
            })
        assert "$.permissions.customers[0]" in caught.value.codes
        with pytest.raises(ValidationError) as caught:
            org.crm.org.add_role(org.admin, {"name": "x", "scopes": {"customers": {
                "level": "custom", "departments": [{"department_id": "ghost"}]}}})
        assert caught.value.codes == {"$.scopes.customers.departments": "not_found"}

    def test_a_role_granting_a_module_without_a_scope_gets_self(self, org: Org) -> None:
        role = org.crm.org.add_role(org.admin, {
            "name": "录入员", "permissions": {"customers": ["view", "create"], "leads": [],
                                           "org": ["view"], "pool": ["view"]},
            "scopes": {"contracts": {"level": "all"}}})
        assert role.scopes == {Module.CUSTOMERS: DataScope(ScopeLevel.SELF),
                               Module.CONTRACTS: DataScope(ScopeLevel.ALL)}
        clerk = org.user("13900000055", "录入员", org.group, "sales_rep")
        clerk = org.crm.org.update_user(org.admin, clerk.id, {"role_ids": [role.id]})
        customer = org.crm.customers.create(clerk, {"name": "自己录的客户"})
        assert org.crm.customers.get(clerk, customer.id).id == customer.id
        role = org.crm.org.update_role(org.admin, role.id, {
            "permissions": {"customers": ["view"], "opportunities": ["view"]},
            "scopes": {"opportunities": {"level": "department"}}})
        assert role.scopes == {Module.CUSTOMERS: DataScope(ScopeLevel.SELF),
                               Module.OPPORTUNITIES: DataScope(ScopeLevel.DEPARTMENT)}
        assert org.crm.org.get_role(org.admin, role.id) == role
        role = org.crm.org.update_role(org.admin, role.id, {"scopes": {}})
        assert set(role.scopes) == {Module.CUSTOMERS, Module.OPPORTUNITIES}
        assert all(s.level is ScopeLevel.SELF for s in role.scopes.values())

    def test_every_default_role_has_a_scope_for_each_scoped_module_it_grants(
        self, org: Org
    ) -> None:
        for role in org.crm.org.list_roles(org.admin):
            for module, operations in role.permissions.items():
                assert not operations or module in UNSCOPED_MODULES or module in role.scopes


class TestScopes:
    def test_levels_through_the_facade(self, org: Org) -> None:
        other = org.user("13900000003", "李四", org.finance, "sales_rep")
        scope = org.crm.org.visible_scope
        assert scope(org.rep, Module.CUSTOMERS).owner_ids == {org.rep.id}
        assert scope(org.manager, Module.CUSTOMERS).owner_ids == {org.manager.id, org.rep.id}
        assert scope(org.admin, Module.CUSTOMERS).all_records
        assert not scope(org.manager, Module.CUSTOMERS).admits(other.id)

    def test_moving_a_user_moves_their_visibility(self, org: Org) -> None:
        assert org.crm.org.visible_scope(org.manager, Module.LEADS).admits(org.rep.id)
        org.crm.org.update_user(org.admin, org.rep.id, {"department_id": org.finance.id})
        assert not org.crm.org.visible_scope(org.manager, Module.LEADS).admits(org.rep.id)

    def test_role_edit_changes_scope_at_once(self, org: Org) -> None:
        org.crm.org.update_role(org.admin, org.roles["sales_rep"], {
            "scopes": {"customers": {"level": "all"}}})
        assert org.crm.org.visible_scope(org.rep, Module.CUSTOMERS).all_records
        # The edit left leads out of the scopes; the role still grants leads, so 本人 stays.
        assert org.crm.org.visible_scope(org.rep, Module.LEADS).owner_ids == {org.rep.id}

    def test_team_grant_is_always_there(self, org: Org) -> None:
        scope = org.crm.org.visible_scope(org.rep, Module.CONTRACTS)
        assert scope.team_user_id == org.rep.id
        assert scope.admits("someone-else", team_user_ids=[org.rep.id])


# -- permissions: allow and deny with one shared setup -----------------------------------------
CALLS: dict[str, tuple[Module, str, Any]] = {
    "add_department": (Module.ORG, "create",
                       lambda o, a: o.crm.org.add_department(a, {"name": "新部门",
                                                                  "parent_id": o.top.id})),
    "rename_department": (Module.ORG, "edit",
                          lambda o, a: o.crm.org.rename_department(a, o.finance.id, "财务中心")),
    "delete_department": (Module.ORG, "delete",
                          lambda o, a: o.crm.org.delete_department(a, o.finance.id)),
    "add_user": (Module.ORG, "create",
                 lambda o, a: o.user("13900000077", "新人", o.group) if a is o.admin else
                 o.crm.org.add_user(a, {"mobile": "13900000077", "name": "新人",
                                        "department_id": o.group.id})),
    "disable_user": (Module.ORG, "edit", lambda o, a: o.crm.org.disable_user(a, o.rep.id)),
    "list_users": (Module.ORG, "view", lambda o, a: o.crm.org.list_users(a)),
    "hand_over": (Module.ORG, "hand_over",
                  lambda o, a: o.crm.org.hand_over(a, o.rep.id, o.manager.id)),
    "add_role": (Module.ROLES, "create", lambda o, a: o.crm.org.add_role(a, {"name": "新角色"})),
    "list_roles": (Module.ROLES, "view", lambda o, a: o.crm.org.list_roles(a)),
    "delete_role": (Module.ROLES, "delete",
                    lambda o, a: o.crm.org.delete_role(a, o.roles["finance"])),
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_permission_allow_and_deny(org: Org, name: str) -> None:
    module, operation, call = CALLS[name]
    granted = org.crm.org.add_role(org.admin, {"name": "granted",
                                               "permissions": {module.value: [operation]}})
    others = {m.value: ["view"] for m in Module if m is not module}
    denied = org.crm.org.add_role(org.admin, {"name": "denied", "permissions": others})
    allowed = org.user("13900000011", "允许", org.sales, supervisor_id=org.admin.id)
    refused = org.user("13900000012", "拒绝", org.sales)
    org.crm.org.update_user(org.admin, allowed.id, {"role_ids": [granted.id]})
    org.crm.org.update_user(org.admin, refused.id, {"role_ids": [denied.id]})
    with pytest.raises(PermissionDenied) as caught:
        call(org, refused)
    assert caught.value.code == "permission_denied"
    call(org, allowed)


# -- hand-over and atomicity ---------------------------------------------------------------------
def test_hand_over_runs_every_participant_and_notifies(org: Org) -> None:
    seen: list[tuple[str, str]] = []

    def leads(op: Any, src: str, dst: str) -> int:
        seen.append((src, dst))
        return 3

    org.crm.org.register_hand_over("lead", leads)
    report = org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
    assert report.moved["lead"] == 3 and seen == [(org.rep.id, org.manager.id)]
    [note] = org.notifier.for_user(org.manager.id)
    assert note.kind == "org.hand_over" and note.data["moved"]["lead"] == 3
    assert log_actions(org, "user", org.rep.id)[0] == "hand_over"


def test_hand_over_to_self_or_disabled_refused(org: Org) -> None:
    with pytest.raises(RuleViolation) as caught:
        org.crm.org.hand_over(org.admin, org.rep.id, org.rep.id)
    assert caught.value.code == "org.hand_over_target"
    org.crm.org.disable_user(org.admin, org.manager.id)
    with pytest.raises(RuleViolation) as caught:
        org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
    assert caught.value.code == "org.hand_over_target"


def test_failure_inside_an_operation_writes_and_sends_nothing(org: Org) -> None:
    def broken(op: Any, src: str, dst: str) -> int:
        op.uow.users.update(org.crm.org.get_user(org.admin, src), expected_version=99)
        return 0

    org.crm.org.register_hand_over("broken", broken)
    sent = len(org.notifier.sent)
    with pytest.raises(Conflict) as caught:
        org.crm.org.hand_over(org.admin, org.rep.id, org.manager.id)
    assert caught.value.code == "version_conflict"
    assert len(org.notifier.sent) == sent
    assert "hand_over" not in log_actions(org, "user", org.rep.id)


def test_op_log_batch_written_once_per_operation(org: Org) -> None:
    before = log_actions(org, "department", org.sales.id)
    org.crm.org.rename_department(org.admin, org.sales.id, "销售中心")
    assert log_actions(org, "department", org.sales.id) == ["update", *before]
