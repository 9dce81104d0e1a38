"""产品 Products (``crm.products``).

- ``code`` is unique (查重, enforced by the record engine like every unique field).
- ``category_id`` names a node of the category tree (产品类别), or nothing. The tree is managed
  here (``add_category`` …) with the ``products`` module's ``edit`` permission: no cycles, and a
  category is deleted only when it has no sub-categories and no product uses it.
- Every edit that changes the price records a :class:`PriceChange` (价格变更记录); the price a
  product is created with is not a change.
- 上架/下架: new products are on shelf; ``put_on_shelf`` / ``take_off_shelf`` switch many at once
  (``edit`` permission, all or nothing, logged). Only on-shelf products go on *new* opportunity or
  contract lines.
"""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation
from crmkit.entities.sales import PriceChange, Product, ProductCategory
from crmkit.errors import NotFound, RuleViolation, ValidationError
from crmkit.policies.sales import creates_cycle
from crmkit.policies.validation import Problems, field_error
from crmkit.serialization import structure
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.oplog_diff import field_changes
from crmkit.workflow.records import RecordService

CATEGORY = "product_category"
"""Record kind of category entries in the operation log."""
CATEGORY_NAME_MAX = 50


@attrs.frozen
class NewCategory:
    name: str
    parent_id: str | None = None


def _category_missing(category_id: str) -> NotFound:
    return NotFound("product_category.not_found", "产品类别不存在",
                    f"product category {category_id} not found")


