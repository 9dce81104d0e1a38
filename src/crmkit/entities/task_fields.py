"""System fields of tasks (任务)."""

from __future__ import annotations

from crmkit.entities.sales_fields import fields_of
from crmkit.entities.tasks import TASK, Priority

TASK_FIELDS = fields_of(
    TASK,
    ("title", "任务名称", "Title", "text", {"required": True, "max_length": 200}),
    ("description", "任务描述", "Description", "textarea", {"max_length": 5000}),
    ("due_date", "截止日期", "Due date", "date"),
    ("priority", "优先级", "Priority", "select",
     {"options": tuple(p.value for p in Priority)}),
    ("done", "已完成", "Done", "boolean", {"hidden": True}),
    ("done_at", "完成时间", "Done at", "datetime", {"hidden": True}),
    ("parent_id", "上级任务", "Parent task", "text", {"hidden": True, "max_length": 64}),
    ("owner_id", "负责人", "Owner", "user"),
)

TASK_WRITABLE = frozenset({"title", "description", "due_date", "priority", "owner_id",
                           "parent_id"})
"""What a create/edit payload may set as fields; completion goes through ``complete``/
``reopen``."""

TASK_EXTRAS = frozenset({"participant_ids", "tag_ids", "related", "due_time"})
"""Payload keys the task service validates itself (``RecordKind.extra_keys``): participants,
the writer's tags, related records and the due time of day."""

PRIORITY_LABELS = {p.value: (p.label_zh, p.value.capitalize()) for p in Priority}
"""优先级 labels by code (exports show these)."""
