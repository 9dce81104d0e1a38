"""Memory pool repository: the reference interpreter of reclaim specs."""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import attrs

from crmkit.adapters.memory.records import MemoryRecords, MemoryTeam, UndoDict
from crmkit.entities.pool import Pool, ReclaimCandidate, ReclaimSpec
from crmkit.entities.sales import CUSTOMER, OpportunityStatus
from crmkit.errors import Conflict
from crmkit.policies.pool_moves import (
    previous_owner,
    put_values,
    puttable,
    take_values,
    takeable,
)
from crmkit.policies.reclaim import select

Undo = Callable[[], None]


class MemoryPools(UndoDict[str, Pool]):
    def __init__(self, undo: list[Undo], customers: MemoryRecords,
                 opportunities: MemoryRecords, team: MemoryTeam) -> None:
        super().__init__(undo)
        self._customers = customers
        self._opportunities = opportunities
        self._team = team
        self._claims: UndoDict[int, tuple[str, str, datetime]] = UndoDict(undo)

    def get(self, pool_id: str) -> Pool | None:
        return self.rows.get(pool_id)

    def list(self) -> builtins.list[Pool]:
        return [self.rows[k] for k in sorted(self.rows)]

    def add(self, pool: Pool) -> None:
        self._set(pool.id, pool)

    def update(self, pool: Pool, *, expected_version: int) -> None:
        current = self.rows.get(pool.id)
        if current is None or current.version != expected_version:
            raise Conflict("version_conflict", "公海设置已被他人修改",
                           "the pool was changed by someone else")
        self._set(pool.id, pool)

    def delete(self, pool_id: str) -> None:
        self._drop(pool_id)

    def _opportunity_facts(self) -> dict[str, tuple[datetime | None, bool]]:
        facts: dict[str, tuple[datetime | None, bool]] = {}
        for opp in self._opportunities.rows.values():
            newest, open_ = facts.get(opp.customer_id, (None, False))
            if newest is None or opp.created_at > newest:
                newest = opp.created_at
            facts[opp.customer_id] = (newest, open_ or opp.status is OpportunityStatus.IN_PROGRESS)
        return facts

    def candidates(
        self, spec: ReclaimSpec, *, unwarned: bool = False
    ) -> builtins.list[ReclaimCandidate]:
        facts = self._opportunity_facts()
        found = []
        for customer in sorted(self._customers.rows.values(), key=lambda c: c.id):
            if unwarned and customer.pool_warned_at is not None:
                continue
            newest, open_ = facts.get(customer.id, (None, False))
            picked = select(spec, customer, newest, open_)
            if picked is not None:
                found.append(picked)
        return found

    def reclaim(self, spec: ReclaimSpec, at: datetime) -> builtins.list[ReclaimCandidate]:
        moved = self.candidates(spec)
        for candidate in moved:
            old: Any = self._customers.rows[candidate.customer_id]
            self._customers._set(old.id, attrs.evolve(
                old, **put_values(spec.pool_id, at), previous_owner_id=previous_owner(old),
                version=old.version + 1, updated_at=at))
        self._team.clear(CUSTOMER, [c.customer_id for c in moved])
        return moved

    def take(self, versions: Mapping[str, int], pool_id: str, owner_id: str, at: datetime
             ) -> int:
        taken = 0
        for customer_id, version in versions.items():
            old = self._customers.rows.get(customer_id)
            if old is None or old.version != version or not takeable(old, pool_id):
                continue
            self._customers._set(customer_id, attrs.evolve(
                old, **take_values(owner_id, at), version=old.version + 1, updated_at=at))
            taken += 1
        return taken

    def put(self, versions: Mapping[str, int], pool_id: str, at: datetime
            ) -> builtins.list[str]:
        moved = []
        for customer_id, version in versions.items():
            old = self._customers.rows.get(customer_id)
            if old is None or old.version != version or not puttable(old, pool_id):
                continue
            self._customers._set(customer_id, attrs.evolve(
                old, **put_values(pool_id, at), previous_owner_id=previous_owner(old),
                version=old.version + 1, updated_at=at))
            moved.append(customer_id)
        self._team.clear(CUSTOMER, moved)
        return moved

    def lock_owners(self, user_ids: Sequence[str]) -> None:
        """Memory transactions are serial already."""

    def mark_warned(self, customer_ids: Sequence[str], at: datetime) -> None:
        for customer_id in customer_ids:
            old = self._customers.rows.get(customer_id)
            if old is not None:
                self._customers._set(customer_id, attrs.evolve(old, pool_warned_at=at))

    def add_claims(self, claims: Sequence[tuple[str, str, datetime]]) -> None:
        for claim in claims:
            self._claims._set(len(self._claims.rows), claim)

    def claims_since(self, user_id: str, since: datetime) -> int:
        return sum(1 for _c, user, at in self._claims.rows.values()
                   if user == user_id and at >= since)
