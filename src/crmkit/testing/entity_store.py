"""The generic entity store contract (:mod:`crmkit.ports.entity_store`), one test per rule,
each run on every kind of :data:`~crmkit.ports.entity_store.ENTITY_KINDS`.

:class:`EntityStoreContract` is part of :class:`crmkit.testing.RecordStorageContract`, so
every storage adapter that proves its record repositories proves its generic stores too. The
samples (:data:`ENTITY_SAMPLES`) tie on the first sort attribute and are added out of id
order, so ``list`` must really sort by every attribute of the kind's order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

import attrs
import pytest

from crmkit.entities.leads import LEAD
from crmkit.entities.records import Comment, Scene
from crmkit.entities.sales import (
    OpportunityStatus,
    PriceChange,
    ProductCategory,
    Stage,
    StageChange,
    StageGroup,
)
from crmkit.entities.statistics import Target, TargetMeasure
from crmkit.entities.tasks import Tag
from crmkit.errors import Conflict
from crmkit.ports import Storage, UnitOfWork
from crmkit.ports.entity_store import ENTITY_KINDS, EntityKind, EntityStore
from crmkit.testing.storage import T0, StorageSuite

__all__ = ["ENTITY_SAMPLES", "EntitySample", "EntityStoreContract"]

_GOING = OpportunityStatus.IN_PROGRESS


@attrs.frozen
class EntitySample:
    """How the contract reaches and fills one generic store: the unit of work's attribute,
    the ``n``-th sample entity, and a ``list`` filter that admits some samples, not all."""

    store: str
    make: Callable[[int], Any]
    where: Mapping[str, object]


ENTITY_SAMPLES: dict[str, EntitySample] = {
    "scene": EntitySample(
        "scenes",
        lambda n: Scene(f"s{n}", f"u{n % 2}", LEAD if n % 3 else "customer", f"场景{n}",
                        order=n % 3),
        {"user_id": "u1", "record_kind": LEAD},
    ),
    "stage_group": EntitySample(
        "stage_groups",
        lambda n: StageGroup(f"g{n}", f"组{n}", (Stage("s1", "接洽", Decimal(f"{n}.25")),),
                             frozenset({f"d{n % 2}"}), enabled=n % 2 == 0),
        {"enabled": False},
    ),
    "category": EntitySample(
        "categories",
        lambda n: ProductCategory(f"c{n}", f"类{n}", "c-root" if n % 2 else None),
        {"parent_id": "c-root"},
    ),
    "price_change": EntitySample(
        "price_changes",
        lambda n: PriceChange(f"pc{n}", f"P{n % 2}", Decimal("1.00"), Decimal(f"{n}.50"),
                              T0 + timedelta(days=n % 3), "u1" if n % 2 else None),
        {"product_id": "P1"},
    ),
    "stage_change": EntitySample(
        "stage_changes",
        lambda n: StageChange(f"sc{n}", f"O{n % 2}", None, f"s{n}", _GOING,
                              OpportunityStatus.WON if n % 2 else _GOING,
                              T0 + timedelta(days=n % 3), "u1"),
        {"opportunity_id": "O1"},
    ),
    "comment": EntitySample(
        "comments",
        lambda n: Comment(f"cm{n}", "task" if n % 3 else "work_log", f"T{n % 2}", f"u{n}",
                          f"评论{n}", T0 + timedelta(minutes=n % 3),
                          f"cm{n - 1}" if n % 2 else None),
        {"record_kind": "task", "record_id": "T1"},
    ),
    "tag": EntitySample(
        "tags",
        lambda n: Tag(f"tg{n}", f"u{n % 2}", ("重要", "Zeta", "alpha")[n % 3],
                      f"#00{n}0{n}0"[:7]),
        {"owner_id": "u1"},
    ),
    "target": EntitySample(
        "targets",
        lambda n: Target(f"t{n}", 2025 + n % 3, TargetMeasure.CONTRACT_AMOUNT if n % 2
                         else TargetMeasure.PAYMENT_AMOUNT,
                         tuple(Decimal(f"{n * 100 + month}.25") for month in range(12)),
                         user_id=f"u{n}" if n % 2 else None,
                         department_id=None if n % 2 else f"d{n}"),
        {"measure": TargetMeasure.CONTRACT_AMOUNT},
    ),
}
"""Entity kind name → how the contract tests its store (one per kind of ``ENTITY_KINDS``)."""

_KINDS = pytest.mark.parametrize("kind", ENTITY_KINDS, ids=lambda k: k.kind)


def _store(uow: UnitOfWork, kind: EntityKind[Any]) -> EntityStore[Any]:
    store: EntityStore[Any] = getattr(uow, ENTITY_SAMPLES[kind.kind].store)
    return store


def _samples(kind: EntityKind[Any], count: int = 9) -> list[Any]:
    """``count`` samples, shuffled (a seeded order), so insertion order tells nothing."""
    samples = [ENTITY_SAMPLES[kind.kind].make(n) for n in range(count)]
    random.Random(kind.kind).shuffle(samples)
    return samples


def _in_order(kind: EntityKind[Any], entities: list[Any]) -> list[Any]:
    """The rule ``list`` keeps: by the kind's attributes, all ascending or all descending."""
    return sorted(entities, key=lambda e: tuple(getattr(e, a) for a in kind.order),
                  reverse=kind.descending)


