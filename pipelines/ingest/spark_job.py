"""Ingestion on Spark (ACCOUNTS_ENGINE=spark; docs/SPARK.md): the landing files' rows checked on
Spark's executors by the same row rules as on DuckDB, and the raw tables rewritten as Parquet where
the latest delivery of a key wins.

Runs as its own process (`python -m pipelines.ingest.spark_job REQUEST.json`, on a cluster a
`spark-submit` of this module), so the pipeline's process never holds a JVM; it touches no DuckDB
file. The request (written by `pipelines.ingest.spark_loader`) names, per dataset, the new files in
delivery order, the Parquet folder of the raw table so far (or none) and where to write:

- `<work>/checked`: every file's outcome as rows: its valid rows (`_kind` valid), quarantined rows,
  data issues, one summary row per file (`file` or `rejected`). Each file is read and judged whole
  by one Python task (`mapInArrow` over `readers.read_landing_file` and `rules.clean_file`), as
  the DuckDB engine does, so line numbers, reasons and rejections are the same;
- `<version>`: the raw table after the delivery (Parquet);
- `<work>/replacements` and `<work>/written`: the keys replaced and the rows written per file.

The merge repeats the DuckDB engine's file-by-file rule in one pass: per key the delivery brings,
the rows in delivery order (the table so far first); a row identical to the one before it (every
column, nulls equal) changes nothing and keeps the earlier row's lineage; a different row replaces
it. The last row standing per key is the raw row; keys the delivery does not bring stand as they
are.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from functools import partial, reduce
from pathlib import Path

import polars as pl
import pyarrow as pa

from pipelines.ingest.contract import validate_valid_rows
from pipelines.ingest.datasets import DATASETS, LINEAGE_COLUMNS, Dataset
from pipelines.ingest.readers import RejectFile, read_landing_file
from pipelines.ingest.rules import clean_file, quote_examples

KIND = "_kind"  # valid / quarantine / issue / file / rejected
FILE_INDEX = "_file_index"  # the file's place in the delivery, from 1 (0: the raw table so far)
# Per file or row outcome, beside the dataset's columns (null where a kind has no such value)
OUTCOME_COLUMNS = {
    "line_number": pa.int64(),
    "column_name": pa.string(),
    "text": pa.string(),  # the quarantine reason, the data issue or the rejection
    "record": pa.string(),
    "rows_read": pa.int64(),
    "quarantine_examples": pa.string(),
    "issue_examples": pa.string(),
}


def arrow_type(duck_type: str) -> pa.DataType:
    if duck_type.startswith("DECIMAL"):
        precision, scale = duck_type[duck_type.index("(") + 1 : -1].split(",")
        return pa.decimal128(int(precision), int(scale))
    return {
        "VARCHAR": pa.string(),
        "DATE": pa.date32(),
        "TIMESTAMP": pa.timestamp("us"),  # naive, as DuckDB's TIMESTAMP (Spark: TIMESTAMP_NTZ)
        "DOUBLE": pa.float64(),
        "BIGINT": pa.int64(),
    }[duck_type]


def checked_schema(dataset: Dataset) -> pa.Schema:
    """The rows the check of a file yields: the raw table's columns with lineage, then the outcome."""
    lineage = {c: arrow_type(t) for c, t in LINEAGE_COLUMNS.items() if c != "_loaded_at"}
    fields = {c: arrow_type(t) for c, t in dataset.columns.items()} | lineage
    fields |= {KIND: pa.string(), FILE_INDEX: pa.int64()} | OUTCOME_COLUMNS
    return pa.schema(list(fields.items()))


