"""Is the published file already what a nightly run would publish? A run with nothing new (no new
landing file, no row loaded since the latest publication, the current month published and not
stale, the same configuration and the same code, the report written) has nothing to compute:
`accounts run` says so and stops in a few seconds instead of recomputing the same tables.
`accounts run --force` (or `--month`) computes anyway. Nothing here writes."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from pipelines.core import paths
from pipelines.core.config import Settings, config_fingerprint
from pipelines.core.engine import engine
from pipelines.freshness.stale import stale_months_in
from pipelines.ingest.landing import new_landing_files

# what decides the numbers: the Python package and the dbt project
_CODE_SUFFIXES = {".py", ".sql", ".yml", ".yaml", ".md"}
_NOT_SOURCE = {"target", "logs", "dbt_packages", "__pycache__"}


def package_version() -> str:
    """The installed version of the pipeline (`accounts --version`)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("account-management-pipeline")
    except PackageNotFoundError:  # a checkout that was never installed
        return "unknown"


def pipeline_version() -> str:
    """The package version and a digest of the code that computes the tables, recorded in every
    publication: a developer's change to a model recomputes, though the version number stays. The
    Spark engine adds `.spark`: switching engines recomputes too."""
    on = engine()
    return _code_version() + ("" if on == "duckdb" else f".{on}")


@cache
def _code_version() -> str:
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parents[1]
    for root in sorted({package, paths.DBT_PROJECT_DIR}):
        for path in _source_files(root):
            digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{package_version()}+{digest.hexdigest()[:12]}"


def _source_files(root: Path) -> list[Path]:
    """The code files under `root`, in a stable order; dbt's and Python's outputs are not walked
    (dbt's target folder holds a folder per invocation)."""
    files = []
    for folder, subfolders, names in os.walk(root):
        subfolders[:] = [name for name in subfolders if name not in _NOT_SOURCE]
        files += [Path(folder, name) for name in names if Path(name).suffix in _CODE_SUFFIXES]
    return sorted(files)


@dataclass(frozen=True)
class NothingNew:
    """Why a run has nothing to compute, and the earlier published months late data made stale
    (found on the way: the current month is not among them, or the run would have work)."""

    reason: str
    stale_months: list[str]


def nothing_new(
    warehouse: Path, published: Path, landing: Path, settings: Settings, report: Path | None = None
) -> NothingNew | None:
    """Why there is nothing to compute, or None when a run has work to do. `report`: the report of
    the publication, which a run must (re)write when it is missing."""
    if not (warehouse.exists() and published.exists()):
        return None
    if report is not None and (not report.exists() or report.stat().st_mtime < published.stat().st_mtime):
        return None  # the last run published but did not write its report
    con = duckdb.connect()
    try:
        if new_landing_files(warehouse, landing):
            return None
        con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{published}' AS pub (READ_ONLY)")
        return _nothing_new_in(con, settings)
    except duckdb.Error:  # a file of an older layout, a busy warehouse: let the run decide
        return None
    finally:
        con.close()


def _nothing_new_in(con: duckdb.DuckDBPyConnection, settings: Settings) -> NothingNew | None:
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
    # the snapshot date of the current month: the latest transaction of a customer delivered
    (snapshot_date,) = con.execute(
        "SELECT max(transaction_date) FROM wh.raw.revenue r "
        "WHERE EXISTS (SELECT 1 FROM wh.raw.customers c WHERE c.customer_id = r.customer_id)"
    ).fetchall()[0]
    up_to_date = (
        loaded_since == 0
        and latest == snapshot_date
        and config_hash == config_fingerprint(settings)[1]
        and version == pipeline_version()
    )
    if not up_to_date:
        return None
    stale = stale_months_in(con, "wh", "pub", settings)  # found once: the run reports these
    if latest.strftime("%Y-%m") in stale:
        return None
    return NothingNew(
        f"nothing new since publication {publication_id} (as of {latest}): no new landing file, "
        "the same configuration and code; `accounts run --force` recomputes anyway",
        stale,
    )
