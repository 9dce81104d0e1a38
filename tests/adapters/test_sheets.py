"""crmkit's sheet formats (CSV, XLSX) pass the sheet format contract, and read the files people
really have: GBK CSV from a Chinese Excel, semicolon CSV, XLSX with Chinese sheet names, title
rows and merged header cells — or refuse them with a clear message."""

from __future__ import annotations

import io

import openpyxl
import pytest

from crmkit.adapters.sheets import CsvFormat, XlsxFormat
from crmkit.errors import ValidationError
from crmkit.ports.sheets import SheetFormat
from crmkit.testing import SheetFormatContract


class TestCsvFormat(SheetFormatContract):
    def make_format(self) -> SheetFormat:
        return CsvFormat()


class TestXlsxFormat(SheetFormatContract):
    def make_format(self) -> SheetFormat:
        return XlsxFormat()


def read(format_: SheetFormat, data: bytes, **options: str) -> list[list[object]]:
    return [list(row) for row in format_.read(io.BytesIO(data), **options)]


def test_csv_is_written_as_utf8_with_a_byte_order_mark_so_excel_reads_chinese() -> None:
    out = io.BytesIO()
    CsvFormat().write(out, "客户", [["客户名称"], ["甲公司"]])
    assert out.getvalue() == "\ufeff客户名称\r\n甲公司\r\n".encode()


def test_a_gbk_csv_from_a_chinese_excel_is_detected_and_read() -> None:
    data = "客户名称,客户级别\r\n华为技术有限公司,A\r\n".encode("gbk")
    assert read(CsvFormat(), data) == [["客户名称", "客户级别"], ["华为技术有限公司", "A"]]


def test_a_csv_whose_encoding_cannot_be_read_is_refused_clearly() -> None:
    data = "客户名称\n".encode() + b"\xff\xfe\xfa\x80\x81" * 10
    with pytest.raises(ValidationError) as refused:
        read(CsvFormat(), data)
    error = refused.value.errors[0]
    assert (error.path, error.code) == ("$.file", "file.encoding")
    assert "UTF-8" in error.message_zh and "GBK" in error.message_en


def test_a_bad_encoding_past_the_first_64_kib_is_refused_too() -> None:
    data = ("名称\n" + "甲公司\n" * 20000).encode() + b"\xff\xfe\n"
    with pytest.raises(ValidationError) as refused:
        read(CsvFormat(), data)
    assert refused.value.errors[0].code == "file.encoding"


def test_an_explicit_encoding_is_used_and_an_unknown_one_refused() -> None:
    assert read(CsvFormat(), "名稱\n甲\n".encode("big5"), encoding="big5") == [["名稱"], ["甲"]]
    with pytest.raises(ValidationError) as refused:
        read(CsvFormat(), b"a\n", encoding="klingon")
    assert refused.value.errors[0].path == "$.encoding"


def test_semicolon_and_tab_separated_files_are_read() -> None:
    assert read(CsvFormat(), "名称;级别\n甲;A\n".encode()) == [["名称", "级别"], ["甲", "A"]]
    assert read(CsvFormat(), "名称\t级别\n甲\tA\n".encode()) == [["名称", "级别"], ["甲", "A"]]


def test_an_xlsx_handed_in_as_csv_is_refused_as_the_wrong_format() -> None:
    out = io.BytesIO()
    XlsxFormat().write(out, "客户", [["客户名称"]])
    with pytest.raises(ValidationError) as refused:
        read(CsvFormat(), out.getvalue())
    assert refused.value.errors[0].code == "file.format"


def test_a_csv_handed_in_as_xlsx_is_refused_as_the_wrong_format() -> None:
    with pytest.raises(ValidationError) as refused:
        read(XlsxFormat(), "客户名称\n甲公司\n".encode())
    assert (refused.value.errors[0].path, refused.value.errors[0].code) == (
        "$.file", "file.format")


def workbook() -> bytes:
    """An XLSX as people make them: Chinese sheet names, a merged title row, merged group
    headers above the real header, typed cells (numbers, dates, a formula)."""
    book = openpyxl.Workbook()
    first = book.active
    assert first is not None
    first.title = "说明"
    first["A1"] = "请在“客户清单”中填写"
    page = book.create_sheet("客户清单")
    page["A1"] = "2026 年客户清单"
    page.merge_cells("A1:D1")
    page["A2"] = "基本信息"
    page.merge_cells("A2:B2")
    page["C2"] = "联系方式"
    page.merge_cells("C2:D2")
    page.append(["客户名称", "客户级别", "手机", "下次联系时间"])
    page.append(["华为", "A", 13800000000, None])
    page.append(["=HYPERLINK(\"x\")", "B", None, None])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_an_xlsx_sheet_is_chosen_by_its_chinese_name_and_read_with_its_merged_rows() -> None:
    rows = read(XlsxFormat(), workbook(), sheet="客户清单")
    assert rows[0][0] == "2026 年客户清单" and rows[0][1:] in ([None] * 3, [])
    assert rows[1][:3] == ["基本信息", None, "联系方式"]
    assert rows[2] == ["客户名称", "客户级别", "手机", "下次联系时间"]
    assert rows[3][:3] == ["华为", "A", 13800000000]
    assert rows[4][0] == '=HYPERLINK("x")'  # the formula as written, never its result


def test_the_first_sheet_is_read_by_default_and_a_missing_sheet_is_named() -> None:
    assert read(XlsxFormat(), workbook())[0][0] == "请在“客户清单”中填写"
    with pytest.raises(ValidationError) as refused:
        read(XlsxFormat(), workbook(), sheet="Sheet1")
    error = refused.value.errors[0]
    assert (error.path, error.code) == ("$.sheet", "file.sheet")
    assert "客户清单" in error.message_zh and "说明" in error.message_en


def test_text_starting_with_equals_is_written_to_xlsx_as_text_not_as_a_formula() -> None:
    out = io.BytesIO()
    XlsxFormat().write(out, "客户", [["名称"], ["=1+1"]])
    book = openpyxl.load_workbook(io.BytesIO(out.getvalue()))
    cell = book.worksheets[0]["A2"]
    assert (cell.value, cell.data_type) == ("=1+1", "s")
