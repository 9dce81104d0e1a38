"""Trust under concurrency (issue 11, items 10–12b): racing writers on a SQLite file and on
PostgreSQL (a private schema per test), threads released together by a barrier.

- 10: a scope is cached under an org version no newer than the roles it was resolved from, so
  a reader racing a role change never keeps the old scope.
- 11: 16 writers at once cannot break the owned-customer limit, the unique customer name, the
  unique product code or "one primary contact per customer"; every loser gets the same crmkit
  error as a sequential caller (never a raw database error).
- 12: of two transfers of the same customer exactly one wins (the other: ``Conflict``
  ``version_conflict``); the operation log names the final owner.
- 12b: a release racing a transfer, a claim, another release: exactly one wins, a customer is
  never both owned and in a pool, and only real moves are counted and logged.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.adapters.org_directory import StorageOrgDirectory
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.entities import Module, OrgSnapshot, User
from crmkit.errors import Conflict, CrmError, RuleViolation, ValidationError
from crmkit.workflow.pool import PoolService
from crmkit.workflow.record_access import RecordAccess

from . import test_approval_concurrency as concurrency
from .test_approval_concurrency import T0, race

storage = concurrency.storage  # a SQLite file / a private PostgreSQL schema, many connections

WRITERS = 16
ROUNDS = 4


@dataclass
class Team:
    crm: CRM
    boss: User
    manager: User
    reps: list[User]
    pool_id: str
    roles: dict[str, str]
    sales_id: str
    backend: str


def make_team(storage: SqlStorage, **crm_kw: Any) -> Team:
    crm = CRM(storage, clock=FixedClock(T0), notifier=OutboxNotifier(), **crm_kw)
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(boss) if r.code}
    sales = crm.org.add_department(boss, {"name": "销售部", "parent_id": top.id})

    def user(n: int, role: str, supervisor: User) -> User:
        return crm.org.add_user(boss, {
            "mobile": f"139{n:08d}", "name": f"员工{n}", "department_id": sales.id,
            "role_ids": [roles[role]], "supervisor_id": supervisor.id})

    manager = user(0, "sales_manager", boss)
    reps = [user(n, "sales_rep", manager) for n in range(1, 4)]
    pool = crm.pool.create_pool(boss, {"name": "公海", "member_department_ids": [sales.id],
                                       "admin_ids": [manager.id]})
    return Team(crm, boss, manager, reps, pool.id, roles, sales.id,
                storage.engine.dialect.name)


@pytest.fixture
def team(storage: SqlStorage) -> Team:
    return make_team(storage)


def outcomes(results: list[tuple[str, Any]]) -> Counter[str]:
    """``ok`` or ``<ErrorType>:<code>`` per call; a non-crmkit error fails the test."""
    counted: Counter[str] = Counter()
    for kind, value in results:
        if kind == "ok":
            counted["ok"] += 1
            continue
        assert isinstance(value, CrmError), repr(value)
        code = value.errors[0].code if isinstance(value, ValidationError) else value.code
        counted[f"{type(value).__name__}:{code}"] += 1
    return counted


# -- 10: the scope cache ---------------------------------------------------------------------


class PausingDirectory(StorageOrgDirectory):
    """Holds the first version read of a marked thread until a role change has committed: the
    window between a reader's roles read and its version read."""

    def __init__(self, storage: SqlStorage) -> None:
        super().__init__(storage)
        self.reader: int | None = None
        self.reading = threading.Event()
        self.changed = threading.Event()

    def org_version(self) -> int:
        if threading.get_ident() == self.reader:
            self.reader = None
            self.reading.set()
            self.changed.wait(timeout=10)
        return super().org_version()

    def org_snapshot(self) -> OrgSnapshot:
        return super().org_snapshot()


