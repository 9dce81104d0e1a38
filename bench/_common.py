"""What the bench scripts share: choosing PostgreSQL, a private schema or a throwaway SQLite
file to run in, median timings, query plans and plain-text tables.

The scripts run as ``python bench/bench_x.py``, which puts ``bench/`` first on ``sys.path``, so
they import this module as ``_common``.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import platform
import pstats
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
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
                   bench: Callable[[str, Engine], tuple[list[list[str]], list[str]]],
                   *, sqlite: bool = True) -> tuple[list[list[str]], list[str]]:
    """``bench(name, engine)`` on a throwaway SQLite file (unless not ``sqlite``), then — with
    ``pg_url`` — in a private PostgreSQL schema named after ``prefix``; their table rows and
    notes together."""
    results: list[list[str]] = []
    notes: list[str] = []
    if sqlite:
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


def analyze(engine: Engine, tables: Iterable[str]) -> None:
    """Fresh statistics after a load or a round of mass writes (untimed), as autovacuum would
    give: ``VACUUM ANALYZE`` of ``tables`` on PostgreSQL, ``ANALYZE`` on SQLite."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for name in tables:
                conn.exec_driver_sql(f"VACUUM ANALYZE {name}")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


# -- statements -------------------------------------------------------------------------------


class Statements:
    """Counts the statements SQLAlchemy sends to the driver (an executemany counts once per
    driver call; ``COPY`` is not seen) while :meth:`counting` is active: :attr:`count` in all,
    :attr:`kinds` by verb and first ``crm_`` table (a breakdown that grows with a batch's size
    is a statement per record)."""

    def __init__(self, engine: Engine) -> None:
        self.active = False
        self.breakdown = True
        self.count = 0
        self.kinds: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._record)

    def _record(self, conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if self.active:
            self.count += 1
            if not self.breakdown:
                return
            words = statement[:160].split()
            verb = words[0].upper() if words else "?"
            target = next((w for w in words[1:12] if w.startswith("crm_")), "")
            target = target.split(".")[0].rstrip(",")
            self.kinds[f"{verb} {target}".strip()] += 1

    @contextlib.contextmanager
    def counting(self) -> Iterator[Counter[str]]:
        """Count while inside; yields :attr:`kinds` (running: :meth:`reset` starts afresh)."""
        self.active = True
        try:
            yield self.kinds
        finally:
            self.active = False

    def measure(self, fn: Callable[[], T], *, breakdown: bool = True) -> tuple[float, int, T]:
        """(seconds, statements, result) of one call of ``fn``; ``breakdown=False`` leaves
        :attr:`kinds` alone (the hand-written side)."""
        before, self.breakdown = self.count, breakdown
        with self.counting():
            elapsed, result = timed_call(fn)
        self.breakdown = True
        return elapsed, self.count - before, result

    def reset(self) -> None:
        self.count, self.kinds = 0, Counter()


# -- timing -----------------------------------------------------------------------------------


CLOCK: list[Callable[[], float]] = [time.perf_counter]
"""What :func:`timed_call` reads: the wall clock, or with ``--cpu`` this process's CPU time."""


def add_cpu_option(parser: argparse.ArgumentParser) -> None:
    """``--cpu``: time this process's CPU instead of the wall clock (see :func:`use_clock`)."""
    parser.add_argument(
        "--cpu", action="store_true",
        help="time this process's CPU (steadier on a busy machine; on PostgreSQL it leaves "
             "out the server's work, so use the wall clock there)")


def use_clock(args: argparse.Namespace) -> None:
    """Switch :func:`timed_call` to CPU time when ``--cpu`` was given."""
    CLOCK[0] = time.process_time if args.cpu else time.perf_counter


def timed_call(fn: Callable[[], T]) -> tuple[float, T]:
    """Seconds one call of ``fn`` took (:data:`CLOCK`), and what it returned."""
    start = CLOCK[0]()
    result = fn()
    return CLOCK[0]() - start, result


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


def add_profile_option(parser: argparse.ArgumentParser, what: str) -> None:
    """``--profile N``: cProfile's top N entries of ``what``."""
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help=f"print cProfile's top N entries (own time) of {what}")


def profiled(fn: Callable[[], T], top: int, sort: str = "tottime") -> tuple[T, str]:
    """``fn()`` under cProfile: its result and the top ``top`` entries by ``sort``."""
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        result = fn()
    finally:
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats(sort).print_stats(top)
    return result, out.getvalue()


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
