"""Module assignment (SPEC §6): balance, minimal moves, determinism, the month-by-month runner."""

from __future__ import annotations

import itertools
import logging
import random
from datetime import date

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.assignment.runner import assign_months
from pipelines.assignment.solver import assign_modules
from pipelines.core.vocabulary import GRADES
from pipelines.ingest.datasets import create_raw_tables

PROPERTY_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --------------------------------------------------------------------------- helpers


def frames(customers, managers, previous):
    """(id, grade, revenue) tuples, manager ids and (customer, manager) pairs as polars frames."""
    return (
        pl.DataFrame(
            customers,
            schema={"customer_id": pl.String, "grade": pl.String, "actual_revenue": pl.Float64},
            orient="row",
        ),
        pl.DataFrame({"manager_id": list(managers)}, schema={"manager_id": pl.String}),
        pl.DataFrame(previous, schema={"customer_id": pl.String, "manager_id": pl.String}, orient="row"),
    )


def floor_ceil(n: int, m: int) -> tuple[int, int]:
    return n // m, -(-n // m)


def is_balanced(grades: list[str], owners: tuple[str, ...] | list[str], managers: list[str]) -> bool:
    m = len(managers)
    lo, hi = floor_ceil(len(grades), m)
    if any(not lo <= sum(o == mgr for o in owners) <= hi for mgr in managers):
        return False
    for grade in set(grades):
        n_g = grades.count(grade)
        lo, hi = floor_ceil(n_g, m)
        for mgr in managers:
            held = sum(g == grade and o == mgr for g, o in zip(grades, owners, strict=True))
            if not lo <= held <= hi:
                return False
    return True


def brute_force_min_moves(grades, previous_owner, managers) -> int:
    """The fewest moves over every balanced assignment, by enumeration (small cases only)."""
    active = set(managers)
    best = None
    for owners in itertools.product(managers, repeat=len(grades)):
        if not is_balanced(grades, owners, managers):
            continue
        moves = sum(
            p is not None and p in active and p != o for p, o in zip(previous_owner, owners, strict=True)
        )
        best = moves if best is None else min(best, moves)
    assert best is not None, "a balanced assignment always exists"
    return best


@st.composite
def cases(draw, max_customers=60, max_managers=6):
    """Random customers, active managers M0..M(m-1), previous owners that may be inactive (X*)
    or absent, and revenues drawn from few values so ties happen."""
    n = draw(st.integers(0, max_customers))
    m = draw(st.integers(1, max_managers))
    managers = [f"M{i}" for i in range(m)]
    owners = st.one_of(st.none(), st.sampled_from(managers + ["X1", "X2"]))
    customers, previous = [], []
    for i in range(n):
        cid = f"C{i:03d}"
        grade = draw(st.sampled_from(GRADES))
        revenue = draw(st.sampled_from([0.0, 150.0, 150.0, 999.5, 20_000.0, 31_000.25]))
        customers.append((cid, grade, revenue))
        owner = draw(owners)
        if owner is not None:
            previous.append((cid, owner))
    previous.append(("GONE", managers[0]))  # a previous customer no longer graded is ignored
    return customers, managers, previous


def check_invariants(customers, managers, previous, result: pl.DataFrame) -> None:
    ids = sorted(c[0] for c in customers)
    assert result.get_column("customer_id").to_list() == ids  # everyone once, sorted
    assert result.get_column("manager_id").is_in(managers).all()
    rows = {r["customer_id"]: r for r in result.iter_rows(named=True)}
    inputs = {c[0]: c for c in customers}
    assert all(rows[c]["grade"] == inputs[c][1] for c in ids)
    assert all(rows[c]["actual_revenue"] == inputs[c][2] for c in ids)
    grades = [rows[c]["grade"] for c in ids]
    assert is_balanced(grades, [rows[c]["manager_id"] for c in ids], managers)

    prev = dict(previous)
    for cid, row in rows.items():
        before = prev.get(cid)
        assert row["previous_manager_id"] == before
        expected = (
            "new" if before is None
            else "manager_left" if before not in managers
            else "kept" if row["manager_id"] == before
            else "rebalanced"
        )  # fmt: skip
        assert row["move_reason"] == expected
        assert row["moved"] == (expected == "rebalanced")


# --------------------------------------------------------------------------- properties


@PROPERTY_SETTINGS
@given(cases(), st.randoms(use_true_random=False))
def test_balanced_complete_consistent_and_order_independent(case, rnd):
    customers, managers, previous = case
    result = assign_modules(*frames(customers, managers, previous))
    check_invariants(customers, managers, previous, result)

    assert result.equals(assign_modules(*frames(customers, managers, previous)))
    shuffled = [list(x) for x in (customers, managers, previous)]
    for rows in shuffled:
        rnd.shuffle(rows)
    assert result.equals(assign_modules(*frames(*shuffled)))


