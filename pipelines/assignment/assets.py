"""The module-assignment assets (SPEC §6): the assignment run month by month, and the preview of
a month's assignment that `accounts plan` materialises without publishing anything."""

import time
from pathlib import Path

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    asset,
)
from dagster_dbt import get_asset_key_for_model

from pipelines.assignment import plan
from pipelines.assignment.runner import assign_months, plan_month, record_plan
from pipelines.core.months import month_of_partition
from pipelines.ingest.assets import raw_asset_key
from pipelines.partitions import month_range
from pipelines.resources import WarehouseResource
from pipelines.transforms.assets import ASSIGNMENT_HISTORY_KEY

MODULES_GROUP = "modules"
MODULE_PLAN_KEY = AssetKey("module_plan")
PLANNING_TAG = "accounts/planning"  # on every planning run: it publishes nothing


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
            raw_asset_key("assignment_pins"),
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


class PlanConfig(Config):
    out: str = ""  # where the preview's files go; default <warehouse dir>/plans/<YYYY-MM>


def module_plan_asset(partitions: MonthlyPartitionsDefinition, graded: AssetsDefinition) -> AssetsDefinition:
    """The preview asset: reads what the assignment reads, writes only its own files."""
    return asset(
        key=MODULE_PLAN_KEY,
        deps=[
            get_asset_key_for_model([graded], "customer_worth"),
            raw_asset_key("account_managers"),
            raw_asset_key("assignments"),
            raw_asset_key("assignment_pins"),
        ],
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),  # as the assets its job grades with
        group_name=MODULES_GROUP,
        description="The month's next assignment as `accounts plan` previews it, pins and capacities "
        "included: the moves by reason, each manager's accounts per grade before and after, "
        "utilisation. Files only (CSV and text); the published file is never touched.",
        kinds={"duckdb", "polars", "csv"},
    )(module_plan)


def module_plan(
    context: AssetExecutionContext, config: PlanConfig, warehouse: WarehouseResource
) -> MaterializeResult:
    month = month_of_partition(context.partition_key)
    settings = warehouse.settings()
    directory = Path(config.out).resolve() if config.out else warehouse.directory() / "plans" / month
    with warehouse.connect() as con:
        (as_of,) = con.execute(
            "SELECT max(as_of_date) FROM marts.customer_worth WHERE strftime(as_of_date, '%Y-%m') = ?",
            [month],
        ).fetchall()[0]  # fetchall: DuckDB 2 refuses work beside a half-read result
        planned = plan_month(con, as_of) if as_of else None
        if planned is None:
            raise Failure(f"nothing to plan for {month}: no graded customers or no active account manager")
        assignment, _, pins = planned
        files = plan.write(directory, assignment, settings, pins)
        preview = plan.describe(month, as_of, assignment, settings, pins)
        (directory / plan.PREVIEW_FILE).write_text(preview + "\n")
        record_plan(con, context.run_id, as_of, assignment, pins, directory)
    moves = plan.moves(assignment)
    return MaterializeResult(
        metadata={
            "as_of_date": str(as_of),
            "directory": MetadataValue.path(str(directory)),
            "files": [str(f.name) for f in files],
            "moves": moves.height,
            "preview": MetadataValue.md(f"```\n{preview}\n```"),
        }
    )