def test_a_reader_racing_a_role_change_never_caches_the_old_scope(storage: SqlStorage) -> None:
    if storage.engine.dialect.name == "sqlite":
        pytest.skip("SQLite runs one transaction at a time: the window cannot open")
    directory = PausingDirectory(storage)
    team = make_team(storage, directory=directory)
    crm, rep, other = team.crm, team.reps[0], team.reps[1]
    theirs = crm.customers.create(other, {"name": "别人的客户"})
    assert crm.customers.list(rep).items == ()  # 张三 sees only his own: the scope is cached

    def reader() -> Any:
        directory.reader = threading.get_ident()
        return crm.customers.list(rep)  # roles read, then paused before the version read

    def promote() -> Any:
        directory.reading.wait(timeout=10)
        try:
            return crm.org.update_user(team.boss, rep.id,
                                       {"role_ids": [team.roles["sales_manager"]]})
        finally:
            directory.changed.set()

    (read_kind, _), (change_kind, _) = race(reader, promote)
    assert (read_kind, change_kind) == ("ok", "ok")
    # after the change every read sees the manager's scope (his department's customers)
    assert [c.id for c in crm.customers.list(rep).items] == [theirs.id]
    assert crm.org.visible_scope(rep, Module.CUSTOMERS).owner_ids >= {other.id}


def test_scopes_match_the_roles_after_concurrent_role_flips(team: Team) -> None:
    """Readers list while the boss flips a rep's role back and forth; once quiet, the cached
    scope of every rep is the one his current roles give."""
    crm, reps = team.crm, team.reps
    for rep in reps:
        crm.customers.create(rep, {"name": f"客户{rep.id}"})
    flips = [team.roles["sales_manager"], team.roles["sales_rep"]] * 3

    def flipper(rep: User) -> None:
        for role in flips:
            crm.org.update_user(team.boss, rep.id, {"role_ids": [role]})

    def reader(rep: User) -> None:
        for _ in range(len(flips) * 2):
            crm.customers.list(rep)

    results = race(*(partial(flipper, r) for r in reps[:2]),
                   *(partial(reader, r) for r in reps for _ in range(2)))
    assert outcomes(results) == {"ok": len(results)}
    for rep in reps:
        expected = {rep.id}
        assert {c.owner_id for c in crm.customers.list(rep).items} == expected


# -- 11: check-then-insert invariants ------------------------------------------------------------


def owned(crm: CRM, user: User) -> int:
    return crm.customers.list(user, {"scene": "mine", "with_total": True}).total or 0


def writers(call: Callable[[int], Any]) -> Counter[str]:
    return outcomes(race(*(partial(call, n) for n in range(WRITERS))))


def test_sixteen_creators_never_pass_the_owned_customer_limit(team: Team) -> None:
    crm, rep = team.crm, team.reps[0]
    crm.customers.set_limits(team.boss, [{"user_id": rep.id, "max_owned": 5}])
    crm.customers.create(rep, {"name": "已有客户"})
    counted = writers(lambda n: crm.customers.create(rep, {"name": f"新客户{n}"}))
    assert counted == {"ok": 4, "RuleViolation:customer.owned_limit": WRITERS - 4}, counted
    assert owned(crm, rep) == 5


