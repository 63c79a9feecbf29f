"""Module assignment against the warehouse: month by month, in order, each month starting from
the assignment of the month before (SPEC §6). Reads the graded customers, the active managers
with their capacity and the pins in force, runs the pure solver (`pipelines.assignment.solver`)
and replaces the month in `assignment.module_assignment_history`, with the balance targets it
met in `assignment.module_targets` (a dbt test checks the published modules against them) and
what became of every pin in `assignment.pin_report`.

`plan_month` runs the same assignment for a month without writing the history: the preview of
`accounts plan`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import duckdb
import polars as pl

from pipelines.assignment.solver import RESULT_SCHEMA, TARGET_SCHEMA, Assignment, solve
from pipelines.core.vocabulary import PIN_STATUSES

logger = logging.getLogger(__name__)

PIN_SCHEMA = {"customer_id": pl.String, "manager_id": pl.String, "reason": pl.String, "status": pl.String}
HISTORY_DDL = """
CREATE SCHEMA IF NOT EXISTS assignment;
CREATE TABLE IF NOT EXISTS assignment.module_assignment_history (
    as_of_date DATE, customer_id VARCHAR, grade VARCHAR, actual_revenue DECIMAL(18, 2),
    manager_id VARCHAR, previous_manager_id VARCHAR, moved BOOLEAN, move_reason VARCHAR);
ALTER TABLE assignment.module_assignment_history ADD COLUMN IF NOT EXISTS pinned BOOLEAN;
CREATE TABLE IF NOT EXISTS assignment.module_targets (
    as_of_date DATE, manager_id VARCHAR, grade VARCHAR, fewest_accounts BIGINT, most_accounts BIGINT);
ALTER TABLE assignment.module_targets ADD COLUMN IF NOT EXISTS capacity DOUBLE;
ALTER TABLE assignment.module_targets ADD COLUMN IF NOT EXISTS target_accounts DOUBLE;
ALTER TABLE assignment.module_targets ADD COLUMN IF NOT EXISTS pinned_accounts BIGINT;
ALTER TABLE assignment.module_targets ADD COLUMN IF NOT EXISTS balance_relaxed BOOLEAN;
CREATE TABLE IF NOT EXISTS assignment.pin_report (
    as_of_date DATE, customer_id VARCHAR, manager_id VARCHAR, reason VARCHAR, status VARCHAR);
CREATE TABLE IF NOT EXISTS assignment.plan_runs (
    planned_at TIMESTAMP WITH TIME ZONE, run_id VARCHAR, as_of_date DATE, customers BIGINT,
    moves BIGINT, pins_applied BIGINT, pins_ignored BIGINT, balance_relaxed VARCHAR[], directory VARCHAR)
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
    pinned: int = 0
    pins_ignored: int = 0
    relaxed: list[str] = field(default_factory=list)  # managers whose pins broke their balance


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
    """Managers active at D (active_from <= D < active_to) with their capacity (1.0 unless given)."""
    return _frame(
        con,
        "SELECT manager_id, coalesce(any_value(capacity), 1.0) AS capacity FROM raw.account_managers "
        "WHERE manager_id IS NOT NULL AND active_from <= ? AND (active_to IS NULL OR ? < active_to) "
        "GROUP BY manager_id ORDER BY manager_id",
        [as_of, as_of],
        {"manager_id": pl.String, "capacity": pl.Float64},
    )


def _pins(
    con: duckdb.DuckDBPyConnection, as_of: date, graded: pl.DataFrame, managers: pl.DataFrame
) -> pl.DataFrame:
    """The pins in force at D (valid_from <= D < valid_to; the latest valid_from of a customer
    wins), each with its status: applied, manager_inactive, or customer_not_graded (not a
    customer with revenue by D). A pin naming a customer not delivered yet is a held row."""
    if not _table_exists(con, "raw", "assignment_pins"):
        return pl.DataFrame(schema=PIN_SCHEMA)
    pins = _frame(
        con,
        "SELECT customer_id, manager_id, reason FROM raw.assignment_pins p "
        "WHERE valid_from <= ? AND (valid_to IS NULL OR ? < valid_to) "
        "AND EXISTS (SELECT 1 FROM raw.customers c WHERE c.customer_id = p.customer_id) "
        "QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY valid_from DESC, manager_id) = 1 "
        "ORDER BY customer_id",
        [as_of, as_of],
        {"customer_id": pl.String, "manager_id": pl.String, "reason": pl.String},
    )
    applied, manager_inactive, customer_not_graded = PIN_STATUSES
    status = (
        pl.when(~pl.col("customer_id").is_in(graded.get_column("customer_id").implode()))
        .then(pl.lit(customer_not_graded))
        .when(~pl.col("manager_id").is_in(managers.get_column("manager_id").implode()))
        .then(pl.lit(manager_inactive))
        .otherwise(pl.lit(applied))
    )
    return pins.with_columns(status.alias("status"))


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
            "SELECT customer_id, manager_id FROM assignment.module_assignment_history WHERE as_of_date = ?",
            [latest],
            schema,
        )
    if not _table_exists(con, "raw", "assignments"):
        return pl.DataFrame(schema=schema)
    return _frame(con, "SELECT customer_id, manager_id FROM raw.assignments", [], schema)


