"""What the bench scripts share: choosing PostgreSQL, a private schema or a throwaway SQLite
file to run in, median timings, query plans and plain-text tables.

The scripts run as ``python bench/bench_x.py``, which puts ``bench/`` first on ``sys.path``, so
they import this module as ``_common``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Index, Table, event
from sqlalchemy.exc import OperationalError

from crmkit.adapters.sqlalchemy import make_engine
from crmkit.adapters.sqlalchemy.schema import search_trigrams_too

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"

T = TypeVar("T")
J = TypeVar("J")


# -- PostgreSQL or not ------------------------------------------------------------------------


def add_postgres_options(parser: argparse.ArgumentParser) -> None:
    """``--pg URL`` and ``--no-pg``; read them back with :func:`choose_postgres`."""
    parser.add_argument(
        "--pg", metavar="URL",
        help=f"PostgreSQL URL (default: $CRMKIT_BENCH_PG_URL, else {DEFAULT_PG_URL} if reachable)",
    )
    parser.add_argument("--no-pg", action="store_true", help="skip PostgreSQL")


def choose_postgres(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(URL, server version) of the PostgreSQL to use, or (None, None) to skip it.

    ``--pg`` or ``$CRMKIT_BENCH_PG_URL`` must answer (else exit code 2); without either,
    :data:`DEFAULT_PG_URL` is used when it answers."""
    if args.no_pg:
        return None, None
    url = args.pg or os.environ.get("CRMKIT_BENCH_PG_URL")
    if url:
        version = postgres_reachable(url)
        if version is None:
            print(f"PostgreSQL at {url} is not reachable", file=sys.stderr)
            raise SystemExit(2)
        return url, version
    version = postgres_reachable(DEFAULT_PG_URL)
    return (DEFAULT_PG_URL if version else None), version


def postgres_reachable(url: str) -> str | None:
    """The server version when ``url`` accepts connections, else None."""
    try:
        engine = make_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            version = str(conn.exec_driver_sql("SHOW server_version").scalar_one())
        engine.dispose()
        return version
    except (OperationalError, ImportError):
        return None


def banner(what: str, pg_version: str | None, quick: bool, extra: str = "") -> str:
    """The first line of a script's output: what runs where."""
    return (
        f"crmkit {what} benchmark - Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, PostgreSQL {pg_version or 'skipped'}, "
        f"{os.cpu_count()} CPUs, {'quick' if quick else 'full'} run{extra}\n"
    )


# -- engines ----------------------------------------------------------------------------------


