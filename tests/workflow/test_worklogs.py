"""日志 Work logs through the facade (``crm.work_logs``) on every backend: the log rules, the
period's first day, recipients (copied users and departments) who see the log, read status
and unread counts, related records."""

from __future__ import annotations

from datetime import date

import pytest

from crmkit.entities.records import RecordRef
from crmkit.entities.worklogs import LogPeriod
from crmkit.errors import NotFound, PermissionDenied, ValidationError

from .conftest import Org


def test_a_weekly_log_dated_wednesday_is_the_weeks_from_monday(org: Org) -> None:
    log = org.crm.work_logs.create(org.rep, {"period": "weekly", "period_start": "2026-11-04",
                                             "done": "拜访 3 家客户", "plan": "跟进报价"})
    assert (log.owner_id, log.period, log.period_start, log.problems) == (
        org.rep.id, LogPeriod.WEEKLY, date(2026, 11, 2), "")
    assert org.crm.work_logs.get(org.rep, log.id) == log
    assert org.crm.kind("work_log") is org.crm.work_logs


def test_an_empty_log_and_unknown_recipients_are_refused(org: Org) -> None:
    with pytest.raises(ValidationError) as empty:
        org.crm.work_logs.create(org.rep, {"period": "daily", "period_start": "2026-11-02",
                                           "done": " "})
    assert empty.value.codes == {"$.done": "work_log.empty"}
    with pytest.raises(ValidationError) as unknown:
        org.crm.work_logs.create(org.rep, {"period": "daily", "period_start": "2026-11-02",
                                           "done": "x", "copied_user_ids": ["ghost"]})
    assert unknown.value.codes == {"$.copied_user_ids": "not_found"}
    with pytest.raises(ValidationError) as department:
        org.crm.work_logs.create(org.rep, {"period": "daily", "period_start": "2026-11-02",
                                           "done": "x", "copied_department_ids": ["ghost"]})
    assert department.value.codes == {"$.copied_department_ids": "not_found"}
    assert org.crm.work_logs.list(org.admin).items == ()


def test_nobody_writes_a_log_in_another_s_name(org: Org) -> None:
    with pytest.raises(ValidationError) as refused:
        org.crm.work_logs.create(org.manager, {"period": "daily", "period_start": "2026-11-02",
                                               "done": "x", "owner_id": org.rep.id})
    assert refused.value.codes == {"$.owner_id": "read_only"}
    mine = org.crm.work_logs.create(org.manager, {
        "period": "daily", "period_start": "2026-11-02", "done": "x",
        "owner_id": org.manager.id})
    assert mine.owner_id == org.manager.id
    assert org.crm.work_logs.list(org.admin).items == (mine,)


def test_recipients_see_the_log_read_only_and_a_stranger_gets_not_found(org: Org) -> None:
    colleague = org.user("13900000009", "同组销售", org.group, "sales_rep")
    finance = org.user("13900000008", "财务", org.finance, "sales_rep")
    log = org.crm.work_logs.create(org.rep, {
        "period": "daily", "period_start": "2026-11-02", "done": "回访老客户",
        "copied_department_ids": [org.group.id]})
    assert org.crm.work_logs.get(colleague, log.id) == log
    with pytest.raises(PermissionDenied):
        org.crm.work_logs.update(colleague, log.id, {"done": "改"})
    with pytest.raises(NotFound):
        org.crm.work_logs.get(finance, log.id)
    moved = org.crm.work_logs.update(org.rep, log.id, {"copied_department_ids": [],
                                                       "copied_user_ids": [finance.id]})
    assert org.crm.work_logs.get(finance, log.id) == moved
    with pytest.raises(NotFound):
        org.crm.work_logs.get(colleague, log.id)


def test_read_status_and_unread_counts(org: Org) -> None:
    reader = org.user("13900000009", "同组销售", org.group, "sales_rep")
    logs = [org.crm.work_logs.create(org.rep, {
        "period": "daily", "period_start": f"2026-11-0{day}", "done": f"第 {day} 天",
        "copied_user_ids": [reader.id, org.manager.id]}) for day in (2, 3)]
    assert org.crm.work_logs.unread_count(reader) == 2
    assert [log.id for log in org.crm.work_logs.unread(reader)] == [logs[1].id, logs[0].id]
    read = org.crm.work_logs.mark_read(reader, logs[1].id)
    assert read.read_by == {reader.id}
    assert org.crm.work_logs.mark_read(reader, logs[1].id) == read      # once
    assert org.crm.work_logs.mark_read(org.rep, logs[1].id) == read     # the author: nothing
    assert org.crm.work_logs.unread_count(reader) == 1
    assert org.crm.work_logs.unread_count(org.manager) == 2
    assert org.crm.work_logs.unread_count(org.rep) == 0
    assert org.crm.work_logs.operation_log(org.rep, logs[1].id)[0].action == "create"


def test_related_records_find_their_logs(org: Org) -> None:
    customer = org.crm.customers.create(org.rep, {"name": "华星科技"})
    log = org.crm.work_logs.create(org.rep, {
        "period": "monthly", "period_start": "2026-11-15", "done": "签约华星",
        "related": [{"kind": "customer", "id": customer.id}]})
    assert log.period_start == date(2026, 11, 1)
    assert log.related == (RecordRef("customer", customer.id),)
    assert [x.id for x in org.crm.work_logs.related_to(
        org.manager, [RecordRef("customer", customer.id)])] == [log.id]


def test_recipients_comment_on_a_log_and_a_stranger_cannot(org: Org) -> None:
    reader = org.user("13900000009", "同组销售", org.group, "sales_rep")
    stranger = org.user("13900000008", "财务", org.finance, "sales_rep")
    log = org.crm.work_logs.create(org.rep, {
        "period": "daily", "period_start": "2026-11-02", "problems": "报价被压",
        "copied_user_ids": [reader.id]})
    comment = org.crm.comments.add(reader, "work_log", log.id, "周三一起去谈")
    assert [c.id for c in org.crm.comments.list(org.rep, "work_log", log.id)] == [comment.id]
    with pytest.raises(NotFound):
        org.crm.comments.add(stranger, "work_log", log.id, "路过")
