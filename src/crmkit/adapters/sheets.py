"""Sheet formats (the :class:`~crmkit.ports.SheetFormat` port): CSV from the standard library,
XLSX through openpyxl (the optional extra ``pip install 'crmkit[xlsx]'``, imported only here).

CSV is written as UTF-8 with a byte-order mark, so Excel opens Chinese text correctly. Reading
detects the encoding when none is given: a byte-order mark (UTF-8, UTF-16), else UTF-8, else
GB18030 (which reads GBK and GB2312, what Excel saves as "CSV" on a Chinese Windows); anything
else is refused (``file.encoding``), as is a file that is no text at all (an XLSX handed in as
CSV: ``file.format``). The delimiter (``,``, ``;`` or tab) is the one the first line uses most.

XLSX is written in openpyxl's write-only mode (rows streamed to a temporary file, bounded
memory) and read in read-only mode with formulas as written (``=…``, which crmkit refuses, never
their cached results). Characters XML cannot hold (control characters other than tab and line
breaks, U+FFFE, U+FFFF) are dropped on writing, and XML reads a line break as LF (CR LF and
CR included); a text starting with ``=`` stays text.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from crmkit.errors import CrmError, ValidationError
from crmkit.ports.sheets import ByteSink, ByteSource, Cell, SheetFormat

__all__ = ["CsvFormat", "XlsxFormat", "sheet_formats"]

XLSX_EXTRA_HINT = "pip install 'crmkit[xlsx]'"
_SAMPLE = 64 * 1024
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
"""What an XLSX (XML) cannot hold."""
_SHEET_TITLE_BAD = str.maketrans({c: "_" for c in "[]:*?/\\"})


def _refused(code: str, zh: str, en: str) -> ValidationError:
    return ValidationError.at("$.file", code, f"$.file {zh}", f"$.file {en}")


def _not_text() -> ValidationError:
    return _refused("file.format", "不是 CSV 文本文件（是否为 XLSX？请按 XLSX 导入）",
                    "is not a CSV text file (an XLSX? import it as xlsx)")


def _bad_encoding() -> ValidationError:
    return _refused("file.encoding", "无法识别编码：请另存为 UTF-8（或 GBK）编码的 CSV",
                    "has an encoding that cannot be read: save it as UTF-8 (or GBK) CSV")


def _decodes(sample: bytes, encoding: str, complete: bool) -> bool:
    """Whether ``sample`` is text in ``encoding`` (a character cut at its end is allowed
    unless the sample is the whole file)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        decoder.decode(sample, final=complete)
    except (UnicodeDecodeError, LookupError):
        return False
    return True


def detect_encoding(sample: bytes, complete: bool) -> str:
    """The encoding of a CSV file starting with ``sample`` (see the module docstring)."""
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if sample.startswith(b"PK\x03\x04") or b"\x00" in sample:
        raise _not_text()
    for encoding in ("utf-8", "gb18030"):
        if _decodes(sample, encoding, complete):
            return encoding
    raise _bad_encoding()


class _Prefixed(io.RawIOBase):
    """The bytes already read (``head``) followed by the rest of ``source``."""

    def __init__(self, head: bytes, source: ByteSource) -> None:
        self._head = memoryview(head)
        self._source = source

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._source.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


class CsvFormat:
    """CSV: UTF-8 with BOM written; UTF-8/UTF-16/GBK read (see the module docstring)."""

    name = "csv"

    def write(self, out: ByteSink, sheet: str, rows: Iterable[Sequence[str | None]], *,
              choices: Mapping[int, Sequence[str]] | None = None) -> int:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        out.write(codecs.BOM_UTF8)
        count = 0
        for row in rows:
            writer.writerow(["" if cell is None else cell for cell in row])
            count += 1
            if buffer.tell() > _SAMPLE:
                out.write(buffer.getvalue().encode("utf-8"))
                buffer.seek(0)
                buffer.truncate()
        out.write(buffer.getvalue().encode("utf-8"))
        return count

    def read(self, source: ByteSource, *, sheet: str | None = None,
             encoding: str | None = None) -> Iterator[list[Cell]]:
        head = source.read(_SAMPLE)
        complete = len(head) < _SAMPLE
        if encoding is None:
            encoding = detect_encoding(head, complete)
        else:
            try:
                codecs.lookup(encoding)
            except LookupError:
                raise ValidationError.at("$.encoding", "invalid", "$.encoding 不是已知的编码",
                                         "$.encoding is not a known encoding") from None
        return self._rows(head, source, encoding)

    @staticmethod
    def _rows(head: bytes, source: ByteSource, encoding: str) -> Iterator[list[Cell]]:
        first_line = head[:4096].decode(encoding, "ignore").split("\n", 1)[0]
        delimiter = max(",;\t", key=first_line.count)  # the header's separator; "," on a tie
        stream = io.BufferedReader(_Prefixed(head, source))
        text = io.TextIOWrapper(stream, encoding=encoding, newline="")
        try:
            yield from csv.reader(text, delimiter=delimiter)
        except UnicodeDecodeError:
            raise _bad_encoding() from None
        except csv.Error as bad:
            raise _refused("file.format", f"CSV 格式错误（{bad}）",
                           f"is not well-formed CSV ({bad})") from None


