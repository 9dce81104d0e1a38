"""Memory placements of the workbench (the reference for :mod:`crmkit.ports.workbench`)."""

from __future__ import annotations

from collections.abc import Sequence

from crmkit.adapters.memory.records import UndoDict
from crmkit.entities.tasks import Bucket, Placement


class MemoryPlacements(UndoDict[tuple[str, str], Placement]):
    """One placement per (user, task)."""

    def for_user(self, user_id: str, bucket: Bucket | None = None) -> list[Placement]:
        return sorted((p for (user, _), p in self.rows.items() if user == user_id
                       and (bucket is None or p.bucket is bucket)),
                      key=lambda p: (p.order_key, p.task_id))

    def for_tasks(self, task_ids: Sequence[str]) -> list[Placement]:
        wanted = set(task_ids)
        return sorted((p for (_, task), p in self.rows.items() if task in wanted),
                      key=lambda p: (p.task_id, p.user_id))

    def put(self, placement: Placement) -> None:
        self._set((placement.user_id, placement.task_id), placement)

    def remove(self, placements: Sequence[Placement]) -> None:
        for placement in placements:
            self._drop((placement.user_id, placement.task_id))

    def clear(self, task_ids: Sequence[str]) -> None:
        wanted = set(task_ids)
        for key in [k for k in self.rows if k[1] in wanted]:
            self._drop(key)
