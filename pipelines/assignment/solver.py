"""Module assignment, the pure algorithm (SPEC §6): every graded customer gets one active
account manager so that each manager holds a balanced share (`pipelines.assignment.balance`) of
every grade and of the total, pinned customers stay with their manager, and as few customers as
possible move.

The exact optimisation only needs counts: x[g, m] = customers of grade g that manager m holds,
k[g, m] = how many of the unpinned customers m already held of grade g it keeps. Any assignment
keeps at most min(x[g, m] - pins[g, m], p[g, m]) of the p[g, m] unpinned customers m held of
grade g, and the realisation below reaches that bound, so maximising sum(k) over the balanced x
(a small integer programme over G * M counts, solved exactly with HiGHS) gives the minimum number
of moves (a pinned customer with another previous manager moves whatever the assignment). The
customers are then placed with vectorised polars: pinned customers go to their pin, the
highest-revenue previous customers stay, the surplus moves (lowest revenue first, then
customer_id), and the pool of movers, new customers and customers of managers who left is dealt,
per grade, to the free slots.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from pipelines.assignment.balance import Balance, balance, pins_only, unbind_totals
from pipelines.core.vocabulary import GRADES

GRADE_TYPE = pl.Enum(GRADES)

TARGET_SCHEMA = {
    "manager_id": pl.String,
    "grade": pl.String,
    "capacity": pl.Float64,
    "target_accounts": pl.Float64,
    "fewest_accounts": pl.Int64,
    "most_accounts": pl.Int64,
    "pinned_accounts": pl.Int64,
    "balance_relaxed": pl.Boolean,
}
RESULT_SCHEMA = {
    "customer_id": pl.String,
    "grade": pl.String,
    "actual_revenue": pl.Float64,
    "manager_id": pl.String,
    "previous_manager_id": pl.String,
    "pinned": pl.Boolean,
    "moved": pl.Boolean,
    "move_reason": pl.String,
}


@dataclass(frozen=True)
class Assignment:
    rows: pl.DataFrame  # one row per customer, RESULT_SCHEMA, sorted by customer_id
    targets: pl.DataFrame  # the balance each manager met, per grade and 'all', TARGET_SCHEMA


def _managers(managers: pl.DataFrame) -> pl.DataFrame:
    """Distinct active managers with their capacity (1.0 unless given), sorted by id so the solver
    sees the same problem for any row order."""
    capacity = pl.col("capacity").cast(pl.Float64) if "capacity" in managers.columns else pl.lit(1.0)
    frame = (
        managers.select(pl.col("manager_id").cast(pl.String), capacity.fill_null(1.0).alias("capacity"))
        .drop_nulls("manager_id")
        .unique("manager_id", keep="first")
        .sort("manager_id")
    )
    if frame.height == 0:
        raise ValueError("module assignment needs at least one active manager")
    if (frame.get_column("capacity") <= 0).any():
        raise ValueError("managers: capacity must be > 0")
    return frame


def _prepared_customers(customers: pl.DataFrame) -> pl.DataFrame:
    frame = customers.select(
        pl.col("customer_id").cast(pl.String),
        pl.col("grade").cast(pl.String),
        pl.col("actual_revenue").cast(pl.Float64),
    )
    if frame.get_column("customer_id").null_count():
        raise ValueError("customers: customer_id must not be null")
    if frame.get_column("customer_id").n_unique() != frame.height:
        raise ValueError("customers: customer_id must be unique")
    unknown = frame.filter(~pl.col("grade").is_in(GRADES) | pl.col("grade").is_null())
    if unknown.height:
        raise ValueError(f"customers: unknown grade(s) {unknown.get_column('grade').unique()}")
    # an Enum grade sorts and groups as a small integer (a million-row sort, not a string sort)
    return frame.with_columns(pl.col("grade").cast(GRADE_TYPE))


def _owners(frame: pl.DataFrame | None, name: str) -> pl.DataFrame:
    """customer_id -> manager_id (one per customer even if a key repeats: the smallest id)."""
    if frame is None or frame.height == 0:
        return pl.DataFrame(schema={"customer_id": pl.String, name: pl.String})
    return (
        frame.select(pl.col("customer_id").cast(pl.String), pl.col("manager_id").cast(pl.String))
        .drop_nulls()
        .group_by("customer_id")
        .agg(pl.col("manager_id").min().alias(name))
    )


def _with_owners(
    customers: pl.DataFrame, previous: pl.DataFrame, pins: pl.DataFrame | None, manager_ids: list[str]
) -> pl.DataFrame:
    """Customers with their previous owner (and whether still active) and their pin (to an active
    manager; pins to anyone else are ignored by the caller's report)."""
    pinned = _owners(pins, "pin_manager_id").filter(pl.col("pin_manager_id").is_in(manager_ids))
    return (
        customers.join(_owners(previous, "previous_manager_id"), on="customer_id", how="left")
        .join(pinned, on="customer_id", how="left")
        .with_columns(
            pl.col("previous_manager_id").is_in(manager_ids).fill_null(False).alias("previous_active"),
            pl.col("pin_manager_id").is_not_null().alias("pinned"),
        )
    )


def _counts(
    base: pl.DataFrame, grades: list[str], manager_ids: list[str], by: str, where: pl.Expr
) -> np.ndarray:
    """Customers per (grade, manager in column `by`) among the rows `where`, as a G x M array."""
    counts = np.zeros((len(grades), len(manager_ids)), dtype=np.int64)
    g_pos, m_pos = {g: i for i, g in enumerate(grades)}, {m: i for i, m in enumerate(manager_ids)}
    held = base.filter(where).group_by("grade", by).len()
    if held.height:
        counts[[g_pos[g] for g in held.get_column("grade")], [m_pos[m] for m in held.get_column(by)]] = (
            held.get_column("len").to_numpy()
        )
    return counts


def _solve_counts(bounds: Balance, n_g: np.ndarray, pins: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Exact counts x[g, m] within the bounds (and at least the pins), maximising the kept
    previous customers sum(k), k <= p, k <= x - pins.

    Variables: x (G*M, integer) and one k per pair with p > 0. Rows: each grade fully assigned,
    each manager's total within its bounds. The problem is canonical (grades and managers in fixed
    order), so HiGHS answers identically."""
    g_count, m_count = p.shape
    x_n = g_count * m_count
    pairs = np.flatnonzero(p.ravel() > 0)  # pairs where keeping is possible
    k_n = pairs.size
    lower = np.maximum(bounds.fewest, pins).ravel().astype(float)
    variable_bounds = Bounds(
        np.concatenate([lower, np.zeros(k_n)]),
        np.concatenate([bounds.most.ravel().astype(float), p.ravel()[pairs].astype(float)]),
    )
    x_index = np.arange(x_n)
    grade_rows = sparse.csr_matrix((np.ones(x_n), (x_index // m_count, x_index)), shape=(g_count, x_n + k_n))
    manager_rows = sparse.csr_matrix((np.ones(x_n), (x_index % m_count, x_index)), shape=(m_count, x_n + k_n))
    # k - x <= -pins: what is kept fits in the slots the pins leave
    link_rows = sparse.csr_matrix(
        (
            np.concatenate([np.ones(k_n), -np.ones(k_n)]),
            (np.tile(np.arange(k_n), 2), np.concatenate([x_n + np.arange(k_n), pairs])),
        ),
        shape=(k_n, x_n + k_n),
    )
    constraints = [
        LinearConstraint(grade_rows, n_g.astype(float), n_g.astype(float)),
        LinearConstraint(manager_rows, bounds.fewest_total.astype(float), bounds.most_total.astype(float)),
    ]
    if k_n:
        constraints.append(LinearConstraint(link_rows, -np.inf, -pins.ravel()[pairs].astype(float)))
    cost = np.concatenate([np.zeros(x_n), -np.ones(k_n)])
    # mip_rel_gap=0: HiGHS' default gap (1e-4) would accept up to 100 extra moves per million
    result = milp(
        cost,
        integrality=np.ones(x_n + k_n),
        bounds=variable_bounds,
        constraints=constraints,
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if result.status != 0 or result.x is None:
        raise Infeasible(result.message)
    x = np.rint(result.x[:x_n]).astype(np.int64).reshape(g_count, m_count)
    _check_balanced(x, n_g, bounds, pins)
    return x


class Infeasible(RuntimeError):
    """No counts meet every bound at once."""


def _check_balanced(x: np.ndarray, n_g: np.ndarray, bounds: Balance, pins: np.ndarray) -> None:
    """Guard against solver tolerances: the rounded counts must meet every bound exactly."""
    totals = x.sum(axis=0)
    if (
        not np.array_equal(x.sum(axis=1), n_g)
        or (x < np.maximum(bounds.fewest, pins)).any()
        or (x > bounds.most).any()
        or (totals < bounds.fewest_total).any()
        or (totals > bounds.most_total).any()
    ):
        raise RuntimeError("module assignment solver returned unbalanced counts")


def _kept(base: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """Flag the unpinned previous customers each manager keeps: the surplus (lowest revenue
    first, then customer_id) moves, the rest stays."""
    return (
        base.filter(pl.col("previous_active") & ~pl.col("pinned"))
        .sort(["grade", "previous_manager_id", "actual_revenue", "customer_id"], nulls_last=False)
        .with_columns(
            pl.int_range(pl.len()).over("grade", "previous_manager_id").alias("order"),
            pl.len().over("grade", "previous_manager_id").alias("held"),
        )
        .join(
            counts.select("grade", pl.col("manager_id").alias("previous_manager_id"), "keep"),
            on=["grade", "previous_manager_id"],
            how="left",
        )
        .with_columns((pl.col("order") >= pl.col("held") - pl.col("keep")).alias("stays"))
        .select("customer_id", "stays")
    )


def _deal(pool: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """Deal each grade's pool (highest revenue first) round-robin over the managers' free slots,
    so revenue spreads evenly across the managers that take customers."""
    slots = (
        counts.with_columns((pl.col("slots") - pl.col("pins") - pl.col("keep")).alias("free"))
        .filter(pl.col("free") > 0)
        .with_columns(pl.int_ranges(0, pl.col("free")).alias("turn"))
        .explode("turn")
        .sort(["grade", "turn", "manager_id"])
        .with_columns(pl.int_range(pl.len()).over("grade").alias("position"))
        .select("grade", "position", "manager_id")
    )
    ordered = pool.sort(
        ["grade", "actual_revenue", "customer_id"],
        descending=[False, True, False],
        nulls_last=True,
    ).with_columns(pl.int_range(pl.len()).over("grade").alias("position"))
    return ordered.join(slots, on=["grade", "position"], how="inner").drop("position")


def _with_reasons(frame: pl.DataFrame) -> pl.DataFrame:
    reason = (
        pl.when(pl.col("previous_manager_id").is_null())
        .then(pl.lit("new"))
        .when(pl.col("manager_id") == pl.col("previous_manager_id"))
        .then(pl.lit("kept"))
        .when(~pl.col("previous_active"))
        .then(pl.lit("manager_left"))
        .when(pl.col("pinned"))
        .then(pl.lit("pinned"))
        .otherwise(pl.lit("rebalanced"))
    )
    return frame.with_columns(reason.alias("move_reason")).with_columns(
        pl.col("move_reason").is_in(["rebalanced", "pinned"]).alias("moved")
    )


def _targets(grades: list[str], managers: pl.DataFrame, bounds: Balance, pins: np.ndarray) -> pl.DataFrame:
    ids, capacity = managers.get_column("manager_id").to_list(), managers.get_column("capacity").to_list()
    rows = [
        (m, g, capacity[j], float(bounds.target[i, j]), int(bounds.fewest[i, j]), int(bounds.most[i, j]),
         int(pins[i, j]), bool(bounds.relaxed[j]))
        for i, g in enumerate(grades) for j, m in enumerate(ids)
    ] + [
        (m, "all", capacity[j], float(bounds.target[:, j].sum()), int(bounds.fewest_total[j]),
         int(bounds.most_total[j]), int(pins[:, j].sum()), bool(bounds.relaxed[j]))
        for j, m in enumerate(ids)
    ]  # fmt: skip
    return pl.DataFrame(rows, schema=TARGET_SCHEMA, orient="row").sort("manager_id", "grade")


def _balanced_counts(
    n_g: np.ndarray, capacities: list[float], pinned: np.ndarray, kept_before: np.ndarray
) -> tuple[Balance, np.ndarray]:
    """The bounds the counts met and the counts: the balance of SPEC 6.2, loosened only where pins
    leave it no solution (see pipelines/assignment/balance.py): the pinned managers hold exactly
    their pins; failing that (every manager holds pins) their totals are unbound; last, their pins
    alone bind them. The managers without pins keep their balance throughout."""
    holders = pinned.sum(axis=0) > 0
    candidates = (
        lambda: balance(n_g.tolist(), capacities, pinned),
        lambda: balance(n_g.tolist(), capacities, pinned, forced=frozenset(np.flatnonzero(holders).tolist())),
        lambda: unbind_totals(balance(n_g.tolist(), capacities, pinned), holders, int(n_g.sum())),
        lambda: pins_only(balance(n_g.tolist(), capacities, pinned), holders, n_g.tolist(), pinned),
    )
    for bounds_of in candidates[:-1]:
        bounds = bounds_of()
        with contextlib.suppress(Infeasible):
            return bounds, _solve_counts(bounds, n_g, pinned, kept_before)
    bounds = candidates[-1]()
    return bounds, _solve_counts(bounds, n_g, pinned, kept_before)


def solve(
    customers: pl.DataFrame,
    managers: pl.DataFrame,
    previous: pl.DataFrame,
    pins: pl.DataFrame | None = None,
) -> Assignment:
    """Assign every customer to one of `managers` (SPEC §6); see the module docstring.

    customers: customer_id, grade, actual_revenue; managers: manager_id (the active ones),
    capacity (FTE, optional, default 1.0); previous: customer_id, manager_id (previous owners,
    possibly inactive or missing); pins: customer_id, manager_id (the pins in force; a pin to a
    manager not in `managers` is ignored)."""
    active = _managers(managers)
    manager_ids = active.get_column("manager_id").to_list()
    frame = _prepared_customers(customers)
    if frame.height == 0:
        return Assignment(pl.DataFrame(schema=RESULT_SCHEMA), pl.DataFrame(schema=TARGET_SCHEMA))
    base = _with_owners(frame, previous, pins, manager_ids)
    present = set(base.get_column("grade").unique().to_list())
    grades = [g for g in GRADES if g in present]
    n_g = np.array([base.filter(pl.col("grade") == g).height for g in grades], dtype=np.int64)
    pinned = _counts(base, grades, manager_ids, "pin_manager_id", pl.col("pinned"))
    kept_before = _counts(
        base, grades, manager_ids, "previous_manager_id", pl.col("previous_active") & ~pl.col("pinned")
    )
    capacities = active.get_column("capacity").to_list()
    bounds, x = _balanced_counts(n_g, capacities, pinned, kept_before)
    keep = np.minimum(x - pinned, kept_before)  # what the realisation keeps; optimal at the optimum
    counts = pl.DataFrame(
        {
            "grade": pl.Series(np.repeat(grades, len(manager_ids)).tolist(), dtype=GRADE_TYPE),
            "manager_id": manager_ids * len(grades),
            "slots": x.ravel(),
            "pins": pinned.ravel(),
            "keep": keep.ravel(),
        }
    )
    base = base.join(_kept(base, counts), on="customer_id", how="left").with_columns(
        pl.col("stays").fill_null(False)
    )
    stayers = base.filter(pl.col("stays")).with_columns(pl.col("previous_manager_id").alias("manager_id"))
    pinned_rows = base.filter(pl.col("pinned")).with_columns(pl.col("pin_manager_id").alias("manager_id"))
    dealt = _deal(base.filter(~pl.col("stays") & ~pl.col("pinned")), counts)
    assigned = pl.concat([stayers, pinned_rows, dealt], how="diagonal")
    if assigned.height != frame.height:  # the counts guarantee a slot for everyone
        raise RuntimeError("module assignment lost customers while placing them")
    rows = _with_reasons(assigned).select(list(RESULT_SCHEMA)).cast(RESULT_SCHEMA).sort("customer_id")
    return Assignment(rows, _targets(grades, active, bounds, pinned))


def assign_modules(
    customers: pl.DataFrame, managers: pl.DataFrame, previous: pl.DataFrame, pins: pl.DataFrame | None = None
) -> pl.DataFrame:
    """The assignment's rows (see `solve`)."""
    return solve(customers, managers, previous, pins).rows
