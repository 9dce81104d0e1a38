"""One generic storage port for the simple per-entity stores (scenes, categories, comments,
tags …).

An :class:`EntityStore` keeps entities of one attrs class keyed by their ``id``: ``get``,
``list`` (optionally only those whose attributes equal the given values), ``add``, a versioned
``update`` and ``delete``. What differs between the stores is data, not code: an
:class:`EntityKind` names the entity, the word used in ``Conflict`` messages and the order
``list`` promises. ``crmkit.testing.EntityStoreContract`` checks every adapter against the
:data:`ENTITY_KINDS` below.

Rules every adapter keeps:
- ``list(**equal)`` returns the entities whose attribute ``name`` equals ``value`` for every
  pair given (all of them without pairs), sorted by :attr:`EntityKind.order` — ascending, or
  all descending with :attr:`EntityKind.descending` (newest first).
- ``update`` writes only when the stored entity's ``version`` is ``expected_version``; a stale,
  missing or unversioned (append-only history) entity → ``Conflict`` ``version_conflict``.
- ``delete`` of a missing id is a no-op.
"""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

import attrs

from crmkit.entities.records import Comment, Scene
from crmkit.entities.sales import PriceChange, ProductCategory, StageChange, StageGroup
from crmkit.entities.statistics import Target
from crmkit.entities.tasks import Tag

E = TypeVar("E")


@attrs.frozen
class EntityKind(Generic[E]):
    """What a generic store knows of its entity: the class, the name in ``Conflict`` messages,
    the attributes ``list`` sorts by (all ascending, or all descending)."""

    entity: type[E]
    kind: str
    order: tuple[str, ...] = ("id",)
    descending: bool = False


class EntityStore(Protocol[E]):
    """Entities of one class by id; see the module's rules."""

    def get(self, entity_id: str) -> E | None: ...
    def list(self, **equal: object) -> list[E]:
        """Entities whose attributes equal ``equal``'s values, in the kind's order."""
        ...
    def add(self, entity: E) -> None: ...
    def update(self, entity: E, *, expected_version: int) -> None: ...
    def delete(self, entity_id: str) -> None: ...


SCENES = EntityKind(Scene, "scene", order=("order", "id"))
"""Saved scenes; listed per (``user_id``, ``record_kind``) by (order, id)."""
STAGE_GROUPS = EntityKind(StageGroup, "stage_group")
"""商机组, by id."""
CATEGORIES = EntityKind(ProductCategory, "category")
"""The product category tree, by id."""
PRICE_CHANGES = EntityKind(PriceChange, "price_change", order=("at", "id"), descending=True)
"""价格变更记录; listed per ``product_id`` newest first (by ``at``, then id)."""
STAGE_CHANGES = EntityKind(StageChange, "stage_change", order=("at", "id"))
"""阶段变更记录; listed per ``opportunity_id`` oldest first (by ``at``, then id)."""
COMMENTS = EntityKind(Comment, "comment", order=("at", "id"))
"""评论; listed per (``record_kind``, ``record_id``) oldest first (by ``at``, then id)."""
TAGS = EntityKind(Tag, "tag", order=("name", "id"))
"""A user's task tags (标签); listed per ``owner_id`` by name (code-point order), then id."""

TARGETS = EntityKind(Target, "target", order=("year", "id"))
"""业绩目标, by year then id."""

ENTITY_KINDS: tuple[EntityKind[Any], ...] = (
    SCENES, STAGE_GROUPS, CATEGORIES, PRICE_CHANGES, STAGE_CHANGES, COMMENTS, TAGS,
    TARGETS,
)
"""Every entity kind served by the generic stores."""
