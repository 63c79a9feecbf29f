"""The code location: every asset, check, job, schedule and resource of the pipeline, by domain.

`build_definitions()` assembles them for the months of the data (partitions follow the data: a
new, earlier first month shows after the code location reloads); `defs` is what `dagster dev`
loads (workspace.yaml); the `accounts` command builds them after each load.
"""

from __future__ import annotations

import dagster as dg
from dagster_dbt import get_asset_key_for_model

from pipelines.assignment.assets import module_assignment_asset, module_plan_asset
from pipelines.core import paths
from pipelines.freshness.automation import nightly_load, refresh_current_month
from pipelines.freshness.checks import published_months_are_fresh
from pipelines.freshness.stale import transaction_months
from pipelines.ingest.assets import landing_files
from pipelines.jobs import ingest_job, monthly_job, plan_job
from pipelines.partitions import monthly_partitions
from pipelines.publication.assets import publication_assets, quality_expectations
from pipelines.resources import WarehouseResource
from pipelines.transforms.assets import AccountsDbtResource, dbt_asset_groups
from pipelines.transforms.project import dbt_project


def build_definitions(months: tuple[str, str] | None = None) -> dg.Definitions:
    """The definitions for a history of `months` (first, last), by default the months of the
    transactions loaded in the warehouse."""
    partitions = monthly_partitions(*(months or transaction_months(paths.warehouse_path()) or (None, None)))
    before_assignment, after_assignment = dbt_asset_groups(partitions)
    monthly = monthly_job(partitions)
    return dg.Definitions(
        assets=[
            landing_files,
            before_assignment,
            module_assignment_asset(partitions, before_assignment),
            module_plan_asset(partitions, before_assignment),
            after_assignment,
            *publication_assets(partitions, [before_assignment, after_assignment]),
        ],
        asset_checks=[quality_expectations, published_months_are_fresh],
        jobs=[
            ingest_job,
            monthly,
            plan_job(partitions, get_asset_key_for_model([before_assignment], "customer_worth")),
        ],
        schedules=[nightly_load],
        sensors=[refresh_current_month(monthly)],
        resources={
            "dbt": AccountsDbtResource(project_dir=dbt_project),
            "warehouse": WarehouseResource(),
        },
        # One process writes the DuckDB warehouse at a time: run every step in the run's process.
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return build_definitions()
