"""One CRM per process, shared by threads (issue 12 #8).

Eight threads act at once as four different sales reps through one CRM while another thread
keeps changing the organisation (each change moves the org version, so the shared scope cache is
rebuilt under the readers). Every rep's list shows exactly the leads that rep created, nothing is
lost, and every transfer's notification is delivered once. Memory, a SQLite file and PostgreSQL.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from crmkit import CRM
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.entities import User
from crmkit.ports import Storage

from .conftest import make_storage

REPS = 4
THREADS = 8
LEADS_PER_THREAD = 4


@pytest.fixture(params=["memory", "sqlite-file", "postgres"])
def shared_storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    if request.param == "sqlite-file":
        from crmkit.adapters.sqlalchemy import SqlStorage

        storage: Storage = SqlStorage(f"sqlite:///{tmp_path / 'crm.db'}")
        storage.create_schema()
    else:
        storage = make_storage(request.param, request)
    yield storage
    close = getattr(storage, "close", None)
    if close is not None:
        close()


def test_one_crm_serves_many_threads_while_the_org_changes(shared_storage: Storage) -> None:
    notifier = OutboxNotifier()
    crm = CRM(shared_storage, notifier=notifier)
    boss = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    top = crm.org.list_departments(boss)[0]
    rep_role = next(r for r in crm.org.list_roles(boss) if r.code == "sales_rep")
    reps: list[User] = [
        crm.org.add_user(boss, {"mobile": f"1390000000{i}", "name": f"rep{i}",
                                "department_id": top.id, "role_ids": [rep_role.id]})
        for i in range(REPS)
    ]
    def visible(user: User) -> set[str]:
        return {lead.id for lead in crm.leads.list(user.id, {"limit": 200}).items}

    created: dict[str, list[str]] = {rep.id: [] for rep in reps}
    lock = threading.Lock()
    running = threading.Event()
    running.set()

    def rep_work(n: int) -> None:
        rep = reps[n % REPS]
        for k in range(LEADS_PER_THREAD):
            lead = crm.leads.create(rep.id, {"name": f"线索 {n}-{k}"})
            with lock:
                created[rep.id].append(lead.id)
            assert lead.id in visible(rep)

    def org_work() -> int:
        changes = 0
        while running.is_set() and changes < 12:
            crm.org.add_department(boss, {"name": f"部门 {changes}", "parent_id": top.id})
            changes += 1
            time.sleep(0.02)
        return changes

    with ThreadPoolExecutor(THREADS + 1) as pool:
        org_changes = pool.submit(org_work)
        for future in [pool.submit(rep_work, n) for n in range(THREADS)]:
            future.result()
        running.clear()
        assert org_changes.result() >= 1

    for rep in reps:
        assert visible(rep) == set(created[rep.id])
        assert len(created[rep.id]) == THREADS // REPS * LEADS_PER_THREAD
    assert len(visible(boss)) == THREADS * LEADS_PER_THREAD

    def transfer(rep: User) -> None:
        crm.leads.transfer(boss.id, created[rep.id], reps[0].id)

    with ThreadPoolExecutor(REPS - 1) as pool:
        list(pool.map(transfer, reps[1:]))
    assert len(visible(reps[0])) == THREADS * LEADS_PER_THREAD
    assert sorted(n.recipient_id for n in notifier.sent) == [reps[0].id] * (REPS - 1)
