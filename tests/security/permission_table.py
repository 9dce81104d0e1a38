"""The permission table: for every public facade method (``crm.<namespace>.<method>`` whose
first parameter is ``actor``), the operation permission and the record access it requires.

How to read one entry — ``"customers.update": rule(CUSTOMERS, EDIT, EDITABLE, …)``: the call
needs the ``edit`` permission on the ``customers`` module (else PermissionDenied naming both),
and edit rights on the record (else, when the record is out of the actor's scope, NotFound
exactly as for a missing id; when it is visible but read-only, PermissionDenied
``record.read_only``). ``module``/``operation`` None: no permission is needed (the actor's own
settings, lists of their own approvals). Access NONE: no record is addressed (create, lists,
configuration). Access VISIBLE: the actor must see the record (for approvals: see it, or be its
submitter or an approver).

Each entry also says how to call the method (``call(world, actor, target_id)``) and how to make
the record it addresses (``target(world, owner)``); tests/security/test_permission_table.py
generates the allow and deny tests from it. Importable data: other tests (e.g. a fuzz test over
every facade method) may reuse :data:`TABLE` and :func:`facade_methods`.
"""

from __future__ import annotations

import enum
import inspect
import io
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import attrs

from crmkit.entities import Module, Operation
from crmkit.entities.kinds import RECORD_KINDS, RecordKind
from crmkit.entities.records import RecordRef
from crmkit.workflow.record_ownership import answers

from .world import DECLARED, SERVICE, World

M, Op = Module, Operation


class Access(enum.Enum):
    NONE = "none"
    VISIBLE = "visible"
    EDITABLE = "editable"


NONE, VISIBLE, EDITABLE = Access.NONE, Access.VISIBLE, Access.EDITABLE
Call = Callable[[World, Any, Any], object]
Target = Callable[[World, Any], str]


@attrs.frozen
class Rule:
    module: Module | None
    operation: Operation | None
    access: Access
    call: Call
    target: Target | None = None
    """Makes the addressed record for an owner; its id is the call's ``target_id``."""
    kind: str | None = None
    """The record kind whose team a read-only member joins (EDITABLE rules on records)."""
    actor: str = "worker"
    """Who acts on the allow side: ``worker`` (the owner) or ``approver``."""


def rule(module: Module | None, operation: Operation | None, access: Access, call: Call,
         target: Target | None = None, *, kind: str | None = None, actor: str = "worker"
         ) -> Rule:
    return Rule(module, operation, access, call, target, kind, actor)


KIND_MODULE = {"lead": M.LEADS, "customer": M.CUSTOMERS, "contact": M.CONTACTS,
               "product": M.PRODUCTS, "opportunity": M.OPPORTUNITIES, "contract": M.CONTRACTS,
               "payment": M.PAYMENTS, "task": M.TASKS, "visit": M.TASKS,
               "schedule": M.TASKS, "work_log": M.TASKS, "campaign": M.CAMPAIGNS}

def _declared(kind: str) -> RecordKind[Any]:
    return RECORD_KINDS.get(kind) or DECLARED[kind]


def namespace(kind: str) -> str:
    """Where a kind's service is reached: ``leads`` …, or ``kind("visit")`` for a kind the
    host declared (``crm.kind("visit")``)."""
    return SERVICE.get(kind) or f'kind("{kind}")'


def _record(kind: str) -> Target:
    return lambda w, owner: w.record(kind, owner)


def _with_member(kind: str) -> Target:
    def make(w: World, owner: Any) -> str:
        record_id = w.record(kind, owner)
        w.on_team(kind, record_id, w.helper)
        return record_id
    return make


def _locked(w: World, owner: Any) -> str:
    customer = w.record("customer", owner)
    w.crm.customers.lock(w.admin, [customer])
    return customer


def _repeating(w: World, owner: Any) -> str:
    """A daily schedule of ``owner`` from 3 November."""
    return str(w.crm.schedules.create(w.admin, {
        **w.payload("schedule", owner), "owner_id": owner.id,
        "repeat": {"frequency": "daily", "count": 5}}).id)


def _ended(w: World, owner: Any) -> str:
    deal = w.record("opportunity", owner)
    w.crm.opportunities.lose(w.admin, deal, "预算")
    return deal


def _kind_parts(kind: str) -> tuple[str, Module, Callable[[World], Any], Target]:
    """Namespace, module, service getter and record maker of one record kind."""
    return namespace(kind), KIND_MODULE[kind], lambda w: w.crm.kind(kind), _record(kind)


