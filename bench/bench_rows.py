"""Row conversion: how long crmkit's row mapping takes for 5,000 records of each record kind
(entity → row for INSERT, row → entity after SELECT), and a 5,000-lead ``add_many`` plus a
read of them all back on SQLite (and PostgreSQL when one answers).

    .venv/bin/python bench/bench_rows.py [--rows N] [--repeats N] [--pg URL | --no-pg]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

from _common import (
    add_postgres_options,
    choose_postgres,
    median_of,
    postgres_engine,
    print_report,
    sqlite_engine,
)
from sqlalchemy import Engine, select

from crmkit.adapters.sqlalchemy import RECORD_TABLES, SqlStorage
from crmkit.testing.approvals import sample_contract, sample_payment
from crmkit.testing.records import sample_lead
from crmkit.testing.storage import sample_department, sample_user

SAMPLES: dict[str, Callable[..., Any]] = {
    "lead": sample_lead, "contract": sample_contract, "payment": sample_payment}


def bench_conversion(n: int, repeats: int) -> list[list[str]]:
    rows = []
    for kind, make in SAMPLES.items():
        storage = RECORD_TABLES[kind]
        records = [make(f"X{i:06d}", custom={"c_text": f"v{i}", "c_int": i}) for i in range(n)]
        dumped = [storage.to_row(r) for r in records]
        assert [storage.from_row(d) for d in dumped] == records  # type: ignore[arg-type]
        to_row = median_of(repeats, lambda s=storage, r=records: [s.to_row(x) for x in r])
        from_row = median_of(repeats, lambda s=storage, d=dumped: [s.from_row(x) for x in d])
        rows.append([kind, f"{to_row * 1000:.1f}", f"{from_row * 1000:.1f}"])
    return rows


def bench_storage(engine: Engine, n: int, repeats: int) -> list[str]:
    store = SqlStorage(engine)
    store.create_schema()
    with store.transaction() as uow:
        uow.departments.add(sample_department("d1"))
        uow.users.add(sample_user("u1", "13800000001"))
    leads = [sample_lead(f"L{i:06d}", owner_id="u1", custom={"c_text": f"v{i}"})
             for i in range(n)]
    table = RECORD_TABLES["lead"].table

    def add() -> None:
        with store.transaction() as uow:
            uow.records("lead").add_many(leads)
            uow.connection.execute(table.delete())  # type: ignore[attr-defined]

    add_time = median_of(repeats, add)
    with store.transaction() as uow:
        uow.records("lead").add_many(leads)

    def read() -> None:
        with store.transaction() as uow:
            rows = uow.connection.execute(select(table)).mappings().all()  # type: ignore[attr-defined]
            assert len([RECORD_TABLES["lead"].from_row(r) for r in rows]) == n

    read_time = median_of(repeats, read)
    return [engine.dialect.name, f"{add_time * 1000:.0f}", f"{read_time * 1000:.0f}"]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=7)
    add_postgres_options(parser)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    print_report(f"row mapping, {args.rows} records (median ms)", ["kind", "to_row", "from_row"],
                 bench_conversion(args.rows, args.repeats), [], started)
    engines = []
    with tempfile.TemporaryDirectory() as directory:
        engines.append(bench_storage(sqlite_engine(directory), args.rows, args.repeats))
        url, _ = choose_postgres(args)
        if url is not None:
            with postgres_engine(url) as engine:
                engines.append(bench_storage(engine, args.rows, args.repeats))
    print_report(f"{args.rows} leads (median ms)", ["engine", "add_many", "SELECT + from_row"],
                 engines, [], started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
