"""``crmkit demo``: a quarter of 星河软件 on an SQLite file, its dashboard as tables and as one
static HTML page. The quarter runs once for the module (a few seconds); the page is checked
by its structure everywhere and rendered by headless Chromium where one is installed."""

from __future__ import annotations

import io
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import pytest

from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.app import CRM, build_crm
from crmkit.console import number
from crmkit.demo import QUARTER_START
from crmkit.demo.company import build_company
from crmkit.demo.report import Dashboard, read_dashboard
from crmkit.demo.run import DemoRun, run_demo
from crmkit.demo.simulation import Activity, simulate
from crmkit.entities.approvals import ApprovalStatus


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    """The full quarter, run over what a previous demo left (it starts afresh)."""
    folder = tmp_path_factory.mktemp("demo")
    for leftover in ("crmkit-demo.db", "crmkit-demo.db-wal"):
        (folder / leftover).write_bytes(b"a previous demo's file")
    return run_demo(f"sqlite:///{folder / 'crmkit-demo.db'}", out=io.StringIO(),
                    html=folder / "report.html")


def _folder(demo: DemoRun) -> Path:
    return Path(demo.url.removeprefix("sqlite:///")).parent


def test_the_company_has_twenty_people_with_supervisors_and_roles(demo: DemoRun) -> None:
    people = demo.company.people
    assert len(people) == 20
    assert all(u.supervisor_id for name, u in people.items() if name != "王总")
    assert all(u.role_ids for u in people.values())
    assert "姓名 name  部门 department" in demo.text


def test_the_quarter_did_every_kind_of_sales_work(demo: DemoRun) -> None:
    done = demo.activity
    assert done.leads > done.converted > 0 and done.followups > 0
    assert done.won > 0 and done.lost > 0
    assert done.contracts_submitted >= done.contracts_approved > 0
    assert done.payments_approved > 0
    assert done.reclaimed > 0 and done.claimed > 0 and done.warned > 0
    assert done.showcase_contract and done.showcase_customer


def test_the_database_stays_and_agrees_with_the_dashboard(demo: DemoRun) -> None:
    """The brief's contract amount is the sum of the approved contracts 销售部 signed in the
    quarter, read back from the database the demo left."""
    crm = build_crm(demo.url, create_schema=False)
    try:
        boss = demo.company.boss.id
        contracts = crm.contracts.list(boss, {"limit": 500}).items
        approved = [c for c in contracts if c.approval_status is ApprovalStatus.APPROVED]
        assert len(approved) == demo.activity.contracts_approved
        period = demo.dashboard.brief.period
        assert period.first_day == QUARTER_START
        signed = sum((c.amount for c in approved if c.order_date is not None
                      and period.first_day <= c.order_date <= period.last_day), Decimal(0))
        assert demo.dashboard.brief["contract_amount"].value == signed
        customers = crm.customers.list(boss, {"limit": 500}).items
        assert len(customers) == demo.company.imported + demo.activity.converted
        reclaimed = crm.customers.operation_log(boss, demo.activity.showcase_customer or "")
        assert {"reclaim", "claim"} <= {e.action for e in reclaimed}
    finally:
        crm.close()


def test_the_report_prints_the_dashboard_as_aligned_tables(demo: DemoRun) -> None:
    text = demo.text
    brief = demo.dashboard.brief
    for heading in ("销售简报 sales brief", "业绩指标 targets", "销售漏斗 funnel: 标准销售流程",
                    "销售漏斗 funnel: 大客户流程", "销售趋势 trend per week",
                    "排行 ranking: 合同金额排行", "操作记录 operation log: 合同",
                    "跟进记录 timeline: 客户", "reclaimed by the sweep, claimed"):
        assert heading in text
    line = next(row for row in text.splitlines() if row.startswith("合同金额 contract amount"))
    assert number(brief["contract_amount"].value) in line
    assert f"Finished in {demo.seconds:.1f} s" in text


def _quarter(seed: int, days: int = 14) -> tuple[Activity, Dashboard]:
    """The first ``days`` of the quarter in memory (the simulation does not care where)."""
    clock = FixedClock(datetime(2026, 6, 30, 2, 0, tzinfo=UTC))
    company = build_company(CRM(clock=clock, ids=SequentialIds("xh")), clock, QUARTER_START)
    activity = simulate(company, seed, QUARTER_START, days)
    return activity, read_dashboard(company)


def test_a_seed_gives_the_same_quarter() -> None:
    assert _quarter(7) == _quarter(7)
    assert _quarter(8)[0] != _quarter(7)[0]


