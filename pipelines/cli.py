"""`accounts`: the pipeline for cron, scripts and CI (SPEC §13). It runs the same Dagster jobs the
UI shows, in process, prints what it did and where the published file is, and exits non-zero on
any failure with a short message that says what failed and where the details are."""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

from pipelines.core import paths
from pipelines.core.config import ConfigError, load_config
from pipelines.core.engine import EngineError, engine
from pipelines.core.months import MonthError, months_between, parse_month
from pipelines.execution import (
    PipelineFailed,
    check_months,
    compute,
    data_months,
    ingest,
    log_exception,
    report_stale_months,
)
from pipelines.freshness.current import package_version
from pipelines.freshness.drift import ConfigDrift, config_drift, refuse_drift
from pipelines.publication.export import ExportError
from pipelines.transforms.docs import DocsFailed


def _month(text: str) -> str:
    try:
        return parse_month(text)
    except MonthError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="accounts", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="show Dagster's and dbt's logs")
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="load new landing files, compute the current month, check and publish"
    )
    run.add_argument("--month", type=_month, help="compute this month instead of the current one")
    run.add_argument(
        "--force", action="store_true", help="compute even when nothing is new since the latest publication"
    )
    backfill = commands.add_parser(
        "backfill", help="load new files, then compute a month range in one run, in month order, and publish"
    )
    months = backfill.add_mutually_exclusive_group(required=True)
    months.add_argument("--from", dest="month_from", type=_month, help="first month (with --to)")
    months.add_argument("--stale", action="store_true", help="the published months late data made stale")
    backfill.add_argument("--to", dest="month_to", type=_month, help="last month (with --from)")
    for command in (run, backfill):
        command.add_argument(
            "--allow-config-drift",
            action="store_true",
            help="publish even though earlier months were computed with another configuration",
        )
    plan = commands.add_parser(
        "plan",
        help="load new landing files and preview a month's assignment (moves, before/after per manager); "
        "publishes nothing",
    )
    plan.add_argument("--month", type=_month, help="plan this month instead of the latest month of the data")
    plan.add_argument(
        "--out", type=Path, help="where to write the preview's CSV files (default <warehouse>/plans/<month>)"
    )
    generate = commands.add_parser("generate", help="write deterministic sample landing data")
    generate.add_argument("--customers", type=int, default=3000)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--out", type=Path, required=True)
    generate.add_argument("--format", dest="file_format", default="auto", choices=["auto", "csv", "parquet"])
    compare = commands.add_parser(
        "compare",
        help="compare the tables of two published files (EXCEPT ALL both ways); exit 1 when any differs",
    )
    compare.add_argument("left", type=Path)
    compare.add_argument("right", type=Path)
    compare.add_argument(
        "--tolerance",
        type=float,
        default=0.0,
        help="relative tolerance for floating-point columns (default: exact)",
    )
    export = commands.add_parser(
        "export",
        help="write a view of the published file's `bi` schema (e.g. call_list, scorecard, "
        "worth_matrix_grid) as CSV, Parquet or Excel",
    )
    export.add_argument("view", help="a view of the bi schema: call_list, scorecard, worth_matrix_grid, ...")
    export.add_argument(
        "--as-of", dest="as_of", help="snapshot date YYYY-MM-DD, or `all` (default: the latest)"
    )
    export.add_argument("--manager", help="only this account manager's rows (manager_id)")
    export.add_argument("--format", dest="file_format", choices=["csv", "parquet", "xlsx"],
                        help="default: from --out's suffix, else csv")  # fmt: skip
    export.add_argument(
        "--out", type=Path, help="default <warehouse>/exports/<view>_<as-of>[_<manager>].<format>"
    )
    docs = commands.add_parser(
        "docs", help="build the dbt docs site of the published tables (one HTML file) and print its path"
    )
    docs.add_argument("--out", type=Path, help="default <warehouse>/dbt_docs")
    ui = commands.add_parser(
        "ui", help="start Dagster's web UI on the runs `accounts` recorded (dagster dev; Ctrl-C stops it)"
    )
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument("--host", default="127.0.0.1")
    dbt = commands.add_parser(
        "dbt",
        help="run a dbt command on the working warehouse with the pipeline's vars and months, e.g. "
        "`accounts dbt --month 2026-10 -- build -s int_customer_purchases` (no run may be writing it)",
    )
    dbt.add_argument("--month", type=_month, help="the run's month (default: the latest month of the data)")
    dbt.add_argument("dbt_args", nargs=argparse.REMAINDER, help="the dbt command and its options, after --")
    report = commands.add_parser("report", help="rebuild the HTML report of the published file")
    report.add_argument("--out", type=Path, help="default: report.html beside the published file")
    return parser


