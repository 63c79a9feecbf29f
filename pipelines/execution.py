"""Running the pipeline's Dagster jobs in process, as the `accounts` command does: the same jobs
the UI shows. Everything they log goes to one log file per job (dbt's output, Dagster's events,
the full traceback of a failure); a failure reaches the person as a few lines that say what
failed and where to look.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import traceback
import uuid
from collections.abc import Iterator
from pathlib import Path

from pipelines.core import paths
from pipelines.core.months import partition_key


class PipelineFailed(RuntimeError):
    def __init__(self, job: str, messages: list[str]):
        super().__init__(f"{job} failed:\n  " + "\n  ".join(messages))


def log_path(name: str) -> Path:
    path = paths.warehouse_dir() / "logs" / f"{name}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def log_exception(name: str, exc: BaseException) -> Path:
    """Append the full traceback of `exc` to the log `name`; return its path."""
    path = log_path(name)
    with open(path, "a") as log:
        log.write("\n" + "".join(traceback.format_exception(exc)))
    return path


SETTINGS_HEADER = "# Written by `accounts`"
DAGSTER_SETTINGS = f"""\
{SETTINGS_HEADER}: the Dagster instance its runs are recorded in (`accounts ui` shows them).
telemetry:
  enabled: false
# Dagster's SQLite event log with open connections (pipelines/event_log.py): same files, faster
event_log_storage:
  module: pipelines.event_log
  class: PooledSqliteEventLogStorage
  config:
    base_dir: {{base_dir}}
