"""统计分析 reports as values: one table (columns, rows, totals) with a chart-friendly shape.

A :class:`Report` is what a host renders as a table, exports (CSV/XLSX) or charts: its
``columns`` carry a stable key and a Chinese and English label, each row holds one cell per
column (the first names the row: an employee, a product, a period, a value), ``totals`` is the
totals row (its first cell None: 合计), and ``categories`` + ``series`` are the same figures for
a chart — one category per point on the x axis, one series per line or bar.
"""

from __future__ import annotations

from decimal import Decimal

import attrs

from crmkit.entities.statistics import Period

__all__ = ["Cell", "Report", "ReportColumn", "Series"]

Cell = str | int | Decimal | None
"""A table cell: a label, a count, an amount or a rate (percent; None when undefined)."""


@attrs.frozen
class ReportColumn:
    key: str
    zh: str
    en: str

    def label(self, language: str) -> str:
        return self.zh if language == "zh" else self.en


@attrs.frozen
class Series:
    """One line or bar of a chart: a column's values over the report's categories."""

    key: str
    zh: str
    en: str
    values: tuple[int | Decimal | None, ...]


@attrs.frozen
class Report:
    """One report of a subject over a period (see the module docstring); ``keys`` are the ids
    behind the rows (user, product or category id, a bucket's first day, a field value)."""

    name: str
    period: Period
    columns: tuple[ReportColumn, ...]
    rows: tuple[tuple[Cell, ...], ...]
    totals: tuple[Cell, ...]
    keys: tuple[str | None, ...]
    categories: tuple[str | None, ...]
    series: tuple[Series, ...]

    def column(self, key: str) -> list[Cell]:
        """The cells of one column, row by row."""
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]

    def total(self, key: str) -> Cell:
        return self.totals[[c.key for c in self.columns].index(key)]