class EntityStoreContract(StorageSuite):
    """The rules of :mod:`crmkit.ports.entity_store` on every generic store."""

    def test_every_kind_has_a_sample(self) -> None:
        assert sorted(ENTITY_SAMPLES) == sorted(k.kind for k in ENTITY_KINDS)

    @_KINDS
    def test_entity_round_trip_and_order(self, storage: Storage, kind: EntityKind[Any]) -> None:
        samples = _samples(kind)
        where = ENTITY_SAMPLES[kind.kind].where
        with storage.transaction() as uow:
            for entity in samples:
                _store(uow, kind).add(entity)
        with storage.transaction() as uow:
            store = _store(uow, kind)
            assert [store.get(e.id) for e in samples] == samples
            assert store.get("nope") is None
            assert store.list() == _in_order(kind, samples)
            chosen = [e for e in samples
                      if all(getattr(e, k) == v for k, v in where.items())]
            assert 0 < len(chosen) < len(samples)
            assert store.list(**where) == _in_order(kind, chosen)
            assert store.list(id="nope") == []

    @_KINDS
    def test_entity_update_is_versioned(self, storage: Storage, kind: EntityKind[Any]) -> None:
        first = ENTITY_SAMPLES[kind.kind].make(1)
        with storage.transaction() as uow:
            _store(uow, kind).add(first)
        if not hasattr(first, "version"):
            # Append-only histories: every update is refused, nothing changes.
            with pytest.raises(Conflict) as refused, storage.transaction() as uow:
                _store(uow, kind).update(ENTITY_SAMPLES[kind.kind].make(1), expected_version=1)
            assert refused.value.code == "version_conflict"
            with storage.transaction() as uow:
                assert _store(uow, kind).get(first.id) == first
            return
        newer = attrs.evolve(first, version=first.version + 1)
        with pytest.raises(Conflict) as stale, storage.transaction() as uow:
            _store(uow, kind).update(newer, expected_version=first.version + 1)
        assert stale.value.code == "version_conflict"
        with pytest.raises(Conflict), storage.transaction() as uow:
            _store(uow, kind).update(attrs.evolve(newer, id="nope"),
                                     expected_version=first.version)
        with storage.transaction() as uow:
            assert _store(uow, kind).get(first.id) == first
            _store(uow, kind).update(newer, expected_version=first.version)
        with storage.transaction() as uow:
            assert _store(uow, kind).get(first.id) == newer

    @_KINDS
    def test_entity_delete_and_rollback(self, storage: Storage, kind: EntityKind[Any]) -> None:
        first, second = (ENTITY_SAMPLES[kind.kind].make(n) for n in (1, 2))
        with storage.transaction() as uow:
            _store(uow, kind).add(first)
            _store(uow, kind).add(second)
        with self.discarded(storage) as uow:
            _store(uow, kind).delete(first.id)
            _store(uow, kind).add(ENTITY_SAMPLES[kind.kind].make(3))
        with storage.transaction() as uow:
            assert _in_order(kind, [first, second]) == _store(uow, kind).list()
            _store(uow, kind).delete(first.id)
            _store(uow, kind).delete("nope")
        with storage.transaction() as uow:
            assert _store(uow, kind).list() == [second]
            assert _store(uow, kind).get(first.id) is None


