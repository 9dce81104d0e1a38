"""The dashboard as one static HTML page (``crmkit demo --html report.html``).

Everything is inline — CSS in a ``<style>`` element, charts as ``<svg>`` — with no script, no
font, image or stylesheet from the network, so the file opens from a disk or a mail in any
browser. Charts: the 销售漏斗 per stage group (bars narrowing stage by stage), the 销售趋势
(contract and payment amounts per bucket as bars, the contract target as a line) and the
rankings (horizontal bars). Each chart has a ``<title>`` (what screen readers announce) and
every bar carries its figure in ``data-value`` and as visible text: the page states exactly
the numbers ``crm.dashboard`` returned (the tests compare them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from html import escape

from crmkit.console import number, percent
from crmkit.demo.report import (
    FIGURE_LABELS,
    MEASURE_LABELS,
    RANKING_LABELS,
    AuditTrail,
    Dashboard,
)
from crmkit.entities.statistics import Funnel, Trend

__all__ = ["render_page"]

STYLE = """
body { font-family: "PingFang SC", "Microsoft YaHei", "Noto Sans CJK SC", sans-serif;
       margin: 2em auto; max-width: 60em; color: #1f2933; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccd; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { padding: .25em .8em; border-bottom: 1px solid #e4e7eb; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { display: block; margin: .5em 0 1.5em; }
svg text { font-size: 12px; fill: #1f2933; }
.bar-contract { fill: #3b82f6; } .bar-payment { fill: #10b981; } .bar-rank { fill: #6366f1; }
.bar-stage { fill: #f59e0b; } .bar-won { fill: #10b981; } .bar-lost { fill: #9ca3af; }
.target { stroke: #dc2626; stroke-width: 2; fill: none; stroke-dasharray: 6 3; }
.axis { stroke: #9aa5b1; }
"""


def _attrs(values: Mapping[str, object]) -> str:
    return "".join(f' {key}="{escape(str(value))}"' for key, value in values.items())


def _text(x: float, y: float, content: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(content)}</text>'


def _bar(css: str, x: float, y: float, width: float, height: float, label: str,
         value: Decimal | int) -> str:
    shape = {"class": css, "x": f"{x:.1f}", "y": f"{y:.1f}", "width": f"{max(width, 0.0):.1f}",
             "height": f"{max(height, 0.0):.1f}", "data-label": label, "data-value": value}
    return (f"<rect{_attrs(shape)}><title>{escape(label)}: {escape(number(value))}</title>"
            "</rect>")


def _svg(title: str, width: int, height: int, body: Iterable[str]) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
            f'height="{height}" viewBox="0 0 {width} {height}"><title>{escape(title)}</title>'
            + "".join(body) + "</svg>")


def funnel_chart(name: str, funnel: Funnel) -> str:
    """Bars centred on one axis, as wide as each stage's share of the opportunities."""
    lines = (*funnel.stages, funnel.won, funnel.lost)
    most = max((line.count for line in lines), default=0) or 1
    width, row, middle, half = 640, 30, 380, 150
    body = []
    for i, line in enumerate(lines):
        y = 10 + i * row
        span = 2 * half * line.count / most
        css = {"赢单": "bar-won", "输单": "bar-lost"}.get(line.name, "bar-stage")
        body.append(_bar(css, middle - span / 2, y, span, row - 8, line.name, line.count))
        body.append(_text(10, y + 16, f"{line.name} ({percent(line.win_rate)})"))
        body.append(_text(middle + half + 20, y + 16,
                          f"{number(line.count)} · {number(line.amount)}"))
    return _svg(f"销售漏斗 funnel: {name}", width, 20 + len(lines) * row, body)


def trend_chart(trend: Trend) -> str:
    """Per bucket: the contract amount and the payment amount as bars, the contract target as
    a dashed line through the buckets."""
    points = trend.points
    top = max([p.contract_amount for p in points] + [p.payment_amount for p in points]
              + [p.contract_target for p in points] + [Decimal(1)])
    width, height, left, bottom = 720, 300, 70, 250
    step = (width - left - 10) / max(len(points), 1)

    def y(value: Decimal) -> float:
        return bottom - float(value / top) * (bottom - 20)

    body = [f'<line class="axis" x1="{left}" y1="{bottom}" x2="{width - 10}" y2="{bottom}"/>',
            _text(left - 6, 24, number(top), "end"), _text(left - 6, bottom, "0", "end")]
    targets = []
    for i, p in enumerate(points):
        x = left + i * step
        bar = step * 0.35
        label = f"{p.first_day:%m-%d}"
        body.append(_bar("bar-contract", x + step * 0.12, y(p.contract_amount), bar,
                         bottom - y(p.contract_amount), f"合同 {label}", p.contract_amount))
        body.append(_bar("bar-payment", x + step * 0.12 + bar, y(p.payment_amount), bar,
                         bottom - y(p.payment_amount), f"回款 {label}", p.payment_amount))
        body.append(_text(x + step / 2, bottom + 16, label, "middle"))
        targets.append(f"{x + step / 2:.1f},{y(p.contract_target):.1f}")
    body.append(f'<polyline class="target" points="{" ".join(targets)}"><title>合同目标 '
                f'contract target</title></polyline>')
    legend = bottom + 32

    def key(css: str, x: int, label: str) -> list[str]:
        return [f'<rect class="legend {css}" x="{x}" y="{legend}" width="12" height="10"/>',
                _text(x + 16, legend + 10, label)]

    body += [*key("bar-contract", left, "合同 contracts"),
             *key("bar-payment", left + 130, "回款 payments"),
             f'<line class="target" x1="{left + 260}" y1="{legend + 5}" x2="{left + 284}" '
             f'y2="{legend + 5}"/>', _text(left + 290, legend + 10, "合同目标 contract target")]
    return _svg(f"销售趋势 trend per {trend.granularity.value}: contracts and payments "
                "against the contract target", width, height + 10, body)


def ranking_chart(measure: str, ranked: Sequence[tuple[int, str, Decimal | int]]) -> str:
    most = max((value for _, _, value in ranked), default=Decimal(0)) or Decimal(1)
    width, row, left, span = 640, 26, 110, 380
    body = []
    for i, (place, name, value) in enumerate(ranked):
        y = 8 + i * row
        body.append(_text(10, y + 14, f"{place}. {name}"))
        body.append(_bar("bar-rank", left, y, span * float(Decimal(value) / Decimal(most)),
                         row - 8, name, value))
        body.append(_text(left + span + 10, y + 14, number(value)))
    return _svg(f"排行 ranking: {RANKING_LABELS[measure]}", width, 16 + len(ranked) * row,
                body)


def _table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for value in row:
            if isinstance(value, Decimal | int) and not isinstance(value, bool):
                cells.append(f'<td class="num">{escape(number(value))}</td>')
            else:
                cells.append(f"<td>{escape('' if value is None else str(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_page(company_name: str, dashboard: Dashboard, trails: Sequence[AuditTrail] = ()
                ) -> str:
    """The whole page as text (UTF-8 when written)."""
    period = dashboard.brief.period
    heading = (f"{company_name} 仪表盘 dashboard: {dashboard.viewer} views {dashboard.subject}, "
               f"{period.first_day} – {period.last_day}")
    parts = [f"<h1>{escape(heading)}</h1>", "<h2>销售简报 sales brief</h2>", _table(
        ("指标 figure", "本期 this", "上期 previous", "变化 change"),
        [(FIGURE_LABELS.get(f.name, f.name), f.value, f.previous,
          percent(f.change_rate))
         for f in dashboard.brief.figures])]
    parts += ["<h2>业绩指标 targets</h2>", _table(
        ("指标 measure", "目标 target", "完成 actual", "完成率 rate"),
        [(MEASURE_LABELS[p.measure.value], p.target, p.actual,
          percent(p.completion_rate))
         for p in dashboard.performance])]
    parts.append("<h2>销售漏斗 funnel</h2>")
    for name, funnel in dashboard.funnels:
        parts += [f"<h3>{escape(name)} (weighted {escape(number(funnel.weighted_amount))})</h3>",
                  funnel_chart(name, funnel)]
    parts += ["<h2>销售趋势 trend</h2>", trend_chart(dashboard.trend)]
    parts.append("<h2>排行 rankings</h2>")
    for measure, ranked in dashboard.rankings:
        parts += [f"<h3>{escape(RANKING_LABELS[measure])}</h3>", ranking_chart(measure, ranked)]
    for trail in trails:
        parts += [f"<h2>{escape(trail.title)}</h2>", _table(trail.headers, trail.rows)]
    return ("<!DOCTYPE html>\n<html lang=\"zh-CN\"><head><meta charset=\"utf-8\">"
            f"<title>{escape(heading)}</title><style>{STYLE}</style></head><body>\n"
            + "\n".join(parts) + "\n</body></html>\n")
