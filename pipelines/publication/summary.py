"""The run summary: what a publication holds, in a few lines for the person or the cron log."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.core.vocabulary import GRADES, SEGMENTS


def summary(published: Path) -> str:
    con = duckdb.connect(str(published), read_only=True)
    try:
        publication_id, latest = con.execute(
            "SELECT publication_id, latest_as_of_date FROM publications "
            "ORDER BY publication_id DESC LIMIT 1"
        ).fetchone()
        grades = con.execute(
            "SELECT grade, count(*) FROM latest.customer_worth GROUP BY grade "
            "ORDER BY list_position(?, grade)",
            [list(GRADES)],
        ).fetchall()
        managers = con.execute("SELECT count(*) FROM latest.modules").fetchone()[0]
        segments = con.execute(
            "SELECT segment, count(*) FROM latest.customer_loyalty GROUP BY segment "
            "ORDER BY list_position(?, segment)",
            [list(SEGMENTS)],
        ).fetchall()
        at_risk_revenue, expected_loss = con.execute(
            "SELECT at_risk_revenue, expected_loss FROM latest.at_risk_exposure "
            "WHERE dimension = 'overall'"
        ).fetchone() or (0, 0)
        tables = con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'"
        ).fetchone()[0]
    finally:
        con.close()
    customers = sum(n for _, n in grades)
    grade_text = ", ".join(f"{g} {n}" for g, n in grades)
    return (
        f"published {published} (publication {publication_id}, {tables} tables)\n"
        f"as of {latest}: {customers} graded customers ({grade_text}); "
        f"{managers} account managers with modules\n"
        f"loyalty: {', '.join(f'{s} {n}' for s, n in segments)}; "
        f"revenue at risk {at_risk_revenue:,.0f}, expected loss {expected_loss:,.0f}"
    )


