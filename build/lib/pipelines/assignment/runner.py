"""Module assignment against the warehouse: month by month, in order, each month starting from
the assignment of the month before (SPEC §6). Reads the graded customers and the active managers,
runs the pure solver (`pipelines.assignment.solver`) and replaces the month in
`assignment.module_assignment_history`, with the balance targets it met in
`assignment.module_targets` (a dbt test checks the published modules against them).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import duckdb
import polars as pl

from pipelines.assignment.solver import RESULT_SCHEMA, TARGET_SCHEMA, assign_modules, module_targets

logger = logging.getLogger(__name__)

HISTORY_DDL = """
CREATE SCHEMA IF NOT EXISTS assignment;
CREATE TABLE IF NOT EXISTS assignment.module_assignment_history (
    as_of_date DATE, customer_id VARCHAR, grade VARCHAR, actual_revenue DECIMAL(18, 2),
    manager_id VARCHAR, previous_manager_id VARCHAR, moved BOOLEAN, move_reason VARCHAR);
CREATE TABLE IF NOT EXISTS assignment.module_targets (
    as_of_date DATE, manager_id VARCHAR, grade VARCHAR, fewest_accounts BIGINT, most_accounts BIGINT)
"""




@dataclass(frozen=True)
class AssignmentReport:
    as_of_date: date
    customers: int
    managers: int
    moved: int
    new: int
    manager_left: int
    kept: int
    skipped: bool
    warning: str | None


def _table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    # fetchall, not fetchone: DuckDB 2 refuses new work while a result is left half-read
    found = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, table],
    ).fetchall()
    return bool(found[0][0])


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: list, schema: dict) -> pl.DataFrame:
    """A query's rows as polars (via Arrow: a million rows must not pass through Python tuples)."""
    return con.sql(sql, params=params).pl().cast(schema)


def _graded_customers(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    return _frame(
        con,
        "SELECT customer_id, grade, actual_revenue::DOUBLE AS actual_revenue "
        "FROM marts.customer_worth WHERE as_of_date = ? AND grade IS NOT NULL ORDER BY customer_id",
        [as_of],
        {"customer_id": pl.String, "grade": pl.String, "actual_revenue": pl.Float64},
    )


def _active_managers(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    return _frame(
        con,
        "SELECT DISTINCT manager_id FROM raw.account_managers WHERE manager_id IS NOT NULL "
        "AND active_from <= ? AND (active_to IS NULL OR ? < active_to) ORDER BY manager_id",
        [as_of, as_of],
        {"manager_id": pl.String},
    )


def _previous_owners(con: duckdb.DuckDBPyConnection, as_of: date) -> pl.DataFrame:
    """The pipeline's own assignment at the latest as_of before D's month (a rerun of a month
    never starts from the snapshot it replaces); failing that, the CRM's raw.assignments."""
    schema = {"customer_id": pl.String, "manager_id": pl.String}
    latest = con.execute(
        "SELECT max(as_of_date) FROM assignment.module_assignment_history "
        "WHERE as_of_date < date_trunc('month', ?::DATE)",
        [as_of],
    ).fetchall()[0][0]
    if latest is not None:
        return _frame(
            con,
            "SELECT customer_id, manager_id FROM assignment.module_assignment_history "
            "WHERE as_of_date = ?",
            [latest],
            schema,
        )
    if not _table_exists(con, "raw", "assignments"):
        return pl.DataFrame(schema=schema)
    return _frame(con, "SELECT customer_id, manager_id FROM raw.assignments", [], schema)


def _replace_month(
    con: duckdb.DuckDBPyConnection, as_of: date, rows: pl.DataFrame, targets: pl.DataFrame
) -> None:
    """Delete D's month from the history and the targets and insert `rows` and `targets`, in one
    transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("module_assignment_history", "module_targets"):
            con.execute(
                f"DELETE FROM assignment.{table} "
                "WHERE date_trunc('month', as_of_date) = date_trunc('month', ?::DATE)",
                [as_of],
            )
        if targets.height:
            con.register("_module_target_rows", targets.to_arrow())
            try:
                con.execute(
                    "INSERT INTO assignment.module_targets SELECT ?::DATE, manager_id, grade, "
                    "fewest_accounts, most_accounts FROM _module_target_rows ORDER BY ALL",
                    [as_of],
                )
            finally:
                con.unregister("_module_target_rows")
        if rows.height:
            con.register("_module_assignment_rows", rows.to_arrow())
            try:
                con.execute(
                    "INSERT INTO assignment.module_assignment_history (as_of_date, customer_id, "
                    "grade, actual_revenue, manager_id, previous_manager_id, moved, move_reason) "
                    "SELECT ?::DATE, customer_id, grade, actual_revenue, manager_id, "
                    "previous_manager_id, moved, move_reason FROM _module_assignment_rows "
                    "ORDER BY customer_id",
                    [as_of],
                )
            finally:
                con.unregister("_module_assignment_rows")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _report(as_of: date, result: pl.DataFrame, managers: int) -> AssignmentReport:
    reasons = dict(result.group_by("move_reason").len().iter_rows())
    return AssignmentReport(
        as_of_date=as_of,
        customers=result.height,
        managers=managers,
        moved=reasons.get("rebalanced", 0),
        new=reasons.get("new", 0),
        manager_left=reasons.get("manager_left", 0),
        kept=reasons.get("kept", 0),
        skipped=False,
        warning=None,
    )


def assign_month(con: duckdb.DuckDBPyConnection, as_of: date) -> AssignmentReport:
    """Assign D's graded customers and replace D's month in the history."""
    customers = _graded_customers(con, as_of)
    managers = _active_managers(con, as_of)
    if managers.height == 0:
        warning = (
            f"no account manager is active at {as_of}: module assignment skipped for "
            f"{customers.height} graded customers"
        )
        logger.warning(warning)
        # no stale rows from an earlier run with other inputs may survive for this month
        _replace_month(con, as_of, pl.DataFrame(schema=RESULT_SCHEMA), pl.DataFrame(schema=TARGET_SCHEMA))
        return AssignmentReport(as_of, customers.height, 0, 0, 0, 0, 0, True, warning)
    result = assign_modules(customers, managers, _previous_owners(con, as_of))
    _replace_month(con, as_of, result, module_targets(result, managers))
    return _report(as_of, result, managers.height)


def assign_months(
    con: duckdb.DuckDBPyConnection, as_of_dates: list[date]
) -> list[AssignmentReport]:
    """Run the assignment for each as_of date in ascending order, each month starting from the
    assignment the month before, and write `assignment.module_assignment_history`."""
    con.execute(HISTORY_DDL)
    return [assign_month(con, as_of) for as_of in sorted(set(as_of_dates))]
