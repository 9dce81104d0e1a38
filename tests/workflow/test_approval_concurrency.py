"""Approvals, numbering and received amounts under real concurrency (threads) on a database.

Every test runs on a SQLite file (``tmp_path``) and, with ``CRMKIT_TEST_PG_URL``, on PostgreSQL
(a private schema per test). One :class:`~crmkit.CRM` over one ``SqlStorage`` is shared by all
threads: the storage opens one connection per transaction per thread. A
:class:`threading.Barrier` releases the threads together.

- 或签 race: two approvers of the same ANY step approve at the same moment. Exactly one
  approval is recorded; the other caller is refused — ``Conflict`` ``version_conflict`` when both
  read the instance before either committed (PostgreSQL, READ COMMITTED), or, when its
  transaction started after the winner committed (SQLite serialises writers with ``BEGIN
  IMMEDIATE``), ``RuleViolation`` ``approval.bad_status`` (the approval is over). The record is
  通过 once, its log has one ``approval.approve``, the submitter gets one
  ``approval.approved``.
- 50 contracts created at once get 50 distinct numbers: exactly HT<day>0001 … HT<day>0050.
- Two finance users approve two payments of one contract at the same moment: both end 通过 and
  the contract's received amount is their sum. Each approval recounts the contract under its
  optimistic lock, so on PostgreSQL the later one can fail with ``Conflict`` and is retried
  (the retry is the documented client behaviour); no update is lost either way.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata
from crmkit.entities import User
from crmkit.entities.approvals import ApprovalStatus
from crmkit.errors import Conflict, PermissionDenied, RuleViolation

T0 = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)          # 2026-11-02 09:00 in Asia/Shanghai
DAY = "20261102"
RACES = 10                                              # 或签 races per backend
CREATORS = 50


@pytest.fixture(params=["sqlite_file", pytest.param("postgres", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStorage]:
    """A fresh SQL storage that many threads may use: a SQLite file, or a private PostgreSQL
    schema (dropped afterwards) with a pool big enough for every thread."""
    if request.param == "sqlite_file":
        sqlite = SqlStorage(f"sqlite:///{tmp_path / 'crm.db'}")
        sqlite.create_schema()
        yield sqlite
        sqlite.engine.dispose()
        return
    url = request.getfixturevalue("pg_url")
    schema = f"crmkit_conc_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"},
                         pool_size=CREATORS + 5, max_overflow=0)
    try:
        metadata.create_all(engine)
        pg = SqlStorage(engine)
        pg.create_schema()
        yield pg
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@dataclass
class Shop:
    crm: CRM
    notifier: OutboxNotifier
    boss: User
    manager: User
    rep: User
    fin1: User
    fin2: User
    customer_id: str
    backend: str


@pytest.fixture
def shop(storage: SqlStorage) -> Shop:
    """王总 → 李经理 → 张三 (sales); 钱会计 and 赵财务 (finance); a customer of 张三."""
    notifier = OutboxNotifier()
    crm = CRM(storage, clock=FixedClock(T0), notifier=notifier)
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(boss) if r.code}

    def user(mobile: str, name: str, role: str, supervisor: User | None) -> User:
        return crm.org.add_user(boss, {
            "mobile": mobile, "name": name, "department_id": top.id, "role_ids": [roles[role]],
            "supervisor_id": supervisor.id if supervisor else None})

    manager = user("13900000001", "李经理", "sales_manager", boss)
    rep = user("13900000002", "张三", "sales_rep", manager)
    fin1 = user("13900000003", "钱会计", "finance", boss)
    fin2 = user("13900000004", "赵财务", "finance", boss)
    customer = crm.customers.create(rep, {"name": "华为"})
    return Shop(crm, notifier, boss, manager, rep, fin1, fin2, customer.id,
                storage.engine.dialect.name)


def race(*calls: Callable[[], Any]) -> list[tuple[str, Any]]:
    """Run the calls in threads released together; ("ok", result) or ("error", exception)."""
    barrier = threading.Barrier(len(calls))
    results: list[tuple[str, Any]] = [("missing", None)] * len(calls)

    def run(i: int, call: Callable[[], Any]) -> None:
        barrier.wait()
        try:
            results[i] = ("ok", call())
        except Exception as error:
            results[i] = ("error", error)

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return results


def test_two_approvers_of_an_any_step_approve_at_once(shop: Shop) -> None:
    """或签: of two simultaneous approvals exactly one is recorded; the record is approved once
    and its submitter is told once."""
    crm = shop.crm
    crm.approvals.define_flow(shop.boss, {
        "kind": "contract", "name": "合同审批", "start": "any", "nodes": [
            {"type": "approver", "id": "any", "source": "members", "mode": "any",
             "member_ids": [shop.manager.id, shop.fin1.id]}]})
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    for i in range(RACES):
        contract = crm.contracts.create(shop.rep, {
            "name": f"合同{i}", "customer_id": shop.customer_id, "amount": "5000"}, submit=True)
        mark = len(shop.notifier.sent)
        results = race(*(partial(crm.approvals.approve, who, "contract", contract.id, "同意")
                         for who in (shop.manager, shop.fin1)))
        wins = [r for kind, r in results if kind == "ok"]
        losses = [r for kind, r in results if kind == "error"]
        assert len(wins) == 1 and len(losses) == 1, results
        loss = losses[0]
        assert isinstance(loss, Conflict | RuleViolation | PermissionDenied), repr(loss)
        assert (type(loss), loss.code) in {
            (Conflict, "version_conflict"), (RuleViolation, "approval.bad_status"),
            (PermissionDenied, "approval.not_your_turn")}, repr(loss)
        outcomes[f"{type(loss).__name__} {loss.code}"] += 1

        instance = crm.approvals.instance(shop.boss, "contract", contract.id)
        assert instance is not None and instance.status is ApprovalStatus.APPROVED
        approvals = [e for e in instance.history if e.action.value == "approve"]
        assert len(approvals) == 1 and instance.version == 2
        assert instance.steps[0].approved_by == (approvals[0].actor_id,)
        assert wins[0].instance == instance
        stored = crm.contracts.get(shop.boss, contract.id)
        assert stored.approval_status is ApprovalStatus.APPROVED
        assert stored.version == wins[0].record.version
        log = [e.action for e in crm.contracts.operation_log(shop.boss, contract.id)]
        assert log.count("approval.approve") == 1
        told = [(n.recipient_id, n.kind) for n in shop.notifier.sent[mark:]
                if n.record_id == contract.id]
        assert told == [(shop.rep.id, "approval.approved")]
    elapsed = time.perf_counter() - started
    print(f"\n[{shop.backend}] 或签 race x{RACES}: losers {dict(outcomes)}; "
          f"{elapsed / RACES * 1000:.0f} ms per race (create+submit+2 approvals)")


def test_fifty_contracts_created_at_once_get_the_days_numbers(shop: Shop) -> None:
    """The number sequence hands out each value once under concurrency: HT<day>0001..0050."""
    crm = shop.crm
    users = [shop.rep, shop.manager, shop.boss, shop.fin1, shop.fin2]
    started = time.perf_counter()
    results = race(*(lambda i=i: crm.contracts.create(users[i % len(users)], {
        "name": f"合同{i}", "customer_id": shop.customer_id, "amount": str(1000 + i)})
        for i in range(CREATORS)))
    elapsed = time.perf_counter() - started
    errors = [r for kind, r in results if kind != "ok"]
    assert not errors, errors
    numbers = sorted(r.number for _, r in results)
    assert numbers == [f"HT{DAY}{n:04d}" for n in range(1, CREATORS + 1)]
    stored = crm.contracts.list(shop.boss, {"limit": 500}).items
    assert sorted(c.number for c in stored) == numbers
    nxt = crm.contracts.create(shop.rep, {"name": "下一个", "customer_id": shop.customer_id})
    assert nxt.number == f"HT{DAY}{CREATORS + 1:04d}"
    print(f"\n[{shop.backend}] {CREATORS} concurrent creates: {elapsed:.2f} s wall")


def test_two_payments_of_one_contract_approved_at_once(shop: Shop) -> None:
    """Both payments end 通过 and the contract's received amount is their sum; a ``Conflict``
    on the contract's recount is retried (and counted)."""
    crm = shop.crm
    crm.approvals.define_flow(shop.boss, {
        "kind": "payment", "name": "回款审批", "start": "fin", "nodes": [
            {"type": "approver", "id": "fin", "source": "role", "mode": "any",
             "role_id": next(r.id for r in crm.org.list_roles(shop.boss)
                             if r.code == "finance")}]})
    retries: Counter[str] = Counter()
    started = time.perf_counter()
    rounds = 5
    for i in range(rounds):
        contract = crm.contracts.create(shop.rep, {   # no contract flow: 无需审批 at submit
            "name": f"合同{i}", "customer_id": shop.customer_id, "amount": "100000"},
            submit=True)
        assert contract.approval_status is ApprovalStatus.NOT_REQUIRED
        amounts = [Decimal("1234.56"), Decimal("7000.01")]
        payments = [crm.payments.create(shop.rep, {
            "contract_id": contract.id, "paid_on": "2026-11-02", "amount": str(a)}, submit=True)
            for a in amounts]

        def approve(who: User, payment_id: str) -> Any:
            while True:
                try:
                    return crm.approvals.approve(who, "payment", payment_id)
                except Conflict as conflict:
                    retries[conflict.code] += 1

        results = race(partial(approve, shop.fin1, payments[0].id),
                       partial(approve, shop.fin2, payments[1].id))
        assert all(kind == "ok" for kind, _ in results), results
        for payment in payments:
            assert crm.payments.get(shop.boss, payment.id).approval_status is (
                ApprovalStatus.APPROVED)
        stored = crm.contracts.get(shop.boss, contract.id)
        assert stored.received_amount == sum(amounts)
        assert stored.unreceived_amount == Decimal("100000") - sum(amounts)
        received = [e for e in crm.contracts.operation_log(shop.boss, contract.id)
                    if e.action == "received"]
        assert len(received) == 2
    elapsed = time.perf_counter() - started
    print(f"\n[{shop.backend}] two payment approvals at once x{rounds}: "
          f"conflicts retried {dict(retries) or 0}; {elapsed / rounds * 1000:.0f} ms per round")



