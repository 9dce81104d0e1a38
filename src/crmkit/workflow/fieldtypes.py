"""Field types through pluggy: the registry one CRM builds from its plugin manager.

Built-in types are not special: :class:`BuiltinFieldTypes` is a plugin like any other, registered
first in every manager as ``crmkit.builtin_field_types``, and adds
:data:`~crmkit.policies.fieldtypes.BUILTIN_FIELD_TYPES` through the
``crmkit_register_field_types`` hook. :func:`build_field_types` calls that hook once per plugin
(in registration order, so built-ins come first) with a ``register`` callback that knows which
plugin is registering — a duplicate name names both plugins.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping

import pluggy

from crmkit.entities.common import JSONValue
from crmkit.entities.fields import FieldDefinition, FieldType, FieldValueError
from crmkit.errors import CrmError, FieldError, RuleViolation, ValidationError
from crmkit.hookspecs import hookimpl
from crmkit.policies.fieldtypes import (
    BUILTIN_FIELD_TYPES,
    definition_problems,
    is_empty,
    is_stored_form,
)

__all__ = [
    "BUILTIN_PLUGIN_NAME",
    "FIELD_TYPE_NAME",
    "BuiltinFieldTypes",
    "FieldTypeRegistry",
    "build_field_types",
]

BUILTIN_PLUGIN_NAME = "crmkit.builtin_field_types"
FIELD_TYPE_NAME = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_HOOK = "crmkit_register_field_types"


class BuiltinFieldTypes:
    """The plugin that contributes crmkit's own field types (text, money, mobile …)."""

    @hookimpl
    def crmkit_register_field_types(self, register: Callable[[FieldType], None]) -> None:
        for field_type in BUILTIN_FIELD_TYPES:
            register(field_type)


class FieldTypeRegistry:
    """The field types of one CRM, by name. Immutable once built."""

    def __init__(self, types: Mapping[str, FieldType], sources: Mapping[str, str]) -> None:
        self._types = dict(types)
        self._sources = dict(sources)

    def get(self, name: str) -> FieldType:
        """The type called ``name``; an unknown name is a ValidationError at ``$.type``."""
        field_type = self.find(name)
        if field_type is None:
            raise ValidationError.at(
                "$.type",
                "field_type.unknown",
                f"$.type {name!r} 不是已注册的字段类型",
                f"$.type {name!r} is not a known field type",
            )
        return field_type

    def find(self, name: str) -> FieldType | None:
        """The type called ``name``, or None when no installed plugin provides it."""
        return self._types.get(name) if isinstance(name, str) else None

    def names(self) -> list[str]:
        """Every registered type name, in registration order (built-ins first)."""
        return list(self._types)

    def source(self, name: str) -> str:
        """The name of the plugin that registered ``name``."""
        self.get(name)
        return self._sources[name]

    def builtin(self, name: str) -> bool:
        """Whether ``name`` is one of crmkit's own types (registered by the built-in plugin)."""
        return self._sources.get(name) == BUILTIN_PLUGIN_NAME

    def __contains__(self, name: object) -> bool:
        return name in self._types

    def __iter__(self) -> Iterator[FieldType]:
        return iter(self._types.values())

    def __len__(self) -> int:
        return len(self._types)

    def validate_value(self, definition: FieldDefinition, raw: JSONValue, path: str) -> JSONValue:
        """The value to store for ``raw`` in the field ``definition``, or a ValidationError at
        ``path``.

        An empty value (None, "", []) is stored as None — unless the field is required
        (code ``required``; a whitespace-only string in a required field: ``blank``). Anything
        else goes to the type's validator; its FieldValueError becomes a FieldError at ``path``
        with the validator's code. A validator that raises anything else gives
        ``field_type.plugin_failed``, one that returns a value not in its value kind's stored
        form (:func:`~crmkit.policies.fieldtypes.is_stored_form`) ``field_type.bad_value``;
        both messages name the field type and its plugin. (Retired fields, defaults and
        uniqueness are the record engine's business, not this method's.)
        """
        return self.validator(definition)(raw, path)

    def validator(self, definition: FieldDefinition) -> Callable[[JSONValue, str], JSONValue]:
        """:meth:`validate_value` for one field, its type looked up once: what a caller that
        validates many values of the field (an import) calls per value. A plugin's result is
        checked for its stored form; crmkit's own types return nothing else (their tests
        prove it), so theirs is not checked again."""
        field_type = self.get(definition.type)
        plugin = self._sources.get(definition.type, "?")
        required = definition.required
        validate = field_type.validate
        trusted = plugin == BUILTIN_PLUGIN_NAME
        kind = field_type.value_kind

        def check(raw: JSONValue, path: str) -> JSONValue:
            if is_empty(raw):
                if required:
                    raise _invalid(path, "required", "必填", "is required")
                return None
            if required and isinstance(raw, str) and not raw.strip():
                raise _invalid(path, "blank", "不能为空", "must not be blank")
            try:
                value = validate(raw, definition)
            except FieldValueError as exc:
                raise _invalid(path, exc.code, exc.message_zh, exc.message_en) from None
            except ValueError as exc:  # a plugin that raised a plain ValueError for bad input
                detail = str(exc)[:200]
                raise _invalid(
                    path, "invalid", f"取值无效（{detail}）", f"is invalid ({detail})"
                ) from None
            except Exception as exc:  # a broken plugin: the input is refused, not crashed
                detail = f"{type(exc).__name__}: {str(exc)[:200]}"
                raise _invalid(
                    path, "field_type.plugin_failed",
                    f"无法校验：插件 {plugin} 的字段类型 {definition.type!r} 出错（{detail}）",
                    f"could not be checked: field type {definition.type!r} of plugin {plugin} "
                    f"failed ({detail})",
                ) from None
            if is_empty(value):
                return None  # e.g. text that was only spaces
            if not trusted and not is_stored_form(kind, value):
                raise _invalid(
                    path, "field_type.bad_value",
                    f"无法保存：插件 {plugin} 的字段类型 {definition.type!r} 返回了 "
                    f"{type(value).__name__}，不是 {kind.value} 类型的值",
                    f"could not be stored: field type {definition.type!r} of plugin {plugin} "
                    f"returned {type(value).__name__}, not a {kind.value} value",
                )
            return value

        return check

    def check_definition(self, definition: FieldDefinition, path: str = "$") -> None:
        """Whether ``definition``'s settings suit its type (known type; options, precision,
        min/max, max length, referenced kind; a default that is a valid value). Raises one
        ValidationError listing every problem at ``{path}.{attribute}``."""
        field_type = self.get(definition.type)
        errors = [
            FieldError(f"{path}.{attr}", code, f"{path}.{attr} {zh}", f"{path}.{attr} {en}")
            for attr, code, zh, en in definition_problems(definition, field_type)
        ]
        if not errors and not is_empty(definition.default):
            try:
                self.validate_value(definition, definition.default, f"{path}.default")
            except ValidationError as exc:
                errors.extend(exc.errors)
        if errors:
            raise ValidationError(errors)


