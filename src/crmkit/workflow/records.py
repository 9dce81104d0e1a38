"""The shared record engine (DESIGN §4): create, read, edit, delete, list, transfer and team for
every record kind, each call checked for operation permission, data scope
(:mod:`crmkit.workflow.record_access`) and field rules.
"""
from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar, cast

import attrs

from crmkit.entities import (
    Operation,
    OperationLogEntry,
    RecordScope,
)
from crmkit.entities.fields import FieldDefinition, ValueKind
from crmkit.entities.kinds import Feature, RecordKind
from crmkit.entities.query import Condition, FieldRef, Operator, Page, RecordQuery, SortKey
from crmkit.entities.records import ConditionSpec, RecordRef, SortSpec
from crmkit.errors import FieldError, NotFound, ValidationError
from crmkit.policies.conflicts import version_conflict
from crmkit.policies.query_eval import cursor_values, decode_custom, field_value
from crmkit.policies.validation import field_error
from crmkit.ports.records import RecordRepository
from crmkit.serialization import structure
from crmkit.workflow.fields import FieldService, FieldSet, unavailable_error
from crmkit.workflow.fieldtypes import FieldTypeRegistry
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.oplog_diff import field_changes
from crmkit.workflow.querying import (
    ListRequest,
    build_query,
    encode_cursor,
    id_condition,
    parse_conditions,
    parse_keyword,
    parse_sort,
)
from crmkit.workflow.record_access import E, RecordAccess, evolved
from crmkit.workflow.record_ownership import Cascade, RecordOwnership

UNIQUE_CHUNK = 500
R = TypeVar("R")
PAGE = 500
"""Rows per statement when a read walks many pages (related records, a workbench)."""
_ID = FieldRef("id", ValueKind.TEXT, True)
NEWEST = (SortKey(FieldRef("created_at", ValueKind.DATETIME, True), descending=True),)
"""Newest records first (then by id, descending)."""
_PLAIN = (str, int, float, bool)
"""Payload values whose validation a batch may reuse (hashable, compared by type and value)."""
SYSTEM_SCENES = {
    "all": ("全部", "All"),
    "mine": ("我负责的", "Mine"),
    "subordinates": ("下属负责的", "My team's"),
    "participating": ("我参与的", "I take part in"),
}


def labelled(fields: FieldSet, errors: Iterable[FieldError]) -> builtins.list[FieldError]:
    """Errors whose path names a field (``$.name``, ``$.custom.budget``, ``$[2].custom.budget``)
    with the field's label after the path in both messages: ``$.custom.budget（预算）必填`` /
    ``$.custom.budget (Budget) is required``."""
    result = []
    for error in errors:
        key = error.path.rsplit(".", 1)[-1]
        definition = fields.get(key) if error.path.count(".") <= 2 else None
        if definition is None or definition.label_en in error.message_en:
            result.append(error)
            continue
        path = error.path
        result.append(attrs.evolve(
            error,
            message_zh=error.message_zh.replace(path, f"{path}（{definition.label_zh}）", 1),
            message_en=error.message_en.replace(path, f"{path} ({definition.label_en})", 1),
        ))
    return result


def defaults_and_required(fields: FieldSet, system: Mapping[str, Any], custom: dict[str, Any],
                          preset: Iterable[str], writable: frozenset[str]
                          ) -> builtins.list[FieldError]:
    """What a new record's values lack: custom defaults are added to ``custom`` (stored form,
    checked when set), and a ``required`` error names each required field without a value
    (system fields only when ``writable``; ``preset`` keys count as given)."""
    errors = []
    for definition in fields.active:
        present = system if definition.system else custom
        if definition.key in present or definition.key in preset:
            continue
        if not definition.system and definition.default is not None:
            custom[definition.key] = definition.default
        elif definition.required and fields.available(definition) and (
                definition.key in writable or not definition.system):
            prefix = "$." if definition.system else "$.custom."
            errors.append(field_error(prefix + definition.key, "required"))
    return errors


