"""One shared organisation per backend for the permission table's generated tests.

Everyone below holds every operation on every module with data scope SELF, so the only
difference between two of them is the one thing a test varies:

- ``worker`` owns the records and may do everything to them (the allow side);
- ``outsider`` holds the same rights in another department: the records are out of scope;
- ``reader`` is put on a record's team read-only (visible, not editable);
- ``approver`` is the named approver of payment approvals;
- :meth:`World.lacking` builds, once per backend, a user without exactly one permission.

Every test makes its own records, so tests never depend on each other's writes.
"""

from __future__ import annotations

import itertools
from typing import Any

import attrs

from crmkit import CRM
from crmkit.entities import Module, Operation, User
from crmkit.entities.records import Comment
from crmkit.entities.tasks import Tag
from workflow.visits import VISIT, VISIT_KIND

EVERYTHING = {m.value: [o.value for o in Operation] for m in Module}
RECORD_KINDS = ("lead", "customer", "contact", "product", "opportunity", "contract", "payment")
DECLARED = {VISIT: VISIT_KIND}
"""The kinds the world's CRM declares beyond crmkit's own (reached as ``crm.kind(name)``)."""


class World:
    def __init__(self, crm: CRM) -> None:
        self.crm = crm
        self._n = itertools.count(1)
        self.admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
        top = crm.org.list_departments(self.admin)[0]
        self.inside = crm.org.add_department(self.admin, {"name": "内部", "parent_id": top.id})
        self.outside = crm.org.add_department(self.admin, {"name": "外部", "parent_id": top.id})
        self._lacking: dict[tuple[Module, Operation], User] = {}
        role = self._role(EVERYTHING)
        self.worker = self._user(self.inside.id, role)
        self.outsider = self._user(self.outside.id, role)
        self.reader = self._user(self.inside.id, role)
        self.approver = self._user(self.inside.id, role)
        self.helper = self._user(self.inside.id, role)
        self.group = crm.opportunities.add_stage_group(self.admin, {
            "name": "流程", "stages": [{"name": "接洽", "win_rate": "10"},
                                       {"name": "报价", "win_rate": "50"}]})
        self.pool = crm.pool.create_pool(self.admin, {
            "name": "公海", "admin_ids": [self.worker.id],
            "member_department_ids": [self.inside.id]})
        self.other_pool = crm.pool.create_pool(self.admin, {
            "name": "二号公海", "admin_ids": [self.worker.id]})
        crm.approvals.define_flow(self.admin, {
            "kind": "payment", "name": "回款审批", "start": "a",
            "nodes": [{"type": "approver", "id": "a", "source": "members",
                       "member_ids": [self.approver.id]}]})

    # -- people ---------------------------------------------------------------------------------
    def n(self) -> str:
        return f"{next(self._n):05d}"

    def _role(self, permissions: dict[str, list[str]]) -> str:
        return self.crm.org.add_role(self.admin, {
            "name": f"角色{self.n()}", "permissions": permissions,
            "scopes": {m: {"level": "self"} for m in permissions}}).id

    def _user(self, department_id: str, role_id: str) -> User:
        return self.crm.org.add_user(self.admin, {
            "mobile": f"139{self.n():0>8}", "name": f"用户{self.n()}",
            "department_id": department_id, "role_ids": [role_id]})

    def lacking(self, module: Module, operation: Operation) -> User:
        """A user holding everything except ``operation`` on ``module`` (made once)."""
        if (module, operation) not in self._lacking:
            permissions = {m: [o for o in ops if (m, o) != (module.value, operation.value)]
                           for m, ops in EVERYTHING.items()}
            self._lacking[module, operation] = self._user(self.inside.id,
                                                          self._role(permissions))
        return self._lacking[module, operation]

    # -- records --------------------------------------------------------------------------------
    def payload(self, kind: str, owner: User) -> dict[str, Any]:
        """A valid new record of ``kind`` for ``owner`` (parents made for the same owner)."""
        n = self.n()
        if kind in ("lead", "customer"):
            return {"name": f"{kind}{n}"}
        if kind == VISIT:
            return {"name": f"拜访{n}", "code": f"V{n}"}
        if kind == "task":
            return {"title": f"任务{n}", "due_date": "2026-11-03"}
        if kind == "schedule":
            return {"title": f"日程{n}", "starts_at": "2026-11-03T09:00:00+08:00",
                    "ends_at": "2026-11-03T10:00:00+08:00"}
        if kind == "work_log":
            return {"period": "daily", "period_start": "2026-11-02", "done": f"日志{n}"}
        if kind == "product":
            return {"name": f"产品{n}", "code": f"P{n}", "price": "10"}
        if kind == "campaign":
            return {"name": f"活动{n}", "type": "exhibition", "actual_cost": "100"}
        if kind == "contact":
            return {"name": f"联系人{n}", "customer_id": self.record("customer", owner)}
        if kind == "opportunity":
            return {"name": f"商机{n}", "customer_id": self.record("customer", owner),
                    "stage_group_id": self.group.id}
        if kind == "contract":
            return {"name": f"合同{n}", "customer_id": self.record("customer", owner),
                    "amount": "1000"}
        assert kind == "payment"
        return {"contract_id": self.contract(owner), "paid_on": "2026-11-02", "amount": "10"}

    def record(self, kind: str, owner: User) -> str:
        """A fresh record of ``kind`` owned by ``owner``; its id."""
        if kind == "work_log":  # its author is its writer: handed to ``owner`` in storage
            made = self.crm.work_logs.create(self.admin, self.payload(kind, owner))
            with self.crm.storage.transaction() as uow:
                uow.records(kind).update(
                    attrs.evolve(made, owner_id=owner.id, version=made.version + 1),
                    expected_version=made.version)
            return made.id
        return str(self.crm.kind(kind).create(self.admin, {**self.payload(kind, owner),
                                                           "owner_id": owner.id}).id)

    def contract(self, owner: User) -> str:
        """A contract in force (no contract flow: a submitted contract needs no approval)."""
        return str(self.crm.contracts.create(self.admin, {
            **self.payload("contract", owner), "owner_id": owner.id}, submit=True).id)

    def attachment(self, owner: User) -> str:
        customer = self.record("customer", owner)
        return self.crm.attachments.add(self.admin, "customer", customer, "a.txt", b"x",
                                        "text/plain").id

    def comment(self, owner: User) -> str:
        """A comment of ``owner`` on a task of theirs (stored directly: an owner lacking the
        permission could not write it)."""
        task = self.record("task", owner)
        comment = Comment(f"cm{self.n()}", "task", task, owner.id, "评论",
                          self.crm.runtime.clock.now())
        with self.crm.storage.transaction() as uow:
            uow.comments.add(comment)
        return comment.id

    def tag(self, owner: User) -> str:
        """A tag of ``owner``'s (stored directly, as :meth:`comment`)."""
        tag = Tag(f"tag{self.n()}", owner.id, f"标签{self.n()}")
        with self.crm.storage.transaction() as uow:
            uow.tags.add(tag)
        return tag.id

    def plan(self, owner: User) -> str:
        [plan] = self.crm.contracts.add_plans(self.admin, self.record("contract", owner), [
            {"amount": "10", "planned_date": "2026-12-01"}])
        return plan.id

    def pooled(self, owner: User) -> str:
        """A customer in the members' pool (``owner`` released it)."""
        customer = self.record("customer", owner)
        self.crm.pool.release(self.admin, [customer], self.pool.id)
        return customer

    def pending_payment(self, owner: User) -> str:
        """A payment of ``owner`` waiting for the approver."""
        payment = self.record("payment", owner)
        self.crm.payments.submit(owner, payment)
        return payment

    def on_team(self, kind: str, record_id: str, user: User, access: str = "read") -> None:
        """``user`` joins the record's team; a schedule's participants and a work log's
        recipients are its read-only team."""
        if kind in READERS:
            key = READERS[kind]
            service = self.crm.kind(kind)
            held = getattr(service.get(self.admin, record_id), key)
            service.update(self.admin, record_id, {key: [*held, user.id]})
            return
        self.crm.kind(kind).add_team_member(self.admin, record_id, user.id, access)

    def scene(self, owner: User) -> str:
        return self.crm.scenes.save(owner, "customer", {"name": f"场景{self.n()}"}).id

    def category(self, _owner: User) -> str:
        return self.crm.products.add_category(self.admin, {"name": f"类别{self.n()}"}).id

    def department(self, _owner: User) -> str:
        return self.crm.org.add_department(self.admin, {"name": f"部门{self.n()}",
                                                        "parent_id": self.inside.id}).id

    def person(self, _owner: User) -> str:
        role = self.crm.org.list_roles(self.admin)[-1].id
        return self._user(self.inside.id, role).id

    def custom_role(self, _owner: User) -> str:
        return self._role({"customers": ["view"]})

    def field(self, _owner: User) -> str:
        key = f"f{self.n()}"
        self.crm.fields.define(self.admin, "lead", {"key": key, "label_zh": key,
                                                    "label_en": key, "type": "text"})
        return key


READERS = {"schedule": "participant_ids", "work_log": "copied_user_ids"}
"""Kinds whose read-only team is a list on the record: the key that lists them."""

SERVICE = {"lead": "leads", "customer": "customers", "contact": "contacts",
           "product": "products", "opportunity": "opportunities", "contract": "contracts",
           "payment": "payments", "task": "tasks", "schedule": "schedules",
           "work_log": "work_logs", "campaign": "campaigns"}
