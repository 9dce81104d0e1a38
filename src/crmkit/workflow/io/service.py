"""``crm.io``: export, import templates, import and the error report, for every record kind.

Permissions: exporting needs the kind module's ``export`` operation and writes only records in
the actor's scope; templates, imports and the import history need ``import`` (an import that
overwrites duplicates ``edit`` too); the history holds the imports and exports of the actors in
the viewer's data scope of the module. The operation log
records every import and export (who, which kind, how many rows) under the record id
:data:`~crmkit.workflow.io.results.IO_RECORD`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import attrs

from crmkit.entities import Module, Operation, OperationLogEntry
from crmkit.entities.fields import FieldDefinition
from crmkit.entities.kinds import Feature, RecordKind
from crmkit.entities.query import RecordQuery
from crmkit.errors import ValidationError
from crmkit.policies.cells import table_text
from crmkit.policies.query_eval import cursor_values
from crmkit.ports.sheets import ByteSink, ByteSource, SheetFormat
from crmkit.serialization import structure
from crmkit.workflow.fields import FieldService, FieldSet
from crmkit.workflow.fieldtypes import FieldTypeRegistry
from crmkit.workflow.followups import configured_methods
from crmkit.workflow.io.columns import HISTORY_FIELDS, Cells, Names, columns_of
from crmkit.workflow.io.followups import COLUMNS, FollowUpImporter
from crmkit.workflow.io.imports import Importer, Progress, importable
from crmkit.workflow.io.results import IO_RECORD, ExportResult, ImportResult
from crmkit.workflow.operations import ActorRef, Op, Runtime
from crmkit.workflow.querying import MAX_LIMIT, ListRequest
from crmkit.workflow.records import RecordService

EXPORT_PAGE = 1000
"""Rows read per keyset page while exporting."""
IDS_CHUNK = 500
"""Selected ids per query while exporting ("export selected")."""
MAX_BATCH = 5000
LANGUAGES = ("zh", "en")
ON_DUPLICATE = ("skip", "overwrite")
_REPORT_HEADERS = {"zh": ("行号", "列", "错误代码", "说明"),
                   "en": ("Row", "Column", "Code", "Message")}


def _choice(value: str, allowed: Sequence[str], path: str) -> None:
    if value not in allowed:
        shown = ", ".join(allowed)
        raise ValidationError.at(path, "invalid", f"{path} 取值无效（{shown}）",
                                 f"{path} is invalid ({shown})")


class IOService:
    """导入/导出 of every record kind (DESIGN §4), driven by the kinds' declarations."""

    def __init__(self, runtime: Runtime, fields: FieldService, types: FieldTypeRegistry,
                 services: Callable[[str], RecordService[Any]],
                 formats: Mapping[str, SheetFormat]) -> None:
        self._rt = runtime
        self._fields = fields
        self._types = types
        self._services = services
        self._formats = dict(formats)

    def _format(self, name: str) -> SheetFormat:
        found = self._formats.get(name)
        if found is None:
            _choice(name, sorted(self._formats), "$.format")
        assert found is not None
        return found

    def _cells(self, op: Op, declaration: RecordKind[Any], language: str) -> Cells:
        _choice(language, LANGUAGES, "$.language")
        names = Names(op.uow.users.list(), op.uow.departments.list())
        return Cells(declaration, names, self._rt.tz, language)

    # -- export ---------------------------------------------------------------------------------
    def export(
        self,
        actor: ActorRef,
        kind: str,
        out: ByteSink,
        *,
        format: str = "csv",
        request: ListRequest | Mapping[str, Any] | None = None,
        ids: Sequence[str] | None = None,
        fields: Sequence[str] | None = None,
        language: str = "zh",
        progress: Callable[[int], None] | None = None,
    ) -> ExportResult:
        """导出: write the records of ``kind`` the actor may see — those ``request`` matches
        (a scene, conditions, sort, or its ``ids``), or the chosen ``ids`` — to ``out``, one
        row each, headed by the field labels (``fields``: these keys in this order; default
        every active field). Rows stream page by page (bounded memory); ``progress`` is told
        the rows written so far after each page."""
        declaration, service = self._rt.declaration(kind), self._services(kind)
        with self._rt.operation(actor, declaration.module, Operation.EXPORT) as op:
            sheet = self._format(format)
            field_set = self._fields.load(op, kind)
            columns = columns_of(field_set, self._chosen(field_set, fields), language)
            cells = self._cells(op, declaration, language)
            req = structure(request or {}, ListRequest)
            if ids is not None:
                req = attrs.evolve(req, ids=tuple(ids))
            written = 0

            def lines() -> Iterator[list[str]]:
                nonlocal written
                yield [table_text(column.header) for column in columns]
                for page in self._pages(op, service, field_set, req):
                    for record in page:
                        yield [cells.text(column, record) for column in columns]
                    written += len(page)
                    if progress is not None:
                        progress(written)

            sheet.write(out, declaration.label_zh if language == "zh" else declaration.label_en,
                        lines())
            op.log(kind, IO_RECORD, "export", note=f"{written} ({format})")
        return ExportResult(kind, written)

    @staticmethod
    def _chosen(field_set: FieldSet, keys: Sequence[str] | None) -> list[FieldDefinition]:
        if keys is None:
            return [d for d in field_set.active if field_set.available(d)]
        chosen = []
        for i, key in enumerate(keys):
            definition = field_set.get(key)
            if definition is None or definition.retired or not field_set.available(definition):
                raise ValidationError.at(f"$.fields[{i}]", "unknown_field",
                                         f"$.fields[{i}] 不是可识别的字段",
                                         f"$.fields[{i}] is not a known field")
            chosen.append(definition)
        return chosen

    @staticmethod
    def _pages(op: Op, service: RecordService[Any], field_set: FieldSet, req: ListRequest
               ) -> Iterator[builtins.list[Any]]:
        """The matching records in keyset pages; chosen ids a chunk at a time."""
        req = attrs.evolve(req, limit=MAX_LIMIT, cursor=None, with_total=False, total_limit=None)
        requests = [req] if req.ids is None else [
            attrs.evolve(req, ids=req.ids[i:i + IDS_CHUNK])
            for i in range(0, len(req.ids), IDS_CHUNK)] or [req]
        repo = service._repo(op)
        for one in requests:
            query: RecordQuery | None = service._query(op, field_set, one)
            if query is None:
                continue
            query = attrs.evolve(query, limit=EXPORT_PAGE)
            while True:
                rows = repo.query(query)
                if rows:
                    yield rows
                if len(rows) < EXPORT_PAGE:
                    break
                query = attrs.evolve(query, after=cursor_values(rows[-1], query.sort))

    # -- templates ------------------------------------------------------------------------------
    def template(self, actor: ActorRef, kind: str, out: ByteSink, *, format: str = "csv",
                 language: str = "zh", history: bool = False) -> None:
        """导入模板: the header row of an import file for ``kind`` from its current fields —
        required columns marked ``*`` — and a row of hints (options of selects, formats); in
        XLSX a select's cells offer its options as a drop-down.
        ``history`` adds the history columns (创建时间, 领取时间, 最后跟进时间 …)."""
        declaration, service = self._rt.declaration(kind), self._services(kind)
        with self._rt.operation(actor, declaration.module, Operation.IMPORT) as op:
            sheet = self._format(format)
            field_set = self._fields.load(op, kind)
            cells = self._cells(op, declaration, language)
            chosen = [d for d in importable(service, field_set, history=history)
                      if not d.hidden or d.key in HISTORY_FIELDS]
            columns = columns_of(field_set, chosen, language)
            headers = [table_text(c.header + ("*" if c.definition.required else ""))
                       for c in columns]
            choices = {i: cells.choices(c) for i, c in enumerate(columns) if cells.choices(c)}
            sheet.write(out, declaration.label_zh if language == "zh" else declaration.label_en,
                        [headers, [cells.note(c.definition) for c in columns]],
                        choices=choices)

    # -- import ---------------------------------------------------------------------------------
    def import_records(
        self,
        actor: ActorRef,
        kind: str,
        source: ByteSource,
        *,
        format: str = "csv",
        mapping: Mapping[str, str | None] | None = None,
        on_duplicate: str = "skip",
        match_on: Sequence[str] | None = None,
        sheet: str | None = None,
        encoding: str | None = None,
        language: str = "zh",
        batch_size: int = 1000,
        progress: Progress | None = None,
    ) -> ImportResult:
        """导入: read the file in ``source`` and create a record of ``kind`` per row (see
        :mod:`crmkit.workflow.io.imports`). ``mapping``: header → field key (None ignores the
        column); ``on_duplicate``: ``skip`` or ``overwrite`` rows whose ``match_on`` value
        (default: the unique fields) is stored; ``sheet``: the XLSX sheet (default the first);
        ``encoding``: the CSV encoding (default detected). Rows land ``batch_size`` at a time,
        each batch in its own transaction; ``progress`` is told the counts after each.
        ``overwrite`` needs the module's ``edit`` operation as well (PermissionDenied before
        anything is read), and each overwritten record must be editable by the actor: one it
        may only read is that row's error, answered like a hidden record."""
        declaration, service = self._rt.declaration(kind), self._services(kind)
        with self._rt.operation(actor, declaration.module, Operation.IMPORT) as op:
            _choice(on_duplicate, ON_DUPLICATE, "$.on_duplicate")
            if on_duplicate == "overwrite":  # overwriting is editing: the edit permission too
                op.require(declaration.module, Operation.EDIT)
            self._batch(batch_size)
            reader = self._format(format)
            field_set = self._fields.load(op, kind)
            importer = Importer(service, self._types, self._cells(op, declaration, language),
                                field_set, on_duplicate=on_duplicate, match_on=match_on,
                                batch_size=batch_size, progress=progress)
        rows = reader.read(source, sheet=sheet, encoding=encoding)
        first, columns, ignored, data = importer.header(iter(rows), mapping)
        importer.rows(lambda: self._rt.operation(actor, declaration.module, Operation.IMPORT),
                      first, columns, data)
        result = importer.result(kind, ignored)
        with self._rt.operation(actor, declaration.module, Operation.IMPORT) as op:
            op.log(kind, IO_RECORD, "import", note=(
                f"{result.rows} ({format}): {result.created} created, {result.updated} "
                f"updated, {result.skipped} skipped, {result.failed} failed"))
        return result

    def import_followups(
        self,
        actor: ActorRef,
        kind: str,
        source: ByteSource,
        *,
        format: str = "csv",
        match_on: str | None = None,
        sheet: str | None = None,
        encoding: str | None = None,
        language: str = "zh",
        batch_size: int = 1000,
        progress: Progress | None = None,
    ) -> ImportResult:
        """跟进记录 history: one follow-up per row on a record of ``kind`` (named by its id, or
        by the field ``match_on``), see :mod:`crmkit.workflow.io.followups`."""
        declaration, service = self._rt.declaration(kind), self._services(kind)
        with self._rt.operation(actor, declaration.module, Operation.IMPORT) as op:
            op.require(Module.FOLLOWUPS, Operation.CREATE)  # they are follow-ups all the same
            self._rt.declaration(kind, Feature.FOLLOWUPS)
            self._batch(batch_size)
            reader = self._format(format)
            field_set = self._fields.load(op, kind)
            record_header = COLUMNS["record"]
            if match_on is not None:
                found = field_set.get(match_on)
                if found is None or found.retired or not field_set.available(found):
                    raise ValidationError.at("$.match_on", "unknown_field",
                                             "$.match_on 不是可识别的字段",
                                             "$.match_on is not a known field")
                record_header = (found.label_zh, found.label_en, found.key)
            importer = FollowUpImporter(service, self._cells(op, declaration, language),
                                        configured_methods(self._rt, op), match_on, record_header,
                                        batch_size=batch_size, progress=progress)
        rows = reader.read(source, sheet=sheet, encoding=encoding)
        first, columns, data = importer.header(iter(rows))
        importer.rows(lambda: self._rt.operation(actor, declaration.module, Operation.IMPORT),
                      first, columns, data)
        result = importer.result(kind)
        with self._rt.operation(actor, declaration.module, Operation.IMPORT) as op:
            op.log(kind, IO_RECORD, "import", note=(
                f"{result.rows} follow-ups ({format}): {result.created} created, "
                f"{result.failed} failed"))
        return result

    @staticmethod
    def _batch(batch_size: int) -> None:
        if not 1 <= batch_size <= MAX_BATCH:
            raise ValidationError.at("$.batch_size", "invalid",
                                     f"$.batch_size 取值无效（1..{MAX_BATCH}）",
                                     f"$.batch_size is invalid (1..{MAX_BATCH})")

    def write_errors(self, actor: ActorRef, result: ImportResult, out: ByteSink, *,
                     format: str = "csv", language: str = "zh") -> int:
        """The error report of an import as a file: row, column, code and message per problem
        (the actor's own result: no permission needed). Returns the problems written."""
        with self._rt.operation(actor, Module.FIELDS, None):
            _choice(language, LANGUAGES, "$.language")
            sheet = self._format(format)
        zh = language == "zh"
        rows: list[list[str]] = [list(_REPORT_HEADERS[language])]
        rows += [[str(e.row), e.column, e.code, e.message_zh if zh else e.message_en]
                 for e in result.errors]
        return sheet.write(out, "错误报告" if zh else "Errors", rows) - 1

    def history(self, actor: ActorRef, kind: str, *, limit: int = 50
                ) -> builtins.list[OperationLogEntry]:
        """The imports and exports of ``kind``, newest first: who, when, how many rows — those
        of actors inside the viewer's data scope of the kind's module (all of them for a scope
        of every record)."""
        declaration = self._rt.declaration(kind)
        with self._rt.operation(actor, declaration.module, Operation.IMPORT) as op:
            scope = self._rt.scope(op, declaration.module)
            return op.uow.oplog.for_record(
                kind, IO_RECORD, limit=limit,
                actor_ids=None if scope.all_records or op.is_super_admin else scope.owner_ids)