def _record_rules(kind: str) -> dict[str, Rule]:
    """The shared record engine's methods for one kind."""
    ns, module, svc, record = _kind_parts(kind)
    rules = {
        f"{ns}.create": rule(module, Op.CREATE, NONE,
                             lambda w, a, t: svc(w).create(a, w.payload(kind, a))),
        f"{ns}.get": rule(module, Op.VIEW, VISIBLE, lambda w, a, t: svc(w).get(a, t), record),
        f"{ns}.update": rule(module, Op.EDIT, EDITABLE, lambda w, a, t: svc(w).update(a, t, {}),
                             record, kind=kind),
        f"{ns}.delete": rule(module, Op.DELETE, EDITABLE, lambda w, a, t: svc(w).delete(a, t),
                             record, kind=kind),
        f"{ns}.list": rule(module, Op.VIEW, NONE, lambda w, a, t: svc(w).list(a)),
        f"{ns}.transfer": rule(module, Op.TRANSFER, EDITABLE,
                               lambda w, a, t: svc(w).transfer(a, [t], w.helper.id),
                               record, kind=kind),
        f"{ns}.team": rule(module, Op.VIEW, VISIBLE, lambda w, a, t: svc(w).team(a, t), record),
        f"{ns}.add_team_member": rule(
            module, Op.EDIT, EDITABLE,
            lambda w, a, t: svc(w).add_team_member(a, t, w.helper.id), record, kind=kind),
        f"{ns}.remove_team_member": rule(
            module, Op.EDIT, EDITABLE,
            lambda w, a, t: svc(w).remove_team_member(a, t, w.helper.id), _with_member(kind),
            kind=kind),
        f"{ns}.operation_log": rule(module, Op.VIEW, VISIBLE,
                                    lambda w, a, t: svc(w).operation_log(a, t), record),
        f"{ns}.related_to": rule(module, Op.VIEW, NONE, lambda w, a, t: svc(w).related_to(
            a, [RecordRef("customer", w.record("customer", a))])),
    }
    return {name: r for name, r in rules.items()
            if answers(_declared(kind), name.rsplit(".", 1)[1])}


def _approved_rules(kind: str) -> dict[str, Rule]:
    """Contracts and payments: numbers, submit, route, approval, void."""
    ns, module, svc, record = _kind_parts(kind)
    return {
        f"{ns}.number_rule": rule(module, Op.VIEW, NONE, lambda w, a, t: svc(w).number_rule(a)),
        f"{ns}.set_number_rule": rule(
            module, Op.APPROVE_CONFIG, NONE,
            lambda w, a, t: svc(w).set_number_rule(a, {"prefix": kind[:2].upper()})),
        f"{ns}.submit": rule(module, Op.EDIT, EDITABLE, lambda w, a, t: svc(w).submit(a, t),
                             record, kind=kind),
        f"{ns}.route": rule(module, Op.EDIT, EDITABLE, lambda w, a, t: svc(w).route(a, t),
                            record, kind=kind),
        f"{ns}.approval": rule(module, None, VISIBLE, lambda w, a, t: svc(w).approval(a, t),
                               record),
        f"{ns}.void": rule(module, Op.DELETE, EDITABLE, lambda w, a, t: svc(w).void(a, t),
                           record, kind=kind),
    }


_CUSTOMER, _CONTRACT = _record("customer"), _record("contract")
_OPPORTUNITY, _PRODUCT = _record("opportunity"), _record("product")
_NOTE = {"method": "打电话", "content": "聊过了"}
_FLOW: dict[str, Any] = {"kind": "payment", "name": "回款审批", "start": "a",
         "nodes": [{"type": "approver", "id": "a", "source": "members",
                    "member_ids": []}]}


def _flow(w: World) -> dict[str, Any]:
    node = {**_FLOW["nodes"][0], "member_ids": [w.approver.id]}
    return {**_FLOW, "nodes": [node]}


def _stage(w: World, index: int = 1) -> str:
    return str(w.group.stages[index].id)


