"""The command line: ``--help`` explains each command; the demo, the cron sweep, export and
import through ``crm.io`` as a named user, and ``crmkit db``; every failure an operator can
cause is one line on stderr (Chinese and English where crmkit has both) and exit status 1,
long work shows a bar on a terminal and plain lines when piped, and a sweep, an export or an
import never creates a schema."""

from __future__ import annotations

import csv
import functools
import importlib.util
import io
import sqlite3
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect

import crmkit.demo.run
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.ids import SequentialIds
from crmkit.adapters.sqlalchemy.schema import SCHEMA_REVISION
from crmkit.app import build_crm
from crmkit.cli import main
from crmkit.console import display_width
from crmkit.testing import sample_org

BOSS, MANAGER, REP, ACCOUNTANT = "13800000000", "13900000001", "13900000002", "13900000003"


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A crmkit database on an SQLite file: the sample org (王总, 李经理, 张三, 赵会计), a pool
    reclaiming after 30 days without follow-up, and customers created in January 2020."""
    url = f"sqlite:///{tmp_path / 'crm.db'}"
    clock = FixedClock(datetime(2020, 1, 6, 1, 0, tzinfo=UTC))
    crm = build_crm(url, clock=clock, ids=SequentialIds("c"))
    org = sample_org(crm, clock=clock)
    crm.pool.create_pool(org.admin, {"name": "销售公海", "member_department_ids": [org.sales.id],
                                     "rules": [{"type": "followup", "days": 30}]})
    crm.customers.create(org.rep, {"name": "华为", "level": "A"})
    crm.customers.create(org.manager, {"name": "腾讯"})
    crm.close()
    return url


def _fails_in_one_line(argv: list[str], capsys: pytest.CaptureFixture[str], expected: str) -> str:
    assert main(argv) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("crmkit: error: ") and expected in err, err
    assert "Traceback" not in err
    return err


# -- --help -------------------------------------------------------------------------------------

def test_help_explains_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    for command in ("demo", "sweep", "export", "import", "db"):
        assert f"\n  {command} " in text
    assert "crmkit export --db sqlite:///crm.db --kind customers --as 13800000000" in text
    for command, words in (("demo", "--html FILE"), ("sweep", "--dry-run"),
                           ("export", "--as USER"), ("import", "--on-duplicate"),
                           ("db", "upgrade")):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        assert words in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "expected"), [
    ([], "the following arguments are required: COMMAND (see: crmkit --help)"),
    (["nonsense"], "invalid choice: 'nonsense'"),
    (["export", "--db", "sqlite://"],
     "the following arguments are required: --kind, --as, -o/--output (see: crmkit export --help)"),
    (["import", "--db", "x", "--kind", "leads", "--as", "1", "f.csv", "--on-duplicate", "merge"],
     "argument --on-duplicate: invalid choice: 'merge'"),
])
def test_a_usage_mistake_is_one_line_too(argv: list[str], expected: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("crmkit: error: ") and expected in err, err


# -- demo ---------------------------------------------------------------------------------------

def test_demo_command_prints_the_report_and_writes_the_page(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    # the whole quarter runs in tests/test_demo.py; here two days show the command's wiring
    monkeypatch.setattr(crmkit.demo.run, "run_demo",
                        functools.partial(crmkit.demo.run.run_demo, days=2))
    page = tmp_path / "report.html"
    assert main(["demo", "--db", f"sqlite:///{tmp_path / 'demo.db'}", "--html", str(page),
                 "--seed", "3"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("crmkit demo: 星河软件 on sqlite:///") and "(seed 3)" in out
    assert "销售简报 sales brief" in out and f"The dashboard page: {page}" in out
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert err.splitlines()[-1] == "模拟 simulating: 2/2 days 100% — 2026-07-02"  # piped


# -- sweep --------------------------------------------------------------------------------------

def test_sweep_warns_reclaims_and_reminds_with_plain_progress_lines(
        url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sweep", "--db", url, "--dry-run"]) == 0
    out, _ = capsys.readouterr()
    assert "would reclaim 2 customer(s)" in out
    assert main(["sweep", "--db", url]) == 0
    out, err = capsys.readouterr()
    assert "reclaimed 2 customer(s)" in out and "sent 0 reminder(s)" in out
    assert "  销售公海                2" in out.splitlines()  # the pool by name, aligned
    assert err.splitlines() == ["公海 sweep: 1/3 steps  33% — warned owners",
                                "公海 sweep: 2/3 steps  67% — swept the pools",
                                "公海 sweep: 3/3 steps 100% — sent reminders"]
    assert main(["sweep", "--db", url]) == 0
    assert "reclaimed 0 customer(s)" in capsys.readouterr().out


# -- export -------------------------------------------------------------------------------------

def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"))))


def test_export_writes_what_the_user_may_see(url: str, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    mine = tmp_path / "mine.csv"
    assert main(["export", "--db", url, "--kind", "customers", "--as", REP, "-o", str(mine)]) == 0
    out, err = capsys.readouterr()
    assert out == f"导出 exported 1 customer row(s) as 张三 to {mine} (csv)\n"
    assert err == "导出 export: 1/1 rows 100%\n"
    rows = _rows(mine)
    assert rows[0][0] == "客户名称" and [r[0] for r in rows[1:]] == ["华为"]
    every = tmp_path / "all.csv"
    assert main(["export", "--db", url, "--kind", "customer", "--as", BOSS, "-o", str(every),
                 "--language", "en"]) == 0
    rows = _rows(every)
    assert rows[0][0] == "Customer name" and sorted(r[0] for r in rows[1:]) == ["华为", "腾讯"]


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_export_on_a_terminal_draws_a_bar(url: str, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["export", "--db", url, "--kind", "customers", "--as", BOSS,
                 "-o", str(tmp_path / "c.xlsx")]) == 0
    assert terminal.getvalue().startswith("\r导出 export: [")
    assert "] 2/2 rows 100%" in terminal.getvalue() and terminal.getvalue().endswith("\n")
    assert (tmp_path / "c.xlsx").read_bytes()[:2] == b"PK"  # XLSX from the file name


# -- import -------------------------------------------------------------------------------------

def _sheet(path: Path, *rows: list[str]) -> Path:
    text = io.StringIO()
    csv.writer(text).writerows(rows)
    path.write_bytes(text.getvalue().encode("gbk"))  # what a Chinese Excel saves
    return path


def test_import_reports_each_row_and_writes_the_refused_ones(
        url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leads = _sheet(tmp_path / "leads.csv", ["线索名称*", "手机", "负责人", "备用"],
                   ["甲公司", "138 0000 1111", "张三", "x"], ["乙公司", "12345", "", ""],
                   ["丙公司", "", "李经理", ""])
    assert main(["import", "--db", url, "--kind", "leads", "--as", MANAGER, str(leads)]) == 1
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == f"导入 imported {leads} as lead by 李经理"
    assert "读取 read                        3" in lines
    assert "新建 created                     2" in lines
    assert "失败 failed                      1" in lines
    assert len({display_width(line) for line in lines[1:8]}) == 1  # aligned
    assert "ignored columns / 未导入的列: 备用" in out
    report = tmp_path / "leads.csv.errors.csv"
    assert f"refused rows / 失败的行: {report}" in out
    assert err.splitlines()[-1] == (
        f"crmkit: error: 1 row(s) refused / 1 行未导入; see {report}")
    assert [row[:3] for row in _rows(report)[1:]] == [["3", "手机", "format.mobile"]]


def test_an_import_without_refusals_exits_0_and_follow_ups_come_in_too(
        url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    notes = _sheet(tmp_path / "notes.csv", ["客户名称", "跟进方式", "跟进内容", "跟进时间"],
                   ["华为", "打电话", "谈了续约", "2019-12-30 10:00"])
    errors = tmp_path / "errors.xlsx"
    assert main(["import", "--db", url, "--kind", "customers", "--as", MANAGER, str(notes),
                 "--followups", "--match-on", "name", "--errors", str(errors)]) == 0
    out, err = capsys.readouterr()
    assert "新建 created                     1" in out.splitlines() and not errors.exists()
    assert err == "导入 import: 1/1 rows 100% — 1 created, 0 failed\n"


# -- one line per failure -----------------------------------------------------------------------

@pytest.mark.parametrize(("argv", "expected"), [
    (["export", "--kind", "dragons", "--as", BOSS, "-o", "x.csv"],
     "no record kind 'dragons' / 没有记录类型 dragons; known kinds: campaign, contact, contract"),
    (["export", "--kind", "leads", "--as", "13999999999", "-o", "x.csv"],
     "no user with mobile or id '13999999999' / 没有手机号或ID为 13999999999 的员工"),
    (["export", "--kind", "leads", "--as", ACCOUNTANT, "-o", "x.csv"],  # 财务 has no leads
     "没有 leads 的 export 权限 / no permission to export on leads [permission_denied]"),
    (["import", "--kind", "customers", "--as", BOSS, "--match-on", "nonsense", "--followups",
      "notes.csv"],
     "$.match_on 不是可识别的字段 / $.match_on is not a known field [unknown_field]"),
    (["import", "--kind", "customers", "--as", BOSS, "missing.csv"], "no file at missing.csv"),
])
def test_a_refused_request_is_one_line_in_both_languages(
        url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str],
        expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    _sheet(tmp_path / "notes.csv", ["客户名称", "跟进内容"], ["华为", "x"])
    _fails_in_one_line([argv[0], "--db", url, *argv[1:]], capsys, expected)
    assert not (tmp_path / "x.csv").exists()


NEEDS_ALEMBIC = pytest.mark.skipif(importlib.util.find_spec("alembic") is None,
                                   reason="alembic is not installed: crmkit[migrations]")


@pytest.mark.parametrize("command", [
    ["sweep"], ["export", "--kind", "leads", "--as", BOSS, "-o", "out.csv"],
    ["import", "--kind", "leads", "--as", BOSS, "in.csv"]])
def test_no_command_creates_a_schema_or_a_file(tmp_path: Path, command: list[str],
                                               monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.csv").write_text("线索名称\n甲\n", encoding="utf-8")
    typo = tmp_path / "crm-typo.db"
    argv = [command[0], "--db", f"sqlite:///{typo}", *command[1:]]
    _fails_in_one_line(argv, capsys, "no SQLite database file")
    assert not typo.exists()
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    argv = [command[0], "--db", f"sqlite:///{empty}", *command[1:]]
    _fails_in_one_line(argv, capsys, "no crmkit schema")
    assert inspect(create_engine(f"sqlite:///{empty}")).get_table_names() == []
    assert not (tmp_path / "out.csv").exists()


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


def test_traceback_shows_the_failure_when_asked() -> None:
    with pytest.raises(Exception, match="no SQLite database file"):
        main(["--traceback", "sweep", "--db", "sqlite:////nonexistent/crm.db"])


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
