"""Storage port of the public pool (公海): pools, the set-based reclaim, claim counting.

- ``candidates(spec)`` returns exactly the customers :func:`crmkit.policies.reclaim.select`
  picks (with the first matching clause's rule), ordered by customer id; ``unwarned=True``
  also skips customers whose ``pool_warned_at`` is set.
- ``reclaim(spec, at)`` moves exactly those customers into ``spec.pool_id`` in a few set-based
  statements: owner cleared, previous owner kept, ``pooled_at`` set, version + 1,
  ``updated_at`` set, ``pool_warned_at`` cleared, their team entries deleted; returns the
  candidates it moved. Running it again at the same time moves nothing.
- ``take`` and ``put`` change a customer only from the version the caller read: of two racing
  moves of one customer exactly one happens, and a customer is never both owned and in a pool.

:class:`crmkit.testing.PoolStorageContract` checks every rule here.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from crmkit.entities.pool import Pool, ReclaimCandidate, ReclaimSpec


class PoolRepository(Protocol):
    def get(self, pool_id: str) -> Pool | None: ...
    def list(self) -> builtins.list[Pool]: ...
    def add(self, pool: Pool) -> None: ...
    def update(self, pool: Pool, *, expected_version: int) -> None: ...
    def delete(self, pool_id: str) -> None: ...

    def candidates(
        self, spec: ReclaimSpec, *, unwarned: bool = False
    ) -> builtins.list[ReclaimCandidate]: ...

    def reclaim(self, spec: ReclaimSpec, at: datetime) -> builtins.list[ReclaimCandidate]: ...

    def mark_warned(self, customer_ids: Sequence[str], at: datetime) -> None:
        """Set ``pool_warned_at`` and nothing else (one statement per chunk); unknown ids are
        skipped."""
        ...

    def take(self, versions: Mapping[str, int], pool_id: str, owner_id: str, at: datetime
             ) -> int:
        """Give pool customers (id → the version the caller read) an owner, only those still
        in ``pool_id`` with no owner at that version (set-based, concurrency-safe): owner set,
        pool cleared, ``received_at`` and ``updated_at`` = ``at``, ``pool_warned_at`` cleared,
        version + 1. Unknown ids are skipped. Returns how many it took; the caller refuses a
        partial take."""
        ...

    def put(self, versions: Mapping[str, int], pool_id: str, at: datetime
            ) -> builtins.list[str]:
        """Move owned (or other pools') customers (id → the version the caller read) into
        ``pool_id``, only those still at that version and not in ``pool_id`` yet: previous
        owner kept (the owner, or for a customer of another pool its previous owner), owner
        cleared, ``pooled_at`` and ``updated_at`` = ``at``, ``pool_warned_at`` cleared,
        version + 1, team cleared. Returns the ids it moved, in the order given."""
        ...

    def lock_owners(self, user_ids: Sequence[str]) -> None:
        """Serialise, until the transaction ends, every operation that changes how many
        customers these users own or claim (the owned-customer limit and the daily claim
        limit are counted after this, so they hold under concurrency)."""
        ...

    def add_claims(self, claims: Sequence[tuple[str, str, datetime]]) -> None:
        """Record claims as ``(customer_id, user_id, at)``."""
        ...

    def claims_since(self, user_id: str, since: datetime) -> int:
        """How many customers ``user_id`` claimed at or after ``since``."""
        ...
