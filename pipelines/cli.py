"""`accounts`: the pipeline for cron, scripts and CI (SPEC §13). It runs the same Dagster jobs the
UI shows, in process, and exits non-zero on any failure."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from pipelines.core import paths
from pipelines.core.config import ConfigError, load_config
from pipelines.core.months import MonthError, parse_month
from pipelines.execution import PipelineFailed, compute, current_month, ingest, report_stale_months
from pipelines.publication.summary import summary


def _month(text: str) -> str:
    try:
        return parse_month(text)
    except MonthError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def compare_files(left: Path, right: Path, tolerance: float) -> int:
    from pipelines.publication.compare import compare_publications

    results = compare_publications(left, right, tolerance)
    for result in results:
        print(result)
    different = [r.table for r in results if not r.equal]
    print(f"{len(results) - len(different)} of {len(results)} tables equal" +
          (f"; different: {', '.join(different)}" if different else ""))  # fmt: skip
    return 1 if different else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="accounts", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster's run logs")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="load new landing files, compute the current month, "
                              "check and publish")  # fmt: skip
    run.add_argument("--month", type=_month, help="compute this month instead of the current one")
    backfill = commands.add_parser("backfill", help="load new files, then compute a month range "
                                   "in one run, in month order, and publish")  # fmt: skip
    months = backfill.add_mutually_exclusive_group(required=True)
    months.add_argument("--from", dest="month_from", type=_month, help="first month (with --to)")
    months.add_argument("--stale", action="store_true",
                        help="the published months late data made stale")  # fmt: skip
    backfill.add_argument("--to", dest="month_to", type=_month, help="last month (with --from)")
    generate = commands.add_parser("generate", help="write deterministic sample landing data")
    generate.add_argument("--customers", type=int, default=3000)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--format", dest="file_format", default="auto",
                          choices=["auto", "csv", "parquet"])  # fmt: skip
    compare = commands.add_parser("compare", help="compare the tables of two published files "
                                  "(EXCEPT ALL both ways); exit 1 when any differs")  # fmt: skip
    compare.add_argument("left", type=Path)
    compare.add_argument("right", type=Path)
    compare.add_argument("--tolerance", type=float, default=0.0,
                         help="relative tolerance for floating-point columns (default: exact)")  # fmt: skip
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        if args.command == "generate":
            from sample_data import generate as write_sample

            counts = write_sample(args.out, customers=args.customers, seed=args.seed,
                                  file_format=args.file_format)  # fmt: skip
            rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
            print(f"wrote sample landing data to {args.out.resolve()}: {rows}")
            return 0
        if args.command == "compare":
            return compare_files(args.left, args.right, args.tolerance)
        load_config()  # a bad config fails here, before anything runs
        ingest(args.verbose)
        if args.command == "run":
            month = args.month or current_month()
            compute(month, month, args.verbose)
        elif args.stale:
            from pipelines.core.months import contiguous_ranges
            from pipelines.freshness.stale import stale_months

            stale = stale_months(paths.warehouse_path(), paths.published_path())
            if not stale:
                print("no stale months: nothing to backfill")
                return 0
            for month_from, month_to in contiguous_ranges(stale):
                compute(month_from, month_to, args.verbose)
        else:
            if not args.month_to or args.month_to < args.month_from:
                raise PipelineFailed("backfill", ["--to YYYY-MM is required and must not precede --from"])
            compute(args.month_from, args.month_to, args.verbose)
        report_stale_months()
        print(summary(paths.published_path()))
        print(f"done in {time.perf_counter() - started:.1f} s")
        return 0
    except (ConfigError, PipelineFailed) as exc:
        print(f"accounts {args.command}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