def _invalid(path: str, code: str, message_zh: str, message_en: str) -> ValidationError:
    return ValidationError.at(path, code, f"{path} {message_zh}", f"{path} {message_en}")


def build_field_types(manager: pluggy.PluginManager) -> FieldTypeRegistry:
    """Ask every plugin for its field types through ``crmkit_register_field_types``.

    Plugins are asked in registration order (the built-in plugin first). Raises
    ``RuleViolation`` with code ``field_type.bad_name`` (name not ``^[a-z][a-z0-9_]{1,39}$``),
    ``field_type.duplicate`` (a name registered twice; both plugins named) or
    ``field_type.invalid`` (``register`` called with something that is not a FieldType); a plugin
    whose hook fails otherwise raises ``CrmError(code="field_type.plugin_failed")``.
    """
    types: dict[str, FieldType] = {}
    sources: dict[str, str] = {}
    closed = False
    hook = getattr(manager.hook, _HOOK)
    plugins: list[object] = []
    for impl in hook.get_hookimpls():
        if impl.plugin not in plugins:
            plugins.append(impl.plugin)

    def register_for(plugin_name: str) -> Callable[[FieldType], None]:
        def register(field_type: FieldType) -> None:
            if closed:
                raise RuleViolation(
                    "field_type.closed",
                    f"插件 {plugin_name} 在启动后才注册字段类型",
                    f"plugin {plugin_name} registered a field type after start-up",
                )
            if not isinstance(field_type, FieldType):
                raise RuleViolation(
                    "field_type.invalid",
                    f"插件 {plugin_name} 注册的 {field_type!r} 不是 FieldType",
                    f"plugin {plugin_name} registered {field_type!r}, which is not a FieldType",
                )
            name = field_type.name
            if not isinstance(name, str) or not FIELD_TYPE_NAME.fullmatch(name):
                raise RuleViolation(
                    "field_type.bad_name",
                    f"插件 {plugin_name}：字段类型名 {name!r} 须匹配 {FIELD_TYPE_NAME.pattern}",
                    f"plugin {plugin_name}: field type name {name!r} must match "
                    f"{FIELD_TYPE_NAME.pattern}",
                    details={"name": name, "plugin": plugin_name},
                )
            if name in types:
                first = sources[name]
                raise RuleViolation(
                    "field_type.duplicate",
                    f"插件 {plugin_name} 的字段类型 {name!r} 与插件 {first} 的重名",
                    f"field type {name!r} from plugin {plugin_name} is already registered "
                    f"by plugin {first}",
                    details={"name": name, "plugins": [first, plugin_name]},
                )
            types[name] = field_type
            sources[name] = plugin_name

        return register

    for plugin in plugins:
        plugin_name = manager.get_name(plugin) or repr(plugin)
        others = [p for p in plugins if p is not plugin]
        call_one = manager.subset_hook_caller(_HOOK, remove_plugins=others)
        try:
            call_one(register=register_for(plugin_name))
        except CrmError:
            raise
        except Exception as exc:
            raise CrmError(
                "field_type.plugin_failed",
                f"插件 {plugin_name} 注册字段类型失败：{exc!r}",
                f"plugin {plugin_name} failed to register its field types: {exc!r}",
            ) from exc
    closed = True
    return FieldTypeRegistry(types, sources)
