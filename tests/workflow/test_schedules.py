"""日程 Schedules through the facade (``crm.schedules``) on every backend: the event rules,
participants (they see the event; a stranger gets NotFound), related records the writer may
see, the calendar window expanded in Asia/Shanghai, skipped occurrences, a follow-up's
next-contact event and the lookup by related record."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.entities.calendar import Frequency, RepeatRule
from crmkit.entities.records import RecordRef
from crmkit.errors import NotFound, PermissionDenied, RuleViolation, ValidationError
from crmkit.policies.recurrence import occurrences
from crmkit.testing.builders import sample_org

from .conftest import Org, make_storage

SH = ZoneInfo("Asia/Shanghai")


def sh(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SH)


def meeting(**more: object) -> dict[str, object]:
    return {"title": "周例会", "starts_at": "2026-11-02T09:00:00+08:00",
            "ends_at": "2026-11-02T10:00:00+08:00", **more}


def test_a_rep_creates_an_event_with_participants_reminders_and_a_repeat(org: Org) -> None:
    event = org.crm.schedules.create(org.rep, meeting(
        participant_ids=[org.manager.id], reminders=[15, 0],
        repeat={"frequency": "weekly", "count": 4}))
    assert (event.owner_id, event.participant_ids, event.reminders) == (
        org.rep.id, frozenset({org.manager.id}), (15, 0))
    assert event.repeat == RepeatRule(Frequency.WEEKLY, count=4)
    assert event.series_ends_at == sh(2026, 11, 23, 10, 0)
    assert org.crm.schedules.get(org.rep, event.id) == event
    assert org.crm.kind("schedule") is org.crm.schedules


def test_a_participant_sees_the_event_read_only_and_a_stranger_gets_not_found(
        org: Org) -> None:
    stranger = org.user("13900000009", "别组销售", org.group, "sales_rep")
    event = org.crm.schedules.create(org.rep, meeting(participant_ids=[org.manager.id]))
    helper = org.user("13900000008", "协作人", org.group, "sales_rep")
    shared = org.crm.schedules.update(org.rep, event.id, {"participant_ids": [helper.id]})
    assert org.crm.schedules.get(helper, event.id) == shared
    with pytest.raises(PermissionDenied) as read_only:
        org.crm.schedules.update(helper, event.id, {"title": "改"})
    assert read_only.value.code == "record.read_only"
    for outsider in (stranger,):
        with pytest.raises(NotFound):
            org.crm.schedules.get(outsider, event.id)
    assert [e.id for e in org.crm.schedules.list(helper).items] == [event.id]
    assert org.crm.schedules.list(stranger).items == ()
    # the manager left the participants but still sees the rep's events through his scope
    assert org.crm.schedules.get(org.manager, event.id).participant_ids == {helper.id}


def test_the_owner_is_no_participant_and_participants_are_the_only_team(org: Org) -> None:
    event = org.crm.schedules.create(org.rep, meeting(participant_ids=[org.rep.id]))
    assert event.participant_ids == frozenset()
    with pytest.raises(RuleViolation) as caught:
        org.crm.schedules.add_team_member(org.rep, event.id, org.manager.id)
    assert caught.value.code == "record_kind.feature"


def test_bad_events_are_refused_field_by_field_and_nothing_is_written(org: Org) -> None:
    with pytest.raises(ValidationError) as caught:
        org.crm.schedules.create(org.rep, meeting(
            ends_at="2026-11-02T08:00:00+08:00", reminders=[-5],
            repeat={"frequency": "monthly", "count": 2, "until": "2026-12-31"},
            participant_ids=["nobody"]))
    assert caught.value.codes == {"$.participant_ids": "not_found"}
    with pytest.raises(ValidationError) as rules:
        org.crm.schedules.create(org.rep, meeting(
            ends_at="2026-11-02T08:00:00+08:00", reminders=[-5],
            repeat={"frequency": "monthly", "count": 2, "until": "2026-12-31"}))
    assert rules.value.codes == {"$.ends_at": "event.ends_before_start",
                                 "$.reminders": "invalid",
                                 "$.repeat.count": "repeat.until_and_count"}
    with pytest.raises(ValidationError) as typed:
        org.crm.schedules.create(org.rep, meeting(repeat={"frequency": "hourly"}))
    assert list(typed.value.codes) == ["$.repeat.frequency"]
    assert org.crm.schedules.list(org.admin).items == ()


def test_related_records_are_ones_the_writer_may_see(org: Org) -> None:
    other = org.user("13900000009", "别组销售", org.group, "sales_rep")
    mine = org.crm.customers.create(org.rep, {"name": "华星科技"})
    theirs = org.crm.customers.create(other, {"name": "别人的客户"})
    with pytest.raises(ValidationError) as caught:
        org.crm.schedules.create(org.rep, meeting(related=[
            {"kind": "customer", "id": mine.id}, {"kind": "customer", "id": theirs.id}]))
    assert caught.value.codes == {"$.related[1]": "not_found"}
    with pytest.raises(ValidationError) as kind:
        org.crm.schedules.create(org.rep, meeting(related=[{"kind": "product", "id": "p1"}]))
    assert kind.value.codes == {"$.related[0].kind": "related.kind"}
    event = org.crm.schedules.create(org.rep, meeting(related=[{"kind": "customer",
                                                                "id": mine.id}]))
    assert event.related == (RecordRef("customer", mine.id),)
    refs = [RecordRef("customer", mine.id)]
    assert [e.id for e in org.crm.schedules.related_to(org.rep, refs)] == [event.id]
    assert org.crm.schedules.related_to(other, refs) == []            # not theirs to see
    org.crm.schedules.update(org.rep, event.id, {"related": []})
    assert org.crm.schedules.related_to(org.rep, refs) == []


def test_a_monthly_event_from_31_january_falls_on_each_months_last_day(org: Org) -> None:
    start = sh(2026, 1, 31, 9, 0)
    event = org.crm.schedules.create(org.rep, {
        "title": "月度回款核对", "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "repeat": {"frequency": "monthly", "until": "2026-06-30"}})
    entries = org.crm.schedules.calendar(org.rep, sh(2026, 1, 1), sh(2026, 12, 1))
    assert [e.occurrence.day for e in entries] == [
        date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30),
        date(2026, 5, 31), date(2026, 6, 30)]
    assert {e.event.id for e in entries} == {event.id}
    assert entries[1].occurrence.starts_at == datetime(2026, 2, 28, 1, 0, tzinfo=UTC)


def test_an_all_day_event_covers_its_shanghai_day_not_the_utc_one(org: Org) -> None:
    org.crm.schedules.create(org.rep, {"title": "客户答谢会", "all_day": True,
                                       "starts_at": "2026-11-03T00:00:00+08:00",
                                       "ends_at": "2026-11-04T00:00:00+08:00"})
    # 2 Nov 16:00 UTC is already 3 Nov in Shanghai
    late_utc = datetime(2026, 11, 2, 16, 0, tzinfo=UTC)
    assert len(org.crm.schedules.calendar(org.rep, late_utc, late_utc + timedelta(hours=1))) == 1
    assert org.crm.schedules.calendar(org.rep, late_utc - timedelta(hours=1), late_utc) == []
    with pytest.raises(ValidationError) as caught:
        org.crm.schedules.create(org.rep, {"title": "x", "all_day": True,
                                           "starts_at": "2026-11-03T00:00:00+00:00",
                                           "ends_at": "2026-11-04T00:00:00+00:00"})
    assert caught.value.codes == {"$.starts_at": "event.all_day_midnight",
                                  "$.ends_at": "event.all_day_midnight"}


def test_the_calendar_shows_own_and_participating_events_within_the_viewers_scope(
        org: Org) -> None:
    other = org.user("13900000009", "别组销售", org.group, "sales_rep")
    own = org.crm.schedules.create(org.rep, meeting(title="我的"))
    invited = org.crm.schedules.create(other, meeting(title="邀请我", participant_ids=[
        org.rep.id]))
    org.crm.schedules.create(other, meeting(title="别人的"))
    window = (sh(2026, 11, 1), sh(2026, 11, 8))
    assert {e.event.id for e in org.crm.schedules.calendar(org.rep, *window)} == {
        own.id, invited.id}
    # the manager looks at the rep's calendar: the rep's own event and the invitation
    # (the manager's scope covers the other rep too)
    assert {e.event.id for e in org.crm.schedules.calendar(
        org.manager, *window, user_id=org.rep.id)} == {own.id, invited.id}
    with pytest.raises(NotFound):
        org.crm.schedules.calendar(other, *window, user_id=org.rep.id)
    with pytest.raises(ValidationError) as caught:
        org.crm.schedules.calendar(org.rep, sh(2026, 1, 1), sh(2027, 2, 1))
    assert caught.value.codes == {"$.window": "calendar.window"}


def test_an_endless_repeat_reaches_every_later_window_and_a_skipped_day_is_gone(
        org: Org) -> None:
    event = org.crm.schedules.create(org.rep, meeting(repeat={"frequency": "daily",
                                                              "weekdays": [0, 1, 2, 3, 4]}))
    assert event.series_ends_at is None
    week = (sh(2027, 3, 1), sh(2027, 3, 8))      # Monday to Monday, four months later
    days = [e.occurrence.day for e in org.crm.schedules.calendar(org.rep, *week)]
    assert days == [date(2027, 3, d) for d in range(1, 6)]
    skipped = org.crm.schedules.skip(org.rep, event.id, date(2027, 3, 3))
    assert skipped.repeat is not None and skipped.repeat.skipped == {date(2027, 3, 3)}
    days = [e.occurrence.day for e in org.crm.schedules.calendar(org.rep, *week)]
    assert date(2027, 3, 3) not in days and len(days) == 4
    with pytest.raises(ValidationError) as weekend:
        org.crm.schedules.skip(org.rep, event.id, date(2027, 3, 6))
    assert weekend.value.codes == {"$.day": "calendar.no_occurrence"}
    assert [e.action for e in org.crm.schedules.operation_log(org.rep, event.id)] == [
        "skip", "create"]


def test_a_follow_ups_next_contact_time_puts_an_event_in_the_authors_calendar(
        org: Org) -> None:
    customer = org.crm.customers.create(org.rep, {"name": "华星科技"})
    org.crm.followups.add(org.rep, "customer", customer.id, {
        "method": "打电话", "content": "约了下周拜访",
        "next_contact_at": "2026-11-09T14:30:00+08:00"})
    [entry] = org.crm.schedules.calendar(org.rep, sh(2026, 11, 9), sh(2026, 11, 10))
    assert (entry.event.title, entry.event.source, entry.occurrence.starts_at) == (
        "联系：华星科技", "followup", sh(2026, 11, 9, 14, 30))
    assert [e.id for e in org.crm.schedules.related_to(
        org.rep, [RecordRef("customer", customer.id)])] == [entry.event.id]
    assert "schedule" in {i.type for i in org.crm.followups.timeline(org.rep, "customer",
                                                                       customer.id)}


def test_deleting_an_event_drops_its_participants_and_links(org: Org) -> None:
    customer = org.crm.customers.create(org.rep, {"name": "华星科技"})
    event = org.crm.schedules.create(org.rep, meeting(
        participant_ids=[org.manager.id], related=[{"kind": "customer", "id": customer.id}]))
    org.crm.schedules.delete(org.admin, event.id)
    assert org.crm.schedules.related_to(org.rep, [RecordRef("customer", customer.id)]) == []
    with org.crm.storage.transaction() as uow:
        assert uow.team.members("schedule", event.id) == []
        assert uow.links.sources("schedule", [RecordRef("customer", customer.id)]) == []


@pytest.mark.parametrize("backend_name", ["memory", "sqlite"])
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=st.lists(st.tuples(
    st.sampled_from(list(Frequency)), st.integers(1, 3),
    st.one_of(st.none(), st.integers(1, 12)), st.integers(0, 40), st.integers(0, 23)),
    min_size=1, max_size=4),
       offset=st.integers(0, 400), span=st.integers(0, 120))
def test_the_calendar_window_holds_every_occurrence_of_every_stored_event(
        backend_name: str, rules: list[tuple[Frequency, int, int | None, int, int]],
        offset: int, span: int) -> None:
    """The storage pre-filter (start before the window's end, series ending after its start)
    never drops an occurrence: the calendar equals the policy's expansion of every event."""
    clock = FixedClock(datetime(2026, 1, 1, tzinfo=UTC))
    org = sample_org(CRM(make_storage(backend_name, None), clock=clock),  # type: ignore[arg-type]
                     clock=clock)
    events = []
    for frequency, interval, count, day, hour in rules:
        start = sh(2026, 1, 1, hour) + timedelta(days=day)
        events.append(org.crm.schedules.create(org.rep, {
            "title": "t", "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "repeat": {"frequency": frequency.value, "interval": interval, "count": count}}))
    window = (sh(2026, 1, 1) + timedelta(days=offset),
              sh(2026, 1, 1) + timedelta(days=offset + span))
    found = [(e.occurrence, e.event.id) for e in org.crm.schedules.calendar(org.rep, *window)]
    expected = sorted((o, o.event_id) for e in events
                      for o in occurrences(e, *window, SH))
    assert found == expected
