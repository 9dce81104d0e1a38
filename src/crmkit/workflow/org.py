"""组织机构 use cases: departments, users, roles, data scopes and hand-over (``crm.org``)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from crmkit.entities import (
    TOP_DEPARTMENT_NAME,
    Department,
    Module,
    Notification,
    Operation,
    OperationLogEntry,
    RecordScope,
    Role,
    SystemActor,
    User,
    UserStatus,
)
from crmkit.errors import Conflict, NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.policies import (
    active_super_admins,
    check_department_parent,
    check_super_admin_kept,
    check_supervisor,
    hash_password,
    scopes_with_defaults,
    verify_password,
)
from crmkit.policies.credentials import DUMMY_HASH, MIN_LENGTH
from crmkit.policies.default_roles import default_role_templates
from crmkit.policies.department_refs import department_references
from crmkit.policies.validation import Problems, is_valid_email, normalize_mobile
from crmkit.serialization import structure, structure_patch
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.oplog_diff import field_changes
from crmkit.workflow.org_inputs import (
    HandOverReport,
    NewDepartment,
    NewRole,
    NewUser,
    RoleChanges,
    UserChanges,
)
from crmkit.workflow.record_access import RecordAccess

HandOverParticipant = Callable[[Op, str, str], int]
"""Moves every record of one kind from user A to user B inside the operation; returns the count."""

NAME_MAX = 50

D, U, R = "department", "user", "role"
LOGGED_SETTINGS = {
    D: Module.ORG, U: Module.ORG, R: Module.ROLES, "pool": Module.POOL, "field": Module.FIELDS,
    "product_category": Module.PRODUCTS, "stage_group": Module.OPPORTUNITIES,
    "approval_flow": Module.APPROVALS, "setting": Module.ORG, "settings": Module.ORG,
}
"""The logged kinds that are no records, and the module whose ``view`` shows their history."""
SETUP = SystemActor("organisation setup")
"""The bootstrap's own actor: :meth:`OrgService.setup` runs before any user exists."""


def _missing(kind: str, key: str) -> NotFound:
    return NotFound(f"{kind}.not_found", f"{kind} {key} 不存在", f"{kind} {key} not found")


