"""Is the published file already what a nightly run would publish? A run with nothing new (no new
landing file, no row loaded since the latest publication, the same configuration and pipeline
version, the current month published) has nothing to compute: `accounts run` says so and stops
in a second or two instead of recomputing the same tables. `accounts run --force` (or `--month`)
computes anyway. Nothing here writes."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.core.config import Settings, config_fingerprint
from pipelines.ingest.landing import new_landing_files


def pipeline_version() -> str:
    """The installed version of the pipeline (recorded in every publication)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("account-management-pipeline")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


def nothing_new(warehouse: Path, published: Path, landing: Path, settings: Settings) -> str | None:
    """A sentence saying why there is nothing to compute, or None when a run has work to do."""
    if not (warehouse.exists() and published.exists()) or new_landing_files(warehouse, landing):
        return None
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{published}' AS pub (READ_ONLY)")
        return _nothing_new_in(con, settings)
    except duckdb.Error:  # a file of an older layout, a table not there yet: compute
        return None
    finally:
        con.close()


def _nothing_new_in(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    publication = con.execute(
        "SELECT publication_id, published_at, latest_as_of_date, config_hash, pipeline_version "
        "FROM pub.main.publications ORDER BY publication_id DESC LIMIT 1"
    ).fetchall()
    if not publication:
        return None
    publication_id, published_at, latest, config_hash, version = publication[0]
    (loaded_since,) = con.execute(
        "SELECT count(*) FROM wh.raw.ingest_log WHERE status = 'loaded' AND finished_at > ?", [published_at]
    ).fetchall()[0]
    (latest_transaction,) = con.execute("SELECT max(transaction_date) FROM wh.raw.revenue").fetchall()[0]
    up_to_date = (
        loaded_since == 0
        and latest == latest_transaction
        and config_hash == config_fingerprint(settings)[1]
        and version == pipeline_version()
    )
    if not up_to_date:
        return None
    return (
        f"nothing new since publication {publication_id} (as of {latest}): no new landing file, "
        "the same configuration; `accounts run --force` recomputes anyway"
    )
