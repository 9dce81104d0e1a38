"""The demo from start to end: build, simulate, read the dashboard, report (see
:mod:`crmkit.demo`)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import attrs

from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.console import Progress
from crmkit.demo import DEFAULT_SEED, DEFAULT_URL, ID_PREFIX, QUARTER_DAYS, QUARTER_START
from crmkit.demo.company import COMPANY, Company, build_company
from crmkit.demo.page import render_page
from crmkit.demo.report import AuditTrail, Dashboard, audit_trails, read_dashboard, render_text
from crmkit.demo.simulation import LOCAL, Activity, simulate

__all__ = ["DemoRun", "run_demo"]


@attrs.frozen
class DemoRun:
    """What one demo run did and showed."""

    url: str
    seed: int
    company: Company
    activity: Activity
    dashboard: Dashboard
    trails: tuple[AuditTrail, ...]
    text: str
    seconds: float


def _sqlite_file(url: str) -> Path | None:
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def _engine(url: str) -> Any:
    """The demo's engine. An SQLite file starts afresh (a previous demo's file is removed)
    and runs in WAL mode with ``synchronous=NORMAL`` — durable at every commit but the last
    few before a power cut, the setting a host would choose for thousands of short
    transactions (the simulation makes a few hundred facade calls)."""
    from sqlalchemy import event

    from crmkit.adapters.sqlalchemy import make_engine

    path = _sqlite_file(url)
    if path is not None:
        for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)
    engine = make_engine(url)
    if path is not None:
        @event.listens_for(engine, "connect")
        def _wal(connection: Any, _record: Any) -> None:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
    return engine


def run_demo(url: str = DEFAULT_URL, *, seed: int = DEFAULT_SEED, out: TextIO | None = None,
             html: Path | None = None, progress: Progress | None = None,
             days: int = QUARTER_DAYS) -> DemoRun:
    """Build 星河软件 on ``url`` (an SQLite file starts afresh; another database must be
    empty), simulate ``days`` days from 1 July 2026 with ``seed``, write the report to ``out``
    (if given) and the dashboard page to ``html`` (if given)."""
    from crmkit.app import build_crm

    started, cpu = time.perf_counter(), time.process_time()
    engine = _engine(url)
    try:
        eve = datetime.combine(QUARTER_START - timedelta(days=1), datetime.min.time(), LOCAL)
        clock = FixedClock((eve + timedelta(hours=10)).astimezone(UTC))
        crm = build_crm(engine, clock=clock, ids=SequentialIds(ID_PREFIX))
        company = build_company(crm, clock, QUARTER_START)
        if progress is not None:
            progress.total = days
        activity = simulate(company, seed, QUARTER_START, days, on_day=None if progress is None
                            else lambda day: progress.update(
                                (day - QUARTER_START).days + 1, day.isoformat()))
        if progress is not None:
            progress.finish()
        last = QUARTER_START + timedelta(days=days - 1)
        clock.set(datetime.combine(last, datetime.min.time(), LOCAL).replace(hour=18)
                  .astimezone(UTC))
        dashboard = read_dashboard(company)
        trails = tuple(audit_trails(company, activity))
        body = render_text(company, activity, dashboard, trails)
        if html is not None:
            html.write_text(render_page(COMPANY, dashboard, trails), encoding="utf-8")
    finally:
        engine.dispose()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    period = dashboard.brief.period
    text = "\n".join([
        f"crmkit demo: {COMPANY} on {url} (seed {seed}), {period.first_day} – {last}",
        body, "",
        f"Finished in {seconds:.1f} s ({cpu:.1f} s of CPU). The database stays for "
        f"inspection: {url}",
        *([f"The dashboard page: {html}"] if html is not None else []),
    ])
    if out is not None:
        out.write(text + "\n")
    return DemoRun(url, seed, company, activity, dashboard, trails, text, seconds)
