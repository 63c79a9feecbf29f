"""The assignment preview (`accounts plan`, SPEC §6): the next assignment of a month computed from
the data as it is now, pins and capacities included, without publishing anything. Pure functions
of the planned assignment: the moves, each manager's module before and after, the text a person
reads, and the CSV files sales operations opens."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipelines.assignment.solver import Assignment
from pipelines.core.config import Settings
from pipelines.core.vocabulary import GRADES, MOVE_REASONS, PIN_STATUSES

PREVIEW_FILE = "preview.txt"


def moves(assignment: Assignment) -> pl.DataFrame:
    """Every customer whose manager changes (or who is new), with the reason."""
    return (
        assignment.rows.filter(pl.col("move_reason") != "kept")
        .select(
            "customer_id",
            "grade",
            "actual_revenue",
            "previous_manager_id",
            "manager_id",
            "pinned",
            "move_reason",
        )
        .sort("move_reason", "customer_id")
    )


def _per_grade(rows: pl.DataFrame, owner: str, label: str) -> pl.DataFrame:
    counts = (
        rows.drop_nulls(owner)
        .group_by(pl.col(owner).alias("manager_id"), "grade")
        .len()
        .pivot(on="grade", index="manager_id", values="len")
    )
    for grade in GRADES:
        if grade not in counts.columns:
            counts = counts.with_columns(pl.lit(0, pl.UInt32).alias(grade))
    counts = counts.with_columns(pl.sum_horizontal(GRADES).alias("all")).fill_null(0)
    return counts.select(
        "manager_id", *[pl.col(c).cast(pl.Int64).alias(f"{label}_{c.lower()}") for c in [*GRADES, "all"]]
    )


def managers(assignment: Assignment, settings: Settings) -> pl.DataFrame:
    """Per manager (the active ones, and previous owners who left): capacity, target, accounts per
    grade before and after, pinned accounts, planned contacts and utilisation after."""
    rows = assignment.rows
    totals = assignment.targets.filter(pl.col("grade") == "all").select(
        "manager_id", "capacity", "target_accounts", "pinned_accounts", "balance_relaxed"
    )
    planned = settings.planned_contacts_per_year
    contacts = (
        rows.with_columns(pl.col("grade").replace_strict(planned, return_dtype=pl.Float64).alias("planned"))
        .group_by("manager_id")
        .agg(pl.col("planned").sum().alias("planned_contacts"))
    )
    everyone = pl.concat(
        [
            totals.select("manager_id"),
            rows.select(pl.col("previous_manager_id").alias("manager_id")).drop_nulls(),
        ]
    ).unique()
    table = (
        everyone.join(totals, on="manager_id", how="left")
        .join(_per_grade(rows, "previous_manager_id", "before"), on="manager_id", how="left")
        .join(_per_grade(rows, "manager_id", "after"), on="manager_id", how="left")
        .join(contacts, on="manager_id", how="left")
        .with_columns(pl.col("^(before|after)_.*$").fill_null(0), pl.col("planned_contacts").fill_null(0.0))
        .with_columns(
            (pl.col("planned_contacts") / (settings.contacts_per_manager_year * pl.col("capacity"))).alias(
                "utilisation"
            ),
            pl.col("capacity").is_not_null().alias("active"),
        )
    )
    return table.sort("manager_id")


def write(directory: Path, assignment: Assignment, settings: Settings, pins: pl.DataFrame) -> list[Path]:
    """moves.csv, managers.csv and pins.csv in `directory`; returns their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "moves.csv": moves(assignment),
        "managers.csv": managers(assignment, settings),
        "pins.csv": pins,
    }
    for name, frame in files.items():
        frame.write_csv(directory / name)
    return [directory / name for name in files]


def _cells(values) -> str:
    return " ".join(f"{v:>4}" for v in values)


def describe(
    month: str, as_of: object, assignment: Assignment, settings: Settings, pins: pl.DataFrame
) -> str:
    """The preview as a person reads it."""
    rows = assignment.rows
    reasons = dict(rows.group_by("move_reason").len().iter_rows())
    statuses = dict(pins.group_by("status").len().iter_rows()) if pins.height else {}
    table = managers(assignment, settings)
    columns = [*GRADES, "all"]
    pin_counts = ", ".join(f"{s} {statuses.get(s, 0)}" for s in PIN_STATUSES) if statuses else "none in force"
    lines = [
        f"plan for {month} (as of {as_of}): {rows.height:,} graded customers, "
        f"{table.filter(pl.col('active')).height} active managers; the published file is not changed",
        "moves by reason: " + ", ".join(f"{r} {reasons.get(r, 0):,}" for r in MOVE_REASONS),
        f"pins: {pin_counts}",
        f"{'manager':<10} {'FTE':>4} {'target':>7}   before {_cells(columns)}"
        f"   after {_cells(columns)}  utilisation",
    ]
    for row in table.iter_rows(named=True):
        before = _cells(row[f"before_{g.lower()}"] for g in columns)
        after = _cells(row[f"after_{g.lower()}"] for g in columns)
        capacity = f"{row['capacity']:>4.2g}" if row["active"] else "left"
        target = f"{row['target_accounts']:>7.1f}" if row["active"] else f"{'':>7}"
        utilisation = f"{row['utilisation']:>11.2f}" if row["active"] else ""
        note = "  balance relaxed (pins)" if row["balance_relaxed"] else ""
        lines.append(
            f"{row['manager_id']:<10} {capacity} {target}   {'':>6} {before}"
            f"   {'':>5} {after}  {utilisation}{note}"
        )
    return "\n".join(lines)
