"""Storage port of the workbench (工作台): where each user keeps each task.

Rules every adapter keeps (``crmkit.testing.WorkbenchStorageContract`` checks them):
- one placement per (user, task): ``put`` inserts or replaces it;
- ``for_user`` lists one user's placements (one column's with ``bucket``) by order key, then
  task id — order keys compare by code point (:mod:`crmkit.policies.order_keys`);
- ``for_tasks`` lists the placements of some tasks, every user's, by (task id, user id);
- ``remove`` drops the given (user, task) placements, ``clear`` those of tasks for every user
  (a deleted task) — each set-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crmkit.entities.tasks import Bucket, Placement


class PlacementRepository(Protocol):
    def for_user(self, user_id: str, bucket: Bucket | None = None) -> list[Placement]: ...
    def for_tasks(self, task_ids: Sequence[str]) -> list[Placement]: ...
    def put(self, placement: Placement) -> None: ...
    def remove(self, placements: Sequence[Placement]) -> None: ...
    def clear(self, task_ids: Sequence[str]) -> None: ...