def _related(record: Any) -> tuple[RecordRef, ...]:
    related: tuple[RecordRef, ...] = record.related
    return related


def query_all(repo: RecordRepository[R], query: RecordQuery) -> builtins.list[R]:
    """Every record a query admits, walked in keyset pages of :data:`PAGE` rows."""
    found: builtins.list[R] = []
    page = attrs.evolve(query, limit=PAGE)
    while True:
        rows = repo.query(page)
        found.extend(rows)
        if len(rows) < PAGE:
            return found
        page = attrs.evolve(page, after=cursor_values(rows[-1], page.sort))


def bounded_int(value: Any, path: str, low: int, high: int) -> int:
    """An integer argument in ``low..high``: ``type`` when it is no integer (booleans are
    not), ``range.min`` / ``range.max`` when it is out of range."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError([field_error(path, "type", " (integer)")])
    if value < low:
        raise ValidationError([field_error(path, "range.min", f" ({low})")])
    if value > high:
        raise ValidationError([field_error(path, "range.max", f" ({high})")])
    return value


class RecordService(RecordOwnership[E]):
    """One record kind through the facade (``crm.leads`` …, ``crm.kind(name)``): values, CRUD,
    lists and the log here; transfer, team and hand-over in :class:`RecordOwnership`."""

    def __init__(
        self,
        runtime: Runtime,
        fields: FieldService,
        types: FieldTypeRegistry,
        access: RecordAccess,
        declaration: RecordKind[E],
        *,
        cascades: Mapping[str, Cascade] | None = None,
    ) -> None:
        self._rt = runtime
        self._fields = fields
        self._types = types
        self._access = access
        self.declaration = declaration
        self._cascades = dict(cascades or {})
        """What :meth:`transfer` can move along, by the name ``move_related`` chooses it by
        (a customer's ``contact`` …)."""

    # -- values ---------------------------------------------------------------------------------
    def _values(
        self, op: Op, fields: FieldSet, data: Any, *, creating: bool,
        preset: frozenset[str] = frozenset(), known: dict[Any, Any] | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Validate a payload: system values (typed) and custom values (stored form).

        ``known``: values already validated in this batch (see :meth:`_checked`)."""
        if not isinstance(data, Mapping):
            raise ValidationError([field_error("$", "type", " (object)")])
        errors: list[FieldError] = []
        system: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        writable = self.declaration.writable | ({"owner_id"} if creating else frozenset())
        for key, raw in data.items():
            if key == "custom":
                continue
            definition = fields.get(key) if isinstance(key, str) else None
            if definition is None or not definition.system:
                errors.append(field_error(f"$.{key}", "unknown_field"))
            elif key not in writable:
                errors.append(field_error(f"$.{key}", "read_only"))
            else:
                stored = self._checked(op, definition, raw, f"$.{key}", errors, known)
                system[key] = decode_custom(fields.kinds[key], stored)
        raw_custom = data.get("custom", {})
        if not isinstance(raw_custom, Mapping):
            errors.append(field_error("$.custom", "type", " (object)"))
            raw_custom = {}
        for key, raw in raw_custom.items():
            definition = fields.get(key) if isinstance(key, str) else None
            if definition is None or definition.system:
                errors.append(field_error(f"$.custom.{key}", "unknown_field"))
            elif definition.retired:
                errors.append(field_error(f"$.custom.{key}", "field.retired"))
            elif not fields.available(definition):
                errors.append(unavailable_error(f"$.custom.{key}", definition))
            else:
                custom[key] = self._checked(op, definition, raw, f"$.custom.{key}", errors,
                                            known)
        if creating:
            errors += defaults_and_required(fields, system, custom, preset, writable)
        if errors:
            raise ValidationError(labelled(fields, errors))
        return system, custom

    def _checked(
        self, op: Op, definition: FieldDefinition, raw: Any, path: str, errors: list[FieldError],
        known: dict[Any, Any] | None = None,
    ) -> Any:
        """The stored form of ``raw`` (errors appended to ``errors``). A batch passes ``known``:
        a built-in type's validation is a pure function of the definition and the value, so a
        plain value seen before in the batch keeps its result (references are still checked)."""
        memo = (definition.key, type(raw), raw) if (
            known is not None and type(raw) in _PLAIN and self._types.builtin(definition.type)
        ) else None
        if known is not None and memo in known:
            stored = known[memo]
        else:
            try:
                stored = self._types.validate_value(definition, raw, path)
            except ValidationError as bad:
                errors.extend(bad.errors)
                return None
            if known is not None and memo is not None and (stored is None
                                                           or type(stored) in _PLAIN):
                known[memo] = stored
        refs = stored if isinstance(stored, list) else [stored]
        if definition.type in ("user", "users") and stored is not None:
            for user_id in refs:
                user = op.uow.users.get(user_id)
                if user is None or not user.active:
                    errors.append(field_error(path, "not_found"))
        elif (definition.type == "department" and stored is not None
              and op.uow.departments.get(stored) is None):
            errors.append(field_error(path, "not_found"))
        elif (definition.type == "record" and stored is not None
              and not self._can_see(op, definition.reference_kind, stored)):
            errors.append(field_error(path, "not_found"))  # missing and not visible alike
        return stored

    def _can_see(self, op: Op, kind: str | None, record_id: str) -> bool:
        """Whether a record reference points at a record the writer may read."""
        try:
            self._access.visible(op, kind or "", record_id)
        except NotFound:
            return False
        return True

    def _check_record(self, op: Op, fields: FieldSet, record: E, previous: E | None) -> None:
        self._check_records(op, fields, [(record, previous)])

    def _check_records(
        self, op: Op, fields: FieldSet, pairs: Sequence[tuple[E, E | None]],
        paths: Sequence[str] | None = None,
    ) -> None:
        """Uniqueness (查重) of unique fields — within the batch and against stored records, one
        IN query per field and chunk — then plugin validation. Paths start at ``paths[i]``, by
        default ``$[i]`` in batches."""
        errors: list[FieldError] = []
        batch = len(pairs) > 1

        def prefix(i: int) -> str:
            return paths[i] if paths is not None else f"$[{i}]" if batch else "$"

        for definition in fields.active:
            if definition.unique and fields.available(definition):
                errors.extend(self._clashes(op, fields.ref(definition), pairs, prefix))
        validate = self._rt.plugins.hook.crmkit_validate_record
        for i, (record, previous) in enumerate(pairs if validate.get_hookimpls() else ()):
            for found in validate(kind=self.kind, record=record, previous=previous):
                errors.extend(
                    attrs.evolve(e, path=prefix(i) + e.path[1:]) for e in (found or ())
                )
        if errors:
            raise ValidationError(labelled(fields, errors))

    def _clashes(self, op: Op, ref: FieldRef, pairs: Sequence[tuple[E, E | None]],
                 prefix: Callable[[int], str]) -> builtins.list[FieldError]:
        wanted: dict[int, Any] = {}
        for i, (record, previous) in enumerate(pairs):
            value = field_value(record, ref)
            if value is None or value == "":
                continue
            if previous is not None and value == field_value(previous, ref):
                continue
            wanted[i] = value
        if not wanted:
            return []
        owner_of: dict[Any, str] = {}
        values = [v for v in dict.fromkeys(wanted.values())
                  if (self.kind, ref.key, v) not in op.unique_free]  # e.g. a generated number
        self._repo(op).lock_values(ref.key, values)  # a concurrent writer of one waits here
        for start in range(0, len(values), UNIQUE_CHUNK):
            chunk = tuple(values[start:start + UNIQUE_CHUNK])
            query = RecordQuery(RecordScope.everything(), (Condition(ref, Operator.IN, chunk),),
                                limit=len(chunk) + len(pairs) + 1)
            for found in self._repo(op).query(query):
                owner_of.setdefault(field_value(found, ref), found.id)
        errors = []
        path = f".{ref.key}" if ref.system else f".custom.{ref.key}"
        for i, value in wanted.items():
            holder = owner_of.get(value)
            if holder is not None and holder != pairs[i][0].id:
                errors.append(field_error(prefix(i) + path, "unique"))
            else:
                owner_of[value] = pairs[i][0].id
        return errors

    def _owner(self, op: Op, owner_id: str | None) -> str:
        """The owner of a new record: the actor, or an active user inside the actor's scope."""
        assert op.actor is not None
        if owner_id is None:
            return op.actor.id
        if not self._may_act_for(op, owner_id):
            raise ValidationError([field_error("$.owner_id", "out_of_scope")])
        return owner_id

    def _may_act_for(self, op: Op, user_id: str) -> bool:
        """Whether the actor may write in ``user_id``'s name (owner of a new record, author of
        an imported follow-up): themselves, or a user inside their scope of this kind."""
        assert op.actor is not None
        if user_id == op.actor.id:
            return True
        scope = self._rt.scope(op, self.declaration.module)
        return scope.all_records or user_id in scope.owner_ids

    # -- CRUD -----------------------------------------------------------------------------------
    # -- hooks for kinds with more rules ---------------------------------------------------------
    def _extras(self, op: Op, extras: Mapping[str, Any], old: E | None) -> dict[str, Any]:
        """Validate the payload keys listed in ``spec.extra_keys`` → entity attributes."""
        return {}

    def _before_write(self, op: Op, record: E, old: E | None) -> E:
        """Last look at a record about to be written (derive values, check rules)."""
        return record

    def _after_write(self, op: Op, record: E, old: E | None) -> None:
        """Follow-up writes of the same operation (e.g. a single primary contact)."""

    def _after_create_many(self, op: Op, records: Sequence[E]) -> None:
        """Follow-up writes after a batch of creations (default: ``_after_write`` each)."""
        for record in records:
            self._after_write(op, record, None)

    def _before_create_many(self, op: Op, records: Sequence[E]) -> None:
        """Rules a batch of new records must pass as a whole (e.g. customer limits)."""

    def _after_delete(self, op: Op, old: E) -> None:
        """Follow-up writes (or a refusal) of a deletion, in the same operation."""

    def _before_edit(self, op: Op, old: E) -> None:
        """Rules a record must pass to be edited or deleted at all (e.g. an approved contract
        is locked)."""

    def _split(self, data: Any) -> tuple[Any, dict[str, Any]]:
        if not isinstance(data, Mapping) or not self.declaration.extra_keys:
            return data, {}
        extras = {k: v for k, v in data.items() if k in self.declaration.extra_keys}
        return {k: v for k, v in data.items() if k not in extras}, extras

    # -- CRUD -----------------------------------------------------------------------------------
    def create(self, actor: ActorRef, data: Mapping[str, Any]) -> E:
        """Create a record owned by the actor (or by ``owner_id`` inside the actor's scope)."""
        with self._rt.operation(actor, self.declaration.module, Operation.CREATE) as op:
            return self._create_in(op, data)

    def _create_in(self, op: Op, data: Mapping[str, Any], **preset: Any) -> E:
        """Create inside a running operation (conversions and cascades build on this)."""
        return self._create_many_in(op, [(data, preset)])[0]

    def _create_many_in(
        self, op: Op, items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
        paths: Sequence[str] | None = None,
    ) -> builtins.list[E]:
        """Create a batch: validate all (error paths from ``paths[i]``, by default ``$[i]…``
        when several), check limits and uniqueness set-based, insert in one statement.
        ``preset`` values (e.g. ``owner_id``, ``lead_id``) bypass payload validation; they come
        from crmkit itself."""
        fields = self._fields.load(op, self.kind)
        records: builtins.list[E] = []
        errors: builtins.list[FieldError] = []
        known: dict[Any, Any] = {}
        for i, (data, preset) in enumerate(items):
            try:
                plain, extras = self._split(data)
                system, custom = self._values(op, fields, plain, creating=True,
                                              preset=frozenset(preset), known=known)
                records.append(self._new_record(op, system, custom,
                                                self._extras(op, extras, None), preset))
            except ValidationError as bad:
                if len(items) == 1 and paths is None:
                    raise
                at = paths[i] if paths is not None else f"$[{i}]"
                errors.extend(attrs.evolve(e, path=f"{at}{e.path[1:]}") for e in bad.errors)
        if errors:  # every bad item is named, not only the first
            raise ValidationError(errors)
        self._create_records_in(op, fields, records, paths)
        return records

    def _new_record(self, op: Op, system: dict[str, Any], custom: dict[str, Any],
                    extras: Mapping[str, Any], preset: Mapping[str, Any]) -> E:
        """A new record of validated values (:meth:`_values`, ``creating``): its owner (the
        requested ``owner_id`` inside the actor's scope, or ``preset``'s), id and times, then
        the kind's :meth:`_before_write`. ValidationError at ``$…`` paths."""
        requested = system.pop("owner_id", None)
        owner = preset["owner_id"] if "owner_id" in preset else self._owner(op, requested)
        values = {"id": self._rt.ids.new_id(), "created_by": op.actor_id,
                  "created_at": op.now, "updated_at": op.now, "custom": custom,
                  **system, **extras, **preset, "owner_id": owner}
        make: Callable[..., E] = self.declaration.entity
        return self._before_write(op, make(**values), None)

    def _create_records_in(self, op: Op, fields: FieldSet, records: Sequence[E],
                           paths: Sequence[str] | None = None, *, note: str = "") -> None:
        """Check and store new records (:meth:`_new_record`) as one batch: the kind's batch
        rules, uniqueness (values in ``op.unique_free`` not read again) and plugin
        validation, then the insert and one log entry per record (with ``note``)."""
        self._before_create_many(op, records)
        self._check_records(op, fields, [(r, None) for r in records], paths)
        self._store_new(op, records, note)

    def _store_new(self, op: Op, records: Sequence[E], note: str = "") -> None:
        """Store checked new records: insert, log, link their related records, then the
        kind's follow-up writes."""
        self._repo(op).add_many(records)
        op.created.update((self.kind, r.id) for r in records)
        for record in records:
            op.log(self.kind, record.id, "create", field_changes(None, record), note)
        if self.declaration.has(Feature.RELATED):
            for record in records:
                if links := self._links(record):
                    op.uow.links.replace(RecordRef(self.kind, record.id), links)
        self._after_create_many(op, records)

    def get(self, actor: ActorRef, record_id: str) -> E:
        """One record the actor can see; out of scope answers exactly as a missing id
        (NotFound ``record.not_found``)."""
        with self._rt.operation(actor, self.declaration.module, Operation.VIEW) as op:
            record: E = self._access.visible(op, self.kind, record_id)
            return record

    def update(
        self,
        actor: ActorRef,
        record_id: str,
        changes: Mapping[str, Any],
        *,
        expected_version: int | None = None,
    ) -> E:
        """Edit system and custom fields; ``custom`` keys merge into the stored values."""
        with self._rt.operation(actor, self.declaration.module, Operation.EDIT) as op:
            return self._update_in(op, record_id, changes, expected_version)

    def _update_in(self, op: Op, record_id: str, changes: Mapping[str, Any],
                   expected_version: int | None = None) -> E:
        """Edit inside a running operation (an import that overwrites builds on this)."""
        old = self._access.editable(op, self.kind, record_id)
        self._before_edit(op, old)
        fields = self._fields.load(op, self.kind)
        plain, extras = self._split(changes)
        system, custom = self._values(op, fields, plain, creating=False)
        merged = {k: v for k, v in {**old.custom, **custom}.items() if v is not None}
        return self._save(op, fields, old, expected_version, "update", custom=merged,
                          **system, **self._extras(op, extras, old))

    def _save(self, op: Op, fields: FieldSet | None, old: E, expected_version: int | None,
              action: str, **changes: Any) -> E:
        if expected_version is not None and expected_version != old.version:
            raise version_conflict()
        new = evolved(old, version=old.version + 1, updated_at=op.now, **changes)
        new = self._before_write(op, new, old)
        if fields is not None:
            self._check_record(op, fields, new, old)
        self._repo(op).update(new, expected_version=old.version, previous=old)
        op.log(self.kind, new.id, action, field_changes(old, new))
        if self.declaration.has(Feature.RELATED) and self._links(new) != self._links(old):
            op.uow.links.replace(RecordRef(self.kind, new.id), self._links(new))
        self._after_write(op, new, old)
        return new

    def delete(self, actor: ActorRef, record_id: str) -> None:
        """Delete a record the actor may edit (and delete): its team and related-record links go
        with it; the operation log keeps its last values."""
        with self._rt.operation(actor, self.declaration.module, Operation.DELETE) as op:
            old = self._access.editable(op, self.kind, record_id)
            self._before_edit(op, old)
            self._repo(op).delete(old.id)
            op.uow.team.clear(self.kind, [old.id])
            if self.declaration.has(Feature.RELATED):
                op.uow.links.clear(self.kind, [old.id])
            op.log(self.kind, old.id, "delete", field_changes(old, None))
            self._after_delete(op, old)

    # -- lists ----------------------------------------------------------------------------------
    def list(self, actor: ActorRef, request: ListRequest | Mapping[str, Any] | None = None) -> Page:
        """One page of the records the actor may see, filtered, sorted, keyset-paged."""
        req = structure(request or {}, ListRequest)
        with self._rt.operation(actor, self.declaration.module, Operation.VIEW) as op:
            fields = self._fields.load(op, self.kind)
            query = self._query(op, fields, req)
            if query is None:
                return Page((), None, 0 if req.with_total else None)
            repo = self._repo(op)
            rows = repo.query(attrs.evolve(query, limit=query.limit + 1))
            total = repo.count(query) if query.with_total else None
        cursor = None
        if len(rows) > query.limit:
            rows = rows[: query.limit]
            cursor = encode_cursor(cursor_values(rows[-1], query.sort), query.sort)
        cap = query.total_limit
        if total is not None and cap is not None and total > cap:
            return Page(tuple(rows), cursor, cap, total_more=True)
        return Page(tuple(rows), cursor, total)

    def _query(self, op: Op, fields: FieldSet, req: ListRequest) -> RecordQuery | None:
        """The query a request means: scene narrowing + scene/base conditions + the request's
        own conditions; None when the scene can match nothing."""
        assert op.actor is not None
        scope = self._rt.scope(op, self.declaration.module)
        scene_id = req.scene or self._default_scene(op) or "all"
        extra: tuple[ConditionSpec, ...] = ()
        sort_specs = req.sort
        if scene_id in self.declaration.scenes:
            extra = self.declaration.scenes[scene_id][2]
        elif scene_id in SYSTEM_SCENES:
            extra = self.declaration.base_conditions
            narrowed = self._scene_scope(op, scope, scene_id)
            if narrowed is None:
                return None
            scope = narrowed
        else:
            scene = op.uow.scenes.get(scene_id)
            if scene is None or scene.user_id != op.actor.id or scene.record_kind != self.kind:
                raise ValidationError([field_error("$.scene", "not_found")])
            extra = self.declaration.base_conditions + scene.conditions
            sort_specs = sort_specs or scene.sort
        conditions = parse_conditions(fields, extra, "$.scene") + parse_conditions(
            fields, req.conditions, "$.conditions")
        if req.ids is not None:
            if not req.ids:
                return None
            conditions += (id_condition(req.ids),)
        sort = parse_sort(fields, sort_specs, "$.sort")
        if not sort:
            sort = parse_sort(fields, (self._default_sort(),), "$.sort")
        keyword = parse_keyword(fields, self.declaration.searchable, req.keyword)
        return build_query(fields, scope, conditions, sort, req, keyword)

    @staticmethod
    def _default_sort() -> SortSpec:
        return SortSpec("created_at", descending=True)

    def _default_scene(self, op: Op) -> str | None:
        """The actor's default scene of this kind (kept per org version: saving a scene
        moves it)."""
        assert op.actor is not None
        user_id = op.actor.id

        def read() -> str | None:
            scenes = op.uow.scenes.list(user_id=user_id, record_kind=self.kind)
            return next((s.id for s in scenes if s.is_default), None)

        found: str | None = self._rt.kept(op, ("default_scene", user_id, self.kind), read)
        return found

    def _scene_scope(self, op: Op, scope: RecordScope, scene_id: str) -> RecordScope | None:
        """我负责的 / 下属负责的 / 我参与的 narrow the actor's scope; 全部 keeps it."""
        assert op.actor is not None
        me = op.actor.id
        if scene_id == "all":
            return scope
        if scene_id == "participating":
            return RecordScope(team_user_id=me)
        if scene_id == "mine":
            owners = frozenset({me})
        else:
            index = self._rt.org_index(op)
            owners = index.self_and_subordinates(me) - {me}
        if not scope.all_records:
            owners &= scope.owner_ids
        return RecordScope(owner_ids=owners) if owners else None

    # -- 相关业务: the records naming others as related ----------------------------------------
    def _links(self, record: E) -> builtins.list[RecordRef]:
        """What a record of a :attr:`~crmkit.entities.kinds.Feature.RELATED` kind links to: its
        related records (a kind may link more, e.g. a task its tags)."""
        return builtins.list(_related(record))

    def related_to(self, actor: ActorRef, records: Sequence[RecordRef]) -> builtins.list[E]:
        """The records of this kind naming any of ``records`` as related (相关业务) that the
        actor sees, newest first; each one's ``related`` says which records it names."""
        self._takes(Feature.RELATED)
        with self._rt.operation(actor, self.declaration.module, Operation.VIEW) as op:
            return self.related_in(op, records)

    def related_in(self, op: Op, records: Sequence[RecordRef]) -> builtins.list[E]:
        """:meth:`related_to` inside a running operation (the timeline's, for a record and
        everything rolled up into it), cut to the actor's scope on the kind's module — none
        without its ``view`` permission. One link lookup per record kind, then one scoped
        query per :data:`PAGE` records (team grants included)."""
        self._takes(Feature.RELATED)
        if not op.grants(self.declaration.module, Operation.VIEW):
            return []
        ids = sorted({link.source_id for link in op.uow.links.sources(self.kind, records)})
        scope = self._rt.scope(op, self.declaration.module)
        found: builtins.list[E] = []
        for start in range(0, len(ids), PAGE):
            chunk = tuple(ids[start:start + PAGE])
            found.extend(query_all(self._repo(op), RecordQuery(
                scope, (Condition(_ID, Operator.IN, chunk),), NEWEST)))
        return sorted(found, key=lambda r: (cast(Any, r).created_at, r.id), reverse=True)

    # -- reads of the record's history ---------------------------------------------------------
    def operation_log(self, actor: ActorRef, record_id: str, *, limit: int = 100
                      ) -> builtins.list[OperationLogEntry]:
        """操作记录 of one record, newest first."""
        with self._rt.operation(actor, self.declaration.module, Operation.VIEW) as op:
            self._access.visible(op, self.kind, record_id)
            return op.uow.oplog.for_record(self.kind, record_id, limit=limit)
