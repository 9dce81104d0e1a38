"""The pool storage contract (:class:`crmkit.testing.PoolStorageContract`) on memory, SQLite
(in memory and in a file) and PostgreSQL, plus what only SQL can get wrong: a sweep of thousands
is three statements, and 16 PostgreSQL connections claim the same 100 pool customers at once
through the facade (every customer ends with exactly one owner, no limit is exceeded)."""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import UUID7Ids
from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities.pool import Pool, ReclaimRule, RuleType
from crmkit.entities.records import Access, TeamMember
from crmkit.entities.sales import CUSTOMER
from crmkit.errors import Conflict, NotFound, RuleViolation
from crmkit.policies.reclaim import reclaim_spec
from crmkit.ports import Storage, UnitOfWork
from crmkit.testing import PoolStorageContract
from crmkit.testing.pool import EPOCH, TZ, sample_customer
from crmkit.testing.storage import sample_department, sample_user

from .conftest import (
    PostgresBackend,
    SqliteFileBackend,
    in_threads,
    private_pg_schema,
    statements,
)

# -- the contract on every backend ---------------------------------------------------------------


class TestMemoryPoolStorage(PoolStorageContract):
    def make_storage(self) -> Storage:
        return MemoryStorage()


class TestSqlitePoolStorage(PoolStorageContract):
    def make_storage(self) -> Storage:
        return SqlStorage("sqlite://")


class TestSqliteFilePoolStorage(SqliteFileBackend, PoolStorageContract):
    examples = 15


@pytest.mark.postgres
class TestPostgresPoolStorage(PostgresBackend, PoolStorageContract):
    pass


# -- SQL only: statements ------------------------------------------------------------------------


def test_sweep_of_thousands_is_a_few_statements(sql_storage: SqlStorage) -> None:
    """Owner sets and moved sets above the inline limit are bound as one parameter each."""
    members = [f"u{n:05d}" for n in range(31_000)]  # above every inline limit
    customers = [sample_customer(f"c{n:05d}", owner_id=members[n * 6]) for n in range(5000)]
    pool = Pool("p1", "公海", rules=(ReclaimRule(RuleType.FOLLOWUP, days=3),))
    spec = reclaim_spec(pool, members, EPOCH + timedelta(days=10), TZ)
    with sql_storage.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        uow.users.add(sample_user("m1", "13800000001"))
        uow.records(CUSTOMER).add_many(customers)
        uow.team.put_many([TeamMember(CUSTOMER, "c00001", "m1", Access.READ)])
        with statements(sql_storage.engine) as seen:
            moved = uow.pools.reclaim(spec, spec.at)
        assert len(moved) == 5000
        assert len(seen) == 3, seen
        assert uow.team.members_many(CUSTOMER, ["c00001"]) == []


# -- racing moves of one customer ----------------------------------------------------------------


@pytest.fixture(params=["sqlite_file", pytest.param("postgres", marks=pytest.mark.postgres)])
def shared_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStorage]:
    """A storage several threads use at once, with users m1, m2 and customers c1 (in pool p1)
    and c2 (owned by m1), both at version 1."""
    with contextlib.ExitStack() as stack:
        if request.param == "sqlite_file":
            store = SqlStorage(f"sqlite:///{tmp_path / 'crm.db'}")
            store.create_schema()
        else:
            store = SqlStorage(stack.enter_context(private_pg_schema(
                request.getfixturevalue("pg_url"), pool_size=4)))
        with store.transaction() as uow:
            uow.departments.add(sample_department("d1"))
            uow.users.add(sample_user("m1", "13800000001"))
            uow.users.add(sample_user("m2", "13800000002"))
            uow.records(CUSTOMER).add_many([sample_customer("c1", pool_id="p1"),
                                            sample_customer("c2", owner_id="m1")])
        yield store


MOVES: dict[str, Callable[[UnitOfWork, datetime], object]] = {
    "claim c1 for m1": lambda uow, at: uow.pools.take({"c1": 1}, "p1", "m1", at),
    "claim c1 for m2": lambda uow, at: uow.pools.take({"c1": 1}, "p1", "m2", at),
    "move c1 to p2": lambda uow, at: uow.pools.put({"c1": 1}, "p2", at),
    "release c2 to p1": lambda uow, at: uow.pools.put({"c2": 1}, "p1", at),
    "release c2 to p2": lambda uow, at: uow.pools.put({"c2": 1}, "p2", at),
}


