"""回款提醒 ``crm.contracts.due_plans`` on memory, SQLite and PostgreSQL: plans of other users,
done plans and void contracts never crowd out the actor's own reminders, team members see the
plans of contracts they are on, and the scope check is set-based (a handful of statements
whatever the number of contracts)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import event

from crmkit.entities import User
from crmkit.entities.contracts import PlanStatus
from crmkit.errors import ValidationError

from .conftest import Org

TODAY = date(2026, 11, 2)  # the org fixture's clock, local time


def contract(org: Org, actor: User, customer: Any, amount: str = "10000") -> Any:
    """A contract in force (no flow defined: 无需审批)."""
    return org.crm.contracts.create(actor, {"name": "合同", "customer_id": customer.id,
                                            "amount": amount}, submit=True)


def plan(org: Org, actor: User, contract_id: str, planned: str, amount: str = "100",
         remind_days: int = 0) -> Any:
    return org.crm.contracts.add_plans(actor, contract_id, [{
        "amount": amount, "planned_date": planned, "remind_days": remind_days}])[0]


def ids(views: list[Any]) -> list[str]:
    return [v.plan.id for v in views]


@contextmanager
def statements(storage: Any) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(storage.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(storage.engine, "before_cursor_execute", record)


def test_plans_of_others_do_not_crowd_out_the_actors_own(org: Org) -> None:
    """The reviewer's scenario: 1,080 earlier due plans of the admin's contracts, then one of
    the rep's; the rep still gets its plan, the admin gets ``limit`` plans, earliest first."""
    crm = org.crm
    theirs = crm.customers.create(org.admin, {"name": "总部客户"})
    admin_plans = []
    for n in range(9):
        c = contract(org, org.admin, theirs)
        admin_plans += crm.contracts.add_plans(org.admin, c.id, [
            {"amount": "1", "planned_date": f"2026-10-{1 + (n * 120 + i) % 28:02d}"}
            for i in range(120)])
    mine = crm.customers.create(org.rep, {"name": "我的客户"})
    own = plan(org, org.rep, contract(org, org.rep, mine).id, "2026-11-02")

    assert ids(crm.contracts.due_plans(org.rep)) == [own.id]
    assert ids(crm.contracts.due_plans(org.rep, TODAY, limit=1)) == [own.id]
    ordered = sorted(admin_plans, key=lambda p: (p.planned_date, p.id))
    assert ids(crm.contracts.due_plans(org.admin)) == [p.id for p in ordered[:200]]
    assert ids(crm.contracts.due_plans(org.admin, limit=1000)) == [p.id for p in ordered[:1000]]
    assert len(crm.contracts.due_plans(org.admin, limit=1000, on=date(2026, 12, 1))) == 1000
    # the manager sees the rep's plan (a subordinate), not the admin's
    assert ids(crm.contracts.due_plans(org.manager)) == [own.id]
    assert crm.contracts.due_plans(org.rep, on=date(2026, 11, 1)) == []


def test_done_plans_and_void_contracts_leave_the_reminders(org: Org) -> None:
    crm = org.crm
    customer = crm.customers.create(org.rep, {"name": "华为"})
    c = contract(org, org.rep, customer)
    done, partial, unpaid, voided, later = crm.contracts.add_plans(org.rep, c.id, [
        {"amount": "1000", "planned_date": "2026-10-01"},
        {"amount": "1000", "planned_date": "2026-10-02"},
        {"amount": "1000", "planned_date": "2026-11-05", "remind_days": 3},
        {"amount": "1000", "planned_date": "2026-10-03"},
        {"amount": "1000", "planned_date": "2026-11-30", "remind_days": 3}])
    for target, amount, submit in ((done, "600", True), (done, "400", True),
                                   (partial, "999.99", True), (unpaid, "1000", False)):
        crm.payments.create(org.rep, {"contract_id": c.id, "plan_id": target.id,
                                      "paid_on": "2026-11-01", "amount": amount},
                            submit=submit)   # not submitted: a draft payment does not count
    crm.contracts.void_plan(org.rep, voided.id)
    gone = contract(org, org.rep, customer)
    plan(org, org.rep, gone.id, "2026-09-01")
    crm.contracts.void(org.manager, gone.id)

    views = crm.contracts.due_plans(org.rep)
    assert ids(views) == [partial.id, unpaid.id]
    assert [v.status for v in views] == [PlanStatus.OVERDUE, PlanStatus.PENDING]
    assert [str(v.received) for v in views] == ["999.99", "0.00"]
    assert ids(crm.contracts.due_plans(org.rep, on=date(2026, 11, 27))) == [
        partial.id, unpaid.id, later.id]
    assert ids(crm.contracts.due_plans(org.rep, limit=1)) == [partial.id]


def test_team_members_see_plans_of_contracts_they_are_on(org: Org) -> None:
    crm = org.crm
    customer = crm.customers.create(org.admin, {"name": "总部客户"})
    shared, other = contract(org, org.admin, customer), contract(org, org.admin, customer)
    on_team = plan(org, org.admin, shared.id, "2026-10-20")
    plan(org, org.admin, other.id, "2026-10-10")
    assert crm.contracts.due_plans(org.rep) == []
    crm.contracts.add_team_member(org.admin, shared.id, org.rep.id)
    assert ids(crm.contracts.due_plans(org.rep)) == [on_team.id]
    stranger = org.user("13900000013", "路人", org.finance, "sales_rep")
    assert crm.contracts.due_plans(stranger) == []


@pytest.mark.parametrize(("on", "limit", "path"), [
    ("2026-13-40", 200, "$.on"),
    (datetime(2026, 11, 2, tzinfo=UTC), 200, "$.on"),
    (20261102, 200, "$.on"),
    (None, 0, "$.limit"),
    (None, 1001, "$.limit"),
    (None, True, "$.limit"),
    (None, "10", "$.limit"),
])
def test_day_and_limit_are_checked(org: Org, on: Any, limit: Any, path: str) -> None:
    with pytest.raises(ValidationError) as bad:
        org.crm.contracts.due_plans(org.rep, on, limit=limit)
    assert [e.path for e in bad.value.errors] == [path]


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_the_scope_check_is_set_based(org: Org, backend: Any) -> None:
    """200 due plans on 200 contracts of others (3 with the rep on their team): a handful of
    statements, not one team query per contract."""
    crm = org.crm
    customer = crm.customers.create(org.admin, {"name": "总部客户"})
    shared = []
    for n in range(200):
        c = contract(org, org.admin, customer)
        p = plan(org, org.admin, c.id, f"2026-10-{1 + n % 28:02d}")
        if n % 70 == 0:
            crm.contracts.add_team_member(org.admin, c.id, org.rep.id)
            shared.append(p)
    crm.contracts.due_plans(org.rep)  # warm the scope cache as a host's process would be
    with statements(backend) as seen:
        views = crm.contracts.due_plans(org.rep)
    assert sorted(ids(views)) == sorted(p.id for p in shared)
    print(f"\ndue_plans over 200 contracts of others: {len(seen)} statements")
    tables = [t for t in ("crm_payment_plans", "crm_contracts", "crm_team_members",
                          "crm_payments") for text in seen if text.startswith(f"SELECT {t}.")]
    assert sorted(tables) == sorted(["crm_payment_plans", "crm_contracts", "crm_team_members",
                                     "crm_payments"]), seen   # one read of each
    assert len(seen) <= 10, seen   # with the operation's own: BEGIN, actor, roles, org version