def test_a_previous_demo_file_is_replaced(demo: DemoRun) -> None:
    assert not (_folder(demo) / "crmkit-demo.db-wal").exists()  # WAL checkpointed on close
    assert (_folder(demo) / "crmkit-demo.db").read_bytes()[:16] == b"SQLite format 3\x00"


# -- the HTML page -------------------------------------------------------------------------------

class _Page(HTMLParser):
    """What the page holds: its elements, the charts' titles and bars, anything fetched."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.stack: list[str] = []
        self.svg_titles: list[str] = []
        self.bars: list[dict[str, str]] = []
        self.fetched: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.stack.append(tag)
        found = {k: v or "" for k, v in attrs}
        if tag == "rect":
            self.bars.append(found)
        self.fetched += [v for k, v in found.items() if k in ("src", "href") and v]

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self.stack[-2:] == ["svg", "title"]:
            self.svg_titles.append(data)
        self.text.append(data)


@pytest.fixture(scope="module")
def page(demo: DemoRun) -> _Page:
    parsed = _Page()
    parsed.feed((_folder(demo) / "report.html").read_text(encoding="utf-8"))
    return parsed


def _bars(page: _Page, css: str) -> list[tuple[str, Decimal]]:
    return [(b["data-label"], Decimal(b["data-value"])) for b in page.bars if b["class"] == css]


def test_the_page_is_static_one_file_with_inline_svg_charts(page: _Page) -> None:
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0
    assert page.fetched == []  # nothing from the network, nothing from disk
    assert page.tags["svg"] == 5  # two funnels, the trend, two rankings
    assert page.svg_titles == [
        "销售漏斗 funnel: 标准销售流程", "销售漏斗 funnel: 大客户流程",
        "销售趋势 trend per week: contracts and payments against the contract target",
        "排行 ranking: 合同金额排行 contract amount",
        "排行 ranking: 回款金额排行 payment amount"]


def test_the_charts_show_the_dashboard_numbers(demo: DemoRun, page: _Page) -> None:
    dashboard = demo.dashboard
    trend = dashboard.trend.points
    assert [v for _, v in _bars(page, "bar-contract")] == [p.contract_amount for p in trend]
    assert [v for _, v in _bars(page, "bar-payment")] == [p.payment_amount for p in trend]
    stages = [(s.name, Decimal(s.count)) for _, f in dashboard.funnels for s in f.stages]
    assert _bars(page, "bar-stage") == stages
    assert [v for _, v in _bars(page, "bar-won")] == [f.won.count for _, f in dashboard.funnels]
    ranked = [(name, Decimal(value)) for _, rows in dashboard.rankings
              for _, name, value in rows]
    assert _bars(page, "bar-rank") == ranked
    words = " ".join(page.text)
    for figure in dashboard.brief.figures:
        assert number(figure.value) in words
    assert number(dashboard.performance[0].target) in words


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(not CHROMIUM.exists(), reason="no /usr/bin/chromium on this machine")
def test_chromium_renders_the_page(demo: DemoRun, page: _Page, tmp_path: Path) -> None:
    """Headless Chromium draws the page offline: the rendered DOM has every chart and bar,
    and the screenshot is a real picture."""
    report = _folder(demo) / "report.html"
    flags = [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*flags, "--dump-dom", report.as_uri()], capture_output=True,
                         text=True, timeout=120, check=True).stdout
    rendered = _Page()
    rendered.feed(dom)
    assert rendered.tags["svg"] == 5
    assert len(rendered.bars) == len(page.bars)
    shot = tmp_path / "report.png"
    subprocess.run([*flags, f"--screenshot={shot}", "--window-size=1000,3000", report.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000


@pytest.mark.skipif(shutil.which("sqlite3") is None, reason="no sqlite3 shell")
def test_the_left_database_opens_in_the_sqlite_shell(demo: DemoRun) -> None:
    path = demo.url.removeprefix("sqlite:///")
    out = subprocess.run(["sqlite3", path, "select count(*) from crm_users"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "20"


def test_the_readme_shows_what_the_demo_prints(demo: DemoRun) -> None:
    """README's first command: every line of its abridged output is a line the demo prints
    (with the default seed), but the timing."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    start = readme.index("crmkit demo: 星河软件 on sqlite:///crmkit-demo.db")
    shown = readme[start:readme.index("\n```", start)].splitlines()
    printed = demo.text.replace(demo.url, "sqlite:///crmkit-demo.db").splitlines()
    missing = [line for line in shown if line not in printed and line != "…"
               and not line.startswith(("Finished in", "The dashboard page"))]
    assert missing == []
