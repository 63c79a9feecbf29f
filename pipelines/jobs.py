"""The jobs: load the landing zone; compute, check and publish a month range; preview a month's
assignment without publishing."""

from dagster import (
    AssetKey,
    AssetSelection,
    JobDefinition,
    MonthlyPartitionsDefinition,
    define_asset_job,
)

from pipelines.assignment.assets import MODULE_PLAN_KEY
from pipelines.ingest.assets import INGEST_GROUP

INGEST_JOB = "ingest_landing_files"
MONTHLY_JOB = "monthly_snapshot"
PLAN_JOB = "plan_modules"  # not the asset's name: a job and an op may not share one

ingest_job = define_asset_job(
    INGEST_JOB,
    selection=AssetSelection.groups(INGEST_GROUP),
    description="Load new or changed landing files into the warehouse's raw tables.",
)


def monthly_job(partitions: MonthlyPartitionsDefinition) -> JobDefinition:
    return define_asset_job(
        MONTHLY_JOB,
        selection=AssetSelection.all()
        - AssetSelection.groups(INGEST_GROUP)
        - AssetSelection.assets(MODULE_PLAN_KEY),
        partitions_def=partitions,
        description="Compute the snapshots of a month range (one dbt build for the whole range), "
        "assign modules month by month, audit and publish.",
    )


def plan_job(partitions: MonthlyPartitionsDefinition, customer_worth: AssetKey) -> JobDefinition:
    return define_asset_job(
        PLAN_JOB,
        selection=AssetSelection.assets(customer_worth).upstream() - AssetSelection.groups(INGEST_GROUP)
        | AssetSelection.assets(MODULE_PLAN_KEY),
        partitions_def=partitions,
        description="Grade a month's customers in the working warehouse and preview their assignment "
        "(pins and capacities included) as files; publishes nothing.",
    )
