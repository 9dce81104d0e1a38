"""The conflicts stores and services raise alike: a record changed since it was read (the loser
of an optimistic-lock race), a unique value taken, an id that exists already."""

from __future__ import annotations

from crmkit.errors import Conflict


def version_conflict(kind: str = "", record_id: str = "") -> Conflict:
    """``Conflict`` ``version_conflict``: the record (``kind`` ``record_id`` when known) was
    changed between the read and the write."""
    what = f"{kind} {record_id}".strip() or "the record"
    return Conflict("version_conflict", "记录已被他人修改，请刷新后重试",
                    f"{what} was changed by someone else")


def taken(kind: str, field: str) -> Conflict:
    """``Conflict`` ``<kind>.<field>_taken``: another record holds this unique value."""
    return Conflict(f"{kind}.{field}_taken", "该值已被占用", f"{kind} {field} is already taken")


def exists(kind: str, record_id: str) -> Conflict:
    """``Conflict`` ``<kind>.exists``: a record with this id is stored already."""
    return Conflict(f"{kind}.exists", "记录已存在", f"{kind} {record_id} exists")
