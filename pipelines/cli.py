"""`accounts`: the pipeline for cron, scripts and CI (SPEC §13). It runs the same Dagster jobs the
UI shows, in process, and exits non-zero on any failure."""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import sys
import time
from pathlib import Path

import duckdb

from pipelines import paths
from pipelines.config import SEGMENTS, ConfigError, load_config


def _instance():
    from dagster import DagsterInstance

    # With DAGSTER_HOME set, runs are recorded where `dagster dev` shows them.
    return DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else DagsterInstance.ephemeral()


def _quiet_run_config(verbose: bool) -> dict:
    level = "INFO" if verbose else "WARNING"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _failure_messages(result) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            error = event.step_failure_data.error
            while error.cause:  # the user code's own error, not Dagster's wrapper
                error = error.cause
            messages.append(f"{event.step_key}: {error.message.strip()}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if not evaluation.passed:
                messages.append(f"check {evaluation.check_name} failed on {evaluation.asset_key}")
    return messages or ["the run failed (see the Dagster logs above)"]


def _execute(job_name: str, verbose: bool, **kwargs) -> None:
    from pipelines.definitions import defs

    job = defs.resolve_job_def(job_name)
    log_path = paths.warehouse_dir() / "logs" / f"{job_name}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log, contextlib.ExitStack() as stack:
        if not verbose:  # dbt writes its progress to stdout: keep it in the log file
            stack.enter_context(contextlib.redirect_stdout(log))
        result = job.execute_in_process(
            instance=_instance(), raise_on_error=False, run_config=_quiet_run_config(verbose), **kwargs
        )
    if not result.success:
        raise PipelineFailed(job_name, [*_failure_messages(result), f"dbt's output: {log_path}"])


class PipelineFailed(RuntimeError):
    def __init__(self, job: str, messages: list[str]):
        super().__init__(f"{job} failed:\n  " + "\n  ".join(messages))


def current_month() -> str:
    from pipelines.history import latest_transaction_month

    month = latest_transaction_month(paths.warehouse_path())
    if month is None:
        raise PipelineFailed("run", ["no revenue loaded: the `revenue` landing folder is empty"])
    return month


def report_stale_months() -> None:
    from pipelines.history import stale_months

    stale = stale_months(paths.warehouse_path(), paths.published_path())
    if stale:
        print(
            f"late data: {len(stale)} published month(s) are stale ({stale[0]}..{stale[-1]}); "
            "`accounts backfill --stale` recomputes exactly them"
        )


def ingest(verbose: bool) -> None:
    from pipelines.ingestion import missing_required_datasets
    from pipelines.jobs import INGEST_JOB

    landing = paths.landing_dir()
    missing = missing_required_datasets(landing)
    if missing:
        raise PipelineFailed(
            "ingest", [f"required dataset folder(s) missing or empty in {landing}: {missing}"]
        )
    print(f"loading new landing files from {landing}")
    _execute(INGEST_JOB, verbose)


def compute(month_from: str, month_to: str, verbose: bool) -> None:
    from pipelines.jobs import MONTHLY_JOB
    from pipelines.partitions import partition_of_month

    print(f"computing months {month_from}..{month_to}")
    start, end = partition_of_month(month_from), partition_of_month(month_to)
    if start == end:
        _execute(MONTHLY_JOB, verbose, partition_key=start)
    else:  # one run for the whole range (single-run backfill policy)
        # Dagster's documented run tags for a partition range (what a UI backfill sets)
        tags = {"dagster/asset_partition_range_start": start,
                "dagster/asset_partition_range_end": end}  # fmt: skip
        _execute(MONTHLY_JOB, verbose, tags=tags)


def summary(published: Path) -> str:
    con = duckdb.connect(str(published), read_only=True)
    try:
        publication_id, latest = con.execute(
            "SELECT publication_id, latest_as_of_date FROM publications "
            "ORDER BY publication_id DESC LIMIT 1"
        ).fetchone()
        grades = con.execute(
            "SELECT grade, count(*) FROM latest.customer_worth GROUP BY grade "
            "ORDER BY list_position(['AA','A','B','C','D'], grade)"
        ).fetchall()
        managers = con.execute("SELECT count(*) FROM latest.modules").fetchone()[0]
        segments = con.execute(
            "SELECT segment, count(*) FROM latest.customer_loyalty GROUP BY segment "
            "ORDER BY list_position(?, segment)",
            [list(SEGMENTS)],
        ).fetchall()
        at_risk_revenue, expected_loss = con.execute(
            "SELECT at_risk_revenue, expected_loss FROM latest.at_risk_exposure "
            "WHERE dimension = 'overall'"
        ).fetchone() or (0, 0)
        tables = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchone()[0]
    finally:
        con.close()
    customers = sum(n for _, n in grades)
    grade_text = ", ".join(f"{g} {n}" for g, n in grades)
    return (
        f"published {published} (publication {publication_id}, {tables} tables)\n"
        f"as of {latest}: {customers} graded customers ({grade_text}); "
        f"{managers} account managers with modules\n"
        f"loyalty: {', '.join(f'{s} {n}' for s, n in segments)}; "
        f"revenue at risk {at_risk_revenue:,.0f}, expected loss {expected_loss:,.0f}"
    )


def _month(text: str) -> str:
    try:
        return dt.datetime.strptime(text, "%Y-%m").strftime("%Y-%m")
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a month (YYYY-MM): {text!r}") from None


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
    args = parser.parse_args(argv)

    started = time.perf_counter()
    try:
        if args.command == "generate":
            from pipelines.generator import generate as write_sample

            counts = write_sample(args.out, customers=args.customers, seed=args.seed,
                                  file_format=args.file_format)  # fmt: skip
            rows = ", ".join(f"{name} {n:,}" for name, n in counts.items())
            print(f"wrote sample landing data to {args.out.resolve()}: {rows}")
            return 0
        load_config()  # a bad config fails here, before anything runs
        ingest(args.verbose)
        if args.command == "run":
            month = args.month or current_month()
            compute(month, month, args.verbose)
        elif args.stale:
            from pipelines.history import contiguous_ranges, stale_months

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
