"""跟进记录 history from another system: rows of follow-ups land on visible records of a kind
that takes follow-ups, dated as they happened (never in the future), by their authors.

Columns (by Chinese or English header): the record — 记录ID (its id) or, with ``match_on``, one
of its fields (客户名称 …, a value naming exactly one visible record) —, 跟进方式 (one of the
configured methods), 跟进内容, 跟进时间 (default: now) and 跟进人 (a user by name or mobile;
default: the importer). Each record's 最后跟进时间/记录 move to its newest follow-up when that is
newer than what it has. A bad row is reported and not written; the good rows of a batch land
together, and every touched record's log entry says it was imported.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from datetime import datetime
from itertools import chain, islice
from typing import Any

import attrs

from crmkit.entities.fields import FieldValueError, ValueKind
from crmkit.entities.records import ConditionSpec, FollowUp
from crmkit.errors import ValidationError
from crmkit.policies.cells import is_formula, raw_value
from crmkit.policies.query_eval import field_value
from crmkit.ports.sheets import Cell
from crmkit.workflow.followups import CLOCK_SKEW, CONTENT_MAX, touch_parent
from crmkit.workflow.io.columns import Cells, bare
from crmkit.workflow.io.imports import HEADER_SEARCH, Progress, Tally, batches
from crmkit.workflow.io.results import IMPORT_NOTE, ImportResult
from crmkit.workflow.operations import Op
from crmkit.workflow.querying import ListRequest
from crmkit.workflow.records import RecordService

COLUMNS: Mapping[str, tuple[str, ...]] = {
    "record": ("记录ID", "Record id", "record_id"),
    "method": ("跟进方式", "Method", "method"),
    "content": ("跟进内容", "Content", "content"),
    "at": ("跟进时间", "Time", "at"),
    "author": ("跟进人", "Author", "author"),
}
"""What a follow-up file holds → the headers that name it."""
IN_CHUNK = 500


@attrs.frozen
class _Note:
    number: int
    key: str
    method: str
    content: str
    at: datetime | None
    author_id: str | None


class FollowUpImporter:
    """One import of follow-ups onto records of one kind (see the module docstring)."""

    def __init__(self, service: RecordService[Any], cells: Cells, methods: list[str],
                 match_on: str | None, record_header: tuple[str, ...], *, batch_size: int,
                 progress: Progress | None) -> None:
        self._service = service
        self._cells = cells
        self._methods = methods
        self._match_on = match_on
        self._headers = {**COLUMNS, "record": record_header}
        self._batch_size = batch_size
        self._progress = progress
        self.tally = Tally()

    def header(self, rows: Iterator[list[Cell]]
               ) -> tuple[int, dict[str, int], Iterator[list[Cell]]]:
        top = list(islice(rows, HEADER_SEARCH))
        names = {text: what for what, texts in self._headers.items() for text in texts}
        for at, row in enumerate(top):
            found = {names[bare(c)]: i for i, c in enumerate(row) if bare(c) in names}
            if {"record", "content"} <= set(found):
                return at + 2, found, chain(top[at + 1:], rows)
        shown = "、".join((self._headers["record"][0], "跟进内容"))
        raise ValidationError.at("$.file", "import.no_header",
                                 f"$.file 找不到表头（至少需要 {shown}）",
                                 "$.file has no header row naming the record and the content")

    def rows(self, op_of: Callable[[], Any], first: int, columns: dict[str, int],
             rows: Iterator[list[Cell]]) -> None:
        for batch in batches(rows, first, lambda n, cells: self._read(n, columns, cells),
                             self._batch_size, self.tally):
            self._land(op_of, batch)

    def _cell(self, cells: list[Cell], columns: dict[str, int], what: str) -> Cell:
        at = columns.get(what)
        cell = cells[at] if at is not None and at < len(cells) else None
        return None if isinstance(cell, str) and not cell.strip() else cell

    def _fail(self, number: int, what: str, code: str, zh: str, en: str) -> None:
        header = self._headers[what][0 if self._cells.language == "zh" else 1]
        self.tally.fail(number, header, code, f"{header}：{zh}", f"{header}: {en}")

    def _read(self, number: int, columns: dict[str, int], cells: list[Cell]) -> _Note | None:
        values: dict[str, Any] = {}
        failed = False
        for what in ("record", "method", "content", "at", "author"):
            cell = self._cell(cells, columns, what)
            if cell is None:
                values[what] = None
                continue
            try:
                if is_formula(cell):
                    raise FieldValueError("import.formula", "是公式，不能导入",
                                          "is a formula and cannot be imported")
                if what == "at":
                    text = raw_value(ValueKind.DATETIME, cell, self._cells.tz)
                    values[what] = _moment(str(text))
                elif what == "author":
                    values[what] = self._cells.names.user_id(str(
                        raw_value(ValueKind.TEXT, cell, self._cells.tz)))
                else:
                    values[what] = str(raw_value(ValueKind.TEXT, cell, self._cells.tz)).strip()
            except FieldValueError as problem:
                self._fail(number, what, problem.code, problem.message_zh, problem.message_en)
                failed = True
        for what, code, zh, en, bad in (
            ("record", "required", "必填", "is required", not values["record"]),
            ("content", "required", "必填", "is required", not values["content"]),
            ("content", "too_long", f"超出最大长度（{CONTENT_MAX}）",
             f"is too long (max {CONTENT_MAX})", len(values["content"] or "") > CONTENT_MAX),
            ("method", "invalid", "不是已配置的跟进方式", "is not a configured method",
             values["method"] is not None and values["method"] not in self._methods),
        ):
            if bad and not failed:
                self._fail(number, what, code, zh, en)
                failed = True
        if failed:
            return None
        return _Note(number, values["record"], values["method"] or self._methods[0],
                     values["content"], values["at"], values["author"])

    def _land(self, op_of: Callable[[], Any], batch: list[_Note]) -> None:
        with op_of() as op:
            found = self._records(op, {n.key for n in batch})
            newest: dict[str, FollowUp] = {}
            for note in batch:
                record = found.get(note.key)
                if record is None:
                    self._fail(note.number, "record", "not_found", "记录不存在",
                               "names no record (or one you cannot see, or several)")
                    continue
                at = note.at or op.now
                if at > op.now + CLOCK_SKEW:
                    self._fail(note.number, "at", "import.in_future", "不能晚于当前时间",
                               "must not lie in the future")
                    continue
                author = self._cells.names.users.get(note.author_id or op.user_id)
                if author is None or not author.active or not self._service._may_act_for(
                        op, author.id):
                    self._fail(note.number, "author", "out_of_scope",
                               "跟进人已停用或不在你的数据范围内",
                               "is disabled or outside your data scope")
                    continue
                followup = FollowUp(op.ids.new_id(), self._service.kind, record.id,
                                    author.id, note.method, note.content, at, op.now)
                op.uow.followups.add(followup)
                self.tally.created += 1
                if record.id not in newest or at >= newest[record.id].at:
                    newest[record.id] = followup
            self._touch(op, {r.id: r for r in found.values()}, newest)
        if self._progress is not None:
            self._progress(self.tally.progress())

    def _records(self, op: Op, keys: set[str]) -> dict[str, Any]:
        """Record key → the one visible record it names (a key naming several: none)."""
        service, fields = self._service, self._service._fields.load(op, self._service.kind)
        field = self._match_on
        found: dict[str, list[Any]] = {}
        ordered = sorted(keys)
        for start in range(0, len(ordered), IN_CHUNK):
            chunk = ordered[start:start + IN_CHUNK]
            request = (ListRequest(scene="all", ids=tuple(chunk)) if field is None else
                       ListRequest(scene="all",
                                   conditions=(ConditionSpec(field, "in", chunk),)))
            query = service._query(op, fields, request)
            if query is None:
                continue
            query = attrs.evolve(query, limit=len(chunk) * 2 + 1)
            definition = fields.get(field) if field is not None else None
            ref = fields.ref(definition) if definition is not None else None
            for record in service._repo(op).query(query):
                key = record.id if ref is None else str(field_value(record, ref))
                found.setdefault(key, []).append(record)
        return {key: records[0] for key, records in found.items() if len(records) == 1}

    def _touch(self, op: Op, records: Mapping[str, Any], newest: Mapping[str, FollowUp]
               ) -> None:
        """Each record's last follow-up moves to its newest imported one, if newer, where the
        importer may edit the record (as :meth:`crm.followups.add
        <crmkit.workflow.followups.FollowUpService.add>` does); a record it may only read keeps
        its fields and its log says a follow-up was imported."""
        kind = self._service.kind
        parents = [records[record_id] for record_id in newest]
        editable = self._service._access.editable_ids(op, kind, parents)
        for parent in parents:
            touch_parent(op, kind, parent, newest[parent.id], editable=parent.id in editable,
                         note=IMPORT_NOTE)

    def result(self, kind: str) -> ImportResult:
        tally = self.tally
        return ImportResult(kind, tally.rows, tally.created, 0, 0, len(tally.failed_rows),
                            tuple(sorted(tally.errors, key=lambda e: e.row)))


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise FieldValueError("format.datetime", "不是有效的时间（例如 2024-05-01 09:30）",
                              "is not a time like 2024-05-01 09:30") from None
    if moment.tzinfo is None:
        raise FieldValueError("format.datetime", "不是有效的时间（例如 2024-05-01 09:30）",
                              "is not a time like 2024-05-01 09:30")
    return moment