def test_void_and_payment_on_one_contract_at_once(shop: Shop) -> None:
    """A contract voided while a payment is added to it: never both — no payment that is not
    void sits on a void contract."""
    crm = shop.crm
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    rounds = 8
    for i in range(rounds):
        contract = crm.contracts.create(shop.rep, {   # no contract flow: 无需审批 at submit
            "name": f"合同{i}", "customer_id": shop.customer_id, "amount": "5000"}, submit=True)
        results = race(
            partial(crm.contracts.void, shop.boss, contract.id, "作废"),
            partial(crm.payments.create, shop.fin1, {
                "contract_id": contract.id, "paid_on": "2026-11-02", "amount": "100"}))
        assert [kind for kind, _ in results].count("ok") == 1, results
        for kind, result in results:
            if kind == "error":
                assert isinstance(result, Conflict | RuleViolation), repr(result)
                outcomes[result.code] += 1
        voided = crm.contracts.get(shop.boss, contract.id).approval_status is (
            ApprovalStatus.VOID)
        payments = crm.payments.list(shop.boss, {"conditions": [
            {"field": "contract_id", "op": "eq", "value": contract.id}]}).items
        assert voided != bool(payments)
        outcomes["void won" if voided else "payment won"] += 1
    elapsed = time.perf_counter() - started
    print(f"\n[{shop.backend}] void vs payment x{rounds}: {dict(outcomes)}; "
          f"{elapsed / rounds * 1000:.0f} ms per round")
