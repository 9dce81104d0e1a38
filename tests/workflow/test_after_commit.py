"""Every operation that writes the operation log hands exactly those entries to
``crmkit_after_commit`` — one logging path (``Op.log``), no side path into the log.

A witness plugin pairs what the memory adapter stored with what the hook received, operation by
operation, over the demo's sales cycle plus every logging operation the demo leaves out; the
log actions written in the source must all be among those exercised here.
"""

from __future__ import annotations

import ast
import io
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

import crmkit
from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.adapters.memory import MemoryStorage
from crmkit.demo import DEFAULT_SEED, QUARTER_START
from crmkit.demo.company import build_company
from crmkit.demo.simulation import simulate
from crmkit.entities import OperationLogEntry
from crmkit.hookspecs import hookimpl

WORKFLOW = Path(crmkit.__file__).parent / "workflow"
ACTIONS_FROM_VARIABLES = {
    "claim", "assign", "release", "move_pool", "lock", "unlock", "deal_status", "disable",
    "enable", "put_on_shelf", "take_off_shelf", "approval.submit", "approval.approve",
    "approval.reject", "approval.withdraw", "approval.void",
}
"""Actions passed to ``op.log`` through a variable (the literal ones are read from the source)."""


class Witness:
    """Collects what the operation log stored and checks each hook call receives exactly the
    entries stored since the previous one."""

    def __init__(self, storage: MemoryStorage) -> None:
        self.stored: list[OperationLogEntry] = []
        self.pending: list[OperationLogEntry] = []
        self.hooked: list[OperationLogEntry] = []
        self.mismatches: list[tuple[list[str], list[str]]] = []
        write = storage.oplog.add_many

        def spy(entries: Sequence[OperationLogEntry]) -> None:
            self.pending.extend(entries)
            self.stored.extend(entries)
            write(entries)

        storage.oplog.add_many = spy  # type: ignore[method-assign]

    @hookimpl
    def crmkit_after_commit(self, crm: Any, entries: Sequence[OperationLogEntry]) -> None:
        if list(entries) != self.pending:
            self.mismatches.append(([e.action for e in entries],
                                    [e.action for e in self.pending]))
        self.hooked.extend(entries)
        self.pending = []


