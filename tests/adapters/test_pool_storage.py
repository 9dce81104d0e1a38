"""The pool port on memory, SQLite and PostgreSQL.

- Hypothesis: for random customers (owners in and out of the pool, levels, deal states, locks,
  pool membership, receive and follow-up times, warnings), random opportunities and teams,
  random pools of 1–3 rules and a random "now", the customers a backend selects — and the rule
  that selects each — equal what the memory reference selects and what a naive oracle written
  straight from the rule text of DESIGN §5 selects. Sweeping moves exactly those, leaves every
  other customer (locked ones above all) untouched, and a second sweep changes nothing.
- The rest of the port: pools, take, put, warnings, claim counting.
- PostgreSQL: 16 connections claiming the same 100 pool customers at once through the facade.
"""

from __future__ import annotations

import contextlib
import random
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st
from sqlalchemy import Engine, event

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import UUID7Ids
from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities.pool import Pool, ReclaimCandidate, ReclaimRule, RuleType
from crmkit.entities.records import Access, TeamMember
from crmkit.entities.sales import (
    CUSTOMER,
    DEAL_OPEN,
    DEAL_WON,
    OPPORTUNITY,
    Customer,
    Opportunity,
    OpportunityStatus,
)
from crmkit.errors import Conflict, NotFound, RuleViolation
from crmkit.policies.reclaim import cutoff, reclaim_spec
from crmkit.ports import Storage, UnitOfWork
from crmkit.testing.storage import sample_department, sample_user

