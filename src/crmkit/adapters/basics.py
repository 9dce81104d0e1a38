"""Deprecated: ``crmkit.adapters.basics`` was split into :mod:`crmkit.adapters.clocks`,
:mod:`crmkit.adapters.ids` and :mod:`crmkit.adapters.notifiers`. Importing a name from here
still works and warns (``DeprecationWarning``); the module goes away in the next major release.
"""

from __future__ import annotations

import importlib
import warnings
from typing import Any

_MOVED = {
    "SystemClock": "crmkit.adapters.clocks",
    "FixedClock": "crmkit.adapters.clocks",
    "UUID7Ids": "crmkit.adapters.ids",
    "SequentialIds": "crmkit.adapters.ids",
    "OutboxNotifier": "crmkit.adapters.notifiers",
    "LoggingNotifier": "crmkit.adapters.notifiers",
}

__all__ = sorted(_MOVED)
"""Served by ``__getattr__``: a star import warns as well."""


def __getattr__(name: str) -> Any:
    """The moved name from its new module, with a DeprecationWarning naming that module."""
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module 'crmkit.adapters.basics' has no attribute {name!r}")
    warnings.warn(f"crmkit.adapters.basics.{name} moved to {module}.{name}",
                  DeprecationWarning, stacklevel=2)
    return getattr(importlib.import_module(module), name)
