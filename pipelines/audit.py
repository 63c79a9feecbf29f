"""Audit rules run on the staged publication before it is swapped in (pure functions of a
DuckDB connection, so they are testable without the orchestrator)."""

from __future__ import annotations

import duckdb
import pandera.errors

from schemas.published import PUBLISHED_CONTRACTS


def contract_violations(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Validate every published table present against its pandera contract.
    Returns table -> error summary for each table that fails (empty when all pass)."""
    present = {row[0] for row in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    failures = {}
    for table, schema in PUBLISHED_CONTRACTS.items():
        if table not in present:
            failures[table] = "table missing from the publication"
            continue
        frame = con.sql(f"SELECT * FROM main.{table}").pl()
        try:
            schema.validate(frame, lazy=True)
        except pandera.errors.SchemaErrors as exc:
            failures[table] = str(exc)[:2000]
    return failures


def assignment_balance_violations(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """Managers whose module breaks the SPEC §6 balance (per grade or in total) at any as_of."""
    rows = con.execute(
        """
        WITH per_manager_grade AS (
            SELECT as_of_date, manager_id, grade, count(*) AS held
            FROM main.module_assignments GROUP BY ALL
        ),
        managers AS (
            SELECT as_of_date, count(DISTINCT manager_id) AS m FROM main.modules GROUP BY ALL
        ),
        grade_sizes AS (
            SELECT as_of_date, grade, count(*) AS n FROM main.module_assignments GROUP BY ALL
        ),
        -- every (manager, grade) pair, including the ones holding no customer of that grade
        grid AS (
            SELECT mo.as_of_date, mo.manager_id, g.grade, g.n, ma.m, coalesce(p.held, 0) AS held
            FROM main.modules mo
            JOIN grade_sizes g USING (as_of_date)
            JOIN managers ma USING (as_of_date)
            LEFT JOIN per_manager_grade p
              ON p.as_of_date = mo.as_of_date AND p.manager_id = mo.manager_id
             AND p.grade = g.grade
        ),
        totals AS (
            SELECT as_of_date, manager_id, sum(held) AS held, any_value(m) AS m
            FROM grid GROUP BY ALL
        ),
        sizes AS (SELECT as_of_date, count(*) AS n FROM main.module_assignments GROUP BY ALL)
        SELECT as_of_date, manager_id, grade, held, n, m FROM grid
        WHERE held NOT BETWEEN n // m AND (n + m - 1) // m
        UNION ALL
        SELECT t.as_of_date, t.manager_id, 'all', t.held, s.n, t.m
        FROM totals t JOIN sizes s USING (as_of_date)
        WHERE t.held NOT BETWEEN s.n // t.m AND (s.n + t.m - 1) // t.m
        ORDER BY ALL
        """
    ).fetchall()
    return [
        {"as_of_date": str(r[0]), "manager_id": r[1], "grade": r[2], "held": r[3], "customers": r[4],
         "managers": r[5]}
        for r in rows
    ]  # fmt: skip
