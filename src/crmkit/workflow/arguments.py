"""The argument check at the facade boundary: every public call is checked before it runs.

:func:`guard` wraps each public method of a service whose first parameter is the acting user.
Before the method runs, every other argument is checked:

- against its annotation: ``str``, ``int`` (not ``bool``), ``Iterable[str]`` (a list, tuple or
  set — never a single string), ``Mapping[str, Any]``, enums by member or value (``Access |
  str`` takes only an Access value), unions; ``None`` where the annotation has no None is
  ``required``;
- by name: ``*_id`` arguments and the elements of ``*_ids`` are ids
  (:func:`~crmkit.policies.arguments.is_id`), at most :data:`MAX_IDS` of them; ``limit`` is
  1..:data:`MAX_LIMIT`;
- every value, however nested, by :func:`~crmkit.policies.arguments.value_problems` (no NUL or
  lone surrogates, 64-bit integers, finite numbers, aware datetimes in years 1000–9998, bounded
  nesting).

Anything else is one ValidationError listing every bad argument by path (``$.customer_ids``:
``type``) before a transaction opens: nothing is read, nothing written, the same answer on
every backend. An iterable argument (a generator, ``dict.keys()``) is read once into a list and
handed on. The acting user is the runtime's business (PermissionDenied), not this module's.
"""

from __future__ import annotations

import enum
import functools
import inspect
import itertools
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from crmkit.errors import FieldError, ValidationError
from crmkit.policies.arguments import MAX_NODES, is_id, value_problems
from crmkit.policies.validation import field_error

__all__ = ["MAX_IDS", "guard"]

MAX_IDS = 1000
"""Most ids one call takes (claim, transfer, lock … of more records: call again)."""
MAX_LIMIT = 1000
"""A ``limit`` argument (rows to return) is 1..MAX_LIMIT (a method may allow fewer)."""
_ROOT_PARAMS = frozenset({"data", "changes", "request"})
"""Payload arguments: their keys are reported from ``$`` (``$.name``), like field errors."""
_SEQUENCES = (Iterable, Sequence)


class _Mismatch(Exception):
    def __init__(self, path: str, code: str = "type", detail: str = "") -> None:
        super().__init__(path)
        self.path, self.code, self.detail = path, code, detail


def _conform(value: Any, hint: Any, path: str) -> Any:
    """``value`` if it fits ``hint`` (iterables read into lists), else raises _Mismatch."""
    if hint is Any or hint is object:
        return value
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        enums = [o for o in options if isinstance(o, type) and issubclass(o, enum.Enum)]
        if enums and isinstance(value, str) and not isinstance(value, enum.Enum):
            options = tuple(enums)  # ``Access | str``: the text must name a member
        closest = _Mismatch(path)
        for option in options:
            try:
                return _conform(value, option, path)
            except _Mismatch as bad:
                if closest.code == "type":
                    closest = bad  # "not one of the members" says more than "wrong type"
        raise closest
    if hint is type(None):
        if value is not None:
            raise _Mismatch(path)
        return value
    if value is None:
        raise _Mismatch(path, "required")  # None where the signature has no None
    if origin is not None:
        return _conform_generic(value, origin, typing.get_args(hint), path)
    if not isinstance(hint, type):
        return value  # a TypeVar or a special form: the method checks it
    if issubclass(hint, enum.Enum):
        if isinstance(value, hint):
            return value
        if isinstance(value, str | int) and not isinstance(value, bool) and value in {
                m.value for m in hint}:
            return hint(value)  # the method gets the member, whichever form the caller used
        raise _Mismatch(path, "invalid", f" ({', '.join(str(m.value) for m in hint)})")
    if hint is int and isinstance(value, bool):
        raise _Mismatch(path)
    if hint is bytes and isinstance(value, bytearray):
        return value
    if not isinstance(value, hint):
        raise _Mismatch(path)
    return value