@PROPERTY_SETTINGS
@given(cases())
def test_surplus_moves_lowest_revenue_first_then_id(case):
    customers, managers, previous = case
    result = assign_modules(*frames(customers, managers, previous))
    held = result.filter(pl.col("move_reason").is_in(["kept", "rebalanced"]))
    for (_, _), group in held.group_by("grade", "previous_manager_id"):
        order = group.sort("actual_revenue", "customer_id").get_column("moved").to_list()
        # every mover sorts before every stayer of the same grade and previous manager
        assert order == sorted(order, reverse=True)


@settings(max_examples=120, deadline=None)
@given(cases(max_customers=7, max_managers=3))
def test_moves_are_the_minimum_of_a_brute_force(case):
    customers, managers, previous = case
    result = assign_modules(*frames(customers, managers, previous))
    prev = dict(previous)
    grades = [c[1] for c in customers]
    expected = brute_force_min_moves(grades, [prev.get(c[0]) for c in customers], managers)
    assert result.get_column("moved").sum() == expected


# --------------------------------------------------------------------------- hand-made cases


def test_who_moves_is_lowest_revenue_then_customer_id():
    # M1 holds four A customers, M2 joins: two move. C3 has the lowest revenue; C1 and C2 tie
    # at 5 and C1 has the lower id. Rows arrive in reverse order on purpose.
    customers = [("C4", "A", 7.0), ("C3", "A", 3.0), ("C2", "A", 5.0), ("C1", "A", 5.0)]
    previous = [(c[0], "M1") for c in customers]
    result = assign_modules(*frames(customers, ["M2", "M1"], previous))
    assert result.select("customer_id", "manager_id", "move_reason").rows() == [
        ("C1", "M2", "rebalanced"),
        ("C2", "M1", "kept"),
        ("C3", "M2", "rebalanced"),
        ("C4", "M1", "kept"),
    ]


def test_seed_example_532_customers_two_managers_266_each():
    rnd = random.Random(7)
    customers = [(f"C{i:04d}", rnd.choice(GRADES), float(rnd.randint(0, 50_000))) for i in range(532)]
    previous = [(c[0], "M1") for c in customers]  # M1 held everyone, M2 is new
    result = assign_modules(*frames(customers, ["M1", "M2"], previous))
    sizes = dict(result.group_by("manager_id").len().iter_rows())
    assert sizes == {"M1": 266, "M2": 266}
    assert result.get_column("moved").sum() == 266
    check_invariants(customers, ["M1", "M2"], previous, result)


def test_no_previous_owners_means_everyone_is_new():
    customers = [(f"C{i}", g, 1.0) for i, g in enumerate(["AA", "AA", "A", "D", "D", "D"])]
    result = assign_modules(*frames(customers, ["M1", "M2", "M3"], []))
    assert set(result.get_column("move_reason")) == {"new"}
    assert not result.get_column("moved").any()
    assert result.get_column("previous_manager_id").null_count() == 6


def test_empty_customers_and_missing_managers():
    empty = assign_modules(*frames([], ["M1"], []))
    assert empty.height == 0 and "move_reason" in empty.columns
    with pytest.raises(ValueError, match="at least one active manager"):
        assign_modules(*frames([("C1", "A", 1.0)], [], []))
    with pytest.raises(ValueError, match="grade"):
        assign_modules(*frames([("C1", "Z", 1.0)], ["M1"], []))


# --------------------------------------------------------------------------- assign_months


JAN, FEB, MAR, APR = date(2024, 1, 31), date(2024, 2, 29), date(2024, 3, 31), date(2024, 4, 30)


