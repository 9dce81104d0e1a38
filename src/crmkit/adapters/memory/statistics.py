"""Memory statistics: the reference interpreter (:mod:`crmkit.policies.statistics`) over the
stored records."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crmkit.entities.statistics import Tally, TallyRow
from crmkit.policies.statistics import MEASURE_KIND, tally, tally_ids


class MemoryStatistics:
    def __init__(self, tables: Mapping[str, Any]) -> None:
        self._tables = tables
        """Record kind (or ``followup``) → its memory table (``rows``: id → entity)."""

    def _records(self, spec: Tally) -> Iterable[Any]:
        rows: dict[str, Any] = self._tables[MEASURE_KIND[spec.measure]].rows
        return rows.values()

    def tally(self, spec: Tally) -> list[TallyRow]:
        return tally(spec, self._records(spec))

    def ids(self, spec: Tally, *, after: str | None = None, limit: int = 100) -> list[str]:
        return tally_ids(spec, self._records(spec), after, limit)
