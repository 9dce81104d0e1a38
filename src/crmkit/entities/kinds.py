"""The business record kinds crmkit stores, and the module each belongs to."""

from __future__ import annotations

from crmkit.entities.leads import LEAD, Lead
from crmkit.entities.org import Module

RECORD_TYPES: dict[str, type] = {LEAD: Lead}
"""Record kind → entity class (every adapter stores each of these)."""

RECORD_MODULES: dict[str, Module] = {LEAD: Module.LEADS}
"""Record kind → the module whose permissions and data scope govern it."""
