"""What an import or export reports: counts, and the rows an import refused (row, column, why)."""

from __future__ import annotations

import attrs

IO_RECORD = "@io"
"""The operation log's record id of imports and exports (``for_record(kind, IO_RECORD)``)."""
IMPORT_NOTE = "导入 / imported"
"""The note on the log entry of every record an import created or overwrote."""


@attrs.frozen
class RowError:
    """One refused row: its number in the file (as a spreadsheet shows it, the header row
    counted), the header of the column at fault ("" for the row as a whole), why."""

    row: int
    column: str
    code: str
    message_zh: str
    message_en: str


@attrs.frozen
class ImportProgress:
    """Where an import stands, given to its progress callback after each batch."""

    rows: int
    created: int
    updated: int
    skipped: int
    failed: int


@attrs.frozen
class ImportResult:
    """An import's outcome. ``rows`` counts the data rows read (empty rows not counted);
    each is created, updated (overwrite), skipped (a duplicate, with ``skip``) or failed
    (``errors`` says why; nothing of it was written)."""

    kind: str
    rows: int
    created: int
    updated: int
    skipped: int
    failed: int
    errors: tuple[RowError, ...] = ()
    skipped_rows: tuple[int, ...] = ()
    ignored_columns: tuple[str, ...] = ()
    """Headers that name no field an import writes (unknown, or read-only like 创建人)."""


@attrs.frozen
class ExportResult:
    kind: str
    rows: int
