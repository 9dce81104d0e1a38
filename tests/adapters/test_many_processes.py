"""Many processes, one PostgreSQL database: scope caches follow org changes made by another
process (the org version lives in the database); a sweep or warning run started in several
processes at once does its work once (``lock_job``); several workers drain the outbox without
delivering a message twice (``FOR UPDATE SKIP LOCKED``). Real processes (fork), real races
(a barrier starts them together)."""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from crmkit import SystemActor, build_crm
from crmkit.adapters.clocks import FixedClock
from crmkit.entities import Module, Notification

from .conftest import private_pg_schema

pytestmark = pytest.mark.postgres

START = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
WORKERS = 3
_fork = multiprocessing.get_context("fork")


@pytest.fixture
def url(pg_url: str) -> Iterator[str]:
    """A URL whose connections live in a fresh, empty private schema (dropped afterwards)."""
    with private_pg_schema(pg_url, tables=False) as engine, engine.connect() as conn:
        schema = conn.exec_driver_sql("SELECT current_schema()").scalar()
        separator = "&" if "?" in pg_url else "?"
        yield f"{pg_url}{separator}options={quote(f'-csearch_path={schema}')}"


def _in_processes(target: Callable[..., Any], *args: Any, count: int = WORKERS) -> list[Any]:
    """Run ``target(barrier, *args)`` in ``count`` processes started together; their results."""
    barrier, results = _fork.Barrier(count), _fork.Queue()

    def child() -> None:
        try:
            results.put(("ok", target(barrier, *args)))
        except BaseException as err:  # reported to the test, not lost in the child
            barrier.abort()
            results.put(("error", repr(err)))

    processes = [_fork.Process(target=child) for _ in range(count)]
    for process in processes:
        process.start()
    found = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    assert [outcome for outcome, _ in found] == ["ok"] * count, found
    return [result for _, result in found]


def _pool_jobs(barrier: Any, url: str, at: datetime, job: str) -> int:
    crm = build_crm(url, create_schema=False, clock=FixedClock(at))
    barrier.wait()
    jobs = SystemActor(f"test: pool {job}")
    return crm.pool.warn(jobs) if job == "warn" else len(crm.pool.sweep(jobs).reclaimed)


def test_warnings_and_sweep_started_in_several_processes_run_once(url: str) -> None:
    crm = build_crm(url, clock=FixedClock(START))
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    rep_role = next(r.id for r in crm.org.list_roles(boss) if r.code == "sales_rep")
    rep = crm.org.add_user(boss, {"mobile": "13900000001", "name": "张三",
                                  "department_id": top.id, "role_ids": [rep_role]})
    crm.pool.create_pool(boss, {"name": "公海", "admin_ids": [boss.id],
                                "member_department_ids": [top.id], "warn_days": 3,
                                "rules": [{"type": "followup", "days": 30}]})
    customers = 12
    for n in range(customers):
        crm.customers.create(rep, {"name": f"客户{n}"})

    warned = _in_processes(_pool_jobs, url, START + timedelta(days=29), "warn")
    assert sorted(warned) == [0] * (WORKERS - 1) + [customers]
    reclaimed = _in_processes(_pool_jobs, url, START + timedelta(days=32), "sweep")
    assert sorted(reclaimed) == [0] * (WORKERS - 1) + [customers]
    assert crm.outbox is not None
    kinds = [m.notification.kind for m in crm.outbox.pending(1000)
             if m.notification.recipient_id == rep.id]
    assert kinds == ["pool.warning", "pool.reclaim"]  # one of each, not one per process


def _drain(barrier: Any, url: str) -> list[int]:
    crm = build_crm(url, create_schema=False)
    assert crm.outbox is not None
    barrier.wait()
    mine: list[int] = []
    while batch := crm.outbox.claim(limit=7, lease_seconds=600):
        mine.extend(m.id for m in batch)
        assert crm.outbox.mark_delivered([m.id for m in batch]) == len(batch)
    return mine


def test_several_workers_drain_the_outbox_without_double_delivery(url: str) -> None:
    crm = build_crm(url)
    assert crm.outbox is not None
    crm.outbox.send([Notification(f"u{n % 5}", "test", f"第{n}条", f"note {n}")
                     for n in range(150)])
    everything = [m.id for m in crm.outbox.pending(1000)]
    per_worker = _in_processes(_drain, url, count=4)
    delivered = [message_id for ids in per_worker for message_id in ids]
    assert sorted(delivered) == sorted(everything)  # each exactly once
    assert crm.outbox.pending() == []


def _move_user(barrier: Any, url: str, admin_id: str, user_id: str, department_id: str) -> None:
    crm = build_crm(url, create_schema=False)
    barrier.wait()
    crm.org.update_user(admin_id, user_id, {"department_id": department_id})


def test_a_scope_cached_in_one_process_follows_an_org_change_made_in_another(url: str) -> None:
    crm = build_crm(url)
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    sales = crm.org.add_department(boss, {"name": "销售部", "parent_id": top.id})
    finance = crm.org.add_department(boss, {"name": "财务部", "parent_id": top.id})
    roles = {r.code: r.id for r in crm.org.list_roles(boss)}
    lee = crm.org.add_user(boss, {"mobile": "13900000001", "name": "李经理",
                                  "department_id": sales.id, "role_ids": [roles["sales_manager"]]})
    amy = crm.org.add_user(boss, {"mobile": "13900000002", "name": "Amy",
                                  "department_id": sales.id, "role_ids": [roles["sales_rep"]]})
    assert crm.org.visible_scope(lee, Module.CUSTOMERS).admits(amy.id)  # now cached here

    _in_processes(_move_user, url, boss.id, amy.id, finance.id, count=1)
    assert not crm.org.visible_scope(lee, Module.CUSTOMERS).admits(amy.id)
