"""场景 Scenes and column configuration (``crm.scenes``).

System scenes per kind: 全部 (all), 我负责的 (mine), 下属负责的 (subordinates), 我参与的
(participating) and kind-specific ones (已转化 for leads). A user saves named filters of their
own; one may be the default (used when a list names no scene), scenes may be hidden and ordered.
Conditions are validated when saved, exactly as in a list request.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import attrs

from crmkit.entities import Module
from crmkit.entities.records import ColumnConfig, ConditionSpec, Scene, SortSpec
from crmkit.errors import NotFound, ValidationError
from crmkit.serialization import structure, structure_patch
from crmkit.workflow.fields import FieldService
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.querying import parse_conditions, parse_sort
from crmkit.workflow.records import SYSTEM_SCENES


@attrs.frozen
class SceneView:
    """A scene as a list screen shows it; ``system`` scenes cannot be edited."""

    id: str
    name: str
    system: bool
    is_default: bool = False
    hidden: bool = False
    order: int = 0


@attrs.frozen
class NewScene:
    name: str
    conditions: tuple[ConditionSpec, ...] = ()
    sort: tuple[SortSpec, ...] = ()
    is_default: bool = False
    hidden: bool = False
    order: int = 0


@attrs.frozen
class SceneChanges:
    name: str
    conditions: tuple[ConditionSpec, ...]
    sort: tuple[SortSpec, ...]
    is_default: bool
    hidden: bool
    order: int


class SceneService:
    def __init__(self, runtime: Runtime, fields: FieldService) -> None:
        self._rt = runtime
        self._fields = fields

    def _op(self, actor: ActorRef, kind: str) -> AbstractContextManager[Op]:
        return self._rt.operation(actor, self._rt.declaration(kind).module, None)

    def list(self, actor: ActorRef, kind: str, *, include_hidden: bool = False
             ) -> builtins.list[SceneView]:
        """System scenes first, then the actor's own by order."""
        spec = self._rt.declaration(kind)
        with self._op(actor, kind) as op:
            own = op.uow.scenes.list(user_id=op.user_id, record_kind=kind)
        has_default = any(s.is_default for s in own)
        views = [SceneView(key, zh, True, is_default=(key == "all" and not has_default))
                 for key, (zh, _en) in SYSTEM_SCENES.items()]
        views += [SceneView(key, zh, True) for key, (zh, _en, _c) in spec.scenes.items()]
        views += [SceneView(s.id, s.name, False, s.is_default, s.hidden, s.order) for s in own
                  if include_hidden or not s.hidden]
        return views

    def save(self, actor: ActorRef, kind: str, data: NewScene | Mapping[str, Any]) -> Scene:
        """Save a scene (场景: a named filter and sort) of the actor's for a record kind;
        ``is_default`` makes it the list's default for them."""
        payload = structure(data, NewScene)
        with self._op(actor, kind) as op:
            self._validate(op, kind, payload.name, payload.conditions, payload.sort)
            scene = Scene(self._rt.ids.new_id(), op.user_id, kind, payload.name.strip(),
                          payload.conditions, payload.sort, payload.is_default, payload.hidden,
                          payload.order)
            if scene.is_default:
                self._clear_default(op, kind)
            op.uow.scenes.add(scene)
            self._rt.org_changed(op)  # lists keep each user's default scene per version
            return scene

    def update(self, actor: ActorRef, scene_id: str, changes: Mapping[str, Any]) -> Scene:
        """Change one of the actor's own scenes (name, conditions, sort, default, hidden,
        order)."""
        patch = structure_patch(changes, SceneChanges)
        with self._rt.operation(actor, Module.ORG, None) as op:
            old = self._own(op, scene_id)
            new = attrs.evolve(old, version=old.version + 1, **patch)
            self._validate(op, old.record_kind, new.name, new.conditions, new.sort)
            if new.is_default and not old.is_default:
                self._clear_default(op, old.record_kind)
            op.uow.scenes.update(new, expected_version=old.version)
            self._rt.org_changed(op)
            return new

    def delete(self, actor: ActorRef, scene_id: str) -> None:
        """Delete one of the actor's own scenes."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            op.uow.scenes.delete(self._own(op, scene_id).id)
            self._rt.org_changed(op)

    def _own(self, op: Op, scene_id: str) -> Scene:
        scene = op.uow.scenes.get(scene_id) if isinstance(scene_id, str) else None
        if scene is None or scene.user_id != op.user_id:
            raise NotFound("scene.not_found", "场景不存在", "scene not found")
        return scene

    def _clear_default(self, op: Op, kind: str) -> None:
        for other in op.uow.scenes.list(user_id=op.user_id, record_kind=kind):
            if other.is_default:
                op.uow.scenes.update(attrs.evolve(other, is_default=False,
                                                  version=other.version + 1),
                                     expected_version=other.version)

    def _validate(self, op: Op, kind: str, name: str, conditions: Sequence[ConditionSpec],
                  sort: Sequence[SortSpec]) -> None:
        if not name.strip() or len(name) > 50:
            raise ValidationError.at("$.name", "blank", "名称应为 1-50 个字符",
                                     "must be 1-50 characters")
        fields = self._fields.load(op, kind)
        parse_conditions(fields, conditions, "$.conditions")
        parse_sort(fields, sort, "$.sort")

    # -- columns --------------------------------------------------------------------------------
    def columns(self, actor: ActorRef, kind: str) -> ColumnConfig:
        """The actor's list columns; by default every visible active field in display order."""
        with self._op(actor, kind) as op:
            saved = op.uow.columns.get(op.user_id, kind)
            if saved is not None:
                return saved
            fields = self._fields.load(op, kind)
            return ColumnConfig(op.user_id, kind,
                                tuple(d.key for d in fields.active if not d.hidden))

    def set_columns(self, actor: ActorRef, kind: str, fields: Sequence[str],
                    widths: Mapping[str, int] | None = None) -> ColumnConfig:
        """The actor's list columns for a kind: field keys in order, optional widths (20–2000
        px)."""
        with self._op(actor, kind) as op:
            known = self._fields.load(op, kind)
            keys = list(fields) if isinstance(fields, list | tuple) else []
            bad = [i for i, k in enumerate(keys)
                   if not isinstance(k, str) or known.get(k) is None or keys.index(k) != i]
            if bad or not keys:
                raise ValidationError.at(f"$.fields[{bad[0] if bad else 0}]", "unknown_field",
                                         "不是可识别的字段", "is not a known field")
            sizes = dict(widths or {})
            if any(k not in keys or not isinstance(v, int) or not 20 <= v <= 2000
                   for k, v in sizes.items()):
                raise ValidationError.at("$.widths", "invalid", "列宽无效",
                                         "has a bad width")
            config = ColumnConfig(op.user_id, kind, tuple(keys), sizes)
            op.uow.columns.put(config)
            return config
