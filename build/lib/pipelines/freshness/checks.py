"""Late data, visible in the UI: after each load, a warning check lists the published months that
rows loaded since their publication made stale (SPEC §13)."""

from dagster import AssetCheckResult, AssetCheckSeverity, MetadataValue, asset_check

from pipelines.core.months import contiguous_ranges
from pipelines.freshness.stale import stale_months
from pipelines.ingest.assets import raw_asset_key
from pipelines.resources import WarehouseResource


@asset_check(
    asset=raw_asset_key("revenue"),
    additional_deps=[raw_asset_key(name) for name in ("contacts", "employee_counts", "referrals")],
    description="Published months that late data made stale; `accounts backfill --stale` recomputes them.",
)
def published_months_are_fresh(warehouse: WarehouseResource) -> AssetCheckResult:
    stale = stale_months(warehouse.warehouse_path(), warehouse.published_path(), warehouse.settings())
    return AssetCheckResult(
        passed=not stale,
        severity=AssetCheckSeverity.WARN,
        metadata={
            "stale_months": MetadataValue.json(stale),
            "backfill": MetadataValue.md(
                "\n".join(f"- `accounts backfill --from {a} --to {b}`" for a, b in contiguous_ranges(stale))
                or "nothing to do"
            ),
        },
    )
