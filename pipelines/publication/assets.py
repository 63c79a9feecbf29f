"""Write, audit, publish as assets: stage the next publication, audit it with a blocking check,
then swap it in. A failing check stops the run before `published_warehouse`, so the published file
stays exactly as it was. (The dbt tests, the other blocking checks, run before anything is staged.)
"""

import json
import time

import duckdb
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MaterializeResult,
    MetadataValue,
    MonthlyPartitionsDefinition,
    asset,
    asset_check,
)

from pipelines.core.failpoints import failpoint
from pipelines.core.months import months_between
from pipelines.freshness.drift import config_drift, refuse_drift
from pipelines.partitions import month_range
from pipelines.publication.stage import record_checks_passed, stage_publication, staged_path_for, swap_in
from pipelines.resources import WarehouseResource
from pipelines.transforms.project import descriptions, grains, mart_tables

PUBLICATION_GROUP = "publication"
# Run tags: the run restates the impact study on purpose (a backfill); the run may publish a
# history whose months were computed with different configurations (recorded).
RESTATE_STUDY_TAG = "accounts/restate_study"
ALLOW_DRIFT_TAG = "accounts/allow_config_drift"
STAGED_KEY = AssetKey("staged_publication")
REPORT_KEY = AssetKey("publication_report")
QUALITY_CHECK = "quality_expectations"


def staged_publication(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    clock = time.perf_counter()
    months = months_between(*month_range(context.partition_key_range))
    settings = warehouse.settings()
    tags = context.run.tags
    drift = config_drift(warehouse.published_path(), settings, months)
    if tags.get(ALLOW_DRIFT_TAG) != "true":
        refuse_drift(drift, tags.get(RESTATE_STUDY_TAG) == "true", warehouse.config_source())
    elif drift:
        context.log.warning("publishing a history of mixed configurations: " + "; ".join(drift.lines()))
    staged = stage_publication(
        warehouse=warehouse.warehouse_path(),
        published=warehouse.published_path(),
        tables=mart_tables(),
        docs=descriptions(),
        months_refreshed=months,
        run_id=context.run_id,
        settings=settings,
        config_drift=[str(d) for d in drift.snapshot + drift.study],
        grains=grains(),
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
            # what this publication wrote: unchanged snapshots are carried over from the last one
            "tables_written": MetadataValue.json(staged.writes),
            "seconds": round(time.perf_counter() - clock, 3),
        }
    )


@asset_check(
    asset=STAGED_KEY,
    name=QUALITY_CHECK,
    blocking=True,
    description="great-expectations suites (pipelines/publication/quality.py): incremental-class "
    "shares near their targets, snapshot sizes within a band month over month, every published "
    "table's columns as documented. Writes the Data Docs beside the published file.",
)
def quality_expectations(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    from pipelines.publication.quality import docs_dir_for, reset_docs, suites_for, validate_publication

    docs = docs_dir_for(warehouse.published_path())
    reset_docs(docs)  # the site shows this run's validations
    report = validate_publication(
        staged_path_for(warehouse.published_path()),
        warehouse.settings(),
        docs,
        suites_for(descriptions()),
        run_name=context.run.run_id,
    )
    log = context.log.info if report.passed else context.log.error
    log(f"quality: {report.summary()}; Data Docs: {report.docs_index}")
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


def published_warehouse(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
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
    record_checks_passed(staged, publication_id, [QUALITY_CHECK, "dbt tests"])
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


def publication_report(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    from pipelines.report.build import build_report

    clock = time.perf_counter()
    report = build_report(warehouse.published_path())
    context.log.info(f"report of the publication: {report}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(report)),
            "url": MetadataValue.url(report.as_uri()),
            "bytes": report.stat().st_size,
            "seconds": round(time.perf_counter() - clock, 3),
        }
    )


def publication_assets(
    partitions: MonthlyPartitionsDefinition, upstream: list[AssetsDefinition]
) -> list[AssetsDefinition]:
    """The staged publication (after every dbt asset of `upstream`), the published file and its
    report."""
    common = dict(
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        group_name=PUBLICATION_GROUP,
        kinds={"duckdb"},
    )
    staged = asset(
        key=STAGED_KEY,
        deps=upstream,
        description="The next publication, built beside the published file and not yet visible.",
        **common,
    )(staged_publication)
    published = asset(
        deps=[STAGED_KEY],
        description="The published DuckDB file BI tools read: swapped in atomically after the audit.",
        **common,
    )(published_warehouse)
    report = asset(
        key=REPORT_KEY,
        deps=[published],
        description="The report of the publication for sales leadership: one HTML file beside the "
        "published file, with every chart inlined (it opens offline).",
        **common | {"kinds": {"html", "plotly"}},
    )(publication_report)
    return [staged, published, report]