from .conftest import private_pg_schema

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
MEMBERS = ("m1", "m2")
USERS = (*MEMBERS, "x1")
"""m1, m2 are the pool's members; x1 is not."""
LEVELS = ("A", "B", "C", None)
OWNERS = ("m1", "m2", "m1", "m2", "m1", "m2", "x1", None)
"""Owners of customers not in a pool: mostly members (most examples then select some)."""
BACKENDS = ["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


# -- storages ------------------------------------------------------------------------------------


@pytest.fixture
def storage(request: pytest.FixtureRequest) -> Iterator[Storage]:
    """An empty storage of the parametrised backend, with department d1 and users m1, m2, x1."""
    kind = request.param
    with contextlib.ExitStack() as stack:
        store: Storage
        if kind == "memory":
            store = MemoryStorage()
        elif kind == "sqlite":
            store = SqlStorage("sqlite://")
            store.create_schema()
        else:
            store = SqlStorage(stack.enter_context(
                private_pg_schema(request.getfixturevalue("pg_url"))))
        with store.transaction() as uow:
            uow.departments.add(sample_department("d1"))
            for n, user_id in enumerate(USERS, start=1):
                uow.users.add(sample_user(user_id, f"1380000000{n}"))
        yield store


class _Discard(Exception):
    """Raised to roll an example's writes back."""


@contextlib.contextmanager
def discarded(storage: Storage) -> Iterator[UnitOfWork]:
    with contextlib.suppress(_Discard), storage.transaction() as uow:
        yield uow
        raise _Discard


# -- random cases --------------------------------------------------------------------------------

_nudge = st.sampled_from([timedelta(0), timedelta(0), timedelta(microseconds=1),
                          -timedelta(microseconds=1)])
nows = st.integers(100 * 24, 130 * 24).map(lambda h: T0 + timedelta(hours=h))


DAYS = (0, 1, 2, 7, 30)
"""Rule days drawn often, so that base times on the edge of a rule (local midnight N days ago,
± 1 µs) are drawn often too."""
days = st.one_of(st.sampled_from(DAYS), st.integers(0, 60))


def before(now: datetime) -> st.SearchStrategy[datetime]:
    """Up to 90 days before ``now``: whole hours spread evenly, or local midnight N days ago
    for N in :data:`DAYS` (the cutoff of an N-day rule); either ± 1 µs."""
    hours_ago = st.builds(lambda d, h: now - timedelta(days=d, hours=h),
                          st.sampled_from(range(90, -1, -1)), st.sampled_from(range(24)))
    edges = st.sampled_from(DAYS).map(lambda n: cutoff(now, n, TZ))
    return st.builds(lambda t, nudge: t + nudge, st.one_of(hours_ago, edges), _nudge)


rules = st.builds(
    ReclaimRule,
    type=st.sampled_from(list(RuleType)),
    days=st.one_of(st.none(), days),
    days_by_level=st.one_of(st.just({}), st.dictionaries(st.sampled_from(["A", "B", "C"]),
                                                         days, max_size=3)),
    reclaim_won=st.booleans(),
    reclaim_with_open_opportunities=st.booleans(),
).filter(lambda r: r.days is not None or r.days_by_level)


@st.composite
def customer_sets(draw: st.DrawFn, now: datetime) -> list[Customer]:
    moments = before(now)
    made = []
    for n in range(draw(st.sampled_from(range(1, 13)))):
        created = draw(moments)
        pooled = draw(st.integers(0, 5)) == 5
        received = draw(st.one_of(st.none(), moments))
        made.append(Customer(
            id=f"c{n:02d}", name=f"客户{n}",
            owner_id=None if pooled else OWNERS[draw(st.integers(0, len(OWNERS) - 1))],
            created_by=None, created_at=created, updated_at=created,
            version=draw(st.integers(1, 3)),
            level=draw(st.sampled_from(LEVELS)),
            deal_status=draw(st.sampled_from([DEAL_OPEN, DEAL_WON])),
            locked=draw(st.integers(0, 3)) == 3,
            pool_id=draw(st.sampled_from(["p0", "p9"])) if pooled else None,
            previous_owner_id=draw(st.sampled_from([None, *USERS])),
            received_at=None if received is None else max(received, created),
            last_followup_at=draw(st.one_of(st.none(), moments)),
            pool_warned_at=draw(st.one_of(st.none(), st.none(), moments)),
        ))
    return made


@st.composite
def opportunity_sets(draw: st.DrawFn, customers: Sequence[Customer], now: datetime
                     ) -> list[Opportunity]:
    if not customers:
        return []
    made = []
    for n in range(draw(st.integers(0, 10))):
        created = draw(before(now))
        made.append(Opportunity(
            id=f"o{n:02d}", name=f"商机{n}", customer_id=draw(st.sampled_from(customers)).id,
            owner_id="m1", created_by=None, created_at=created, updated_at=created,
            stage_group_id="g1", status=draw(st.sampled_from(list(OpportunityStatus))),
        ))
    return made


# -- the naive oracle: DESIGN §5, sentence by sentence ---------------------------------------------


def elapsed(now: datetime, base: datetime) -> int:
    """Local calendar days in the org's timezone: local_date(now) − local_date(base)."""
    return (now.astimezone(TZ).date() - base.astimezone(TZ).date()).days


def oracle(pool: Pool, members: Sequence[str], customer: Customer,
           opportunities: Sequence[Opportunity], now: datetime) -> int | None:
    """The index of the first rule of ``pool`` that reclaims ``customer`` now, else None."""
    if customer.owner_id not in members or customer.locked or customer.pool_id is not None:
        return None
    mine = [o for o in opportunities if o.customer_id == customer.id]
    has_open = any(o.status is OpportunityStatus.IN_PROGRESS for o in mine)
    newest = max((o.created_at for o in mine), default=None)
    received = customer.received_at or customer.created_at  # received at creation
    for index, rule in enumerate(pool.rules):
        if rule.days_by_level:
            if customer.level is None or customer.level not in rule.days_by_level:
                continue  # a level without an entry is not selected by the rule
            days = rule.days_by_level[customer.level]
        else:
            assert rule.days is not None
            days = rule.days
        if not rule.reclaim_won and customer.deal_status == DEAL_WON:
            continue
        if not rule.reclaim_with_open_opportunities and has_open:
            continue
        if rule.type is RuleType.FOLLOWUP:
            base = max(t for t in (customer.last_followup_at, received) if t is not None)
        elif rule.type is RuleType.OPPORTUNITY:
            base = max(t for t in (newest, received) if t is not None)
        else:
            if customer.deal_status == DEAL_WON:
                continue
            base = received
        if elapsed(now, base) > days:
            return index
    return None


# -- the property --------------------------------------------------------------------------------


def _state(uow: UnitOfWork, ids: list[str]) -> tuple[list[Customer], list[TeamMember]]:
    return uow.records(CUSTOMER).get_many(ids), uow.team.members_many(CUSTOMER, ids)


def check_sweep(storage: Storage, customers: Sequence[Customer],
                opportunities: Sequence[Opportunity], team: Sequence[TeamMember],
                pool: Pool, members: Sequence[str], now: datetime) -> int:
    """Backend == memory reference == oracle, for the dry run and the sweep; a second sweep
    moves nothing; unselected customers are untouched. Rolled back. Returns how many moved."""
    spec = reclaim_spec(pool, members, now, TZ)
    ids = [c.id for c in customers]
    expected = [
        (c.id, c.owner_id, index, pool.rules[index].type)
        for c in sorted(customers, key=lambda c: c.id)
        if (index := oracle(pool, members, c, opportunities, now)) is not None
    ]
    by_id = {c.id: c for c in customers}
    unwarned = [e for e in expected if by_id[e[0]].pool_warned_at is None]

    def load(uow: UnitOfWork) -> None:
        uow.records(CUSTOMER).add_many(customers)
        uow.records(OPPORTUNITY).add_many(opportunities)
        uow.team.put_many(team)
        uow.pools.add(pool)

    def rows(found: list[ReclaimCandidate]) -> list[tuple[str, str, int, RuleType]]:
        assert all(c.pool_id == pool.id for c in found)
        return [(c.customer_id, c.owner_id, c.rule_index, c.rule_type) for c in found]

    reference = MemoryStorage()
    with reference.transaction() as ref:
        load(ref)
        assert rows(ref.pools.candidates(spec)) == expected, "memory vs the rule text"
        assert rows(ref.pools.reclaim(spec, now)) == expected
        after = _state(ref, ids)
    with discarded(storage) as uow:
        load(uow)
        before = _state(uow, ids)
        assert rows(uow.pools.candidates(spec)) == expected, "backend vs the rule text"
        assert rows(uow.pools.candidates(spec, unwarned=True)) == unwarned
        assert _state(uow, ids) == before, "a dry run changes nothing"
        assert rows(uow.pools.reclaim(spec, now)) == expected
        swept = _state(uow, ids)
        assert swept == after, "the backend sweeps exactly as the memory reference"
        assert uow.pools.reclaim(spec, now) == [], "a second sweep moves nothing"
        assert _state(uow, ids) == swept
    moved = {e[0] for e in expected}
    old = {c.id: c for c in before[0]}
    for customer in after[0]:
        was = old[customer.id]
        if customer.id in moved:
            assert not was.locked
            assert attrs.evolve(
                was, owner_id=None, previous_owner_id=was.owner_id, pool_id=pool.id,
                pooled_at=now, pool_warned_at=None, version=was.version + 1,
                updated_at=now) == customer
        else:
            assert customer == was, "customers not selected are untouched"
    assert after[1] == [m for m in before[1] if m.record_id not in moved]
    return len(moved)


@pytest.mark.parametrize("storage", BACKENDS, indirect=True)
def test_sweep_selects_what_the_rule_text_says(storage: Storage) -> None:
    @settings(deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                    HealthCheck.data_too_large])
    @given(data=st.data(), now=nows, rule_set=st.lists(rules, min_size=1, max_size=3),
           member_count=st.sampled_from([2, 1, 0]))
    def agree(data: st.DataObject, now: datetime, rule_set: list[ReclaimRule],
              member_count: int) -> None:
        customers = data.draw(customer_sets(now), label="customers")
        opportunities = data.draw(opportunity_sets(customers, now), label="opportunities")
        pairs = data.draw(st.lists(st.tuples(st.sampled_from(customers), st.sampled_from(USERS)),
                                   max_size=6), label="team")
        team = list({(c.id, u): TeamMember(CUSTOMER, c.id, u, Access.READ)
                     for c, u in pairs}.values())
        members = MEMBERS[:member_count]
        pool = Pool("p0", "公海", member_user_ids=frozenset(members), rules=tuple(rule_set))
        moved = check_sweep(storage, customers, opportunities, team, pool, members, now)
        target(moved, label="customers moved")

    agree()


