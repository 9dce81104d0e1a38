"""任务 Tasks (``crm.tasks``): the task record kind with its own rules.

The shared record engine gives create, get, update, delete, lists (filters, scenes, keyset
pages), team, transfer, attachments and the operation log, all cut to the actor's data scope
on the ``tasks`` module. On top of it:

- every write checks the task rules (:func:`crmkit.policies.tasks.task_problems`): a title, a
  due time only with a due date, related records of the four allowed kinds, subtasks one level
  deep (the parent — a task the writer sees — and the children are read from storage);
- a payload may also set ``participant_ids`` (active users other than the owner), ``tag_ids``
  (tags the writer adds must be their own), ``related`` (``[{"kind", "id"}]``: customers,
  contacts, opportunities and contracts the writer sees — one out of sight is as unknown as a
  missing one) and ``due_time`` (``"HH:MM"``);
- **participants are the task's team** (参与人 = 相关团队): a participant is a read-only team
  member unless made read-write, so they see the task (lists, 我参与的, get) while a stranger
  gets NotFound; adding or removing a team member, or a transfer, rewrites ``participant_ids``
  to match, and a payload's participants are written to the team;
- related records and tags are also kept as links (:class:`~crmkit.ports.records.
  RecordLinkRepository`), so :meth:`TaskService.related_to` finds the tasks of a record with
  one indexed lookup (the record timeline calls it);
- 完成 ``complete`` ticks a task (``done_at`` = now) and ``reopen`` unticks it — both need the
  ``edit`` permission and edit rights on the task, are logged, and do nothing to a task already
  in that state;
- a task with subtasks is not deleted (RuleViolation ``task.has_subtasks``); deleting a task
  drops its placements and links.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from crmkit.entities import Module, Operation, RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.kinds import TASK_KIND
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery, SortKey
from crmkit.entities.records import Access, RecordRef, TeamMember
from crmkit.entities.tasks import RELATED_KINDS, TASK, Task
from crmkit.errors import FieldError, RuleViolation, ValidationError
from crmkit.policies.query_eval import cursor_values
from crmkit.policies.tasks import task_problems
from crmkit.policies.validation import Problems, field_error
from crmkit.serialization import structure_patch
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import RecordService

PAGE = 500
"""Rows per statement when a task read walks many pages (the workbench, related tasks)."""

_ID = FieldRef("id", ValueKind.TEXT, True)
NEWEST = (SortKey(FieldRef("created_at", ValueKind.DATETIME, True), descending=True),)
"""Newest tasks first (then by id, descending)."""


def task_links(task: Task) -> builtins.list[RecordRef]:
    """What a task links to: its related records, then its tags (as ``tag`` refs)."""
    return [*task.related, *(RecordRef("tag", tag_id) for tag_id in task.tag_ids)]


def query_all(op: Op, query: RecordQuery) -> builtins.list[Task]:
    """Every task a query admits, walked in keyset pages of :data:`PAGE` rows."""
    repo = op.uow.records(TASK_KIND)
    found: builtins.list[Task] = []
    page = attrs.evolve(query, limit=PAGE)
    while True:
        rows = repo.query(page)
        found.extend(rows)
        if len(rows) < PAGE:
            return found
        page = attrs.evolve(page, after=cursor_values(rows[-1], page.sort))


class TaskService(RecordService[Task]):
    """Tasks: the task rules and participants on every write, complete and reopen, and the
    tasks related to a record."""

    # -- payload extras: participants, tags, related records, due time --------------------------
    def _extras(self, op: Op, extras: Mapping[str, Any], old: Task | None) -> dict[str, Any]:
        values = structure_patch(extras, Task)
        errors: builtins.list[FieldError] = []
        if "participant_ids" in values:
            known = old.participant_ids if old else frozenset()
            for user_id in sorted(values["participant_ids"] - known):
                user = op.uow.users.get(user_id)
                if user is None or not user.active:
                    errors.append(field_error("$.participant_ids", "not_found", f" ({user_id})"))
        if "tag_ids" in values:
            known_tags = set(old.tag_ids) if old else set()
            for i, tag_id in enumerate(values["tag_ids"]):
                tag = None if tag_id in known_tags else op.uow.tags.get(tag_id)
                if tag_id not in known_tags and (tag is None or tag.owner_id != op.actor_id):
                    errors.append(field_error(f"$.tag_ids[{i}]", "not_found"))
        if "related" in values:
            kinds = Problems()
            kinds.related("$.related", values["related"])
            errors.extend(kinds.errors)
            errors.extend(self._unseen_related(op, values["related"], old))
        if errors:
            raise ValidationError(errors)
        return values

    def _unseen_related(self, op: Op, related: Sequence[RecordRef], old: Task | None
                        ) -> builtins.list[FieldError]:
        """Errors for newly named related records the writer does not see (one read per
        kind; other kinds are the task rules' to refuse); records already related stay,
        whoever edits."""
        known = set(old.related) if old else set()
        wanted: dict[str, builtins.list[str]] = {}
        for ref in related:
            if ref not in known and ref.kind in RELATED_KINDS:
                wanted.setdefault(ref.kind, []).append(ref.id)
        seen = {RecordRef(kind, record_id) for kind, ids in wanted.items()
                for record_id in self._access.visible_many(op, kind, ids)}
        return [field_error(f"$.related[{i}]", "not_found") for i, ref in enumerate(related)
                if ref not in known and ref.kind in RELATED_KINDS and ref not in seen]

    # -- the rules on every write ---------------------------------------------------------------
    def _before_write(self, op: Op, record: Task, old: Task | None) -> Task:
        parents: dict[str, str | None] = {}
        if record.parent_id is not None and record.parent_id != record.id and (
                old is None or old.parent_id != record.parent_id):
            if not self._can_see(op, TASK, record.parent_id):
                raise ValidationError([field_error("$.parent_id", "not_found")])
            parent = self._repo(op).get(record.parent_id)
            assert parent is not None
            parents[parent.id] = parent.parent_id
            if old is not None:
                parents.update((child, record.id) for child, _owner, _parent
                               in self._repo(op).children_of("parent_id", [record.id]))
        problems = task_problems(record, parents)
        if record.owner_id in record.participant_ids:
            problems.append(field_error("$.participant_ids", "team.owner"))
        if problems:
            raise ValidationError(problems)
        return record

    def _after_write(self, op: Op, record: Task, old: Task | None) -> None:
        """The team follows the participants; the links follow related records and tags."""
        before = old.participant_ids if old else frozenset()
        if record.participant_ids != before:
            op.uow.team.put_many([TeamMember(TASK, record.id, user_id, Access.READ)
                                  for user_id in sorted(record.participant_ids - before)])
            for user_id in sorted(before - record.participant_ids):
                op.uow.team.remove(TASK, record.id, user_id)
        if old is None or task_links(old) != task_links(record):
            op.uow.links.replace(RecordRef(TASK, record.id), task_links(record))

    def _team_changed(self, op: Op, record_ids: Sequence[str]) -> None:
        """Participants become the team again (one read of the teams, one batch update)."""
        team: dict[str, set[str]] = {rid: set() for rid in record_ids}
        for member in op.uow.team.members_many(TASK, builtins.list(record_ids)):
            team[member.record_id].add(member.user_id)
        stale = [t for t in self._repo(op).get_many(builtins.list(record_ids))
                 if t.participant_ids != team[t.id]]
        if stale:
            self._repo(op).update_many(
                [attrs.evolve(t, participant_ids=frozenset(team[t.id]), version=t.version + 1,
                              updated_at=op.now) for t in stale],
                [t.version for t in stale])

    def _after_delete(self, op: Op, old: Task) -> None:
        if self._repo(op).children_of("parent_id", [old.id]):
            raise RuleViolation("task.has_subtasks", "请先删除或移出子任务",
                                "delete or move its subtasks first")
        op.uow.placements.clear([old.id])
        op.uow.links.clear(TASK, [old.id])

    # -- completion -----------------------------------------------------------------------------
    def complete(self, actor: ActorRef, task_id: str, *, expected_version: int | None = None
                 ) -> Task:
        """Tick the task done now (already done: returned unchanged)."""
        return self._tick(actor, task_id, expected_version, done=True)

    def reopen(self, actor: ActorRef, task_id: str, *, expected_version: int | None = None
               ) -> Task:
        """Untick the task (not done: returned unchanged)."""
        return self._tick(actor, task_id, expected_version, done=False)

    def _tick(self, actor: ActorRef, task_id: str, expected_version: int | None, *, done: bool
              ) -> Task:
        with self._rt.operation(actor, Module.TASKS, Operation.EDIT) as op:
            old: Task = self._access.editable(op, self.kind, task_id)
            if old.done == done:
                return old
            return self._save(op, None, old, expected_version, "complete" if done else "reopen",
                              done=done, done_at=op.now if done else None)

    # -- the tasks of a record (the timeline) ---------------------------------------------------
    def related_to(self, actor: ActorRef, records: Sequence[RecordRef]
                   ) -> builtins.list[Task]:
        """The tasks naming any of ``records`` as related (相关业务) that the actor sees,
        newest first; each task's ``related`` says which records it names."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            return self.related_in(op, records)

    def related_in(self, op: Op, records: Sequence[RecordRef]) -> builtins.list[Task]:
        """:meth:`related_to` inside a running operation (the timeline's): the tasks of the
        records, cut to the actor's task scope — none without the ``tasks`` ``view``
        permission. One link lookup per record kind, then one scoped query per
        :data:`PAGE` tasks."""
        if not op.grants(Module.TASKS, Operation.VIEW):
            return []
        ids = sorted({link.source_id for link in op.uow.links.sources(TASK, records)})
        if not ids:
            return []
        scope: RecordScope = self._rt.scope(op, Module.TASKS)
        found: builtins.list[Task] = []
        for start in range(0, len(ids), PAGE):
            chunk = tuple(ids[start:start + PAGE])
            found.extend(query_all(op, RecordQuery(
                scope, (Condition(_ID, Operator.IN, chunk),), NEWEST)))
        return sorted(found, key=lambda t: (t.created_at, t.id), reverse=True)
