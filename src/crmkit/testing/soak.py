"""A seeded, time-bounded mixed load on PostgreSQL, then the invariants it must not break.

:func:`run_soak` builds a small sales org in a private schema, starts ``processes`` processes
of ``threads`` threads each (released together by barriers), and lets every thread run random
operations until the time is up: create customers (from a small set of names, so they clash),
edit them under their version, follow up, transfer, release, claim, assign, move between pools,
sweep, create products (clashing codes) and primary contacts. Each thread has its own seed
(``seed``, process, thread), so a run is repeatable up to the interleaving.

Then it checks, on the stored data:

- ``owned_or_pooled``: no customer is both owned and in a pool;
- ``owned_limit``: nobody owns more customers than their limit;
- ``unique_names`` / ``unique_codes``: no two customers share a name, no two products a code;
- ``one_primary``: no customer has two primary contacts;
- ``log_replays``: each customer's operation log, replayed from its creation, chains owner and
  pool changes one into the next and ends at the stored owner and pool;
- ``log_counts``: per action (transfer, release, claim, assign, move, reclaim) the log holds
  exactly as many entries as the successful calls reported moving;
- ``crmkit_errors_only``: every refused call raised a crmkit error (never a raw database error).

``bench/soak.py`` runs it at full scale; ``tests/workflow/test_soak.py`` for a few seconds.
"""

from __future__ import annotations

import multiprocessing
import queue
import random
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import attrs
from sqlalchemy import Engine, func, select

from crmkit import SystemActor
from crmkit.adapters.sqlalchemy import SqlStorage, make_engine, metadata
from crmkit.adapters.sqlalchemy.tables import contacts, customers, operation_log, products
from crmkit.app import CRM
from crmkit.errors import CrmError, ValidationError

MOVES = {"transfer": "transfer", "release": "release", "claim": "claim", "assign": "assign",
         "move": "move_pool", "sweep": "reclaim"}
"""Operation of the load → the log action of each customer it moves."""

SWEEPER = SystemActor("soak: sweep")

OPERATIONS = ("create", "edit", "follow_up", "transfer", "release", "claim", "assign", "move",
              "sweep", "product", "contact")
WEIGHTS = (14, 10, 10, 12, 12, 14, 6, 4, 1, 6, 8)


@attrs.frozen
class SoakOrg:
    """Ids the workers act with."""

    boss: str
    manager: str
    reps: tuple[str, ...]
    pools: tuple[str, str]
    limits: dict[str, int]


@attrs.define
class SoakReport:
    """Per operation, outcome → count (``ok``, ``Conflict:<code>``, …); customers moved per log
    action; the invariants (name → problems found, empty when it holds)."""

    seconds: float
    processes: int
    threads: int
    seed: int
    outcomes: dict[str, Counter[str]]
    moved: Counter[str]
    invariants: dict[str, list[str]]
    customers: int

    @property
    def ok(self) -> bool:
        return not any(self.invariants.values())

    @property
    def calls(self) -> int:
        return sum(sum(c.values()) for c in self.outcomes.values())

    def table(self) -> str:
        """The report as plain text: one row per operation, then one per invariant."""
        lines = [f"{self.processes} processes × {self.threads} threads, {self.seconds:.0f} s, "
                 f"seed {self.seed}: {self.calls} calls ({self.calls / self.seconds:.0f}/s), "
                 f"{self.customers} customers",
                 f"{'operation':<10} {'calls':>6} {'ok':>6} {'conflict':>9} {'refused':>8} "
                 f"{'moved':>6}  most frequent refusals"]
        for name in OPERATIONS:
            counted = self.outcomes.get(name, Counter())
            conflicts = sum(n for k, n in counted.items() if k.startswith("Conflict"))
            refused = sum(counted.values()) - counted["ok"] - conflicts
            top = ", ".join(f"{k} {n}" for k, n in counted.most_common() if k != "ok")[:60]
            moved = self.moved.get(MOVES.get(name, ""), "")
            lines.append(f"{name:<10} {sum(counted.values()):>6} {counted['ok']:>6} "
                         f"{conflicts:>9} {refused:>8} {moved!s:>6}  {top}")
        lines.append("invariant            result")
        for name, problems in self.invariants.items():
            result = "holds" if not problems else f"BROKEN ({len(problems)}): {problems[:3]}"
            lines.append(f"{name:<20} {result}")
        return "\n".join(lines)


