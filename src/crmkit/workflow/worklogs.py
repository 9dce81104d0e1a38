"""日志 Work logs (``crm.work_logs``): the work-log record kind with its own rules.

The shared record engine gives create, get, update, delete, lists and the operation log on the
``tasks`` (办公) module's permissions, cut to the actor's data scope (a manager reads the logs
of the users in their scope). On top of it:

- every write checks the log rules (:func:`crmkit.policies.worklogs.log_problems`); any day of
  the period is taken and stored as the period's first day (a weekly log dated Wednesday is the
  week's, from Monday); copied users are active users, copied departments exist, related records
  are ones the writer may see;
- the recipients (:func:`crmkit.policies.worklogs.recipients`: copied users plus the users of
  copied departments and their sub-departments, never the author) read the log: they are its
  read-only team, recomputed on every write of the log;
- 已读 ``mark_read`` records that a recipient read the log (no version check for the reader,
  nothing logged); ``unread`` and ``unread_count`` answer a user's logs waiting to be read.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import Any

import attrs

from crmkit.entities import Module, Operation, RecordScope
from crmkit.entities.fields import ValueKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery, SortKey
from crmkit.entities.worklogs import WorkLog
from crmkit.errors import Conflict, ValidationError
from crmkit.policies.validation import Problems, field_error
from crmkit.policies.worklogs import log_problems, mark_read, period_start, recipients
from crmkit.serialization import structure_patch
from crmkit.workflow.operations import ActorRef, Op
from crmkit.workflow.records import RecordService
from crmkit.workflow.related import share, unknown_departments, unknown_users, unseen_related

_READ_BY = FieldRef("read_by", ValueKind.LIST, True)
_NEWEST = (SortKey(FieldRef("period_start", ValueKind.DATE, True), descending=True),
           SortKey(FieldRef("created_at", ValueKind.DATETIME, True), descending=True))
_MARK_TRIES = 3
"""A reader's mark is retried when another reader's landed in between."""


class WorkLogService(RecordService[WorkLog]):
    """Work logs: the log rules on every write, recipients, read status."""

    def _extras(self, op: Op, extras: Mapping[str, Any], old: WorkLog | None
                ) -> dict[str, Any]:
        values = structure_patch(extras, WorkLog)
        errors = unknown_users(op, values.get("copied_user_ids", ()),
                               old.copied_user_ids if old else (), "$.copied_user_ids")
        errors += unknown_departments(op, values.get("copied_department_ids", ()),
                                      "$.copied_department_ids")
        kinds = Problems()
        kinds.related("$.related", values.get("related", ()))
        errors += kinds.errors + unseen_related(op, self._access, values.get("related", ()),
                                                old.related if old else ())
        if errors:
            raise ValidationError(errors)
        return values

    def _owner(self, op: Op, owner_id: str | None) -> str:
        """A log's author (填写人) is its writer: nobody writes a log in another's name (an
        import moving history in from another system may name its authors)."""
        assert op.actor is not None
        if owner_id is not None and owner_id != op.actor.id:
            raise ValidationError([field_error("$.owner_id", "read_only")])
        return op.actor.id

    def _before_write(self, op: Op, record: WorkLog, old: WorkLog | None) -> WorkLog:
        record = attrs.evolve(record, period_start=period_start(record.period_start,
                                                                record.period),
                              done=record.done or "", plan=record.plan or "",
                              problems=record.problems or "")
        problems = log_problems(record)
        if problems:
            raise ValidationError(problems)
        return record

    def _after_write(self, op: Op, record: WorkLog, old: WorkLog | None) -> None:
        before = frozenset(m.user_id for m in op.uow.team.members(self.kind, record.id)) if old \
            else frozenset()
        share(op, self.kind, record.id, recipients(record, self._rt.org_index(op)), before)

    # -- read status ----------------------------------------------------------------------------
    def mark_read(self, actor: ActorRef, log_id: str) -> WorkLog:
        """已读: the actor, a recipient, has read the log (the author or another viewer:
        nothing changes). Returns the log as stored."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            log: WorkLog = self._access.visible(op, self.kind, log_id)
            for attempt in range(_MARK_TRIES):
                read = mark_read(log, op.user_id, self._rt.org_index(op))
                if read is log:
                    return log
                read = attrs.evolve(read, version=log.version + 1)
                try:
                    self._repo(op).update(read, expected_version=log.version)
                    return read
                except Conflict:
                    fresh = self._repo(op).get(log_id)
                    if fresh is None or attempt == _MARK_TRIES - 1:
                        raise
                    log = fresh
            raise AssertionError("unreachable")  # pragma: no cover

    def _unread_query(self, op: Op, limit: int) -> RecordQuery:
        """The actor's logs to read: copied to them (their team grant), not read yet."""
        return RecordQuery(RecordScope(team_user_id=op.user_id),
                           (Condition(_READ_BY, Operator.NE, op.user_id),), _NEWEST, limit)

    def unread(self, actor: ActorRef, *, limit: int = 50) -> builtins.list[WorkLog]:
        """The logs copied to the actor that they have not read, newest period first."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            return self._repo(op).query(self._unread_query(op, limit))

    def unread_count(self, actor: ActorRef) -> int:
        """How many logs copied to the actor wait to be read (one COUNT)."""
        with self._rt.operation(actor, Module.TASKS, Operation.VIEW) as op:
            return self._repo(op).count(self._unread_query(op, 1))
