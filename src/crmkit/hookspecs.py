"""pluggy hook specifications. Every hook is prefixed ``crmkit_`` and called with keywords.

Implement them in any object or module decorated with :data:`hookimpl` and pass it as
``CRM(plugins=[...])``, or publish it under the ``crmkit`` entry-point group and construct
``CRM(load_entrypoints=True)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pluggy

from crmkit.entities import OperationLogEntry

PROJECT = "crmkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def crmkit_after_commit(crm: Any, entries: Sequence[OperationLogEntry]) -> None:
    """React to committed changes. ``entries`` are the operation-log entries the operation wrote
    (one per changed record); called once per operation, after its transaction committed.
    An exception here is logged and does not undo the operation."""
