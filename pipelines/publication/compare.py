"""Compare two published files table by table: the rows of each table, EXCEPT ALL both ways.

Used to prove that a change leaves every published number as it was (`accounts compare A B`),
and that two engines publish the same tables. Bookkeeping that differs between runs by nature is
left out: the `publications` table (times, run ids) and the write timestamps of the audit tables.
Floating-point columns can be compared within a relative tolerance (engines may add in another
order); every other column, and the column types, must match exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.publication.catalogue import columns_of, quote

SKIPPED_TABLES = {"publications"}
# when a row was written: differs between runs by nature
WRITE_STAMPS = {
    "_loaded_at", "started_at", "finished_at", "quarantined_at", "replaced_at", "recorded_at", "held_since",
}  # fmt: skip
FLOATS = {"DOUBLE", "FLOAT", "REAL"}


@dataclass(frozen=True)
class TableComparison:
    table: str  # schema.table
    rows_left: int
    rows_right: int
    only_left: int  # rows of the left file with no equal row in the right one (with multiplicity)
    only_right: int
    problem: str = ""  # missing table, different columns or types

    @property
    def equal(self) -> bool:
        return not self.problem and self.only_left == self.only_right == 0

    def __str__(self) -> str:
        if self.problem:
            return f"{self.table}: {self.problem}"
        verdict = "equal" if self.equal else "DIFFERENT"
        return (
            f"{self.table}: {self.rows_left} rows left, {self.rows_right} right; "
            f"{self.only_left} only left, {self.only_right} only right: {verdict}"
        )


def _tables(con: duckdb.DuckDBPyConnection, database: str) -> set[tuple[str, str]]:
    rows = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?", [database]
    ).fetchall()
    return {(s, t) for s, t in rows if t not in SKIPPED_TABLES}


def _select(
    database: str, schema: str, table: str, columns: list[tuple[str, str]], digits: int | None
) -> str:
    def value(name: str, data_type: str) -> str:
        if digits is not None and data_type in FLOATS:
            # relative tolerance: round to `digits` significant digits
            return (
                f'CASE WHEN "{name}" = 0 OR NOT isfinite("{name}") THEN "{name}" '
                f'ELSE round("{name}", {digits} - 1 - floor(log10(abs("{name}")))::INTEGER) END'
            )
        return f'"{name}"'

    selected = ", ".join(value(n, t) for n, t in columns if n not in WRITE_STAMPS)
    where = " WHERE status = 'loaded'" if table == "ingest_log" else ""  # runs differ in re-reads
    return f"SELECT {selected} FROM {database}.{schema}.{table}{where}"


def compare_publications(left: Path, right: Path, relative_tolerance: float = 0.0) -> list[TableComparison]:
    """Every table of either file compared; `relative_tolerance` > 0 compares floating-point
    columns after rounding to the matching number of significant digits."""
    digits = None
    if relative_tolerance > 0:
        digits = max(1, round(-math.log10(relative_tolerance)))
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {quote(str(left))} AS l (READ_ONLY)")
        con.execute(f"ATTACH {quote(str(right))} AS r (READ_ONLY)")
        in_left, in_right = _tables(con, "l"), _tables(con, "r")
        results = []
        for schema, table in sorted(in_left | in_right):
            name = f"{schema}.{table}"
            if (schema, table) not in in_right or (schema, table) not in in_left:
                side = "left" if (schema, table) in in_left else "right"
                results.append(TableComparison(name, 0, 0, 0, 0, f"only in the {side} file"))
                continue
            columns = columns_of(con, "l", schema, table)
            if columns != columns_of(con, "r", schema, table):
                results.append(TableComparison(name, 0, 0, 0, 0, "different columns or types"))
                continue
            a = _select("l", schema, table, columns, digits)
            b = _select("r", schema, table, columns, digits)
            (rows_left,) = con.execute(f"SELECT count(*) FROM ({a})").fetchone()
            (rows_right,) = con.execute(f"SELECT count(*) FROM ({b})").fetchone()
            (only_left,) = con.execute(f"SELECT count(*) FROM ({a} EXCEPT ALL {b})").fetchone()
            (only_right,) = con.execute(f"SELECT count(*) FROM ({b} EXCEPT ALL {a})").fetchone()
            results.append(TableComparison(name, rows_left, rows_right, only_left, only_right))
        return results
    finally:
        con.close()