"""


def dagster_home() -> Path:
    """Where runs are recorded: `DAGSTER_HOME`, else `dagster/` in the warehouse folder, so that
    `accounts ui` (or `dagster dev` with the same DAGSTER_HOME) shows every CLI run."""
    home = Path(os.environ.get("DAGSTER_HOME") or paths.warehouse_dir() / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    settings = home / "dagster.yaml"
    written = DAGSTER_SETTINGS.format(base_dir=home / "history" / "runs")
    # a file a person wrote is theirs; one an earlier version of `accounts` wrote is brought up to date
    current = settings.read_text() if settings.exists() else SETTINGS_HEADER
    if current.startswith(SETTINGS_HEADER) and current != written:
        settings.write_text(written)
    return home


def _instance():
    from dagster import DagsterInstance

    return DagsterInstance.from_config(str(dagster_home()))


def _run_config(verbose: bool) -> dict:
    # on the terminal only with -v; the log file gets everything
    level = "INFO" if verbose else "CRITICAL"
    return {"loggers": {"console": {"config": {"log_level": level}}}}


def _innermost(error):
    while error.cause:  # the user code's own error, not Dagster's wrappers
        error = error.cause
    return error


def _short(error) -> str:
    """The part of an error a person acts on. dbt in the run's process (DuckDB) fails with what
    dbt reported and where its log is: without the exception's module path. dbt's subprocess
    (Spark) fails with its whole command line: keep the lines dbt itself reported."""
    message = error.message.strip()
    if error.cls_name == "DbtFailed":
        return message.split(": ", 1)[-1]
    if error.cls_name == "DagsterDbtCliRuntimeError" and "Errors parsed from dbt logs:" in message:
        reported = message.split("Errors parsed from dbt logs:", 1)[1].strip().splitlines()
        return "dbt build failed:\n    " + "\n    ".join(line.strip() for line in reported[:12])
    return message


def _failure_messages(result) -> list[str]:
    messages = []
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            messages.append(f"{event.step_key}: {_short(_innermost(event.step_failure_data.error))}")
        elif event.event_type_value == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            evaluation = event.event_specific_data
            messages.append(
                f"check {evaluation.check_name} failed on {evaluation.asset_key.to_user_string()}"
            )
    return messages or ["the run failed"]


def _write_run_log(log, instance, result) -> None:
    """Dagster's events of the run, then the full traceback of every failure."""
    for record in instance.all_logs(result.run_id):
        when = dt.datetime.fromtimestamp(record.timestamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        level = logging.getLevelName(record.level)
        log.write(f"{when} {level} {record.step_key or '-'} {record.user_message}\n")
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error:
            log.write(f"\n{event.step_key} failed:\n{event.step_failure_data.error.to_string()}\n")


@contextlib.contextmanager
def _quiet(log, verbose: bool) -> Iterator[None]:
    with contextlib.ExitStack() as stack:
        if not verbose:  # dbt writes its progress to stdout: keep it in the log file
            stack.enter_context(contextlib.redirect_stdout(log))
        yield


def _execute(
    job_name: str,
    verbose: bool,
    months: tuple[str, str] | None = None,
    ops: dict | None = None,
    title: str = "",
    **kwargs,
) -> None:
    from pipelines.definitions import build_definitions
    from pipelines.progress import RunProgress

    job = build_definitions(months).resolve_job_def(job_name)
    path = log_path(job_name)
    run_id = str(uuid.uuid4())
    with _instance() as instance, open(path, "w") as log:
        with RunProgress(instance, run_id, title or job_name, live=not verbose), _quiet(log, verbose):
            result = job.execute_in_process(
                instance=instance,
                raise_on_error=False,
                run_config=_run_config(verbose) | ({"ops": ops} if ops else {}),
                run_id=run_id,
                **kwargs,
            )
        _write_run_log(log, instance, result)
    if not result.success:
        raise PipelineFailed(job_name, [*_failure_messages(result), f"every detail: {path}"])


def data_months() -> tuple[str, str]:
    """The months of the first and the latest transaction loaded."""
    from pipelines.freshness.stale import transaction_months

    months = transaction_months(paths.warehouse_path())
    if months is None:
        raise PipelineFailed("run", ["no revenue loaded: the `revenue` landing folder is empty"])
    return months


def check_months(month_from: str, month_to: str, data: tuple[str, str]) -> None:
    """The months asked for lie within the data's; the range does not end before it starts."""
    first, last = data
    data_range = f"transactions run from {first} to {last}"
    if month_to < month_from:
        raise PipelineFailed(
            "run", [f"month range ends before it starts: {month_from}..{month_to} ({data_range})"]
        )
    outside = [m for m in (month_from, month_to) if not first <= m <= last]
    if outside:
        raise PipelineFailed("run", [f"month {outside[0]} is outside the data: {data_range}"])


def report_stale_months(stale: list[str] | None = None) -> list[str]:
    """Print the published months late data made stale; `stale`: when already known."""
    from pipelines.freshness.stale import stale_months

    if stale is None:
        stale = stale_months(paths.warehouse_path(), paths.published_path())
    if stale:
        print(
            f"late data: {len(stale)} published month(s) are stale ({stale[0]}..{stale[-1]}); "
            "`accounts backfill --stale` recomputes exactly them"
        )
    return stale


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
    _execute(INGEST_JOB, verbose, title="load")


def compute(month_from: str, month_to: str, verbose: bool, tags: dict[str, str] | None = None) -> None:
    from pipelines.jobs import MONTHLY_JOB

    data = data_months()
    check_months(month_from, month_to, data)
    print(f"computing months {month_from}..{month_to}")
    start, end = partition_key(month_from), partition_key(month_to)
    tags = dict(tags or {})
    if start == end:
        _execute(MONTHLY_JOB, verbose, data, title=month_from, partition_key=start, tags=tags)
    else:  # one run for the whole range (single-run backfill policy)
        # Dagster's documented run tags for a partition range (what a UI backfill sets)
        tags |= {"dagster/asset_partition_range_start": start, "dagster/asset_partition_range_end": end}
        _execute(MONTHLY_JOB, verbose, data, title=f"{month_from}..{month_to}", tags=tags)


def plan(month: str, out: Path | None, verbose: bool) -> Path:
    """Grade `month` in the working warehouse and preview its assignment; returns the directory
    of the preview's files. A planning run: tagged as such, and the published file is not opened."""
    from pipelines.assignment.assets import PLANNING_TAG
    from pipelines.jobs import PLAN_JOB

    data = data_months()
    check_months(month, month, data)
    directory = (out or paths.warehouse_dir() / "plans" / month).resolve()
    print(f"planning the assignment of {month}")
    _execute(
        PLAN_JOB,
        verbose,
        data,
        ops={"module_plan": {"config": {"out": str(directory)}}},
        title=f"plan {month}",
        partition_key=partition_key(month),
        tags={PLANNING_TAG: "true"},
    )
    return directory
