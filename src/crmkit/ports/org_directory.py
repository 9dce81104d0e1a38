"""The org directory port: who works where, for hosts with their own employee tables."""

from __future__ import annotations

from typing import Protocol

from crmkit.entities import OrgSnapshot


class OrgDirectory(Protocol):
    """Who works where: a host with its own employee tables implements this over them."""

    def org_version(self) -> int:
        """Changes whenever departments, users or supervisors change."""
        ...

    def org_snapshot(self) -> OrgSnapshot: ...
