"""统计分析 Reports (``crm.reports``): per employee, per product, payments, customer
distribution and rankings — tables a manager exports or charts, for a subject and a period
exactly as the dashboard asks (:mod:`crmkit.workflow.dashboard`).

Every report needs the ``dashboard`` module's ``view`` permission and a subject inside the
viewer's dashboard scope (else PermissionDenied ``dashboard.subject_beyond_scope``); exporting
one needs the module's ``export`` permission. Each figure is a
:class:`~crmkit.entities.statistics.Tally` the storage answers with one aggregate statement;
only approved contracts and payments count as money. Every report is one
:class:`~crmkit.entities.reports.Report`: columns, rows, a totals row, and the same figures as
categories + series for a chart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal

from crmkit.entities import Module, Operation
from crmkit.entities.reports import Cell, Report, ReportColumn, Series
from crmkit.entities.statistics import (
    Bucket,
    Granularity,
    GroupBy,
    Measure,
    Period,
    PeriodKind,
    Tally,
    TallyRow,
)
from crmkit.errors import ValidationError
from crmkit.policies.cells import table_text
from crmkit.policies.periods import buckets, granularity_for, window
from crmkit.policies.statistics import ZERO, completion_rate
from crmkit.policies.validation import field_error
from crmkit.ports.sheets import ByteSink, SheetFormat
from crmkit.workflow.dashboard import DashboardService, SubjectArg
from crmkit.workflow.followups import configured_methods
from crmkit.workflow.operations import ActorRef, Op, Runtime

__all__ = ["CUSTOMER_DIMENSIONS", "ReportService"]

CUSTOMER_DIMENSIONS = {"source": GroupBy.SOURCE, "level": GroupBy.LEVEL,
                       "industry": GroupBy.INDUSTRY, "region": GroupBy.REGION}
"""What the customer distribution is by: 客户来源, 客户级别, 客户行业, 地区 (the province the
address starts with)."""

_TOTAL = {"zh": "合计", "en": "Total"}
_LANGUAGES = ("zh", "en")
Number = int | Decimal


def _col(key: str, zh: str, en: str) -> ReportColumn:
    return ReportColumn(key, zh, en)


def _rate(part: Number, whole: Number) -> Decimal | None:
    """part / whole in percent, 2 places; None when whole is 0."""
    return completion_rate(Decimal(part), Decimal(whole))


def _choice(value: str, allowed: Iterable[str], path: str) -> None:
    allowed = list(allowed)
    if value not in allowed:
        raise ValidationError([field_error(path, "choice", f" ({', '.join(allowed)})")])


def _label(span: Bucket, granularity: Granularity, period: Period) -> str:
    first = span.first_day or period.first_day
    last = span.end_day - timedelta(days=1)
    if granularity is Granularity.MONTH:
        return first.strftime("%Y-%m")
    if granularity is Granularity.DAY:
        return first.isoformat()
    return f"{first.isoformat()}~{last.isoformat()}"


def _report(name: str, period: Period, columns: Sequence[ReportColumn],
            rows: Sequence[tuple[Cell, ...]], totals: tuple[Cell, ...],
            keys: Sequence[str | None], chart: Sequence[str] | None = None) -> Report:
    """The report; its chart: one category per row (its first cell), one series per column
    named in ``chart`` (default: every column but the first)."""
    wanted = chart if chart is not None else [c.key for c in columns[1:]]
    series = tuple(
        Series(c.key, c.zh, c.en, tuple(_number(row[i]) for row in rows))
        for i, c in enumerate(columns) if c.key in wanted)
    return Report(name, period, tuple(columns), tuple(rows), totals, tuple(keys),
                  tuple(None if row[0] is None else str(row[0]) for row in rows), series)


def _number(cell: Cell) -> int | Decimal | None:
    return cell if isinstance(cell, int | Decimal) else None


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell)


class ReportService:
    def __init__(self, runtime: Runtime, dashboard: DashboardService,
                 formats: Mapping[str, SheetFormat]) -> None:
        self._rt = runtime
        self._dashboard = dashboard
        self._formats = dict(formats)

    def _tally(self, op: Op, measure: Measure, owners: frozenset[str],
               cut: tuple[Bucket, ...], by: GroupBy = GroupBy.NONE,
               then: GroupBy = GroupBy.NONE, as_of: date | None = None) -> list[TallyRow]:
        return op.uow.statistics.tally(Tally(measure, owners, cut, by, then=then, as_of=as_of))

    # -- per employee ---------------------------------------------------------------------------

    def employees(self, actor: ActorRef, subject: SubjectArg = None,
                  period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
                  end: date | None = None) -> Report:
        """员工业绩分析: per user of the subject — new customers, follow-ups (and per method),
        new leads, those converted and the conversion rate, opportunities won and lost and the
        win rate (won / (won + lost)), approved contracts, their amount and the approved
        payment amount. Leads and opportunities are those created in the period."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.VIEW) as op:
            asked = self._dashboard._ask(op, subject, period, start, end)
            owners, cut = asked.owner_ids, (window(asked.span, self._rt.tz),)
            cells: dict[str, dict[str, Number]] = defaultdict(dict)

            def add(key: str, row: TallyRow, value: Number) -> None:
                assert row.key is not None
                mine = cells[row.key]
                mine[key] = mine.get(key, 0) + value

            for row in self._tally(op, Measure.CUSTOMERS, owners, cut, GroupBy.OWNER):
                add("new_customers", row, row.count)
            methods = configured_methods(self._rt, op)
            for row in self._tally(op, Measure.FOLLOWUPS, owners, cut, GroupBy.OWNER,
                                   GroupBy.METHOD):
                add("followups", row, row.count)
                add(f"followups:{row.key2}", row, row.count)
                if row.key2 not in methods:
                    methods.append(str(row.key2))
            for row in self._tally(op, Measure.LEADS, owners, cut, GroupBy.OWNER,
                                   GroupBy.OUTCOME):
                add("leads", row, row.count)
                if row.key2 == "converted":
                    add("converted_leads", row, row.count)
            for row in self._tally(op, Measure.OPPORTUNITIES, owners, cut, GroupBy.OWNER,
                                   GroupBy.OUTCOME):
                if row.key2 in ("won", "lost"):
                    add(str(row.key2), row, row.count)
            for row in self._tally(op, Measure.CONTRACTS, owners, cut, GroupBy.OWNER):
                add("contracts", row, row.count)
                add("contract_amount", row, row.amount)
            for row in self._tally(op, Measure.PAYMENTS, owners, cut, GroupBy.OWNER):
                add("payment_amount", row, row.amount)

            columns = [
                _col("employee", "员工", "Employee"),
                _col("new_customers", "新增客户", "New customers"),
                _col("followups", "跟进次数", "Follow-ups"),
                *(_col(f"followups:{m}", f"跟进：{m}", f"Follow-ups: {m}") for m in methods),
                _col("leads", "新增线索", "New leads"),
                _col("converted_leads", "已转化线索", "Converted leads"),
                _col("conversion_rate", "线索转化率(%)", "Lead conversion rate (%)"),
                _col("won", "赢单商机", "Opportunities won"),
                _col("lost", "输单商机", "Opportunities lost"),
                _col("win_rate", "赢单率(%)", "Win rate (%)"),
                _col("contracts", "合同数", "Contracts"),
                _col("contract_amount", "合同金额", "Contract amount"),
                _col("payment_amount", "回款金额", "Payment amount"),
            ]
            money = {"contract_amount", "payment_amount"}

            def line(first: Cell, values: Mapping[str, Number]) -> tuple[Cell, ...]:
                found: list[Cell] = [first]
                for column in columns[1:]:
                    if column.key == "conversion_rate":
                        found.append(_rate(values.get("converted_leads", 0),
                                           values.get("leads", 0)))
                    elif column.key == "win_rate":
                        found.append(_rate(values.get("won", 0),
                                           values.get("won", 0) + values.get("lost", 0)))
                    else:
                        found.append(values.get(column.key, ZERO if column.key in money else 0))
                return tuple(found)

            names = op.uow.users.names(owners)
            users = sorted(owners, key=lambda u: (names.get(u, u), u))
            totals: dict[str, Number] = defaultdict(int)
            for values in cells.values():
                for key, value in values.items():
                    totals[key] += value
            for key in money:
                totals[key] = Decimal(totals[key]).quantize(Decimal("0.01"))
            return _report("employees", asked.span, columns,
                           [line(names.get(u, u), cells.get(u, {})) for u in users],
                           line(None, totals), users)

    # -- per product ----------------------------------------------------------------------------

    def products(self, actor: ActorRef, subject: SubjectArg = None,
                 period: PeriodKind | str = PeriodKind.THIS_YEAR, start: date | None = None,
                 end: date | None = None, *, by: str = "product",
                 granularity: Granularity | str | None = None) -> Report:
        """产品销售分析: quantity and amount of each product (``by="category"``: each product
        category; products without one under None) on the approved contracts of the subject
        whose deal day falls in the period, and the amount per day, week or month of it (as
        the trend cuts it). The chart: one series per row over the period's buckets."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.VIEW) as op:
            _choice(by, ("product", "category"), "$.by")
            asked = self._dashboard._ask(op, subject, period, start, end)
            cut_by = Granularity(granularity) if granularity else granularity_for(asked.span)
            cut = buckets(asked.span, cut_by, self._rt.tz)
            sold = self._tally(op, Measure.PRODUCTS, asked.owner_ids, cut, GroupBy.PRODUCT)
            found = {p.id: p for p in op.uow.records("product").get_many(
                sorted({str(r.key) for r in sold}))}
            categories = {c.id: c.name for c in op.uow.categories.list()}

            def group(product_id: str | None) -> str | None:
                if by == "product":
                    return product_id
                product = found.get(product_id or "")
                return None if product is None else product.category_id

            per: dict[str | None, list[Decimal]] = defaultdict(
                lambda: [Decimal(0), ZERO, *([ZERO] * len(cut))])
            for row in sold:
                figures = per[group(row.key)]
                figures[0] += row.quantity
                figures[1] += row.amount
                figures[2 + row.bucket] += row.amount
            labels = [_label(span, cut_by, asked.span) for span in cut]
            columns = [_col("product", "产品", "Product")] if by == "product" else []
            columns += [_col("category", "产品类别", "Category"),
                        _col("quantity", "销售数量", "Quantity"),
                        _col("amount", "销售金额", "Amount"),
                        *(_col(f"b{i}", label, label) for i, label in enumerate(labels))]
            keys = sorted(per, key=lambda k: (-per[k][1], k is None, k or ""))

            def head(key: str | None) -> tuple[Cell, ...]:
                if by == "category":
                    return (categories.get(key or "", key),)
                product = found.get(key or "")
                if product is None:
                    return key, None
                return product.name, categories.get(product.category_id or "",
                                                    product.category_id)

            rows = [(*head(key), *per[key]) for key in keys]
            width = len(columns) - 2 - len(cut)
            totals = (*([None] * width), *(sum((per[k][i] for k in keys),
                                               Decimal(0) if i == 0 else ZERO)
                                           for i in range(2 + len(cut))))
            chart = tuple(Series(str(key), _text(row[0]), _text(row[0]),
                                 tuple(_number(cell) for cell in row[width + 2:]))
                          for key, row in zip(keys, rows, strict=True))
            return Report(f"products_by_{by}", asked.span, tuple(columns), tuple(rows),
                          totals, tuple(keys), tuple(labels), chart)

    # -- payments -------------------------------------------------------------------------------

    def payments(self, actor: ActorRef, subject: SubjectArg = None,
                 period: PeriodKind | str = PeriodKind.THIS_YEAR, start: date | None = None,
                 end: date | None = None, *,
                 granularity: Granularity | str | None = None) -> Report:
        """回款分析: per day, week or month of the period — planned (payment plans of approved
        contracts, by planned date), received (approved payments, by payment date) and overdue
        (of the plans planned then, what is still owed today when their date has passed)."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.VIEW) as op:
            asked = self._dashboard._ask(op, subject, period, start, end)
            cut_by = Granularity(granularity) if granularity else granularity_for(asked.span)
            cut = buckets(asked.span, cut_by, self._rt.tz)
            figures = {
                name: {r.bucket: r.amount for r in self._tally(
                    op, measure, asked.owner_ids, cut,
                    as_of=asked.today if measure is Measure.OVERDUE else None)}
                for name, measure in (("planned", Measure.PLANNED),
                                      ("received", Measure.PAYMENTS),
                                      ("overdue", Measure.OVERDUE))}
            columns = [_col("period", "期间", "Period"), _col("first_day", "开始日期", "From"),
                       _col("last_day", "结束日期", "To"),
                       _col("planned", "计划回款", "Planned"),
                       _col("received", "实际回款", "Received"),
                       _col("overdue", "逾期未回款", "Overdue")]
            rows: list[tuple[Cell, ...]] = [(_label(span, cut_by, asked.span),
                     (span.first_day or asked.span.first_day).isoformat(),
                     (span.end_day - timedelta(days=1)).isoformat(),
                     *(figures[name].get(i, ZERO) for name in ("planned", "received",
                                                               "overdue")))
                    for i, span in enumerate(cut)]
            totals = (None, None, None, *(sum(figures[name].values(), ZERO)
                                          for name in ("planned", "received", "overdue")))
            return _report("payments", asked.span, columns, rows, totals,
                           [str(row[1]) for row in rows], ["planned", "received", "overdue"])

    # -- customers ------------------------------------------------------------------------------

    def customers(self, actor: ActorRef, by: str = "source", subject: SubjectArg = None,
                  period: PeriodKind | str = PeriodKind.THIS_YEAR, start: date | None = None,
                  end: date | None = None) -> Report:
        """客户分析: the subject's customers created in the period by ``by`` —
        :data:`CUSTOMER_DIMENSIONS` (source, level, industry, region) —, each value with its
        count and share (percent); customers without a value under None; most first."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.VIEW) as op:
            _choice(by, CUSTOMER_DIMENSIONS, "$.by")
            asked = self._dashboard._ask(op, subject, period, start, end)
            rows = self._tally(op, Measure.CUSTOMERS, asked.owner_ids,
                               (window(asked.span, self._rt.tz),), CUSTOMER_DIMENSIONS[by])
            total = sum(r.count for r in rows)
            ordered = sorted(rows, key=lambda r: (-r.count, r.key is None, r.key or ""))
            columns = [_col(by, *{"source": ("客户来源", "Source"), "level": ("客户级别", "Level"),
                                  "industry": ("客户行业", "Industry"),
                                  "region": ("地区", "Region")}[by]),
                       _col("customers", "客户数", "Customers"),
                       _col("share", "占比(%)", "Share (%)")]
            return _report(f"customers_by_{by}", asked.span, columns,
                           [(r.key, r.count, _rate(r.count, total)) for r in ordered],
                           (None, total, _rate(total, total)), [r.key for r in ordered],
                           ["customers"])

    # -- rankings -------------------------------------------------------------------------------

    def ranking(self, actor: ActorRef, measure: str, subject: SubjectArg = None,
                period: PeriodKind | str = PeriodKind.THIS_MONTH, start: date | None = None,
                end: date | None = None) -> Report:
        """排行榜 as a report: the dashboard's ranking (:meth:`DashboardService.ranking`) with
        the employees' names; totals: the sum over the subject."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.VIEW) as op:
            span, ranked = self._dashboard._ranked(op, measure, subject, period, start, end)
            names = op.uow.users.names(r.user_id for r in ranked)
            columns = [_col("employee", "员工", "Employee"), _col("place", "名次", "Place"),
                       _col(measure, *_RANKING_LABELS[measure])]
            zero: Number = ZERO if measure.endswith("amount") else 0
            return _report(f"ranking_{measure}", span, columns,
                           [(names.get(r.user_id, r.user_id), r.place, r.value) for r in ranked],
                           (None, None, sum((r.value for r in ranked), zero)),
                           [r.user_id for r in ranked], [measure])

    # -- export ---------------------------------------------------------------------------------

    def export(self, actor: ActorRef, report: Report, out: ByteSink, *, format: str = "csv",
               language: str = "zh") -> int:
        """导出: write ``report`` — header (the columns' labels in ``language``), its rows and
        the totals row (合计 / Total) — to ``out`` through the sheet format named ``format``
        (``csv``, ``xlsx`` with the optional extra); needs the ``dashboard`` module's
        ``export`` permission. Returns the number of rows written (header included)."""
        with self._rt.operation(actor, Module.DASHBOARD, Operation.EXPORT) as op:
            _choice(format, sorted(self._formats), "$.format")
            _choice(language, _LANGUAGES, "$.language")
            lines: list[list[str | None]] = [[table_text(c.label(language))
                                              for c in report.columns]]
            lines += [[table_text(cell) for cell in row] for row in report.rows]
            lines.append([_TOTAL[language], *(table_text(cell) for cell in report.totals[1:])])
            written = self._formats[format].write(out, report.name[:31], lines)
            op.log("report", report.name, "export", note=f"{len(report.rows)} ({format})")
            return written


_RANKING_LABELS: dict[str, tuple[str, str]] = {
    "contract_amount": ("合同金额", "Contract amount"),
    "payment_amount": ("回款金额", "Payment amount"),
    "new_customers": ("新增客户", "New customers"),
    "followups": ("跟进次数", "Follow-ups"),
}
