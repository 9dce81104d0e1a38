"""Row ↔ entity conversion for the Core tables (no ORM mapping of the attrs entities).

Every entity stored one column per attribute (record kinds, departments, the operation log,
scenes, follow-ups …) is mapped by :func:`attrs_row_mapper`: it generates both directions from
``attrs.fields`` and the attribute types — enums by value, tuples as JSON lists, sets as sorted
JSON lists, mappings as JSON objects, tuples of attrs objects (product lines, stages,
conditions) as JSON lists of objects with decimals as fixed-point text — so a stored document is
deterministic and readable by other tools. A :class:`Codec` overrides an attribute whose column
really differs, ``renames`` maps an attribute to a column of another name and ``computed``
adds derived columns. The converters are compiled once per entity into one ``dict`` display
and one constructor call (no per-attribute loop on the bulk paths).

Only users (roles held in ``crm_user_roles``) and roles (permission and scope maps keyed by
enums) keep hand-written converters.
"""

from __future__ import annotations

import enum
import json
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _escape
from typing import Any, Generic, TypeVar

import attrs
from sqlalchemy import RowMapping

from crmkit.adapters.shapes import Shape, attribute_shape, attribute_types
from crmkit.entities import (
    CustomDepartment,
    DataScope,
    Department,
    FieldChange,
    Gender,
    Module,
    Operation,
    OperationLogEntry,
    Role,
    ScopeLevel,
    User,
    UserStatus,
)
from crmkit.entities.contracts import PaymentPlan
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.kinds import BUILTIN_KINDS, RecordKind
from crmkit.entities.records import Attachment, ColumnConfig, Comment, FollowUp, Scene
from crmkit.entities.sales import PriceChange, ProductCategory, StageChange, StageGroup
from crmkit.entities.statistics import Target
from crmkit.entities.tasks import Tag

# -- users -----------------------------------------------------------------------------------


def user_to_row(user: User) -> dict[str, Any]:
    """Every field of a user except ``role_ids`` (stored in ``crm_user_roles``); enums by value."""
    return {
        "id": user.id,
        "mobile": user.mobile,
        "name": user.name,
        "gender": user.gender.value,
        "email": user.email,
        "department_id": user.department_id,
        "position": user.position,
        "supervisor_id": user.supervisor_id,
        "status": user.status.value,
        "password_hash": user.password_hash,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "version": user.version,
    }


def user_role_rows(user: User) -> list[dict[str, Any]]:
    """One ``crm_user_roles`` row per role the user holds (sorted, for deterministic writes)."""
    return [{"user_id": user.id, "role_id": role_id} for role_id in sorted(user.role_ids)]