TABLE: dict[str, Rule] = {
    **{name: r for kind in (*SERVICE, *DECLARED) for name, r in _record_rules(kind).items()},
    **_approved_rules("contract"),
    **_approved_rules("payment"),
    # -- org ------------------------------------------------------------------------------------
    "org.add_department": rule(M.ORG, Op.CREATE, NONE, lambda w, a, t: w.crm.org.add_department(
        a, {"name": f"部门{w.n()}", "parent_id": w.inside.id})),
    "org.rename_department": rule(M.ORG, Op.EDIT, NONE, lambda w, a, t: w.crm.org.rename_department(
        a, w.department(a), f"改名{w.n()}")),
    "org.move_department": rule(M.ORG, Op.EDIT, NONE, lambda w, a, t: w.crm.org.move_department(
        a, w.department(a), w.outside.id)),
    "org.delete_department": rule(M.ORG, Op.DELETE, NONE,
                                  lambda w, a, t: w.crm.org.delete_department(a, w.department(a))),
    "org.get_department": rule(M.ORG, Op.VIEW, NONE,
                               lambda w, a, t: w.crm.org.get_department(a, w.inside.id)),
    "org.list_departments": rule(M.ORG, Op.VIEW, NONE,
                                 lambda w, a, t: w.crm.org.list_departments(a)),
    "org.add_user": rule(M.ORG, Op.CREATE, NONE, lambda w, a, t: w.crm.org.add_user(a, {
        "mobile": f"137{w.n():0>8}", "name": f"新人{w.n()}", "department_id": w.inside.id})),
    "org.update_user": rule(M.ORG, Op.EDIT, NONE, lambda w, a, t: w.crm.org.update_user(
        a, w.person(a), {"position": "销售"})),
    "org.disable_user": rule(M.ORG, Op.EDIT, NONE,
                             lambda w, a, t: w.crm.org.disable_user(a, w.person(a))),
    "org.enable_user": rule(M.ORG, Op.EDIT, NONE,
                            lambda w, a, t: w.crm.org.enable_user(a, w.person(a))),
    "org.get_user": rule(M.ORG, Op.VIEW, NONE, lambda w, a, t: w.crm.org.get_user(a, w.helper.id)),
    "org.list_users": rule(M.ORG, Op.VIEW, NONE, lambda w, a, t: w.crm.org.list_users(a)),
    "org.set_password": rule(M.ORG, Op.EDIT, NONE, lambda w, a, t: w.crm.org.set_password(
        a, w.person(a), "a-long-password")),
    "org.hand_over": rule(M.ORG, Op.HAND_OVER, NONE, lambda w, a, t: w.crm.org.hand_over(
        a, w.person(a), w.helper.id)),
    "org.add_role": rule(M.ROLES, Op.CREATE, NONE,
                         lambda w, a, t: w.crm.org.add_role(a, {"name": f"角色{w.n()}"})),
    "org.update_role": rule(M.ROLES, Op.EDIT, NONE, lambda w, a, t: w.crm.org.update_role(
        a, w.custom_role(a), {"description": "改"})),
    "org.delete_role": rule(M.ROLES, Op.DELETE, NONE,
                            lambda w, a, t: w.crm.org.delete_role(a, w.custom_role(a))),
    "org.get_role": rule(M.ROLES, Op.VIEW, NONE,
                         lambda w, a, t: w.crm.org.get_role(a, w.custom_role(a))),
    "org.list_roles": rule(M.ROLES, Op.VIEW, NONE, lambda w, a, t: w.crm.org.list_roles(a)),
    "org.visible_scope": rule(None, None, NONE,
                              lambda w, a, t: w.crm.org.visible_scope(a, M.CUSTOMERS)),
    "org.operation_log": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                              lambda w, a, t: w.crm.org.operation_log(a, "customer", t),
                              _CUSTOMER),
    # -- fields ---------------------------------------------------------------------------------
    "fields.define": rule(M.FIELDS, Op.CREATE, NONE, lambda w, a, t: w.crm.fields.define(
        a, "lead", {"key": f"k{w.n()}", "label_zh": "字段", "label_en": "Field",
                    "type": "text"})),
    "fields.list": rule(None, None, NONE, lambda w, a, t: w.crm.fields.list(a, "lead")),
    "fields.unavailable": rule(None, None, NONE, lambda w, a, t: w.crm.fields.unavailable(a)),
    "fields.update": rule(M.FIELDS, Op.EDIT, NONE, lambda w, a, t: w.crm.fields.update(
        a, "lead", w.field(a), {"label_en": "Renamed"})),
    "fields.reorder": rule(M.FIELDS, Op.EDIT, NONE,
                           lambda w, a, t: w.crm.fields.reorder(a, "lead", ["name"])),
    "fields.retire": rule(M.FIELDS, Op.EDIT, NONE,
                          lambda w, a, t: w.crm.fields.retire(a, "lead", w.field(a))),
    "fields.restore": rule(M.FIELDS, Op.EDIT, NONE, lambda w, a, t: w.crm.fields.restore(
        a, "lead", _retired(w))),
    # -- customers, leads, contacts, products, opportunities, contracts: their own rules -------
    "customers.transfer": rule(M.CUSTOMERS, Op.TRANSFER, EDITABLE,
                               lambda w, a, t: w.crm.customers.transfer(
                                   a, [t], w.helper.id,
                                   move_related=["contact", "opportunity", "contract"]),
                               _CUSTOMER, kind="customer"),
    "customers.detail": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                             lambda w, a, t: w.crm.customers.detail(a, t), _CUSTOMER),
    "customers.lock": rule(M.CUSTOMERS, Op.LOCK, EDITABLE,
                           lambda w, a, t: w.crm.customers.lock(a, [t]), _CUSTOMER,
                           kind="customer"),
    "customers.unlock": rule(M.CUSTOMERS, Op.LOCK, EDITABLE,
                             lambda w, a, t: w.crm.customers.unlock(a, [t]), _locked,
                             kind="customer"),
    "customers.set_deal_status": rule(
        M.CUSTOMERS, Op.EDIT, EDITABLE,
        lambda w, a, t: w.crm.customers.set_deal_status(a, t, "已成交"), _CUSTOMER,
        kind="customer"),
    "customers.limits": rule(None, None, NONE, lambda w, a, t: w.crm.customers.limits(a)),
    "customers.set_limits": rule(M.ORG, Op.EDIT, NONE,
                                 lambda w, a, t: w.crm.customers.set_limits(a, [])),
    "leads.convert": rule(M.LEADS, Op.CONVERT, EDITABLE,
                          lambda w, a, t: w.crm.leads.convert(a, [t], opportunities={
                              t: {"stage_group_id": w.group.id, "amount": "100"}}),
                          _record("lead"), kind="lead"),
    "leads.conversion_mapping": rule(None, None, NONE,
                                     lambda w, a, t: w.crm.leads.conversion_mapping(a)),
    "leads.set_conversion_mapping": rule(
        M.FIELDS, Op.EDIT, NONE, lambda w, a, t: w.crm.leads.set_conversion_mapping(a, {})),
    "contacts.detail": rule(M.CONTACTS, Op.VIEW, VISIBLE,
                            lambda w, a, t: w.crm.contacts.detail(a, t), _record("contact")),
    "products.price_history": rule(M.PRODUCTS, Op.VIEW, VISIBLE,
                                   lambda w, a, t: w.crm.products.price_history(a, t), _PRODUCT),
    "products.put_on_shelf": rule(M.PRODUCTS, Op.EDIT, EDITABLE,
                                  lambda w, a, t: w.crm.products.put_on_shelf(a, [t]), _PRODUCT,
                                  kind="product"),
    "products.take_off_shelf": rule(M.PRODUCTS, Op.EDIT, EDITABLE,
                                    lambda w, a, t: w.crm.products.take_off_shelf(a, [t]),
                                    _PRODUCT, kind="product"),
    "schedules.calendar": rule(M.TASKS, Op.VIEW, NONE, lambda w, a, t: w.crm.schedules.calendar(
        a, w.crm.runtime.clock.now(), w.crm.runtime.clock.now() + timedelta(days=7))),
    "schedules.skip": rule(M.TASKS, Op.EDIT, EDITABLE,
                           lambda w, a, t: w.crm.schedules.skip(a, t, date(2026, 11, 4)),
                           _repeating, kind="schedule"),
    "campaigns.evaluate": rule(M.CAMPAIGNS, Op.VIEW, VISIBLE,
                               lambda w, a, t: w.crm.campaigns.evaluate(a, t),
                               _record("campaign")),
    "campaigns.report": rule(M.CAMPAIGNS, Op.VIEW, NONE,
                             lambda w, a, t: w.crm.campaigns.report(a, period="this_month")),
    "work_logs.mark_read": rule(M.TASKS, Op.VIEW, VISIBLE,
                                lambda w, a, t: w.crm.work_logs.mark_read(a, t),
                                _record("work_log")),
    "work_logs.unread": rule(M.TASKS, Op.VIEW, NONE, lambda w, a, t: w.crm.work_logs.unread(a)),
    "work_logs.unread_count": rule(M.TASKS, Op.VIEW, NONE,
                                   lambda w, a, t: w.crm.work_logs.unread_count(a)),
    "tasks.complete": rule(M.TASKS, Op.EDIT, EDITABLE,
                           lambda w, a, t: w.crm.tasks.complete(a, t), _record("task"),
                           kind="task"),
    "tasks.reopen": rule(M.TASKS, Op.EDIT, EDITABLE, lambda w, a, t: w.crm.tasks.reopen(a, t),
                         _record("task"), kind="task"),
    "workbench.workbench": rule(M.TASKS, Op.VIEW, NONE,
                                lambda w, a, t: w.crm.workbench.workbench(a, {"done": False})),
    "workbench.move": rule(M.TASKS, Op.VIEW, VISIBLE,
                           lambda w, a, t: w.crm.workbench.move(a, t, "today"), _record("task")),
    "workbench.tags": rule(M.TASKS, Op.VIEW, NONE, lambda w, a, t: w.crm.workbench.tags(a)),
    "workbench.add_tag": rule(M.TASKS, Op.VIEW, NONE,
                              lambda w, a, t: w.crm.workbench.add_tag(a, f"标签{w.n()}")),
    "workbench.update_tag": rule(
        M.TASKS, Op.VIEW, VISIBLE,
        lambda w, a, t: w.crm.workbench.update_tag(a, t, {"colour": "#000000"}),
        lambda w, owner: w.tag(owner)),
    "workbench.delete_tag": rule(M.TASKS, Op.VIEW, VISIBLE,
                                 lambda w, a, t: w.crm.workbench.delete_tag(a, t),
                                 lambda w, owner: w.tag(owner)),
    # -- dashboard (仪表盘): the viewer's own figures; a subject beyond scope is refused -----
    "dashboard.brief": rule(M.DASHBOARD, Op.VIEW, NONE,
                            lambda w, a, t: w.crm.dashboard.brief(a)),
    "dashboard.brief_ids": rule(M.DASHBOARD, Op.VIEW, NONE,
                                lambda w, a, t: w.crm.dashboard.brief_ids(a, "new_customers")),
    "dashboard.set_target": rule(M.DASHBOARD, Op.EDIT, NONE,
                                 lambda w, a, t: w.crm.dashboard.set_target(a, {
                                     "year": 2026, "measure": "contract_amount",
                                     "user_id": a.id, "months": ["100"] * 12})),
    "dashboard.targets": rule(M.DASHBOARD, Op.VIEW, NONE,
                              lambda w, a, t: w.crm.dashboard.targets(a, 2026)),
    "dashboard.performance": rule(
        M.DASHBOARD, Op.VIEW, NONE,
        lambda w, a, t: w.crm.dashboard.performance(a, "payment_amount")),
    "dashboard.funnel": rule(M.DASHBOARD, Op.VIEW, NONE,
                             lambda w, a, t: w.crm.dashboard.funnel(a, w.group.id)),
    "dashboard.trend": rule(M.DASHBOARD, Op.VIEW, NONE,
                            lambda w, a, t: w.crm.dashboard.trend(a)),
    "dashboard.forgotten": rule(M.DASHBOARD, Op.VIEW, NONE,
                                lambda w, a, t: w.crm.dashboard.forgotten(a)),
    "dashboard.forgotten_ids": rule(M.DASHBOARD, Op.VIEW, NONE,
                                    lambda w, a, t: w.crm.dashboard.forgotten_ids(a, 7)),
    "dashboard.due_today": rule(M.DASHBOARD, Op.VIEW, NONE,
                                lambda w, a, t: w.crm.dashboard.due_today(a)),
    "dashboard.ranking": rule(M.DASHBOARD, Op.VIEW, NONE,
                              lambda w, a, t: w.crm.dashboard.ranking(a, "followups")),
    # -- reports (统计分析): the dashboard's subjects and periods; export needs export ---------
    "reports.employees": rule(M.DASHBOARD, Op.VIEW, NONE,
                              lambda w, a, t: w.crm.reports.employees(a)),
    "reports.products": rule(M.DASHBOARD, Op.VIEW, NONE,
                             lambda w, a, t: w.crm.reports.products(a, by="category")),
    "reports.payments": rule(M.DASHBOARD, Op.VIEW, NONE,
                             lambda w, a, t: w.crm.reports.payments(a)),
    "reports.customers": rule(M.DASHBOARD, Op.VIEW, NONE,
                              lambda w, a, t: w.crm.reports.customers(a, "region")),
    "reports.ranking": rule(M.DASHBOARD, Op.VIEW, NONE,
                            lambda w, a, t: w.crm.reports.ranking(a, "payment_amount")),
    "reports.export": rule(M.DASHBOARD, Op.EXPORT, NONE, lambda w, a, t: w.crm.reports.export(
        a, w.crm.reports.payments(w.admin), io.BytesIO())),
    "products.add_category": rule(M.PRODUCTS, Op.EDIT, NONE, lambda w, a, t: (
        w.crm.products.add_category(a, {"name": f"类别{w.n()}"}))),
    "products.rename_category": rule(M.PRODUCTS, Op.EDIT, NONE, lambda w, a, t: (
        w.crm.products.rename_category(a, w.category(a), f"改名{w.n()}"))),
    "products.move_category": rule(M.PRODUCTS, Op.EDIT, NONE, lambda w, a, t: (
        w.crm.products.move_category(a, w.category(a), None))),
    "products.delete_category": rule(M.PRODUCTS, Op.EDIT, NONE, lambda w, a, t: (
        w.crm.products.delete_category(a, w.category(a)))),
    "products.list_categories": rule(M.PRODUCTS, Op.VIEW, NONE,
                                     lambda w, a, t: w.crm.products.list_categories(a)),
    "opportunities.add_stage_group": rule(
        M.OPPORTUNITIES, Op.APPROVE_CONFIG, NONE,
        lambda w, a, t: w.crm.opportunities.add_stage_group(a, {
            "name": f"流程{w.n()}", "stages": [{"name": "一", "win_rate": "10"}]})),
    "opportunities.update_stage_group": rule(
        M.OPPORTUNITIES, Op.APPROVE_CONFIG, NONE,
        lambda w, a, t: w.crm.opportunities.update_stage_group(a, w.group.id, {})),
    "opportunities.disable_stage_group": rule(
        M.OPPORTUNITIES, Op.APPROVE_CONFIG, NONE,
        lambda w, a, t: w.crm.opportunities.disable_stage_group(a, _spare_group(w))),
    "opportunities.enable_stage_group": rule(
        M.OPPORTUNITIES, Op.APPROVE_CONFIG, NONE,
        lambda w, a, t: w.crm.opportunities.enable_stage_group(a, _spare_group(w))),
    "opportunities.get_stage_group": rule(
        M.OPPORTUNITIES, Op.VIEW, NONE,
        lambda w, a, t: w.crm.opportunities.get_stage_group(a, w.group.id)),
    "opportunities.list_stage_groups": rule(
        M.OPPORTUNITIES, Op.VIEW, NONE, lambda w, a, t: w.crm.opportunities.list_stage_groups(a)),
    "opportunities.advance": rule(
        M.OPPORTUNITIES, Op.EDIT, EDITABLE,
        lambda w, a, t: w.crm.opportunities.advance(a, t, _stage(w)), _OPPORTUNITY,
        kind="opportunity"),
    "opportunities.win": rule(M.OPPORTUNITIES, Op.EDIT, EDITABLE,
                              lambda w, a, t: w.crm.opportunities.win(a, t), _OPPORTUNITY,
                              kind="opportunity"),
    "opportunities.lose": rule(M.OPPORTUNITIES, Op.EDIT, EDITABLE,
                               lambda w, a, t: w.crm.opportunities.lose(a, t, "预算"),
                               _OPPORTUNITY, kind="opportunity"),
    "opportunities.invalidate": rule(M.OPPORTUNITIES, Op.EDIT, EDITABLE,
                                     lambda w, a, t: w.crm.opportunities.invalidate(a, t),
                                     _OPPORTUNITY, kind="opportunity"),
    "opportunities.reopen": rule(M.OPPORTUNITIES, Op.EDIT, EDITABLE,
                                 lambda w, a, t: w.crm.opportunities.reopen(a, t), _ended,
                                 kind="opportunity"),
    "opportunities.stage_history": rule(M.OPPORTUNITIES, Op.VIEW, VISIBLE,
                                        lambda w, a, t: w.crm.opportunities.stage_history(a, t),
                                        _OPPORTUNITY),
    "opportunities.win_rate": rule(M.OPPORTUNITIES, Op.VIEW, VISIBLE,
                                   lambda w, a, t: w.crm.opportunities.win_rate(a, t),
                                   _OPPORTUNITY),
    "opportunities.weighted_amount": rule(
        M.OPPORTUNITIES, Op.VIEW, VISIBLE,
        lambda w, a, t: w.crm.opportunities.weighted_amount(a, t), _OPPORTUNITY),
    "contracts.add_plans": rule(M.CONTRACTS, Op.EDIT, EDITABLE, lambda w, a, t: (
        w.crm.contracts.add_plans(a, t, [{"amount": "10", "planned_date": "2026-12-01"}])),
        _CONTRACT, kind="contract"),
    "contracts.void_plan": rule(M.CONTRACTS, Op.EDIT, EDITABLE,
                                lambda w, a, t: w.crm.contracts.void_plan(a, t),
                                lambda w, owner: w.plan(owner)),
    "contracts.plans": rule(M.CONTRACTS, Op.VIEW, VISIBLE,
                            lambda w, a, t: w.crm.contracts.plans(a, t), _CONTRACT),
    "contracts.due_plans": rule(M.CONTRACTS, Op.VIEW, NONE,
                                lambda w, a, t: w.crm.contracts.due_plans(a)),
    "contracts.expiring": rule(M.CONTRACTS, Op.VIEW, NONE,
                               lambda w, a, t: w.crm.contracts.expiring(a)),
    # -- pool -----------------------------------------------------------------------------------
    "pool.create_pool": rule(M.POOL, Op.EDIT, NONE, lambda w, a, t: w.crm.pool.create_pool(
        a, {"name": f"公海{w.n()}"})),
    "pool.update_pool": rule(M.POOL, Op.EDIT, NONE, lambda w, a, t: w.crm.pool.update_pool(
        a, w.other_pool.id, {"warn_days": 0})),
    "pool.delete_pool": rule(M.POOL, Op.EDIT, NONE, lambda w, a, t: w.crm.pool.delete_pool(
        a, w.crm.pool.create_pool(w.admin, {"name": f"公海{w.n()}"}).id)),
    "pool.list_pools": rule(M.POOL, Op.VIEW, NONE, lambda w, a, t: w.crm.pool.list_pools(a)),
    # a pool the actor is no member (nor admin) of answers as a missing pool
    "pool.customers": rule(M.POOL, Op.VIEW, VISIBLE, lambda w, a, t: w.crm.pool.customers(a, t),
                           lambda w, owner: w.pool.id),
    "pool.claim": rule(M.POOL, Op.CLAIM, VISIBLE, lambda w, a, t: w.crm.pool.claim(a, [t]),
                       lambda w, owner: w.pooled(owner)),
    "pool.assign": rule(M.POOL, Op.ASSIGN, VISIBLE,
                        lambda w, a, t: w.crm.pool.assign(a, [t], w.helper.id),
                        lambda w, owner: w.pooled(owner)),
    "pool.move": rule(M.POOL, Op.ASSIGN, VISIBLE,
                      lambda w, a, t: w.crm.pool.move(a, [t], w.other_pool.id),
                      lambda w, owner: w.pooled(owner)),
    "pool.release": rule(M.CUSTOMERS, Op.PUT_INTO_POOL, EDITABLE,
                         lambda w, a, t: w.crm.pool.release(a, [t], w.pool.id), _CUSTOMER,
                         kind="customer"),
    "pool.days_until_pool": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                                 lambda w, a, t: w.crm.pool.days_until_pool(a, [t]), _CUSTOMER),
    "pool.sweep": rule(M.POOL, Op.EDIT, NONE,
                       lambda w, a, t: w.crm.pool.sweep(a, dry_run=True)),
    "pool.warn": rule(M.POOL, Op.EDIT, NONE, lambda w, a, t: w.crm.pool.warn(a)),
    # -- reminders, to-do, notifications, timeline ----------------------------------------------
    # the scan is background work: the SystemActor, or a user holding org edit (by hand)
    "reminders.scan": rule(M.ORG, Op.EDIT, NONE, lambda w, a, t: w.crm.reminders.scan(a)),
    "reminders.todo": rule(None, None, NONE, lambda w, a, t: w.crm.reminders.todo(a)),
    "notifications.list": rule(None, None, NONE, lambda w, a, t: w.crm.notifications.list(a)),
    "notifications.unread_count": rule(None, None, NONE,
                                       lambda w, a, t: w.crm.notifications.unread_count(a)),
    "notifications.mark_read": rule(None, None, NONE,
                                    lambda w, a, t: w.crm.notifications.mark_read(a)),
    "timeline.of": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                        lambda w, a, t: w.crm.timeline.of(a, "customer", t), _CUSTOMER),
    # -- follow-ups, attachments, duplicates, scenes --------------------------------------------
    "followups.add": rule(M.FOLLOWUPS, Op.CREATE, VISIBLE,
                          lambda w, a, t: w.crm.followups.add(a, "customer", t, _NOTE),
                          _CUSTOMER),
    "followups.list": rule(M.FOLLOWUPS, Op.VIEW, VISIBLE,
                           lambda w, a, t: w.crm.followups.list(a, "customer", t), _CUSTOMER),
    "followups.timeline": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                               lambda w, a, t: w.crm.followups.timeline(a, "customer", t),
                               _CUSTOMER),
    "followups.methods": rule(None, None, NONE, lambda w, a, t: w.crm.followups.methods(a)),
    "followups.set_methods": rule(M.FIELDS, Op.EDIT, NONE, lambda w, a, t: (
        w.crm.followups.set_methods(a, ["打电话", "见面拜访"]))),
    "followups.schedules": rule(None, None, NONE, lambda w, a, t: w.crm.followups.schedules(
        a, w.crm.runtime.clock.now(), w.crm.runtime.clock.now())),
    "attachments.add": rule(M.CUSTOMERS, Op.EDIT, EDITABLE, lambda w, a, t: (
        w.crm.attachments.add(a, "customer", t, "b.txt", b"y", "text/plain")), _CUSTOMER,
        kind="customer"),
    "attachments.list": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                             lambda w, a, t: w.crm.attachments.list(a, "customer", t),
                             _CUSTOMER),
    "attachments.download": rule(M.CUSTOMERS, Op.VIEW, VISIBLE,
                                 lambda w, a, t: w.crm.attachments.download(a, t),
                                 lambda w, owner: w.attachment(owner)),
    "attachments.remove": rule(M.CUSTOMERS, Op.EDIT, EDITABLE,
                               lambda w, a, t: w.crm.attachments.remove(a, t),
                               lambda w, owner: w.attachment(owner)),
    "comments.add": rule(M.TASKS, Op.VIEW, VISIBLE,
                         lambda w, a, t: w.crm.comments.add(a, "task", t, "看一下"),
                         _record("task")),
    "comments.list": rule(M.TASKS, Op.VIEW, VISIBLE,
                          lambda w, a, t: w.crm.comments.list(a, "task", t), _record("task")),
    "comments.delete": rule(M.TASKS, Op.VIEW, VISIBLE,
                            lambda w, a, t: w.crm.comments.delete(a, t),
                            lambda w, owner: w.comment(owner)),
    "attachments.limits": rule(None, None, NONE, lambda w, a, t: w.crm.attachments.limits(a)),
    "attachments.set_limits": rule(M.FIELDS, Op.EDIT, NONE, lambda w, a, t: (
        w.crm.attachments.set_limits(a, 1024 * 1024, ["text/plain"]))),
    "duplicates.lookup": rule(None, None, NONE,
                              lambda w, a, t: w.crm.duplicates.lookup(a, name="无此名")),
    "scenes.list": rule(None, None, NONE, lambda w, a, t: w.crm.scenes.list(a, "customer")),
    "scenes.save": rule(None, None, NONE, lambda w, a, t: w.crm.scenes.save(
        a, "customer", {"name": f"场景{w.n()}"})),
    "scenes.update": rule(None, None, VISIBLE,
                          lambda w, a, t: w.crm.scenes.update(a, t, {"name": f"改{w.n()}"}),
                          lambda w, owner: w.scene(owner)),
    "scenes.delete": rule(None, None, VISIBLE, lambda w, a, t: w.crm.scenes.delete(a, t),
                          lambda w, owner: w.scene(owner)),
    "scenes.columns": rule(None, None, NONE, lambda w, a, t: w.crm.scenes.columns(a, "customer")),
    "scenes.set_columns": rule(None, None, NONE, lambda w, a, t: (
        w.crm.scenes.set_columns(a, "customer", ["name"]))),
    # -- approvals ------------------------------------------------------------------------------
    "approvals.define_flow": rule(M.APPROVALS, Op.APPROVE_CONFIG, NONE,
                                  lambda w, a, t: w.crm.approvals.define_flow(a, _flow(w))),
    "approvals.set_flow_enabled": rule(
        M.APPROVALS, Op.APPROVE_CONFIG, NONE,
        lambda w, a, t: w.crm.approvals.set_flow_enabled(a, "payment", True)),
    "approvals.flow": rule(None, None, NONE, lambda w, a, t: w.crm.approvals.flow(a, "payment")),
    "approvals.flows": rule(None, None, NONE, lambda w, a, t: w.crm.approvals.flows(a)),
    "approvals.waiting": rule(None, None, NONE, lambda w, a, t: w.crm.approvals.waiting(a)),
    "approvals.submitted": rule(None, None, NONE, lambda w, a, t: w.crm.approvals.submitted(a)),
    "approvals.submit": rule(M.PAYMENTS, Op.EDIT, EDITABLE,
                             lambda w, a, t: w.crm.approvals.submit(a, "payment", t),
                             _record("payment"), kind="payment"),
    "approvals.route": rule(M.PAYMENTS, Op.EDIT, EDITABLE,
                            lambda w, a, t: w.crm.approvals.route(a, "payment", t),
                            _record("payment"), kind="payment"),
    "approvals.instance": rule(None, None, VISIBLE,
                               lambda w, a, t: w.crm.approvals.instance(a, "payment", t),
                               lambda w, owner: w.pending_payment(owner)),
    "approvals.record": rule(None, None, VISIBLE,
                             lambda w, a, t: w.crm.approvals.record(a, "payment", t),
                             lambda w, owner: w.pending_payment(owner)),
    "approvals.approve": rule(None, None, VISIBLE,
                              lambda w, a, t: w.crm.approvals.approve(a, "payment", t),
                              lambda w, owner: w.pending_payment(owner), actor="approver"),
    "approvals.reject": rule(None, None, VISIBLE,
                             lambda w, a, t: w.crm.approvals.reject(a, "payment", t, "不行"),
                             lambda w, owner: w.pending_payment(owner), actor="approver"),
    "approvals.withdraw": rule(None, None, VISIBLE,
                               lambda w, a, t: w.crm.approvals.withdraw(a, "payment", t),
                               lambda w, owner: w.pending_payment(owner)),
    # the approver hands their turn on, or a holder of approvals approve_config, on any record
    # (an approval admin must reach approvals stuck with a departed approver): no scope.
    "approvals.transfer": rule(None, None, NONE, lambda w, a, t: w.crm.approvals.transfer(
        a, "payment", t, w.approver.id, w.helper.id), lambda w, owner: w.pending_payment(owner),
        actor="approver"),
    "approvals.void": rule(M.APPROVALS, Op.DELETE, NONE, lambda w, a, t: _void_host_kind(w, a)),
    # -- import / export (each kind on its own module; tests/workflow/test_io.py: every kind) --
    "io.export": rule(M.CUSTOMERS, Op.EXPORT, NONE,
                      lambda w, a, t: w.crm.io.export(a, "customer", io.BytesIO())),
    "io.template": rule(M.CUSTOMERS, Op.IMPORT, NONE,
                        lambda w, a, t: w.crm.io.template(a, "customer", io.BytesIO())),
    "io.import_records": rule(M.CUSTOMERS, Op.IMPORT, NONE, lambda w, a, t: (
        w.crm.io.import_records(a, "customer", _sheet(f"客户名称\n导入{w.n()}\n")))),
    "io.import_followups": rule(M.CUSTOMERS, Op.IMPORT, NONE, lambda w, a, t: (
        w.crm.io.import_followups(a, "customer", _sheet("记录ID,跟进内容\n")))),
    "io.history": rule(M.CUSTOMERS, Op.IMPORT, NONE,
                       lambda w, a, t: w.crm.io.history(a, "customer")),
    "io.write_errors": rule(None, None, NONE, lambda w, a, t: w.crm.io.write_errors(
        a, w.crm.io.import_records(w.admin, "customer", _sheet("客户名称\n\n")),
        io.BytesIO())),
}


