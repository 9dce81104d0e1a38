"""The contract of the related-record links (:class:`~crmkit.ports.records.RecordLinkRepository`)
and the workbench placements (:mod:`crmkit.ports.workbench`), one test per rule.

:class:`LinkAndPlacementContract` is part of :class:`crmkit.testing.RecordStorageContract`, so
every storage adapter that proves its record repositories proves these stores too. Samples are
added out of order, so the promised orders must really be sorted.
"""

from __future__ import annotations

from crmkit.entities.records import RecordLink, RecordRef
from crmkit.entities.tasks import Bucket, Placement
from crmkit.ports import Storage
from crmkit.testing.storage import StorageSuite

__all__ = ["LinkAndPlacementContract"]

_C1, _C2, _K1 = RecordRef("customer", "c1"), RecordRef("customer", "c2"), RecordRef("contact", "k1")


class LinkAndPlacementContract(StorageSuite):
    """Links: replace, reverse lookup, clear, unlink. Placements: upsert, per-user order, per
    task, remove, clear."""

    def test_links_replace_and_answer_the_reverse_lookup(self, storage: Storage) -> None:
        with storage.transaction() as uow:
            uow.links.replace(RecordRef("task", "t2"), [_C1, _K1, _C1])
            uow.links.replace(RecordRef("task", "t1"), [_C1, _C2])
            uow.links.replace(RecordRef("work_log", "w1"), [_C1])
        with storage.transaction() as uow:
            assert uow.links.sources("task", [_K1, _C1, _C2]) == [
                RecordLink("task", "t2", "contact", "k1"),
                RecordLink("task", "t1", "customer", "c1"),
                RecordLink("task", "t2", "customer", "c1"),
                RecordLink("task", "t1", "customer", "c2"),
            ]
            assert uow.links.sources("work_log", [_C1]) == [
                RecordLink("work_log", "w1", "customer", "c1")]
            assert uow.links.sources("task", []) == []
            uow.links.replace(RecordRef("task", "t2"), [_C2])
        with storage.transaction() as uow:
            assert [link.source_id for link in uow.links.sources("task", [_C1, _K1])] == ["t1"]
            uow.links.clear("task", ["t1", "nope"])
            uow.links.clear("task", [])
        with self.discarded(storage) as uow:
            uow.links.clear("task", ["t2"])
        with storage.transaction() as uow:
            assert uow.links.sources("task", [_C1, _C2]) == [
                RecordLink("task", "t2", "customer", "c2")]
            assert uow.links.sources("work_log", [_C1]) != []
            uow.links.replace(RecordRef("task", "t3"), [_C1, _C2])
            uow.links.unlink(_C2)
        with storage.transaction() as uow:
            assert uow.links.sources("task", [_C1, _C2]) == [
                RecordLink("task", "t3", "customer", "c1")]

    def test_placements_are_one_per_user_and_task_in_key_order(self, storage: Storage) -> None:
        today = [Placement("u1", "t3", Bucket.TODAY, "i1"), Placement("u1", "t1", Bucket.TODAY,
                                                                        "i1"),
                 Placement("u1", "t2", Bucket.TODAY, "hz"), Placement("u1", "t9", Bucket.LATER,
                                                                        "a0"),
                 Placement("u2", "t1", Bucket.NEXT, "i0")]
        with storage.transaction() as uow:
            for placement in today:
                uow.placements.put(placement)
        with storage.transaction() as uow:
            assert [p.task_id for p in uow.placements.for_user("u1", Bucket.TODAY)] == [
                "t2", "t1", "t3"]
            assert [p.task_id for p in uow.placements.for_user("u1")] == ["t9", "t2", "t1",
                                                                         "t3"]
            assert uow.placements.for_user("u2") == [today[-1]]
            assert uow.placements.for_user("u3") == []
            uow.placements.put(Placement("u1", "t1", Bucket.LATER, "Z0"))
        with self.discarded(storage) as uow:
            uow.placements.clear(["t2"])
        with storage.transaction() as uow:
            assert [(p.task_id, p.bucket) for p in uow.placements.for_user("u1")] == [
                ("t1", Bucket.LATER), ("t9", Bucket.LATER), ("t2", Bucket.TODAY),
                ("t3", Bucket.TODAY)]
            uow.placements.clear(["t1", "nope"])
            uow.placements.clear([])
        with storage.transaction() as uow:
            assert [p.task_id for p in uow.placements.for_user("u1")] == ["t9", "t2", "t3"]
            assert uow.placements.for_user("u2") == []
            uow.placements.put(Placement("u2", "t3", Bucket.NEXT, "i0"))
            assert [(p.task_id, p.user_id) for p in uow.placements.for_tasks(["t3", "t2"])] == [
                ("t2", "u1"), ("t3", "u1"), ("t3", "u2")]
            assert uow.placements.for_tasks([]) == []
            uow.placements.remove([Placement("u1", "t3", Bucket.TODAY, "i1"),
                                   Placement("u2", "nope", Bucket.NEXT, "i0")])
            uow.placements.remove([])
        with storage.transaction() as uow:
            assert [(p.task_id, p.user_id) for p in uow.placements.for_tasks(["t3", "t2"])] == [
                ("t2", "u1"), ("t3", "u2")]
