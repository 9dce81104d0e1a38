"""The sheet format port (导入/导出 files): rows of cells written to and read from a file in one
format — CSV, XLSX, or a host's own. crmkit decides what the cells hold
(:mod:`crmkit.policies.cells`); a format only moves them in and out of bytes.

Rules every format keeps (``crmkit.testing.SheetFormatContract`` checks them):
- ``write`` streams: rows are consumed one by one and never all held, so a million rows take
  bounded memory. Cells are text (None or "" for empty). It returns how many rows it wrote.
- ``read`` yields the rows of one sheet as lists of cells (text, or a spreadsheet's typed
  values: int, float, bool, datetime); empty cells are None or "". A file that is not what it
  claims — not this format, an encoding it cannot read (``encoding``: None detects), a
  ``sheet`` it does not have — is refused with ``ValidationError`` at ``$.file``
  (``file.format``, ``file.encoding``, ``file.sheet``), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Protocol, runtime_checkable

Cell = str | int | float | bool | date | None
"""What a read cell holds (a datetime is a date)."""


@runtime_checkable
class ByteSink(Protocol):
    """Where a file is written: anything with ``write(bytes)`` (a file opened ``"wb"``, a
    ``BytesIO``, a web response's body)."""

    def write(self, data: bytes, /) -> object: ...


@runtime_checkable
class ByteSource(Protocol):
    """What a file is read from: anything with ``read(size)`` (a file opened ``"rb"``, a
    ``BytesIO``, an upload's stream)."""

    def read(self, size: int = -1, /) -> bytes: ...


class SheetFormat(Protocol):
    name: str
    """How hosts name the format: ``csv``, ``xlsx`` …"""

    def write(self, out: ByteSink, sheet: str, rows: Iterable[Sequence[str | None]], *,
              choices: Mapping[int, Sequence[str]] | None = None) -> int:
        """Write ``rows`` (the header first) as one sheet called ``sheet`` (where the format
        has sheets) to ``out``; how many rows were written. ``choices``: column position →
        the values a cell under the header may take (an import template's select fields),
        offered as a drop-down where the format has them (XLSX) and ignored elsewhere."""
        ...

    def read(self, source: ByteSource, *, sheet: str | None = None,
             encoding: str | None = None) -> Iterator[list[Cell]]:
        """The rows of ``sheet`` (None: the first) of the file in ``source``."""
        ...