@pytest.mark.parametrize("storage", BACKENDS, indirect=True)
def test_sweep_at_the_edges_of_local_days(storage: Storage) -> None:
    """Every base exactly on a rule's cutoff (local midnight N days ago) and 1 µs either side,
    for each rule type and each base (receive time, follow-up, newest opportunity)."""
    now = datetime(2026, 12, 2, 15, 59, 59, 999999, tzinfo=UTC)  # 23:59:59.999999 Beijing
    edge = timedelta(microseconds=1)
    for rule_type in RuleType:
        for n in (0, 1, 30):
            line = cutoff(now, n, TZ)
            old = line - timedelta(days=5)
            customers, opportunities = [], []
            for k, base in enumerate((line - edge, line, line + edge)):
                received = _customer(f"r{k}", owner_id="m1", received_at=base, created_at=old)
                followed = _customer(f"f{k}", owner_id="m1", received_at=old, created_at=old,
                                     last_followup_at=base)
                created = _customer(f"c{k}", owner_id="m1", received_at=None, created_at=base)
                with_opp = _customer(f"o{k}", owner_id="m1", received_at=old, created_at=old)
                customers += [received, followed, created, with_opp]
                opportunities.append(Opportunity(
                    id=f"op{k}", name="商机", customer_id=with_opp.id, owner_id="m1",
                    created_by=None, created_at=base, updated_at=base, stage_group_id="g1",
                    status=OpportunityStatus.WON))
            pool = Pool("p0", "公海", rules=(ReclaimRule(rule_type, days=n),))
            moved = check_sweep(storage, customers, opportunities, [], pool, MEMBERS, now)
            # due: each base 1 µs before the cutoff, plus the bases the rule ignores
            assert moved == {RuleType.FOLLOWUP: 6, RuleType.OPPORTUNITY: 6,
                             RuleType.DEAL: 8}[rule_type]


