"""Renamed public modules keep answering for one major release, with a DeprecationWarning."""

from __future__ import annotations

from types import ModuleType

import pytest

from crmkit.adapters import clocks, ids, notifiers


@pytest.mark.parametrize(("name", "module"), [
    ("SystemClock", clocks), ("FixedClock", clocks), ("UUID7Ids", ids),
    ("SequentialIds", ids), ("OutboxNotifier", notifiers), ("LoggingNotifier", notifiers),
])
def test_a_moved_name_still_imports_and_warns(name: str, module: ModuleType) -> None:
    from crmkit.adapters import basics

    with pytest.warns(DeprecationWarning, match=f"moved to {module.__name__}"):
        moved = getattr(basics, name)
    assert moved is getattr(module, name)


def test_an_unknown_name_is_an_attribute_error() -> None:
    from crmkit.adapters import basics

    with pytest.raises(AttributeError):
        basics.Nothing  # noqa: B018


def test_a_star_import_gets_every_moved_name_and_warns() -> None:
    namespace: dict[str, object] = {}
    with pytest.warns(DeprecationWarning):
        exec("from crmkit.adapters.basics import *", namespace)
    assert {"SystemClock", "UUID7Ids", "OutboxNotifier"} <= set(namespace)
