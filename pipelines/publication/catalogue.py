"""The catalogue of the published file: a description on every table and column, readable from
SQL (`COMMENT ON`), so a BI user can browse it. The marts' descriptions come from the dbt docs;
the bookkeeping tables the pipeline writes itself are described here."""

from __future__ import annotations

import duckdb

from pipelines.ingest.audit import data_issues_sql, held_rows_sql

PUBLICATIONS_DESCRIPTION = (
    "One row per publication of this file: when it was published, which months it refreshed, "
    "the as-of dates it holds, the input files loaded so far, row counts and the checks passed."
)
PUBLICATIONS_COLUMNS = {
    "publication_id": "Sequence number of the publication (1 for the first).",
    "published_at": "When the publication was staged (UTC).",
    "run_id": "Id of the pipeline run that produced it.",
    "months_refreshed": "The months (YYYY-MM) this publication recomputed.",
    "as_of_dates": "Every snapshot date (as_of_date) the published tables hold.",
    "latest_as_of_date": "The newest snapshot date; the `latest` views show this one.",
    "input_files": "Landing files loaded into the warehouse so far (path relative to the landing folder).",
    "row_counts": "JSON object: published table -> number of rows.",
    "checks_passed": "The blocking checks this publication passed before it was swapped in.",
    "stale_months": "Published months (YYYY-MM) that late data loaded before this publication made "
    "stale and that it did not recompute, or recomputed from a stale month before them: run "
    "`accounts backfill --stale`.",
    "config": "The configuration this publication computed its months with (JSON, every parameter).",
    "config_hash": "SHA-256 of `config`: publications with the same hash used the same parameters.",
    "config_drift": "Parameters that differ between this publication's configuration and the one "
    "earlier months still published were computed with (`name: published -> this run`); empty "
    "unless the run was told to allow it.",
    "data_issues": "Gaps in the loaded rows (missing descriptive values, unreadable optional "
    "values), listed in audit.data_issues.",
    "held_rows": "Rows waiting for their customer (listed in audit.held_rows); they count as soon "
    "as the customer arrives.",
    "orphan_rows": "Held rows waiting longer than the configured number of days "
    "(`ingest.orphan_after_days`); still kept.",
    "pipeline_version": "The version of the pipeline that computed the publication; a nightly run "
    "with nothing new recomputes when it changes.",
}
_AUDIT_TABLES = {
    "ingest_log": (
        "SELECT * FROM {wh}.raw.ingest_log",
        "Every landing file the pipeline has seen, once per run that saw it: status (loaded, "
        "unchanged, rejected), rows loaded, quarantined and replaced, and the rejection message.",
        {
            "dataset": "Landing dataset (sub-folder) the file belongs to.",
            "source_file": "Path of the file relative to the landing folder.",
            "file_sha256": "SHA-256 of the file's content; the same content is never loaded twice.",
            "file_bytes": "Size of the file in bytes.",
            "status": "loaded, unchanged (content already loaded) or rejected (nothing loaded).",
            "rows_read": "Data rows read from the file.",
            "rows_loaded": "Rows inserted or replacing an earlier row with other values.",
            "rows_quarantined": "Rows that broke the contract and went to audit.quarantine.",
            "rows_replaced": "Rows whose key was already loaded with other values (the new row wins).",
            "message": "Why the file was rejected, naming the file, line and column.",
            "started_at": "When the pipeline started reading the file (UTC).",
            "finished_at": "When the file was done (UTC).",
        },
    ),
    "quarantine": (
        "SELECT * FROM {wh}.raw.quarantine",
        "Rows that broke the input contract and were not loaded: file, line, column and reason.",
        {
            "dataset": "Landing dataset the row came from.",
            "source_file": "Path of the file relative to the landing folder.",
            "line_number": "Physical line in the CSV file (header = 1), or 1-based row of a Parquet file.",
            "column_name": "The column that broke the contract.",
            "reason": "What was wrong, with the offending value.",
            "record": "The row's raw values as delivered (JSON).",
            "quarantined_at": "When the row was quarantined (UTC).",
        },
    ),
    "data_issues": (
        "{data_issues}",
        "Gaps in rows that were loaded: a missing descriptive value (a customer's name or type, a "
        "product line, ...) or an unreadable optional one (a margin). The row counts; the value is "
        "null, or 'unknown' where it groups customers.",
        {
            "dataset": "Landing dataset the row came from.",
            "source_file": "Path of the file relative to the landing folder.",
            "line_number": "Physical line in the CSV file (header = 1), or 1-based row of a Parquet file.",
            "column_name": "The column with the gap.",
            "issue": "What is missing or unreadable, and how the row was loaded.",
            "recorded_at": "When the row was loaded (UTC).",
        },
    ),
    "held_rows": (
        "{held_rows}",
        "Rows that name a customer not (yet) in the customers data: loaded, but held out of every "
        "table until the customer arrives; then they count with their original file and line, and "
        "the months they fall in are restated like late data.",
        {
            "dataset": "Landing dataset the row came from.",
            "source_file": "Path of the file relative to the landing folder.",
            "source_line": "Physical line in the CSV file (header = 1), or 1-based row of a Parquet file.",
            "row_key": "The row's key (several key columns joined with '|').",
            "customer_id": "The customer the row waits for.",
            "held_since": "When the row was loaded (UTC).",
            "days_held": "Days since it was loaded.",
            "orphan": "Held longer than `ingest.orphan_after_days`: check the customers extract.",
        },
    ),
}


def audit_tables(warehouse: str, orphan_after_days: int) -> dict[str, tuple[str, str, dict[str, str]]]:
    """name -> (SQL over the warehouse attached as `warehouse`, description, column docs) of the
    audit tables the published file carries."""
    sql = {
        "wh": warehouse,
        "data_issues": data_issues_sql(warehouse),
        "held_rows": held_rows_sql(warehouse, orphan_after_days),
    }
    return {
        name: (query.format(**sql), text, columns) for name, (query, text, columns) in _AUDIT_TABLES.items()
    }


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def comment(
    con: duckdb.DuckDBPyConnection, name: str, kind: str, description: str, column_docs: dict[str, str]
) -> None:
    """COMMENT ON a table or view and its columns, so BI users can browse the catalogue in SQL."""
    if description:
        con.execute(f"COMMENT ON {kind} {name} IS {quote(description)}")
    for column, text in column_docs.items():
        if text:
            con.execute(f"COMMENT ON COLUMN {name}.{column} IS {quote(text)}")


def columns_of(
    con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str
) -> list[tuple[str, str]]:
    """[(column name, data type)] of a table, in column order."""
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ? "
        "AND schema_name = ? AND table_name = ? ORDER BY column_index",
        [database, schema, table],
    ).fetchall()
