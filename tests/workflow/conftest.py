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

BACKENDS = ["memory", "sqlite", "postgres"]


def make_storage(kind: str, request: pytest.FixtureRequest,
                 kinds: Iterable[RecordKind[Any]] = ()) -> Storage:
    """A fresh storage of one backend knowing crmkit's record kinds and ``kinds``."""
    if kind == "memory":
        return MemoryStorage(kinds=kinds)
    from crmkit.adapters.sqlalchemy import SqlStorage, metadata

    if kind == "sqlite":
        storage = SqlStorage("sqlite://", kinds=kinds)
    else:
        url = request.getfixturevalue("pg_url")
        storage = SqlStorage(url, kinds=kinds)
        storage.kinds_metadata.drop_all(storage.engine)
        metadata.drop_all(storage.engine)
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
    engine = getattr(storage, "engine", None)
    if engine is not None:
        engine.dispose()


@pytest.fixture
def org(backend: Storage) -> Org:
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    notifier = OutboxNotifier()
    crm = CRM(backend, clock=clock, ids=SequentialIds("id"), notifier=notifier)
    base = sample_org(crm, clock=clock, admin_password="s3cret-pass", accountant=False)
    return Org(**{f.name: getattr(base, f.name) for f in attrs.fields(SampleOrg)},
               notifier=notifier)