def run_soak(url: str, *, seconds: float, processes: int = 2, threads: int = 4,
             seed: int = 11, reps: int = 6) -> SoakReport:
    """Run the load on the PostgreSQL at ``url`` (in a private schema, dropped afterwards)."""
    with _private_schema(url, threads + 4) as (engine, schema):
        org, moved = _setup(engine, reps, random.Random(seed))
        context = multiprocessing.get_context("spawn")
        barrier = context.Barrier(processes)
        results = context.Queue()
        workers = [context.Process(target=_process, args=(
            url, schema, org, seed, n, threads, seconds, barrier, results))
            for n in range(processes)]
        for worker in workers:
            worker.start()
        outcomes: dict[str, Counter[str]] = defaultdict(Counter)
        raw: list[str] = []
        for counted, units, errors in _collect(workers, results, seconds + 120):
            for name, outcome in counted.items():
                outcomes[name].update(outcome)
            moved.update(units)
            raw.extend(errors)
        for worker in workers:
            worker.join(timeout=60)
        invariants = _check(engine, org, moved)
        invariants["crmkit_errors_only"] = raw
        total = _scalar(engine, select(func.count()).select_from(customers))
        return SoakReport(seconds, processes, threads, seed, dict(outcomes), moved, invariants,
                          total)


def _collect(workers: list[Any], results: Any, timeout: float) -> Iterator[Any]:
    """Each worker's result; a worker that died without one fails the run at once."""
    deadline = time.monotonic() + timeout
    for _ in workers:
        while True:
            try:
                yield results.get(timeout=1)
                break
            except queue.Empty:
                dead = [w.exitcode for w in workers if w.exitcode not in (None, 0)]
                if dead or time.monotonic() > deadline:
                    for worker in workers:
                        worker.terminate()
                    raise RuntimeError(f"soak workers failed (exit codes {dead})") from None


# -- setup -------------------------------------------------------------------------------------


@contextmanager
def _private_schema(url: str, pool_size: int) -> Iterator[tuple[Engine, str]]:
    schema = f"crmkit_soak_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    engine = _engine(url, schema, pool_size)
    try:
        metadata.create_all(engine)
        yield engine, schema
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def _engine(url: str, schema: str, pool_size: int) -> Engine:
    return make_engine(url, connect_args={"options": f"-csearch_path={schema}"},
                       pool_size=pool_size, max_overflow=0)


def _setup(engine: Engine, reps: int, rng: random.Random) -> tuple[SoakOrg, Counter[str]]:
    """The org, three customers per rep (one of them released), and what that moved."""
    crm = CRM(SqlStorage(engine))
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    roles = {r.code: r.id for r in crm.org.list_roles(boss) if r.code}
    sales = crm.org.add_department(boss, {"name": "销售部", "parent_id": top.id})
    manager = crm.org.add_user(boss, {"mobile": "13900000000", "name": "经理",
                                      "department_id": sales.id,
                                      "role_ids": [roles["sales_manager"]]})
    people = [crm.org.add_user(boss, {
        "mobile": f"139{n:08d}", "name": f"销售{n}", "department_id": sales.id,
        "role_ids": [roles["sales_rep"]], "supervisor_id": manager.id})
        for n in range(1, reps + 1)]
    limits = {p.id: rng.randint(8, 20) for p in people}
    crm.customers.set_limits(boss, [{"user_id": u, "max_owned": n} for u, n in limits.items()])
    pools = [crm.pool.create_pool(boss, {
        "name": name, "admin_ids": [manager.id], "member_department_ids": [sales.id],
        "rules": [{"type": "followup", "days": 3}] if n == 0 else []})
        for n, name in enumerate(("公海", "重点公海"))]
    moved: Counter[str] = Counter()
    for person in people:
        created = [crm.customers.create(person, {"name": f"起始客户{person.mobile}-{k}"})
                   for k in range(3)]
        moved["release"] += len(crm.pool.release(manager, [created[0].id], pools[0].id))
    return SoakOrg(boss.id, manager.id, tuple(p.id for p in people),
                   (pools[0].id, pools[1].id), limits), moved


# -- the load ----------------------------------------------------------------------------------