def _insert(con: duckdb.DuckDBPyConnection, table: str, as_of: date, frame: pl.DataFrame) -> None:
    if frame.height == 0:
        return
    con.register("_assignment_rows", frame.to_arrow())
    try:
        columns = ", ".join(frame.columns)
        con.execute(
            f"INSERT INTO assignment.{table} (as_of_date, {columns}) "
            f"SELECT ?::DATE, {columns} FROM _assignment_rows ORDER BY ALL",
            [as_of],
        )
    finally:
        con.unregister("_assignment_rows")


def _replace_month(
    con: duckdb.DuckDBPyConnection, as_of: date, assignment: Assignment, pins: pl.DataFrame
) -> None:
    """Replace D's month in the history, the targets and the pin report, in one transaction."""
    con.execute("BEGIN TRANSACTION")
    try:
        for table in ("module_assignment_history", "module_targets", "pin_report"):
            con.execute(
                f"DELETE FROM assignment.{table} "
                "WHERE date_trunc('month', as_of_date) = date_trunc('month', ?::DATE)",
                [as_of],
            )
        _insert(con, "module_targets", as_of, assignment.targets)
        _insert(con, "pin_report", as_of, pins)
        _insert(con, "module_assignment_history", as_of, assignment.rows)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _report(as_of: date, assignment: Assignment, managers: int, pins: pl.DataFrame) -> AssignmentReport:
    reasons = dict(assignment.rows.group_by("move_reason").len().iter_rows())
    relaxed = assignment.targets.filter(pl.col("balance_relaxed") & (pl.col("grade") == "all"))
    return AssignmentReport(
        as_of_date=as_of,
        customers=assignment.rows.height,
        managers=managers,
        moved=reasons.get("rebalanced", 0) + reasons.get("pinned", 0),
        new=reasons.get("new", 0),
        manager_left=reasons.get("manager_left", 0),
        kept=reasons.get("kept", 0),
        skipped=False,
        warning=None,
        pinned=int(assignment.rows.get_column("pinned").sum()),
        pins_ignored=pins.filter(pl.col("status") != PIN_STATUSES[0]).height,
        relaxed=relaxed.get_column("manager_id").to_list(),
    )


def plan_month(
    con: duckdb.DuckDBPyConnection, as_of: date
) -> tuple[Assignment, pl.DataFrame, pl.DataFrame] | None:
    """D's assignment from the warehouse as it is, written nowhere: (the assignment, the previous
    owners it started from, the pin report); None when no manager is active at D."""
    customers = _graded_customers(con, as_of)
    managers = _active_managers(con, as_of)
    if managers.height == 0:
        return None
    pins = _pins(con, as_of, customers, managers)
    previous = _previous_owners(con, as_of)
    applied = pins.filter(pl.col("status") == PIN_STATUSES[0])
    return solve(customers, managers, previous, applied), previous, pins


def record_plan(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    as_of: date,
    assignment: Assignment,
    pins: pl.DataFrame,
    directory,
) -> None:
    """A planning run, recorded as such in `assignment.plan_runs`: the only thing it writes to
    the warehouse (the history, the targets and the pin report stay as they were)."""
    con.execute(HISTORY_DDL)
    report = _report(as_of, assignment, 0, pins)
    con.execute(
        "INSERT INTO assignment.plan_runs VALUES (now(), ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            as_of,
            report.customers,
            report.moved + report.new + report.manager_left,
            pins.height - report.pins_ignored,
            report.pins_ignored,
            report.relaxed,
            str(directory),
        ],
    )


def assign_month(con: duckdb.DuckDBPyConnection, as_of: date) -> AssignmentReport:
    """Assign D's graded customers and replace D's month in the history."""
    planned = plan_month(con, as_of)
    if planned is None:
        customers = _graded_customers(con, as_of).height
        warning = f"no account manager is active at {as_of}: assignment skipped, {customers} graded customers"
        logger.warning(warning)
        # no stale rows from an earlier run with other inputs may survive for this month
        empty = Assignment(pl.DataFrame(schema=RESULT_SCHEMA), pl.DataFrame(schema=TARGET_SCHEMA))
        _replace_month(con, as_of, empty, pl.DataFrame(schema=PIN_SCHEMA))
        return AssignmentReport(as_of, customers, 0, 0, 0, 0, 0, True, warning)
    assignment, _, pins = planned
    _replace_month(con, as_of, assignment, pins)
    return _report(as_of, assignment, _active_managers(con, as_of).height, pins)


def assign_months(con: duckdb.DuckDBPyConnection, as_of_dates: list[date]) -> list[AssignmentReport]:
    """Run the assignment for each as_of date in ascending order, each month starting from the
    assignment the month before, and write `assignment.module_assignment_history`."""
    con.execute(HISTORY_DDL)
    return [assign_month(con, as_of) for as_of in sorted(set(as_of_dates))]
