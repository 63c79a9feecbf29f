"""The landing zone as assets: one asset per raw table, loaded by one step in load order.

One step, not one per dataset: a rejected file of one dataset must not stop the others from
loading (SPEC §1). Every selected dataset loads; then, if any file was rejected, the step fails
with every rejection named, so the night's run fails while nothing else was lost.
"""

from collections.abc import Callable
from functools import partial

from dagster import AssetExecutionContext, AssetKey, AssetSpec, MaterializeResult, multi_asset

from pipelines.ingest.datasets import LOAD_ORDER
from pipelines.ingest.loader import FileRejected, IngestReport, ingest_dataset
from pipelines.ingest.spark_loader import ingest_on_spark
from pipelines.resources import WarehouseResource

INGEST_GROUP = "ingest"


def raw_asset_key(dataset: str) -> AssetKey:
    return AssetKey(["raw", dataset])


def _metadata(report: IngestReport) -> dict:
    return {
        "files_loaded": report.files_loaded,
        "files_unchanged": report.files_unchanged,
        "files_rejected": report.files_rejected,
        "rows_loaded": report.rows_loaded,
        "rows_quarantined": report.rows_quarantined,
        "rows_replaced": report.rows_replaced,
        "data_issues": report.data_issues,
        "dagster/row_count": report.rows_total,
        "seconds": round(report.seconds, 3),
    }


def _load(con, selected: list[str], warehouse: WarehouseResource) -> list[Callable[[], list[IngestReport]]]:
    """The loads to run in turn: one per dataset on DuckDB; one Spark job for all on Spark."""
    if warehouse.engine() == "spark":
        return [partial(ingest_on_spark, con, selected, warehouse.landing(), warehouse.spark_dir())]
    return [partial(_ingest_one, con, dataset, warehouse.landing()) for dataset in selected]


def _ingest_one(con, dataset: str, landing) -> list[IngestReport]:
    return [ingest_dataset(con, dataset, landing)]


@multi_asset(
    specs=[
        AssetSpec(
            raw_asset_key(dataset),
            description=f"Rows of the `{dataset}` landing files, validated; bad rows quarantined.",
            group_name=INGEST_GROUP,
            kinds={"duckdb", "polars", "spark"},
            skippable=True,
        )
        for dataset in LOAD_ORDER
    ],
    can_subset=True,
    name="landing_files",
)
def landing_files(context: AssetExecutionContext, warehouse: WarehouseResource):
    selected = [d for d in LOAD_ORDER if raw_asset_key(d) in context.selected_asset_keys]
    rejected: list[FileRejected] = []
    with warehouse.connect() as con:
        for reports in _load(con, selected, warehouse):
            try:
                reports = reports()
            except FileRejected as exc:
                rejected.append(exc)
                reports = exc.reports
            for report in reports:
                for message in report.messages:
                    context.log.info(message)
                yield MaterializeResult(asset_key=raw_asset_key(report.dataset), metadata=_metadata(report))
    if rejected:
        raise FileRejected(
            [r for exc in rejected for r in exc.rejections],
            [report for exc in rejected for report in exc.reports],
        )
