"""评论 Comments on records (``crm.comments``): on tasks, and on every record kind that takes
part in :attr:`~crmkit.entities.kinds.Feature.COMMENTS` (work logs …).

- Whoever may see a record may comment on it and read its comments: the record module's
  ``view`` permission and the record visible to the actor (a participant of a task, a
  read-only team member …). A record out of sight answers NotFound, exactly as a missing one.
- A comment's content is 1–2000 characters, not blank; a reply (``reply_to_id``) names a
  comment of the same record.
- Comments are listed oldest first (by time, then id). Only the author deletes a comment;
  replies to it stay.

A kind whose visibility is not the record scope's (e.g. work logs read by their recipients)
passes its own reader as ``visibility[kind]`` when the service is built.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping

from crmkit.entities import Module, Operation
from crmkit.entities.kinds import Feature
from crmkit.entities.records import Comment
from crmkit.errors import NotFound, PermissionDenied
from crmkit.policies.validation import Problems
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.record_access import RecordAccess

CONTENT_MAX = 2000

Visibility = Callable[[Op, str, str], object]
"""``(op, kind, record_id)`` → the record if the actor may see it; NotFound otherwise."""


class CommentService:
    """Add, list and delete comments on the records an actor sees."""

    def __init__(self, runtime: Runtime, access: RecordAccess, *,
                 visibility: Mapping[str, Visibility] | None = None) -> None:
        self._rt = runtime
        self._access = access
        self._visibility = dict(visibility or {})

    def _visible(self, op: Op, kind: str, record_id: str) -> None:
        see = self._visibility.get(kind)
        if see is None:
            self._access.visible(op, kind, record_id)
        else:
            see(op, kind, record_id)

    def add(self, actor: ActorRef, kind: str, record_id: str, content: str, *,
            reply_to_id: str | None = None) -> Comment:
        """Comment on a record the actor sees (optionally replying to one of its comments)."""
        module = self._rt.declaration(kind, Feature.COMMENTS).module
        with self._rt.operation(actor, module, Operation.VIEW) as op:
            self._visible(op, kind, record_id)
            problems = Problems()
            if not isinstance(content, str):
                problems.add("$.content", "type")
            else:
                problems.text("$.content", content, required=True, max_length=CONTENT_MAX)
            if reply_to_id is not None:
                replied = (op.uow.comments.get(reply_to_id) if isinstance(reply_to_id, str)
                           else None)
                if replied is None or (replied.record_kind, replied.record_id) != (kind,
                                                                                   record_id):
                    problems.add("$.reply_to_id", "not_found")
            problems.raise_if_any()
            comment = Comment(self._rt.ids.new_id(), kind, record_id, op.user_id, content,
                              op.now, reply_to_id)
            op.uow.comments.add(comment)
            return comment

    def list(self, actor: ActorRef, kind: str, record_id: str) -> builtins.list[Comment]:
        """The comments of a record the actor sees, oldest first."""
        module = self._rt.declaration(kind, Feature.COMMENTS).module
        with self._rt.operation(actor, module, Operation.VIEW) as op:
            self._visible(op, kind, record_id)
            return op.uow.comments.list(record_kind=kind, record_id=record_id)

    def delete(self, actor: ActorRef, comment_id: str) -> None:
        """Delete one's own comment on a record one still sees (the module's ``view``
        permission, checked once the comment's record is known: a missing id never reveals
        a module)."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            found = op.uow.comments.get(comment_id) if isinstance(comment_id, str) else None
            try:
                if found is None:
                    raise NotFound("not_found", "", "")
                self._visible(op, found.record_kind, found.record_id)
            except NotFound:
                raise NotFound("comment.not_found", "评论不存在", "comment not found") from None
            op.require(self._rt.declaration(found.record_kind).module, Operation.VIEW)
            if found.author_id != op.actor_id:
                raise PermissionDenied("comment.not_author", "只能删除自己的评论",
                                       "only the author deletes a comment")
            op.uow.comments.delete(found.id)
