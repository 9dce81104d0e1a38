"""导入 Import: rows of a sheet become records of any kind, through the kind's own create (and,
to overwrite a duplicate, edit) rules.

- **Header**: the first of the top rows that names most fields (title rows and merged group
  headers above it are passed over); headers map to fields by label, key or an explicit
  ``mapping`` (header → key, None to ignore). A row right under the header that repeats the
  template's hints is passed over too.
- **Rows** become validated values column by column — each column compiled once per import
  (the cell rules of :class:`~crmkit.workflow.io.columns.Cells`, the field type's validator,
  user and department checks against the names read once; a column's repeated plain cells
  converted once) — then records through the kind's own rules (owner in scope, defaults,
  required fields, before-write) and the unique checks, every row on its own: a bad row is
  reported (row, column, why) and nothing of it is written; the good rows of a batch land in
  one set-based create (the bulk create path), each batch in its own transaction.
- **References** to records (a contact's 客户 …) are taken by id or by the name of a record the
  actor sees, resolved for a whole batch at once; a name several visible records share fails
  its row (``import.ambiguous``).
- **Duplicates** (查重): a row whose value of a ``match_on`` field (default: the kind's unique
  fields) is already stored is skipped, or with ``overwrite`` updates the stored record (it
  must be editable by the actor; the owner and history columns are not applied then). A value
  seen earlier in the same file is a duplicate too.
- **History** (moving in from another system): 创建时间, 领取时间, 最后跟进时间 and 最后跟进记录
  are taken as given (never in the future); the 负责人 column sets the owner (inside the
  actor's scope). Every created record's log entry says it was imported.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from itertools import chain, islice
from typing import Any, TypeVar

import attrs

from crmkit.entities import RecordScope
from crmkit.entities.fields import FieldDefinition, FieldValueError, ValueKind
from crmkit.entities.query import Condition, FieldRef, Operator, RecordQuery
from crmkit.errors import (
    Conflict,
    FieldError,
    NotFound,
    PermissionDenied,
    RuleViolation,
    ValidationError,
)
from crmkit.policies.query_eval import decode_custom, field_value
from crmkit.policies.validation import field_error
from crmkit.ports.sheets import Cell
from crmkit.workflow.fields import FieldSet
from crmkit.workflow.fieldtypes import FieldTypeRegistry
from crmkit.workflow.io.columns import (
    HISTORY_FIELDS,
    Cells,
    SheetColumn,
    bare,
    columns_of,
    header_index,
)
from crmkit.workflow.io.results import IMPORT_NOTE, ImportProgress, ImportResult, RowError
from crmkit.workflow.operations import Op
from crmkit.workflow.querying import ListRequest
from crmkit.workflow.records import RecordService, defaults_and_required, query_all

HEADER_SEARCH = 10
"""How many top rows may hold the header (titles and merged group headers above it)."""
FUTURE_SKEW = timedelta(minutes=5)
_PATH = re.compile(r"^\$(?:\[(\d+)\])?(?:\.custom)?(?:\.([a-z][a-z0-9_]*))?")
_LEAD = re.compile(r"^\$\S*?(?:（[^）]*）| \([^)]*\))?\s+")

IMPORT_MESSAGES: dict[str, tuple[str, str]] = {
    "import.duplicate": ("与已有记录重复，已跳过", "duplicates a stored record: skipped"),
    "import.duplicate_in_file": ("与本文件中前面的行重复", "repeats an earlier row of this file"),
    "import.in_future": ("不能晚于当前时间", "must not lie in the future"),
    "import.ambiguous": ("对应多条记录，请改用 ID", "names several records: use the id"),
    "import.no_header": ("找不到表头：请使用导入模板的列名",
                         "has no header row naming the fields: use the template's headers"),
}

Progress = Callable[[ImportProgress], None]
_T = TypeVar("_T")


LOOKUP_CHUNK = 1000
"""Values per duplicate or reference lookup (a batch of 1,000 rows: one statement)."""
MEMO_LIMIT = 10_000
"""Converted cells a column keeps (beyond it, new cells are converted every time)."""
_SYSTEM, _CUSTOM, _PRESET, _REFERENCE = range(4)
"""Where a column's value goes: a system field, a custom field, a history field (preset, past
validation), or a record reference resolved per batch."""


@attrs.define
class _Row:
    number: int
    system: dict[str, Any]
    custom: dict[str, Any]
    preset: dict[str, Any]
    references: list[tuple[SheetColumn, str]]
    """(column, the id or name in the cell) of each record reference, until resolved."""


class _Reader:
    """One column of a file, compiled: its position, where its values go and how a non-empty
    cell becomes one (results of plain cells kept when ``memo``: a pure conversion)."""

    __slots__ = ("_convert", "_memo", "column", "position", "target")

    def __init__(self, position: int, column: SheetColumn, target: int,
                 convert: Callable[[Cell], Any], *, memo: bool) -> None:
        self.position = position
        self.column = column
        self.target = target
        self._convert = convert
        self._memo: dict[Cell, Any] | None = {} if memo else None

    def value(self, cell: Cell) -> Any:
        memo = self._memo
        if memo is None or type(cell) not in _PLAIN_CELLS:
            return self._convert(cell)
        found = memo.get(cell, memo)
        if found is memo:
            try:
                found = self._convert(cell)
            except (FieldValueError, ValidationError) as refused:
                found = _Refused(refused)
            if len(memo) < MEMO_LIMIT:
                memo[cell] = found
        if type(found) is _Refused:
            raise found.error.with_traceback(None)  # kept once, never a growing traceback
        return list(found) if type(found) is list else found


@attrs.frozen
class _Refused:
    error: FieldValueError | ValidationError


_PLAIN_CELLS = (str, int, float, bool)


@attrs.define
class Tally:
    rows: int = 0
    created: int = 0
    updated: int = 0
    skipped: int = 0
    errors: list[RowError] = attrs.Factory(list)
    skipped_rows: list[int] = attrs.Factory(list)
    failed_rows: set[int] = attrs.Factory(set)

    def fail(self, row: int, column: str, code: str, zh: str, en: str) -> None:
        self.errors.append(RowError(row, column, code, zh, en))
        self.failed_rows.add(row)

    def progress(self) -> ImportProgress:
        return ImportProgress(self.rows, self.created, self.updated, self.skipped,
                              len(self.failed_rows))


def _message(code: str) -> tuple[str, str]:
    return IMPORT_MESSAGES[code]


def batches(rows: Iterable[list[Cell]], first: int,
            read: Callable[[int, list[Cell]], _T | None], size: int, tally: Tally
            ) -> Iterator[list[_T]]:
    """The rows (numbered from ``first``) read into items, ``size`` at a time; empty rows are
    passed over, the others counted in ``tally`` (``read`` reports and drops bad ones)."""
    batch: list[_T] = []
    for number, cells in enumerate(rows, start=first):
        if all(c is None or (isinstance(c, str) and not c.strip()) for c in cells):
            continue
        tally.rows += 1
        item = read(number, cells)
        if item is not None:
            batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def importable(service: RecordService[Any], fields: FieldSet, *, history: bool = True
               ) -> list[FieldDefinition]:
    """The fields an import writes: the kind's writable system fields, the owner, the active
    custom fields, and (``history``) the history fields the kind has."""
    declaration = service.declaration
    writable = declaration.writable | {"owner_id"}
    kept = set(HISTORY_FIELDS) & declaration.attributes if history else set()
    return [d for d in fields.active if fields.available(d) and (
        (d.system and (d.key in writable or d.key in kept)) or not d.system)]


class Importer:
    """One import of one file into one kind (see the module docstring)."""

    def __init__(self, service: RecordService[Any], types: FieldTypeRegistry, cells: Cells,
                 fields: FieldSet, *, on_duplicate: str, match_on: Sequence[str] | None,
                 batch_size: int, progress: Progress | None) -> None:
        self._service = service
        self._types = types
        self._cells = cells
        self._fields = fields
        self._overwrite = on_duplicate == "overwrite"
        self._batch_size = batch_size
        self._progress = progress
        self._usable = importable(service, fields)
        keys = match_on if match_on is not None else [
            d.key for d in fields.active if d.unique and fields.available(d)]
        self._match = [self._known(key, f"$.match_on[{i}]") for i, key in enumerate(keys)]
        self._writable = service.declaration.writable | {"owner_id"}
        self._seen: dict[tuple[str, Any], int] = {}
        self.header_of: dict[str, str] = {}
        """Field key → the header of its column (set once the header is read)."""
        self.tally = Tally()

    def _known(self, key: str, path: str) -> FieldDefinition:
        definition = self._fields.get(key)
        if definition is None or definition.retired or not self._fields.available(definition):
            raise ValidationError.at(path, "unknown_field", f"{path} 不是可识别的字段",
                                     f"{path} is not a known field")
        return definition

    # -- header ---------------------------------------------------------------------------------
    def header(self, rows: Iterator[list[Cell]], mapping: Mapping[str, str | None] | None
               ) -> tuple[int, list[tuple[int, SheetColumn]], list[str], Iterator[list[Cell]]]:
        """(the number of the first data row, (position, column) pairs, ignored headers, the
        data rows)."""
        top = list(islice(rows, HEADER_SEARCH))
        every = header_index(self._fields, self._fields.active)
        usable = header_index(self._fields, self._usable)
        mapping = dict(mapping or {})
        for header, key in mapping.items():
            if key is not None:
                self._known(key, f"$.mapping[{header!r}]")

        def named(row: Sequence[Cell]) -> int:
            return sum(1 for c in row if bare(c) in every or bare(c) in mapping)

        scores = [named(row) for row in top]
        if not scores or max(scores) == 0:
            zh, en = _message("import.no_header")
            raise ValidationError.at("$.file", "import.no_header", f"$.file {zh}",
                                     f"$.file {en}")
        at = scores.index(max(scores))
        columns: list[tuple[int, SheetColumn]] = []
        ignored: list[str] = []
        taken: dict[str, str] = {}
        for position, cell in enumerate(top[at]):
            text = bare(cell)
            if not text:
                continue
            if text in mapping:
                key = mapping[text]
                found = [d for d in self._usable if d.key == key] if key else []
            else:
                found = usable.get(text, [])
            if len(found) > 1:
                shown = ", ".join(d.key for d in found)
                raise ValidationError.at(
                    f"$.mapping[{text!r}]", "import.header_ambiguous",
                    f"$.mapping[{text!r}] 对应多个字段（{shown}），请指定映射",
                    f"$.mapping[{text!r}] names several fields ({shown}): map it")
            if not found:
                ignored.append(text)
                continue
            definition = found[0]
            if definition.key in taken:
                raise ValidationError.at(
                    f"$.mapping[{text!r}]", "import.header_twice",
                    f"$.mapping[{text!r}] 与“{taken[definition.key]}”是同一字段",
                    f"$.mapping[{text!r}] names the same field as {taken[definition.key]!r}")
            taken[definition.key] = text
            column = columns_of(self._fields, [definition], self._cells.language)[0]
            column = attrs.evolve(column, header=str(cell).strip())
            self.header_of[definition.key] = column.header
            columns.append((position, column))
        rest = top[at + 1:]
        first = at + 2  # row numbers as a spreadsheet shows them
        notes = {p: self._cells.note(c.definition) for p, c in columns}
        if rest and self._hints(rest[0], notes):
            rest, first = rest[1:], first + 1
        return first, columns, ignored, chain(rest, rows)

    @staticmethod
    def _hints(row: Sequence[Cell], notes: Mapping[int, str]) -> bool:
        """Whether ``row`` is the template's hint row (every filled cell a column's hint)."""
        filled = [(p, c) for p, c in enumerate(row) if c not in (None, "")]
        return bool(filled) and all(notes.get(p) == c for p, c in filled)

    # -- rows -----------------------------------------------------------------------------------
    def rows(self, op_of: Callable[[], Any], first: int, columns: list[tuple[int, SheetColumn]],
             rows: Iterable[list[Cell]]) -> None:
        """Read, check and land ``rows`` (numbered from ``first``) in batches, each batch in
        one operation from ``op_of()``."""
        readers = [self._reader(position, column) for position, column in columns]
        for batch in batches(rows, first, lambda n, cells: self._read(n, readers, cells),
                             self._batch_size, self.tally):
            self._land(op_of, batch)

    def _reader(self, position: int, column: SheetColumn) -> _Reader:
        """How the cells of one column become values, compiled once per import: the cell
        rules (:meth:`Cells.value`), the field type's validator, reference checks; results of
        a plain cell kept (a column repeats its values: sources, grades, owners, dates)."""
        definition = column.definition
        key = definition.key
        if definition.system and key not in self._writable:
            return _Reader(position, column, _PRESET, self._history_of(column), memo=False)
        target = _SYSTEM if definition.system else _CUSTOM
        if definition.type == "record":
            return _Reader(position, column, _REFERENCE,
                           lambda cell: str(self._cells.value(column, cell)), memo=False)
        path = f"$.{key}" if definition.system else f"$.custom.{key}"
        validate = self._types.validator(definition)
        value_of = self._cells.value
        kind = self._fields.kinds[key]
        decode = definition.system
        users = self._cells.names.users
        departments = self._cells.names.departments
        field_type = definition.type

        def convert(cell: Cell) -> Any:
            stored = validate(value_of(column, cell), path)
            if stored is not None and field_type in ("user", "users"):
                for user_id in stored if isinstance(stored, list) else [stored]:
                    user = users.get(user_id)
                    if user is None or not user.active:
                        raise ValidationError([field_error(path, "not_found")])
            elif stored is not None and field_type == "department" and stored not in departments:
                raise ValidationError([field_error(path, "not_found")])
            return decode_custom(kind, stored) if decode else stored

        return _Reader(position, column, target, convert,
                       memo=self._types.builtin(definition.type))

    def _history_of(self, column: SheetColumn) -> Callable[[Cell], Any]:
        definition = column.definition
        path = f"$.{definition.key}"
        validate = self._types.validator(definition)
        kind = self._fields.kinds[definition.key]

        def convert(cell: Cell) -> Any:
            """A history field's typed value (a time never in the future)."""
            value = decode_custom(kind, validate(self._cells.value(column, cell), path))
            now = self._service._rt.clock.now()
            if isinstance(value, datetime) and value > now + FUTURE_SKEW:
                zh, en = _message("import.in_future")
                raise ValidationError.at(path, "import.in_future", f"{path} {zh}",
                                         f"{path} {en}")
            return value

        return convert

    def _read(self, number: int, readers: list[_Reader], cells: list[Cell]) -> _Row | None:
        row = _Row(number, {}, {}, {}, [])
        places = (row.system, row.custom, row.preset)
        bad: set[str] = set()
        size = len(cells)
        for reader in readers:
            cell = cells[reader.position] if reader.position < size else None
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            try:
                value = reader.value(cell)
            except FieldValueError as problem:
                header = reader.column.header
                self.tally.fail(number, header, problem.code,
                                f"{header}：{problem.message_zh}",
                                f"{header}: {problem.message_en}")
                bad.add(reader.column.key)
                continue
            except ValidationError as refused:
                self._report(number, refused.errors, {reader.column.key: reader.column.header})
                bad.add(reader.column.key)
                continue
            if reader.target == _REFERENCE:
                row.references.append((reader.column, value))
            else:
                places[reader.target][reader.column.key] = value
        if not bad:
            return row
        if not self._overwrite:  # a row to create: what it lacks is said at once
            given = {*row.preset, *bad, *(column.key for column, _ in row.references)}
            self._report(number, defaults_and_required(
                self._fields, row.system, dict(row.custom), given, self._writable),
                self.header_of)
        return None

    def _report(self, number: int, errors: Iterable[FieldError], headers: Mapping[str, str]
                ) -> None:
        for error in errors:
            found = _PATH.match(error.path)
            key = found.group(2) if found else None
            column = headers.get(key or "", "")
            zh = _LEAD.sub("", error.message_zh, count=1)
            en = _LEAD.sub("", error.message_en, count=1)
            if column:
                zh, en = f"{column}：{zh}", f"{column}: {en}"
            self.tally.fail(number, column, error.code, zh, en)

    # -- landing --------------------------------------------------------------------------------
    def _land(self, op_of: Callable[[], Any], batch: list[_Row]) -> None:
        with op_of() as op:
            batch = self._references(op, batch)
            creates, updates = self._duplicates(op, batch)
            self._create(op, creates)
            for row, record_id in updates:
                self._update(op, row, record_id)
        if self._progress is not None:
            self._progress(self.tally.progress())

    def _references(self, op: Op, batch: list[_Row]) -> list[_Row]:
        """Record references (客户, 商机, 产品 …) by id or by name, resolved for the whole
        batch at once among the records the actor sees: one read by id and one by name per
        referenced kind. A name that several visible records share, or that none has, fails
        its row."""
        wanted: dict[str, set[str]] = {}
        for row in batch:
            for column, text in row.references:
                wanted.setdefault(column.definition.reference_kind or "", set()).add(text)
        if not wanted:
            return batch
        found = {kind: self._resolve(op, kind, texts) for kind, texts in wanted.items()}
        kept = []
        for row in batch:
            bad = False
            for column, text in row.references:
                ids = found[column.definition.reference_kind or ""].get(text, ())
                if len(ids) == 1:
                    place = row.system if column.definition.system else row.custom
                    place[column.key] = ids[0]
                    continue
                bad = True
                header = column.header
                if ids:
                    zh, en = _message("import.ambiguous")
                    self.tally.fail(row.number, header, "import.ambiguous",
                                    f"{header}：“{text}”{zh}", f"{header}: {text!r} {en}")
                else:
                    self.tally.fail(row.number, header, "not_found", f"{header}：“{text}”不存在",
                                    f"{header}: {text!r} does not exist")
            if not bad:
                kept.append(row)
        return kept

    def _resolve(self, op: Op, kind: str, texts: set[str]) -> dict[str, tuple[str, ...]]:
        """Each text → the ids of the visible records of ``kind`` it names: its id, else the
        records with that name."""
        service = self._service
        by_id = service._access.visible_many(op, kind, sorted(texts))
        found: dict[str, tuple[str, ...]] = {text: (text,) for text in by_id}
        names = sorted(texts - set(by_id))
        declaration = service._rt.declaration(kind)
        if names and "name" in declaration.attributes:
            ref = FieldRef("name", ValueKind.TEXT, True)
            scope = service._rt.scope(op, declaration.module)
            repo = op.uow.records(kind)
            holders: dict[str, list[str]] = {}
            for start in range(0, len(names), LOOKUP_CHUNK):
                chunk = tuple(names[start:start + LOOKUP_CHUNK])
                query = RecordQuery(scope, (Condition(ref, Operator.IN, chunk),),
                                    limit=len(chunk) * 2 + 1)
                for record in query_all(repo, query):
                    holders.setdefault(record.name, []).append(record.id)
            found.update((name, tuple(ids)) for name, ids in holders.items())
        return found

    def _keys(self, row: _Row) -> list[tuple[str, Any]]:
        """The row's values of the match fields, as stored records hold them."""
        keys = []
        for definition in self._match:
            if definition.system:
                value = row.system.get(definition.key)
            else:
                value = decode_custom(self._fields.kinds[definition.key],
                                      row.custom.get(definition.key))
            if value is not None and value != "":
                keys.append((definition.key, value))
        return keys

    def _duplicates(self, op: Op, batch: list[_Row]) -> tuple[list[_Row], list[tuple[_Row, str]]]:
        """Rows to create, and rows that overwrite a stored record (skipped ones counted). A
        unique field is matched across the organisation (its value is taken anyway: locked and
        looked up once here; the values found free go to ``op.unique_free``, so the create
        does not read them again); any other field only among the records the actor sees, so a
        match never reveals a hidden one."""
        stored: dict[tuple[str, Any], str] = {}
        repo = self._service._repo(op)
        keys = [self._keys(row) for row in batch]
        visible: RecordQuery | None = None
        if any(not d.unique for d in self._match):
            visible = self._service._query(op, self._fields, ListRequest(scene="all"))
        for definition in self._match:
            ref = self._fields.ref(definition)
            scope = RecordScope.everything() if definition.unique else (
                visible.scope if visible is not None else None)
            if scope is None:
                continue
            values = list(dict.fromkeys(v for row_keys in keys for k, v in row_keys
                                        if k == definition.key))
            if definition.unique:
                repo.lock_values(definition.key, values)  # a concurrent writer of one waits
            for start in range(0, len(values), LOOKUP_CHUNK):
                chunk = tuple(values[start:start + LOOKUP_CHUNK])
                query = RecordQuery(scope, (Condition(ref, Operator.IN, chunk),),
                                    limit=len(chunk) * 4)
                for record in repo.query(query):
                    stored.setdefault((definition.key, field_value(record, ref)), record.id)
            if definition.unique:
                kind = self._service.kind
                op.unique_free.update((kind, definition.key, v) for v in values
                                      if (definition.key, v) not in stored)
        creates: list[_Row] = []
        updates: list[tuple[_Row, str]] = []
        for row, row_keys in zip(batch, keys, strict=True):
            earlier = next((self._seen[k] for k in row_keys if k in self._seen), None)
            found = next((stored[k] for k in row_keys if k in stored), None)
            for key in row_keys:
                self._seen.setdefault(key, row.number)
            if earlier is not None and (found is None or not self._overwrite):
                if self._overwrite:
                    zh, en = _message("import.duplicate_in_file")
                    self.tally.fail(row.number, "", "import.duplicate_in_file",
                                    f"{zh}（第 {earlier} 行）", f"{en} (row {earlier})")
                else:
                    self._skip(row)
            elif found is None:
                creates.append(row)
            elif self._overwrite:
                updates.append((row, found))
            else:
                self._skip(row)
        return creates, updates

    def _skip(self, row: _Row) -> None:
        self.tally.skipped += 1
        self.tally.skipped_rows.append(row.number)

    def _create(self, op: Op, rows: list[_Row]) -> None:
        """Create the rows in one bulk create: each row's record built (defaults, required
        fields, owner in scope, the kind's rules) — a row refused there fails alone — then the
        batch checked and stored at once. Rows the batch check refuses are reported and the
        rest created (a batch-wide refusal, e.g. a customer limit, is retried row by row)."""
        service = self._service
        kept: list[_Row] = []
        records: list[Any] = []
        for row in rows:
            custom = dict(row.custom)
            missing = defaults_and_required(self._fields, row.system, custom, row.preset,
                                            self._writable)
            try:
                if missing:
                    raise ValidationError(missing)
                record = service._new_record(op, dict(row.system), custom, {}, row.preset)
            except ValidationError as refused:
                self._report(row.number, refused.errors, self.header_of)
                continue
            except RuleViolation as refused:  # the kind's rule refused this row alone
                self._refused_by_rule(row, refused)
                continue
            kept.append(row)
            records.append(record)
        self._store(op, kept, records)

    def _store(self, op: Op, rows: list[_Row], records: list[Any]) -> None:
        """Store the built records at once; a refusal is traced to its rows (the rest stored),
        or the rows are tried one by one. A row of one that is refused is that row's error."""
        while records:
            try:
                self._service._create_records_in(op, self._fields, records, note=IMPORT_NOTE)
            except ValidationError as refused:
                bad = self._refused_rows(rows, refused.errors)
                if bad is None:  # a refusal that names no row: the rows are tried one by one
                    if len(rows) == 1:
                        self._report(rows[0].number, refused.errors, self.header_of)
                        if not refused.errors:
                            self.tally.fail(rows[0].number, "", refused.code,
                                            refused.message_zh, refused.message_en)
                        return
                    self._one_by_one(op, rows, records)
                    return
                rows = [row for i, row in enumerate(rows) if i not in bad]
                records = [record for i, record in enumerate(records) if i not in bad]
                continue
            except RuleViolation as refused:
                if len(rows) == 1:
                    self._refused_by_rule(rows[0], refused)
                    return
                self._one_by_one(op, rows, records)
                return
            self.tally.created += len(records)
            return

    def _one_by_one(self, op: Op, rows: list[_Row], records: list[Any]) -> None:
        for row, record in zip(rows, records, strict=True):
            self._store(op, [row], [record])

    def _refused_by_rule(self, row: _Row, refused: RuleViolation) -> None:
        """A business rule refused the row: its error, under the column the rule names
        (``details["path"]``) when the file has one."""
        path = refused.details.get("path")
        found = _PATH.match(path) if isinstance(path, str) else None
        column = self.header_of.get((found.group(2) if found else None) or "", "")
        zh, en = refused.message_zh, refused.message_en
        if column:
            zh, en = f"{column}：{zh}", f"{column}: {en}"
        self.tally.fail(row.number, column, refused.code, zh, en)

    def _refused_rows(self, rows: list[_Row], errors: Sequence[FieldError]) -> set[int] | None:
        """Report the refused rows (paths ``$[i]…``, or ``$…`` for a single row); None when an
        error of a batch names no row of it (nothing reported then)."""
        by_row: dict[int, list[FieldError]] = {}
        for error in errors:
            found = _PATH.match(error.path)
            index = int(found.group(1)) if found and found.group(1) is not None else (
                0 if len(rows) == 1 else -1)
            if not 0 <= index < len(rows):
                return None
            by_row.setdefault(index, []).append(error)
        if not by_row:
            return None
        for index, found_errors in by_row.items():
            self._report(rows[index].number, found_errors, self.header_of)
        return set(by_row)

    def _update(self, op: Op, row: _Row, record_id: str) -> None:
        changes: dict[str, Any] = {k: v for k, v in row.system.items() if k != "owner_id"}
        if row.custom:
            changes["custom"] = row.custom
        start = len(op.entries)
        try:
            self._service._update_in(op, record_id, changes)
        except ValidationError as refused:
            self._report(row.number, refused.errors, self.header_of)
            return
        except (NotFound, PermissionDenied, Conflict):
            # a duplicate the actor may not edit: refused as a taken value, never named
            keys = ", ".join(self.header_of.get(k, k) for k, _ in self._keys(row))
            self.tally.fail(row.number, keys, "unique", f"{keys}：已被占用",
                            f"{keys}: is already taken")
            return
        except RuleViolation as refused:
            self._refused_by_rule(row, refused)
            return
        op.entries[start:] = [attrs.evolve(e, note=IMPORT_NOTE) if e.action == "update"
                              and not e.note else e for e in op.entries[start:]]
        self.tally.updated += 1

    def result(self, kind: str, ignored: Sequence[str]) -> ImportResult:
        tally = self.tally
        return ImportResult(kind, tally.rows, tally.created, tally.updated, tally.skipped,
                            len(tally.failed_rows),
                            tuple(sorted(tally.errors, key=lambda e: e.row)),
                            tuple(tally.skipped_rows), tuple(ignored))

