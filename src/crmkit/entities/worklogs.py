"""日志 Work logs (DESIGN §5): daily, weekly and monthly reports.

A log has three sections — ``done``: the work of the period (今日/本周/本月工作内容),
``plan``: the plan for the next one (明日/下周/下月工作计划) and ``problems`` met (遇到的问题)
— and is copied to users and departments (抄送), who see it and whose reading is recorded
(``read_by``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import date, datetime

import attrs

from crmkit.entities.common import JSONValue, frozen_mapping
from crmkit.entities.records import RecordRef

__all__ = ["SECTION_MAX", "WORK_LOG", "LogPeriod", "WorkLog"]

WORK_LOG = "work_log"
SECTION_MAX = 10_000
"""Characters a section of a log holds at most."""


class LogPeriod(enum.StrEnum):
    """日报 / 周报 / 月报."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"

    @property
    def label_zh(self) -> str:
        return {"daily": "日报", "weekly": "周报", "monthly": "月报"}[self.value]


@attrs.frozen
class WorkLog:
    """A report of its author ``owner_id`` for the period starting ``period_start`` (the day of
    a daily log, the Monday of a weekly one, the 1st of a monthly one)."""

    id: str
    owner_id: str
    period: LogPeriod = attrs.field(converter=LogPeriod)
    period_start: date
    created_by: str | None
    created_at: datetime
    updated_at: datetime
    version: int = 1
    done: str = ""
    plan: str = ""
    problems: str = ""
    copied_user_ids: frozenset[str] = frozenset()
    copied_department_ids: frozenset[str] = frozenset()
    related: tuple[RecordRef, ...] = ()
    attachment_ids: tuple[str, ...] = ()
    read_by: frozenset[str] = frozenset()
    custom: Mapping[str, JSONValue] = attrs.field(factory=dict, converter=frozen_mapping)
