"""The code location: every asset, check, job and resource of the pipeline."""

from dagster import Definitions, in_process_executor

from pipelines import paths
from pipelines.assignment import module_assignment_history
from pipelines.freshness import published_months_are_fresh
from pipelines.ingest import raw_assets
from pipelines.jobs import ingest_job, monthly_job
from pipelines.publish import BLOCKING_CHECKS, published_warehouse, staged_publication
from pipelines.resources import WarehouseResource
from pipelines.schedules import nightly_load, refresh_current_month
from pipelines.transforms import (
    AccountsDbtCli,
    dbt_project,
    modules_and_scorecards,
    worth_and_economics,
)

defs = Definitions(
    assets=[
        *raw_assets,
        worth_and_economics,
        module_assignment_history,
        modules_and_scorecards,
        staged_publication,
        published_warehouse,
    ],
    asset_checks=[*BLOCKING_CHECKS, published_months_are_fresh],
    jobs=[ingest_job, monthly_job],
    schedules=[nightly_load],
    sensors=[refresh_current_month],
    resources={
        "dbt": AccountsDbtCli(project_dir=dbt_project, dbt_executable=paths.DBT_EXECUTABLE),
        "warehouse": WarehouseResource(),
    },
    # One process writes the DuckDB warehouse at a time: run every step in the run's process.
    executor=in_process_executor,
)