def row_to_user(row: RowMapping, role_ids: Iterable[str] = ()) -> User:
    """A user from its ``crm_users`` row plus the role ids loaded from ``crm_user_roles``."""
    return User(
        id=row["id"],
        mobile=row["mobile"],
        name=row["name"],
        department_id=row["department_id"],
        gender=Gender(row["gender"]),
        email=row["email"],
        position=row["position"],
        supervisor_id=row["supervisor_id"],
        role_ids=frozenset(role_ids),
        status=UserStatus(row["status"]),
        password_hash=row["password_hash"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
    )


# -- roles -----------------------------------------------------------------------------------


def permissions_to_json(
    permissions: Mapping[Module, frozenset[Operation]],
) -> dict[str, list[str]]:
    """``{module: [operation, ...]}`` with modules and operations by value, operations sorted."""
    return {
        module.value: sorted(op.value for op in operations)
        for module, operations in sorted(permissions.items())
    }


def json_to_permissions(data: Mapping[str, Any]) -> dict[Module, frozenset[Operation]]:
    """Inverse of :func:`permissions_to_json`; unknown modules/operations raise ``ValueError``."""
    return {
        Module(module): frozenset(Operation(op) for op in operations)
        for module, operations in data.items()
    }


def scope_to_json(scope: DataScope) -> dict[str, Any]:
    """``{level, departments: [{department_id, include_children}], users: [...]}``, sorted."""
    return {
        "level": scope.level.value,
        "departments": [
            {"department_id": d.department_id, "include_children": d.include_children}
            for d in sorted(scope.departments, key=lambda d: (d.department_id, d.include_children))
        ],
        "users": sorted(scope.users),
    }


def json_to_scope(data: Mapping[str, Any]) -> DataScope:
    """Inverse of :func:`scope_to_json`; missing lists read as empty."""
    return DataScope(
        level=ScopeLevel(data["level"]),
        departments=frozenset(
            CustomDepartment(d["department_id"], bool(d["include_children"]))
            for d in data.get("departments", ())
        ),
        users=frozenset(data.get("users", ())),
    )


def scopes_to_json(scopes: Mapping[Module, DataScope]) -> dict[str, dict[str, Any]]:
    """``{module: scope_to_json(scope)}`` with modules by value."""
    return {module.value: scope_to_json(scope) for module, scope in sorted(scopes.items())}


def json_to_scopes(data: Mapping[str, Any]) -> dict[Module, DataScope]:
    return {Module(module): json_to_scope(scope) for module, scope in data.items()}


def role_to_row(role: Role) -> dict[str, Any]:
    """Every field of a role; permissions and scopes as JSON documents."""
    return {
        "id": role.id,
        "name": role.name,
        "code": role.code,
        "description": role.description,
        "permissions": permissions_to_json(role.permissions),
        "scopes": scopes_to_json(role.scopes),
        "version": role.version,
    }


def row_to_role(row: RowMapping) -> Role:
    # Passed as ``**fields`` because the generic ``frozen_mapping`` converter leaves mypy
    # expecting an unsolved ``Mapping[K, V]`` for ``permissions``/``scopes``.
    fields: dict[str, Any] = {
        "id": row["id"],
        "name": row["name"],
        "permissions": json_to_permissions(row["permissions"]),
        "scopes": json_to_scopes(row["scopes"]),
        "code": row["code"],
        "description": row["description"],
        "version": row["version"],
    }
    return Role(**fields)


# -- generic attrs mapping -------------------------------------------------------------------


@attrs.frozen
class Codec:
    """How one attribute differs from its column: ``dump`` makes the column value, ``load``
    the attribute value back (None stays None for optional attributes)."""

    dump: Callable[[Any], Any]
    load: Callable[[Any], Any]
    null: Any = None
    """The attribute value a NULL column loads as."""


def enum_codec(cls: type[enum.Enum]) -> Codec:
    """An enum stored by value."""
    return Codec(lambda member: cls(member).value, cls)


def decimal_to_json(value: Decimal) -> str:
    """A decimal as fixed-point JSON text (``"12.50"``, never ``"1E+3"``): exact, scale kept."""
    return format(value, "f")


LIST = Codec(list, tuple)
"""A tuple of plain values as a JSON list, in order."""

SET = Codec(sorted, frozenset)
"""A set of plain values as a sorted JSON list."""

MAPPING = Codec(dict, lambda value: value or {})
"""A mapping (custom field values, widths) as a JSON object."""

EMPTY_AS_NULL = Codec(lambda value: None if value == "" else value, lambda value: value)
"""A unique field's empty value (None, or ``""``) is stored as NULL, so a plain unique index
serves ``number = ?`` (SQLite cannot use a partial index for a bound value) and empty values
never clash; NULL reads back as None (the memory store keeps ``""`` as None too)."""

DECIMAL_TEXT = Codec(decimal_to_json, Decimal)


def _shape(hint: Any) -> tuple[Shape | None, Any]:
    """The shape of a type, or None for values stored as they are (``Any``, JSON values)."""
    try:
        shape, _, bare = attribute_shape(hint)
    except TypeError:
        return None, hint
    return shape, bare


DATE_TEXT = Codec(date.isoformat, date.fromisoformat)
"""A date inside a JSON document, as ``YYYY-MM-DD``."""

_IN_DOCUMENTS = {Shape.DECIMAL: DECIMAL_TEXT, Shape.DATE: DATE_TEXT}
"""Values a column type would convert but JSON cannot hold: as text inside documents."""


def _object_codec(cls: type[Any]) -> tuple[Callable[[Any], dict[str, Any]],
                                            Callable[[Mapping[str, Any]], Any]]:
    """(dump, load) of one attrs object as a JSON object (one key per attribute; decimals
    and dates as text, enums by value, nested tuples and sets as lists); a key missing from a
    stored object takes the attribute's default."""
    hints = attribute_types(cls)
    inner = {f.name: (_IN_DOCUMENTS.get(_shape(hints[f.name])[0])  # type: ignore[arg-type]
                      or codec_for(hints[f.name])) for f in attrs.fields(cls)}
    plain = [name for name, codec in inner.items() if codec is None]
    coded = [(name, codec) for name, codec in inner.items() if codec is not None]
    scope: dict[str, Any] = {f"d{n}": codec.dump for n, (_, codec) in enumerate(coded)}
    dumps = {name: f"d{n}" for n, (name, _) in enumerate(coded)}
    cells = ", ".join(
        f"{name!r}: item.{name}" if name not in dumps
        else f"{name!r}: (None if (v := item.{name}) is None else {dumps[name]}(v))"
        for name in inner)
    exec(compile(f"def dump_one(item):\n    return {{{cells}}}\n",
                 f"<objects codec of {cls.__name__}>", "exec"), scope)
    dump_one: Callable[[Any], dict[str, Any]] = scope["dump_one"]

    def load_one(obj: Mapping[str, Any]) -> Any:
        values = {name: obj[name] for name in plain if name in obj}
        for name, codec in coded:
            if name in obj:
                value = obj[name]
                values[name] = codec.null if value is None else codec.load(value)
        return cls(**values)

    return dump_one, load_one


def objects_codec(cls: type[Any]) -> Codec:
    """A tuple of attrs objects as a JSON list of objects (see :func:`_object_codec`)."""
    dump_one, load_one = _object_codec(cls)
    return Codec(lambda items: [dump_one(i) for i in items],
                 lambda objs: tuple(load_one(o) for o in objs))


def codec_for(hint: Any) -> Codec | None:
    """The codec an attribute of type ``hint`` needs, or None when the column type takes the
    value as it is (text, numbers, booleans, dates, times, JSON values)."""
    shape, bare = _shape(hint)
    if shape is Shape.ENUM:
        return enum_codec(bare)
    if shape is not Shape.DOCUMENT:
        return None
    origin, args = typing.get_origin(bare) or bare, typing.get_args(bare)
    if attrs.has(origin):
        return Codec(*_object_codec(origin))
    if isinstance(origin, type) and issubclass(origin, Mapping):
        return MAPPING
    item = args[0] if args else Any
    if attrs.has(item):
        return objects_codec(item)
    text = _IN_DOCUMENTS.get(_shape(item)[0])  # type: ignore[arg-type]
    if text is not None:
        dump, load = text.dump, text.load
        if issubclass(origin, frozenset):
            return Codec(lambda values: sorted(dump(v) for v in values),
                         lambda values: frozenset(load(v) for v in values))
        return Codec(lambda values: [dump(v) for v in values],
                     lambda values: origin(load(v) for v in values))
    return SET if issubclass(origin, frozenset) else LIST


E = TypeVar("E")


@attrs.frozen
class RowMapper(Generic[E]):
    """Row ↔ entity for an attrs class stored one column per attribute.

    ``to_row`` and ``from_row`` are compiled from the attributes: attributes without a codec
    pass through as they are (the column type converts them), ``renames`` maps attributes to
    columns of another name, ``computed`` columns are derived from the entity on the way in and
    ignored on the way out.
    """

    cls: type[E]
    codecs: Mapping[str, Codec]
    computed: Mapping[str, Callable[[E], Any]]
    names: tuple[str, ...]
    renames: Mapping[str, str]
    to_row: Callable[[E], dict[str, Any]]
    from_row: Callable[[RowMapping], E]
    _readers: dict[tuple[str, ...], Callable[[Sequence[Any]], E]] = attrs.field(
        factory=dict, init=False, eq=False, repr=False)

    @property
    def columns(self) -> frozenset[str]:
        """The column names :meth:`to_row` fills."""
        return frozenset(self.renames.get(n, n) for n in self.names) | frozenset(self.computed)

    def reader(self, columns: Sequence[str]) -> Callable[[Sequence[Any]], E]:
        """``from_row`` for plain row tuples whose values come in the order of ``columns``
        (a table's columns): read by position, it skips the mapping view a page of rows
        would otherwise build row by row. Compiled once per column order."""
        key = tuple(columns)
        found = self._readers.get(key)
        if found is None:
            positions = {name: i for i, name in enumerate(key)}
            found = self._readers[key] = _compile(self.cls, self.codecs, {}, self.renames,
                                                  positions)[1]
        return found


def _compile(cls: type[Any], codecs: Mapping[str, Codec], computed: Mapping[str, Any],
             renames: Mapping[str, str], positions: Mapping[str, int] | None = None,
             ) -> tuple[Callable[[Any], dict[str, Any]], Callable[[Any], Any]]:
    """One ``dict`` display (entity → row) and one constructor call (row → entity); with
    ``positions`` (column → index) the row is read by position (a plain row tuple)."""
    scope: dict[str, Any] = {"cls": cls}
    dumped, loaded = [], []
    for n, field in enumerate(attrs.fields(cls)):
        column = renames.get(field.name, field.name)
        get = f"e.{field.name}"
        cell = f"row[{column!r}]" if positions is None else f"row[{positions[column]}]"
        codec = codecs.get(field.name)
        if codec is not None:
            scope[f"d{n}"], scope[f"l{n}"], scope[f"z{n}"] = codec.dump, codec.load, codec.null
            get = f"(None if (v := {get}) is None else d{n}(v))"
            cell = f"(z{n} if (v := {cell}) is None else l{n}(v))"
        dumped.append(f"{column!r}: {get}")
        if field.init:
            loaded.append(f"{field.alias}={cell}")
    for n, (column, derive) in enumerate(computed.items()):
        scope[f"c{n}"] = derive
        dumped.append(f"{column!r}: c{n}(e)")
    source = (f"def to_row(e):\n    return {{{', '.join(dumped)}}}\n"
              f"def from_row(row):\n    return cls({', '.join(loaded)})\n")
    exec(compile(source, f"<row mapper of {cls.__name__}>", "exec"), scope)
    return scope["to_row"], scope["from_row"]


def attrs_row_mapper(
    cls: type[E],
    codecs: Mapping[str, Codec] | None = None,
    computed: Mapping[str, Callable[[E], Any]] | None = None,
    renames: Mapping[str, str] | None = None,
) -> RowMapper[E]:
    """The :class:`RowMapper` of ``cls`` from ``attrs.fields(cls)`` and the attribute types
    (:func:`codec_for`); ``codecs`` override the derived ones. A codec, rename or computed
    column naming no attribute (or a computed one shadowing one) is a ``ValueError`` at
    import, not a silent gap."""
    names = tuple(field.name for field in attrs.fields(cls))  # type: ignore[arg-type]
    hints = attribute_types(cls)
    codecs, computed, renames = dict(codecs or {}), dict(computed or {}), dict(renames or {})
    if unknown := (set(codecs) | set(renames)) - set(names):
        raise ValueError(f"{cls.__name__} has no attributes {sorted(unknown)}")
    if clash := set(computed) & {renames.get(n, n) for n in names}:
        raise ValueError(f"computed columns {sorted(clash)} shadow attributes of {cls.__name__}")
    derived = {n: codec for n in names if (codec := codec_for(hints[n])) is not None}
    merged = {**derived, **codecs}
    to_row, from_row = _compile(cls, merged, computed, renames)
    return RowMapper(cls, merged, computed, names, renames, to_row, from_row)


def record_row_mapper(declaration: RecordKind[E]) -> RowMapper[E]:
    """The row mapper of a record kind: its entity's attributes, unique fields stored empty as
    NULL (:data:`EMPTY_AS_NULL`). A unique field must be optional text (``str | None``): its
    empty value is None on every store; any other type is a ``ValueError``."""
    hints = attribute_types(declaration.entity)
    for name in declaration.unique_fields:
        shape, optional, _ = attribute_shape(hints[name])
        if shape is not Shape.TEXT or not optional:
            raise ValueError(f"record kind {declaration.kind!r}: unique field {name!r} must be "
                             "optional text (str | None)")
    return attrs_row_mapper(declaration.entity,
                            dict.fromkeys(declaration.unique_fields, EMPTY_AS_NULL))


RECORD_ROWS: dict[str, RowMapper[Any]] = {k.kind: record_row_mapper(k) for k in BUILTIN_KINDS}
"""Built-in record kind → its generated row mapper."""


# -- the other entities stored one column per attribute ---------------------------------------

DEPARTMENT_ROWS = attrs_row_mapper(Department)
LOG_ENTRY_ROWS = attrs_row_mapper(OperationLogEntry)
"""Changes as a JSON list of ``{field, old, new}`` in their original order."""


def changes_json(changes: Sequence[FieldChange]) -> str:
    """An entry's changes as the JSON text :data:`LOG_ENTRY_ROWS` stores (``json.dumps`` of
    its ``[{field, old, new}]``), written directly: text values through the json module's own
    escaping, other values through ``json.dumps`` — no dict per change (a bulk operation log of
    hundreds of thousands of entries)."""
    return "[" + ", ".join(
        f'{{"field": {_json_text(c.field)}, "old": {_json_text(c.old)}, '
        f'"new": {_json_text(c.new)}}}' for c in changes) + "]"


def _json_text(value: Any) -> str:
    if value is None:
        return "null"
    if type(value) is str:
        return _escape(value)
    return json.dumps(value)
STAGE_GROUP_ROWS = attrs_row_mapper(StageGroup)
"""Stages as ``[{id, name, win_rate}]`` in order (win rate as text), departments sorted."""
CATEGORY_ROWS = attrs_row_mapper(ProductCategory)
PRICE_CHANGE_ROWS = attrs_row_mapper(PriceChange)
STAGE_CHANGE_ROWS = attrs_row_mapper(StageChange)
TARGET_ROWS = attrs_row_mapper(Target)
"""Months as a JSON list of decimal strings."""
FIELD_DEFINITION_ROWS = attrs_row_mapper(FieldDefinition, renames={"order": "sort_order"})
SCENE_ROWS = attrs_row_mapper(Scene, renames={"order": "sort_order"})
"""Conditions as ``[{field, op, value}]``, sort as ``[{field, descending}]``."""
COLUMN_CONFIG_ROWS = attrs_row_mapper(ColumnConfig)
FOLLOWUP_ROWS = attrs_row_mapper(FollowUp)
ATTACHMENT_ROWS = attrs_row_mapper(Attachment)
COMMENT_ROWS = attrs_row_mapper(Comment)
TAG_ROWS = attrs_row_mapper(Tag)
PAYMENT_PLAN_ROWS = attrs_row_mapper(
    PaymentPlan, computed={"remind_on": lambda plan: plan.remind_on}
)