def _conform(frame: pl.DataFrame, schema: pa.Schema, **constants) -> pa.Table:
    """`frame` in `schema`: the columns it lacks as nulls or the given constants."""
    table = frame.to_arrow()
    columns = []
    for field in schema:
        if field.name in constants:
            columns.append(pa.array([constants[field.name]] * frame.height, field.type))
        elif field.name in table.column_names:
            columns.append(table.column(field.name).cast(field.type))
        else:
            columns.append(pa.nulls(frame.height, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def check_file(dataset: Dataset, path: str, rel: str, index: int) -> list[pa.Table]:
    """One landing file judged by the row rules, as the rows of `checked_schema`."""
    schema = checked_schema(dataset)
    common = {"_source_file": rel, FILE_INDEX: index}
    try:
        frame = read_landing_file(Path(path), rel, dataset)
    except RejectFile as exc:
        rejection = exc.rejection
        summary = pl.DataFrame({"line_number": [rejection.line], "column_name": [rejection.column]},
                               schema={"line_number": pl.Int64, "column_name": pl.String})  # fmt: skip
        return [_conform(summary, schema, **common, **{KIND: "rejected", "text": rejection.reason})]
    clean, rows_read = clean_file(frame, dataset, rel), frame.height
    del frame  # the file as read is not needed any more
    validate_valid_rows(dataset.name, clean.valid)  # a failure here is a bug in the row rules
    summary = pl.DataFrame(
        {
            "rows_read": [rows_read],
            "quarantine_examples": [quote_examples(clean.quarantine, "reason")],
            "issue_examples": [quote_examples(clean.issues, "issue")],
        }
    )
    quarantine = clean.quarantine.rename({"reason": "text"})
    issues = clean.issues.rename({"issue": "text"})
    return [
        _conform(clean.valid, schema, **{KIND: "valid", FILE_INDEX: index}),
        _conform(quarantine, schema, **common, **{KIND: "quarantine"}),
        _conform(issues, schema, **common, **{KIND: "issue"}),
        _conform(summary, schema, **common, **{KIND: "file"}),
    ]


def check_files(batches: Iterator[pa.RecordBatch], dataset_name: str) -> Iterator[pa.RecordBatch]:
    """`mapInArrow` body: each input row names a file (path, rel, index); yields its checked rows."""
    dataset = DATASETS[dataset_name]
    for batch in batches:
        for path, rel, index in zip(*(batch.column(c).to_pylist() for c in ("path", "rel", "index")),
                                    strict=True):  # fmt: skip
            for table in check_file(dataset, path, rel, index):
                yield from table.to_batches(max_chunksize=1_000_000)


# --- on the driver: the Spark side of the merge ---------------------------------------------------


def spark_schema(schema: pa.Schema):
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)


def merge(spark, dataset: Dataset, checked, previous: str | None, loaded_at: str):
    """(rows standing per key, one per key: the raw table; replacements; rows written per file)."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    columns = list(dataset.columns)
    types = {f.name: f.dataType for f in spark_schema(checked_schema(dataset)).fields}
    lineage = ["_source_file", "_source_line", "_loaded_at", "_extra"]
    rows = checked.where(F.col(KIND) == "valid").select(
        *columns, "_source_file", "_source_line",
        F.lit(loaded_at).cast("timestamp_ntz").alias("_loaded_at"), "_extra", FILE_INDEX,
    )  # fmt: skip
    if previous is not None:
        so_far = spark.read.parquet(previous).select(
            *(F.col(c).cast(types[c]) for c in columns + ["_source_file", "_source_line", "_extra"]),
            F.col("_loaded_at").cast("timestamp_ntz"), F.lit(0).cast("bigint").alias(FILE_INDEX),
        )  # fmt: skip
        # Only the keys the delivery brings need ordering; the others stand as they are (a nightly
        # delivery is small: the key list is broadcast, the table so far is scanned, not shuffled).
        delivered = rows.select(*dataset.key).distinct()
        untouched = so_far.join(delivered, list(dataset.key), "left_anti")
        rows = so_far.join(delivered, list(dataset.key), "left_semi").unionByName(rows)
    in_order = Window.partitionBy(*dataset.key).orderBy(FILE_INDEX)
    unchanged = reduce(lambda a, b: a & b, (F.col(c).eqNullSafe(F.lag(c).over(in_order)) for c in columns))
    first = F.lag(FILE_INDEX).over(in_order).isNull()
    # a row identical to the one before it changes nothing
    standing = rows.withColumn("_stands", first | ~unchanged).where("_stands").drop("_stands")
    date = F.col(dataset.date_column).cast("date") if dataset.date_column else F.lit(None).cast("date")
    standing = standing.select(
        "*",
        F.lag("_source_file").over(in_order).alias("_previous_file"),
        F.lag("_source_line").over(in_order).alias("_previous_line"),
        F.lag(date).over(in_order).alias("_previous_date"),
        F.lag(FILE_INDEX).over(in_order).isNotNull().alias("_replaces"),
        F.lead(FILE_INDEX).over(in_order).isNull().alias("_last"),
    ).persist()
    table = standing.where("_last").select(*columns, *lineage)
    if previous is not None:
        table = table.unionByName(untouched.select(*columns, *lineage))
    row_key = F.concat_ws("|", *(F.col(k).cast("string") for k in dataset.key))
    replacements = standing.where(F.col("_replaces") & (F.col(FILE_INDEX) > 0)).select(
        F.lit(dataset.name).alias("dataset"), row_key.alias("row_key"),
        F.col("_previous_file").alias("previous_source_file"),
        F.col("_previous_line").alias("previous_source_line"),
        F.col("_source_file").alias("new_source_file"), F.col("_source_line").alias("new_source_line"),
        F.col("_loaded_at").alias("replaced_at"), F.col("_previous_date").alias("previous_date"), FILE_INDEX,
    )  # fmt: skip
    written = (
        standing.where(F.col(FILE_INDEX) > 0)
        .groupBy(FILE_INDEX)
        .agg(
            F.count("*").alias("rows_written"),
            F.sum(F.col("_replaces").cast("bigint")).alias("rows_replaced"),
        )
    )
    return table, replacements, written


def session(app_name: str = "accounts-ingest"):
    from pyspark.sql import SparkSession

    builder = (
        SparkSession.builder.appName(app_name)
        .master(f"local[{os.environ.get('ACCOUNTS_SPARK_CORES', '*')}]")
        .config("spark.driver.memory", os.environ.get("ACCOUNTS_SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", os.environ.get("ACCOUNTS_SPARK_SHUFFLE_PARTITIONS", "4"))
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
    )
    return builder.getOrCreate()


def run(request: dict) -> None:
    unknown = sorted(set(request["datasets"]) - set(DATASETS))
    if unknown:  # before a JVM starts
        raise ValueError(f"the request names datasets that do not exist: {', '.join(unknown)}")
    spark = session()
    spark.sparkContext.setLogLevel("ERROR")
    try:
        for name, job in request["datasets"].items():
            dataset = DATASETS[name]
            work = Path(job["work"])
            files = spark.createDataFrame(
                [(f["path"], f["rel"], f["index"]) for f in job["files"]],
                "path string, rel string, index bigint",
            ).repartition(max(1, len(job["files"])))
            schema = checked_schema(dataset)
            checked = files.mapInArrow(partial(check_files, dataset_name=name), spark_schema(schema))
            clock = time.perf_counter()
            checked.write.mode("overwrite").parquet(str(work / "checked"))  # each file judged once
            judged = time.perf_counter() - clock
            checked = spark.read.parquet(str(work / "checked"))
            table, replacements, written = merge(
                spark, dataset, checked, job["previous"], request["loaded_at"]
            )
            table.write.mode("overwrite").parquet(job["version"])
            replacements.write.mode("overwrite").parquet(str(work / "replacements"))
            written.write.mode("overwrite").parquet(str(work / "written"))
            merged = time.perf_counter() - clock - judged
            print(
                f"{name}: {len(job['files'])} files judged in {judged:.1f} s, merged in {merged:.1f} s",
                flush=True,
            )
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    run(json.loads(Path(args[0]).read_text()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