# -- the rest of the port ------------------------------------------------------------------------


def _customer(cid: str, **kw: Any) -> Customer:
    fields: dict[str, Any] = {"id": cid, "name": cid, "owner_id": None, "created_by": None,
                              "created_at": T0, "updated_at": T0, "received_at": T0}
    fields.update(kw)
    return Customer(**fields)


@pytest.mark.parametrize("storage", BACKENDS, indirect=True)
def test_pool_round_trip_and_versions(storage: Storage) -> None:
    pool = Pool("p1", "公海", admin_ids=frozenset({"m1"}), member_user_ids=frozenset(MEMBERS),
                member_department_ids=frozenset({"d1"}),
                rules=(ReclaimRule(RuleType.FOLLOWUP, days=30),
                       ReclaimRule(RuleType.DEAL, days_by_level={"A": 60, "B": 90},
                                   reclaim_won=True, reclaim_with_open_opportunities=True)),
                daily_claim_limit=5, claim_back_days=7, warn_days=3, reclaim_enabled=False)
    with storage.transaction() as uow:
        uow.pools.add(pool)
        uow.pools.add(Pool("p0", "二号"))
    with storage.transaction() as uow:
        assert uow.pools.get("p1") == pool
        assert [p.id for p in uow.pools.list()] == ["p0", "p1"]
        newer = attrs.evolve(pool, name="新", version=2)
        uow.pools.update(newer, expected_version=1)
        with pytest.raises(Conflict):
            uow.pools.update(attrs.evolve(newer, version=3), expected_version=1)
    with storage.transaction() as uow:
        assert uow.pools.get("p1") == attrs.evolve(pool, name="新", version=2)
        uow.pools.delete("p0")
        assert uow.pools.get("p0") is None


