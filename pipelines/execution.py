"""Running the pipeline's Dagster jobs in process, as the `accounts` command does: the same jobs
the UI shows, with their logs kept in a file and failures turned into short messages."""

from __future__ import annotations

import contextlib
import os

from pipelines.core import paths
from pipelines.core.months import partition_key


class PipelineFailed(RuntimeError):
    def __init__(self, job: str, messages: list[str]):
        super().__init__(f"{job} failed:\n  " + "\n  ".join(messages))


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
    from pipelines.definitions import build_definitions

    job = build_definitions().resolve_job_def(job_name)
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


def current_month() -> str:
    from pipelines.freshness.stale import latest_transaction_month

    month = latest_transaction_month(paths.warehouse_path())
    if month is None:
        raise PipelineFailed("run", ["no revenue loaded: the `revenue` landing folder is empty"])
    return month


def report_stale_months() -> None:
    from pipelines.freshness.stale import stale_months

    stale = stale_months(paths.warehouse_path(), paths.published_path())
    if stale:
        print(
            f"late data: {len(stale)} published month(s) are stale ({stale[0]}..{stale[-1]}); "
            "`accounts backfill --stale` recomputes exactly them"
        )


def ingest(verbose: bool) -> None:
    from pipelines.ingest.landing import missing_required_datasets
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

    print(f"computing months {month_from}..{month_to}")
    start, end = partition_key(month_from), partition_key(month_to)
    if start == end:
        _execute(MONTHLY_JOB, verbose, partition_key=start)
    else:  # one run for the whole range (single-run backfill policy)
        # Dagster's documented run tags for a partition range (what a UI backfill sets)
        tags = {"dagster/asset_partition_range_start": start,
                "dagster/asset_partition_range_end": end}  # fmt: skip
        _execute(MONTHLY_JOB, verbose, tags=tags)