def sqlite_engine(directory: str) -> Engine:
    """A SQLite file ``bench.db`` in ``directory``, written without fsync (it is thrown away)."""
    engine = make_engine(f"sqlite:///{os.path.join(directory, 'bench.db')}")

    @event.listens_for(engine, "connect")
    def _fast_load(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute("PRAGMA synchronous = OFF")  # a throwaway file

    return engine


@contextlib.contextmanager
def postgres_engine(url: str, prefix: str = "crmkit_bench") -> Iterator[Engine]:
    """An engine whose ``search_path`` is a fresh schema ``<prefix>_<pid>``, dropped
    afterwards (even after a failure)."""
    schema = f"{prefix}_{os.getpid()}"
    admin = make_engine(url, connect_args={"connect_timeout": 5})
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        engine = make_engine(url, connect_args={"options": f"-csearch_path={schema}"})
        try:
            yield engine
        finally:
            engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        admin.dispose()


def plain_indexes(table: Table) -> list[Index]:
    """``table``'s indexes but the keyword search ones (which :func:`search_indexes` makes)."""
    return sorted((i for i in table.indexes if "_search_" not in str(i.name)),
                  key=lambda i: str(i.name))


def search_indexes(conn: Connection, table: Table) -> None:
    """PostgreSQL: ``table``'s keyword search (trigram) indexes, as crmkit's migration makes
    them. The bench schema's ``search_path`` does not include the schema ``pg_trgm`` lives in,
    so it is added for this transaction (an index keeps its operator class whatever the path
    later is). Without ``pg_trgm`` none are made, as in crmkit."""
    if conn.dialect.name != "postgresql":
        return
    search_trigrams_too(conn)
    for index in table.indexes:
        if "_search_" in str(index.name):
            index.drop(conn, checkfirst=True)
            index.create(conn)


def on_each_engine(pg_url: str | None, prefix: str,
                   bench: Callable[[str, Engine], tuple[list[list[str]], list[str]]]
                   ) -> tuple[list[list[str]], list[str]]:
    """``bench(name, engine)`` on a throwaway SQLite file, then — with ``pg_url`` — in a
    private PostgreSQL schema named after ``prefix``; their table rows and notes together."""
    results: list[list[str]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="crmkit-bench-") as directory:
        engine = sqlite_engine(directory)
        try:
            rows, more = bench("sqlite", engine)
        finally:
            engine.dispose()
        results += rows
        notes += more
    if pg_url:
        with postgres_engine(pg_url, prefix) as engine:
            rows, more = bench("pg", engine)
        results += rows
        notes += more
    return results, notes


# -- timing -----------------------------------------------------------------------------------


def timed_call(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds one call of ``fn`` took, and what it returned."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def median_of(runs: int, fn: Callable[[], object]) -> float:
    """Median wall time of ``runs`` calls of ``fn``, in seconds."""
    return statistics.median(timed_call(fn)[0] for _ in range(runs))


def round_robin(jobs: Mapping[str, J], repeats: int, run: Callable[[J], tuple[float, int]]
                ) -> tuple[dict[str, float], int]:
    """Every job ``repeats + 1`` times, interleaved; the first round is a discarded warm-up.

    ``run(job)`` runs one job and returns (seconds, count). Returns each job's median seconds
    and the count they all returned (they must agree)."""
    runs: dict[str, list[float]] = defaultdict(list)
    counts: dict[str, int] = {}
    for attempt in range(repeats + 1):
        for key, job in jobs.items():
            elapsed, counts[key] = run(job)
            if attempt:
                runs[key].append(elapsed)
    if len(set(counts.values())) != 1:
        raise AssertionError(f"the variants disagree: {counts}")
    medians = {key: statistics.median(times) for key, times in runs.items()}
    return medians, next(iter(counts.values()))


# -- output -----------------------------------------------------------------------------------


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], title: str) -> str:
    """A plain-text table: first column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    rule = "-" * len(line(headers))
    return "\n".join([title, rule, line(headers), rule, *(line(r) for r in rows), rule])


def print_report(title: str, headers: Sequence[str], rows: Sequence[Sequence[str]],
                 notes: Sequence[str], started: float) -> None:
    """The results :func:`table`, the notes under it, and the wall time since ``started``
    (a ``time.perf_counter()`` reading)."""
    print(table(headers, rows, title))
    print("\n".join(notes))
    print(f"\ntotal wall time {time.perf_counter() - started:.0f} s")


def short_sql(sql: str, limit: int = 300) -> str:
    """``sql`` on one line, cut at ``limit`` characters (id lists run to tens of thousands)."""
    indent = sql[: len(sql) - len(sql.lstrip())]
    flat = indent + " ".join(sql.split())
    return flat if len(flat) <= limit else flat[:limit] + f" … [{len(flat):,} chars]"


def explain(conn: Connection, sql: str, params: Any = None) -> str:
    """The plan of ``sql`` (``EXPLAIN`` / ``EXPLAIN QUERY PLAN``), indented for the notes."""
    postgres = conn.dialect.name == "postgresql"
    prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
    rows = conn.exec_driver_sql(prefix + sql, params or ()).all()
    return "\n".join("      " + short_sql(str(r[0] if postgres else r[-1]), 200) for r in rows)
