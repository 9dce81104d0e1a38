"""Workbench placements in ``crm_task_placements`` (:mod:`crmkit.ports.workbench`)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, RowMapping, bindparam, delete, select

from crmkit.adapters.sqlalchemy.records import upsert
from crmkit.adapters.sqlalchemy.scope import in_key_set
from crmkit.adapters.sqlalchemy.tables import task_placements
from crmkit.entities.tasks import Bucket, Placement

_T = task_placements.c


def _placement(row: RowMapping) -> Placement:
    return Placement(row["user_id"], row["task_id"], Bucket(row["bucket"]), row["order_key"])


class SqlPlacements:
    """One row per (user, task); a column is read from the (user, bucket, key) index."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def for_user(self, user_id: str, bucket: Bucket | None = None) -> list[Placement]:
        statement = select(task_placements).where(_T.user_id == user_id)
        if bucket is not None:
            statement = statement.where(_T.bucket == bucket.value)
        statement = statement.order_by(_T.order_key, _T.task_id)
        return [_placement(row) for row in self._conn.execute(statement).mappings()]

    def for_tasks(self, task_ids: Sequence[str]) -> list[Placement]:
        if not task_ids:
            return []
        statement = (select(task_placements).where(in_key_set(_T.task_id, task_ids))
                     .order_by(_T.task_id, _T.user_id))
        return [_placement(row) for row in self._conn.execute(statement).mappings()]

    def put(self, placement: Placement) -> None:
        """One upsert."""
        upsert(self._conn, task_placements, [{
            "user_id": placement.user_id, "task_id": placement.task_id,
            "bucket": placement.bucket.value, "order_key": placement.order_key}],
            ("user_id", "task_id"))

    def remove(self, placements: Sequence[Placement]) -> None:
        """One executemany DELETE by (user, task)."""
        if placements:
            self._conn.execute(
                delete(task_placements).where(_T.user_id == bindparam("u"),
                                              _T.task_id == bindparam("t")),
                [{"u": p.user_id, "t": p.task_id} for p in placements])

    def clear(self, task_ids: Sequence[str]) -> None:
        if task_ids:
            self._conn.execute(delete(task_placements).where(in_key_set(_T.task_id, task_ids)))