@pytest.fixture
def con(tmp_path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    create_raw_tables(connection)
    connection.execute(
        "CREATE SCHEMA marts; CREATE TABLE marts.customer_worth "
        "(as_of_date DATE, customer_id VARCHAR, grade VARCHAR, actual_revenue DECIMAL(18, 2))"
    )
    yield connection
    connection.close()


def add_managers(con, *managers):
    for manager_id, active_from, active_to in managers:
        con.execute(
            "INSERT INTO raw.account_managers (manager_id, manager_name, active_from, active_to) "
            "VALUES (?, ?, ?, ?)",
            [manager_id, f"name {manager_id}", active_from, active_to],
        )


def add_worth(con, as_of: date, n: int = 12) -> None:
    """n customers, grades cycling over AA, A, B, C, revenue rising with the id."""
    for i in range(n):
        con.execute(
            "INSERT INTO marts.customer_worth VALUES (?, ?, ?, ?)",
            [as_of, f"C{i:02d}", GRADES[i % 4], 1000 + i * 10.25],
        )


def history(con, as_of: date) -> dict[str, tuple]:
    rows = con.execute(
        "SELECT customer_id, manager_id, previous_manager_id, move_reason "
        "FROM assignment.module_assignment_history WHERE as_of_date = ? ORDER BY customer_id",
        [as_of],
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


def test_months_fall_back_to_crm_then_carry_over(con):
    add_managers(con, ("M1", date(2020, 1, 1), None), ("M2", date(2020, 1, 1), None),
                 ("M3", date(2020, 1, 1), None))  # fmt: skip
    for month in (JAN, FEB):
        add_worth(con, month)
    con.execute(
        "INSERT INTO raw.assignments (customer_id, manager_id) "
        "SELECT customer_id, 'M1' FROM marts.customer_worth WHERE as_of_date = ?",
        [JAN],
    )

    [jan] = assign_months(con, [JAN])
    summary = (jan.customers, jan.managers, jan.moved, jan.kept, jan.new, jan.skipped)
    assert summary == (12, 3, 8, 4, 0, False)
    assert {prev for _, prev, _ in history(con, JAN).values()} == {"M1"}

    # the CRM changes, but February starts from January's own assignment: nobody moves
    con.execute("UPDATE raw.assignments SET manager_id = 'M2'")
    [feb] = assign_months(con, [FEB])
    assert (feb.moved, feb.kept) == (0, 12)
    jan_rows, feb_rows = history(con, JAN), history(con, FEB)
    assert {c: r[0] for c, r in feb_rows.items()} == {c: r[0] for c, r in jan_rows.items()}
    assert all(r[1] == jan_rows[c][0] and r[2] == "kept" for c, r in feb_rows.items())
    revenue = con.execute(
        "SELECT actual_revenue FROM assignment.module_assignment_history "
        "WHERE as_of_date = ? AND customer_id = 'C03'",
        [FEB],
    ).fetchall()[0]
    assert float(revenue[0]) == 1030.75


def test_leaving_manager_customers_spread_evenly(con):
    add_managers(con, ("M1", date(2020, 1, 1), None), ("M2", date(2020, 1, 1), None),
                 ("M3", date(2020, 1, 1), date(2024, 3, 1)))  # fmt: skip
    for month in (FEB, MAR):
        add_worth(con, month)
    feb, mar = assign_months(con, [MAR, FEB])  # run in date order whatever the input order
    assert (feb.as_of_date, mar.as_of_date) == (FEB, MAR)
    assert (feb.new, mar.managers) == (12, 2)

    left = {c for c, (manager, _, _) in history(con, FEB).items() if manager == "M3"}
    march = history(con, MAR)
    assert len(left) == 4
    assert {c for c, r in march.items() if r[2] == "manager_left"} == left
    assert all(march[c][1] == "M3" for c in left)
    # M1 and M2 keep everything they had and take two of M3's four each (1 or 2 per grade)
    assert (mar.moved, mar.kept, mar.manager_left) == (0, 8, 4)
    rows = con.execute(
        "SELECT manager_id, grade, count(*) FROM assignment.module_assignment_history "
        "WHERE as_of_date = ? GROUP BY ALL ORDER BY ALL",
        [MAR],
    ).fetchall()
    assert {(m, g) for m, g, _ in rows} == {(m, g) for m in ("M1", "M2") for g in GRADES[:4]}
    assert all(n in (1, 2) for _, _, n in rows)
    assert sum(n for m, _, n in rows if m == "M1") == sum(n for m, _, n in rows if m == "M2") == 6


def test_no_active_manager_skips_the_month(con, caplog):
    add_managers(con, ("M1", date(2024, 1, 1), date(2024, 2, 1)),
                 ("M2", date(2024, 3, 1), None))  # fmt: skip
    for month in (JAN, FEB, MAR):
        add_worth(con, month)
    with caplog.at_level(logging.WARNING, logger="pipelines.assignment.runner"):
        jan, feb, mar = assign_months(con, [JAN, FEB, MAR])
    assert not jan.skipped and jan.warning is None
    assert feb.skipped and "no account manager is active" in feb.warning
    assert (feb.customers, feb.managers) == (12, 0)
    assert any("2024-02-29" in r.getMessage() for r in caplog.records)
    assert history(con, FEB) == {}
    # March starts from January, the latest month that has an assignment
    assert mar.manager_left == 12
    assert {r[1] for r in history(con, MAR).values()} == {"M1"}


def test_rerunning_a_month_replaces_its_rows(con):
    add_managers(con, ("M1", date(2020, 1, 1), None), ("M2", date(2020, 1, 1), None))
    add_worth(con, date(2024, 1, 15), n=6)
    add_worth(con, JAN, n=8)
    assign_months(con, [date(2024, 1, 15)])
    assign_months(con, [JAN])
    assign_months(con, [JAN])
    counts = con.execute(
        "SELECT as_of_date, count(*) FROM assignment.module_assignment_history GROUP BY ALL"
    ).fetchall()
    assert counts == [(JAN, 8)]
    # a rerun starts from the month before, not from the snapshot it replaces: all new again
    assert {r[2] for r in history(con, JAN).values()} == {"new"}


def test_rerun_with_same_inputs_gives_identical_rows(con):
    add_managers(con, ("M1", date(2020, 1, 1), None), ("M2", date(2020, 1, 1), None),
                 ("M3", date(2020, 1, 1), None))  # fmt: skip
    for month in (JAN, FEB, MAR, APR):
        add_worth(con, month, n=20)
    sql = "SELECT * FROM assignment.module_assignment_history ORDER BY as_of_date, customer_id"
    assign_months(con, [JAN, FEB, MAR, APR])
    first = con.execute(sql).fetchall()
    assign_months(con, [JAN, FEB, MAR, APR])
    assert con.execute(sql).fetchall() == first
    assert len(first) == 80
