"""Tasks and the workbench (crmkit.policies.tasks, crmkit.policies.workbench)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.entities.records import RecordRef
from crmkit.entities.tasks import (
    Bucket,
    DueWindow,
    Placement,
    Priority,
    Tag,
    Task,
    TaskFilter,
)
from crmkit.errors import ValidationError
from crmkit.policies.tasks import (
    complete,
    deadline,
    in_due_window,
    reopen,
    tag_problems,
    task_problems,
)
from crmkit.policies.validation import MESSAGES
from crmkit.policies.workbench import file_new, matches, move, workbench

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 3, 9, 0, tzinfo=SH)  # a Thursday


def task(id: str = "t1", **changes: Any) -> Task:
    base = Task(id, "打电话给王总", "u1", "u1", T0, T0)
    return attrs.evolve(base, **changes)


def codes(task_: Task, parents: dict[str, str | None] | None = None) -> dict[str, str]:
    errors = task_problems(task_, parents)
    assert all(e.code in MESSAGES for e in errors)  # each code has its zh/en message
    return {e.path: e.code for e in errors}


# -- validity -------------------------------------------------------------------------------
def test_a_plain_task_is_valid() -> None:
    assert task_problems(task(related=(RecordRef("customer", "c1"),))) == []


def test_a_task_needs_a_title_of_at_most_200_characters() -> None:
    assert codes(task(title="  ")) == {"$.title": "blank"}
    assert codes(task(title="x" * 201)) == {"$.title": "too_long"}


def test_a_due_time_needs_a_due_date() -> None:
    assert codes(task(due_time=time(15))) == {"$.due_time": "task.time_without_date"}


def test_done_at_is_set_exactly_while_done() -> None:
    assert codes(task(done=True)) == {"$.done_at": "invalid"}
    assert codes(task(done_at=T0)) == {"$.done_at": "invalid"}


def test_related_records_are_customers_contacts_opportunities_or_contracts_once() -> None:
    bad = task(related=(RecordRef("lead", "l1"), RecordRef("contact", "k1"),
                        RecordRef("contact", "k1")))
    assert codes(bad) == {"$.related[0].kind": "related.kind", "$.related[2]": "related.duplicate"}


def test_tags_are_distinct_and_at_most_20() -> None:
    assert codes(task(tag_ids=("a", "a"))) == {"$.tag_ids": "invalid"}
    assert codes(task(tag_ids=tuple(f"g{i}" for i in range(21)))) == {"$.tag_ids": "too_many"}


def test_subtasks_are_one_level_deep() -> None:
    assert codes(task(parent_id="t1")) == {"$.parent_id": "task.nested_subtask"}
    assert codes(task(parent_id="p"), {"p": "grandparent"}) == {
        "$.parent_id": "task.nested_subtask"}
    assert codes(task(parent_id="p"), {"p": None, "child": "t1"}) == {
        "$.parent_id": "task.has_subtasks"}
    assert codes(task(parent_id="p"), {"p": None}) == {}


def test_a_tag_name_is_unique_per_user_ignoring_case_and_spaces() -> None:
    mine = Tag("g1", "u1", "VIP")
    assert tag_problems(Tag("g2", "u1", " vip ", "#ff0000"), [mine])[0].code == "tag.name_taken"
    assert tag_problems(Tag("g2", "u2", "vip", "#ff0000"), [mine]) == []
    assert tag_problems(Tag("g1", "u1", "vip", "#ff0000"), [mine]) == []  # renaming itself


def test_a_tag_needs_a_name_and_a_hex_colour() -> None:
    assert all(e.code in MESSAGES for e in tag_problems(Tag("g3", "u1", " ", "red")))
    assert {e.path: e.code for e in tag_problems(Tag("g3", "u1", " ", "red"))} == {
        "$.name": "blank", "$.colour": "tag.colour"}
    assert {e.path: e.code for e in tag_problems(Tag("g3", "u1", "x" * 21))} == {
        "$.name": "too_long"}


# -- deadlines and windows ------------------------------------------------------------------
def test_a_due_date_alone_is_due_by_the_end_of_the_local_day() -> None:
    assert deadline(task(due_date=date(2026, 12, 3)), SH) == datetime(2026, 12, 4, tzinfo=SH)
    assert deadline(task(due_date=date(2026, 12, 3), due_time=time(15, 30)), SH) == datetime(
        2026, 12, 3, 15, 30, tzinfo=SH)
    assert deadline(task(), SH) is None


def test_a_task_due_today_is_overdue_only_after_local_midnight() -> None:
    due = task(due_date=date(2026, 12, 3))
    just_before = datetime(2026, 12, 3, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert not in_due_window(due, DueWindow.OVERDUE, just_before, SH)
    assert in_due_window(due, DueWindow.OVERDUE, just_before + timedelta(minutes=1), SH)
    assert not in_due_window(complete(due, T0), DueWindow.OVERDUE, T0 + timedelta(days=9), SH)


@pytest.mark.parametrize(("due", "window", "inside"), [
    (date(2026, 12, 3), DueWindow.TODAY, True),
    (date(2026, 12, 4), DueWindow.TODAY, False),
    (date(2026, 12, 4), DueWindow.TOMORROW, True),
    (date(2026, 11, 30), DueWindow.THIS_WEEK, True),  # Monday of the week
    (date(2026, 12, 6), DueWindow.THIS_WEEK, True),  # Sunday
    (date(2026, 12, 7), DueWindow.THIS_WEEK, False),
    (date(2026, 12, 9), DueWindow.NEXT_7_DAYS, True),
    (date(2026, 12, 10), DueWindow.NEXT_7_DAYS, False),
    (date(2026, 12, 31), DueWindow.THIS_MONTH, True),
    (date(2027, 1, 1), DueWindow.THIS_MONTH, False),
    (None, DueWindow.NO_DUE_DATE, True),
    (None, DueWindow.TODAY, False),
    (date(2026, 12, 3), DueWindow.NO_DUE_DATE, False),
])
def test_due_windows_are_local_days(due: date | None, window: DueWindow, inside: bool) -> None:
    assert in_due_window(task(due_date=due), window, T0, SH) is inside


def test_the_local_day_decides_not_the_utc_day() -> None:
    early = datetime(2026, 12, 3, 17, 0, tzinfo=UTC)  # already 4 Dec 01:00 in Shanghai
    assert in_due_window(task(due_date=date(2026, 12, 4)), DueWindow.TODAY, early, SH)


def test_completing_and_reopening() -> None:
    done = complete(task(), T0)
    assert (done.done, done.done_at) == (True, T0) and task_problems(done) == []
    assert complete(done, T0 + timedelta(hours=1)) is done
    assert (reopen(done, T0).done, reopen(done, T0).done_at) == (False, None)


# -- filters --------------------------------------------------------------------------------
def test_filters_must_all_hold() -> None:
    tagged = task(tag_ids=("g1", "g2"), priority=Priority.HIGH, participant_ids=frozenset({"u2"}))
    assert matches(tagged, TaskFilter(), T0, SH)
    assert matches(tagged, TaskFilter(tag_ids=frozenset({"g2", "g9"})), T0, SH)
    assert not matches(tagged, TaskFilter(tag_ids=frozenset({"g9"})), T0, SH)
    assert matches(tagged, TaskFilter(priorities=frozenset({Priority.HIGH, Priority.LOW})), T0, SH)
    assert not matches(tagged, TaskFilter(priorities=frozenset({Priority.NONE})), T0, SH)
    assert matches(tagged, TaskFilter(owner_id="u1", participant_id="u2", done=False), T0, SH)
    assert not matches(tagged, TaskFilter(owner_id="u2"), T0, SH)
    assert not matches(tagged, TaskFilter(participant_id="u1"), T0, SH)
    assert not matches(tagged, TaskFilter(done=True), T0, SH)
    assert not matches(tagged, TaskFilter(due=DueWindow.TODAY), T0, SH)


def test_priorities_rank_high_first() -> None:
    assert sorted(Priority, key=lambda p: p.rank) == [Priority.HIGH, Priority.MEDIUM,
                                                      Priority.LOW, Priority.NONE]
    assert [p.label_zh for p in Priority] == ["高", "中", "低", "无"]
    assert [b.label_zh for b in Bucket] == ["收件箱", "今天要做", "下一步要做", "以后要做"]


# -- the workbench --------------------------------------------------------------------------
def test_a_users_workbench_shows_owned_and_participated_tasks_in_their_own_columns() -> None:
    mine = task("a")
    shared = task("b", owner_id="u2", participant_ids=frozenset({"u1"}))
    stranger = task("c", owner_id="u3")
    placements = [Placement("u1", "b", Bucket.TODAY, "i0"),
                  Placement("u2", "b", Bucket.LATER, "i0")]
    columns = workbench("u1", [mine, shared, stranger], placements, T0, SH)
    assert columns == {Bucket.INBOX: [mine], Bucket.TODAY: [shared], Bucket.NEXT: [],
                       Bucket.LATER: []}
    assert workbench("u2", [mine, shared, stranger], placements, T0, SH)[Bucket.LATER] == [shared]


def test_unplaced_tasks_come_first_in_the_inbox_newest_first() -> None:
    old, new, filed = task("old"), task("new", created_at=T0 + timedelta(1)), task("filed")
    columns = workbench("u1", [old, filed, new], [Placement("u1", "filed", Bucket.INBOX, "i0")],
                        T0, SH)
    assert [t.id for t in columns[Bucket.INBOX]] == ["new", "old", "filed"]


def test_a_subtask_shows_under_its_parent_unless_the_parent_is_not_mine() -> None:
    parent = task("p", owner_id="u2")
    child = task("s", parent_id="p")
    assert [t.id for t in workbench("u1", [parent, child], [], T0, SH)[Bucket.INBOX]] == ["s"]
    mine = attrs.evolve(parent, owner_id="u1")
    assert [t.id for t in workbench("u1", [mine, child], [], T0, SH)[Bucket.INBOX]] == ["p"]


def test_a_filtered_workbench_keeps_only_matching_tasks() -> None:
    high, low = task("h", priority=Priority.HIGH), task("l", priority=Priority.LOW)
    wanted = TaskFilter(priorities=frozenset({Priority.HIGH}))
    assert workbench("u1", [high, low], [], T0, SH, wanted)[Bucket.INBOX] == [high]


def test_moving_puts_the_task_between_its_new_neighbours_and_touches_nothing_else() -> None:
    column = [Placement("u1", t, Bucket.TODAY, k) for t, k in (("a", "i0"), ("b", "i1"))]
    moved = move("u1", "x", Bucket.TODAY, column, 1)
    assert moved.bucket is Bucket.TODAY and "i0" < moved.order_key < "i1"
    assert move("u1", "x", Bucket.TODAY, column, 0).order_key < "i0"
    assert move("u1", "x", Bucket.TODAY, column, 2).order_key > "i1"
    assert move("u1", "a", Bucket.TODAY, column, 1).order_key > "i1"  # its own slot left out


def test_a_position_outside_the_column_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        move("u1", "x", Bucket.NEXT, [], 1)
    assert caught.value.codes == {"$.position": "workbench.position"}


def test_tied_keys_from_concurrent_moves_still_leave_room() -> None:
    column = [Placement("u1", t, Bucket.TODAY, "i1") for t in ("a", "b")]
    moved = move("u1", "x", Bucket.TODAY, [*column, Placement("u1", "c", Bucket.TODAY, "i2")], 1)
    assert "i1" < moved.order_key < "i2"


def test_a_new_task_is_filed_on_top() -> None:
    column = [Placement("u1", "a", Bucket.INBOX, "i0")]
    assert file_new("u1", "n", column).order_key < "i0"


TASKS = [f"t{i}" for i in range(6)]
moves = st.lists(st.tuples(st.sampled_from(TASKS), st.sampled_from(list(Bucket)),
                           st.integers(0, 6)), max_size=60)


@given(moves)
def test_any_sequence_of_moves_keeps_each_column_in_the_intended_order(
        steps: list[tuple[str, Bucket, int]]) -> None:
    """Model: each column a list; a move removes the task and inserts it at the position. The
    placements, sorted by key, always read as the model — no duplicate keys, no renumbering."""
    model: dict[Bucket, list[str]] = {b: [] for b in Bucket}
    placements: dict[str, Placement] = {}
    for task_id, bucket, wanted in steps:
        for ids in model.values():
            if task_id in ids:
                ids.remove(task_id)
        position = min(wanted, len(model[bucket]))
        model[bucket].insert(position, task_id)
        before = dict(placements)
        placements[task_id] = move("u1", task_id, bucket, placements.values(), position)
        assert {k: v for k, v in placements.items() if k != task_id} == {
            k: v for k, v in before.items() if k != task_id}
        for column, ids in model.items():
            keys = sorted((p.order_key, p.task_id) for p in placements.values()
                          if p.bucket is column)
            assert [t for _, t in keys] == ids
            assert len({k for k, _ in keys}) == len(keys)
    tasks = [task(t) for t in placements]
    columns = workbench("u1", tasks, placements.values(), T0, SH)
    assert {b: [t.id for t in ts] for b, ts in columns.items()} == model


USERS = ["u1", "u2", "u3"]
some_tasks = st.lists(
    st.builds(lambda i, owner, people, parent, bucket: (
        task(f"t{i}", owner_id=owner, participant_ids=frozenset(people),
             parent_id=None if parent is None or parent == i else f"t{parent}"), bucket),
        st.integers(0, 9), st.sampled_from(USERS), st.frozensets(st.sampled_from(USERS)),
        st.none() | st.integers(0, 9), st.none() | st.sampled_from(list(Bucket))),
    max_size=10, unique_by=lambda pair: pair[0].id)


@given(some_tasks, st.sampled_from(USERS))
def test_a_workbench_lists_each_visible_top_task_once_and_nothing_else(
        pairs: list[tuple[Task, Bucket | None]], user: str) -> None:
    tasks = [t for t, _ in pairs]
    placements = [Placement(user, t.id, bucket, f"i{n}") for n, (t, bucket) in enumerate(pairs)
                  if bucket is not None]
    columns = workbench(user, tasks, placements, T0, SH)
    listed = [t.id for column in columns.values() for t in column]
    mine = {t.id for t in tasks if t.involves(user)}
    assert len(listed) == len(set(listed))
    assert set(listed) == {t.id for t in tasks if t.id in mine and t.parent_id not in mine}
    where = {p.task_id: p.bucket for p in placements}
    assert all(where.get(t.id, Bucket.INBOX) is bucket
               for bucket, column in columns.items() for t in column)
