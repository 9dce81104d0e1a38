"""The mixed-load soak of :mod:`crmkit.testing.soak` at full scale on PostgreSQL.

    .venv/bin/python bench/soak.py                       # 90 s, 4 processes × 4 threads
    .venv/bin/python bench/soak.py --seconds 20 --processes 2 --threads 3 --seed 7

Prints one row per operation (calls, successes, conflicts, refusals, customers moved) and one
per invariant; exits 1 when an invariant is broken. Works in a private schema, dropped after.
"""

from __future__ import annotations

import argparse
import sys

from _common import add_postgres_options, choose_postgres

from crmkit.testing.soak import run_soak


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_postgres_options(parser)
    parser.add_argument("--seconds", type=float, default=90.0)
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    url, version = choose_postgres(args)
    if url is None:
        print("the soak needs PostgreSQL (--pg URL)", file=sys.stderr)
        return 2
    print(f"PostgreSQL {version}")
    report = run_soak(url, seconds=args.seconds, processes=args.processes,
                      threads=args.threads, seed=args.seed)
    print(report.table())
    for error in report.invariants["crmkit_errors_only"][:5]:
        print(error)
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
