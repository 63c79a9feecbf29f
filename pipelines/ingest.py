"""One asset per landing dataset: load new landing files into `raw.<dataset>` (SPEC §1)."""

from dagster import AssetExecutionContext, AssetKey, AssetsDefinition, MaterializeResult, asset

from pipelines.ingestion import ingest_dataset
from pipelines.resources import WarehouseResource
from schemas.raw import DATASETS, LOAD_ORDER


def raw_asset_key(dataset: str) -> AssetKey:
    return AssetKey(["raw", dataset])


def _ingest_asset(dataset: str) -> AssetsDefinition:
    parents = DATASETS[dataset].parent_customer_columns
    deps = [raw_asset_key("customers")] if parents else []

    @asset(
        key=raw_asset_key(dataset),
        deps=deps,
        group_name="ingest",
        description=f"Rows of the `{dataset}` landing files, validated; bad rows quarantined.",
        kinds={"duckdb", "polars"},
    )
    def _asset(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
        with warehouse.connect() as con:
            report = ingest_dataset(con, dataset, warehouse.landing())
        for message in report.messages:
            context.log.info(message)
        return MaterializeResult(
            metadata={
                "files_loaded": report.files_loaded,
                "files_unchanged": report.files_unchanged,
                "rows_loaded": report.rows_loaded,
                "rows_quarantined": report.rows_quarantined,
                "rows_replaced": report.rows_replaced,
                "dagster/row_count": report.rows_total,
                "seconds": round(report.seconds, 3),
            }
        )

    return _asset


raw_assets = [_ingest_asset(dataset) for dataset in LOAD_ORDER]
