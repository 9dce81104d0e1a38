"""pluggy hook specifications. Every hook is prefixed ``crmkit_`` and called with keywords.

Implement them in any object or module decorated with :data:`hookimpl` and pass it as
``CRM(plugins=[...])``, or publish it under the ``crmkit`` entry-point group and construct
``CRM(load_entrypoints=True)``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pluggy

from crmkit.entities import OperationLogEntry
from crmkit.entities.fields import FieldType
from crmkit.errors import FieldError

__all__ = [
    "PROJECT",
    "crmkit_after_commit",
    "crmkit_register_field_types",
    "crmkit_validate_record",
    "hookimpl",
    "hookspec",
]

PROJECT = "crmkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def crmkit_after_commit(crm: Any, entries: Sequence[OperationLogEntry]) -> None:
    """React to committed changes. ``entries`` are the operation-log entries the operation wrote
    (one per changed record); called once per operation, after its transaction committed.
    An exception here is logged and does not undo the operation."""


@hookspec
def crmkit_register_field_types(register: Callable[[FieldType], None]) -> None:
    """Add field types: call ``register(field_type)`` once per
    :class:`~crmkit.entities.fields.FieldType` the plugin provides.

    Called once when a CRM is built. The built-in types (text, money, mobile …) register
    through this same hook from the plugin ``crmkit.builtin_field_types``, which runs first. A
    name already taken (by a built-in or another plugin) raises
    ``RuleViolation(code="field_type.duplicate")``; names match ``^[a-z][a-z0-9_]{1,39}$``
    (else ``field_type.bad_name``). Return nothing: the return value is ignored."""


@hookspec
def crmkit_validate_record(
    kind: str, record: Any, previous: Any | None
) -> Sequence[FieldError] | None:
    """Add business validation to a record about to be written (``previous`` is None on
    create). Return field errors (paths like ``$.name`` or ``$.custom.key``) to refuse the
    write; every implementation's errors are reported together as one ValidationError."""
