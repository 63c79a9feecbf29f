"""History bookkeeping for scheduling (SPEC §13): is there anything new to load, and which
published months did late data make stale? Pure functions of the landing folder, the working
warehouse and the published file; nothing here writes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines.ingestion import file_sha256, landing_files
from schemas.raw import LOAD_ORDER

# The dated datasets and their date column: a row dated t feeds every snapshot D with
# D - INFLUENCE_MONTHS < t <= D (the trailing and prior windows of D and of D0 = D - 12 months).
DATED_COLUMNS = {
    "revenue": "transaction_date",
    "contacts": "contact_date",
    "employee_counts": "as_of_date",
    "referrals": "referral_date",
}
INFLUENCE_MONTHS = 36


def new_landing_files(warehouse: Path, landing_dir: Path) -> list[str]:
    """Landing files (relative paths) whose content has not been loaded yet."""
    loaded: set[tuple[str, str]] = set()
    if warehouse.exists():
        con = duckdb.connect(str(warehouse), read_only=True)
        try:
            if _has_table(con, "raw", "ingest_log"):
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


def stale_months(warehouse: Path, published: Path) -> list[str]:
    """Published months (YYYY-MM) with input rows loaded after the month was last published:
    rows dated in the month or in the INFLUENCE_MONTHS before it, e.g. late transactions."""
    if not (warehouse.exists() and published.exists()):
        return []
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{published}' AS pub (READ_ONLY)")
        return stale_months_in(con, "wh", "pub")
    finally:
        con.close()


def stale_months_in(con: duckdb.DuckDBPyConnection, warehouse: str, published: str) -> list[str]:
    """`stale_months` on a connection with the warehouse and the published file attached under
    the given names; [] while the warehouse holds no raw tables yet."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = 'raw'",
            [warehouse],
        ).fetchall()
    }
    if not set(DATED_COLUMNS) <= present:
        return []
    loads = " UNION ALL ".join(
        f"SELECT date_trunc('month', {column})::DATE AS data_month, max(_loaded_at) AS loaded_at "
        f"FROM {warehouse}.raw.{dataset} GROUP BY 1"
        for dataset, column in DATED_COLUMNS.items()
    )
    rows = con.execute(
        f"""
        WITH published_months AS (
            SELECT month, max(published_at) AS published_at
            FROM (
                SELECT unnest(months_refreshed) AS month, published_at
                FROM {published}.main.publications
            )
            GROUP BY month
        ),
        loads AS ({loads})
        SELECT DISTINCT p.month
        FROM published_months p
        JOIN loads l
          ON l.data_month <= strptime(p.month, '%Y-%m')
         AND l.data_month > strptime(p.month, '%Y-%m') - INTERVAL {INFLUENCE_MONTHS} MONTH
         AND l.loaded_at > p.published_at
        ORDER BY 1
        """
    ).fetchall()
    return [r[0] for r in rows]


def contiguous_ranges(months: list[str]) -> list[tuple[str, str]]:
    """[2024-01, 2024-02, 2024-05] -> [(2024-01, 2024-02), (2024-05, 2024-05)]."""
    ranges: list[tuple[str, str]] = []
    for month in sorted(months):
        if ranges and _next_month(ranges[-1][1]) == month:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return ranges


def latest_transaction_month(warehouse: Path) -> str | None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        latest = con.execute("SELECT max(transaction_date) FROM raw.revenue").fetchone()[0]
    finally:
        con.close()
    return latest.strftime("%Y-%m") if latest else None


def _next_month(month: str) -> str:
    first = dt.date.fromisoformat(f"{month}-01")
    return (first.replace(day=28) + dt.timedelta(days=4)).strftime("%Y-%m")


def _has_table(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ?",
            [schema, table],
        ).fetchone()[0]
    )
