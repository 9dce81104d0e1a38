"""The mixed-load soak (:mod:`crmkit.testing.soak`) at CI scale on PostgreSQL: 2 processes × 3
threads for a few seconds of creating, editing, following up, transferring, releasing,
claiming, assigning, moving and sweeping; then no customer is both owned and pooled, limits
and uniqueness hold, one primary contact per customer, the log replays to the stored owner and
pool and counts exactly the customers moved, and only crmkit errors came out.
``bench/soak.py`` runs the same at full scale."""

from __future__ import annotations

import pytest

from crmkit.testing.soak import run_soak

SECONDS = 4


@pytest.mark.postgres
def test_a_short_mixed_load_keeps_every_invariant(pg_url: str) -> None:
    report = run_soak(pg_url, seconds=SECONDS, processes=2, threads=3, seed=20261102)
    print("\n" + report.table())
    assert report.ok, report.table()
    assert report.calls > 0 and report.outcomes["create"]["ok"] > 0
