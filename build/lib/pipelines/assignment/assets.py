"""The module-assignment asset: the pure algorithm run month by month (SPEC §6)."""

import time

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MonthlyPartitionsDefinition,
    asset,
)
from dagster_dbt import get_asset_key_for_model

from pipelines.assignment.runner import assign_months
from pipelines.ingest.assets import raw_asset_key
from pipelines.partitions import month_range
from pipelines.resources import WarehouseResource
from pipelines.transforms.assets import ASSIGNMENT_HISTORY_KEY

MODULES_GROUP = "modules"


def module_assignment_asset(
    partitions: MonthlyPartitionsDefinition, graded: AssetsDefinition
) -> AssetsDefinition:
    """The assignment asset, after the dbt assets `graded` that build customer_worth."""
    return asset(
        key=ASSIGNMENT_HISTORY_KEY,
        deps=[
            get_asset_key_for_model([graded], "customer_worth"),
            raw_asset_key("account_managers"),
            raw_asset_key("assignments"),
        ],
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name=MODULES_GROUP,
        description="Every graded customer's account manager per snapshot, balanced per grade and in "
        "total with the fewest moves; months run in order so each starts from the month before.",
        kinds={"duckdb", "polars"},
    )(module_assignment_history)


def module_assignment_history(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    clock = time.perf_counter()
    month_from, month_to = month_range(context.partition_key_range)
    with warehouse.connect() as con:
        as_of_dates = [
            row[0]
            for row in con.execute(
                "SELECT DISTINCT as_of_date FROM marts.customer_worth "
                "WHERE strftime(as_of_date, '%Y-%m') BETWEEN ? AND ? ORDER BY 1",
                [month_from, month_to],
            ).fetchall()
        ]
        reports = assign_months(con, as_of_dates)
        (history_rows,) = con.execute("SELECT count(*) FROM assignment.module_assignment_history").fetchone()
    for report in reports:
        if report.skipped:
            context.log.warning(f"{report.as_of_date}: assignment skipped: {report.warning}")
        else:
            context.log.info(
                f"{report.as_of_date}: {report.customers} customers to {report.managers} managers, "
                f"{report.moved} moved, {report.new} new, {report.manager_left} from leavers"
            )
    return MaterializeResult(
        metadata={
            "months": len(reports),
            "months_skipped": sum(r.skipped for r in reports),
            "customers_assigned": sum(r.customers for r in reports if not r.skipped),
            "customers_moved": sum(r.moved for r in reports if not r.skipped),
            "dagster/row_count": history_rows,  # the whole history table, every month
            "seconds": round(time.perf_counter() - clock, 3),
        }
    )