def export(args: argparse.Namespace) -> int:
    from pipelines.publication.export import export_view

    result = export_view(
        paths.published_path(), args.view, args.out, args.as_of, args.manager, args.file_format
    )
    print(f"wrote {result.rows:,} rows of bi.{args.view} (as of {result.as_of_date}) to {result.path}")
    return 0


def docs(args: argparse.Namespace) -> int:
    from pipelines.transforms.docs import build_docs

    index = build_docs(paths.published_path(), args.out or paths.warehouse_dir() / "dbt_docs")
    print(f"dbt docs of the published tables: {index}")
    return 0


def ui(args: argparse.Namespace) -> int:
    import os
    import subprocess

    from pipelines.execution import dagster_home

    home = dagster_home()
    print(f"Dagster UI on http://{args.host}:{args.port} (runs recorded in {home}); Ctrl-C stops it")
    command = [str(Path(paths.ENVIRONMENT_BIN) / "dagster"), "dev", "-m", "pipelines.definitions",
               "-h", args.host, "-p", str(args.port)]  # fmt: skip
    try:
        return subprocess.call(command, env=os.environ | {"DAGSTER_HOME": str(home)})
    except KeyboardInterrupt:
        return 0


def dbt(args: argparse.Namespace) -> int:
    """dbt by hand on the DuckDB warehouse, as the pipeline runs it: the project, the profile's
    warehouse path, the config's vars, the month as ACCOUNTS_MONTH_FROM / _TO (environment
    variables, as the pipeline passes them: other vars would make dbt re-parse the project).
    Returns dbt's exit code."""
    import os
    import subprocess

    from pipelines.transforms.project import TARGET_PATH, dbt_command

    dbt_args = args.dbt_args[1:] if args.dbt_args[:1] == ["--"] else args.dbt_args
    if not dbt_args:
        raise PipelineFailed("dbt", ["name a dbt command after --, e.g. `accounts dbt -- ls -s marts`"])
    if args.month:
        month = args.month
    else:
        try:
            month = data_months()[1]
        except PipelineFailed:
            raise PipelineFailed(
                "dbt", ["no revenue loaded yet: pass --month YYYY-MM, or run `accounts run` first"]
            ) from None
    environment = os.environ | {
        "ACCOUNTS_WAREHOUSE_PATH": str(paths.warehouse_path()),
        "ACCOUNTS_MONTH_FROM": month,
        "ACCOUNTS_MONTH_TO": month,
    }
    return subprocess.call(dbt_command(*dbt_args, "--target-path", str(TARGET_PATH)), env=environment)


def report(args: argparse.Namespace) -> int:
    from pipelines.report.build import build_report

    print(f"report: {build_report(paths.published_path(), args.out)}")
    return 0


def compare_files(left: Path, right: Path, tolerance: float) -> int:
    from pipelines.publication.compare import compare_publications

    results = compare_publications(left, right, tolerance)
    for result in results:
        print(result)
    different = [r.table for r in results if not r.equal]
    print(
        f"{len(results) - len(different)} of {len(results)} tables equal"
        + (f"; different: {', '.join(different)}" if different else "")
    )
    return 1 if different else 0


def generate(args: argparse.Namespace) -> int:
    from sample_data import generate as write_sample

    counts = write_sample(args.out, customers=args.customers, seed=args.seed, file_format=args.file_format)
    rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
    print(f"wrote sample landing data to {args.out.resolve()}: {rows}")
    return 0