class ProductService(RecordService[Product]):
    """Products: unique code, category tree, price history, on/off shelf."""

    # -- record hooks ---------------------------------------------------------------------------
    def _before_write(self, op: Op, record: Product, old: Product | None) -> Product:
        category_id = record.category_id
        if (category_id is not None and (old is None or old.category_id != category_id)
                and op.uow.categories.get(category_id) is None):
            raise ValidationError([field_error("$.category_id", "not_found")])
        return record

    def _after_write(self, op: Op, record: Product, old: Product | None) -> None:
        if old is not None and old.price != record.price:
            op.uow.price_changes.add(PriceChange(
                self._rt.ids.new_id(), record.id, old.price, record.price, op.now, op.actor_id,
            ))

    # -- price history --------------------------------------------------------------------------
    def price_history(self, actor: ActorRef, product_id: str) -> builtins.list[PriceChange]:
        """价格变更记录 of a product, newest first."""
        with self._rt.operation(actor, Module.PRODUCTS, Operation.VIEW) as op:
            self._access.visible(op, self.kind, product_id)
            return op.uow.price_changes.list(product_id=product_id)

    # -- on / off shelf -------------------------------------------------------------------------
    def put_on_shelf(self, actor: ActorRef, product_ids: Iterable[str]) -> builtins.list[Product]:
        """上架: the products (all editable by the actor, else nothing changes), now on shelf."""
        return self._shelve(actor, product_ids, on_shelf=True)

    def take_off_shelf(self, actor: ActorRef, product_ids: Iterable[str]
                       ) -> builtins.list[Product]:
        """下架: off-shelf products stay on existing lines but go on no new ones."""
        return self._shelve(actor, product_ids, on_shelf=False)

    def _shelve(self, actor: ActorRef, product_ids: Iterable[str], *, on_shelf: bool
                ) -> builtins.list[Product]:
        if isinstance(product_ids, str):
            raise ValidationError([field_error("$.product_ids", "type", " (list of ids)")])
        ids = builtins.list(dict.fromkeys(product_ids))
        if not all(isinstance(i, str) for i in ids):
            raise ValidationError([field_error("$.product_ids", "type", " (strings)")])
        action = "put_on_shelf" if on_shelf else "take_off_shelf"
        with self._rt.operation(actor, Module.PRODUCTS, Operation.EDIT) as op:
            products = self._access.editable_many(op, self.kind, ids)
            out: builtins.list[Product] = []
            for product in products:
                if product.on_shelf == on_shelf:
                    out.append(product)
                    continue
                new = attrs.evolve(product, on_shelf=on_shelf, version=product.version + 1,
                                   updated_at=op.now)
                self._repo(op).update(new, expected_version=product.version,
                                      previous=product)
                op.log(self.kind, new.id, action, field_changes(product, new))
                out.append(new)
            return out

    # -- category tree --------------------------------------------------------------------------
    def add_category(self, actor: ActorRef, data: NewCategory | Mapping[str, Any]
                     ) -> ProductCategory:
        """A new category at the top (``parent_id`` None) or under an existing one; names are
        unique among siblings."""
        payload = structure(data, NewCategory)
        with self._rt.operation(actor, Module.PRODUCTS, Operation.EDIT) as op:
            problems = Problems()
            problems.text("$.name", payload.name, required=True, max_length=CATEGORY_NAME_MAX)
            if payload.parent_id is not None and op.uow.categories.get(payload.parent_id) is None:
                problems.add("$.parent_id", "not_found")
            problems.raise_if_any()
            name = payload.name.strip()
            self._check_sibling_name(op, name, payload.parent_id, None)
            category = ProductCategory(self._rt.ids.new_id(), name, payload.parent_id)
            op.uow.categories.add(category)
            op.log(CATEGORY, category.id, "create", field_changes(None, category))
            return category

    def rename_category(self, actor: ActorRef, category_id: str, name: str) -> ProductCategory:
        """Rename a product category; sibling categories keep distinct names."""
        with self._rt.operation(actor, Module.PRODUCTS, Operation.EDIT) as op:
            old = self._category(op, category_id)
            problems = Problems()
            problems.text("$.name", name if isinstance(name, str) else None, required=True,
                          max_length=CATEGORY_NAME_MAX)
            problems.raise_if_any()
            self._check_sibling_name(op, name.strip(), old.parent_id, old.id)
            return self._save_category(op, old, name=name.strip())

    def move_category(self, actor: ActorRef, category_id: str, parent_id: str | None
                      ) -> ProductCategory:
        """Move a category (with its sub-tree) under another one, or to the top (None); never
        under itself or one of its own sub-categories (``product.category_cycle``)."""
        with self._rt.operation(actor, Module.PRODUCTS, Operation.EDIT) as op:
            old = self._category(op, category_id)
            if parent_id is not None and (
                    not isinstance(parent_id, str) or op.uow.categories.get(parent_id) is None):
                raise ValidationError([field_error("$.parent_id", "not_found")])
            parents = {c.id: c.parent_id for c in op.uow.categories.list()}
            if creates_cycle(parents, old.id, parent_id):
                raise RuleViolation(
                    "product.category_cycle",
                    "产品类别不能移动到自身或其下级类别之下",
                    "a category cannot be moved under itself or its own sub-category",
                )
            self._check_sibling_name(op, old.name, parent_id, old.id)
            return self._save_category(op, old, parent_id=parent_id)

    def delete_category(self, actor: ActorRef, category_id: str) -> None:
        """Delete a category that has no sub-categories and that no product uses
        (``product.category_not_empty`` otherwise)."""
        with self._rt.operation(actor, Module.PRODUCTS, Operation.EDIT) as op:
            old = self._category(op, category_id)
            if any(c.parent_id == old.id for c in op.uow.categories.list()):
                raise RuleViolation("product.category_not_empty", "该类别下还有子类别",
                                    "the category still has sub-categories")
            fields = self._fields.load(op, self.kind)
            definition = fields.get("category_id")
            assert definition is not None
            if self._repo(op).find_equal(fields.ref(definition), old.id, limit=1):
                raise RuleViolation("product.category_not_empty", "还有产品属于该类别",
                                    "products still use the category")
            op.uow.categories.delete(old.id)
            op.log(CATEGORY, old.id, "delete", (FieldChange("name", old.name, None),))

    def list_categories(self, actor: ActorRef) -> builtins.list[ProductCategory]:
        """The whole tree, parents before children, siblings by name."""
        with self._rt.operation(actor, Module.PRODUCTS, Operation.VIEW) as op:
            categories = op.uow.categories.list()
        children: dict[str | None, builtins.list[ProductCategory]] = {}
        for category in categories:
            children.setdefault(category.parent_id, []).append(category)
        ordered: builtins.list[ProductCategory] = []
        stack = sorted(children.get(None, []), key=lambda c: (c.name, c.id), reverse=True)
        while stack:
            category = stack.pop()
            ordered.append(category)
            kids = sorted(children.get(category.id, []), key=lambda c: (c.name, c.id))
            stack.extend(reversed(kids))
        return ordered

    def _category(self, op: Op, category_id: str) -> ProductCategory:
        category = op.uow.categories.get(category_id) if isinstance(category_id, str) else None
        if category is None:
            raise _category_missing(str(category_id))
        return category

    def _check_sibling_name(self, op: Op, name: str, parent_id: str | None,
                            category_id: str | None) -> None:
        if any(c.name == name and c.parent_id == parent_id and c.id != category_id
               for c in op.uow.categories.list()):
            raise ValidationError([field_error("$.name", "unique")])

    def _save_category(self, op: Op, old: ProductCategory, **changes: Any) -> ProductCategory:
        new = attrs.evolve(old, version=old.version + 1, **changes)
        op.uow.categories.update(new, expected_version=old.version)
        op.log(CATEGORY, new.id, "update", field_changes(old, new))
        return new