@pytest.mark.parametrize(("first", "second"), [
    ("claim c1 for m1", "claim c1 for m2"), ("claim c1 for m1", "move c1 to p2"),
    ("release c2 to p1", "release c2 to p2"),
])
def test_of_two_racing_moves_of_one_customer_exactly_one_happens(
        shared_storage: SqlStorage, first: str, second: str) -> None:
    """Both transactions read version 1; on PostgreSQL they meet inside their transactions
    (the second UPDATE waits on the first's row lock, then finds version 2), on SQLite
    (``BEGIN IMMEDIATE``, one writer at a time) just before beginning."""
    inside = shared_storage.engine.dialect.name == "postgresql"
    barrier = threading.Barrier(2, timeout=30)
    at = EPOCH + timedelta(days=1)

    def move(n: int) -> object:
        if not inside:
            barrier.wait()
        with shared_storage.transaction() as uow:
            if inside:
                uow.records(CUSTOMER).get_many(["c1", "c2"])
                barrier.wait()
            done = MOVES[(first, second)[n]](uow, at)
            time.sleep(0.1)  # hold the row lock: the other UPDATE runs against it
            return done

    results, _elapsed = in_threads(2, move)
    assert not [r for r in results if isinstance(r, Exception)], results
    assert sorted(map(bool, results)) == [False, True], results
    with shared_storage.transaction() as uow:
        stored = uow.records(CUSTOMER).get_many(["c1", "c2"])
    assert [c.version for c in stored] == ([2, 1] if "c1" in first else [1, 2])
    assert not [c.id for c in stored if c.owner_id and c.pool_id], "owned_or_pooled"


# -- PostgreSQL: 16 connections claiming the same 100 customers ----------------------------------


@pytest.mark.postgres
def test_concurrent_claims_on_postgres(pg_url: str) -> None:
    threads, daily, low, high = 16, 7, 6, 10
    with private_pg_schema(pg_url, pool_size=threads + 2) as engine:
        clock = FixedClock(datetime(2026, 11, 2, 2, 0, tzinfo=UTC))
        setup = CRM(SqlStorage(engine), clock=clock, ids=UUID7Ids(), notifier=OutboxNotifier())
        boss = setup.org.setup(admin_mobile="13800000000", admin_name="王总")
        top = setup.org.list_departments(boss)[0]
        roles = {r.code: r.id for r in setup.org.list_roles(boss)}
        sales = setup.org.add_department(boss, {"name": "销售部", "parent_id": top.id})
        reps = [setup.org.add_user(boss, {
            "mobile": f"139{n:08d}", "name": f"销售{n}", "department_id": sales.id,
            "role_ids": [roles["sales_rep"]]}) for n in range(threads)]
        # half the reps may own 6 customers, half 10: both limits bite (8×6 + 8×7 = 104 ≥ 100)
        setup.customers.set_limits(boss, [{"user_id": r.id, "max_owned": low if n % 2 else high}
                                          for n, r in enumerate(reps)])
        pool = setup.pool.create_pool(boss, {
            "name": "公海", "member_department_ids": [sales.id], "daily_claim_limit": daily})
        ids = [setup.customers.create(boss, {"name": f"客户{n:03d}"}).id for n in range(100)]
        setup.pool.release(boss, ids, pool_id=pool.id)

        start = threading.Barrier(threads)
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def claimer(n: int) -> None:
            crm = CRM(SqlStorage(engine), clock=clock, ids=UUID7Ids(),
                      notifier=OutboxNotifier())
            rng = random.Random(n)
            me = reps[n]
            most = 3  # customers per claim; down to one once a limit refuses a batch
            start.wait()
            for _attempt in range(300):
                listed = [c.id for c in crm.pool.customers(me, pool.id, {"limit": 100}).items]
                if not listed:
                    return
                want = rng.sample(listed, min(len(listed), rng.randint(1, most)))
                try:
                    crm.pool.claim(me, want)
                    outcome = "claimed"
                except (Conflict, RuleViolation, NotFound) as err:
                    outcome = f"{type(err).__name__}:{err.code}"
                with lock:
                    outcomes[outcome] += 1
                if outcome.startswith("RuleViolation"):
                    if len(want) == 1:
                        return  # this rep is at a limit
                    most = 1
            raise AssertionError("too many attempts")

        errors: list[BaseException] = []

        def run(n: int) -> None:
            try:
                claimer(n)
            except BaseException as err:  # reported below
                errors.append(err)

        workers = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert not errors, errors
        print(f"\n16 connections claiming 100 pool customers: {dict(sorted(outcomes.items()))}")

        final = setup.customers.list(boss, {"limit": 200, "scene": "all"}).items
        assert sorted(c.id for c in final) == sorted(ids)
        assert all(c.owner_id is not None and c.pool_id is None for c in final), \
            "every customer has exactly one owner (and is in no pool)"
        owned = Counter(c.owner_id for c in final)
        for n, rep in enumerate(reps):
            assert owned[rep.id] <= (low if n % 2 else high)
        with SqlStorage(engine).transaction() as uow:
            since = clock.now() - timedelta(hours=10)  # local midnight, Beijing
            for rep in reps:
                assert uow.pools.claims_since(rep.id, since) == owned[rep.id] <= daily
        log = Counter(
            entry.action for cid in ids
            for entry in setup.customers.operation_log(boss, cid) if entry.action == "claim")
        assert log["claim"] == 100, "one claim entry per customer: exactly one winner each"
        print(f"owned per rep: {sorted(owned.values())}")
