"""What each ``crmkit`` command does once its arguments are parsed (:mod:`crmkit.cli` parses
them): the cron sweep, export and import through ``crm.io``, and the schema migrations.

Every command opens an existing crmkit database (``build_crm(url, create_schema=False)``: a
mistyped URL or SQLite path creates nothing) and acts as a named user (``--as``: a mobile
number or a user id), so ``crm.io`` applies that user's permissions and data scope exactly as
in the host. Problems the operator fixes raise :class:`OperatorError`; the CLI prints every
failure as one line.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from crmkit.console import Progress, render_table
from crmkit.entities import SystemActor, User

__all__ = ["ImportSummary", "OperatorError", "acting_user", "export_records", "import_file",
           "kind_name", "open_crm", "run_db", "run_sweep"]


class OperatorError(Exception):
    """A problem the operator fixes (wrong path, unknown user): reported as one line."""


def existing_sqlite_file(url: str) -> None:
    """A SQLite URL naming a file that does not exist is refused (connecting would create it)."""
    from sqlalchemy import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    if parsed.query.get("mode") != "memory" and not Path(parsed.database).exists():
        raise OperatorError(f"no SQLite database file at {parsed.database}")


def open_crm(url: str) -> Any:
    """The CRM on an existing crmkit database (``SchemaError`` when it has no crmkit schema)."""
    from crmkit.app import build_crm

    existing_sqlite_file(url)
    return build_crm(url, create_schema=False)


def acting_user(crm: Any, who: str) -> User:
    """The user a command acts as: by mobile number (登录手机号), else by id."""
    with crm.storage.transaction() as uow:
        user = uow.users.get_by_mobile(who) or uow.users.get(who)
    if user is None:
        raise OperatorError(f"no user with mobile or id {who!r} / 没有手机号或ID为 {who} 的员工")
    return user  # type: ignore[no-any-return]


def kind_name(crm: Any, kind: str) -> str:
    """A record kind as the operator types it: ``customer`` or ``customers``,
    ``opportunity`` or ``opportunities``; an unknown one lists the known kinds."""
    known = crm.kinds
    for name in (kind, kind[:-1], kind[:-3] + "y" if kind.endswith("ies") else kind):
        if name in known:
            return name
    raise OperatorError(f"no record kind {kind!r} / 没有记录类型 {kind}; "
                        f"known kinds: {', '.join(sorted(known))}")


# -- sweep ---------------------------------------------------------------------------------------

def run_sweep(url: str, *, dry_run: bool = False, progress: Progress | None = None) -> str:
    """The scheduled work: warn owners, reclaim due customers (公海回收), then send the due
    reminders (提醒: each once). A dry run reports the sweep only and changes nothing."""
    crm = open_crm(url)
    try:
        jobs = SystemActor("crmkit sweep command")
        steps = ["reclaim"] if dry_run else ["warn", "reclaim", "reminders"]
        if progress is not None:
            progress.total = len(steps)
        done = 0

        def step(name: str) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress.update(done, name)

        warned = 0
        if not dry_run:
            warned = crm.pool.warn(jobs)
            step("warned owners")
        report = crm.pool.sweep(jobs, dry_run=dry_run)
        step("swept the pools")
        with crm.storage.transaction() as uow:  # names for the report (the system has no scope)
            pools = {p.id: p.name for p in uow.pools.list()}
        verb = "would reclaim" if dry_run else "reclaimed"
        lines = [f"{report.at.isoformat()}: warned {warned} customer(s); {verb} "
                 f"{len(report.reclaimed)} customer(s)"]
        if report.reclaimed:
            lines.append(render_table(("公海 pool", "客户 customers"), sorted(
                (pools.get(pool, pool), count) for pool, count in report.by_pool().items()),
                indent="  "))
        if not dry_run:
            scan = crm.reminders.scan(jobs)
            step("sent reminders")
            lines.append(f"sent {len(scan.sent)} reminder(s)")
            if scan.sent:
                lines.append(render_table(("提醒 reminder", "条数 sent"), sorted(
                    (kind.value, count) for kind, count in scan.by_kind().items()),
                    indent="  "))
        if progress is not None:
            progress.finish()
        return "\n".join(lines)
    finally:
        crm.close()


# -- export and import ---------------------------------------------------------------------------

def _format(path: Path, given: str | None) -> str:
    return given or ("xlsx" if path.suffix.lower() == ".xlsx" else "csv")


def export_records(url: str, kind: str, who: str, out: Path, *, format: str | None = None,
                   language: str = "zh", progress: Progress | None = None) -> str:
    """导出: every record of ``kind`` the user ``who`` may see, to ``out``."""
    crm = open_crm(url)
    try:
        actor, name = acting_user(crm, who), kind_name(crm, kind)
        if progress is not None:
            progress.total = _count(crm, actor, name)
        chosen = _format(out, format)
        partial = out.with_name(out.name + ".partial")  # a failed export leaves no half file
        try:
            with partial.open("wb") as sink:
                result = crm.io.export(actor, name, sink, format=chosen, language=language,
                                       progress=None if progress is None else progress.update)
            partial.replace(out)
        finally:
            partial.unlink(missing_ok=True)
        if progress is not None:
            progress.finish()
        return f"导出 exported {result.rows} {name} row(s) as {actor.name} to {out} ({chosen})"
    finally:
        crm.close()


def _count(crm: Any, actor: User, kind: str) -> int | None:
    """How many records the export will write (the progress bar's total); unknown when the
    user may export but not list (the export then answers for itself)."""
    from crmkit.errors import CrmError

    try:
        return int(crm.kind(kind).list(actor, {"limit": 1, "with_total": True}).total)
    except CrmError:
        return None


@attrs.frozen
class ImportSummary:
    """What ``crmkit import`` reports: the result table and where the refused rows went."""

    text: str
    failed: int
    errors_file: Path | None


def _data_rows(path: Path, format: str) -> int:
    """Roughly how many data rows the file holds (non-empty rows but the header): the
    progress bar's total."""
    from crmkit.adapters.sheets import sheet_formats

    reader = sheet_formats().get(format)
    if reader is None:
        return 0
    with path.open("rb") as source:
        try:
            rows = sum(1 for row in reader.read(source) if any(c not in (None, "") for c in row))
        except Exception:  # the import itself reports what is wrong with the file
            return 0
    return max(rows - 1, 0)


def import_file(url: str, kind: str, who: str, source: Path, *, format: str | None = None,
                on_duplicate: str = "skip", match_on: str | None = None,
                followups: bool = False, errors: Path | None = None, language: str = "zh",
                progress: Progress | None = None) -> ImportSummary:
    """导入: the rows of ``source`` as records of ``kind`` (or, with ``followups``, as
    follow-ups on them) by the user ``who``; refused rows go to ``errors`` (default
    ``<source>.errors.csv`` beside it)."""
    crm = open_crm(url)
    try:
        actor, name = acting_user(crm, who), kind_name(crm, kind)
        chosen = _format(source, format)
        if not source.is_file():
            raise OperatorError(f"no file at {source} / 文件不存在")
        if progress is not None:
            progress.total = _data_rows(source, chosen) or None
        told: Callable[[Any], None] | None = None if progress is None else (
            lambda p: progress.update(p.rows, f"{p.created} created, {p.failed} failed"))
        with source.open("rb") as data:
            if followups:
                result = crm.io.import_followups(actor, name, data, format=chosen,
                                                 match_on=match_on, language=language,
                                                 progress=told)
            else:
                result = crm.io.import_records(
                    actor, name, data, format=chosen, on_duplicate=on_duplicate,
                    match_on=[match_on] if match_on else None, language=language,
                    progress=told)
        if progress is not None:
            progress.finish()
        written = None
        if result.failed:
            written = errors or source.with_name(source.name + ".errors.csv")
            sink = io.BytesIO()
            crm.io.write_errors(actor, result, sink, format=_format(written, None),
                                language=language)
            written.write_bytes(sink.getvalue())
        table = render_table(("结果 result", "行 rows"), [
            ("读取 read", result.rows), ("新建 created", result.created),
            ("覆盖 updated", result.updated), ("跳过 skipped (duplicates)", result.skipped),
            ("失败 failed", result.failed)])
        lines = [f"导入 imported {source} as {name} {'follow-ups ' if followups else ''}"
                 f"by {actor.name}", table]
        if result.ignored_columns:
            lines.append("ignored columns / 未导入的列: " + ", ".join(result.ignored_columns))
        if written is not None:
            lines.append(f"refused rows / 失败的行: {written}")
        return ImportSummary("\n".join(lines), result.failed, written)
    finally:
        crm.close()


# -- schema migrations ---------------------------------------------------------------------------

def run_db(action: str, url: str, revision: str = "head") -> str:
    """``crmkit db``: upgrade to ``revision`` (creating the schema on an empty database), show
    the current revision, or downgrade to ``revision``."""
    from crmkit.adapters.sqlalchemy import make_engine, migrations

    if action != "upgrade":
        existing_sqlite_file(url)
    engine = make_engine(url)
    try:
        if action == "upgrade":
            migrations.upgrade(engine, revision)
        elif action == "downgrade":
            migrations.downgrade(engine, revision)
        current = migrations.current(engine)
    finally:
        engine.dispose()
    head = migrations.head()
    if current is None:
        return "no crmkit migration applied"
    return f"{current} (head)" if current == head else f"{current} (head is {head})"