def _conform_generic(value: Any, origin: Any, args: tuple[Any, ...], path: str) -> Any:
    if origin is Callable:
        if not callable(value):
            raise _Mismatch(path)
        return value
    if isinstance(origin, type) and issubclass(origin, Mapping):
        if not isinstance(value, Mapping):
            raise _Mismatch(path)
        key_hint, value_hint = args if len(args) == 2 else (Any, Any)
        for key, item in value.items():
            _conform(key, key_hint, f"{path}.<key>")
            _conform(item, value_hint, f"{path}.{key}")
        return value
    if origin is tuple and not (len(args) == 2 and args[1] is Ellipsis):
        if not isinstance(value, tuple) or len(value) != len(args):
            raise _Mismatch(path)
        return tuple(_conform(v, h, f"{path}[{i}]")
                     for i, (v, h) in enumerate(zip(value, args, strict=True)))
    if origin in (list, tuple, set, frozenset) or origin in _SEQUENCES or (
        isinstance(origin, type) and issubclass(origin, Iterable)
    ):
        if isinstance(value, str | bytes | bytearray | Mapping) or not isinstance(value, Iterable):
            raise _Mismatch(path)
        items = list(itertools.islice(value, MAX_NODES + 1))
        if len(items) > MAX_NODES:
            raise _Mismatch(path, "too_long", f" (max {MAX_NODES})")
        item_hint = args[0] if args else Any
        return [_conform(item, item_hint, f"{path}[{i}]") for i, item in enumerate(items)]
    return value


def _named_problems(name: str, value: Any, path: str) -> list[FieldError]:
    if name == "limit" and isinstance(value, int) and not 1 <= value <= MAX_LIMIT:
        return [field_error(path, "range.min" if value < 1 else "range.max", f" (1..{MAX_LIMIT})")]
    if name.endswith("_id") and value is not None and not is_id(value):
        return [field_error(path, "format.id")]
    if name.endswith("_ids") and isinstance(value, list):
        if len(value) > MAX_IDS:
            return [field_error(path, "too_long", f" (max {MAX_IDS})")]
        return [field_error(f"{path}[{i}]", "format.id") for i, item in enumerate(value)
                if not is_id(item)]
    return []


def _compile(hint: Any) -> Callable[[Any, str], Any]:
    """:func:`_conform` for one ``hint``, its introspection done once: the returned function
    takes (value, path) and answers exactly as ``_conform(value, hint, path)`` does."""
    if hint is Any or hint is object:
        return _as_is
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        options = typing.get_args(hint)
        every = [_compile(o) for o in options]
        enums = [_compile(o) for o in options if isinstance(o, type) and issubclass(o, enum.Enum)]

        def union(value: Any, path: str) -> Any:
            # ``Access | str``: the text must name a member
            chosen = enums if enums and isinstance(value, str) and not isinstance(
                value, enum.Enum) else every
            closest = _Mismatch(path)
            for option in chosen:
                try:
                    return option(value, path)
                except _Mismatch as bad:
                    if closest.code == "type":
                        closest = bad  # "not one of the members" says more than "wrong type"
            raise closest

        return union
    if hint is type(None):
        return _only_none
    if origin is not None or not isinstance(hint, type) or issubclass(hint, enum.Enum) or (
            hint in (int, bytes)):
        def general(value: Any, path: str) -> Any:
            return _conform(value, hint, path)  # generics, enums, int, bytes: as they are

        return general

    def plain(value: Any, path: str) -> Any:
        if value is None:
            raise _Mismatch(path, "required")  # None where the signature has no None
        if not isinstance(value, hint):
            raise _Mismatch(path)
        return value

    return plain


def _as_is(value: Any, path: str) -> Any:
    return value


def _only_none(value: Any, path: str) -> Any:
    if value is not None:
        raise _Mismatch(path)
    return value


