"""工作台 The workbench (``crm.workbench``): one user's tasks in four columns, and their tags.

- :meth:`WorkbenchService.workbench` shows the tasks the actor owns or takes part in, in the
  columns 收件箱 / 今天要做 / 下一步要做 / 以后要做 of the actor's own placements
  (:mod:`crmkit.policies.workbench`: unfiled tasks top the inbox, subtasks sit under their
  parent), filtered by tags, priorities, owner, participant, a due window and done or not.
- :meth:`WorkbenchService.move` files a task at a position of a column: only that task's
  placement changes (an order key between its new neighbours). A task the actor does not own
  or take part in is not on their workbench: NotFound, as for a missing one; a subtask shown
  under its parent moves with it (RuleViolation ``workbench.subtask``). Leaving a task (no
  longer owner nor participant) takes it off one's workbench.
- Tags (标签) belong to one user: create, rename, recolour, delete (the rules of
  :func:`~crmkit.policies.tasks.tag_problems`); deleting a tag takes it off every task.
  Another user's tag answers NotFound.

Every call needs the ``tasks`` module's ``view`` permission: the workbench and the tags are the
actor's own arrangement, not an edit of the tasks.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import attrs

from crmkit.entities import FieldChange, Module, Operation, RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.kinds import TASK_KIND
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
from crmkit.entities.records import RecordRef
from crmkit.entities.tasks import (
    DEFAULT_TAG_COLOUR,
    TASK,
    Bucket,
    Placement,
    Tag,
    Task,
    TaskFilter,
)
from crmkit.errors import NotFound, RuleViolation, ValidationError
from crmkit.policies.tasks import tag_problems
from crmkit.policies.workbench import move, workbench
from crmkit.serialization import structure, structure_patch
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.record_access import RecordAccess, record_not_found
from crmkit.workflow.records import NEWEST
from crmkit.workflow.tasks import query_all

_DONE = FieldRef("done", ValueKind.BOOLEAN, True)
_PRIORITY = FieldRef("priority", ValueKind.TEXT, True)
_OWNER = FieldRef("owner_id", ValueKind.TEXT, True)


@attrs.frozen
class TagChanges:
    """What :meth:`WorkbenchService.update_tag` may change."""

    name: str
    colour: str


class WorkbenchService:
    """The actor's columns, moves between them, and the actor's tags."""

    def __init__(self, runtime: Runtime, access: RecordAccess) -> None:
        self._rt = runtime
        self._access = access

    # -- columns --------------------------------------------------------------------------------
    def workbench(self, actor: ActorRef, filters: Mapping[str, Any] | None = None
                  ) -> dict[Bucket, builtins.list[Task]]:
        """The actor's four columns, each in order; ``filters`` as :class:`TaskFilter`
        (``{"tag_ids": […], "priorities": ["high"], "owner_id": …, "participant_id": …,
        "due": "today", "done": false}``)."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            wanted = structure(filters or {}, TaskFilter)
            me = op.user_id
            # What SQL can cut is cut there; the policy applies every filter again.
            conditions = []
            if wanted.done is not None:
                conditions.append(Condition(_DONE, Operator.EQ, wanted.done))
            if wanted.priorities:
                conditions.append(Condition(_PRIORITY, Operator.IN,
                                            tuple(sorted(p.value for p in wanted.priorities))))
            if wanted.owner_id is not None:
                conditions.append(Condition(_OWNER, Operator.EQ, wanted.owner_id))
            mine = RecordScope(owner_ids=frozenset({me}), team_user_id=me)
            tasks = query_all(op, RecordQuery(mine, tuple(conditions), NEWEST))
            return workbench(me, tasks, op.uow.placements.for_user(me), op.now, self._rt.tz,
                             wanted)

    def move(self, actor: ActorRef, task_id: str, bucket: Bucket | str, position: int = 0
             ) -> Placement:
        """File a task of the actor's at ``position`` (0 = top) of the column ``bucket``."""
        column_of = Bucket(bucket)
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            task: Task = self._access.visible(op, TASK, task_id)
            if not task.involves(op.user_id):
                raise record_not_found(TASK_KIND, task_id)
            parent = (op.uow.records(TASK_KIND).get(task.parent_id) if task.parent_id
                      else None)
            if parent is not None and parent.involves(op.user_id):
                raise RuleViolation("workbench.subtask", "子任务随上级任务显示，不单独移动",
                                    "a subtask shows under its parent task and moves with it")
            column = op.uow.placements.for_user(op.user_id, column_of)
            placement = move(op.user_id, task.id, column_of, column, position)
            op.uow.placements.put(placement)
            return placement

    # -- tags -----------------------------------------------------------------------------------
    def tags(self, actor: ActorRef) -> builtins.list[Tag]:
        """The actor's tags by name."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            return op.uow.tags.list(owner_id=op.user_id)

    def add_tag(self, actor: ActorRef, name: str, colour: str = DEFAULT_TAG_COLOUR) -> Tag:
        """A new tag of the actor's (a name of their own, a colour ``#RRGGBB``)."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            tag = self._checked(op, Tag(self._rt.ids.new_id(), op.user_id, name.strip(), colour))
            op.uow.tags.add(tag)
            return tag

    def update_tag(self, actor: ActorRef, tag_id: str, changes: Mapping[str, Any]) -> Tag:
        """Rename or recolour one of the actor's tags (``{"name": …, "colour": …}``)."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            old = self._own_tag(op, tag_id)
            values = structure_patch(changes, TagChanges)
            if "name" in values:
                values["name"] = values["name"].strip()
            tag = self._checked(op, attrs.evolve(old, version=old.version + 1, **values))
            op.uow.tags.update(tag, expected_version=old.version)
            return tag

    def delete_tag(self, actor: ActorRef, tag_id: str) -> None:
        """Delete one of the actor's tags and take it off every task carrying it (one link
        lookup, one batch update of the tasks)."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            tag = self._own_tag(op, tag_id)
            target = RecordRef("tag", tag.id)
            ids = [link.source_id for link in op.uow.links.sources(TASK, [target])]
            repo = op.uow.records(TASK_KIND)
            tagged = repo.get_many(ids)
            if tagged:
                repo.update_many([attrs.evolve(
                    t, tag_ids=tuple(i for i in t.tag_ids if i != tag.id),
                    version=t.version + 1, updated_at=op.now) for t in tagged],
                    [t.version for t in tagged])
                for task in tagged:
                    op.log(TASK, task.id, "untag",
                           (FieldChange(f"tag.{tag.id}", tag.name, None),))
            op.uow.links.unlink(target)
            op.uow.tags.delete(tag.id)

    def _own_tag(self, op: Op, tag_id: str) -> Tag:
        tag = op.uow.tags.get(tag_id)
        if tag is None or tag.owner_id != op.user_id:
            raise NotFound("tag.not_found", "标签不存在", "tag not found")
        return tag

    @staticmethod
    def _checked(op: Op, tag: Tag) -> Tag:
        problems = tag_problems(tag, op.uow.tags.list(owner_id=tag.owner_id))
        if problems:
            raise ValidationError(problems)
        return tag
