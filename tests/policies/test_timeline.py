"""The record timeline as a pure merge (crmkit.policies.timeline)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.records import RecordRef
from crmkit.entities.timeline import TimelineCategory, TimelineItem, TimelineKey
from crmkit.errors import ValidationError
from crmkit.policies.timeline import decode_cursor, encode_cursor, timeline_page

T0 = datetime(2026, 12, 3, 9, tzinfo=UTC)
CUSTOMER = RecordRef("customer", "c1")
CONTACT = RecordRef("contact", "k1")
DEAL = RecordRef("opportunity", "o1")


def item(kind: str, id: str, minutes: int, source: RecordRef = CUSTOMER,
         category: TimelineCategory = TimelineCategory.TASK) -> TimelineItem:
    return TimelineItem(T0 + timedelta(minutes=minutes), category, RecordRef(kind, id), source)


def test_newest_first_with_kind_and_id_breaking_ties() -> None:
    items = [item("task", "t1", 0), item("followup", "f1", 5), item("task", "t2", 5),
             item("task", "t3", 5)]
    page, following = timeline_page(CUSTOMER, items)
    assert [i.item.id for i in page] == ["t3", "t2", "f1", "t1"] and following is None


def test_an_item_reached_through_several_records_is_listed_once_preferring_the_record_itself(
        ) -> None:
    via_contact = item("task", "t1", 0, CONTACT)
    direct = item("task", "t1", 0, CUSTOMER)
    via_deal = item("task", "t2", 0, DEAL)
    page, _ = timeline_page(CUSTOMER, [via_contact, direct, via_deal,
                                       item("task", "t2", 0, CONTACT)])
    assert [(i.item.id, i.source) for i in page] == [("t2", CONTACT), ("t1", CUSTOMER)]


def test_categories_filter_and_invisible_items_are_left_out_before_paging() -> None:
    items = [item("followup", f"f{n}", n, category=TimelineCategory.COMMUNICATION)
             for n in range(3)] + [item("work_log", "w1", 9, category=TimelineCategory.LOG)]
    page, _ = timeline_page(CUSTOMER, items, categories={TimelineCategory.LOG})
    assert [i.item.id for i in page] == ["w1"]
    page, following = timeline_page(CUSTOMER, items, limit=2,
                                    may_see=lambda i: i.item.id != "w1")
    assert [i.item.id for i in page] == ["f2", "f1"] and following == page[-1].key


def test_a_limit_outside_1_to_200_is_refused() -> None:
    for limit in (0, 201):
        with pytest.raises(ValidationError) as caught:
            timeline_page(CUSTOMER, [], limit=limit)
        assert caught.value.codes == {"$.limit": "invalid"}


def test_cursors_round_trip_and_garbage_is_refused() -> None:
    key = TimelineKey(T0, "task", "t-1")
    assert decode_cursor(encode_cursor(key)) == key
    for bad in ("", "x", "W10", encode_cursor(TimelineKey(T0, "task", "a b")), "z" * 600):
        with pytest.raises(ValidationError) as caught:
            decode_cursor(bad)
        assert caught.value.codes == {"$.cursor": "invalid"}


entries = st.lists(st.tuples(st.sampled_from(["followup", "task", "schedule"]),
                             st.sampled_from(["a", "b", "c", "d"]),
                             st.sampled_from([CUSTOMER, CONTACT, DEAL])), max_size=40)


@given(entries, st.integers(1, 7))
def test_paging_with_cursors_lists_every_item_once_in_order(
        raw: list[tuple[str, str, RecordRef]], limit: int) -> None:
    # one time per item (an item never has two), shared by several items
    items = [item(kind, id, ord(id) % 2, source) for kind, id, source in raw]
    seen: list[TimelineItem] = []
    after = None
    while True:
        page, after_key = timeline_page(CUSTOMER, items, limit=limit, after=after)
        seen.extend(page)
        if after_key is None:
            break
        after = decode_cursor(encode_cursor(after_key))
    everything, _ = timeline_page(CUSTOMER, items, limit=200)
    assert seen == everything
    assert len({(i.item.kind, i.item.id) for i in seen}) == len(seen)
    assert [i.key for i in seen] == sorted((i.key for i in seen), reverse=True)
