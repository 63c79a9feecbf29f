"""The run summary: what a publication holds, in a few lines for the person or the cron log."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.core import paths
from pipelines.core.vocabulary import GRADES, SEGMENTS


def summary(published: Path) -> str:
    con = duckdb.connect(str(published), read_only=True)
    try:
        publication_id, latest = con.execute(
            "SELECT publication_id, latest_as_of_date FROM publications ORDER BY publication_id DESC LIMIT 1"
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
            "SELECT at_risk_revenue, expected_loss FROM latest.at_risk_exposure WHERE dimension = 'overall'"
        ).fetchone() or (0, 0)
        tables = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'").fetchone()[0]
        notes = _module_notes(con) + _backtest_notes(con) + _data_notes(con)
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
    ) + "".join(f"\n{note}" for note in notes + file_notes(published))


def file_notes(published: Path) -> list[str]:
    """Where a person finds what the run wrote beside the published file."""
    from pipelines.publication.quality import docs_dir_for

    files = {
        "report": paths.report_path_for(published),
        "data docs": docs_dir_for(published) / "index.html",
        "logs": published.parent / "logs",
    }
    return [f"{label}: {path}" for label, path in files.items() if path.exists()]


def _module_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Pins at the latest snapshot, and the managers whose pins relaxed their balance."""
    pins = con.execute("SELECT status, count(*) FROM latest.module_pins GROUP BY ALL ORDER BY ALL").fetchall()
    relaxed = [m for (m,) in con.execute(
        "SELECT manager_id FROM latest.modules WHERE balance_relaxed ORDER BY ALL"
    ).fetchall()]  # fmt: skip
    notes = []
    if pins:
        notes.append("pins: " + ", ".join(f"{status} {n}" for status, n in pins) + "; see module_pins")
    if relaxed:
        notes.append(
            f"balance relaxed for {', '.join(relaxed)}: their pins exceed a balanced module; see modules"
        )
    return notes


def _backtest_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """How well the defection model predicted the latest snapshot whose outcome is known, and a
    warning when it predicts worse than the snapshot before."""
    rows = con.execute(
        "SELECT as_of_date, horizon_months, brier_score, auc_probability, auc_health "
        "FROM defection_backtest ORDER BY as_of_date DESC LIMIT 2"
    ).fetchall()
    if not rows:
        return []
    as_of, horizon, brier, auc, auc_health = rows[0]
    line = (
        f"backtest: defection predicted at {as_of}, outcome {horizon} months later: "
        f"Brier {brier:.3f}, AUC {_number(auc)} (health score AUC {_number(auc_health)})"
    )
    notes = [line]
    if len(rows) == 2 and brier > rows[1][2]:
        notes.append(
            f"WARNING: the defection model predicts worse than at {rows[1][0]} "
            f"(Brier {rows[1][2]:.3f} -> {brier:.3f}); see defection_backtest and defection_calibration"
        )
    return notes


def _number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _data_notes(con: duckdb.DuckDBPyConnection) -> list[str]:
    """What a person should know about the data behind the numbers: the gaps that loaded, the
    rows waiting for their customer, the configuration drift a run was allowed."""
    notes = []
    issues = con.execute(
        "SELECT column_name, count(*) AS n FROM audit.data_issues GROUP BY ALL ORDER BY n DESC, column_name"
    ).fetchall()
    if issues:
        kinds = ", ".join(f"{n:,} {column}" for column, n in issues[:4])
        notes.append(
            f"data issues: {sum(n for _, n in issues):,} gaps in loaded rows ({kinds}); see audit.data_issues"
        )
    held, customers, since, orphans = con.execute(
        "SELECT count(*), count(DISTINCT customer_id), min(held_since)::DATE, count(*) FILTER (WHERE orphan) "
        "FROM audit.held_rows"
    ).fetchone()
    if held:
        notes.append(
            f"held rows: {held:,} rows wait for {customers:,} customers not delivered yet, since {since}; "
            f"{orphans:,} orphans; see audit.held_rows"
        )
    (drift,) = con.execute(
        "SELECT config_drift FROM publications ORDER BY publication_id DESC LIMIT 1"
    ).fetchone()
    if drift:
        notes.append("config drift (allowed): " + "; ".join(drift))
    return notes
