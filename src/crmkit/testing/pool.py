"""The pool storage contract: subclass :class:`PoolStorageContract`, implement
``make_storage``, run pytest.

It checks the rules of :mod:`crmkit.ports.pool`:

- pools: every attribute round-trips (random pools too), ``list`` by id, versioned ``update``
  (``Conflict(version_conflict)``), ``delete``;
- reclaim: with hypothesis, for random customers (owners in and out of the pool, levels, deal
  states, locks, pool membership, receive, follow-up and warning times), random opportunities
  and teams, random pools of 1–3 rules and a random "now", ``candidates`` (and
  ``candidates(unwarned=True)``) return exactly what a plain Python evaluation of
  :func:`crmkit.policies.reclaim.select` returns — which also equals the rule text of DESIGN §5
  written out naively — and ``reclaim`` moves exactly those customers (owner cleared, previous
  owner kept, ``pooled_at``, version + 1, ``updated_at``, warning cleared, team rows deleted),
  leaves every other customer untouched, and moves nothing the second time; the same at the
  edges of local days and for thousands of customers and owners;
- take and put: with hypothesis, random sequences of claims, assignments, releases and sweeps
  change exactly the customers a plain Python model of the port's rules changes (only at the
  version read; take only from the pool without an owner; put only into another pool, in the
  order given), no customer is ever both owned and in a pool (``owned_or_pooled``), and the
  owned count a limit reads follows every move;
- warnings, claims and locks: ``mark_warned`` sets only the warning time; ``claims_since``
  counts the claims at or after a time (checked with hypothesis against a plain Python count);
  ``lock_owners`` takes any ids; a rolled-back transaction leaves no pool write behind::

    class TestMyPoolStorage(PoolStorageContract):
        def make_storage(self):
            return MyStorage(...)   # empty; create_schema() is called by the contract

Subclasses may set :attr:`PoolStorageContract.examples` for slow backends.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from crmkit.entities import RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.pool import Pool, ReclaimCandidate, ReclaimRule, ReclaimSpec, RuleType
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
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
from crmkit.errors import Conflict
from crmkit.policies.reclaim import cutoff, reclaim_spec, select
from crmkit.ports import Storage, UnitOfWork
from crmkit.testing.storage import Boom, StorageSuite, sample_department, sample_user

__all__ = [
    "EPOCH",
    "MEMBERS",
    "TZ",
    "USERS",
    "PoolStorageContract",
    "customer_sets",
    "expected_candidates",
    "opportunity_sets",
    "pools",
    "reclaim_rules",
    "rule_text_oracle",
    "sample_customer",
]

TZ = ZoneInfo("Asia/Shanghai")
"""The organisation's timezone of every reclaim spec the contract builds."""
EPOCH = datetime(2026, 1, 1, tzinfo=UTC)
"""When sample customers are created and received; the random "now"s lie 100–130 days on."""
MEMBERS = ("m1", "m2")
USERS = (*MEMBERS, "x1")
"""Users the contract creates: m1, m2 are the pool's members; x1 is not."""
_LEVELS = ("A", "B", "C", None)
_OWNERS = ("m1", "m2", "m1", "m2", "m1", "m2", "x1", None)
"""Owners of customers not in a pool: mostly members (most examples then select some)."""
_OWNER = FieldRef("owner_id", ValueKind.TEXT, True)


def sample_customer(customer_id: str, **kw: Any) -> Customer:
    """A customer nobody owns and in no pool, created and received at :data:`EPOCH`."""
    fields: dict[str, Any] = {"id": customer_id, "name": customer_id, "owner_id": None,
                              "created_by": None, "created_at": EPOCH, "updated_at": EPOCH,
                              "received_at": EPOCH}
    fields.update(kw)
    return Customer(**fields)


# -- random cases --------------------------------------------------------------------------------

_nudge = st.sampled_from([timedelta(0), timedelta(0), timedelta(microseconds=1),
                          -timedelta(microseconds=1)])
_nows = st.integers(100 * 24, 130 * 24).map(lambda h: EPOCH + timedelta(hours=h))

