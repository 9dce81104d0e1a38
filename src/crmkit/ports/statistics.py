"""Storage port of the dashboard statistics (统计): tallies and the ids behind them.

Rules every adapter keeps (``crmkit.testing.StatisticsContract`` checks them against the
reference interpreter :func:`crmkit.policies.statistics.tally`):
- ``tally(spec)`` returns exactly the rows the reference interpreter returns for the stored
  records: one per (bucket, key) holding records, sorted by bucket then key (None first), with
  exact counts and exact decimal sums — set-based (one aggregate statement on SQL stores);
- ``ids(spec, after=…, limit=…)`` returns the ids of the records the tally counts, ascending,
  only ids greater than ``after`` (keyset paging), at most ``limit``.
"""

from __future__ import annotations

from typing import Protocol

from crmkit.entities.statistics import Tally, TallyRow


class StatisticsRepository(Protocol):
    def tally(self, spec: Tally) -> list[TallyRow]: ...

    def ids(self, spec: Tally, *, after: str | None = None, limit: int = 100) -> list[str]: ...