class OrgService:
    """Departments, users, roles and scopes. Every method takes the acting user first."""

    def __init__(self, runtime: Runtime, records: RecordAccess,
                 hand_over: Mapping[str, HandOverParticipant]) -> None:
        self._rt = runtime
        self._records = records
        self._hand_over = dict(hand_over)
        """Record kind → what moves its records in :meth:`hand_over` (every declared kind;
        a host adds its own with :meth:`register_hand_over`)."""

    # -- bootstrap ------------------------------------------------------------------------------
    def setup(
        self,
        *,
        admin_mobile: str,
        admin_name: str,
        admin_password: str | None = None,
        top_department: str = TOP_DEPARTMENT_NAME,
    ) -> User:
        """Create a new organisation: top department (办公室), default roles, first 超级管理员.

        Refused with ``org.already_set_up`` once any department exists.
        """
        with self._rt.operation(SETUP, Module.ORG, None, system=True) as op:
            if op.uow.departments.list():
                raise RuleViolation(
                    "org.already_set_up", "组织已初始化", "the organisation is already set up"
                )
            top = Department(self._rt.ids.new_id(), top_department, None)
            op.uow.departments.add(top)
            super_admin_id = ""
            for template in default_role_templates():
                role = Role(
                    self._rt.ids.new_id(), template.name, template.permissions,
                    scopes_with_defaults(template.permissions, template.scopes),
                    code=template.code, description=template.description,
                )
                op.uow.roles.add(role)
                op.log(R, role.id, "create", field_changes(None, role))
                if role.is_super_admin:
                    super_admin_id = role.id
            payload = NewUser(
                admin_mobile, admin_name, top.id, role_ids=frozenset({super_admin_id}),
                password=admin_password,
            )
            admin = self._new_user(op, payload)
            op.log(D, top.id, "create", field_changes(None, top))
            self._rt.org_changed(op)
            return admin

    # -- departments ----------------------------------------------------------------------------
    def add_department(
        self, actor: ActorRef, data: NewDepartment | Mapping[str, Any]
    ) -> Department:
        """Add a department under ``parent_id`` (名称 required, at most the name limit)."""
        payload = structure(data, NewDepartment)
        with self._rt.operation(actor, Module.ORG, Operation.CREATE) as op:
            problems = Problems()
            problems.text("$.name", payload.name, required=True, max_length=NAME_MAX)
            if op.uow.departments.get(payload.parent_id) is None:
                problems.add("$.parent_id", "not_found")
            problems.raise_if_any()
            dept = Department(
                self._rt.ids.new_id(), payload.name.strip(), payload.parent_id, payload.sort_order
            )
            op.uow.departments.add(dept)
            self._rt.org_changed(op)
            op.log(D, dept.id, "create", field_changes(None, dept))
            return dept

    def rename_department(self, actor: ActorRef, department_id: str, name: str) -> Department:
        """Rename a department (the name is required)."""
        with self._rt.operation(actor, Module.ORG, Operation.EDIT) as op:
            problems = Problems()
            problems.text("$.name", name, required=True, max_length=NAME_MAX)
            problems.raise_if_any()
            return self._save_department(op, department_id, name=name.strip())

    def move_department(self, actor: ActorRef, department_id: str, parent_id: str) -> Department:
        """Move a department under another; never under itself or its own descendants."""
        with self._rt.operation(actor, Module.ORG, Operation.EDIT) as op:
            dept = self._department(op, department_id)
            if dept.parent_id is None:
                raise RuleViolation(
                    "org.top_department", "顶级部门不能移动",
                    "the top department cannot be moved",
                )
            if op.uow.departments.get(parent_id) is None:
                raise ValidationError.at(
                    "$.parent_id", "not_found", "上级部门不存在", "parent department not found"
                )
            parents = {d.id: d.parent_id for d in op.uow.departments.list()}
            check_department_parent(parents, department_id, parent_id)
            return self._save_department(op, department_id, parent_id=parent_id)

    def delete_department(self, actor: ActorRef, department_id: str) -> None:
        """Delete a department that has no sub-departments, no users and that nothing refers to
    (role scopes, pools, stage groups, approval flows, targets: ``org.department_in_use``
    lists them); the top one never."""
        with self._rt.operation(actor, Module.ORG, Operation.DELETE) as op:
            dept = self._department(op, department_id)
            if dept.parent_id is None:
                raise RuleViolation(
                    "org.top_department", "顶级部门不能删除",
                    "the top department cannot be deleted",
                )
            if op.uow.departments.count_children(department_id):
                raise RuleViolation(
                    "org.department_not_empty", "该部门下还有子部门",
                    "the department still has sub-departments",
                )
            if op.uow.users.count_in_department(department_id):
                raise RuleViolation(
                    "org.department_not_empty", "该部门下还有员工",
                    "the department still has users",
                )
            references = department_references(
                department_id, roles=op.uow.roles.list(), pools=op.uow.pools.list(),
                stage_groups=op.uow.stage_groups.list(), flows=op.uow.approvals.flows(),
                targets=op.uow.targets.list(department_id=department_id))
            if references:
                names = ", ".join(f"{r['kind']} {r['name']}" for r in references)
                raise RuleViolation(
                    "org.department_in_use",
                    f"该部门仍被引用：{names}", f"the department is still referenced by: {names}",
                    details={"references": references},
                )
            op.uow.departments.delete(department_id)
            self._rt.org_changed(op)
            op.log(D, department_id, "delete", field_changes(dept, attrs.evolve(dept, name="")))

    def get_department(self, actor: ActorRef, department_id: str) -> Department:
        """One department by id."""
        with self._rt.operation(actor, Module.ORG, Operation.VIEW) as op:
            return self._department(op, department_id)

    def list_departments(self, actor: ActorRef) -> list[Department]:
        """All departments, parents before children, siblings by sort order then name."""
        with self._rt.operation(actor, Module.ORG, Operation.VIEW) as op:
            departments = op.uow.departments.list()
        children: dict[str | None, list[Department]] = {}
        for dept in departments:
            children.setdefault(dept.parent_id, []).append(dept)
        ordered: list[Department] = []
        stack = sorted(children.get(None, []), key=lambda d: (d.sort_order, d.name), reverse=True)
        while stack:
            dept = stack.pop()
            ordered.append(dept)
            kids = sorted(children.get(dept.id, []), key=lambda d: (d.sort_order, d.name))
            stack.extend(reversed(kids))
        return ordered

    def _department(self, op: Op, department_id: str) -> Department:
        dept = op.uow.departments.get(department_id)
        if dept is None:
            raise _missing(D, department_id)
        return dept

    def _save_department(self, op: Op, department_id: str, **changes: Any) -> Department:
        old = self._department(op, department_id)
        new = attrs.evolve(old, version=old.version + 1, **changes)
        op.uow.departments.update(new, expected_version=old.version)
        self._rt.org_changed(op)
        op.log(D, department_id, "update", field_changes(old, new))
        return new

    # -- users ----------------------------------------------------------------------------------
    def add_user(self, actor: ActorRef, data: NewUser | Mapping[str, Any]) -> User:
        """Add a user (员工): mobile (unique), name, department, roles, supervisor and an
        optional password."""
        payload = structure(data, NewUser)
        with self._rt.operation(actor, Module.ORG, Operation.CREATE) as op:
            user = self._new_user(op, payload)
            self._rt.org_changed(op)
            return user

    def _new_user(self, op: Op, payload: NewUser) -> User:
        problems = Problems()
        mobile = self._check_user_fields(op, problems, attrs.asdict(payload, recurse=False), None)
        if payload.password is not None and len(payload.password) < MIN_LENGTH:
            problems.add("$.password", "password.too_short")
        problems.raise_if_any()
        user = User(
            id=self._rt.ids.new_id(),
            mobile=mobile,
            name=payload.name.strip(),
            department_id=payload.department_id,
            gender=payload.gender,
            email=payload.email or None,
            position=payload.position,
            supervisor_id=payload.supervisor_id,
            role_ids=payload.role_ids,
            password_hash=hash_password(payload.password) if payload.password else None,
            created_at=op.now,
            updated_at=op.now,
        )
        op.uow.users.add(user)
        op.log(U, user.id, "create", field_changes(None, user))
        return user

    def _check_user_fields(
        self, op: Op, problems: Problems, fields: Mapping[str, Any], user_id: str | None
    ) -> str:
        """Validate the user fields present in ``fields``; returns the normalised mobile."""
        mobile = ""
        if "mobile" in fields:
            mobile = normalize_mobile(fields["mobile"]) or ""
            if not mobile:
                problems.add("$.mobile", "format.mobile")
            else:
                holder = op.uow.users.get_by_mobile(mobile)
                if holder is not None and holder.id != user_id:
                    problems.add("$.mobile", "unique")
        if "name" in fields:
            problems.text("$.name", fields["name"], required=True, max_length=NAME_MAX)
        if fields.get("email") and not is_valid_email(fields["email"]):
            problems.add("$.email", "format.email")
        if fields.get("position") is not None:
            problems.text("$.position", fields["position"], required=False, max_length=NAME_MAX)
        if "department_id" in fields and op.uow.departments.get(fields["department_id"]) is None:
            problems.add("$.department_id", "not_found")
        supervisor = fields.get("supervisor_id")
        if supervisor is not None and (
            supervisor == user_id or op.uow.users.get(supervisor) is None
        ):
            problems.add("$.supervisor_id", "not_found" if supervisor != user_id else "invalid")
        for i, role_id in enumerate(sorted(fields.get("role_ids", ()))):
            if op.uow.roles.get(role_id) is None:
                problems.add(f"$.role_ids[{i}]", "not_found")
        return mobile

    def update_user(
        self,
        actor: ActorRef,
        user_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> User:
        """Change any of :class:`UserChanges`' fields. Supervisor cycles and losing the last
        超级管理员 are refused; ``expected_version`` turns on optimistic locking."""
        patch = structure_patch(changes, UserChanges)
        with self._rt.operation(actor, Module.ORG, Operation.EDIT) as op:
            old = self._user(op, user_id)
            problems = Problems()
            mobile = self._check_user_fields(op, problems, patch, user_id)
            problems.raise_if_any()
            if "mobile" in patch:
                patch["mobile"] = mobile
            if "name" in patch:
                patch["name"] = patch["name"].strip()
            if "supervisor_id" in patch:
                supervisors = {m.id: m.supervisor_id for m in op.uow.org_snapshot().members}
                check_supervisor(supervisors, user_id, patch["supervisor_id"])
            return self._save_user(op, old, expected_version, **patch)

    def set_password(self, actor: ActorRef, user_id: str, password: str) -> None:
        """Set a user's password (min 8 characters); users may always set their own."""
        own = (actor.id if isinstance(actor, User) else actor) == user_id
        with self._rt.operation(actor, Module.ORG, None if own else Operation.EDIT) as op:
            if not isinstance(password, str) or len(password) < MIN_LENGTH:
                raise ValidationError.at(
                    "$.password", "password.too_short", "密码至少 8 位",
                    "must have at least 8 characters",
                )
            old = self._user(op, user_id)
            new = attrs.evolve(
                old, password_hash=hash_password(password), version=old.version + 1,
                updated_at=op.now,
            )
            op.uow.users.update(new, expected_version=old.version)
            op.log(U, user_id, "set_password")

    def authenticate(self, mobile: str, password: str) -> User:
        """The active user with this mobile and password; otherwise ``auth.failed``.

        Every failure looks alike and costs alike: an unknown, malformed or non-text mobile, a
        disabled user or one without a password is checked against a fixed dummy hash (one KDF
        run, as for a real user), and a non-text password is a wrong password."""
        number = normalize_mobile(mobile) if isinstance(mobile, str) else None
        user = None
        if number is not None:
            with self._rt.storage.transaction() as uow:
                user = uow.users.get_by_mobile(number)
        stored = user.password_hash if user is not None and user.active else None
        matches = verify_password(password, stored or DUMMY_HASH)
        if user is None or stored is None or not matches:
            raise PermissionDenied(
                "auth.failed", "手机号或密码错误", "wrong mobile or password"
            )
        return user

    def disable_user(self, actor: ActorRef, user_id: str) -> User:
        """Disable (停用) a user; users are never deleted. Keeps one active 超级管理员."""
        with self._rt.operation(actor, Module.ORG, Operation.EDIT) as op:
            return self._save_user(op, self._user(op, user_id), None, status=UserStatus.DISABLED)

    def enable_user(self, actor: ActorRef, user_id: str) -> User:
        """Enable a disabled user: they may sign in and act again."""
        with self._rt.operation(actor, Module.ORG, Operation.EDIT) as op:
            return self._save_user(op, self._user(op, user_id), None, status=UserStatus.ACTIVE)

    def get_user(self, actor: ActorRef, user_id: str) -> User:
        """One user by id."""
        with self._rt.operation(actor, Module.ORG, Operation.VIEW) as op:
            return self._user(op, user_id)

    def list_users(
        self,
        actor: ActorRef,
        *,
        department_id: str | None = None,
        role_id: str | None = None,
        status: UserStatus | None = None,
    ) -> list[User]:
        """Users, optionally only those of one department, holding one role or in one status
        (``active`` / ``disabled``)."""
        with self._rt.operation(actor, Module.ORG, Operation.VIEW) as op:
            return op.uow.users.list(department_id=department_id, role_id=role_id, status=status)

    def _user(self, op: Op, user_id: str) -> User:
        user = op.uow.users.get(user_id)
        if user is None:
            raise _missing(U, user_id)
        return user

    def _save_user(
        self, op: Op, old: User, expected_version: int | None, **changes: Any
    ) -> User:
        if expected_version is not None and expected_version != old.version:
            raise Conflict("version_conflict", "员工信息已被他人修改",
                           "the user was changed by someone else")
        new = attrs.evolve(old, version=old.version + 1, updated_at=op.now, **changes)
        if (old.active, old.role_ids) != (new.active, new.role_ids):
            self._check_super_admins(op, new)
        op.uow.users.update(new, expected_version=old.version)
        self._rt.org_changed(op)
        action = {UserStatus.DISABLED: "disable", UserStatus.ACTIVE: "enable"}
        op.log(U, old.id, action[new.status] if old.status != new.status else "update",
               field_changes(old, new))
        return new

    def _check_super_admins(self, op: Op, changed: User) -> None:
        roles = {r.id: r for r in op.uow.roles.list()}
        users = [changed if u.id == changed.id else u for u in op.uow.users.list()]
        check_super_admin_kept(active_super_admins(users, roles))

    # -- hand-over ------------------------------------------------------------------------------
    def register_hand_over(self, record_kind: str, participant: HandOverParticipant) -> None:
        """Join a host's own record kind to :meth:`hand_over` (declared kinds take part
        already)."""
        self._hand_over[record_kind] = participant

    def hand_over(self, actor: ActorRef, from_user_id: str, to_user_id: str) -> HandOverReport:
        """Move every record owned by one user to another active user, in one transaction."""
        with self._rt.operation(actor, Module.ORG, Operation.HAND_OVER) as op:
            source, target = self._user(op, from_user_id), self._user(op, to_user_id)
            if source.id == target.id or not target.active:
                raise RuleViolation(
                    "org.hand_over_target",
                    "只能交接给其他在职员工",
                    "records can only be handed over to another active user",
                )
            moved = {
                kind: participant(op, source.id, target.id)
                for kind, participant in sorted(self._hand_over.items())
            }
            note = ", ".join(f"{kind}={count}" for kind, count in moved.items())
            op.log(U, source.id, "hand_over", note=f"to {target.id}: {note}")
            op.notify(Notification(
                target.id, "org.hand_over", f"{source.name} 的数据已交接给你",
                f"{source.name}'s records were handed over to you", U, source.id,
                {"moved": moved},
            ))
            return HandOverReport(source.id, target.id, moved)

    # -- roles ----------------------------------------------------------------------------------
    def add_role(self, actor: ActorRef, data: NewRole | Mapping[str, Any]) -> Role:
        """Add a role with its operation permissions and data scopes; a scoped module without a
        scope gets 本人."""
        payload = structure(data, NewRole)
        with self._rt.operation(actor, Module.ROLES, Operation.CREATE) as op:
            self._check_role_fields(op, attrs.asdict(payload, recurse=False), None)
            role = Role(
                self._rt.ids.new_id(), payload.name.strip(), payload.permissions,
                scopes_with_defaults(payload.permissions, payload.scopes),
                description=payload.description,
            )
            op.uow.roles.add(role)
            self._rt.org_changed(op)
            op.log(R, role.id, "create", field_changes(None, role))
            return role

    def update_role(self, actor: ActorRef, role_id: str, changes: Mapping[str, Any]) -> Role:
        """Edit a role; the built-in 超级管理员 cannot be edited."""
        patch = structure_patch(changes, RoleChanges)
        with self._rt.operation(actor, Module.ROLES, Operation.EDIT) as op:
            old = self._editable_role(op, role_id)
            self._check_role_fields(op, patch, role_id)
            if "name" in patch:
                patch["name"] = patch["name"].strip()
            new = attrs.evolve(old, version=old.version + 1, **patch)
            new = attrs.evolve(new, scopes=scopes_with_defaults(new.permissions, new.scopes))
            op.uow.roles.update(new, expected_version=old.version)
            self._rt.org_changed(op)
            op.log(R, role_id, "update", field_changes(old, new))
            return new

    def delete_role(self, actor: ActorRef, role_id: str) -> None:
        """Delete a role no user holds; the built-in 超级管理员 never."""
        with self._rt.operation(actor, Module.ROLES, Operation.DELETE) as op:
            old = self._editable_role(op, role_id)
            if op.uow.users.list(role_id=role_id):
                raise RuleViolation(
                    "role.in_use", "该角色仍有员工使用", "the role is still assigned to users"
                )
            op.uow.roles.delete(role_id)
            self._rt.org_changed(op)
            op.log(R, role_id, "delete", field_changes(old, attrs.evolve(old, name="")))

    def get_role(self, actor: ActorRef, role_id: str) -> Role:
        """One role by id, with its permissions and data scopes."""
        with self._rt.operation(actor, Module.ROLES, Operation.VIEW) as op:
            return self._role(op, role_id)

    def list_roles(self, actor: ActorRef) -> list[Role]:
        """Every role, built-in and custom."""
        with self._rt.operation(actor, Module.ROLES, Operation.VIEW) as op:
            return op.uow.roles.list()

    def _role(self, op: Op, role_id: str) -> Role:
        role = op.uow.roles.get(role_id)
        if role is None:
            raise _missing(R, role_id)
        return role

    def _editable_role(self, op: Op, role_id: str) -> Role:
        role = self._role(op, role_id)
        if role.is_super_admin:
            raise RuleViolation(
                "role.builtin_locked",
                "内置超级管理员角色不可修改或删除",
                "the built-in super administrator role cannot be changed",
            )
        return role

    def _check_role_fields(self, op: Op, fields: Mapping[str, Any], role_id: str | None) -> None:
        problems = Problems()
        if "name" in fields:
            problems.text("$.name", fields["name"], required=True, max_length=NAME_MAX)
            taken = next((r for r in op.uow.roles.list()
                          if r.name == fields["name"].strip() and r.id != role_id), None)
            if taken is not None:
                problems.add("$.name", "unique")
        departments = {d.id for d in op.uow.departments.list()}
        for module, scope in fields.get("scopes", {}).items():
            for entry in sorted(scope.departments, key=lambda e: e.department_id):
                if entry.department_id not in departments:
                    problems.add(f"$.scopes.{module.value}.departments", "not_found")
            for user_id in sorted(scope.users):
                if op.uow.users.get(user_id) is None:
                    problems.add(f"$.scopes.{module.value}.users", "not_found")
        problems.raise_if_any()

    # -- scopes and log -------------------------------------------------------------------------
    def visible_scope(self, actor: ActorRef, module: Module) -> RecordScope:
        """Which records of ``module`` the actor may read (union of their roles' scopes)."""
        with self._rt.operation(actor, module, None) as op:
            return self._rt.scope(op, module)

    def operation_log(
        self, actor: ActorRef, record_kind: str, record_id: str, *, limit: int = 100
    ) -> list[OperationLogEntry]:
        """操作记录 of anything logged, newest first, with the ``view`` permission of its module:
        a record (lead, customer …) only when the actor may see it — NotFound otherwise, the
        answer for a missing record; a department, user, role, pool, field, category, stage
        group or approval flow by the module in :data:`LOGGED_SETTINGS`."""
        setting = LOGGED_SETTINGS.get(record_kind) if isinstance(record_kind, str) else None
        module = setting or self._records.module_of(record_kind)
        with self._rt.operation(actor, module, Operation.VIEW) as op:
            if setting is None:
                self._records.visible(op, record_kind, record_id)
            return op.uow.oplog.for_record(record_kind, record_id, limit=limit)
