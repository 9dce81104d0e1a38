"""Work logs (crmkit.policies.worklogs)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import attrs
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.records import RecordRef
from crmkit.entities.scope import OrgMember, OrgSnapshot, OrgUnit
from crmkit.entities.worklogs import LogPeriod, WorkLog
from crmkit.policies.scopes import OrgIndex
from crmkit.policies.validation import MESSAGES
from crmkit.policies.worklogs import log_problems, mark_read, period_start, recipients, unread

T0 = datetime(2026, 12, 3, 18, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
ORG = OrgIndex(OrgSnapshot(1, (OrgUnit("top", None), OrgUnit("sales", "top"),
                               OrgUnit("east", "sales")),
                           (OrgMember("boss", "top"), OrgMember("u1", "sales"),
                            OrgMember("u2", "east"), OrgMember("u3", "east"))))


def log(id: str = "w1", **changes: Any) -> WorkLog:
    base = WorkLog(id, "u1", LogPeriod.DAILY, date(2026, 12, 3), "u1", T0, T0, done="拜访三家客户")
    return attrs.evolve(base, **changes)


def codes(log_: WorkLog) -> dict[str, str]:
    errors = log_problems(log_)
    assert all(e.code in MESSAGES for e in errors)
    return {e.path: e.code for e in errors}


def test_a_daily_log_with_one_section_is_valid() -> None:
    assert codes(log(related=(RecordRef("customer", "c1"),))) == {}


def test_weekly_logs_start_on_monday_and_monthly_ones_on_the_first() -> None:
    assert codes(log(period=LogPeriod.WEEKLY, period_start=date(2026, 11, 30))) == {}
    assert codes(log(period=LogPeriod.WEEKLY)) == {"$.period_start": "work_log.period_start"}
    assert codes(log(period=LogPeriod.MONTHLY, period_start=date(2026, 12, 1))) == {}
    assert codes(log(period=LogPeriod.MONTHLY)) == {"$.period_start": "work_log.period_start"}


def test_a_log_needs_some_text_and_no_section_over_10000_characters() -> None:
    assert codes(log(done=" ")) == {"$.done": "work_log.empty"}
    assert codes(log(plan="x" * 10_001)) == {"$.plan": "too_long"}


def test_related_records_follow_the_shared_rule() -> None:
    assert codes(log(related=(RecordRef("product", "p1"),))) == {
        "$.related[0].kind": "related.kind"}


@given(st.dates(date(2000, 1, 1), date(2099, 12, 31)), st.sampled_from(list(LogPeriod)))
def test_the_period_start_is_the_first_day_of_the_period_holding_the_day(
        day: date, period: LogPeriod) -> None:
    first = period_start(day, period)
    assert first <= day and period_start(first, period) == first
    if period is LogPeriod.WEEKLY:
        assert first.weekday() == 0 and (day - first).days < 7
    elif period is LogPeriod.MONTHLY:
        assert (first.day, first.month, first.year) == (1, day.month, day.year)
    else:
        assert first == day


def test_recipients_are_copied_users_and_departments_with_their_sub_departments() -> None:
    copied = log(copied_user_ids=frozenset({"boss", "u1"}),
                 copied_department_ids=frozenset({"sales"}))
    assert recipients(copied, ORG) == {"boss", "u2", "u3"}  # never the author u1


def test_a_recipients_first_reading_marks_the_log_read_and_others_change_nothing() -> None:
    copied = log(copied_department_ids=frozenset({"east"}))
    assert [w.id for w in unread([copied], "u2", ORG)] == ["w1"]
    read = mark_read(copied, "u2", ORG)
    assert read.read_by == {"u2"} and unread([read], "u2", ORG) == []
    assert mark_read(read, "u2", ORG) is read
    assert mark_read(read, "u1", ORG) is read  # the author
    assert mark_read(read, "boss", ORG) is read  # not a recipient


def test_unread_logs_come_newest_period_first() -> None:
    older = log("old", period_start=date(2026, 12, 1), copied_user_ids=frozenset({"u2"}))
    newer = log("new", copied_user_ids=frozenset({"u2"}))
    assert [w.id for w in unread([older, newer], "u2", ORG)] == ["new", "old"]
