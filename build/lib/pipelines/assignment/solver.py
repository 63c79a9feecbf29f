"""Module assignment, the pure algorithm (SPEC §6): every graded customer gets one active
account manager so that each manager holds a balanced share of every grade and of the total,
with the fewest moves.

The exact optimisation only needs counts: x[g, m] = customers of grade g that manager m holds,
k[g, m] = how many of them m already held. Any balanced assignment keeps at most
min(x[g, m], p[g, m]) of the p[g, m] customers m held of grade g, and the realisation below
reaches that bound, so maximising sum(k) over the balanced x (a small integer programme over
G * M counts, solved exactly with HiGHS) gives the minimum number of moves. The customers are then
placed with vectorised polars: the highest-revenue previous customers stay, the surplus moves
(lowest revenue first, then customer_id), and the pool of movers, new customers and customers of
managers who left is dealt, per grade, to the free slots.
"""

from __future__ import annotations

import numpy as np
import polars as pl
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from pipelines.core.vocabulary import GRADES

GRADE_TYPE = pl.Enum(GRADES)

TARGET_SCHEMA = {
    "manager_id": pl.String,
    "grade": pl.String,
    "fewest_accounts": pl.Int64,
    "most_accounts": pl.Int64,
}
RESULT_SCHEMA = {
    "customer_id": pl.String,
    "grade": pl.String,
    "actual_revenue": pl.Float64,
    "manager_id": pl.String,
    "previous_manager_id": pl.String,
    "moved": pl.Boolean,
    "move_reason": pl.String,
}



def balance_bounds(n: np.ndarray | int, managers: int) -> tuple[np.ndarray, np.ndarray]:
    """The one definition of a balanced module: of n customers (of a grade, or in all) each of
    the M managers holds floor(n / M) or ceil(n / M). Returns (fewest, most) per manager."""
    n = np.asarray(n, dtype=np.int64)
    return n // managers, -(-n // managers)


def module_targets(assigned: pl.DataFrame, managers: pl.DataFrame) -> pl.DataFrame:
    """The balance every manager must meet for `assigned` (one row per customer with its grade):
    manager_id, grade ('all' for the total), fewest_accounts, most_accounts."""
    manager_ids = _manager_ids(managers)
    sizes = assigned.group_by(pl.col("grade").cast(pl.String)).len().sort("grade")
    total = pl.DataFrame({"grade": ["all"], "len": [assigned.height]})
    sizes = pl.concat([sizes, total], how="vertical_relaxed")
    fewest, most = balance_bounds(sizes.get_column("len").to_numpy(), len(manager_ids))
    per_grade = sizes.with_columns(
        pl.Series("fewest_accounts", fewest), pl.Series("most_accounts", most)
    ).drop("len")
    return pl.DataFrame({"manager_id": manager_ids}).join(per_grade, how="cross").sort("manager_id", "grade")


def _manager_ids(managers: pl.DataFrame) -> list[str]:
    """Distinct active manager ids, sorted so the solver sees the same problem for any row order."""
    ids = managers.get_column("manager_id").cast(pl.String).drop_nulls().unique().sort()
    if ids.len() == 0:
        raise ValueError("module assignment needs at least one active manager")
    return ids.to_list()


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


def _with_previous(
    customers: pl.DataFrame, previous: pl.DataFrame, manager_ids: list[str]
) -> pl.DataFrame:
    """Customers with their previous owner and whether that owner is still active."""
    owners = (
        previous.select(pl.col("customer_id").cast(pl.String), pl.col("manager_id").cast(pl.String))
        .drop_nulls()
        # one owner per customer even if a key repeats: the smallest id, deterministically
        .group_by("customer_id")
        .agg(pl.col("manager_id").min().alias("previous_manager_id"))
    )
    return customers.join(owners, on="customer_id", how="left").with_columns(
        pl.col("previous_manager_id").is_in(manager_ids).fill_null(False).alias("previous_active")
    )


