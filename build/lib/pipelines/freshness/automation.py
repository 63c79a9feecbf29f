"""Nightly automation (SPEC §13): at night, load new landing files (skipped when nothing new
arrived); when a load succeeds, refresh the current month's snapshot."""

import os

import duckdb
from dagster import (
    DagsterRunStatus,
    DefaultScheduleStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunStatusSensorContext,
    ScheduleEvaluationContext,
    SensorDefinition,
    SkipReason,
    run_status_sensor,
    schedule,
)

from pipelines.core.months import partition_key
from pipelines.freshness.stale import latest_transaction_month
from pipelines.ingest.landing import new_landing_files
from pipelines.jobs import ingest_job
from pipelines.resources import WarehouseResource

NIGHTLY_CRON = os.environ.get("ACCOUNTS_NIGHTLY_CRON", "0 2 * * *")
TIMEZONE = os.environ.get("ACCOUNTS_TIMEZONE", "UTC")


def nightly_load_request(warehouse: WarehouseResource, run_key: str) -> RunRequest | SkipReason:
    try:
        new_files = new_landing_files(warehouse.warehouse_path(), warehouse.landing())
    except duckdb.IOException:  # a run holds the warehouse's write lock: try again next time
        return SkipReason("the warehouse is busy with another run")
    if not new_files:
        return SkipReason(f"no new landing files in {warehouse.landing()}")
    return RunRequest(run_key=run_key, tags={"accounts/new_files": str(len(new_files))})


def current_month_request(warehouse: WarehouseResource, run_key: str) -> RunRequest | SkipReason:
    month = latest_transaction_month(warehouse.warehouse_path())
    if month is None:
        return SkipReason("no revenue loaded yet")
    return RunRequest(run_key=run_key, partition_key=partition_key(month))


@schedule(
    job=ingest_job,
    cron_schedule=NIGHTLY_CRON,
    execution_timezone=TIMEZONE,
    default_status=DefaultScheduleStatus.STOPPED,  # turned on by the data engineer (README)
    description="Every night: load new landing files; skipped when nothing new arrived.",
)
def nightly_load(context: ScheduleEvaluationContext):
    return nightly_load_request(WarehouseResource(), run_key=context.scheduled_execution_time.isoformat())


def refresh_current_month(monthly_job: JobDefinition) -> SensorDefinition:
    """After a successful load: compute, check and publish the current month."""

    @run_status_sensor(
        run_status=DagsterRunStatus.SUCCESS,
        monitored_jobs=[ingest_job],
        request_job=monthly_job,
        default_status=DefaultSensorStatus.STOPPED,
        description="After a successful load: compute, check and publish the current month.",
    )
    def refresh_current_month(context: RunStatusSensorContext):
        return current_month_request(WarehouseResource(), run_key=context.dagster_run.run_id)

    return refresh_current_month
