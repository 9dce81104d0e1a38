"""通知中心 Notifications (``crm.notifications``): the acting user's own notifications.

Every operation's notifications go through the :class:`~crmkit.ports.Notifier` port after its
commit, each with a stable ``kind``, the target record and zh/en text. When the notifier keeps
them (an :class:`~crmkit.ports.Inbox`: crmkit's memory and database outboxes do), a user lists
theirs newest first (keyset-paged by message id), counts the unread ones and marks them read.
Nobody reaches another user's messages: their ids are left alone, as missing ones are.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence

from crmkit.entities import Module
from crmkit.errors import RuleViolation
from crmkit.ports import Inbox, OutboxMessage
from crmkit.workflow.operations import ActorRef, Runtime
from crmkit.workflow.records import bounded_int

MAX_PAGE = 200


class NotificationService:
    def __init__(self, runtime: Runtime, inbox: Inbox | None) -> None:
        self._rt = runtime
        self._inbox = inbox

    def _kept(self) -> Inbox:
        if self._inbox is None:
            raise RuleViolation("notifications.not_kept", "通知未保存（通知器不是收件箱）",
                                "notifications are not kept (the notifier is no inbox)")
        return self._inbox

    def list(self, actor: ActorRef, *, unread_only: bool = False, before: int | None = None,
             limit: int = 50) -> builtins.list[OutboxMessage]:
        """The actor's notifications, newest first; ``before``: the id of the last message of
        the previous page."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            bounded_int(limit, "$.limit", 1, MAX_PAGE)
            if before is not None:
                bounded_int(before, "$.before", 1, 2**63 - 1)
            return self._kept().inbox(op.user_id, unread_only=unread_only, before=before,
                                      limit=limit)

    def unread_count(self, actor: ActorRef) -> int:
        """How many of the actor's notifications are unread."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            return self._kept().unread_count(op.user_id)

    def mark_read(self, actor: ActorRef, ids: Sequence[int] | None = None) -> int:
        """Mark the actor's notifications among ``ids`` read (all of them when None); returns
        how many were unread."""
        with self._rt.operation(actor, Module.ORG, None) as op:
            return self._kept().mark_read(op.user_id, ids, op.now)
