"""Scope specifications: immutable values saying which records a viewer may read.

A :class:`RecordScope` is produced by :mod:`crmkit.policies.scopes` and interpreted twice: the
memory adapter evaluates :meth:`RecordScope.admits` per record; the SQLAlchemy adapter compiles
it to one WHERE clause. Both must agree (proved by ``crmkit.testing``).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs


@attrs.frozen
class OrgUnit:
    """A department as the org directory reports it (id and parent only)."""

    id: str
    parent_id: str | None


@attrs.frozen
class OrgMember:
    """A user as the org directory reports it: what scope resolution needs, nothing more."""

    id: str
    department_id: str
    supervisor_id: str | None = None
    active: bool = True


@attrs.frozen
class OrgSnapshot:
    """The whole org at one ``version``: departments and members (caches key on ``version``)."""

    version: int
    units: tuple[OrgUnit, ...]
    members: tuple[OrgMember, ...]


@attrs.frozen
class RecordScope:
    """Which records a viewer sees: all, or those whose owner is in ``owner_ids``, plus grants.

    Extra grants are independent of the owner: a record whose team (相关团队) includes
    ``team_user_id``, and a pool (公海) record in one of ``pool_ids``.
    """

    all_records: bool = False
    owner_ids: frozenset[str] = frozenset()
    team_user_id: str | None = None
    pool_ids: frozenset[str] = frozenset()

    @classmethod
    def everything(cls) -> RecordScope:
        return cls(all_records=True)

    @classmethod
    def nothing(cls) -> RecordScope:
        return cls()

    @property
    def is_empty(self) -> bool:
        return not (self.all_records or self.owner_ids or self.team_user_id or self.pool_ids)

    def admits(
        self,
        owner_id: str | None,
        team_user_ids: Iterable[str] = (),
        pool_id: str | None = None,
    ) -> bool:
        """The reference interpreter: does this scope let the viewer read such a record?"""
        if self.all_records:
            return True
        if owner_id is not None and owner_id in self.owner_ids:
            return True
        if pool_id is not None and pool_id in self.pool_ids:
            return True
        return self.team_user_id is not None and self.team_user_id in set(team_user_ids)

    def union(self, other: RecordScope) -> RecordScope:
        """Scopes of several roles of one viewer combine by union (the larger grant wins)."""
        if (self.team_user_id and other.team_user_id
                and self.team_user_id != other.team_user_id):
            raise ValueError("scopes of different viewers cannot be united")
        if self.all_records or other.all_records:
            return RecordScope.everything()
        team = self.team_user_id or other.team_user_id
        return RecordScope(
            owner_ids=self.owner_ids | other.owner_ids,
            team_user_id=team,
            pool_ids=self.pool_ids | other.pool_ids,
        )
