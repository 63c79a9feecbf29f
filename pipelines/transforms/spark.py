"""Around each dbt invocation on the Spark engine (docs/SPARK.md), free of the orchestrator.

The working DuckDB warehouse stays the hub: ingestion loads it, the assignment reads and writes it,
the publication is staged from it. For dbt on Spark:

1. `export_sources` writes every source table dbt reads (the raw tables, the assignment's tables)
   as a Parquet folder `<spark dir>/sources/<schema>/<table>` (the raw tables Spark's ingestion
   wrote are Parquet already: their folders are named instead); the project's run-start hook
   registers those folders as Spark tables (transforms/macros/engine_sources.sql);
2. dbt builds the models on Spark, as Parquet tables in `<spark dir>/warehouse`;
3. `import_marts` reads the marts back into the working warehouse's `marts` schema, replacing
   them, with `as_of_date` first as the DuckDB engine has it (Spark stores its partition column
   last).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import duckdb

from pipelines.ingest.storage import spark_locations

SOURCES_ENV = "ACCOUNTS_SPARK_SOURCES"  # the sources exported, for the run-start hook
PARTITION_COLUMN = "as_of_date"


def export_sources(
    con: duckdb.DuckDBPyConnection, spark_dir: Path, sources: Iterable[tuple[str, str]]
) -> list[str]:
    """Write each existing source table of the warehouse as Parquet; return `schema.table=folder`
    of each (a table not created yet, e.g. the assignment's before the first assignment, is not:
    the hook then drops its Spark table, as the DuckDB engine would not find it either). A raw
    table Spark's ingestion wrote is Parquet already: its folder is given, nothing is copied."""
    existing = set(con.execute("SELECT table_schema, table_name FROM information_schema.tables").fetchall())
    in_spark = spark_locations(con)
    written = []
    for schema, table in sorted(set(sources)):
        if f"{schema}.{table}" in in_spark:
            written.append(f"{schema}.{table}={in_spark[f'{schema}.{table}']}")
            continue
        if (schema, table) not in existing:
            continue
        folder = spark_dir / "sources" / schema / table
        partial = folder.with_name(table + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        con.execute(
            f'COPY (SELECT * FROM "{schema}"."{table}") TO ? (FORMAT parquet)',
            [str(partial / "part-0.parquet")],
        )
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(partial, folder)
        written.append(f"{schema}.{table}={folder}")
    return written


def table_folder(spark_dir: Path, schema: str, table: str) -> Path:
    """Where Spark keeps a managed table of `schema` (a database) in the engine's warehouse."""
    return spark_dir / "warehouse" / f"{schema}.db" / table


def schema_marker(spark_dir: Path, schema: str, table: str) -> Path:
    """The empty Parquet file with a table's columns, which the marts' Spark post-hook writes
    (transforms/macros/engine_sources.sql)."""
    return spark_dir / "schemas" / schema / table


def import_marts(con: duckdb.DuckDBPyConnection, spark_dir: Path, tables: Iterable[str]) -> dict[str, int]:
    """Replace the warehouse's `marts.<table>` by Spark's table of that name; return row counts."""
    con.execute("CREATE SCHEMA IF NOT EXISTS marts")
    counts = {}
    for table in tables:
        folder = table_folder(spark_dir, "marts", table)
        source = _parquet_of(folder) or _parquet_of(schema_marker(spark_dir, "marts", table))
        if source is None:
            raise FileNotFoundError(
                f"Spark wrote no Parquet file for marts.{table} in {folder}: the dbt build on Spark did "
                "not create it; see the dbt log of this run"
            )
        columns = [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        first = [PARTITION_COLUMN] if PARTITION_COLUMN in columns else []
        ordered = first + [c for c in columns if c != PARTITION_COLUMN]
        select = ", ".join(f'"{c}"' for c in ordered)
        con.execute(f"CREATE OR REPLACE TABLE marts.{table} AS SELECT {select} FROM {source}")
        counts[table] = con.execute(f"SELECT count(*) FROM marts.{table}").fetchone()[0]
    return counts


def _parquet_of(folder: Path) -> str | None:
    """DuckDB's reader of the Parquet files Spark wrote in `folder` (hive partitions by
    `as_of_date` or none); None when there is none (a partitioned table without rows)."""
    files = sorted(str(p) for p in folder.rglob("*.parquet") if not p.name.startswith((".", "_")))
    if not files:
        return None
    partitioned = any(f"{PARTITION_COLUMN}=" in f for f in files)
    hive = f", hive_partitioning = true, hive_types = {{'{PARTITION_COLUMN}': DATE}}"
    options = hive if partitioned else ""
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{listed}], union_by_name = true{options})"
