"""公海 moves as pure rules: which customers a take (领取 / 分配) or a put (放入公海 / 转移 /
回收) moves, what it sets on each and what the operation log says of it.

The memory store applies them to entities; the SQL store writes the same values in one UPDATE,
whose WHERE mirrors :func:`takeable` / :func:`puttable` (the pool storage contract holds the stores
to each other).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from crmkit.entities import FieldChange
from crmkit.entities.sales import Customer


def takeable(customer: Customer, pool_id: str) -> bool:
    """A take moves a customer still in ``pool_id`` that nobody owns."""
    return customer.pool_id == pool_id and customer.owner_id is None


def take_values(owner_id: str, at: datetime) -> dict[str, Any]:
    """What a take sets: the new owner, out of the pool, received now, no reclaim warning."""
    return {"owner_id": owner_id, "pool_id": None, "received_at": at, "pool_warned_at": None}


def puttable(customer: Customer, pool_id: str) -> bool:
    """A put moves a customer not in ``pool_id`` yet (owned, or in another pool)."""
    return customer.pool_id != pool_id


def put_values(pool_id: str, at: datetime) -> dict[str, Any]:
    """What a put sets besides the previous owner (:func:`previous_owner`): no owner, in
    ``pool_id`` since now, no reclaim warning."""
    return {"owner_id": None, "pool_id": pool_id, "pooled_at": at, "pool_warned_at": None}


def previous_owner(customer: Customer) -> str | None:
    """The previous owner a put records: the owner, else the one recorded before (a customer
    moved from pool to pool keeps who owned it last)."""
    return customer.owner_id or customer.previous_owner_id


def move_changes(customer: Customer, values: dict[str, Any]) -> tuple[FieldChange, ...]:
    """The operation log of one move: owner and pool, before → after."""
    return tuple(FieldChange(name, getattr(customer, name), values[name])
                 for name in ("owner_id", "pool_id"))
