"""Memory statistics: the reference interpreter (:mod:`crmkit.policies.statistics`) over the
stored records (contract lines and payment plans joined as the policy reads them)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from crmkit.entities.statistics import GroupBy, Measure, Tally, TallyRow
from crmkit.policies.statistics import (
    MEASURE_KIND,
    CustomerCampaigns,
    plan_states,
    sold_lines,
    tally,
    tally_ids,
)


class MemoryStatistics:
    def __init__(self, tables: Mapping[str, Any]) -> None:
        self._tables = tables
        """Record kind (or ``followup``, ``payment_plan``) → its memory table (``rows``: id →
        entity)."""

    def _rows(self, kind: str) -> dict[str, Any]:
        rows: dict[str, Any] = self._tables[kind].rows
        return rows

    def _records(self, spec: Tally) -> Iterable[Any]:
        if spec.measure is Measure.PRODUCTS:
            return sold_lines(self._rows("contract").values())
        if spec.measure in (Measure.PLANNED, Measure.OVERDUE):
            return plan_states(self._rows("payment_plan").values(), self._rows("contract"),
                               self._rows("payment").values())
        return self._rows(MEASURE_KIND[spec.measure]).values()

    def _customers(self, spec: Tally) -> CustomerCampaigns:
        """Each customer's campaign, when the tally reads campaigns."""
        if GroupBy.CAMPAIGN not in (spec.by, spec.then) and spec.campaign_ids is None:
            return {}
        return {c.id: c.campaign_id for c in self._rows("customer").values()}

    def tally(self, spec: Tally) -> list[TallyRow]:
        return tally(spec, self._records(spec), self._customers(spec))

    def ids(self, spec: Tally, *, after: str | None = None, limit: int = 100) -> list[str]:
        return tally_ids(spec, self._records(spec), after, limit, self._customers(spec))
