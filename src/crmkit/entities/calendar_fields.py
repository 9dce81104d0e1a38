"""System fields of schedules (日程). Participants, related records, reminders and the repeat
rule are structured payload keys the schedule service validates (``extra_keys``)."""

from __future__ import annotations

from crmkit.entities.calendar import EVENT
from crmkit.entities.sales_fields import fields_of

SCHEDULE_FIELDS = fields_of(
    EVENT,
    ("title", "日程主题", "Title", "text", {"required": True, "max_length": 200}),
    ("starts_at", "开始时间", "Starts at", "datetime", {"required": True}),
    ("ends_at", "结束时间", "Ends at", "datetime", {"required": True}),
    ("all_day", "全天", "All day", "boolean"),
    ("description", "日程描述", "Description", "textarea", {"max_length": 5000}),
    ("source", "来源", "Source", "text", {"hidden": True, "max_length": 64}),
    ("series_ends_at", "重复结束", "Series ends", "datetime", {"hidden": True}),
    ("owner_id", "负责人", "Owner", "user"),
)

SCHEDULE_WRITABLE = frozenset({"title", "starts_at", "ends_at", "all_day", "description",
                               "owner_id"})
SCHEDULE_EXTRAS = frozenset({"participant_ids", "related", "reminders", "repeat"})
