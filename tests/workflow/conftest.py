"""A CRM per storage backend (memory, SQLite, PostgreSQL) with a small sample organisation."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

import attrs
import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.adapters.memory import MemoryStorage
from crmkit.adapters.notifiers import OutboxNotifier
from crmkit.entities.kinds import RecordKind
from crmkit.ports import Storage
from crmkit.testing.builders import SampleOrg, sample_org
from pg_schemas import empty_pg_storage

BACKENDS = ["memory", "sqlite", "postgres"]


def make_storage(kind: str, request: pytest.FixtureRequest,
                 kinds: Iterable[RecordKind[Any]] = (), *,
                 pg_engine: str = "pg_engine") -> Storage:
    """A fresh storage of one backend knowing crmkit's record kinds and ``kinds``; on PostgreSQL
    the private schema of the ``pg_engine`` fixture (one per module), emptied."""
    if kind == "memory":
        return MemoryStorage(kinds=kinds)
    from crmkit.adapters.sqlalchemy import SqlStorage

    if kind == "sqlite":
        storage = SqlStorage("sqlite://", kinds=kinds)
    else:
        storage = empty_pg_storage(request.getfixturevalue(pg_engine), kinds)
    storage.create_schema()
    return storage


@attrs.define
class Org(SampleOrg):
    """The sample org of crmkit.testing (办公室 → 销售部 → 一组; 办公室 → 财务部; no 赵会计),
    with its outbox notifier."""

    notifier: OutboxNotifier = attrs.field(factory=OutboxNotifier)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Storage]:
    storage = make_storage(request.param, request)
    yield storage
    close = getattr(storage, "close", None)  # a SQLite engine it built; PG's is the module's
    if close is not None:
        close()


@pytest.fixture
def org(backend: Storage) -> Org:
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    notifier = OutboxNotifier()
    crm = CRM(backend, clock=clock, ids=SequentialIds("id"), notifier=notifier)
    base = sample_org(crm, clock=clock, admin_password="s3cret-pass", accountant=False)
    return Org(**{f.name: getattr(base, f.name) for f in attrs.fields(SampleOrg)},
               notifier=notifier)
