"""crmkit's command line, for operators and first-time readers.

commands:
  demo     build a sample company (星河软件) on an SQLite file, simulate a quarter of its
           sales team and print the dashboard and audit trails (--html: also a web page)
  sweep    the nightly cron job: warn owners, reclaim due customers into the public pool
           (公海), send the due reminders (--dry-run: report the reclaim only)
  export   write the records of one kind a user may see to a CSV or XLSX file (导出)
  import   read a CSV or XLSX file into records of one kind as a user (导入); refused rows
           go to an error file
  db       crmkit's schema migrations: upgrade, current, downgrade

examples:
  crmkit demo --html report.html
  crmkit sweep --db postgresql://crm@db/crm
  crmkit export --db sqlite:///crm.db --kind customers --as 13800000000 -o customers.csv
  crmkit import --db sqlite:///crm.db --kind leads --as 13800000000 leads.xlsx

Every failure an operator can cause (a mistyped command or option, a bad URL, an unreachable
or missing database, a missing extra, a missing or outdated schema, an unknown user or kind, a
refused request) ends with one line on stderr (`crmkit: error: …`, in Chinese and English where
crmkit has both) and exit status 1, never a traceback (--traceback shows it). Commands other
than `demo` and `db upgrade` never create anything on a database without crmkit's schema. Long
work (import, export, sweep, demo) shows a progress bar on a terminal and plain lines when
piped.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

__all__ = ["main"]

KIND_HELP = "record kind: lead(s), customer(s), contact(s), opportunity/opportunities, " \
            "contract(s), payment(s), product(s), task(s) or a host's kind"
AS_HELP = "act as this user (mobile number or id): their permissions and data scope apply"


class _Parser(argparse.ArgumentParser):
    """argparse's parser with a usage mistake reported like every other failure: one line,
    exit status 1 (argparse prints the usage and exits 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(1, f"crmkit: error: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from crmkit.demo import DEFAULT_SEED, DEFAULT_URL

    raw = argparse.RawDescriptionHelpFormatter
    parser = _Parser(prog="crmkit", description=__doc__, formatter_class=raw)
    parser.add_argument("--traceback", action="store_true",
                        help="show a failure's traceback instead of one line")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo", formatter_class=raw, help="simulate a sample company's quarter, show its dashboard",
        description="Build 星河软件 (20 people, pools, stage groups, products, approval flows) on "
                    "an SQLite file, simulate July–September 2026 of its sales team through "
                    "crm.* with a fixed seed, then print the dashboard (sales brief, targets, "
                    "funnel, trend, rankings) and audit trails. The database stays for "
                    "inspection; a previous demo file at the same path is replaced.")
    demo.add_argument("--db", default=DEFAULT_URL,
                      help=f"database URL (default {DEFAULT_URL}; another database must be empty)")
    demo.add_argument("--seed", type=int, default=DEFAULT_SEED,
                      help=f"random seed of the simulation (default {DEFAULT_SEED})")
    demo.add_argument("--html", type=Path, metavar="FILE",
                      help="also write the dashboard as one static HTML page with SVG charts")

    sweep = commands.add_parser(
        "sweep", help="warn owners, reclaim due customers, send due reminders (for cron)",
        description="The scheduled work, run nightly by cron: warn owners of customers about "
                    "to be reclaimed, reclaim due customers into their pools (公海回收), then "
                    "send the due reminders, each once. Needs an existing crmkit schema.")
    sweep.add_argument("--db", required=True, help="database URL (schema must exist)")
    sweep.add_argument("--dry-run", action="store_true",
                       help="report what the sweep would reclaim; change nothing")

    export = commands.add_parser(
        "export", help="write the records of one kind a user may see to CSV or XLSX",
        description="导出: the records of one kind the user sees (their data scope), with field "
                    "labels as headers, names instead of ids, times in the organisation's "
                    "timezone. CSV is UTF-8 with a byte-order mark (Excel reads it).")
    _io_arguments(export)
    export.add_argument("-o", "--output", type=Path, required=True, metavar="FILE",
                        help="the file to write (.xlsx → XLSX, anything else CSV)")

    imp = commands.add_parser(
        "import", help="read a CSV or XLSX file into records of one kind",
        description="导入: one record per row, each row validated on its own; bad rows are "
                    "refused with their row, column and reason and written to an error file. "
                    "Exit status 1 when any row was refused.")
    _io_arguments(imp)
    imp.add_argument("file", type=Path, help="the CSV or XLSX file to read")
    imp.add_argument("--on-duplicate", choices=("skip", "overwrite"), default="skip",
                     help="a row whose unique value is stored: skip it (default) or overwrite")
    imp.add_argument("--match-on", metavar="FIELD",
                     help="the field that finds duplicates (default the kind's unique fields); "
                          "with --followups, the field naming each row's record")
    imp.add_argument("--followups", action="store_true",
                     help="the rows are follow-up history (跟进记录) on existing records")
    imp.add_argument("--errors", type=Path, metavar="FILE",
                     help="where refused rows go (default FILE.errors.csv beside the input)")

    db = commands.add_parser("db", help="crmkit's schema migrations (needs crmkit[migrations])",
                             description="Alembic migrations of crmkit's tables.")
    actions = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="migrate to a revision (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    current = actions.add_parser("current", help="show the applied revision")
    downgrade = actions.add_parser("downgrade", help="undo migrations down to a revision")
    downgrade.add_argument("revision", help="target revision (base: remove crmkit's tables)")
    for action in (upgrade, current, downgrade):
        action.add_argument("--url", required=True, help="database URL")
    return parser


def _io_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--db", required=True, help="database URL (schema must exist)")
    command.add_argument("--kind", required=True, help=KIND_HELP)
    command.add_argument("--as", dest="actor", required=True, metavar="USER", help=AS_HELP)
    command.add_argument("--format", choices=("csv", "xlsx"),
                         help="file format (default: from the file name)")
    command.add_argument("--language", choices=("zh", "en"), default="zh",
                         help="headers and messages in Chinese (default) or English")


def one_line(err: BaseException) -> str:
    """A failure as one line: crmkit's errors in Chinese and English with their code (each
    field of a ValidationError), a database driver's first line without SQLAlchemy's
    statement and links, anything else its first line."""
    from crmkit.errors import CrmError, ValidationError

    if isinstance(err, ValidationError) and err.errors:
        text = "; ".join(f"{e.message_zh} / {e.message_en} [{e.code}]" for e in err.errors)
    elif isinstance(err, CrmError):
        text = f"{err.message_zh} / {err.message_en} [{err.code}]"
    else:
        text = str(err)
        if "sqlalchemy" in type(err).__module__:
            text = str(getattr(err, "orig", None) or err)
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def _run(args: argparse.Namespace) -> int:
    from crmkit import commands
    from crmkit.console import Progress

    if args.command == "demo":
        from crmkit.demo.run import run_demo

        run_demo(args.db, seed=args.seed, out=sys.stdout, html=args.html,
                 progress=Progress("模拟 simulating", unit="days"))
    elif args.command == "sweep":
        print(commands.run_sweep(args.db, dry_run=args.dry_run,
                                 progress=Progress("公海 sweep", unit="steps")))
    elif args.command == "export":
        print(commands.export_records(args.db, args.kind, args.actor, args.output,
                                      format=args.format, language=args.language,
                                      progress=Progress("导出 export")))
    elif args.command == "import":
        summary = commands.import_file(
            args.db, args.kind, args.actor, args.file, format=args.format,
            on_duplicate=args.on_duplicate, match_on=args.match_on, followups=args.followups,
            errors=args.errors, language=args.language, progress=Progress("导入 import"))
        print(summary.text)
        if summary.failed:
            print(f"crmkit: error: {summary.failed} row(s) refused / {summary.failed} 行未导入; "
                  f"see {summary.errors_file}", file=sys.stderr)
            return 1
    else:
        print(commands.run_db(args.action, args.url, getattr(args, "revision", "head")))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _run(args)
    except KeyboardInterrupt:
        print("crmkit: interrupted", file=sys.stderr)
        return 130
    except Exception as err:
        if args.traceback:
            raise
        print(f"crmkit: error: {one_line(err)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
