"""A record kind declared by the test suite, as a host declares one: 拜访 visits.

One attrs entity and one :class:`~crmkit.entities.kinds.RecordKind` — nothing else. Given to
``CRM(kinds=[VISIT_KIND])`` (and to the storage: ``MemoryStorage(kinds=…)``), a visit has the
shared record service (``crm.kind("visit")``): create, read, edit, delete, lists with filters
and scenes, the operation log, team, transfer, follow-ups, attachments and the timeline.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal

import attrs

from crmkit.entities import JSONValue, Module
from crmkit.entities.common import frozen_mapping
from crmkit.entities.kinds import Feature, RecordKind
from crmkit.entities.sales_fields import fields_of

VISIT = "visit"


@attrs.frozen
class Visit:
    """A visit to a client site."""

    id: str
    name: str
    owner_id: str | None
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    code: str | None = None
    place: str | None = None
    visited_on: date | None = None
    cost: Decimal | None = None
    done: bool = False
    next_contact_at: datetime | None = None
    last_followup_at: datetime | None = None
    last_followup_content: str | None = None
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)


VISIT_KIND: RecordKind[Visit] = RecordKind(
    VISIT, Visit, Module.TASKS, "拜访", "visit",
    fields_of(
        VISIT,
        ("name", "拜访主题", "Subject", "text", {"required": True, "max_length": 100}),
        ("code", "拜访编号", "Visit code", "text", {"unique": True, "max_length": 30}),
        ("place", "地点", "Place", "text", {"max_length": 200}),
        ("visited_on", "拜访日期", "Visited on", "date"),
        ("cost", "费用", "Cost", "money", {"min_value": "0"}),
        ("done", "已完成", "Done", "boolean"),
        ("next_contact_at", "下次联系时间", "Next contact", "datetime"),
        ("owner_id", "负责人", "Owner", "user"),
        ("last_followup_at", "最后跟进时间", "Last follow-up", "datetime", {"hidden": True}),
        ("last_followup_content", "最后跟进记录", "Last follow-up note", "textarea",
         {"hidden": True}),
    ),
    frozenset({"name", "code", "place", "visited_on", "cost", "done", "next_contact_at"}),
    "crm_test_visits",
    frozenset({Feature.TEAM, Feature.TRANSFER, Feature.FOLLOWUPS, Feature.ATTACHMENTS,
               Feature.TIMELINE}),
    unique_fields=("code",),
)
"""The whole declaration of the visit kind."""
