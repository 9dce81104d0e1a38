"""Each CRM owns one pluggy PluginManager: no global state, nothing runs at import."""

from __future__ import annotations

import importlib.metadata
import logging
from collections.abc import Iterable

import attrs
import pluggy

from crmkit import hookspecs
from crmkit.errors import CrmError
from crmkit.workflow.fieldtypes import BUILTIN_PLUGIN_NAME, BuiltinFieldTypes

log = logging.getLogger("crmkit.plugins")


@attrs.frozen
class PluginLoadError:
    """A plugin entry point that could not be loaded (reported and skipped)."""

    entry_point: str
    error: str


def build_plugin_manager(
    plugins: Iterable[object], *, load_entrypoints: bool, strict: bool
) -> tuple[pluggy.PluginManager, list[PluginLoadError]]:
    """Register ``plugins`` and, when asked, the ``crmkit`` entry points.

    The built-in field types come first, as the plugin ``crmkit.builtin_field_types``.
    A broken entry point is logged and skipped; with ``strict`` it raises instead.
    """
    manager = pluggy.PluginManager(hookspecs.PROJECT)
    manager.add_hookspecs(hookspecs)
    manager.register(BuiltinFieldTypes(), name=BUILTIN_PLUGIN_NAME)
    for plugin in plugins:
        manager.register(plugin)
    errors: list[PluginLoadError] = []
    if load_entrypoints:
        for ep in importlib.metadata.entry_points(group=hookspecs.PROJECT):
            try:
                plugin = ep.load()
                # a plugin also passed explicitly is already in: not an error
                if manager.get_plugin(ep.name) is None and not manager.is_registered(plugin):
                    manager.register(plugin, name=ep.name)
            except Exception as exc:
                if strict:
                    raise CrmError(
                        "plugin.load_failed",
                        f"插件 {ep.name} 加载失败：{exc}",
                        f"plugin {ep.name} failed to load: {exc}",
                    ) from exc
                log.warning("skipping broken crmkit plugin %s: %s", ep.name, exc)
                errors.append(PluginLoadError(f"{ep.name} = {ep.value}", repr(exc)))
    return manager, errors