def _process(url: str, schema: str, org: SoakOrg, seed: int, number: int, threads: int,
             seconds: float, barrier: Any, results: Any) -> None:
    engine = _engine(url, schema, threads + 2)
    crm = CRM(SqlStorage(engine))
    outcomes: dict[str, Counter[str]] = defaultdict(Counter)
    moved: Counter[str] = Counter()
    raw: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(threads)
    barrier.wait()
    deadline = time.monotonic() + seconds

    def work(thread: int) -> None:
        load = _Load(crm, org, random.Random(f"{seed}-{number}-{thread}"))
        start.wait()
        while time.monotonic() < deadline:
            name, outcome, units, error = load.step()
            with lock:
                outcomes[name][outcome] += 1
                if units:
                    moved[MOVES[name]] += units
                if error:
                    raw.append(error)

    pool = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    engine.dispose()
    results.put((dict(outcomes), moved, raw))


class _Load:
    """One thread's random operations, with its own view of which customers exist."""

    def __init__(self, crm: CRM, org: SoakOrg, rng: random.Random) -> None:
        self.crm, self.org, self.rng = crm, org, rng
        self.owned: list[str] = []
        self.pooled: dict[str, list[str]] = {p: [] for p in org.pools}
        self.steps = 0
        self.method = crm.followups.methods(org.manager)[0]

    def step(self) -> tuple[str, str, int, str]:
        """(operation, outcome, customers moved, traceback of a non-crmkit error)."""
        if self.steps % 10 == 0:
            self._refresh()
        self.steps += 1
        name = self.rng.choices(OPERATIONS, WEIGHTS)[0]
        try:
            units = getattr(self, f"_{name}")()
        except CrmError as err:
            code = err.errors[0].code if isinstance(err, ValidationError) else err.code
            return name, f"{type(err).__name__}:{code}", 0, ""
        except Exception as err:  # reported as a broken invariant
            return name, f"raw:{type(err).__name__}", 0, traceback.format_exc(limit=4)
        return name, "ok", units, ""

    def _refresh(self) -> None:
        page = self.crm.customers.list(self.org.manager, {"limit": 200, "scene": "all"})
        self.owned = [c.id for c in page.items if c.owner_id is not None]
        for pool_id in self.org.pools:
            listed = self.crm.pool.customers(self.org.manager, pool_id, {"limit": 100})
            self.pooled[pool_id] = [c.id for c in listed.items]

    def _some(self, ids: list[str], most: int = 1) -> list[str]:
        return self.rng.sample(ids, min(len(ids), self.rng.randint(1, most))) if ids else [
            "missing"]

    def _rep(self) -> str:
        return self.rng.choice(self.org.reps)

    def _pool(self) -> str:
        return self.rng.choice(self.org.pools)

    def _create(self) -> int:
        customer = self.crm.customers.create(self._rep(), {
            "name": f"客户{self.rng.randrange(400)}"})
        self.owned.append(customer.id)
        return 0

    def _edit(self) -> int:
        customer = self.crm.customers.get(self.org.manager, self._some(self.owned)[0])
        self.crm.customers.update(self.org.manager, customer.id,
                                  {"remark": f"备注{self.rng.randrange(1000)}"},
                                  expected_version=customer.version)
        return 0

    def _follow_up(self) -> int:
        self.crm.followups.add(self.org.manager, "customer", self._some(self.owned)[0],
                               {"method": self.method, "content": "电话沟通"})
        return 0

    def _transfer(self) -> int:
        report = self.crm.customers.transfer(self.org.manager, self._some(self.owned, 2),
                                             self._rep())
        return report.moved

    def _release(self) -> int:
        ids, pool_id = self._some(self.owned, 2), self._pool()
        moved = len(self.crm.pool.release(self.org.manager, ids, pool_id))
        self._moved(ids, self.owned, self.pooled[pool_id])
        return moved

    def _claim(self) -> int:
        pool_id = self._pool()
        ids = self._some(self.pooled[pool_id], 2)
        taken = len(self.crm.pool.claim(self._rep(), ids))
        self._moved(ids, self.pooled[pool_id], self.owned)
        return taken

    def _assign(self) -> int:
        pool_id = self._pool()
        ids = self._some(self.pooled[pool_id])
        taken = len(self.crm.pool.assign(self.org.manager, ids, self._rep()))
        self._moved(ids, self.pooled[pool_id], self.owned)
        return taken

    def _move(self) -> int:
        source, target = self.rng.sample(self.org.pools, 2)
        ids = self._some(self.pooled[source], 2)
        moved = len(self.crm.pool.move(self.org.manager, ids, target))
        self._moved(ids, self.pooled[source], self.pooled[target])
        return moved

    @staticmethod
    def _moved(ids: list[str], source: list[str], target: list[str]) -> None:
        """This thread's view after a successful move (others refresh theirs from storage)."""
        for cid in ids:
            if cid in source:
                source.remove(cid)
            target.append(cid)

    def _sweep(self) -> int:
        at = datetime.now(UTC) + timedelta(days=self.rng.choice((1, 5)))
        return len(self.crm.pool.sweep(SWEEPER, at=at).reclaimed)

    def _product(self) -> int:
        self.crm.products.create(self.org.boss, {
            "name": "产品", "code": f"P{self.rng.randrange(200)}", "price": "10"})
        return 0

    def _contact(self) -> int:
        self.crm.contacts.create(self.org.manager, {
            "name": "联系人", "customer_id": self._some(self.owned)[0], "primary": True})
        return 0


