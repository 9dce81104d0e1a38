"""The reminder and timeline storage contract: subclass :class:`ReminderStorageContract`,
implement ``make_storage``, run pytest.

It checks the rules of :mod:`crmkit.ports.reminders` and the timeline reads:

- sent keys: ``record`` stores each new key and returns exactly those (a key given twice in
  one call, or recorded earlier, is not returned again), ``sent`` names the stored ones, a
  rolled-back transaction gives its keys back; thousands of keys in one call;
- ``followups.for_records``: with hypothesis, for random follow-ups of several records (times
  shared on purpose), random record sets, cursors and limits, exactly what a plain Python
  filter and sort by timeline key returns;
- ``approvals.for_records``: the instances of the given records of one kind, by id::

    class TestMyReminderStorage(ReminderStorageContract):
        def make_storage(self):
            return MyStorage(...)   # empty; create_schema() is called by the contract
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.entities.approvals import ApprovalInstance, ApprovalStatus
from crmkit.entities.records import FollowUp, RecordRef
from crmkit.entities.timeline import FOLLOWUP_ITEM, TimelineKey
from crmkit.ports import Storage
from crmkit.testing.storage import StorageSuite

__all__ = ["ReminderStorageContract"]

AT = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
DAY = date(2026, 11, 2)
_RECORDS = [RecordRef("customer", "c1"), RecordRef("customer", "c2"), RecordRef("contact", "c1"),
            RecordRef("lead", "l1")]


def _key(n: int) -> str:
    return f"contact.today u1 customer c{n} 2026-11-02T01:00:00+00:00"


def _followup(n: int, ref: RecordRef, minute: int) -> FollowUp:
    at = AT + timedelta(minutes=minute)
    return FollowUp(f"f{n:03d}", ref.kind, ref.id, "u1", "打电话", f"第{n}次", at, at)


@st.composite
def _followups(draw: st.DrawFn) -> list[FollowUp]:
    count = draw(st.integers(0, 12))
    return [_followup(n, draw(st.sampled_from(_RECORDS)), draw(st.integers(0, 3)))
            for n in range(count)]


class ReminderStorageContract(StorageSuite):
    """Behaviour of ``uow.reminders`` and the timeline reads every storage must show."""

    examples = 40
    """Hypothesis examples per property test (lower it for slow backends)."""

    # -- sent keys -----------------------------------------------------------------------------
    def test_a_key_is_recorded_once(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            assert uow.reminders.record([(_key(1), DAY), (_key(2), DAY), (_key(1), DAY)],
                                        AT) == {_key(1), _key(2)}
            assert uow.reminders.record([(_key(2), DAY), (_key(3), DAY)], AT) == {_key(3)}
        with storage.transaction() as uow:
            assert uow.reminders.record([(_key(1), DAY)], AT) == set()
            assert uow.reminders.sent([_key(1), _key(3), _key(4)]) == {_key(1), _key(3)}
            assert uow.reminders.record([], AT) == set()
            assert uow.reminders.sent([]) == set()

    def test_a_rolled_back_scan_gives_its_keys_back(self, storage: Storage) -> None:
        with self.discarded(storage) as uow:
            assert uow.reminders.record([(_key(1), DAY)], AT) == {_key(1)}
        with storage.transaction() as uow:
            assert uow.reminders.sent([_key(1)]) == set()
            assert uow.reminders.record([(_key(1), DAY)], AT) == {_key(1)}

    def test_thousands_of_keys_at_once(self, storage: Storage) -> None:
        keys = [(_key(n), DAY) for n in range(2500)]
        with storage.transaction() as uow:
            assert uow.reminders.record(keys[:1200], AT) == {k for k, _ in keys[:1200]}
            assert uow.reminders.record(keys, AT) == {k for k, _ in keys[1200:]}
            assert len(uow.reminders.sent([k for k, _ in keys])) == 2500

    # -- the timeline reads --------------------------------------------------------------------
    def test_followups_of_records_equal_a_python_filter(self, storage: Storage) -> None:
        @settings(max_examples=self.examples, deadline=None,
                  suppress_health_check=[HealthCheck.too_slow])
        @given(items=_followups(), chosen=st.sets(st.sampled_from(_RECORDS)),
               limit=st.integers(1, 5),
               before=st.none() | st.tuples(st.integers(0, 3), st.sampled_from(
                   ["approval", FOLLOWUP_ITEM, "task"]), st.sampled_from(["f003", "f006"])))
        def agree(items: list[FollowUp], chosen: set[RecordRef], limit: int,
                  before: tuple[int, str, str] | None) -> None:
            key = (None if before is None
                   else TimelineKey(AT + timedelta(minutes=before[0]), before[1], before[2]))
            with self.discarded(storage) as uow:
                for item in items:
                    uow.followups.add(item)
                expected = sorted(
                    (f for f in items if RecordRef(f.record_kind, f.record_id) in chosen
                     and (key is None or TimelineKey(f.at, FOLLOWUP_ITEM, f.id) < key)),
                    key=lambda f: (f.at, f.id), reverse=True)[:limit]
                assert uow.followups.for_records(sorted(chosen), before=key,
                                                 limit=limit) == expected

        agree()

    def test_approvals_of_records(self, storage: Storage) -> None:
        def instance(n: int, kind: str, record_id: str) -> ApprovalInstance:
            return ApprovalInstance(f"a{n}", kind, record_id, "flow", 1, "u1",
                                    ApprovalStatus.APPROVED, submitted_at=AT)

        with storage.transaction() as uow:
            for item in (instance(2, "contract", "k1"), instance(1, "contract", "k2"),
                         instance(3, "payment", "k1"), instance(4, "contract", "k3")):
                uow.approvals.add(item)
            found = uow.approvals.for_records("contract", ["k1", "k2", "missing"])
            assert [(i.id, i.record_id) for i in found] == [("a1", "k2"), ("a2", "k1")]
            assert uow.approvals.for_records("contract", []) == []
