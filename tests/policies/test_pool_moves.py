"""公海 moves written once (issue 13.4): what a take and a put move and set, and what the log
says; the stores apply these (memory) or write them in one UPDATE (SQL), and
the pool storage contract (:mod:`crmkit.testing.pool`) holds the stores to each other."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities import FieldChange
from crmkit.entities.sales import Customer
from crmkit.policies.pool_moves import (
    move_changes,
    previous_owner,
    put_values,
    puttable,
    take_values,
    takeable,
)

T0 = datetime(2026, 11, 2, tzinfo=UTC)
AT = datetime(2026, 11, 3, tzinfo=UTC)
owners = st.sampled_from([None, "u1", "u2"])
pools = st.sampled_from([None, "p1", "p2"])


def customer(owner: str | None, pool: str | None, previous: str | None = None) -> Customer:
    return Customer("c1", "客户", owner, "u1", T0, T0, pool_id=pool, previous_owner_id=previous,
                    pool_warned_at=T0)


@given(owner=owners, pool=pools, target=st.sampled_from(["p1", "p2"]))
def test_a_take_moves_an_unowned_customer_of_the_pool(owner: str | None, pool: str | None,
                                                      target: str) -> None:
    c = customer(owner, pool)
    assert takeable(c, target) is (pool == target and owner is None)
    taken = attrs.evolve(c, **take_values("u9", AT))
    assert (taken.owner_id, taken.pool_id, taken.received_at, taken.pool_warned_at) == (
        "u9", None, AT, None)


@given(owner=owners, pool=pools, previous=owners, target=st.sampled_from(["p1", "p2"]))
def test_a_put_moves_what_is_not_in_the_pool_and_keeps_who_owned_it_last(
        owner: str | None, pool: str | None, previous: str | None, target: str) -> None:
    c = customer(owner, pool, previous)
    assert puttable(c, target) is (pool != target)
    put = attrs.evolve(c, **put_values(target, AT), previous_owner_id=previous_owner(c))
    assert (put.owner_id, put.pool_id, put.pooled_at, put.pool_warned_at) == (
        None, target, AT, None)
    assert put.previous_owner_id == (owner if owner is not None else previous)


def test_the_log_of_a_move_is_owner_and_pool_before_and_after() -> None:
    assert move_changes(customer(None, "p1"), take_values("u9", AT)) == (
        FieldChange("owner_id", None, "u9"), FieldChange("pool_id", "p1", None))
    assert move_changes(customer("u1", None), put_values("p2", AT)) == (
        FieldChange("owner_id", "u1", None), FieldChange("pool_id", None, "p2"))
