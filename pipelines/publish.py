"""Write, audit, publish as assets: stage the next publication, audit it with blocking checks,
then swap it in. A failing check stops the run before `published_warehouse`, so the published file
stays exactly as it was."""

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

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
from pipelines.failpoints import failpoint
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
    clock = time.perf_counter()
    months = months_between(*month_range(context.partition_key_range))
    staged = stage_publication(
        warehouse=warehouse.warehouse_path(),
        published=warehouse.published_path(),
        tables=mart_tables(),
        docs=descriptions(),
        months_refreshed=months,
        run_id=context.run_id,
    )
    failpoint("publish.staged")  # tests kill here: staged file complete, not yet audited
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(staged.path)),
            "publication_id": staged.publication_id,
            "latest_as_of_date": str(staged.latest_as_of_date),
            "row_counts": MetadataValue.json(staged.row_counts),
            "dagster/row_count": sum(
                n for table, n in staged.row_counts.items() if not table.startswith("audit.")
            ),
            "rows_quarantined": staged.row_counts.get("audit.quarantine", 0),
            "seconds": round(time.perf_counter() - clock, 3),
        }
    )


@contextmanager
def _staged(warehouse: WarehouseResource) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the staged publication the checks audit."""
    con = duckdb.connect(str(staged_path_for(warehouse.published_path())), read_only=True)
    try:
        yield con
    finally:
        con.close()


def _blocking_result(problems: dict | list, label: str) -> AssetCheckResult:
    return AssetCheckResult(
        passed=not problems,
        severity=AssetCheckSeverity.ERROR,
        metadata={label: MetadataValue.json(problems)} if problems else {},
    )


@asset_check(
    asset=STAGED_KEY, blocking=True, description="Pandera contracts of every published table."
)
def published_contracts(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    with _staged(warehouse) as con:
        return _blocking_result(contract_violations(con), "failures")


@asset_check(
    asset=STAGED_KEY,
    blocking=True,
    description="Every manager holds floor or ceil of each grade's and of all customers (SPEC §6).",
)
def assignment_balance(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    with _staged(warehouse) as con:
        return _blocking_result(assignment_balance_violations(con)[:20], "violations_sample")


@asset_check(
    asset=STAGED_KEY,
    blocking=True,
    description="great-expectations suites (pipelines/quality.py): keys, value sets, ranges, "
    "class shares, balance, row counts across tables and against the previous snapshot. "
    "Writes the Data Docs beside the published file.",
)
def quality_expectations(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    from pipelines.quality import docs_dir_for, reset_docs, validate_publication

    docs = docs_dir_for(warehouse.published_path())
    reset_docs(docs)  # the site shows this run's validations
    report = validate_publication(
        staged_path_for(warehouse.published_path()), warehouse.settings(), docs, run_name=context.run.run_id
    )
    if report.passed:
        context.log.info(f"quality: {report.summary()}; Data Docs: {report.docs_index}")
    else:
        context.log.error(f"quality: {report.summary()}; Data Docs: {report.docs_index}")
    failures = [f.as_dict() for f in report.failures]
    metadata = {
        "summary": report.summary(),
        "expectations_evaluated": report.evaluated,
        "expectations_failed": len(failures),
        "suites_validated": MetadataValue.json(report.suites_run),
        "suites_skipped_tables_absent": MetadataValue.json(report.suites_skipped),
        "seconds": round(report.seconds, 3),
    }
    if report.docs_index is not None:
        metadata["data_docs"] = MetadataValue.path(str(report.docs_index))
        metadata["data_docs_url"] = MetadataValue.url(report.docs_index.as_uri())
    if failures:
        metadata["failed_expectations"] = MetadataValue.json(failures)
    return AssetCheckResult(passed=report.passed, severity=AssetCheckSeverity.ERROR, metadata=metadata)


BLOCKING_CHECKS = [published_contracts, assignment_balance, quality_expectations]


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
    clock = time.perf_counter()
    failpoint("publish.audited")  # tests kill here: every blocking check passed, nothing swapped
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
    counts = json.loads(row_counts)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(published)),
            "publication_id": publication_id,
            "row_counts": MetadataValue.json(counts),
            "dagster/row_count": sum(n for t, n in counts.items() if not t.startswith("audit.")),
            "rows_quarantined": counts.get("audit.quarantine", 0),
            "seconds": round(time.perf_counter() - clock, 3),
        }
    )
