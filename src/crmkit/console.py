"""What the command line shows on a terminal: tables aligned by display width and progress.

A terminal draws an East Asian wide or full-width character (汉字, full-width punctuation) in
two columns and a combining mark in none, so a table padded by ``len`` misaligns as soon as a
name is Chinese; :func:`display_width` counts columns as ``unicodedata.east_asian_width`` says
(ambiguous characters count one, as most terminals outside CJK locales draw them).
:func:`render_table` is the one table renderer of every command and of the demo.

:class:`Progress` reports long work (import, export, sweep): a bar redrawn in place on a
terminal, plain lines when the stream is piped or redirected (a log file or cron mail gets one
line per step, no carriage returns).
"""

from __future__ import annotations

import sys
import unicodedata
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TextIO

__all__ = ["Progress", "display_width", "fit", "number", "percent", "render_table"]

_WIDE = frozenset({"W", "F"})


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: wide/full-width characters 2, combining marks and
    zero-width format characters 0, everything else 1."""
    width = 0
    for char in text:
        if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
            continue
        width += 2 if unicodedata.east_asian_width(char) in _WIDE else 1
    return width


def fit(text: str, width: int) -> str:
    """``text`` cut to at most ``width`` columns (an ellipsis ``~`` marks the cut): a wide
    character that would straddle the edge is dropped whole."""
    if display_width(text) <= width:
        return text
    kept, used = [], 0
    for char in text:
        step = display_width(char)
        if used + step > width - 1:
            break
        kept.append(char)
        used += step
    return "".join(kept) + "~"


def number(value: Decimal | int | float | None) -> str:
    """A figure as a table shows it: thousands separated, money with its two places."""
    if value is None:
        return "-"
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    return f"{value:,}"


def percent(value: Decimal | None) -> str:
    """A rate in percent without trailing zeros (``10%``, ``36.65%``); None is ``-``."""
    if value is None:
        return "-"
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return f"{text}%"


def _cell(value: object) -> str:
    if isinstance(value, Decimal | int | float) and not isinstance(value, bool):
        return number(value)
    return "" if value is None else str(value)


def _numeric(value: object) -> bool:
    return isinstance(value, Decimal | int | float) and not isinstance(value, bool)


def render_table(headers: Sequence[str], rows: Iterable[Sequence[object]], *,
                 align: str | None = None, max_width: int = 40, indent: str = "") -> str:
    """A plain-text table: a header line, a rule of ``-`` and one line per row, columns two
    spaces apart and padded by display width. ``align`` gives ``l``/``r`` per column; by
    default a column of numbers is right-aligned and any other left-aligned. Numbers are shown
    with :func:`number`; a cell wider than ``max_width`` columns is cut (:func:`fit`)."""
    raw = [list(row) for row in rows]
    for row in raw:
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} headers: {row!r}")
    if align is None:
        align = "".join(
            "r" if raw and all(_numeric(r[i]) or r[i] is None for r in raw)
            and any(_numeric(r[i]) for r in raw) else "l"
            for i in range(len(headers)))
    if len(align) != len(headers) or set(align) - {"l", "r"}:
        raise ValueError(f"align {align!r} needs one l or r per column ({len(headers)})")
    cells = [[fit(h, max_width) for h in headers]]
    cells += [[fit(_cell(value), max_width) for value in row] for row in raw]
    widths = [max(display_width(line[i]) for line in cells) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = []
        for text, width, side in zip(values, widths, align, strict=True):
            gap = " " * (width - display_width(text))
            parts.append(gap + text if side == "r" else text + gap)
        return (indent + "  ".join(parts)).rstrip()

    out = [line(cells[0]), line(["-" * w for w in widths])]
    out += [line(values) for values in cells[1:]]
    return "\n".join(out)


class Progress:
    """Progress of long work on ``stream`` (stderr by default). On a terminal: one bar redrawn
    in place (``导出 export [#######.......] 3,000/7,000 42%``); elsewhere: plain lines, one
    per tenth of a known ``total`` (and the last), or one per :meth:`update` when the total is
    unknown (None)."""

    BAR = 28

    def __init__(self, label: str, total: int | None = None, *, unit: str = "rows",
                 stream: TextIO | None = None, tty: bool | None = None) -> None:
        self.label = label
        self.total = total
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        isatty = getattr(self.stream, "isatty", None)
        self.tty = tty if tty is not None else bool(isatty and isatty())
        self.done = 0
        self._tenth = -1
        self._drawn = False
        self._width = 0

    def _text(self, note: str) -> str:
        counted = number(self.done)
        if self.total:
            share = min(self.done / self.total, 1.0)
            counted = f"{counted}/{number(self.total)} {self.unit} {share:4.0%}"
            if self.tty:
                filled = round(share * self.BAR)
                counted = f"[{'#' * filled}{'.' * (self.BAR - filled)}] {counted}"
        else:
            counted = f"{counted} {self.unit}"
        return f"{self.label}: {counted}" + (f" — {note}" if note else "")

    def update(self, done: int, note: str = "") -> None:
        """The work has reached ``done`` units."""
        self.done = done
        text = self._text(note)
        if self.tty:
            pad = " " * max(0, self._width - display_width(text)) if self._drawn else ""
            self.stream.write("\r" + text + pad)
            self._width = display_width(text)
            self._drawn = True
        else:
            if self.total:
                tenth = min(done * 10 // self.total, 10)
                if tenth == self._tenth and done < self.total:
                    return
                self._tenth = tenth
            self.stream.write(text + "\n")
        self.stream.flush()

    def finish(self, note: str = "") -> None:
        """The work is done: the bar's last state stays on its own line."""
        if self.tty:
            self.update(self.done, note)
            self.stream.write("\n")
            self.stream.flush()
        elif note:
            self.stream.write(f"{self.label}: {note}\n")
            self.stream.flush()
