"""The terminal helpers every command uses: tables padded by display width (a Chinese
character takes two columns), and progress as a bar on a terminal or plain lines when piped."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crmkit.console import Progress, display_width, fit, number, percent, render_table


@pytest.mark.parametrize(("text", "width"), [
    ("", 0), ("abc", 3), ("张三", 4), ("李经理 Li", 9), ("，。", 4),  # full-width punctuation
    ("ＡＢ", 4), ("ｶﾀ", 2),  # full-width Latin is wide, half-width katakana narrow
    ("e\u0301", 1), ("a\u200db", 2),  # a combining accent and a zero-width joiner take none
])
def test_display_width_counts_terminal_columns(text: str, width: int) -> None:
    assert display_width(text) == width


def test_a_table_of_chinese_names_lines_up_by_display_width() -> None:
    table = render_table(("姓名 name", "部门", "金额 amount"), [
        ("张三", "销售一组", Decimal("51300")), ("Amy", "Sales", Decimal("1234567.5")),
        ("欧阳娜娜", "大客户组", 7)])
    assert table.splitlines() == [
        "姓名 name  部门       金额 amount",
        "---------  --------  ------------",
        "张三       销售一组     51,300.00",   # 张三 is 4 columns wide: 5 spaces follow it
        "Amy        Sales     1,234,567.50",
        "欧阳娜娜   大客户组             7",
    ]
    # text columns start, number columns end, at the same display column on every line
    assert {display_width(line) for line in table.splitlines()} == {33}


def test_alignment_can_be_chosen_and_a_long_cell_is_cut_by_columns() -> None:
    table = render_table(("aaa", "b"), [("x", "名" * 30)], align="rl", max_width=9)
    assert table.splitlines()[2] == "  x  名名名名~"   # 9 columns: 4 wide characters and ~
    with pytest.raises(ValueError, match="needs one l or r per column"):
        render_table(("a", "b"), [("x", "y")], align="l")
    with pytest.raises(ValueError, match="1 cells for 2 headers"):
        render_table(("a", "b"), [("x",)])


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), max_size=30),
       st.integers(min_value=2, max_value=20))
def test_fit_never_exceeds_the_width_and_keeps_a_prefix(text: str, width: int) -> None:
    cut = fit(text, width)
    assert display_width(cut) <= width
    assert cut == text or (cut.endswith("~") and text.startswith(cut[:-1]))


@given(st.lists(st.text(alphabet="张三李四ab1 ", max_size=8), min_size=1, max_size=6))
def test_every_line_of_a_table_has_the_same_display_width(names: list[str]) -> None:
    table = render_table(("名字", "n"), [(name.strip() or "-", i) for i, name in enumerate(names)])
    widths = {display_width(line) for line in table.splitlines()}
    # lines end where their last cell ends; the numbers column is last and right-aligned
    assert len(widths) == 1


def test_numbers_and_rates_as_tables_show_them() -> None:
    assert (number(Decimal("1234.5")), number(12000), number(None)) == ("1,234.50", "12,000", "-")
    assert [percent(Decimal(v)) for v in ("10.00", "100", "36.65", "-10.5")] == [
        "10%", "100%", "36.65%", "-10.5%"]
    assert percent(None) == "-"


def test_progress_on_a_terminal_is_one_bar_redrawn_in_place() -> None:
    out = io.StringIO()
    bar = Progress("导出 export", 4000, stream=out, tty=True)
    for done in (1000, 2000, 3000, 4000):
        bar.update(done)
    bar.finish()
    text = out.getvalue()
    assert text.count("\r") == 5 and text.endswith("\n") and text.count("\n") == 1
    assert "\r导出 export: [#######.....................] 1,000/4,000 rows  25%" in text
    assert "[############################] 4,000/4,000 rows 100%" in text


def test_progress_when_piped_is_plain_lines_one_per_tenth() -> None:
    out = io.StringIO()
    bar = Progress("模拟 simulating", 92, unit="days", stream=out, tty=False)
    for day in range(1, 93):
        bar.update(day)
    bar.finish()
    lines = out.getvalue().splitlines()
    assert "\r" not in out.getvalue() and "#" not in out.getvalue()
    assert len(lines) == 11  # 0 %, 10 % … 90 % (the first update of each tenth), and 100 %
    assert lines[-1] == "模拟 simulating: 92/92 days 100%"


def test_progress_without_a_total_counts() -> None:
    out = io.StringIO()
    bar = Progress("导入 import", stream=out, tty=False)
    bar.update(1000, "1000 created")
    bar.finish("done")
    assert out.getvalue().splitlines() == ["导入 import: 1,000 rows — 1000 created",
                                           "导入 import: done"]

