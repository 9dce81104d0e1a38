#!/usr/bin/env python
"""Benchmark crmkit's import and export (issue 17) on SQLite (a file) and PostgreSQL.

- IMPORT: a CSV of N leads (100,000 by default) with five custom fields — one of them a unique
  code, so every batch runs the duplicate check — through ``crm.io.import_records`` (the call a
  host makes: permission, file parsing, cell conversion, field-type validation, duplicate
  queries, bulk insert of the records and their operation-log entries, in batches of 1,000).
  Against a raw SQLAlchemy Core executemany ``INSERT`` of the same leads, already built as
  rows (no parsing, no validation, no log) — the floor any import sits on.
- EXPORT: M leads (1,000,000 by default) written as CSV through ``crm.io.export`` (scope,
  keyset pages, labels, user names, option labels, formula neutralising) into a sink that
  counts bytes; against a raw Core ``SELECT`` streamed (``yield_per``) into ``csv.writer``.
  The export's peak Python memory is measured with tracemalloc in a second run.

``python bench/bench_io.py --quick`` runs 10,000 / 100,000 rows; ``--rows`` and
``--export-rows`` set the sizes. Figures are wall times on whatever else the machine runs.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from _common import (
    Statements,
    add_cpu_option,
    add_postgres_options,
    banner,
    choose_postgres,
    postgres_engine,
    sqlite_engine,
    timed_call,
    use_clock,
)
from _common import table as text_table
from sqlalchemy import Engine, delete, insert, select

from crmkit import CRM
from crmkit.adapters.clocks import FixedClock
from crmkit.adapters.sqlalchemy import SqlStorage
from crmkit.adapters.sqlalchemy.tables import leads, operation_log

NOW = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
CUSTOM = [
    {"key": "code", "label_zh": "外部编号", "label_en": "Code", "type": "text", "unique": True},
    {"key": "budget", "label_zh": "预算", "label_en": "Budget", "type": "money"},
    {"key": "signed_on", "label_zh": "签约日", "label_en": "Signed on", "type": "date"},
    {"key": "grade", "label_zh": "等级", "label_en": "Grade", "type": "select",
     "options": ["甲", "乙", "丙"]},
    {"key": "seats", "label_zh": "座位数", "label_en": "Seats", "type": "integer"},
]
HEADER = ["线索名称", "手机", "线索来源", "外部编号", "预算", "签约日", "等级", "座位数"]


class Sink:
    """Where an export goes: counts the bytes, keeps none."""

    def __init__(self) -> None:
        self.size = 0

    def write(self, data: bytes) -> int:
        self.size += len(data)
        return len(data)


def lead_rows(n: int) -> Iterator[list[str]]:
    for i in range(n):
        yield [f"线索{i}", f"139{i:08d}", ("广告", "转介绍", "陌拜")[i % 3], f"EXT-{i}",
               f"{i % 100000}.{i % 100:02d}", (date(2020, 1, 1) + timedelta(days=i % 2000))
               .isoformat(), "甲乙丙"[i % 3], str(i % 500)]


def csv_file(n: int) -> bytes:
    text = io.StringIO()
    writer = csv.writer(text)
    writer.writerow(HEADER)
    writer.writerows(lead_rows(n))
    return text.getvalue().encode("utf-8-sig")


def raw_rows(n: int, owner: str) -> list[dict[str, Any]]:
    """The same leads as complete ``crm_leads`` rows, built before the timer starts."""
    rows = []
    for i, cells in enumerate(lead_rows(n)):
        rows.append({
            "id": f"raw-{i:09d}", "name": cells[0], "owner_id": owner, "created_by": owner,
            "created_at": NOW, "updated_at": NOW, "version": 1, "contact_name": None,
            "mobile": cells[1], "phone": None, "email": None, "source": cells[2],
            "industry": None, "level": None, "address": None, "remark": None,
            "next_contact_at": None, "last_followup_at": None, "last_followup_content": None,
            "converted": False, "converted_at": None, "customer_id": None,
            "custom": {"code": cells[3], "budget": cells[4], "signed_on": cells[5],
                       "grade": cells[6], "seats": int(cells[7])},
        })
    return rows


def crm_on(engine: Engine) -> tuple[CRM, Any]:
    storage = SqlStorage(engine)
    storage.create_schema()
    crm = CRM(storage, clock=FixedClock(NOW))
    admin = crm.org.setup(admin_mobile="13800000000", admin_name="王总")
    for field in CUSTOM:
        crm.fields.define(admin, "lead", field)
    return crm, admin


def empty(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(delete(leads))
        conn.execute(delete(operation_log).where(operation_log.c.record_kind == "lead"))


def bench_engine(name: str, engine: Engine, rows: int, export_rows: int) -> list[list[str]]:
    crm, admin = crm_on(engine)
    data = csv_file(rows)
    prepared = raw_rows(rows, admin.id)
    statements = Statements(engine)
    lines = []

    crm.io.import_records(admin, "lead", io.BytesIO(csv_file(10)))  # warm: compiled statements
    empty(engine)
    crm_s, count, result = statements.measure(
        lambda: crm.io.import_records(admin, "lead", io.BytesIO(data)))
    assert (result.created, result.failed) == (rows, 0), result.errors[:3]
    kinds = ", ".join(f"{k} {v}" for k, v in sorted(statements.kinds.items()))
    again_s, again_count, again = statements.measure(
        lambda: crm.io.import_records(admin, "lead", io.BytesIO(data)), breakdown=False)
    assert again.skipped == rows  # every row a duplicate of a stored code: all skipped
    empty(engine)

    def raw_insert() -> None:
        with engine.begin() as conn:
            conn.execute(insert(leads), prepared)

    raw_s, raw_count, _ = statements.measure(raw_insert, breakdown=False)
    lines.append([f"{name} import {rows:,} leads", f"{crm_s:.2f}", f"{raw_s:.2f}",
                  f"{crm_s / raw_s:.1f}×", f"{rows / crm_s:,.0f}/s",
                  f"{count} / {raw_count}"])
    lines.append([f"{name} re-import, all duplicates", f"{again_s:.2f}", "",
                  "", f"{rows / again_s:,.0f}/s", f"{again_count}"])
    print(f"{name} import statements: {kinds} (COPY on PostgreSQL is not counted)")

    empty(engine)
    if not export_rows:
        return lines
    batch = 50_000
    for start in range(0, export_rows, batch):  # the export's table, loaded raw
        chunk = raw_rows(min(batch, export_rows - start), admin.id)
        for j, row in enumerate(chunk):
            row["id"] = f"exp-{start + j:09d}"
        with engine.begin() as conn:
            conn.execute(insert(leads), chunk)
    sink = Sink()
    crm_s, exported = timed_call(lambda: crm.io.export(admin, "lead", sink))
    assert exported.rows == export_rows

    def raw_export() -> int:
        out = Sink()
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        count = 0
        with engine.connect() as conn:
            for part in conn.execute(select(leads).execution_options(yield_per=1000)).partitions():
                for row in part:
                    writer.writerow([*row[:-1], json.dumps(row[-1], ensure_ascii=False)])
                    count += 1
                out.write(buffer.getvalue().encode())
                buffer.seek(0)
                buffer.truncate()
        return count

    raw_s, counted = timed_call(raw_export)
    assert counted == export_rows
    tracemalloc.start()
    crm.io.export(admin, "lead", Sink())
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    lines.append([f"{name} export {export_rows:,} leads (CSV)", f"{crm_s:.2f}", f"{raw_s:.2f}",
                  f"{crm_s / raw_s:.1f}×", f"{export_rows / crm_s:,.0f}/s, peak "
                  f"{peak / 2**20:.0f} MiB", ""])
    empty(engine)
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--quick", action="store_true", help="10,000 / 100,000 rows")
    parser.add_argument("--rows", type=int, help="leads to import (default 100,000)")
    parser.add_argument("--export-rows", type=int,
                        help="leads to export (default 1,000,000; 0: no export)")
    add_postgres_options(parser)
    add_cpu_option(parser)
    args = parser.parse_args()
    use_clock(args)
    rows = args.rows or (10_000 if args.quick else 100_000)
    export_rows = (args.export_rows if args.export_rows is not None
                   else 100_000 if args.quick else 1_000_000)
    pg_url, pg_version = choose_postgres(args)
    print(banner("import/export", pg_version, args.quick))
    started = time.perf_counter()
    results: list[list[str]] = []
    with tempfile.TemporaryDirectory() as directory:
        engine = sqlite_engine(directory)
        results += bench_engine("SQLite", engine, rows, export_rows)
        engine.dispose()
    if pg_url:
        with postgres_engine(pg_url, "crmkit_bench_io") as engine:
            results += bench_engine("PostgreSQL", engine, rows, export_rows)
    print(text_table(["what", "crmkit s", "raw s", "ratio", "rate", "statements"], results,
                     "crm.io against raw Core (import: executemany INSERT; export: streamed "
                     "SELECT → csv.writer)"))
    print("\nImport includes what the raw insert skips: CSV parsing, cell conversion, "
          "validation, the duplicate query per batch and one operation-log row per lead.")
    print(f"total wall time {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
