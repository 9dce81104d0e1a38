"""The sheet format contract (:mod:`crmkit.ports.sheets`): a host's own format (or crmkit's CSV
and XLSX) proves itself by subclassing :class:`SheetFormatContract` and implementing
``make_format``."""

from __future__ import annotations

import io
import tracemalloc
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmkit.errors import ValidationError
from crmkit.ports.sheets import Cell, SheetFormat

__all__ = ["SheetFormatContract"]

_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"],
                              exclude_characters="\ufffe\uffff"), max_size=30)
"""Cell text: any printable text (Chinese, quotes, commas, leading =, + …); spreadsheets
hold no control characters (other than line breaks) and no U+FFFE/U+FFFF."""


def _text(cell: Cell) -> str:
    """A read cell as the text that was written (None and "" alike)."""
    return "" if cell is None else str(cell)


class SheetFormatContract:
    """Subclass and implement ``make_format``."""

    def make_format(self) -> SheetFormat:
        raise NotImplementedError

    @pytest.fixture
    def sheet(self) -> SheetFormat:
        return self.make_format()

    def round_trip(self, sheet: SheetFormat, rows: list[list[str]],
                   name: str = "客户") -> list[list[str]]:
        out = io.BytesIO()
        assert sheet.write(out, name, rows) == len(rows)
        read = [[_text(c) for c in row] for row in sheet.read(io.BytesIO(out.getvalue()))]
        width = max((len(r) for r in rows), default=0)
        return [(row + [""] * width)[:width] for row in read if any(row)]

    def test_rows_read_back_as_written(self, sheet: SheetFormat) -> None:
        rows = [["客户名称", "备注", "金额"],
                ["甲公司", '含"引号",逗号\n换行', "12345678901234567.89"],
                ["=cmd|' /C calc'!A0", "+86 138", "-5.00"], ["", "只有备注", ""]]
        assert self.round_trip(sheet, rows) == rows

    # one test method run by every subclass (a format each): the differing executors are meant
    @settings(max_examples=25, deadline=None,
              suppress_health_check=[HealthCheck.differing_executors])
    @given(st.lists(st.lists(_TEXT, min_size=3, max_size=3), min_size=1, max_size=8))
    def test_any_text_reads_back(self, rows: list[list[str]]) -> None:
        sheet = self.make_format()
        rows = [["a", "b", "c"], *rows]
        expected = [[cell.replace("\r\n", "\n").replace("\r", "\n") for cell in row]
                    for row in rows if any(row)]
        read = [[cell.replace("\r\n", "\n").replace("\r", "\n") for cell in row]
                for row in self.round_trip(sheet, rows)]
        assert read == expected

    def test_writing_streams_rows_one_by_one(self, sheet: SheetFormat) -> None:
        produced = 0

        def rows() -> Iterator[list[str]]:
            nonlocal produced
            yield ["编号", "名称"]
            for i in range(20_000):
                produced += 1
                yield [str(i), f"客户{i}"]

        tracemalloc.start()
        try:
            count = sheet.write(io.BytesIO(), "大表", rows())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == 20_001 and produced == 20_000
        assert peak < 16 * 1024 * 1024  # the rows were never all held at once

    def test_garbage_is_refused_with_a_file_error(self, sheet: SheetFormat) -> None:
        garbage = bytes(range(256)) * 4
        with pytest.raises(ValidationError) as refused:
            list(sheet.read(io.BytesIO(garbage)))
        assert refused.value.errors[0].path == "$.file"
        assert refused.value.errors[0].code in {"file.format", "file.encoding"}
