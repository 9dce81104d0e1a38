"""The pool storage contract (:class:`crmkit.testing.PoolStorageContract`) on memory, SQLite
(in memory and in a file) and PostgreSQL, plus what only SQL can get wrong: a sweep of thousands
is three statements, and 16 PostgreSQL connections claim the same 100 pool customers at once
through the facade (every customer ends with exactly one owner, no limit is exceeded)."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

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
from crmkit.ports import Storage
from crmkit.testing import PoolStorageContract
from crmkit.testing.pool import EPOCH, TZ, sample_customer
from crmkit.testing.storage import sample_department, sample_user

from .conftest import PostgresBackend, SqliteFileBackend, private_pg_schema, statements

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