def _sheet(text: str) -> io.BytesIO:
    return io.BytesIO(text.encode("utf-8"))


def _retired(w: World) -> str:
    key = w.field(w.admin)
    w.crm.fields.retire(w.admin, "lead", key)
    return key


def _spare_group(w: World) -> str:
    return w.crm.opportunities.add_stage_group(w.admin, {
        "name": f"备用{w.n()}", "stages": [{"name": "一", "win_rate": "10"}]}).id


def _void_host_kind(w: World, actor: Any) -> object:
    """``crm.approvals.void`` is for a host's own kinds (crmkit's are voided by their
    services): a registered kind, voided before it was ever submitted."""
    if "ticket" not in {k for k in getattr(w.crm.approvals, "_kinds", {})}:
        w.crm.approvals.register_kind("ticket", "工单", "Ticket")
    return w.crm.approvals.void(actor, "ticket", f"t{w.n()}")


NOT_FACADE = frozenset({
    # wiring and bootstrap: no actor, called by crmkit itself or by the host's composition root
    "org.setup", "org.authenticate", "org.register_hand_over", "records.module_of",
    "approvals.register_kind",
    "contracts.approval_values", "payments.approval_values",
})
"""Public methods that take no actor (each says why); everything else is in :data:`TABLE`."""

NOT_NAMESPACES = frozenset({"runtime", "field_types"})
"""Attributes of the facade that are no service namespaces: the operation runner and the
field-type registry (plugins' validators) take no actor and address no record."""