# -- the invariants ----------------------------------------------------------------------------


def _scalar(engine: Engine, statement: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(statement).scalar_one())


def _rows(engine: Engine, statement: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(statement).all())


def _check(engine: Engine, org: SoakOrg, moved: Counter[str]) -> dict[str, list[str]]:
    c = customers.c
    found: dict[str, list[str]] = {}
    found["owned_or_pooled"] = [r.id for r in _rows(engine, select(c.id).where(
        c.owner_id.is_not(None), c.pool_id.is_not(None)))]
    owned = dict(_rows(engine, select(c.owner_id, func.count()).where(
        c.owner_id.is_not(None)).group_by(c.owner_id)))
    found["owned_limit"] = [f"{u}: {owned.get(u, 0)} > {n}" for u, n in org.limits.items()
                            if owned.get(u, 0) > n]
    found["unique_names"] = _duplicates(engine, c.name)
    found["unique_codes"] = _duplicates(engine, products.c.code)
    found["one_primary"] = _duplicates(engine, contacts.c.customer_id,
                                       contacts.c.primary.is_(True))
    stored = {r.id: (r.owner_id, r.pool_id) for r in _rows(engine, select(
        c.id, c.owner_id, c.pool_id))}
    log = operation_log.c
    entries: dict[str, list[Any]] = defaultdict(list)
    for entry in _rows(engine, select(log.record_id, log.action, log.changes).where(
            log.record_kind == "customer").order_by(log.record_id, log.id)):
        entries[entry.record_id].append(entry)
    found["log_replays"] = [problem for cid, state in stored.items()
                            if (problem := _replay(cid, entries[cid], state))]
    counted = Counter(e.action for rows in entries.values() for e in rows)
    found["log_counts"] = [f"{action}: log {counted[action]} ≠ moved {moved[action]}"
                           for action in MOVES.values() if counted[action] != moved[action]]
    return found


def _duplicates(engine: Engine, column: Any, *where: Any) -> list[str]:
    statement = select(column).where(*where).group_by(column).having(func.count() > 1)
    return [str(r[0]) for r in _rows(engine, statement)]


OWNER_POOL = ("owner_id", "pool_id")


def _replay(customer_id: str, entries: list[Any], stored: tuple[str | None, str | None]
            ) -> str:
    """'' when the owner/pool changes chain from creation to the stored values; else why not.
    Entries come in id order (time-ordered ids, generated as each operation runs; a sweep's
    ``at`` may lie days ahead, so ``at`` does not order them); the next one is the first whose
    old values are the current ones."""
    state: dict[str, Any] = {"owner_id": None, "pool_id": None}
    moves: list[tuple[dict[str, Any], dict[str, Any], str]] = []
    for entry in entries:
        changes = {ch["field"]: ch for ch in entry.changes if ch["field"] in OWNER_POOL}
        if entry.action == "create":
            state.update({k: ch["new"] for k, ch in changes.items()})
        elif changes:
            moves.append(({k: ch["old"] for k, ch in changes.items()},
                          {k: ch["new"] for k, ch in changes.items()}, entry.action))
    while moves:
        following = next((m for m in moves
                          if all(state[k] == v for k, v in m[0].items())), None)
        if following is None:
            return f"{customer_id}: no logged change starts from {state}: {moves[:3]}"
        moves.remove(following)
        state.update(following[1])
    if (state["owner_id"], state["pool_id"]) != stored:
        return f"{customer_id}: the log ends at {state}, stored {stored}"
    return ""
