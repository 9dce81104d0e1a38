"""任务 Tasks (``crm.tasks``): the task record kind with its own rules.

The shared record engine gives create, get, update, delete, lists (filters, scenes, keyset
pages), team, transfer and the operation log, all cut to the actor's data scope on the
``tasks`` module. On top of it:

- every write checks the task rules (:func:`crmkit.policies.tasks.task_problems`): a title, a
  due time only with a due date, related records of the four allowed kinds, subtasks one level
  deep (the parent is read from storage);
- 完成 ``complete`` ticks a task (``done_at`` = now) and ``reopen`` unticks it — both need the
  ``edit`` permission and edit rights on the task, are logged, and do nothing to a task already
  in that state.
"""

from __future__ import annotations

from crmkit.entities import Module, Operation
from crmkit.entities.tasks import Task
from crmkit.errors import ValidationError
from crmkit.policies.tasks import task_problems
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import RecordService


class TaskService(RecordService[Task]):
    """Tasks: the task rules on every write, complete and reopen."""

    def _before_write(self, op: Op, record: Task, old: Task | None) -> Task:
        parents: dict[str, str | None] = {}
        if record.parent_id is not None and record.parent_id != record.id:
            parent = self._repo(op).get(record.parent_id)
            if parent is None:
                raise ValidationError.at("$.parent_id", "not_found", "上级任务不存在",
                                         "the parent task does not exist")
            parents[parent.id] = parent.parent_id
        problems = task_problems(record, parents)
        if problems:
            raise ValidationError(problems)
        return record

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
