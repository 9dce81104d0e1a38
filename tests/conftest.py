"""Shared test setup: hypothesis profiles, the PostgreSQL URL (tests skip without it) and the
private PostgreSQL schemas built on it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, Phase, settings
from sqlalchemy import Engine

from pg_schemas import private_pg_schema

settings.register_profile("dev", max_examples=60)
settings.register_profile(
    "ci",
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("db", max_examples=30, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow,
                                                 HealthCheck.function_scoped_fixture])
settings.register_profile(  # bench/mutate.py: a failure is enough, no time spent shrinking it
    "mutate", max_examples=60, deadline=None, derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))

PG_URL = os.environ.get("CRMKIT_TEST_PG_URL")


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The PostgreSQL URL from ``CRMKIT_TEST_PG_URL``; the test is skipped when it is unset."""
    if not PG_URL:
        pytest.skip("CRMKIT_TEST_PG_URL is not set")
    return PG_URL


@pytest.fixture(scope="module")
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """One private schema per test module (:func:`pg_schemas.private_pg_schema`); empty it per
    test with :func:`pg_schemas.empty_pg_storage`."""
    with private_pg_schema(pg_url) as engine:
        yield engine


@pytest.fixture(scope="session")
def pg_session_engine(pg_url: str) -> Iterator[Engine]:
    """One private schema for session-scoped worlds."""
    with private_pg_schema(pg_url) as engine:
        yield engine