_DAYS = (0, 1, 2, 7, 30)
"""Rule days drawn often, so that base times on the edge of a rule (local midnight N days ago,
± 1 µs) are drawn often too."""
_days = st.one_of(st.sampled_from(_DAYS), st.integers(0, 60))


def _before(now: datetime) -> st.SearchStrategy[datetime]:
    """Up to 90 days before ``now``: whole hours spread evenly, or local midnight N days ago
    for N in :data:`_DAYS` (the cutoff of an N-day rule); either ± 1 µs."""
    hours_ago = st.builds(lambda d, h: now - timedelta(days=d, hours=h),
                          st.sampled_from(range(90, -1, -1)), st.sampled_from(range(24)))
    edges = st.sampled_from(_DAYS).map(lambda n: cutoff(now, n, TZ))
    return st.builds(lambda t, nudge: t + nudge, st.one_of(hours_ago, edges), _nudge)


reclaim_rules = st.builds(
    ReclaimRule,
    type=st.sampled_from(list(RuleType)),
    days=st.one_of(st.none(), _days),
    days_by_level=st.one_of(st.just({}), st.dictionaries(st.sampled_from(["A", "B", "C"]),
                                                         _days, max_size=3)),
    reclaim_won=st.booleans(),
    reclaim_with_open_opportunities=st.booleans(),
).filter(lambda r: r.days is not None or bool(r.days_by_level))
"""Random reclaim rules: a number of days for everyone, or per level."""

_ids = st.frozensets(st.text("abcxyz019_中", min_size=1, max_size=6), max_size=4)
pools = st.builds(
    Pool, id=st.text("abcp019_-中", min_size=1, max_size=8), name=st.text(max_size=20).filter(
        lambda s: "\x00" not in s and not any(0xD800 <= ord(c) <= 0xDFFF for c in s)),
    admin_ids=_ids, member_user_ids=_ids, member_department_ids=_ids,
    rules=st.lists(reclaim_rules, max_size=3).map(tuple),
    daily_claim_limit=st.none() | st.integers(0, 1000), claim_back_days=st.integers(0, 365),
    warn_days=st.integers(0, 30), reclaim_enabled=st.booleans(),
    version=st.integers(1, 2**31 - 1),
)
"""Random pools with every attribute drawn."""


