"""SPEC §14 (the revenue bridge, account health, the backtest of the defection model) in the dbt
models, on one tiny hand-made book run over 15 months (2023-06..2024-08) in one dbt build. Every
expected number was computed by hand from the rows below; the comments show the arithmetic.

Trailing window 12 months. No employee counts: every customer's potential is unknown (the
share-of-potential component is left out), every grade follows from revenue alone (< 1,000: D,
planned 6 contacts a year). No managers: every customer is `unassigned`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_helpers import insert_rows, query, raw_warehouse, run_dbt

D = dt.date.fromisoformat
MONTHS = {"month_from": "2023-06", "month_to": "2024-08"}
JUNE, MAY, AUGUST = D("2024-06-30"), D("2024-05-31"), D("2024-08-15")  # August: the latest sale

SALES = {
    # June 2024: opening window (2023-05-31, 2024-05-31], closing window (2023-06-30, 2024-06-30]
    "NEW": [("2024-06-10", "A", 100)],  # first revenue ever in the closing window: new +100
    "REA": [("2022-01-10", "A", 50), ("2024-06-05", "A", 80)],  # none in the opening window: reactivated +80
    "EXP": [("2023-09-01", "A", 100), ("2024-06-20", "B", 60)],  # 100 -> 160: expansion +60
    "CON": [("2023-06-15", "A", 200), ("2023-08-01", "A", 50)],  # 250 -> 50: contraction -200
    # 70 -> 0: churned -70; comes back in August: reactivated
    "CHU": [("2023-06-10", "A", 70), ("2024-08-15", "A", 30)],
    # 120 -> 120: unchanged; purchases 2022-08-01, 2023-10-01, 2023-12-01, 2024-02-01: gaps
    # 426, 61, 62 -> median gap 62 days
    "UNC": [(day, "A", 40) for day in ("2022-08-01", "2023-10-01", "2023-12-01", "2024-02-01")],
    "DOR": [("2021-01-01", "A", 10)],  # no revenue in either window: not in the bridge
}  # fmt: skip
CONTACTS = [  # EXP, all in the window: a dissatisfier, a satisfier and a neutral reason
    ("EXP", "2024-02-01", "billing_error"),
    ("EXP", "2024-03-01", "technical_support"),
    ("EXP", "2024-04-01", "order_inquiry"),
]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("beyond") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.customers", [
            {"customer_id": c, "customer_name": c, "customer_type": "mfg", "region": "north"} for c in SALES
        ])  # fmt: skip
        insert_rows(con, "raw.revenue", [
            {"transaction_id": f"{c}-{i}", "customer_id": c, "transaction_date": D(day), "product_line": line,
             "amount": amount}
            for c, sales in SALES.items() for i, (day, line, amount) in enumerate(sales)
        ])  # fmt: skip
        insert_rows(con, "raw.contacts", [
            {"contact_id": f"K{i}", "customer_id": c,
             "contact_date": dt.datetime.fromisoformat(f"{day}T10:00"),
             "medium": "phone", "reason_code": reason}
            for i, (c, day, reason) in enumerate(CONTACTS)
        ])  # fmt: skip
        insert_rows(
            con,
            "raw.referrals",
            [{"referral_id": "R1", "referrer_customer_id": "EXP", "referral_date": D("2024-03-01")}],
        )
    run_dbt(path, vars=MONTHS)
    return path


def rows(book: Path, sql: str) -> list[dict]:
    return query(book, sql)


# --- the revenue bridge ------------------------------------------------------------------------


def test_each_movement_of_a_customer(book):
    got = {
        r["customer_id"]: (r["movement"], float(r["opening_revenue"]), float(r["closing_revenue"]))
        for r in rows(book, f"SELECT * FROM marts.customer_revenue_bridge WHERE as_of_date = '{JUNE}'")
    }
    assert got == {
        "NEW": ("new", 0, 100), "REA": ("reactivated", 0, 80), "EXP": ("expansion", 100, 160),
        "CON": ("contraction", 250, 50), "CHU": ("churned", 70, 0), "UNC": ("unchanged", 120, 120),
    }  # fmt: skip


def test_a_customer_who_churns_and_comes_back_is_reactivated(book):
    chu = rows(book, "SELECT as_of_date, movement FROM marts.customer_revenue_bridge "
                     "WHERE customer_id = 'CHU' "
                     "ORDER BY as_of_date")  # fmt: skip
    movements = {r["as_of_date"]: r["movement"] for r in chu}
    assert movements[JUNE] == "churned" and movements[AUGUST] == "reactivated"
    assert D("2024-07-31") not in movements  # nothing in either window in July: no movement


def test_the_bridge_reconciles_opening_flows_closing(book):
    (overall,) = rows(
        book, f"SELECT * FROM marts.revenue_bridge WHERE as_of_date = '{JUNE}' AND dimension = 'overall'"
    )
    # opening 100 (EXP) + 250 (CON) + 70 (CHU) + 120 (UNC) = 540;
    # 540 + 100 + 80 + 60 - 200 - 70 + 0 = 510 = 100 + 80 + 160 + 50 + 0 + 120
    flows = [
        float(overall[f"{m}_revenue"]) for m in ("new", "reactivated", "expansion", "contraction", "churned")
    ]
    assert (float(overall["opening_revenue"]), flows, float(overall["closing_revenue"])) == (
        540, [100, 80, 60, -200, -70], 510)  # fmt: skip
    assert overall["churned_customers"] == 1 and overall["unchanged_customers"] == 1
    # every group of every month reconciles (also a dbt test, assert_revenue_bridge_reconciles)
    for r in rows(book, "SELECT * FROM marts.revenue_bridge"):
        total = sum(
            r[f"{m}_revenue"]
            for m in ("new", "reactivated", "expansion", "contraction", "churned", "unchanged")
        )
        assert r["opening_revenue"] + total == r["closing_revenue"], r


# --- account health ----------------------------------------------------------------------------


def health(book: Path, customer: str, day: dt.date) -> dict:
    (row,) = rows(
        book, f"SELECT * FROM marts.customer_health WHERE customer_id = '{customer}' AND as_of_date = '{day}'"
    )
    return row


def test_missing_components_are_left_out_and_the_weights_renormalised(book):
    exp = health(book, "EXP", JUNE)
    # recency (2 purchase occasions: no rhythm), revenue trend (no prior revenue) and share of
    # potential (unknown size) are left out; penetration 2 lines -> 70, sentiment 1 of 2 -> 40,
    # coverage 3 of 6 planned -> 25, referrals 1 -> 80:
    # (70 x 15 + 40 x 15 + 25 x 10 + 80 x 5) / (15 + 15 + 10 + 5) = 2300 / 45
    assert exp["health_score"] == pytest.approx(2300 / 45)
    assert (exp["recency_score"], exp["revenue_trend_score"], exp["share_of_potential_score"]) == (
        None,
        None,
        None,
    )
    assert exp["components_used"] == 4 and exp["health_band"] == "watch"
    # the three largest weighted shortfalls: sentiment 15 x 60, coverage 10 x 75, penetration 15 x 30
    assert exp["pulling_down"] == [
        "1 of 2 contacts with a satisfier or dissatisfier reason were dissatisfiers",
        "3 contacts against 6 planned for grade D",
        "2 product line(s) bought in the window",
    ]


def test_every_component_with_data_and_the_change_since_last_month(book):
    unc = health(book, "UNC", JUNE)
    # recency 150 / 62 = 2.42 -> 25; trend 120 / 40 = 3 -> 100; penetration 1 -> 40; coverage
    # 0 of 6 -> 0; referrals 0 -> 50 (no contact with a reason: sentiment left out; no size):
    # (25 x 25 + 100 x 20 + 40 x 15 + 0 x 10 + 50 x 5) / 75 = 3475 / 75
    assert unc["health_score"] == pytest.approx(3475 / 75)
    # May: recency 120 / 62 = 1.94 -> 50, the rest the same: 4100 / 75
    assert unc["previous_health_score"] == pytest.approx(4100 / 75)
    assert unc["health_score_change"] == pytest.approx((3475 - 4100) / 75)
    assert unc["pulling_down"][0] == "150 days since the last purchase, 2.4 times the usual gap of 62 days"
    exp = health(book, "EXP", JUNE)
    # May: penetration 1 line -> 40: (40 x 15 + 40 x 15 + 25 x 10 + 80 x 5) / 45 = 1850 / 45
    assert exp["health_score_change"] == pytest.approx(10.0)


def test_a_tie_in_pull_names_the_earlier_component_and_a_weight_of_zero_counts_nowhere(book, tmp_path):
    """Configured weights and scores other than the defaults, on a copy of the book: EXP's
    sentiment (40) and coverage (25) pull equally (10 x 60 = 8 x 75), penetration weighs 0 (left
    out of the score and of what pulls it down), and a band score with two decimals is scored
    exactly (80.25) in int_customer_health and in the score."""
    import shutil

    from pipelines.core.config import DEFAULT_CONFIG_PATH, dbt_vars, load_config

    components = dbt_vars(load_config(DEFAULT_CONFIG_PATH))["health_components"]
    components["contact_sentiment"]["weight"] = 10
    components["contact_coverage"]["weight"] = 8
    components["product_penetration"]["weight"] = 0
    components["referrals"]["scores"] = [50, 80.25, 100]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(book, copy)
    settings = {**MONTHS, "health_components": components}
    run_dbt(copy, select="int_customer_health customer_health", vars=settings)

    (component,) = rows(
        copy,
        "SELECT referrals_score FROM intermediate.int_customer_health "
        f"WHERE customer_id = 'EXP' AND as_of_date = '{JUNE}'",
    )
    assert component["referrals_score"] == Decimal("80.25")  # a DECIMAL wide enough for every band score
    exp = health(copy, "EXP", JUNE)
    assert exp["product_penetration_score"] == 70  # scored, but of weight 0
    # (40 x 10 + 25 x 8 + 80.25 x 5) / (10 + 8 + 5); penetration neither adds nor divides
    assert exp["health_score"] == pytest.approx((400 + 200 + 401.25) / 23)
    assert exp["pulling_down"] == [
        "1 of 2 contacts with a satisfier or dissatisfier reason were dissatisfiers",  # 5th component
        "3 contacts against 6 planned for grade D",  # 6th, the same pull
        "1 referral(s) in the window",  # 5 x 19.75
    ]


def test_health_distribution_counts_every_customer_per_band(book):
    (overall,) = rows(
        book, f"SELECT * FROM marts.health_distribution WHERE as_of_date = '{JUNE}' AND dimension = 'overall'"
    )
    scored = rows(book, f"SELECT health_band FROM marts.customer_health WHERE as_of_date = '{JUNE}'")
    assert overall["customers"] == len(scored) == 7
    bands = {b: sum(r["health_band"] == b for r in scored) for b in ("healthy", "watch", "at_risk")}
    assert {b: overall[f"{b}_band_customers"] for b in bands} == bands


# --- the backtest ------------------------------------------------------------------------------

# Active on 2023-06-30 (a purchase in (2022-06-30, 2023-06-30]): CON, CHU (Complacent), UNC
# (At-risk: 333 days since its last purchase). Their Complacent probability was learned from
# 2022-06-30, when REA was Complacent and had defected by 2023-06-30: (1 + 20 x 0.10) / (1 + 20)
# = 1/7; nobody was At-risk then: the prior 0.35. On 2024-06-30 CHU is a Defector, the others not.
PREDICTED = {"CON": 1 / 7, "CHU": 1 / 7, "UNC": 0.35}
DEFECTED = {"CON": 0, "CHU": 1, "UNC": 0}


def test_the_backtest_pairs_each_snapshot_with_the_one_a_horizon_later(book):
    dates = [
        r["as_of_date"] for r in rows(book, "SELECT as_of_date FROM marts.defection_backtest ORDER BY 1")
    ]
    assert dates == [D("2023-06-30"), D("2023-07-31"), D("2023-08-31")]  # outcomes June..August 2024


def test_brier_auc_lift_and_precision_by_hand(book):
    (row,) = rows(book, "SELECT * FROM marts.defection_backtest WHERE as_of_date = '2023-06-30'")
    assert (row["customers"], row["defected_customers"]) == (3, 1)
    brier = sum((PREDICTED[c] - DEFECTED[c]) ** 2 for c in PREDICTED) / 3
    assert row["brier_score"] == pytest.approx(brier)
    # ranks of the probabilities 1/7, 1/7, 0.35: 1.5, 1.5, 3; the defector CHU ranks 1.5:
    # (1.5 - 1 x 2 / 2) / (1 x 2) = 0.25
    assert row["auc_probability"] == pytest.approx(0.25)
    assert row["at_risk_lift"] == 0  # UNC (At-risk) did not defect, half the others did
    # the early-warning list (UNC alone) has a top decile of 1, who did not defect
    assert (row["early_warning_top_decile"], row["early_warning_top_decile_precision"]) == (1, 0)


def test_the_health_auc_ranks_lower_health_as_more_likely_to_defect(book):
    (row,) = rows(book, "SELECT auc_health FROM marts.defection_backtest WHERE as_of_date = '2023-06-30'")
    scores = {r["customer_id"]: r["health_score"] for r in rows(
        book, "SELECT customer_id, health_score FROM marts.customer_health "
              "WHERE as_of_date = '2023-06-30'")}  # fmt: skip
    negatives = [scores[c] for c in ("CON", "UNC")]
    # the defector's health against each non-defector: lower counts 1, a tie 0.5
    expected = sum(1.0 if scores["CHU"] < s else 0.5 if scores["CHU"] == s else 0.0 for s in negatives) / 2
    assert row["auc_health"] == pytest.approx(expected)


def test_calibration_per_segment_and_decile(book):
    got = {(r["breakdown"], r["bucket"]): r for r in rows(
        book, "SELECT * FROM marts.defection_calibration WHERE as_of_date = '2023-06-30'")}  # fmt: skip
    complacent, at_risk = got[("segment", "Complacent")], got[("segment", "At-risk")]
    assert (complacent["customers"], complacent["realised_defection_rate"]) == (2, 0.5)
    assert complacent["mean_predicted"] == pytest.approx(1 / 7)
    assert (at_risk["customers"], at_risk["mean_predicted"], at_risk["realised_defection_rate"]) == (
        1,
        0.35,
        0,
    )
    deciles = sorted(k[1] for k in got if k[0] == "decile")
    assert deciles == ["01", "02", "03"]  # three customers, one per decile
