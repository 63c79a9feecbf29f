"""The two jobs: load the landing zone; compute, check and publish a month range."""

from dagster import (
    AssetSelection,
    JobDefinition,
    MonthlyPartitionsDefinition,
    define_asset_job,
)

from pipelines.ingest.assets import INGEST_GROUP

INGEST_JOB = "ingest_landing_files"
MONTHLY_JOB = "monthly_snapshot"

ingest_job = define_asset_job(
    INGEST_JOB,
    selection=AssetSelection.groups(INGEST_GROUP),
    description="Load new or changed landing files into the warehouse's raw tables.",
)


def monthly_job(partitions: MonthlyPartitionsDefinition) -> JobDefinition:
    return define_asset_job(
        MONTHLY_JOB,
        selection=AssetSelection.all() - AssetSelection.groups(INGEST_GROUP),
        partitions_def=partitions,
        description="Compute the snapshots of a month range (one dbt build for the whole range), "
        "assign modules month by month, audit and publish.",
    )
