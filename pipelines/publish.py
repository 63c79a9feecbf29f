"""Write, audit, publish as assets: stage the next publication, audit it with blocking checks,
then swap it in. A failing check stops the run before `published_warehouse`, so the published file
stays exactly as it was."""

import json

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from pipelines.audit import assignment_balance_violations, contract_violations
from pipelines.partitions import month_range, monthly_partitions, months_between
from pipelines.publishing import record_checks_passed, stage_publication, staged_path_for, swap_in
from pipelines.resources import WarehouseResource
from pipelines.transforms import (
    descriptions,
    mart_tables,
    modules_and_scorecards,
    worth_and_economics,
)

STAGED_KEY = AssetKey("staged_publication")


@asset(
    key=STAGED_KEY,
    deps=[worth_and_economics, modules_and_scorecards],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="publish",
    description="The next publication, built beside the published file and not yet visible.",
    kinds={"duckdb"},
)
def staged_publication(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    months = months_between(*month_range(context.partition_key_range))
    staged = stage_publication(
        warehouse=warehouse.warehouse_path(),
        published=warehouse.published_path(),
        tables=mart_tables(),
        docs=descriptions(),
        months_refreshed=months,
        run_id=context.run_id,
    )
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(staged.path)),
            "publication_id": staged.publication_id,
            "latest_as_of_date": str(staged.latest_as_of_date),
            "row_counts": MetadataValue.json(staged.row_counts),
        }
    )


def _staged(warehouse: WarehouseResource) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(staged_path_for(warehouse.published_path())), read_only=True)


@asset_check(
    asset=STAGED_KEY, blocking=True, description="Pandera contracts of every published table."
)
def published_contracts(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    con = _staged(warehouse)
    try:
        failures = contract_violations(con)
    finally:
        con.close()
    return AssetCheckResult(
        passed=not failures,
        severity=AssetCheckSeverity.ERROR,
        metadata={"failures": MetadataValue.json(failures)} if failures else {},
    )


@asset_check(
    asset=STAGED_KEY,
    blocking=True,
    description="Every manager holds floor or ceil of each grade's and of all customers (SPEC §6).",
)
def assignment_balance(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    con = _staged(warehouse)
    try:
        violations = assignment_balance_violations(con)
    finally:
        con.close()
    return AssetCheckResult(
        passed=not violations,
        severity=AssetCheckSeverity.ERROR,
        metadata={"violations_sample": MetadataValue.json(violations[:20])} if violations else {},
    )


BLOCKING_CHECKS = [published_contracts, assignment_balance]


@asset(
    deps=[STAGED_KEY],
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    group_name="publish",
    description="The published DuckDB file BI tools read: swapped in atomically after the audit.",
    kinds={"duckdb"},
)
def published_warehouse(
    context: AssetExecutionContext, warehouse: WarehouseResource
) -> MaterializeResult:
    published = warehouse.published_path()
    staged = staged_path_for(published)
    con = duckdb.connect(str(staged), read_only=True)
    try:
        publication_id, row_counts = con.execute(
            "SELECT publication_id, row_counts FROM publications ORDER BY publication_id DESC LIMIT 1"
        ).fetchone()
    finally:
        con.close()
    # This step only runs once every blocking check of the staged file has passed.
    check_names = [key.name for check in BLOCKING_CHECKS for key in check.check_keys]
    record_checks_passed(staged, publication_id, check_names + ["dbt tests"])
    swap_in(staged, published)
    context.log.info(f"published publication {publication_id} to {published}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(published)),
            "publication_id": publication_id,
            "row_counts": MetadataValue.json(json.loads(row_counts)),
        }
    )