_OPTIONS_SHEET = "options"
"""The hidden sheet that lists long option lists of a template's drop-downs."""
_INLINE_LIST_MAX = 255
"""Excel's limit on an inline list validation (its options joined by commas)."""
_LAST_ROW = 1048576


def _cells(page: Any, row: Sequence[str | None]) -> list[Any]:
    """A row for a write-only sheet: empty cells None, text never a formula."""
    from openpyxl.cell import WriteOnlyCell

    cells: list[Any] = []
    for value in row:
        if not value:
            cells.append(None)
            continue
        value = _XML_BAD.sub("", value)
        if value.startswith("="):  # text, never a formula
            cell = WriteOnlyCell(page, value=value)
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    return cells


def _openpyxl() -> Any:
    try:
        import openpyxl
    except ImportError:  # pragma: no cover - depends on the installation
        raise CrmError("sheet.extra_missing",
                       f"读写 XLSX 需要 openpyxl：{XLSX_EXTRA_HINT}",
                       f"XLSX needs openpyxl: {XLSX_EXTRA_HINT}") from None
    return openpyxl


class XlsxFormat:
    """XLSX through openpyxl, streamed both ways (see the module docstring)."""

    name = "xlsx"

    def write(self, out: ByteSink, sheet: str, rows: Iterable[Sequence[str | None]], *,
              choices: Mapping[int, Sequence[str]] | None = None) -> int:
        openpyxl = _openpyxl()

        book = openpyxl.Workbook(write_only=True)
        title = sheet.translate(_SHEET_TITLE_BAD)[:31] or "Sheet1"
        page = book.create_sheet(title=title)
        if choices:
            self._drop_downs(book, page, title, choices)
        count = 0
        for row in rows:
            page.append(_cells(page, row))
            count += 1
        book.save(out)
        return count

    @staticmethod
    def _drop_downs(book: Any, page: Any, title: str,
                    choices: Mapping[int, Sequence[str]]) -> None:
        """A list validation (drop-down) under each chosen column's header: the options
        inline when they fit Excel's 255 characters (and hold no comma or quote), else a
        range of a hidden sheet that lists them, one column per field."""
        from openpyxl.utils import get_column_letter
        from openpyxl.worksheet.datavalidation import DataValidation

        hidden: list[list[str]] = []
        for position, options in sorted(choices.items()):
            shown = [_XML_BAD.sub("", o) for o in options if o]
            if not shown:
                continue
            inline = ",".join(shown)
            if len(inline) <= _INLINE_LIST_MAX and not any("," in o or '"' in o for o in shown):
                formula = f'"{inline}"'
            else:
                hidden.append(shown)
                letter = get_column_letter(len(hidden))
                formula = f"'{_OPTIONS_SHEET}'!${letter}$1:${letter}${len(shown)}"
            letter = get_column_letter(position + 1)
            validation = DataValidation(type="list", formula1=formula, allow_blank=True,
                                        showErrorMessage=True)
            validation.add(f"{letter}2:{letter}{_LAST_ROW}")
            page.data_validations.append(validation)
        if hidden:
            lists = book.create_sheet(title=_OPTIONS_SHEET if title != _OPTIONS_SHEET
                                      else f"{_OPTIONS_SHEET}_")
            lists.sheet_state = "hidden"
            for i in range(max(len(column) for column in hidden)):
                lists.append(_cells(lists, [c[i] if i < len(c) else None for c in hidden]))

    def read(self, source: ByteSource, *, sheet: str | None = None,
             encoding: str | None = None) -> Iterator[list[Cell]]:
        openpyxl = _openpyxl()
        if not hasattr(source, "seek"):  # a zip needs random access
            source = io.BytesIO(source.read())
        try:
            book = openpyxl.load_workbook(source, read_only=True, data_only=False)
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, TypeError):
            raise _refused("file.format", "不是有效的 XLSX 文件",
                           "is not a valid XLSX file") from None
        except Exception as bad:  # openpyxl's own InvalidFileException and parse errors
            raise _refused("file.format", f"不是有效的 XLSX 文件（{type(bad).__name__}）",
                           f"is not a valid XLSX file ({type(bad).__name__})") from None
        names = list(book.sheetnames)
        if sheet is not None and sheet not in names:
            book.close()
            shown = "、".join(names)
            raise ValidationError.at("$.sheet", "file.sheet",
                                     f"$.sheet 工作表“{sheet}”不存在（现有：{shown}）",
                                     f"$.sheet {sheet!r} is not in the file (it has: "
                                     f"{', '.join(names)})")
        page = book[sheet] if sheet is not None else book.worksheets[0]
        return self._rows(book, page)

    @staticmethod
    def _rows(book: Any, page: Any) -> Iterator[list[Cell]]:
        try:
            if hasattr(page, "reset_dimensions"):
                page.reset_dimensions()  # some writers record no (or a wrong) used range
            for row in page.iter_rows(values_only=True):
                yield list(row)
        finally:
            book.close()


def sheet_formats() -> dict[str, SheetFormat]:
    """crmkit's formats by name (XLSX needs the ``xlsx`` extra only when used)."""
    return {"csv": CsvFormat(), "xlsx": XlsxFormat()}
