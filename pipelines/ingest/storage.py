"""Where a raw table lives: in the working DuckDB warehouse (the DuckDB engine's ingestion), or as
a Parquet version written by Spark (the Spark engine's; `pipelines.ingest.spark_loader`), which
`raw.<dataset>` then is a view over. `raw.spark_tables` names the current version of each table
Spark holds; readers of `raw.<dataset>` see the same columns either way."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from pipelines.ingest.datasets import DATASETS, LINEAGE_COLUMNS

STORAGE_DDL = (
    "CREATE TABLE IF NOT EXISTS raw.spark_tables (dataset VARCHAR, location VARCHAR, written_at TIMESTAMP)"
)


def spark_locations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """`raw.<dataset>` -> the Parquet folder of its current version, for the raw tables Spark holds."""
    if not _has_storage_table(con):
        return {}
    return {
        f"raw.{d}": loc for d, loc in con.execute("SELECT dataset, location FROM raw.spark_tables").fetchall()
    }


def _has_storage_table(con: duckdb.DuckDBPyConnection) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = 'raw' AND table_name = 'spark_tables'"
    ).fetchone()[0]
    return bool(found)


def own_raw_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The DuckDB engine's ingestion writes raw tables in place: raw tables Spark holds (an earlier
    run on the Spark engine) become warehouse tables again. Returns the datasets taken back."""
    locations = spark_locations(con)
    for name in locations:
        dataset = name.removeprefix("raw.")
        con.begin()
        try:
            con.execute(f"CREATE TABLE raw._taken_back AS SELECT * FROM {name}")
            con.execute(f"DROP VIEW {name}")
            con.execute(f"ALTER TABLE raw._taken_back RENAME TO {dataset}")
            con.execute("DELETE FROM raw.spark_tables WHERE dataset = ?", [dataset])
            con.commit()
        except BaseException:
            con.rollback()
            raise
        shutil.rmtree(Path(locations[name]).parent, ignore_errors=True)  # every version of it
    return [name.removeprefix("raw.") for name in locations]


def view_sql(dataset: str, location: str) -> str:
    """`raw.<dataset>` as a view over a Parquet version, in the raw table's columns and types."""
    columns = DATASETS[dataset].columns | LINEAGE_COLUMNS
    select = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in columns.items())
    files = (Path(location) / "*.parquet").as_posix().replace("'", "''")
    return f"CREATE OR REPLACE VIEW raw.{dataset} AS SELECT {select} FROM read_parquet('{files}')"
