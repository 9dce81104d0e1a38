"""One :class:`~security.world.World` per backend and test session (memory, SQLite and, with
``CRMKIT_TEST_PG_URL``, PostgreSQL): the table's generated tests share it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from workflow.conftest import BACKENDS, make_storage

from .world import DECLARED, World


@pytest.fixture(scope="session", params=BACKENDS)
def world(request: pytest.FixtureRequest) -> Iterator[World]:
    storage = make_storage(request.param, request, DECLARED.values(),
                           pg_engine="pg_session_engine")
    clock = FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC))
    yield World(CRM(storage, clock=clock, ids=SequentialIds("w"), kinds=DECLARED.values()))
    close = getattr(storage, "close", None)
    if close is not None:
        close()


@pytest.fixture(scope="session")
def memory_world() -> World:
    """The permission side is decided before any record is read (the operation runner checks
    it first), so it is proved once, in memory, to keep the database runs affordable."""
    return World(CRM(clock=FixedClock(datetime(2026, 11, 2, 1, 0, tzinfo=UTC)),
                     ids=SequentialIds("m"), kinds=DECLARED.values()))
