"""Storage port of the workbench (工作台): where each user keeps each task.

Rules every adapter keeps (``crmkit.testing.WorkbenchStorageContract`` checks them):
- one placement per (user, task): ``put`` inserts or replaces it;
- ``for_user`` lists one user's placements (one column's with ``bucket``) by order key, then
  task id — order keys compare by code point (:mod:`crmkit.policies.order_keys`);
- ``clear`` drops the placements of tasks for every user (a deleted task), set-based.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from crmkit.entities.tasks import Bucket, Placement


class PlacementRepository(Protocol):
    def for_user(self, user_id: str, bucket: Bucket | None = None) -> list[Placement]: ...
    def put(self, placement: Placement) -> None: ...
    def clear(self, task_ids: Sequence[str]) -> None: ...