def _solve_counts(n_g: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact balanced counts x[g, m] maximising kept = sum min(x, p); returns (x, kept).

    Variables: x (G*M, integer in [floor(n_g/M), ceil(n_g/M)]) and one k per pair with p > 0
    (k <= p, k <= x). Rows: each grade fully assigned, each manager's total within floor/ceil.
    The problem is canonical (grades and managers in fixed order), so HiGHS answers identically.
    """
    g_count, m_count = p.shape
    total = int(n_g.sum())
    x_n = g_count * m_count
    pairs = np.flatnonzero(p.ravel() > 0)  # pairs where keeping is possible
    k_n = pairs.size

    fewest, most = balance_bounds(n_g, m_count)
    lo = np.repeat(fewest, m_count).astype(float)
    hi = np.repeat(most, m_count).astype(float)
    bounds = Bounds(
        np.concatenate([lo, np.zeros(k_n)]),
        np.concatenate([hi, p.ravel()[pairs].astype(float)]),
    )
    x_index = np.arange(x_n)
    grade_rows = sparse.csr_matrix(
        (np.ones(x_n), (x_index // m_count, x_index)), shape=(g_count, x_n + k_n)
    )
    manager_rows = sparse.csr_matrix(
        (np.ones(x_n), (x_index % m_count, x_index)), shape=(m_count, x_n + k_n)
    )
    link_rows = sparse.csr_matrix(
        (
            np.concatenate([np.ones(k_n), -np.ones(k_n)]),
            (np.tile(np.arange(k_n), 2), np.concatenate([x_n + np.arange(k_n), pairs])),
        ),
        shape=(k_n, x_n + k_n),
    )
    constraints = [
        LinearConstraint(grade_rows, n_g.astype(float), n_g.astype(float)),
        LinearConstraint(manager_rows, *(float(b) for b in balance_bounds(total, m_count))),
    ]
    if k_n:
        constraints.append(LinearConstraint(link_rows, -np.inf, 0.0))
    cost = np.concatenate([np.zeros(x_n), -np.ones(k_n)])
    # mip_rel_gap=0: HiGHS' default gap (1e-4) would accept up to 100 extra moves per million
    result = milp(
        cost,
        integrality=np.ones(x_n + k_n),
        bounds=bounds,
        constraints=constraints,
        options={"mip_rel_gap": 0.0, "presolve": True},
    )
    if result.status != 0 or result.x is None:
        raise RuntimeError(f"module assignment solver failed: {result.message}")
    x = np.rint(result.x[:x_n]).astype(np.int64).reshape(g_count, m_count)
    _check_balanced(x, n_g)
    # k = min(x, p) is what the realisation keeps; at the optimum it equals the solver's k
    return x, np.minimum(x, p)


def _check_balanced(x: np.ndarray, n_g: np.ndarray) -> None:
    """Guard against solver tolerances: the rounded counts must balance exactly."""
    m_count = x.shape[1]
    totals = x.sum(axis=0)
    fewest, most = balance_bounds(n_g, m_count)
    fewest_total, most_total = balance_bounds(int(n_g.sum()), m_count)
    if (
        not np.array_equal(x.sum(axis=1), n_g)
        or (x < fewest[:, None]).any()
        or (x > most[:, None]).any()
        or totals.min() < fewest_total
        or totals.max() > most_total
    ):
        raise RuntimeError("module assignment solver returned unbalanced counts")


def _count_frames(
    base: pl.DataFrame, manager_ids: list[str]
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Grades present (in GRADES order), n_g and p[g, m] (previous active owners) as arrays."""
    grades = [g for g in GRADES if g in set(base.get_column("grade").unique().to_list())]
    g_pos = {g: i for i, g in enumerate(grades)}
    m_pos = {m: i for i, m in enumerate(manager_ids)}
    n_g = np.zeros(len(grades), dtype=np.int64)
    for grade, n in base.group_by("grade").len().iter_rows():
        n_g[g_pos[grade]] = n
    p = np.zeros((len(grades), len(manager_ids)), dtype=np.int64)
    held = base.filter(pl.col("previous_active")).group_by("grade", "previous_manager_id").len()
    if held.height:
        rows = [g_pos[g] for g in held.get_column("grade")]
        cols = [m_pos[m] for m in held.get_column("previous_manager_id")]
        p[rows, cols] = held.get_column("len").to_numpy()
    return grades, n_g, p


def _kept(base: pl.DataFrame, counts: pl.DataFrame) -> pl.DataFrame:
    """Flag the previous customers each manager keeps: the surplus (lowest revenue first, then
    customer_id) moves, the rest stays."""
    return (
        base.filter(pl.col("previous_active"))
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
        counts.with_columns((pl.col("slots") - pl.col("keep")).alias("free"))
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
        .when(~pl.col("previous_active"))
        .then(pl.lit("manager_left"))
        .when(pl.col("manager_id") == pl.col("previous_manager_id"))
        .then(pl.lit("kept"))
        .otherwise(pl.lit("rebalanced"))
    )
    return frame.with_columns(reason.alias("move_reason")).with_columns(
        (pl.col("move_reason") == "rebalanced").alias("moved")
    )


def assign_modules(
    customers: pl.DataFrame, managers: pl.DataFrame, previous: pl.DataFrame
) -> pl.DataFrame:
    """Assign every customer to one of `managers` (SPEC §6); see the module docstring.

    customers: customer_id, grade, actual_revenue; managers: manager_id (the active ones);
    previous: customer_id, manager_id (previous owners, possibly inactive or missing).
    Returns one row per customer, sorted by customer_id, with the columns of RESULT_SCHEMA.
    """
    manager_ids = _manager_ids(managers)
    frame = _prepared_customers(customers)
    if frame.height == 0:
        return pl.DataFrame(schema=RESULT_SCHEMA)
    base = _with_previous(frame, previous, manager_ids)

    grades, n_g, p = _count_frames(base, manager_ids)
    x, keep = _solve_counts(n_g, p)
    counts = pl.DataFrame(
        {
            "grade": pl.Series(np.repeat(grades, len(manager_ids)).tolist(), dtype=GRADE_TYPE),
            "manager_id": manager_ids * len(grades),
            "slots": x.ravel(),
            "keep": keep.ravel(),
        }
    )

    base = base.join(_kept(base, counts), on="customer_id", how="left").with_columns(
        pl.col("stays").fill_null(False)
    )
    stayers = base.filter(pl.col("stays")).with_columns(
        pl.col("previous_manager_id").alias("manager_id")
    )
    dealt = _deal(base.filter(~pl.col("stays")), counts)
    assigned = pl.concat([stayers, dealt], how="diagonal")
    if assigned.height != frame.height:  # the counts guarantee a slot for everyone
        raise RuntimeError("module assignment lost customers while placing them")
    return (
        _with_reasons(assigned).select(list(RESULT_SCHEMA)).cast(RESULT_SCHEMA).sort("customer_id")
    )
