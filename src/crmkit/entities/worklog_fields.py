"""System fields of work logs (日志). Copied users and departments and related records are
structured payload keys the work-log service validates (``extra_keys``)."""

from __future__ import annotations

from crmkit.entities.sales_fields import fields_of
from crmkit.entities.worklogs import SECTION_MAX, WORK_LOG, LogPeriod

WORK_LOG_FIELDS = fields_of(
    WORK_LOG,
    ("period", "日志类型", "Period", "select",
     {"required": True, "options": tuple(p.value for p in LogPeriod)}),
    ("period_start", "日期", "Period start", "date", {"required": True}),
    ("done", "今日工作内容", "Done", "textarea", {"max_length": SECTION_MAX}),
    ("plan", "明日工作计划", "Plan", "textarea", {"max_length": SECTION_MAX}),
    ("problems", "遇到的问题", "Problems", "textarea", {"max_length": SECTION_MAX}),
    ("owner_id", "填写人", "Author", "user"),
)

WORK_LOG_WRITABLE = frozenset({"period", "period_start", "done", "plan", "problems"})
WORK_LOG_EXTRAS = frozenset({"copied_user_ids", "copied_department_ids", "related"})
