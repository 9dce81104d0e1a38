"""Shared test setup: hypothesis profiles and the PostgreSQL URL (tests skip without it)."""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, Phase, settings

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
