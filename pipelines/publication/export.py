"""`accounts export`: one `bi` view of the published file, for one snapshot date (and one account
manager), as a CSV, Parquet or Excel file a person opens in a spreadsheet. The `bi` views are flat
(one value per cell), so every format holds exactly what the view shows."""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.publication.bi import BI_SCHEMA

FORMATS = ("csv", "parquet", "xlsx")
EXCEL_MAX_ROWS = 1_048_575  # a worksheet's rows, less the header
ALL_DATES = "all"


class ExportError(ValueError):
    """A request the published file cannot answer; the message says what it does hold."""


@dataclass(frozen=True)
class Export:
    path: Path
    rows: int
    as_of_date: str


def export_view(
    published: Path,
    view: str,
    out: Path | None = None,
    as_of: str | None = None,
    manager: str | None = None,
    file_format: str | None = None,
) -> Export:
    """Write `bi.<view>` at `as_of` (default: the view's latest snapshot; `all`: every one),
    optionally for one manager, to `out` (default `<published dir>/exports/...`)."""
    if not published.exists():
        raise ExportError(f"no published file at {published}: run `accounts run` first")
    con = duckdb.connect(str(published), read_only=True)
    try:
        columns = _view_columns(con, view)
        where, params, date_label = _filters(con, view, columns, as_of, manager)
        file_format = _format(file_format, out)
        out = out or _default_path(published, view, date_label, manager, file_format)
        relation = con.sql(f"SELECT * FROM {BI_SCHEMA}.{view}{where} ORDER BY ALL", params=params or None)
        rows = _write(relation, out, file_format, view)
    finally:
        con.close()
    return Export(out, rows, date_label)


def _view_columns(con: duckdb.DuckDBPyConnection, view: str) -> list[str]:
    views = [r[0] for r in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = ? ORDER BY 1", [BI_SCHEMA]
    ).fetchall()]  # fmt: skip
    if view not in views:
        raise ExportError(f"no view {BI_SCHEMA}.{view} in the published file; views: {', '.join(views)}")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?", [BI_SCHEMA, view]
    ).fetchall()]  # fmt: skip


def _filters(
    con: duckdb.DuckDBPyConnection, view: str, columns: list[str], as_of: str | None, manager: str | None
) -> tuple[str, list, str]:
    conditions, params, date_label = [], [], ALL_DATES
    if "as_of_date" in columns and as_of != ALL_DATES:
        dates = [r[0] for r in con.execute(
            f"SELECT DISTINCT as_of_date FROM {BI_SCHEMA}.{view} ORDER BY 1"
        ).fetchall()]  # fmt: skip
        if not dates:
            raise ExportError(f"{BI_SCHEMA}.{view} has no rows in the published file")
        date = dates[-1] if as_of is None else _date(as_of)
        if date not in dates:
            raise ExportError(
                f"{BI_SCHEMA}.{view} has no snapshot at {date}; snapshots: {dates[0]} .. {dates[-1]} "
                f"({len(dates)} dates; `--as-of all` exports every one)"
            )
        conditions.append("as_of_date = ?")
        params.append(date)
        date_label = date.isoformat()
    if manager is not None:
        if "manager_id" not in columns:
            raise ExportError(f"{BI_SCHEMA}.{view} is not per manager (no manager_id column)")
        managers = [r[0] for r in con.execute(
            f"SELECT DISTINCT manager_id FROM {BI_SCHEMA}.{view} WHERE manager_id IS NOT NULL ORDER BY 1"
        ).fetchall()]  # fmt: skip
        if manager not in managers:
            raise ExportError(f"no manager {manager} in {BI_SCHEMA}.{view}; managers: {', '.join(managers)}")
        conditions.append("manager_id = ?")
        params.append(manager)
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return where, params, date_label


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ExportError(f"--as-of takes a date YYYY-MM-DD or `{ALL_DATES}`, not {text!r}") from None


def _format(file_format: str | None, out: Path | None) -> str:
    chosen = file_format or (out.suffix.lstrip(".").lower() if out and out.suffix else "csv")
    if chosen not in FORMATS:
        raise ExportError(f"unknown export format {chosen!r}: choose one of {', '.join(FORMATS)}")
    return chosen


def _default_path(published: Path, view: str, date_label: str, manager: str | None, file_format: str) -> Path:
    name = "_".join(part for part in (view, date_label, manager) if part)
    return published.parent / "exports" / f"{name}.{file_format}"


def _write(relation: duckdb.DuckDBPyRelation, out: Path, file_format: str, view: str) -> int:
    """Write through a temporary file, so a reader never opens half an export."""
    frame = relation.pl()  # one read of the view: a relation re-runs its query on every call
    if file_format == "xlsx" and frame.height > EXCEL_MAX_ROWS:
        raise ExportError(
            f"{frame.height:,} rows do not fit an Excel worksheet ({EXCEL_MAX_ROWS:,}): narrow it with "
            "--as-of or --manager, or export csv or parquet"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(f".{out.name}.partial")
    if file_format == "csv":
        frame.write_csv(partial)
    elif file_format == "parquet":
        frame.write_parquet(partial)
    else:
        frame.write_excel(partial, worksheet=view[:31], autofit=True)  # Excel caps sheet names at 31
    os.replace(partial, out)
    return frame.height
