"""Which published months did late data make stale, and which month is current (SPEC §13)?
Functions of the working warehouse and the published file; nothing here writes."""

from __future__ import annotations

from pathlib import Path

import duckdb

# The dated datasets and their date column: a row dated t feeds every snapshot D with
# D - INFLUENCE_MONTHS < t <= D (the trailing and prior windows of D and of D0 = D - 12 months).
DATED_COLUMNS = {
    "revenue": "transaction_date",
    "contacts": "contact_date",
    "employee_counts": "as_of_date",
    "referrals": "referral_date",
}
INFLUENCE_MONTHS = 36


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


def latest_transaction_month(warehouse: Path) -> str | None:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        latest = con.execute("SELECT max(transaction_date) FROM raw.revenue").fetchone()[0]
    finally:
        con.close()
    return latest.strftime("%Y-%m") if latest else None
