"""The landing folder: which files a dataset has, their content hash, and which are new.

A landing folder holds one sub-folder per dataset; each holds CSV or Parquet files, read in name
order (so later deliveries, named to sort later, win)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb

from pipelines.ingest.datasets import DATASETS, LOAD_ORDER

FILE_SUFFIXES = (".csv", ".parquet")
REQUIRED_DATASETS = tuple(name for name in LOAD_ORDER if DATASETS[name].required_dataset)


def landing_files(landing_dir: Path, dataset: str) -> list[Path]:
    """The dataset's CSV and Parquet files, sorted by name (hidden files skipped)."""
    folder = Path(landing_dir) / dataset
    if not folder.is_dir():
        return []
    files = (
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in FILE_SUFFIXES
    )
    return sorted(files, key=lambda p: p.name)


def missing_required_datasets(landing_dir: Path) -> list[str]:
    """Required datasets (SPEC §1: customers, revenue) with no landing file at all."""
    return [name for name in REQUIRED_DATASETS if not landing_files(landing_dir, name)]


def file_sha256(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def new_landing_files(warehouse: Path, landing_dir: Path) -> list[str]:
    """Landing files (relative paths) whose content has not been loaded yet."""
    loaded: set[tuple[str, str]] = set()
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            found = con.execute(
                "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name = 'ingest_log'"
            ).fetchall()[0][0]
            if found:
                loaded = set(
                    con.execute(
                        "SELECT DISTINCT dataset, file_sha256 FROM raw.ingest_log WHERE status = 'loaded'"
                    ).fetchall()
                )
        finally:
            con.close()
    return [
        path.relative_to(landing_dir).as_posix()
        for dataset in LOAD_ORDER
        for path in landing_files(landing_dir, dataset)
        if (dataset, file_sha256(path)) not in loaded
    ]
