"""The two jobs: load the landing zone; compute, check and publish a month range."""

from dagster import AssetSelection, define_asset_job

from pipelines.partitions import monthly_partitions

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
