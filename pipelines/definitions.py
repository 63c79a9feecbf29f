"""The code location: every asset, check, job and resource of the pipeline."""

from dagster import AssetSelection, Definitions, define_asset_job, in_process_executor
from dagster_dbt import DbtCliResource

from pipelines import paths
from pipelines.assignment import module_assignment_history
from pipelines.ingest import raw_assets
from pipelines.partitions import monthly_partitions
from pipelines.publish import BLOCKING_CHECKS, published_warehouse, staged_publication
from pipelines.resources import WarehouseResource
from pipelines.transforms import dbt_project, modules_and_scorecards, worth_and_economics

INGEST_JOB = "ingest_landing_files"
MONTHLY_JOB = "monthly_snapshot"

ingest_job = define_asset_job(
    INGEST_JOB,
    selection=AssetSelection.groups("ingest"),
    description="Load new or changed landing files into the warehouse's raw tables.",
)
monthly_job = define_asset_job(
    MONTHLY_JOB,
    selection=AssetSelection.all() - AssetSelection.groups("ingest"),
    partitions_def=monthly_partitions,
    description="Compute the snapshots of a month range (one dbt build for the whole range), "
    "assign modules month by month, audit and publish.",
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
    asset_checks=BLOCKING_CHECKS,
    jobs=[ingest_job, monthly_job],
    resources={
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=paths.DBT_EXECUTABLE),
        "warehouse": WarehouseResource(),
    },
    # One process writes the DuckDB warehouse at a time: run every step in the run's process.
    executor=in_process_executor,
)
