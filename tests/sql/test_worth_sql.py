"""SPEC §3-§4 in the dbt models, checked with real dbt on tiny hand-made warehouses.

Every expected number below was computed by hand from the rows inserted here; the comments show
the arithmetic. Three scenarios, each built once per module (one or two dbt invocations):

- `peers`: one snapshot (June 2024) with a later transaction and a later employee count (no
  look-ahead), the seed's worked example, quantile interpolation, the three fallback levels,
  credit notes, unknown employees and types, the trailing-window edges.
- `classes`: 20 ranked customers with ties on the class edges (bic statistic `max`), three
  customers with unknown employees, the actual-class thresholds, the grade map, the worth matrix.
- `history`: 19 monthly snapshots (the as-of date rule, the month range clipped to the data), the
  achievement probability learned from D0 with shrinkage, the prior without history, and a
  rerun of the latest month replacing exactly that month.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
import yaml
from dbt_helpers import DBT_PROJECT_DIR, insert_rows, query, raw_warehouse, run_dbt

D = dt.date.fromisoformat


def customer(cid: str, ctype: str | None = "mfg", region: str | None = "north") -> dict:
    return {"customer_id": cid, "customer_name": f"Customer {cid}", "customer_type": ctype,
            "region": region}  # fmt: skip


def sale(tid: str, cid: str, day: str, amount: float, line: str = "widgets") -> dict:
    return {"transaction_id": tid, "customer_id": cid, "transaction_date": D(day),
            "product_line": line, "amount": amount}  # fmt: skip


def headcount(cid: str, day: str, employees: int) -> dict:
    return {"customer_id": cid, "as_of_date": D(day), "employees": employees}


def by_customer(rows: list[dict]) -> dict[str, dict]:
    return {row["customer_id"]: row for row in rows}


# ---------------------------------------------------------------------------------------------
# the dbt project's defaults are the SPEC defaults, under the names the Python side passes


def test_parameters_have_one_home_the_config():
    # the dbt project declares no parameter values: every invocation passes the config's
    project = yaml.safe_load((DBT_PROJECT_DIR / "dbt_project.yml").read_text())
    assert "vars" not in project


MAY = {"month_from": "2024-05", "month_to": "2024-05"}
WORTH = "+path:models/marts/worth"  # the worth marts, what they read, and their tests


# ---------------------------------------------------------------------------------------------
# scenario "peers": D = 2024-06-30, trailing window (2023-06-30, 2024-06-30]
#
# mfg, band 250-499 (6 peers): revenue per employee 18 (W, the seed's customer), 10, 20, 25, 28,
#   30 -> sorted [10, 18, 20, 25, 28, 30], quantile_cont 0.90 at position 5 x 0.9 = 4.5:
#   28 + 0.5 x (30 - 28) = 29  (the seed's $29)
# mfg, band 10-49 (2 peers: S1 50/employee, S2 10/employee) -> falls back to mfg (8 peers):
#   [10, 10, 18, 20, 25, 28, 30, 50], position 7 x 0.9 = 6.3: 30 + 0.3 x 20 = 36
# svc, band 100-249 (V1 30/employee; V2 has a credit note, actual -300, not a peer) and type
#   null -> 'unknown', band 50-99 (N1 40/employee): fewer than 5 peers in the type -> all
#   (10 peers): [10, 10, 18, 20, 25, 28, 30, 30, 40, 50], position 9 x 0.9 = 8.1:
#   40 + 0.1 x 10 = 41
# U1 (mfg) has an employee count only after D: unknown employees.

PEERS = {
    # id: (type, employees, amount in the window)
    "P1": ("mfg", 400, 4000.0),
    "P2": ("mfg", 300, 6000.0),
    "P3": ("mfg", 250, 6250.0),
    "P4": ("mfg", 400, 11200.0),
    "P5": ("mfg", 300, 9000.0),
    "S1": ("mfg", 20, 1000.0),
    "S2": ("mfg", 40, 400.0),
    "V1": ("svc", 100, 3000.0),
    "N1": (None, 50, 2000.0),
}


@pytest.fixture(scope="module")
def peers(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("peers") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        customers = [customer(cid, ctype) for cid, (ctype, _, _) in PEERS.items()]
        customers += [customer("W"), customer("V2", "svc"), customer("U1"), customer("Z"),
                      customer("Q", region=None)]  # fmt: skip
        insert_rows(con, "raw.customers", customers)
        counts = [headcount(cid, "2023-01-01", emp) for cid, (_, emp, _) in PEERS.items()]
        counts += [
            headcount("W", "2022-01-01", 300),
            headcount("W", "2024-01-01", 400),  # the count valid at D
            headcount("W", "2024-07-01", 1000),  # after D: ignored
            headcount("V2", "2023-01-01", 120),
            headcount("U1", "2024-07-15", 500),  # after D: U1's employees are unknown at D
        ]
        insert_rows(con, "raw.employee_counts", counts)
        sales = [sale(f"t-{cid}", cid, "2024-03-01", amt) for cid, (_, _, amt) in PEERS.items()]
        sales += [
            sale("w0", "W", "2023-06-30", 5000),  # on D - 12 months: outside the window
            sale("w1", "W", "2023-07-01", 3000),  # first day inside the window
            sale("w2", "W", "2024-06-30", 4200),  # on D: inside
            sale("w3", "W", "2024-08-10", 100000),  # after D: ignored
            sale("v1", "V2", "2024-02-01", 500),
            sale("v2", "V2", "2024-03-01", -800),  # credit note
            sale("u1", "U1", "2024-05-01", 30000),
            sale("z1", "Z", "2024-08-10", 1000),  # Z's only sale is after D: not in the universe
        ]
        insert_rows(con, "raw.revenue", sales)
    # the whole project: the tests below also read the post-assignment marts and every comment
    run = run_dbt(path, vars={"month_from": "2024-06", "month_to": "2024-06"})
    # the project's own data tests ran and passed too (run_dbt raises on any failure)
    assert run.statuses["assert_worth_matrix_counts_every_customer"] == "pass"
    assert run.statuses["assert_incremental_class_shares"] == "pass"
    return path


@pytest.fixture(scope="module")
def peers_worth(peers) -> dict[str, dict]:
    return by_customer(query(peers, "SELECT * FROM marts.customer_worth"))


def test_as_of_date_is_month_end_before_the_latest_transaction_month(peers):
    assert query(peers, "SELECT DISTINCT as_of_date FROM marts.customer_worth") == [
        {"as_of_date": D("2024-06-30")}
    ]


def test_universe_is_customers_with_revenue_on_or_before_d(peers_worth):
    # Z sells only after D, Q never
    assert set(peers_worth) == set(PEERS) | {"W", "V2", "U1"}


def test_seed_worked_example(peers_worth):
    w = peers_worth["W"]
    assert w["employees"] == 400  # the count of 2024-01-01, not the one of 2024-07-01
    assert float(w["actual_revenue"]) == 7200.0  # 3000 + 4200; 5000 on D-12m and 100000 after D out
    assert w["best_in_class_revenue_per_employee"] == pytest.approx(29.0)
    assert w["potential_revenue"] == pytest.approx(11600.0)
    assert w["incremental_revenue"] == pytest.approx(4400.0)
    assert (w["peer_group_level"], w["peer_count"], w["size_band"]) == ("peer_group", 6, "250-499")


def test_fallback_to_customer_type(peers_worth):
    s1, s2 = peers_worth["S1"], peers_worth["S2"]
    for row in (s1, s2):
        assert (row["peer_group_level"], row["peer_count"], row["size_band"]) == ("customer_type", 8, "10-49")
        assert row["best_in_class_revenue_per_employee"] == pytest.approx(36.0)
    assert s1["potential_revenue"] == pytest.approx(720.0)  # 20 x 36
    assert s1["incremental_revenue"] == 0.0  # potential below actual (1000)
    assert s2["incremental_revenue"] == pytest.approx(1040.0)  # 40 x 36 - 400


def test_fallback_to_all_and_unknown_type(peers_worth):
    v1, v2, n1 = peers_worth["V1"], peers_worth["V2"], peers_worth["N1"]
    assert n1["customer_type"] == "unknown"
    for row in (v1, v2, n1):
        assert (row["peer_group_level"], row["peer_count"]) == ("all", 10)
        assert row["best_in_class_revenue_per_employee"] == pytest.approx(41.0)
    assert v1["incremental_revenue"] == pytest.approx(1100.0)  # 100 x 41 - 3000
    assert n1["incremental_revenue"] == pytest.approx(50.0)  # 50 x 41 - 2000


def test_credit_note_nets_actual_revenue_and_negative_actual_counts_as_zero(peers_worth):
    v2 = peers_worth["V2"]
    assert float(v2["actual_revenue"]) == -300.0  # 500 - 800
    assert v2["actual_class"] == 1
    # incremental = max(potential - max(actual, 0), 0) = 120 x 41 - 0
    assert v2["incremental_revenue"] == pytest.approx(4920.0)


def test_unknown_employees(peers_worth):
    u1 = peers_worth["U1"]
    assert u1["employees"] is None and u1["size_band"] is None
    assert u1["potential_revenue"] is None and u1["best_in_class_revenue_per_employee"] is None
    assert u1["incremental_revenue"] == 0.0
    assert u1["incremental_top_share"] is None
    # 30,000 >= 25,000 -> actual class 5; unknown employees -> incremental class 1; cell 51 = A
    assert (u1["actual_class"], u1["incremental_class"], u1["worth_cell"], u1["grade"]) == (5, 1, 51, "A")


def test_incremental_classes_rank_known_employees_only(peers_worth):
    # 11 ranked customers, incremental descending: P1 7600 (1/11 = .09 -> 4), V2 4920 (.18 -> 4),
    # W 4400 (.27 -> 3), P2 2700 (.36 -> 3), V1 1100 (.45.. > .45 -> 2), S2 1040 (.55 -> 2),
    # P3 1000 (.64 -> 2), P4 400 (.73 -> 1), N1 50 (.82 -> 1), P5 and S1 0 (tie: 11/11 -> 1)
    expected = {"P1": 4, "V2": 4, "W": 3, "P2": 3, "V1": 2, "S2": 2, "P3": 2, "P4": 1, "N1": 1,
                "P5": 1, "S1": 1, "U1": 1}  # fmt: skip
    assert {cid: row["incremental_class"] for cid, row in peers_worth.items()} == expected
    assert peers_worth["P5"]["incremental_top_share"] == pytest.approx(1.0)
    assert peers_worth["S1"]["incremental_top_share"] == pytest.approx(1.0)
    assert peers_worth["V1"]["incremental_top_share"] == pytest.approx(5 / 11)


def test_w_grade_and_prior_probability(peers_worth):
    w = peers_worth["W"]
    # 7200 -> actual class 3; incremental class 3 -> cell 33 -> B
    assert (w["actual_class"], w["worth_cell"], w["grade"]) == (3, 33, "B")
    # at D0 = 2023-06-30 only W is graded and its incremental is 0: no history, p = prior
    probabilities = [row["achievement_probability"] for row in peers_worth.values()]
    assert probabilities == pytest.approx([0.15] * len(peers_worth))
    assert w["expected_incremental_revenue"] == pytest.approx(660.0)  # 4400 x 0.15


def test_best_in_class_table(peers):
    rows = query(peers, "SELECT * FROM marts.best_in_class ORDER BY customer_type, size_band_lower")
    got = {(r["customer_type"], r["size_band"]): r for r in rows}
    assert set(got) == {("mfg", "10-49"), ("mfg", "250-499"), ("svc", "100-249"),
                        ("unknown", "50-99")}  # fmt: skip
    main = got[("mfg", "250-499")]
    assert (main["customers"], main["group_peers"]) == (6, 6)
    assert main["peer_group_level"] == "peer_group"
    assert main["size_band_lower"] == 250
    assert main["best_in_class_revenue_per_employee"] == pytest.approx(29.0)
    small = got[("mfg", "10-49")]
    assert small["group_statistic"] == pytest.approx(46.0)  # [10, 50]: 10 + 0.9 x 40
    assert small["best_in_class_revenue_per_employee"] == pytest.approx(36.0)
    svc = got[("svc", "100-249")]
    # V2 is a customer of the group but not a peer (actual <= 0)
    assert (svc["customers"], svc["group_peers"], svc["peer_group_level"], svc["peer_count"]) == (
        2,
        1,
        "all",
        10,
    )


def test_post_assignment_marts_are_empty_without_an_assignment(peers):
    # no assignment.module_assignment_history yet: `dbt build` alone still succeeds
    assert query(peers, "SELECT count(*) AS n FROM marts.module_assignments") == [{"n": 0}]
    assert query(peers, "SELECT count(*) AS n FROM marts.modules") == [{"n": 0}]


def test_persisted_comments(peers):
    rows = query(
        peers,
        "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'",
    )
    assert {r["table_name"] for r in rows} == {
        "customer_worth", "best_in_class", "worth_matrix", "incremental_class_bands",
        "contact_economics", "contact_economics_by_grade", "module_assignments", "modules", "module_pins",
        "customer_loyalty", "loyalty_summary", "at_risk_exposure", "concentration",
        "contact_drivers", "early_warning", "manager_scorecard", "impact_study",
        "customer_health", "health_distribution", "customer_revenue_bridge", "revenue_bridge",
        "defection_backtest", "defection_calibration",
    }  # fmt: skip
    assert [r for r in rows if not r["comment"]] == []  # every column of every mart described
    tables = query(peers, "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'")
    assert all(t["comment"] for t in tables)


# ---------------------------------------------------------------------------------------------
# scenario "classes": bic statistic max; c01..c20 have 100 employees each, one sale in the
# window; c20's 10,000 is the max (100 per employee), so potential = 10,000 for all and
# incremental = 10,000 - actual. UA, UB, UC have no employee count.

CLASSES = {
    # id: (actual, incremental, top share, incremental class, actual class, cell, grade)
    "c01": (1000, 9000, 1 / 20, 5, 2, 25, "C"),  # 0.05 exactly: class 5
    "c02": (2000, 8000, 3 / 20, 4, 2, 24, "C"),  # tie with c03: both 3/20
    "c03": (2000, 8000, 3 / 20, 4, 2, 24, "C"),
    "c04": (3000, 7000, 4 / 20, 4, 3, 34, "B"),  # 0.20 exactly: class 4; 3,000 -> class 3
    "c05": (3500, 6500, 5 / 20, 3, 3, 33, "B"),
    **{f"c{i:02d}": (4000, 6000, 10 / 20, 2, 3, 32, "B") for i in range(6, 11)},  # 5-way tie
    "c11": (5000, 5000, 11 / 20, 2, 3, 32, "B"),
    "c12": (6000, 4000, 12 / 20, 2, 3, 32, "B"),
    "c13": (7000, 3000, 13 / 20, 2, 3, 32, "B"),
    "c14": (8000, 2000, 14 / 20, 2, 3, 32, "B"),  # 0.70 exactly: class 2
    "c15": (9000, 1000, 15 / 20, 1, 3, 31, "B"),
    **{f"c{i:02d}": (9500, 500, 19 / 20, 1, 3, 31, "B") for i in range(16, 20)},
    "c20": (10000, 0, 20 / 20, 1, 3, 31, "B"),
}
UNKNOWN = {
    # id: (actual, actual class, cell, grade)
    "UA": (25000, 5, 51, "A"),  # 25,000 is class 5's lower edge
    "UB": (15000, 4, 41, "B"),  # 15,000 is class 4's lower edge
    "UC": (999.99, 1, 11, "D"),
}


@pytest.fixture(scope="module")
def classes(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("classes") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        ids = list(CLASSES) + list(UNKNOWN)
        insert_rows(con, "raw.customers", [customer(cid, "t") for cid in ids])
        insert_rows(con, "raw.employee_counts", [headcount(c, "2023-01-01", 100) for c in CLASSES])
        amounts = {c: v[0] for c, v in CLASSES.items()} | {c: v[0] for c, v in UNKNOWN.items()}
        insert_rows(con, "raw.revenue", [sale(f"t-{c}", c, "2024-05-20", a) for c, a in amounts.items()])
    run_dbt(path, vars={"bic_statistic": "max", "month_from": "2024-05", "month_to": "2024-05"}, select=WORTH)
    return path


def test_classes_as_of_latest_transaction_date(classes):
    dates = query(classes, "SELECT DISTINCT as_of_date FROM marts.customer_worth")
    assert dates == [{"as_of_date": D("2024-05-20")}]


def test_incremental_class_edges_and_ties(classes):
    worth = by_customer(query(classes, "SELECT * FROM marts.customer_worth"))
    for cid, (actual, incremental, share, icls, acls, cell, grade) in CLASSES.items():
        row = worth[cid]
        assert row["best_in_class_revenue_per_employee"] == pytest.approx(100.0), cid
        assert row["peer_group_level"] == "peer_group" and row["peer_count"] == 20
        assert float(row["actual_revenue"]) == actual, cid
        assert row["incremental_revenue"] == pytest.approx(incremental), cid
        assert row["incremental_top_share"] == pytest.approx(share), cid
        got = (row["incremental_class"], row["actual_class"], row["worth_cell"], row["grade"])
        assert got == (icls, acls, cell, grade), cid
    for cid, (_actual, acls, cell, grade) in UNKNOWN.items():
        row = worth[cid]
        got = (row["incremental_class"], row["actual_class"], row["worth_cell"], row["grade"])
        assert got == (1, acls, cell, grade), cid


def test_class_bands(classes):
    rows = query(classes, "SELECT * FROM marts.incremental_class_bands ORDER BY incremental_class")
    got = {
        r["incremental_class"]: (r["target_share"], r["realised_share"], r["customers"],
                                 r["min_incremental_revenue"], r["max_incremental_revenue"],
                                 r["customers_unknown_employees"])
        for r in rows
    }  # fmt: skip
    assert got == {
        5: (0.05, 1 / 20, 1, 9000.0, 9000.0, 0),
        4: (0.15, 3 / 20, 3, 7000.0, 8000.0, 0),
        3: (0.25, 1 / 20, 1, 6500.0, 6500.0, 0),
        2: (0.25, 9 / 20, 9, 2000.0, 6000.0, 0),
        1: (0.30, 6 / 20, 6, 0.0, 1000.0, 3),
    }


def test_worth_matrix_has_all_cells(classes):
    rows = query(classes, "SELECT * FROM marts.worth_matrix")
    assert len(rows) == 25
    cells = {r["worth_cell"]: r for r in rows}
    assert sorted(cells) == [a * 10 + i for a in range(1, 6) for i in range(1, 6)]
    counts = {cell: r["customers"] for cell, r in cells.items() if r["customers"]}
    assert counts == {25: 1, 24: 2, 34: 1, 33: 1, 32: 9, 31: 6, 51: 1, 41: 1, 11: 1}
    assert float(cells[32]["actual_revenue"]) == 5 * 4000 + 5000 + 6000 + 7000 + 8000
    assert cells[32]["incremental_revenue"] == pytest.approx(5 * 6000 + 5000 + 4000 + 3000 + 2000)
    assert cells[55]["customers"] == 0 and float(cells[55]["actual_revenue"]) == 0
    grades = {cell: r["grade"] for cell, r in cells.items()}
    assert [c for c, g in sorted(grades.items()) if g == "AA"] == [52, 53, 54, 55]
    assert [c for c, g in sorted(grades.items()) if g == "A"] == [42, 43, 44, 45, 51]
    assert [c for c, g in sorted(grades.items()) if g == "B"] == [31, 32, 33, 34, 35, 41]


# ---------------------------------------------------------------------------------------------
# scenario "history": bic statistic max, every customer 100 employees. D = 2024-06-30,
# D0 = 2023-06-30.
#
# At D0 (window (2022-06-30, 2023-06-30], sales of 2023-01-15): h1 10,000 (max: bic 100),
# h2 2,000, h3 6,000, h4 8,000 -> incremental 0, 8,000, 4,000, 2,000 -> top shares .25, .5, .75
# for h2, h3, h4 and 1.0 for h1 -> classes h2: 3, h3: 2, h4: 1, h1: 1.
# At D (window (2023-06-30, 2024-06-30], sales of 2024-01-15): h1 10,000, h2 6,000, h3 3,000,
# h4 11,000 (new max: bic 110, potential 11,000), h5 (new) 1,000.
# r = clamp((actual(D) - actual(D0)) / incremental(D0), 0, 1):
#   h2 (class 3 at D0): (6000 - 2000) / 8000 = 0.5;  h3 (class 2): -3000 / 4000 -> 0;
#   h4 (class 1): 3000 / 2000 -> 1;  h1: incremental(D0) = 0, not counted.
# p_3 = (0.5 + 20 x 0.15) / (1 + 20) = 3.5 / 21;  p_2 = 3 / 21;  p_1 = 4 / 21;  p_4 = p_5 = 0.15
# Classes at D: incremental h5 10,000 (1/5 -> 4), h3 8,000 (2/5 -> 3), h2 5,000 (3/5 -> 2),
# h1 1,000 (4/5 -> 1), h4 0 (1 -> 1).

HISTORY_EXPECTED = {
    # id: (incremental at D, class at D, probability)
    "h5": (10000.0, 4, 0.15),
    "h3": (8000.0, 3, 3.5 / 21),
    "h2": (5000.0, 2, 3 / 21),
    "h1": (1000.0, 1, 4 / 21),
    "h4": (0.0, 1, 4 / 21),
}


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("history") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        ids = ["h1", "h2", "h3", "h4", "h5"]
        insert_rows(con, "raw.customers", [customer(cid, "t") for cid in ids])
        insert_rows(con, "raw.employee_counts", [headcount(c, "2022-01-01", 100) for c in ids])
        before = {"h1": 10000, "h2": 2000, "h3": 6000, "h4": 8000}
        after = {"h1": 10000, "h2": 6000, "h3": 3000, "h4": 11000, "h5": 1000}
        sales = [sale(f"a-{c}", c, "2023-01-15", a) for c, a in before.items()]
        sales += [sale(f"b-{c}", c, "2024-01-15", a) for c, a in after.items()]
        sales.append(sale("late", "h2", "2024-07-10", 50000))  # the latest transaction
        insert_rows(con, "raw.revenue", sales)
    # months before the first sale (2023-01) and after the latest (2024-07) are clipped
    variables = {"bic_statistic": "max", "month_from": "2022-11", "month_to": "2024-09"}
    run_dbt(path, vars=variables, select=WORTH)
    first = query(path, "SELECT * FROM marts.customer_worth ORDER BY ALL")
    rates = query(
        path,
        "SELECT incremental_class, history_customers, achieved_share_sum, achievement_probability "
        "FROM intermediate.int_achievement_rates WHERE as_of_date = DATE '2024-06-30' "
        "ORDER BY incremental_class",
    )  # intermediate tables hold the latest run only: read them now
    # a later delivery: one more sale in July (moves July's D) and one in March
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.revenue", [sale("july", "h3", "2024-07-20", 100),
                                         sale("march", "h1", "2024-03-10", 500)])  # fmt: skip
    latest = {"month_from": "2024-07", "month_to": "2024-07"}
    run_dbt(path, vars={"bic_statistic": "max", **latest}, select=WORTH)  # the latest month only
    second = query(path, "SELECT * FROM marts.customer_worth ORDER BY ALL")
    return {"path": path, "first": first, "second": second, "rates": rates}


def test_as_of_dates_of_a_range(history):
    dates = sorted({r["as_of_date"] for r in history["first"]})
    month_ends = [D(f"{y}-{m:02d}-01") for y, m in [(2023, m) for m in range(2, 13)]
                  + [(2024, m) for m in range(1, 8)]]  # fmt: skip
    expected = [d - dt.timedelta(days=1) for d in month_ends] + [D("2024-07-10")]
    assert len(expected) == 19
    assert dates == expected  # 2023-01-31 .. 2024-06-30 month ends, then the latest sale's date


def test_no_transactions_before_d0_gives_the_prior(history):
    first_month = [r for r in history["first"] if r["as_of_date"] == D("2023-01-31")]
    assert len(first_month) == 4  # h5 has no sale yet
    assert all(r["achievement_probability"] == pytest.approx(0.15) for r in first_month)


def test_achievement_probability_learned_from_d0_with_shrinkage(history):
    june = by_customer([r for r in history["first"] if r["as_of_date"] == D("2024-06-30")])
    assert set(june) == set(HISTORY_EXPECTED)
    for cid, (incremental, icls, probability) in HISTORY_EXPECTED.items():
        row = june[cid]
        assert row["best_in_class_revenue_per_employee"] == pytest.approx(110.0), cid
        assert row["incremental_revenue"] == pytest.approx(incremental), cid
        assert row["incremental_class"] == icls, cid
        assert row["achievement_probability"] == pytest.approx(probability), cid
        assert row["expected_incremental_revenue"] == pytest.approx(incremental * probability), cid
    # h2's 50,000 of 2024-07-10 is after D: no look-ahead
    assert float(june["h2"]["actual_revenue"]) == 6000.0


def test_achievement_rates_table(history):
    rates = history["rates"]
    assert [(r["history_customers"], r["achieved_share_sum"]) for r in rates] == [
        (1, 1.0), (1, 0.0), (1, 0.5), (0, 0.0), (0, 0.0)
    ]  # fmt: skip
    assert [r["achievement_probability"] for r in rates] == pytest.approx(
        [4 / 21, 3 / 21, 3.5 / 21, 0.15, 0.15]
    )


def test_rerun_replaces_exactly_the_months_of_its_range(history):
    first, second = history["first"], history["second"]
    july_before = [r for r in first if r["as_of_date"].month == 7 and r["as_of_date"].year == 2024]
    july_after = [r for r in second if r["as_of_date"].month == 7 and r["as_of_date"].year == 2024]
    # July's D moved from 2024-07-10 to 2024-07-20: the old snapshot is gone, not kept beside
    assert {r["as_of_date"] for r in july_before} == {D("2024-07-10")}
    assert {r["as_of_date"] for r in july_after} == {D("2024-07-20")}
    assert len(july_after) == 5
    assert float(by_customer(july_after)["h3"]["actual_revenue"]) == 3100.0
    # every other month is untouched, including March (its new sale is not picked up)
    rest_before = [r for r in first if r not in july_before]
    rest_after = [r for r in second if r not in july_after]
    assert rest_before == rest_after
    march = by_customer([r for r in rest_after if r["as_of_date"] == D("2024-03-31")])
    assert float(march["h1"]["actual_revenue"]) == 10000.0


def test_the_unique_test_names_a_repeated_key_and_passes_distinct_keys(tmp_path):
    # dbt's `unique`, overridden for DuckDB (macros/generic_tests.sql) to count key hashes first:
    # the exact grouping must still run, and name the value, when a key repeats
    path = tmp_path / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.customers", [customer("c1")])
        insert_rows(con, "raw.revenue", [sale("t1", "c1", "2024-05-01", 10),
                                         sale("t2", "c1", "2024-05-02", 20)])  # fmt: skip
    select = "stg_revenue"  # the view and its tests
    assert run_dbt(path, select=select, vars=MAY).success
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.revenue", [sale("t2", "c1", "2024-05-03", 30)])
    run = run_dbt(path, select=select, vars=MAY, check=False)
    failed = {node: message for node, message in run.failures().items() if "unique" in node}
    assert list(failed) == ["unique_stg_revenue_transaction_id"]
    assert "Got 1 result" in failed["unique_stg_revenue_transaction_id"]


def test_the_unique_combination_test_names_a_repeated_key_and_passes_distinct_keys(tmp_path):
    # unique_combination (macros/generic_tests.sql) groups row hashes first on DuckDB: the exact
    # grouping must still run, and name the key, when a combination repeats
    path = tmp_path / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.customers", [customer("c1")])
        insert_rows(con, "raw.employee_counts", [headcount("c1", "2024-01-01", 10),
                                                 headcount("c1", "2024-02-01", 10)])  # fmt: skip
    select = "stg_employee_counts"
    assert run_dbt(path, select=select, vars=MAY).success
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.employee_counts", [headcount("c1", "2024-02-01", 12)])
    run = run_dbt(path, select=select, vars=MAY, check=False)
    failed = {node: message for node, message in run.failures().items() if "unique" in node}
    assert list(failed) == ["unique_combination_stg_employee_counts_customer_id__as_of_date"]
    assert "Got 1 result" in failed["unique_combination_stg_employee_counts_customer_id__as_of_date"]


def test_column_rules_name_each_broken_rule_and_its_rows(tmp_path):
    # the value rules declared on the columns (`config: meta:`) run as one test per model
    # (macros/generic_tests.sql): stg_account_managers declares manager_id not null and
    # capacity not null and at least 0
    path = tmp_path / "warehouse.duckdb"
    manager = {"manager_name": "M", "active_from": D("2024-01-01"), "active_to": None}
    with raw_warehouse(path) as con:
        insert_rows(
            con,
            "raw.account_managers",
            [
                manager | {"manager_id": "m1", "capacity": 0.5},
                manager | {"manager_id": "m2", "capacity": None},
            ],
        )
    select = "stg_account_managers"
    assert run_dbt(path, select=select, vars=MAY).success
    with raw_warehouse(path) as con:
        insert_rows(
            con,
            "raw.account_managers",
            [
                manager | {"manager_id": "m3", "capacity": -1.0},
                manager | {"manager_id": "m4", "capacity": -0.5},
            ],
        )
    run = run_dbt(path, select=select, vars=MAY, check=False, extra=["--store-failures"])
    assert list(run.failures()) == ["column_rules_stg_account_managers_"]
    assert "Got 1 result" in run.failures()["column_rules_stg_account_managers_"]
    stored = query(path, "select * from dbt_test__audit.column_rules_stg_account_managers_")
    assert stored == [{"column_name": "capacity", "rule": "at least 0", "failing_rows": 2}]


def test_tests_of_a_mart_read_the_runs_months_only(tmp_path):
    # macros/test_scope.sql: a run changes a mart only in its months, so the generic tests of a
    # mart read those months; the rest of the history was tested when it was written
    path = tmp_path / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.customers", [customer("c1")])
        insert_rows(
            con, "raw.revenue", [sale("t1", "c1", "2024-04-10", 10), sale("t2", "c1", "2024-05-10", 20)]
        )
        insert_rows(con, "raw.employee_counts", [headcount("c1", "2024-01-01", 10)])
    april_and_may = {"month_from": "2024-04", "month_to": "2024-05"}
    assert run_dbt(path, select="+customer_worth", vars=april_and_may).success
    with raw_warehouse(path) as con:  # April's snapshot broken after the fact
        con.execute("UPDATE marts.customer_worth SET achievement_probability = 2 WHERE month(as_of_date) = 4")
    assert not run_dbt(path, "test", select="customer_worth", vars=MAY).failures()
    failed = run_dbt(path, "test", select="customer_worth", vars=april_and_may, check=False).failures()
    assert list(failed) == ["column_rules_customer_worth_"]
