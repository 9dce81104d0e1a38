"""The command line: the quickstart demo, the cron sweep and ``crmkit db``; every failure an
operator can cause is one line and exit status 1, and a sweep never creates a schema."""

from __future__ import annotations

import importlib.util
import io
import sqlite3
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

from crmkit.adapters.sqlalchemy.schema import SCHEMA_REVISION
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
    assert "仪表盘 dashboard: 李经理 views 销售部, 2026-11-01 … 2026-11-30" in text
    assert "contract_amount 51300.00" in text and "payment_amount 20000.00" in text
    assert "won 1 (51300.00); weighted 51300.00" in text
    assert "ranking by contract amount: 1. 张三 51300.00" in text


def test_demo_starts_from_a_fresh_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url, io.StringIO())
    run_demo(url, io.StringIO())  # a second run does not trip over the first one's data


def test_sweep_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    run_demo(url, io.StringIO())
    assert "would reclaim 0 customer(s)" in run_pool_jobs(url, dry_run=True)
    assert main(["sweep", "--db", url]) == 0
    assert Path(tmp_path / "demo.db").exists()
    # the demo's payment plan (30 Nov 2026, partly received) is due: reminded once, not twice
    first = capsys.readouterr().out
    assert "payment_plan.due: 1" in first, first
    assert "sent 0 reminder(s)" in run_pool_jobs(url)


NEEDS_ALEMBIC = pytest.mark.skipif(importlib.util.find_spec("alembic") is None,
                                   reason="alembic is not installed: crmkit[migrations]")


def _fails_in_one_line(argv: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> None:
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("crmkit: error: ") and expected in err
    assert "Traceback" not in err


def test_sweep_never_creates_a_schema_or_a_file(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    typo = tmp_path / "crm-typo.db"
    _fails_in_one_line(["sweep", "--db", f"sqlite:///{typo}"], capsys, "no SQLite database file")
    assert not typo.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    _fails_in_one_line(["sweep", "--db", f"sqlite:///{empty}"], capsys, "no crmkit schema")
    assert inspect(create_engine(f"sqlite:///{empty}")).get_table_names() == []


@pytest.mark.parametrize(("argv", "expected"), [
    (["sweep", "--db", "not a url"], "Could not parse SQLAlchemy URL"),
    (["sweep", "--db", "oracle2://x/y"], "Can't load plugin"),
    (["sweep", "--db", "postgresql://nobody@127.0.0.1:1/crm"], "connection"),
    (["db", "current", "--url", "sqlite:////nonexistent/dir/crm.db"], "no SQLite database file"),
    pytest.param(["db", "upgrade", "--url", "sqlite:////nonexistent/dir/crm.db"],
                 "unable to open", marks=NEEDS_ALEMBIC),
])
def test_bad_urls_and_missing_files_fail_in_one_line(
        argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    _fails_in_one_line(argv, capsys, expected)


def test_a_missing_extra_is_one_line(monkeypatch: pytest.MonkeyPatch,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "alembic", None)  # as if crmkit[migrations] were missing
    monkeypatch.setitem(sys.modules, "alembic.config", None)
    _fails_in_one_line(["db", "upgrade", "--url", "sqlite://"], capsys, "crmkit[migrations]")
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",  # as if crmkit[postgres] were missing
                        lambda name, *a: None if name == "psycopg" else find_spec(name, *a))
    _fails_in_one_line(["sweep", "--db", "postgresql://crm@db/crm"], capsys, "crmkit[postgres]")


@NEEDS_ALEMBIC
def test_db_upgrade_current_downgrade(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    assert main(["db", "upgrade", "--url", url]) == 0
    assert capsys.readouterr().out == f"{SCHEMA_REVISION} (head)\n"
    assert main(["db", "current", "--url", url]) == 0
    assert capsys.readouterr().out == f"{SCHEMA_REVISION} (head)\n"
    assert main(["sweep", "--db", url]) == 0
    assert "reclaimed 0 customer(s)" in capsys.readouterr().out
    assert main(["db", "downgrade", "base", "--url", url]) == 0
    assert capsys.readouterr().out == "no crmkit migration applied\n"
    _fails_in_one_line(["sweep", "--db", url], capsys, "no crmkit schema")
    _fails_in_one_line(["db", "upgrade", "nosuchrev", "--url", url], capsys, "nosuchrev")