@st.composite
def customer_sets(draw: st.DrawFn, now: datetime) -> list[Customer]:
    """1–12 customers ``c00``…: owned (by members, x1 or nobody) or in pool p0 or p9, with
    random levels, deal states, locks, versions and times before ``now``."""
    moments = _before(now)
    made = []
    for n in range(draw(st.sampled_from(range(1, 13)))):
        created = draw(moments)
        pooled = draw(st.integers(0, 5)) == 5
        received = draw(st.one_of(st.none(), moments))
        made.append(Customer(
            id=f"c{n:02d}", name=f"客户{n}",
            owner_id=None if pooled else _OWNERS[draw(st.integers(0, len(_OWNERS) - 1))],
            created_by=None, created_at=created, updated_at=created,
            version=draw(st.integers(1, 3)),
            level=draw(st.sampled_from(_LEVELS)),
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
    """Up to 10 opportunities of ``customers``, of every status, created before ``now``."""
    if not customers:
        return []
    made = []
    for n in range(draw(st.integers(0, 10))):
        created = draw(_before(now))
        made.append(Opportunity(
            id=f"o{n:02d}", name=f"商机{n}", customer_id=draw(st.sampled_from(customers)).id,
            owner_id="m1", created_by=None, created_at=created, updated_at=created,
            stage_group_id="g1", status=draw(st.sampled_from(list(OpportunityStatus))),
        ))
    return made


# -- the references ------------------------------------------------------------------------------


def expected_candidates(spec: ReclaimSpec, customers: Sequence[Customer],
                        opportunities: Sequence[Opportunity], *, unwarned: bool = False
                        ) -> list[ReclaimCandidate]:
    """What ``candidates(spec, unwarned=…)`` must return: :func:`crmkit.policies.reclaim.
    select` over ``customers`` by id, with each one's newest opportunity and whether one is
    still in progress."""
    found = []
    for customer in sorted(customers, key=lambda c: c.id):
        if unwarned and customer.pool_warned_at is not None:
            continue
        mine = [o for o in opportunities if o.customer_id == customer.id]
        newest = max((o.created_at for o in mine), default=None)
        open_ = any(o.status is OpportunityStatus.IN_PROGRESS for o in mine)
        picked = select(spec, customer, newest, open_)
        if picked is not None:
            found.append(picked)
    return found


def _elapsed(now: datetime, base: datetime) -> int:
    """Local calendar days in the org's timezone: local_date(now) − local_date(base)."""
    return (now.astimezone(TZ).date() - base.astimezone(TZ).date()).days


def rule_text_oracle(pool: Pool, members: Sequence[str], customer: Customer,
                     opportunities: Sequence[Opportunity], now: datetime) -> int | None:
    """DESIGN §5 sentence by sentence: the index of the first rule of ``pool`` that reclaims
    ``customer`` now (days counted in :data:`TZ`), else None."""
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
        if _elapsed(now, base) > days:
            return index
    return None


def _swept(customer: Customer, pool_id: str, at: datetime) -> Customer:
    """``customer`` as a sweep into ``pool_id`` at ``at`` leaves it."""
    return attrs.evolve(customer, owner_id=None, previous_owner_id=customer.owner_id,
                        pool_id=pool_id, pooled_at=at, pool_warned_at=None,
                        version=customer.version + 1, updated_at=at)


@attrs.define
class _Model:
    """The port's take/put/reclaim rules over plain Python state."""

    customers: dict[str, Customer]
    team: list[TeamMember]

    def take(self, versions: Mapping[str, int], pool_id: str, owner_id: str, at: datetime
             ) -> int:
        taken = 0
        for cid, version in versions.items():
            old = self.customers.get(cid)
            if (old is not None and old.version == version and old.pool_id == pool_id
                    and old.owner_id is None):
                self.customers[cid] = attrs.evolve(
                    old, owner_id=owner_id, pool_id=None, received_at=at, pool_warned_at=None,
                    version=old.version + 1, updated_at=at)
                taken += 1
        return taken

    def put(self, versions: Mapping[str, int], pool_id: str, at: datetime) -> list[str]:
        moved = []
        for cid, version in versions.items():
            old = self.customers.get(cid)
            if old is not None and old.version == version and old.pool_id != pool_id:
                self.customers[cid] = attrs.evolve(
                    old, owner_id=None, previous_owner_id=old.owner_id or old.previous_owner_id,
                    pool_id=pool_id, pooled_at=at, pool_warned_at=None,
                    version=old.version + 1, updated_at=at)
                moved.append(cid)
        self._clear_team(moved)
        return moved

    def reclaim(self, spec: ReclaimSpec, at: datetime) -> list[ReclaimCandidate]:
        moved = expected_candidates(spec, list(self.customers.values()), ())
        for candidate in moved:
            cid = candidate.customer_id
            self.customers[cid] = _swept(self.customers[cid], spec.pool_id, at)
        self._clear_team([c.customer_id for c in moved])
        return moved

    def _clear_team(self, ids: Sequence[str]) -> None:
        self.team = [m for m in self.team if m.record_id not in ids]


def _state(uow: UnitOfWork, ids: Sequence[str]) -> tuple[list[Customer], list[TeamMember]]:
    return uow.records(CUSTOMER).get_many(ids), uow.team.members_many(CUSTOMER, ids)


def _owned_count(uow: UnitOfWork, user_id: str) -> int:
    """How many customers ``user_id`` owns, counted as the owned-customer limit counts."""
    query = RecordQuery(RecordScope.everything(), (Condition(_OWNER, Operator.EQ, user_id),))
    return int(uow.records(CUSTOMER).count(query))


def _rows(found: Sequence[ReclaimCandidate]) -> list[tuple[str, str, int, RuleType]]:
    return [(c.customer_id, c.owner_id, c.rule_index, c.rule_type) for c in found]


# -- the contract --------------------------------------------------------------------------------


class PoolStorageContract(StorageSuite):
    """Behaviour every storage adapter's :class:`~crmkit.ports.pool.PoolRepository` must show
    (with the customer, opportunity and team rows it reads and writes)."""

    examples: int | None = None
    """Hypothesis examples per property test (None: the active profile's)."""

    def _settings(self) -> settings:
        return settings(max_examples=self.examples or settings().max_examples, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

    @pytest.fixture
    def staffed(self, storage: Storage) -> Storage:
        """The storage with department d1 and the users of :data:`USERS`."""
        with storage.transaction() as uow:
            uow.departments.add(sample_department("d1"))
            for n, user_id in enumerate(USERS, start=1):
                uow.users.add(sample_user(user_id, f"1380000000{n}"))
        return storage

    # -- pools ---------------------------------------------------------------------------------
    def test_pool_round_trip_and_versions(self, storage: Storage) -> None:
        pool = Pool("p1", "公海", admin_ids=frozenset({"m1"}),
                    member_user_ids=frozenset(MEMBERS), member_department_ids=frozenset({"d1"}),
                    rules=(ReclaimRule(RuleType.FOLLOWUP, days=30),
                           ReclaimRule(RuleType.DEAL, days_by_level={"A": 60, "B": 90},
                                       reclaim_won=True, reclaim_with_open_opportunities=True)),
                    daily_claim_limit=5, claim_back_days=7, warn_days=3, reclaim_enabled=False)
        with storage.transaction() as uow:
            assert uow.pools.list() == []
            uow.pools.add(pool)
            uow.pools.add(Pool("p0", "二号"))
        with storage.transaction() as uow:
            assert uow.pools.get("p1") == pool
            assert uow.pools.get("nope") is None
            assert [p.id for p in uow.pools.list()] == ["p0", "p1"]
            newer = attrs.evolve(pool, name="新", version=2)
            uow.pools.update(newer, expected_version=1)
            with pytest.raises(Conflict) as stale:
                uow.pools.update(attrs.evolve(newer, version=3), expected_version=1)
            assert stale.value.code == "version_conflict"
        with storage.transaction() as uow:
            assert uow.pools.get("p1") == attrs.evolve(pool, name="新", version=2)
            uow.pools.delete("p0")
            assert uow.pools.get("p0") is None
        with pytest.raises(Conflict) as missing, storage.transaction() as uow:
            uow.pools.update(Pool("p0", "gone", version=2), expected_version=1)
        assert missing.value.code == "version_conflict"
        with storage.transaction() as uow:
            assert uow.pools.list() == [attrs.evolve(pool, name="新", version=2)]

    def test_random_pools_round_trip(self, storage: Storage) -> None:
        @self._settings()
        @given(pool=pools)
        def round_trip(pool: Pool) -> None:
            with self.discarded(storage) as uow:
                uow.pools.add(pool)
                assert uow.pools.get(pool.id) == pool
                assert uow.pools.list() == [pool]

        round_trip()

    # -- reclaim -------------------------------------------------------------------------------
    def check_sweep(self, storage: Storage, customers: Sequence[Customer],
                    opportunities: Sequence[Opportunity], team: Sequence[TeamMember],
                    pool: Pool, members: Sequence[str], now: datetime) -> int:
        """Storage == :func:`~crmkit.policies.reclaim.select` == the rule text, for the dry
        run (warned or not) and the sweep; the sweep changes exactly the selected customers
        and their team rows; a second sweep moves nothing. Rolled back. Returns how many
        moved."""
        spec = reclaim_spec(pool, members, now, TZ)
        ids = [c.id for c in customers]
        expected = expected_candidates(spec, customers, opportunities)
        unwarned = expected_candidates(spec, customers, opportunities, unwarned=True)
        assert _rows(expected) == [
            (c.id, c.owner_id, index, pool.rules[index].type)
            for c in sorted(customers, key=lambda c: c.id)
            if (index := rule_text_oracle(pool, members, c, opportunities, now)) is not None
        ], "policies.reclaim.select vs the rule text"
        moved = {c.customer_id for c in expected}
        by_id = {c.id: c for c in customers}
        after = ([_swept(by_id[cid], pool.id, now) if cid in moved else by_id[cid]
                  for cid in sorted(ids)],
                 [m for m in team if m.record_id not in moved])
        with self.discarded(storage) as uow:
            uow.records(CUSTOMER).add_many(customers)
            uow.records(OPPORTUNITY).add_many(opportunities)
            uow.team.put_many(team)
            uow.pools.add(pool)
            before = _state(uow, ids)
            assert uow.pools.candidates(spec) == expected, "storage vs policies.reclaim"
            assert uow.pools.candidates(spec, unwarned=True) == unwarned
            assert _state(uow, ids) == before, "a dry run changes nothing"
            assert uow.pools.reclaim(spec, now) == expected
            swept = _state(uow, ids)
            assert sorted(swept[0], key=lambda c: c.id) == after[0], (
                "exactly the selected customers move, as the port says")
            assert sorted(swept[1], key=attrs.astuple) == sorted(after[1], key=attrs.astuple)
            assert uow.pools.reclaim(spec, now) == [], "a second sweep moves nothing"
            assert uow.pools.candidates(spec) == []
            assert _state(uow, ids) == swept
        return len(moved)

    def test_sweep_selects_what_the_rule_text_says(self, staffed: Storage) -> None:
        @self._settings()
        @given(data=st.data(), now=_nows, rule_set=st.lists(reclaim_rules, min_size=1,
                                                            max_size=3),
               member_count=st.sampled_from([2, 1, 0]))
        def agree(data: st.DataObject, now: datetime, rule_set: list[ReclaimRule],
                  member_count: int) -> None:
            customers = data.draw(customer_sets(now), label="customers")
            opportunities = data.draw(opportunity_sets(customers, now), label="opportunities")
            pairs = data.draw(st.lists(st.tuples(st.sampled_from(customers),
                                                 st.sampled_from(USERS)), max_size=6),
                              label="team")
            team = list({(c.id, u): TeamMember(CUSTOMER, c.id, u, Access.READ)
                         for c, u in pairs}.values())
            members = MEMBERS[:member_count]
            pool = Pool("p0", "公海", member_user_ids=frozenset(members), rules=tuple(rule_set))
            moved = self.check_sweep(staffed, customers, opportunities, team, pool, members,
                                     now)
            target(moved, label="customers moved")

        agree()

    def test_sweep_at_the_edges_of_local_days(self, staffed: Storage) -> None:
        """Every base exactly on a rule's cutoff (local midnight N days ago) and 1 µs either
        side, for each rule type and each base (receive time, follow-up, newest
        opportunity)."""
        now = datetime(2026, 12, 2, 15, 59, 59, 999999, tzinfo=UTC)  # 23:59:59.999999 Beijing
        edge = timedelta(microseconds=1)
        for rule_type in RuleType:
            for n in (0, 1, 30):
                line = cutoff(now, n, TZ)
                old = line - timedelta(days=5)
                customers, opportunities = [], []
                for k, base in enumerate((line - edge, line, line + edge)):
                    received = sample_customer(f"r{k}", owner_id="m1", received_at=base,
                                               created_at=old)
                    followed = sample_customer(f"f{k}", owner_id="m1", received_at=old,
                                               created_at=old, last_followup_at=base)
                    created = sample_customer(f"c{k}", owner_id="m1", received_at=None,
                                              created_at=base)
                    with_opp = sample_customer(f"o{k}", owner_id="m1", received_at=old,
                                               created_at=old)
                    customers += [received, followed, created, with_opp]
                    opportunities.append(Opportunity(
                        id=f"op{k}", name="商机", customer_id=with_opp.id, owner_id="m1",
                        created_by=None, created_at=base, updated_at=base, stage_group_id="g1",
                        status=OpportunityStatus.WON))
                pool = Pool("p0", "公海", rules=(ReclaimRule(rule_type, days=n),))
                moved = self.check_sweep(staffed, customers, opportunities, [], pool, MEMBERS,
                                         now)
                # due: each base 1 µs before the cutoff, plus the bases the rule ignores
                assert moved == {RuleType.FOLLOWUP: 6, RuleType.OPPORTUNITY: 6,
                                 RuleType.DEAL: 8}[rule_type]

    def test_a_pool_without_rules_or_owners_selects_nobody(self, staffed: Storage) -> None:
        now = EPOCH + timedelta(days=100)
        with staffed.transaction() as uow:
            uow.records(CUSTOMER).add(sample_customer("c1", owner_id="m1"))
            ruled = Pool("p1", "公海", rules=(ReclaimRule(RuleType.FOLLOWUP, days=3),))
            for spec in (reclaim_spec(Pool("p1", "公海"), MEMBERS, now, TZ),
                         reclaim_spec(ruled, (), now, TZ)):
                assert uow.pools.candidates(spec) == []
                assert uow.pools.reclaim(spec, now) == []
            assert [c.customer_id for c in uow.pools.candidates(
                reclaim_spec(ruled, MEMBERS, now, TZ))] == ["c1"]

    def test_sweep_of_thousands_of_owners_and_customers(self, staffed: Storage) -> None:
        """Owner sets and moved sets far above any inline limit of a query."""
        members = [f"u{n:05d}" for n in range(31_000)]
        customers = [sample_customer(f"c{n:05d}", owner_id=members[n * 6]) for n in range(5000)]
        pool = Pool("p1", "公海", rules=(ReclaimRule(RuleType.FOLLOWUP, days=3),))
        spec = reclaim_spec(pool, members, EPOCH + timedelta(days=10), TZ)
        with self.discarded(staffed) as uow:
            uow.records(CUSTOMER).add_many(customers)
            uow.team.put_many([TeamMember(CUSTOMER, "c00001", "m1", Access.READ)])
            moved = uow.pools.reclaim(spec, spec.at)
            assert moved == expected_candidates(spec, customers, ())
            assert len(moved) == 5000
            assert uow.team.members_many(CUSTOMER, ["c00001"]) == []
            ids = [c.id for c in customers[::997]]
            assert uow.records(CUSTOMER).get_many(ids) == [
                _swept(c, "p1", spec.at) for c in customers[::997]]

    # -- take and put --------------------------------------------------------------------------
    def test_take_put_warn_and_claims(self, staffed: Storage) -> None:
        at = EPOCH + timedelta(days=3)
        with staffed.transaction() as uow:
            uow.records(CUSTOMER).add_many([
                sample_customer("c1", pool_id="p1", previous_owner_id="m2"),
                sample_customer("c2", pool_id="p1"),
                sample_customer("c3", pool_id="p2"),
                sample_customer("c4", owner_id="m1"),
                sample_customer("c5", owner_id="m2", pool_warned_at=EPOCH),
            ])
            uow.team.put_many([TeamMember(CUSTOMER, "c4", "m2", Access.WRITE),
                               TeamMember(CUSTOMER, "c5", "m1", Access.READ)])
        with staffed.transaction() as uow:
            assert uow.pools.take({}, "p1", "x1", at) == 0
            assert uow.pools.put({}, "p1", at) == []
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
            assert (c4.owner_id, c4.previous_owner_id, c4.pool_id, c4.pooled_at, c4.version,
                    c4.updated_at) == (None, "m1", "p1", at, 2, at)
            assert (c3.pool_id, c3.previous_owner_id) == ("p1", None), "kept when pool to pool"
            assert uow.team.members_many(CUSTOMER, ["c4", "c5"]) == [
                TeamMember(CUSTOMER, "c5", "m1", Access.READ)]
            uow.pools.mark_warned([], at)
            uow.pools.mark_warned(["c4", "c5", "nope"], at)
            assert [c.pool_warned_at for c in uow.records(CUSTOMER).get_many(["c4", "c5"])] == [
                at, at]
            assert uow.pools.take({"c4": 2}, "p1", "m2", at) == 1
            c4 = uow.records(CUSTOMER).get("c4")
            assert c4 is not None and c4.pool_warned_at is None
            uow.pools.lock_owners(["m1", "m2"])
            uow.pools.add_claims([("c1", "m1", at - timedelta(microseconds=1)),
                                  ("c2", "m1", at), ("c3", "m1", at + timedelta(hours=1)),
                                  ("c4", "m2", at)])
            assert uow.pools.claims_since("m1", at) == 2
            assert uow.pools.claims_since("m2", at) == 1
            assert uow.pools.claims_since("x1", EPOCH) == 0

    def test_moves_follow_the_port_rules_and_never_own_and_pool_at_once(
            self, staffed: Storage) -> None:
        """Random claims (take), releases and assignments (put), warnings and sweeps against
        a plain Python model: the same results, the same customers and team rows, a customer
        owned or pooled but never both, and the owned count a limit reads in step."""
        ids = [f"c{n}" for n in range(6)]
        versions = st.dictionaries(st.sampled_from([*ids, "nope"]), st.integers(1, 4),
                                   max_size=4)
        pool_ids = st.sampled_from(["p1", "p2"])
        operations = st.one_of(
            st.tuples(st.just("take"), versions, pool_ids, st.sampled_from(USERS)),
            st.tuples(st.just("put"), versions, pool_ids, st.none()),
            st.tuples(st.just("warn"), st.lists(st.sampled_from(ids), max_size=3), st.none(),
                      st.none()),
            st.tuples(st.just("sweep"), st.sampled_from([0, 1, 30]), pool_ids, st.none()),
        )

        @self._settings()
        @given(owners=st.lists(st.sampled_from([*USERS, "p1", "p2"]), min_size=6, max_size=6),
               start=st.lists(st.integers(1, 2), min_size=6, max_size=6),
               team=st.lists(st.tuples(st.sampled_from(ids), st.sampled_from(USERS)),
                             max_size=5),
               steps=st.lists(operations, min_size=1, max_size=8))
        def agree(owners: list[str], start: list[int], team: list[tuple[str, str]],
                  steps: list[tuple[str, Any, Any, Any]]) -> None:
            customers = [sample_customer(cid, version=version,
                                         **({"pool_id": owner} if owner.startswith("p")
                                            else {"owner_id": owner}))
                         for cid, owner, version in zip(ids, owners, start, strict=True)]
            members = list({(c, u): TeamMember(CUSTOMER, c, u, Access.READ)
                            for c, u in team}.values())
            model = _Model({c.id: c for c in customers}, list(members))
            with self.discarded(staffed) as uow:
                uow.records(CUSTOMER).add_many(customers)
                uow.team.put_many(members)
                for n, (name, arg, pool_id, user) in enumerate(steps, start=1):
                    at = EPOCH + timedelta(days=n)
                    if name == "take":
                        uow.pools.lock_owners([user])
                        assert uow.pools.take(arg, pool_id, user, at) == model.take(
                            arg, pool_id, user, at)
                    elif name == "put":
                        assert uow.pools.put(arg, pool_id, at) == model.put(arg, pool_id, at)
                    elif name == "warn":
                        uow.pools.mark_warned(arg, at)
                        for cid in arg:
                            model.customers[cid] = attrs.evolve(model.customers[cid],
                                                                pool_warned_at=at)
                    else:
                        rules = (ReclaimRule(RuleType.FOLLOWUP, days=arg),)
                        spec = reclaim_spec(Pool(pool_id, "公海", rules=rules), MEMBERS,
                                            at + timedelta(days=40), TZ)
                        assert uow.pools.reclaim(spec, at) == model.reclaim(spec, at)
                    stored, stored_team = _state(uow, ids)
                    assert stored == [model.customers[cid] for cid in ids], (name, arg)
                    assert sorted(stored_team, key=attrs.astuple) == sorted(
                        model.team, key=attrs.astuple)
                    assert not [c.id for c in stored if c.owner_id and c.pool_id], (
                        "owned_or_pooled")
                    owned = Counter(c.owner_id for c in stored)
                    assert {u: _owned_count(uow, u) for u in USERS} == {
                        u: owned[u] for u in USERS}

        agree()

    # -- warnings, claims, locks, rollback -----------------------------------------------------
    def test_mark_warned_sets_only_the_warning_time(self, staffed: Storage) -> None:
        at = EPOCH + timedelta(days=2)
        many = [sample_customer(f"c{n:05d}", owner_id="m1") for n in range(3000)]
        with staffed.transaction() as uow:
            uow.records(CUSTOMER).add_many(many)
            uow.pools.mark_warned([c.id for c in many[1:]], at)
        with staffed.transaction() as uow:
            assert uow.records(CUSTOMER).get_many([c.id for c in many]) == [
                many[0], *(attrs.evolve(c, pool_warned_at=at) for c in many[1:])]

    def test_claims_since_counts_the_claims_at_or_after_a_time(self, staffed: Storage) -> None:
        moments = st.integers(0, 6).map(lambda h: EPOCH + timedelta(hours=h))
        nudged = st.builds(lambda t, nudge: t + nudge, moments, _nudge)

        @self._settings()
        @given(claims=st.lists(st.tuples(st.sampled_from(["c1", "c2", "c3"]),
                                         st.sampled_from(USERS), nudged), max_size=12),
               batches=st.integers(1, 3), since=nudged)
        def agree(claims: list[tuple[str, str, datetime]], batches: int,
                  since: datetime) -> None:
            with self.discarded(staffed) as uow:
                uow.pools.add_claims([])
                for n in range(batches):
                    uow.pools.add_claims(claims[n::batches])
                for user in USERS:
                    assert uow.pools.claims_since(user, since) == sum(
                        1 for _c, u, at in claims if u == user and at >= since)
                    assert uow.pools.claims_since(user, since.astimezone(TZ)) == (
                        uow.pools.claims_since(user, since))

        agree()

    def test_lock_owners_takes_any_ids_and_changes_nothing(self, staffed: Storage) -> None:
        with staffed.transaction() as uow:
            uow.records(CUSTOMER).add(sample_customer("c1", owner_id="m1"))
        with staffed.transaction() as uow:
            uow.pools.lock_owners([])
            uow.pools.lock_owners(["m2", "m1", "nobody"])
            uow.pools.lock_owners(["m1"])  # twice in one transaction
            assert uow.records(CUSTOMER).get("c1") == sample_customer("c1", owner_id="m1")
            assert _owned_count(uow, "m1") == 1

    def test_a_rolled_back_transaction_leaves_no_pool_write(self, staffed: Storage) -> None:
        at = EPOCH + timedelta(days=40)
        customers = [sample_customer("c1", owner_id="m1"), sample_customer("c2", pool_id="p1"),
                     sample_customer("c3", owner_id="m2")]
        pool = Pool("p1", "公海", rules=(ReclaimRule(RuleType.FOLLOWUP, days=3),))
        with staffed.transaction() as uow:
            uow.records(CUSTOMER).add_many(customers)
            uow.team.put_many([TeamMember(CUSTOMER, "c1", "m2", Access.READ)])
            uow.pools.add(pool)
        with pytest.raises(Boom), staffed.transaction() as uow:
            uow.pools.add(Pool("p2", "二号"))
            uow.pools.update(attrs.evolve(pool, name="改", version=2), expected_version=1)
            assert uow.pools.take({"c2": 1}, "p1", "m1", at) == 1
            assert uow.pools.put({"c3": 1}, "p2", at) == ["c3"]
            assert len(uow.pools.reclaim(reclaim_spec(pool, MEMBERS, at, TZ), at)) == 1
            uow.pools.mark_warned(["c1", "c2", "c3"], at)
            uow.pools.add_claims([("c2", "m1", at)])
            raise Boom
        with staffed.transaction() as uow:
            assert uow.pools.list() == [pool]
            assert uow.records(CUSTOMER).get_many(["c1", "c2", "c3"]) == customers
            assert uow.team.members_many(CUSTOMER, ["c1"]) == [
                TeamMember(CUSTOMER, "c1", "m2", Access.READ)]
            assert uow.pools.claims_since("m1", EPOCH) == 0