def literal_log_actions() -> set[str]:
    """The action strings written literally in ``op.log(kind, id, action, …)`` calls."""
    found: set[str] = set()
    for path in WORKFLOW.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "log" and isinstance(node.func.value, ast.Name)
                    and node.func.value.id == "op" and len(node.args) >= 3):
                action = node.args[2]
                if isinstance(action, ast.JoinedStr):
                    continue  # approval.{action}: listed in ACTIONS_FROM_VARIABLES
                found |= {c.value for c in ast.walk(action)
                          if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    return found


def test_only_the_operation_runner_writes_the_operation_log() -> None:
    writers = sorted(path.name for path in WORKFLOW.glob("*.py")
                     if "oplog.add_many" in path.read_text(encoding="utf-8"))
    assert writers == ["operations.py"]


@pytest.fixture
def tour() -> tuple[CRM, Witness]:
    """The demo's company and its first month on memory storage, witnessed; returns the
    CRM for more steps."""
    storage = MemoryStorage()
    witness = Witness(storage)
    clock = FixedClock(datetime(2026, 6, 30, 2, 0, tzinfo=UTC))
    crm = CRM(storage, plugins=[witness], clock=clock, ids=SequentialIds("w"))
    simulate(build_company(crm, clock, QUARTER_START), DEFAULT_SEED, QUARTER_START, 31)
    return crm, witness


def test_every_logging_operation_fires_the_hook_with_exactly_its_entries(
    tour: tuple[CRM, Witness],
) -> None:
    crm, witness = tour
    with crm.storage.transaction() as uow:
        users = {u.name: u for u in uow.users.list()}
    boss, manager, zhang, li = (users[n] for n in ("王总", "李经理", "张三", "李四"))
    team_lead = users["周组长"]  # 张三's supervisor: a small contract's approver
    depts = {d.name: d for d in crm.org.list_departments(boss)}
    sales = depts["销售部"]
    first_pool = crm.pool.list_pools(boss)[0]
    second_pool = crm.pool.create_pool(boss, {"name": "二号公海", "admin_ids": [manager.id],
                                              "member_department_ids": [sales.id]})
    product = crm.products.list(boss).items[0]
    steps: list[tuple[str, Callable[[], object]]] = []

    def step(name: str, call: Callable[[], object]) -> None:
        steps.append((name, call))

    customer = crm.customers.create(zhang, {"name": "见证科技"})
    cid = customer.id
    step("update", lambda: crm.customers.update(zhang, cid, {"name": "见证科技有限公司"}))
    step("team_add", lambda: crm.customers.add_team_member(zhang, cid, li.id, "read"))
    step("team_remove", lambda: crm.customers.remove_team_member(zhang, cid, li.id))
    step("attach", lambda: crm.attachments.add(zhang, "customer", cid, "a.txt", b"x",
                                                "text/plain"))
    step("detach", lambda: crm.attachments.remove(
        zhang, crm.attachments.list(zhang, "customer", cid)[0].id))
    step("followup", lambda: crm.followups.add(zhang, "customer", cid,
                                               {"method": "打电话", "content": "回访"}))
    step("lock", lambda: crm.customers.lock(manager, [cid]))
    step("unlock", lambda: crm.customers.unlock(manager, [cid]))
    step("deal_status", lambda: crm.customers.set_deal_status(zhang, cid, "已成交"))
    step("deal_status", lambda: crm.customers.set_deal_status(zhang, cid, "未成交"))
    draft: list[Any] = []
    step("create", lambda: draft.append(crm.contracts.create(
        zhang, {"name": "见证合同", "customer_id": cid, "amount": "1000"})))
    step("plan_add", lambda: crm.contracts.add_plans(zhang, draft[0].id, [
        {"amount": "1", "planned_date": "2026-12-30", "method": "电汇"}]))
    step("plan_void", lambda: crm.contracts.void_plan(
        zhang, crm.contracts.plans(zhang, draft[0].id)[-1].plan.id))
    step("approval.submit", lambda: crm.contracts.submit(zhang, draft[0].id))
    step("approval.withdraw", lambda: crm.approvals.withdraw(zhang, "contract", draft[0].id))
    step("approval.submit", lambda: crm.contracts.submit(zhang, draft[0].id))
    step("approval.reject", lambda: crm.approvals.reject(team_lead, "contract", draft[0].id,
                                                                "不行"))
    step("approval.void", lambda: crm.contracts.void(boss, draft[0].id, "作废"))
    step("release", lambda: crm.pool.release(zhang, [cid], first_pool.id))
    step("move_pool", lambda: crm.pool.move(manager, [cid], second_pool.id))
    step("assign", lambda: crm.pool.assign(manager, [cid], li.id))
    step("transfer", lambda: crm.customers.transfer(li, [cid], zhang.id))
    step("hand_over", lambda: crm.org.hand_over(boss, zhang.id, li.id))
    step("release", lambda: crm.pool.release(li, [cid], second_pool.id))
    step("claim", lambda: crm.pool.claim(zhang, [cid]))
    step("reclaim", lambda: crm.pool.sweep(crmkit.SystemActor("test: reclaim"),
                                          at=datetime(2027, 6, 1, tzinfo=UTC)))
    step("delete", lambda: crm.customers.delete(boss, crm.customers.create(
        zhang, {"name": "待删科技"}).id))
    step("take_off_shelf", lambda: crm.products.take_off_shelf(boss, [product.id]))
    step("put_on_shelf", lambda: crm.products.put_on_shelf(boss, [product.id]))
    step("set_password", lambda: crm.org.set_password(li, li.id, "li-password"))
    step("disable", lambda: crm.org.disable_user(boss, li.id))
    step("enable", lambda: crm.org.enable_user(boss, li.id))
    step("flow disable", lambda: crm.approvals.set_flow_enabled(boss, "payment", False))
    step("flow enable", lambda: crm.approvals.set_flow_enabled(boss, "payment", True))
    step("field create", lambda: crm.fields.define(boss, "customer", {
        "key": "grade", "label_zh": "等级", "label_en": "Grade", "type": "text"}))
    step("field update", lambda: crm.fields.update(boss, "customer", "grade", {"label_zh": "级别"}))
    step("role update", lambda: crm.org.update_role(
        boss, next(r.id for r in crm.org.list_roles(boss) if r.code == "finance"),
        {"description": "财务"}))
    step("department delete", lambda: crm.org.delete_department(boss, crm.org.add_department(
        boss, {"name": "临时部门", "parent_id": sales.id}).id))
    step("pool delete", lambda: crm.pool.delete_pool(boss, second_pool.id))
    step("export", lambda: crm.io.export(boss, "customer", io.BytesIO()))
    step("import", lambda: crm.io.import_records(boss, "customer", io.BytesIO(
        "客户名称\n导入科技\n".encode())))
    tag = crm.workbench.add_tag(zhang, "紧急")
    crm.tasks.create(zhang, {"title": "带标签的任务", "tag_ids": [tag.id]})
    step("untag", lambda: crm.workbench.delete_tag(zhang, tag.id))

    for name, call in steps:
        stored_before, hooked_before = len(witness.stored), len(witness.hooked)
        call()
        stored = witness.stored[stored_before:]
        assert stored, f"{name} wrote no operation log"
        assert witness.hooked[hooked_before:] == stored, name
    assert witness.mismatches == []
    assert witness.pending == []
    assert witness.hooked == witness.stored
    exercised = {e.action for e in witness.hooked}
    assert literal_log_actions() | ACTIONS_FROM_VARIABLES <= exercised, (
        "a logging action no step exercises: add a step for it")