@pytest.mark.parametrize("storage", BACKENDS, indirect=True)
def test_take_put_warn_and_claims(storage: Storage) -> None:
    at = T0 + timedelta(days=3)
    with storage.transaction() as uow:
        uow.records(CUSTOMER).add_many([
            _customer("c1", pool_id="p1", previous_owner_id="m2"),
            _customer("c2", pool_id="p1"),
            _customer("c3", pool_id="p2"),
            _customer("c4", owner_id="m1"),
            _customer("c5", owner_id="m2", pool_warned_at=T0),
        ])
        uow.team.put_many([TeamMember(CUSTOMER, "c4", "m2", Access.WRITE),
                           TeamMember(CUSTOMER, "c5", "m1", Access.READ)])
    with storage.transaction() as uow:
        assert uow.pools.take({"c1": 1, "c3": 1, "c4": 1, "nope": 1}, "p1", "x1", at) == 1
        assert uow.pools.take({"c1": 1}, "p1", "m1", at) == 0, "taken already"
        assert uow.pools.take({"c2": 7}, "p1", "m1", at) == 0, "not at the version read"
        c1 = uow.records(CUSTOMER).get("c1")
        assert c1 is not None
        assert (c1.owner_id, c1.pool_id, c1.received_at, c1.previous_owner_id, c1.version,
                c1.updated_at) == ("x1", None, at, "m2", 2, at)
        assert uow.pools.put({"c5": 9}, "p1", at) == [], "not at the version read"
        assert uow.pools.put({"c4": 1, "c3": 1, "c2": 1}, "p1", at) == ["c4", "c3"], (
            "c2 is in p1 already")
        c4, c3 = uow.records(CUSTOMER).get("c4"), uow.records(CUSTOMER).get("c3")
        assert c4 is not None and c3 is not None
        assert (c4.owner_id, c4.previous_owner_id, c4.pool_id, c4.pooled_at, c4.version) == (
            None, "m1", "p1", at, 2)
        assert (c3.pool_id, c3.previous_owner_id) == ("p1", None), "kept when pool to pool"
        assert uow.team.members_many(CUSTOMER, ["c4", "c5"]) == [
            TeamMember(CUSTOMER, "c5", "m1", Access.READ)]
        uow.pools.mark_warned(["c4", "c5"], at)
        assert [c.pool_warned_at for c in uow.records(CUSTOMER).get_many(["c4", "c5"])] == [
            at, at]
        assert uow.pools.take({"c4": 2}, "p1", "m2", at) == 1
        c4 = uow.records(CUSTOMER).get("c4")
        assert c4 is not None and c4.pool_warned_at is None
        uow.pools.lock_owners(["m1", "m2"])
        uow.pools.add_claims([("c1", "m1", at - timedelta(microseconds=1)), ("c2", "m1", at),
                              ("c3", "m1", at + timedelta(hours=1)), ("c4", "m2", at)])
        assert uow.pools.claims_since("m1", at) == 2
        assert uow.pools.claims_since("m2", at) == 1
        assert uow.pools.claims_since("x1", T0) == 0


@pytest.mark.parametrize("storage", ["sqlite", pytest.param("postgres",
                                                            marks=pytest.mark.postgres)],
                         indirect=True)
def test_sweep_of_thousands_is_a_few_statements(storage: Storage) -> None:
    """Owner sets and moved sets above the inline limit are bound as one parameter each."""
    members = [f"u{n:05d}" for n in range(31_000)]  # above every inline limit
    engine: Engine = storage.engine  # type: ignore[attr-defined]
    customers = [_customer(f"c{n:05d}", owner_id=members[n * 6]) for n in range(5000)]
    pool = Pool("p1", "公海", rules=(ReclaimRule(RuleType.FOLLOWUP, days=3),))
    spec = reclaim_spec(pool, members, T0 + timedelta(days=10), TZ)
    with discarded(storage) as uow:
        uow.records(CUSTOMER).add_many(customers)
        uow.team.put_many([TeamMember(CUSTOMER, "c00001", "m1", Access.READ)])
        statements: list[str] = []

        def count(*args: Any) -> None:
            statements.append(args[2])

        event.listen(engine, "before_cursor_execute", count)
        try:
            moved = uow.pools.reclaim(spec, spec.at)
        finally:
            event.remove(engine, "before_cursor_execute", count)
        assert len(moved) == 5000
        assert len(statements) == 3, statements
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