def test_sixteen_transfers_and_claims_never_pass_the_owned_customer_limit(team: Team) -> None:
    crm, rep, giver = team.crm, team.reps[0], team.reps[1]
    crm.customers.set_limits(team.boss, [{"user_id": rep.id, "max_owned": 6}])
    given = [crm.customers.create(giver, {"name": f"转移{n}"}).id for n in range(WRITERS // 2)]
    pooled = [crm.customers.create(giver, {"name": f"公海{n}"}).id for n in range(WRITERS // 2)]
    crm.pool.release(giver, pooled, pool_id=team.pool_id)

    def gain(n: int) -> Any:
        if n % 2:
            return crm.customers.transfer(giver, [given[n // 2]], rep.id)
        return crm.pool.claim(rep, [pooled[n // 2]])

    counted = writers(gain)
    assert counted["ok"] == 6 and sum(counted.values()) == WRITERS, counted
    assert set(counted) == {"ok", "RuleViolation:customer.owned_limit"}, counted
    assert owned(crm, rep) == 6


def test_sixteen_creators_of_one_customer_name_leave_one_customer(team: Team) -> None:
    crm = team.crm
    counted = writers(lambda n: crm.customers.create(team.reps[n % 3], {"name": "华为"}))
    assert counted == {"ok": 1, "ValidationError:unique": WRITERS - 1}, counted
    names = [c.name for c in crm.customers.list(team.boss).items]
    assert names.count("华为") == 1


def test_sixteen_creators_of_one_product_code_leave_one_product(team: Team) -> None:
    crm = team.crm
    counted = writers(lambda n: crm.products.create(team.boss, {
        "name": f"产品{n}", "code": "P-001", "price": "10"}))
    assert counted == {"ok": 1, "ValidationError:unique": WRITERS - 1}, counted
    codes = [p.code for p in crm.products.list(team.boss).items]
    assert codes.count("P-001") == 1


def test_sixteen_primary_contacts_of_one_customer_leave_one_primary(team: Team) -> None:
    crm, rep = team.crm, team.reps[0]
    customer = crm.customers.create(rep, {"name": "华为"})
    first = crm.contacts.create(rep, {"name": "老王", "customer_id": customer.id,
                                      "primary": True})

    def write(n: int) -> Any:
        if n % 4 == 0:
            return crm.contacts.update(rep, first.id, {"primary": True})
        return crm.contacts.create(rep, {"name": f"联系人{n}", "customer_id": customer.id,
                                         "primary": True})

    counted = writers(write)
    contacts = crm.customers.detail(rep, customer.id).contacts
    assert sum(1 for c in contacts if c.primary) == 1, counted
    # a writer clearing the old primary may lose to a concurrent edit of that contact
    # (optimistic lock, a clean Conflict); every other write is kept
    assert set(counted) <= {"ok", "Conflict:version_conflict"}, counted
    created = sum(1 for n in range(WRITERS) if n % 4)
    assert created - (WRITERS - counted["ok"]) <= len(contacts) - 1 <= created


# -- 12: transfers honour the version ------------------------------------------------------------


class HeldAfterRead:
    """On PostgreSQL, holds every caller right after it read the records it will change until
    ``parties`` callers have read them: both sides of a race then act on the same state (the
    window is certain, not lucky). SQLite runs one transaction at a time: nothing is held."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, team: Team, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=60)
        if team.backend == "sqlite":
            return
        for owner, name in ((RecordAccess, "editable_many"), (PoolService, "_pooled")):
            monkeypatch.setattr(owner, name, self._held(getattr(owner, name)))

    def _held(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def held(*args: Any) -> Any:
            found = read(*args)
            self.barrier.wait()
            return found
        return held

    def reset(self) -> None:
        self.barrier.reset()


def replays(crm: CRM, boss: User, customer_id: str) -> list[str]:
    """The customer's log read oldest first: each owner/pool change starts from the value the
    previous one left, and the last values are the stored ones. Returns the actions."""
    customer = crm.customers.get(boss, customer_id)
    log = list(reversed(crm.customers.operation_log(boss, customer_id)))
    state: dict[str, Any] = {}
    for entry in log:
        for change in entry.changes:
            if change.field in ("owner_id", "pool_id"):
                if entry.action != "create":
                    assert state.get(change.field) == change.old, (entry, state)
                state[change.field] = change.new
    assert (state.get("owner_id"), state.get("pool_id")) == (customer.owner_id,
                                                              customer.pool_id), log
    assert customer.owner_id is None or customer.pool_id is None
    return [e.action for e in log]


def test_two_transfers_of_one_customer_one_wins_and_the_log_agrees(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    crm, owner, a, b = team.crm, team.reps[0], team.reps[1], team.reps[2]
    held = HeldAfterRead(monkeypatch, team, 2)
    for i in range(ROUNDS):
        held.reset()
        customer = crm.customers.create(owner, {"name": f"客户{i}"})
        counted = outcomes(race(
            partial(crm.customers.transfer, team.manager, [customer.id], a.id),
            partial(crm.customers.transfer, team.manager, [customer.id], b.id)))
        actions = replays(crm, team.boss, customer.id)
        assert actions.count("transfer") == counted["ok"], (actions, counted)
        if team.backend == "sqlite":  # one after the other: both transfers happen, in order
            assert counted == {"ok": 2}, counted
        else:
            assert counted == {"ok": 1, "Conflict:version_conflict": 1}, counted


# -- 12b: pool moves conditioned on the state they read ----------------------------------------


def test_a_release_racing_a_transfer_one_wins_never_both(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    crm, owner, target = team.crm, team.reps[0], team.reps[1]
    held = HeldAfterRead(monkeypatch, team, 2)
    for i in range(ROUNDS):
        held.reset()
        customer = crm.customers.create(owner, {"name": f"客户{i}"})
        results = race(
            partial(crm.pool.release, team.manager, [customer.id], team.pool_id),
            partial(crm.customers.transfer, team.manager, [customer.id], target.id))
        counted = outcomes(results)
        actions = replays(crm, team.boss, customer.id)
        assert actions.count("release") + actions.count("transfer") == counted["ok"]
        if team.backend == "sqlite":  # serial: a transfer after the release is refused
            assert set(counted) <= {"ok", "PermissionDenied:record.read_only"}, counted
        else:
            assert counted == {"ok": 1, "Conflict:version_conflict": 1}, counted
        if results[0][0] == "ok":
            assert len(results[0][1]) == 1


def test_racing_releases_then_racing_claims_move_and_log_each_customer_once(
        team: Team, monkeypatch: pytest.MonkeyPatch) -> None:
    crm, owner = team.crm, team.reps[0]
    held = HeldAfterRead(monkeypatch, team, 3)
    for i in range(ROUNDS):
        customer = crm.customers.create(owner, {"name": f"客户{i}"})
        held.reset()
        released = race(*(partial(crm.pool.release, team.manager, [customer.id], team.pool_id)
                          for _ in range(3)))
        counted = outcomes(released)
        assert counted["ok"] >= 1, counted
        assert set(counted) <= {"ok", "Conflict:version_conflict",
                                "PermissionDenied:record.read_only"}, counted
        assert sum(len(r) for kind, r in released if kind == "ok") == 1, released
        held.reset()
        counted = outcomes(race(*(partial(crm.pool.claim, rep, [customer.id])
                                  for rep in team.reps)))
        assert counted["ok"] == 1 and set(counted) <= {
            "ok", "Conflict:pool.already_taken", "NotFound:record.not_found"}, counted
        assert replays(crm, team.boss, customer.id) == ["create", "release", "claim"]


@pytest.fixture
def sqlite_storage() -> Iterator[SqlStorage]:
    memory = SqlStorage("sqlite://")
    memory.create_schema()
    yield memory
    memory.engine.dispose()


def test_a_move_into_the_pool_a_customer_is_in_moves_and_logs_nothing(
        sqlite_storage: SqlStorage) -> None:
    team = make_team(sqlite_storage)
    crm, owner = team.crm, team.reps[0]
    customer = crm.customers.create(owner, {"name": "华为"})
    assert len(crm.pool.release(team.manager, [customer.id], team.pool_id)) == 1
    assert crm.pool.move(team.manager, [customer.id], team.pool_id) == []
    assert replays(crm, team.boss, customer.id) == ["create", "release"]


def test_every_loser_error_is_a_crmkit_error() -> None:
    """The outcome counter refuses foreign exceptions (a raw IntegrityError fails a race)."""
    with pytest.raises(AssertionError):
        outcomes([("error", RuntimeError("raw"))])
    assert outcomes([("error", RuleViolation("c", "x", "x")), ("ok", 1)]) == {
        "ok": 1, "RuleViolation:c": 1}
    assert outcomes([("error", Conflict("version_conflict", "x", "x"))]) == {
        "Conflict:version_conflict": 1}
