"""The command line: the quickstart demo and the cron sweep."""

from __future__ import annotations

import io
from pathlib import Path

from crmkit.cli import main, run_demo, run_pool_jobs


def test_demo_shows_scopes_and_a_sales_cycle(tmp_path: Path) -> None:
    out = io.StringIO()
    visible = run_demo(f"sqlite:///{tmp_path / 'demo.db'}", out)
    assert visible["张三"] == ["张三"]
    assert visible["周组长"] == ["周组长"]
    assert set(visible["李经理"]) == {"李经理", "周组长", "张三", "李四"}
    text = out.getvalue()
    assert "opportunity amount 51300.00" in text
    assert "contract HT202611020001 (51300.00) submitted: waits for 李经理" in text
    assert "approve it: customer 已成交" in text
    assert "received 20000.00, unreceived 31300.00, plan 1 partial" in text
    assert "reclaims 1 idle customer(s)" in text and "张三 claims 沉睡科技" in text


def test_demo_starts_from_a_fresh_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url, io.StringIO())
    run_demo(url, io.StringIO())  # a second run does not trip over the first one's data


def test_sweep_command(tmp_path: Path, capsys: object) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url, io.StringIO())
    assert "would reclaim 0 customer(s)" in run_pool_jobs(url, dry_run=True)
    assert main(["sweep", "--db", url]) == 0
    assert Path(tmp_path / "demo.db").exists()