def _months_to_compute(args: argparse.Namespace) -> list[tuple[str, str]]:
    """The month ranges the command computes (after the landing files are loaded)."""
    from pipelines.core.months import contiguous_ranges
    from pipelines.freshness.stale import stale_months

    if args.command == "run":
        month = args.month or data_months()[1]
        return [(month, month)]
    if args.stale:
        return contiguous_ranges(stale_months(paths.warehouse_path(), paths.published_path()))
    if not args.month_to:
        raise PipelineFailed("backfill", ["--to YYYY-MM is required with --from"])
    return [(args.month_from, args.month_to)]


def refresh(args: argparse.Namespace) -> int:
    """run and backfill: load, compute, check, publish."""
    from pipelines.freshness.current import nothing_new

    started = time.perf_counter()
    settings = load_config()  # a bad config fails here, before anything runs
    engine()  # so does an engine this environment cannot run
    if args.command == "run" and not (args.month or args.force):
        published = paths.published_path()
        up_to_date = nothing_new(
            paths.warehouse_path(), published, paths.landing_dir(), settings, paths.report_path_for(published)
        )
        if up_to_date:
            print(up_to_date.reason)
            report_stale_months(up_to_date.stale_months)
            print(f"done in {time.perf_counter() - started:.1f} s")
            return 0
    # what computing needs, dagster-dbt among it (~1.3 s of imports): not a night with nothing new
    from pipelines.publication.assets import ALLOW_DRIFT_TAG, RESTATE_STUDY_TAG
    from pipelines.publication.summary import summary

    ingest(args.verbose)
    ranges = _months_to_compute(args)
    if not ranges:
        print("no stale months: nothing to backfill")
        return 0
    data = data_months()
    for month_from, month_to in ranges:
        check_months(month_from, month_to, data)  # before anything is computed
    months = [m for a, b in ranges for m in months_between(a, b)]
    restates = args.command == "backfill"  # a backfill restates its months and the study on purpose
    drift = config_drift(paths.published_path(), settings, months)
    if not args.allow_config_drift:
        refuse_drift(drift, restates, str(paths.config_path()))
    tags = {RESTATE_STUDY_TAG: str(restates).lower(), ALLOW_DRIFT_TAG: str(args.allow_config_drift).lower()}
    for month_from, month_to in ranges:
        compute(month_from, month_to, args.verbose, tags)
    if drift:
        print("config drift, published knowingly:\n  " + "\n  ".join(drift.lines()), file=sys.stderr)
    report_stale_months()
    print(summary(paths.published_path()))
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


def plan(args: argparse.Namespace) -> int:
    """The assignment preview: load, grade the month, print the plan and where its files are."""
    from pipelines.assignment.plan import PREVIEW_FILE
    from pipelines.execution import plan as plan_month

    load_config()  # a bad config fails here, before anything runs
    ingest(args.verbose)
    directory = plan_month(args.month or data_months()[1], args.out, args.verbose)
    print((directory / PREVIEW_FILE).read_text(), end="")
    print(f"files: {directory} (moves.csv, managers.csv, pins.csv)")
    return 0


COMMANDS = {"plan": plan, "export": export, "docs": docs, "ui": ui, "report": report, "dbt": dbt}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "generate":
            return generate(args)
        if args.command == "compare":
            return compare_files(args.left, args.right, args.tolerance)
        if args.command in COMMANDS:
            return COMMANDS[args.command](args)
        return refresh(args)
    except (
        ConfigError,
        EngineError,
        PipelineFailed,
        ConfigDrift,
        MonthError,
        ExportError,
        DocsFailed,
    ) as exc:
        print(f"accounts {args.command}: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: a short message here, the traceback in the log
        path = log_exception("accounts", exc)
        print(
            f"accounts {args.command}: unexpected error: {type(exc).__name__}: {exc} (traceback in {path})",
            file=sys.stderr,
        )
        return 1


def console() -> None:
    """The `accounts` command: `main` in a process of its own. A short batch process holding
    hundreds of thousands of long-lived objects (Dagster's definitions, dbt's manifest): the
    garbage collector runs seldom (a nightly run at 100k customers spent 2.0 s collecting with
    Python's defaults, 0.7 s with these) and skips its last pass over everything still alive at
    exit (1.9 s), which frees nothing a finished process needs."""
    gc.set_threshold(50_000, 20, 10)
    code = main()
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    console()
