"""Shared record entities (DESIGN §4): record references and links, team members, follow-ups,
comments, attachments, scenes and column configuration."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping

__all__ = [
    "Access",
    "Attachment",
    "ColumnConfig",
    "Comment",
    "ConditionSpec",
    "FollowUp",
    "RecordLink",
    "RecordRef",
    "Scene",
    "SortSpec",
    "TeamMember",
]


class Access(enum.StrEnum):
    """A team member's access (相关团队): read-only or read-write."""

    READ = "read"
    WRITE = "write"


@attrs.frozen(order=True)
class RecordRef:
    """A reference to one record: its kind (``customer``, ``task`` …) and id — what 相关业务
    (related records) of tasks, schedules and work logs hold."""

    kind: str
    id: str


@attrs.frozen
class TeamMember:
    record_kind: str
    record_id: str
    user_id: str
    access: Access = Access.READ


@attrs.frozen
class FollowUp:
    """跟进记录 on a record: method, content, time, related contacts/opportunities, files."""

    id: str
    record_kind: str
    record_id: str
    author_id: str
    method: str
    content: str
    at: datetime
    created_at: datetime
    contact_ids: tuple[str, ...] = ()
    opportunity_ids: tuple[str, ...] = ()
    attachment_ids: tuple[str, ...] = ()
    next_contact_at: datetime | None = None


@attrs.frozen
class Comment:
    """评论: a remark by one user on one record (a task, a work log …: ``record_kind`` and
    ``record_id``, together its :attr:`target`), optionally replying to another comment of the
    same record."""

    id: str
    record_kind: str
    record_id: str
    author_id: str
    content: str
    at: datetime
    reply_to_id: str | None = None

    @property
    def target(self) -> RecordRef:
        return RecordRef(self.record_kind, self.record_id)


@attrs.frozen(order=True)
class RecordLink:
    """One related-record link (相关业务, a task's tag …): the record ``source`` names
    ``target``. Kept as rows so "which records name this one" is one indexed lookup."""

    source_kind: str
    source_id: str
    target_kind: str
    target_id: str

    @property
    def source(self) -> RecordRef:
        return RecordRef(self.source_kind, self.source_id)

    @property
    def target(self) -> RecordRef:
        return RecordRef(self.target_kind, self.target_id)


@attrs.frozen
class Attachment:
    """附件: a stored file linked to a record."""

    id: str
    record_kind: str
    record_id: str
    file_key: str
    name: str
    size: int
    content_type: str
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


@attrs.frozen
class ConditionSpec:
    """A filter condition as a host sends it: field key, operator name, raw JSON value."""

    field: str
    op: str
    value: JSONValue = None


@attrs.frozen
class SortSpec:
    field: str
    descending: bool = False


@attrs.frozen
class Scene:
    """场景: a user's saved, named filter for one record kind (default, hidden, ordered)."""

    id: str
    user_id: str
    record_kind: str
    name: str
    conditions: tuple[ConditionSpec, ...] = ()
    sort: tuple[SortSpec, ...] = ()
    is_default: bool = False
    hidden: bool = False
    order: int = 0
    version: int = 1


@attrs.frozen
class ColumnConfig:
    """Per user and record kind: the visible list columns, in order."""

    user_id: str
    record_kind: str
    fields: tuple[str, ...]
    widths: Mapping[str, int] = attrs.field(factory=dict, converter=frozen_mapping)