def facade_methods(crm: Any) -> set[str]:
    """Every public facade method: ``namespace.method`` whose first parameter is ``actor``,
    plus every other public method not listed in :data:`NOT_FACADE` (so that a new public
    method without an actor is noticed too). Methods taking a running ``op`` are internal
    to crmkit's services and skipped. The services of kinds the host declared are reached as
    ``kind("<name>")``."""
    found = set()
    services = {ns: service for ns, service in vars(crm).items()
                if not ns.startswith("_") and ns not in NOT_NAMESPACES
                and type(service).__module__.startswith("crmkit.workflow")}
    served = {id(service) for service in services.values()}
    services.update({namespace(kind): crm.kind(kind) for kind in crm.kinds
                     if id(crm.kind(kind)) not in served})
    for ns, service in services.items():
        for name in dir(service):
            method = getattr(service, name)
            if name.startswith("_") or not callable(method) or inspect.isclass(method):
                continue
            params = list(inspect.signature(method).parameters)
            if params and params[0] == "op":
                continue
            declaration = getattr(service, "declaration", None)
            if isinstance(declaration, RecordKind) and not answers(declaration, name):
                continue
            found.add(f"{ns}.{name}")
    return found


def markdown() -> str:
    """The table as docs/security.md shows it (between its ``permission-table`` markers); the
    rows of the test suite's declared kind stand for every kind a host declares
    (``crm.kind(name)``, on the kind's module)."""
    lines = ["| method | permission (module: operation) | access |", "|---|---|---|"]
    declared = [namespace(kind) + "." for kind in DECLARED]
    for name in sorted(TABLE):
        r = TABLE[name]
        module = r.module.value if r.module else ""
        if any(name.startswith(prefix) for prefix in declared):
            name, module = "kind(name)." + name.split(".", 1)[1], "the kind's module"
        permission = f"{module}: {r.operation.value}" if r.module and r.operation else "—"
        lines.append(f"| `crm.{name}` | {permission} | {r.access.value} |")
    return "\n".join(lines)