def _named_check(name: str) -> Callable[[Any, str], list[FieldError]] | None:
    """:func:`_named_problems` for arguments called ``name``; None when the name means none."""
    if name != "limit" and not name.endswith(("_id", "_ids")):
        return None

    def named(value: Any, path: str) -> list[FieldError]:
        return _named_problems(name, value, path)

    return named


class _Plan:
    """What checking the arguments of one method needs, worked out once: its parameters in
    order, a compiled check per annotation, the path of each argument."""

    def __init__(self, method: Callable[..., Any]) -> None:
        self.signature = signature = inspect.signature(method)
        self.hints = hints = typing.get_type_hints(method)
        parameters = list(signature.parameters.values())
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        self.simple = all(p.kind in plain for p in parameters)
        """No ``*args``, ``**kwargs`` or positional-only parameters: bound by hand."""
        self.positional = [p.name for p in parameters
                           if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD]
        self.names = frozenset(signature.parameters)
        self.required = frozenset(p.name for p in parameters if p.default is p.empty)
        self.checks = [
            (p.name, "$" if p.name in _ROOT_PARAMS else f"$.{p.name}",
             _compile(hints.get(p.name, Any)), _named_check(p.name))
            for p in parameters[1:]  # the acting user is the runtime's to check
        ]

    def check(self, args: tuple[Any, ...], kwargs: dict[str, Any]
              ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments with iterables read into lists, or one ValidationError."""
        positional = self.positional
        if not self.simple or len(args) > len(positional) or not self.names.issuperset(kwargs):
            return _check(self.signature, self.hints, args, kwargs)
        values = dict(zip(positional, args, strict=False))
        if not values.keys().isdisjoint(kwargs) or not self.required.issubset(
                values.keys() | kwargs.keys()):
            return _check(self.signature, self.hints, args, kwargs)  # its TypeError message
        values.update(kwargs)
        errors: list[FieldError] = []
        for name, path, conform, named in self.checks:
            if name not in values:
                continue
            try:
                value = conform(values[name], path)
            except _Mismatch as bad:
                errors.append(field_error(bad.path, bad.code, bad.detail))
                continue
            if named is not None:
                errors.extend(named(value, path))
            errors.extend(value_problems(value, path))
            values[name] = value
        if errors:
            raise ValidationError(errors)
        count = len(args)
        return tuple(values[n] for n in positional[:count]), {k: values[k] for k in kwargs}


def _check(signature: inspect.Signature, hints: Mapping[str, Any], args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> tuple[tuple[Any, ...], dict[str, Any]]:
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as exc:
        raise ValidationError([field_error("$", "type", f" ({exc})")]) from None
    errors: list[FieldError] = []
    for index, (name, value) in enumerate(bound.arguments.items()):
        parameter = signature.parameters[name]
        if index == 0 or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue  # the acting user is the runtime's to check
        path = "$" if name in _ROOT_PARAMS else f"$.{name}"
        try:
            value = _conform(value, hints.get(name, Any), path)
        except _Mismatch as bad:
            errors.append(field_error(bad.path, bad.code, bad.detail))
            continue
        problems = _named_problems(name, value, path) + value_problems(value, path)
        errors.extend(problems)
        bound.arguments[name] = value
    if errors:
        raise ValidationError(errors)
    return bound.args, bound.kwargs


def _checked(method: Callable[..., Any]) -> Callable[..., Any]:
    plan = _Plan(method)

    @functools.wraps(method)
    def checked(*args: Any, **kwargs: Any) -> Any:
        args, kwargs = plan.check(args, kwargs)
        return method(*args, **kwargs)

    return checked


def guard(service: object) -> None:
    """Check the arguments of every public method of ``service`` that takes the acting user
    first (``actor``), on this instance, before the method runs."""
    for name in dir(service):
        if name.startswith("_"):
            continue
        method = getattr(service, name)
        if not inspect.ismethod(method):
            continue
        parameters = list(inspect.signature(method).parameters)
        if parameters[:1] == ["actor"]:
            setattr(service, name, _checked(method))
