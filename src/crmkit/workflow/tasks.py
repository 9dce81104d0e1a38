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
  to match, and a payload's participants are written to the team; whoever leaves a task (no
  longer owner nor participant) loses its placement on their workbench;
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

from crmkit.entities import Module, Operation
from crmkit.entities.kinds import TASK_KIND
from crmkit.entities.query import RecordQuery
from crmkit.entities.records import RecordRef
from crmkit.entities.tasks import TASK, Task
from crmkit.errors import FieldError, RuleViolation, ValidationError
from crmkit.policies.tasks import task_problems
from crmkit.policies.validation import Problems, field_error
from crmkit.serialization import structure_patch
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import RecordService
from crmkit.workflow.records import query_all as query_all_records
from crmkit.workflow.related import share, unknown_users, unseen_related


def task_links(task: Task) -> builtins.list[RecordRef]:
    """What a task links to: its related records, then its tags (as ``tag`` refs)."""
    return [*task.related, *(RecordRef("tag", tag_id) for tag_id in task.tag_ids)]


def query_all(op: Op, query: RecordQuery) -> builtins.list[Task]:
    """Every task a query admits, walked in keyset pages."""
    return query_all_records(op.uow.records(TASK_KIND), query)


class TaskService(RecordService[Task]):
    """Tasks: the task rules and participants on every write, complete and reopen, and the
    tasks related to a record."""

    # -- payload extras: participants, tags, related records, due time --------------------------
    def _extras(self, op: Op, extras: Mapping[str, Any], old: Task | None) -> dict[str, Any]:
        values = structure_patch(extras, Task)
        errors: builtins.list[FieldError] = []
        errors += unknown_users(op, values.get("participant_ids", ()),
                                old.participant_ids if old else (), "$.participant_ids")
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
            errors.extend(unseen_related(op, self._access, values["related"],
                                         old.related if old else ()))
        if errors:
            raise ValidationError(errors)
        return values

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
                parents.update((child.id, record.id)
                               for child in self._repo(op).children_of("parent_id", [record.id]))
        problems = task_problems(record, parents)
        if record.owner_id in record.participant_ids:
            problems.append(field_error("$.participant_ids", "team.owner"))
        if problems:
            raise ValidationError(problems)
        return record

    def _after_write(self, op: Op, record: Task, old: Task | None) -> None:
        """The team follows the participants (the engine keeps the links: :meth:`_links`)."""
        before = old.participant_ids if old else frozenset()
        if record.participant_ids != before:
            share(op, TASK, record.id, record.participant_ids, before)
        if old is not None and not (old.participant_ids | {old.owner_id}) <= (
                record.participant_ids | {record.owner_id}):
            self._unfile_strangers(op, [record])

    def _links(self, record: Task) -> builtins.list[RecordRef]:
        return task_links(record)

    @staticmethod
    def _unfile_strangers(op: Op, tasks: Sequence[Task]) -> None:
        """Leaving a task takes it off one's workbench: the placements of users who neither
        own nor take part in it any more are dropped (one read, one delete)."""
        by_id = {t.id: t for t in tasks}
        op.uow.placements.remove([p for p in op.uow.placements.for_tasks(builtins.list(by_id))
                                  if not by_id[p.task_id].involves(p.user_id)])

    def _team_changed(self, op: Op, record_ids: Sequence[str]) -> None:
        """Participants become the team again (one read of the teams, one batch update)."""
        team: dict[str, set[str]] = {rid: set() for rid in record_ids}
        for member in op.uow.team.members_many(TASK, builtins.list(record_ids)):
            team[member.record_id].add(member.user_id)
        tasks = self._repo(op).get_many(builtins.list(record_ids))
        stale = [t for t in tasks if t.participant_ids != team[t.id]]
        if stale:
            self._repo(op).update_many(
                [attrs.evolve(t, participant_ids=frozenset(team[t.id]), version=t.version + 1,
                              updated_at=op.now) for t in stale],
                [t.version for t in stale])
        self._unfile_strangers(op, [attrs.evolve(t, participant_ids=frozenset(team[t.id]))
                                    for t in tasks])

    def _after_delete(self, op: Op, old: Task) -> None:
        if self._repo(op).children_of("parent_id", [old.id]):
            raise RuleViolation("task.has_subtasks", "请先删除或移出子任务",
                                "delete or move its subtasks first")
        op.uow.placements.clear([old.id])

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
