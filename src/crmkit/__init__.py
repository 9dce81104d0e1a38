"""crmkit — a CRM core for Chinese SMB sales teams.

``from crmkit import CRM`` builds the facade; importing ``crmkit`` itself loads no database
driver (the facade and adapters load lazily on first use of these names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from crmkit.entities.org import SystemActor
from crmkit.errors import (
    Conflict,
    CrmError,
    FieldError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)

if TYPE_CHECKING:
    from crmkit.app import CRM, build_crm

__version__ = "0.1.0"

__all__ = [
    "CRM",
    "Conflict",
    "CrmError",
    "FieldError",
    "NotFound",
    "PermissionDenied",
    "RuleViolation",
    "SystemActor",
    "ValidationError",
    "__version__",
    "build_crm",
]


def __getattr__(name: str) -> Any:
    if name in {"CRM", "build_crm"}:
        from crmkit import app

        return getattr(app, name)
    raise AttributeError(f"module 'crmkit' has no attribute {name!r}")
