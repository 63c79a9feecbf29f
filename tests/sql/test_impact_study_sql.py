"""SPEC §8 impact study in the dbt model `impact_study`, checked with real dbt on a tiny hand-made
warehouse whose every number is worked out by hand below.

Programme start P = 2024-05-15, so the baseline B = 2024-04-30 (the last month end before P).
One dbt build snapshots April, May and June 2024 (a sale on 2024-07-01 closes June).

Customers (one product line each, so nobody is Secure; no employee counts):
- S1: 100 on the 1st of every month 2023-01 .. 2024-07 -> Complacent, revenue_12m 1,200.
- R1: 1,000 on 2023-06-01 and 2023-12-01 -> Complacent at B (151 days since), At-risk by
  recency in May (182 days) and June; revenue_12m 2,000, 2,000, 1,000 (2023-06-01 leaves June's).
- D1: 500 on 2023-09-15 -> At-risk (recency) from B on.
- X1: 100 on 2023-01-10 -> a Defector at B: not in the cohort.
- N2: 800 on 2024-05-10, two dissatisfier contacts in June -> Complacent in May, At-risk in June.
- N1: 300 on 2024-06-10 -> Complacent in June.
The cohort = the customers active at B = S1, R1, D1.

Defection probabilities (learned from D0 = D - 12 months, shrinkage weight 20):
Complacent at D0 = S1, X1 (+ R1 for June); X1 is a Defector at D, so
p(Complacent) = (1 + 20 x 0.10) / (2 + 20) = 3/22 in April and May, (1 + 2) / (3 + 20) = 3/23 in
June; nobody At-risk at D0, so p(At-risk) = the prior 0.35.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dbt_helpers import insert_rows, query, raw_warehouse, run_dbt

D = dt.date.fromisoformat
B, MAY, JUNE = D("2024-04-30"), D("2024-05-31"), D("2024-06-30")
VARS = {"month_from": "2024-04", "month_to": "2024-06", "programme_start_date": "2024-05-15"}

SALES = [
    *[("S1", dt.date(2023 + (m - 1) // 12, (m - 1) % 12 + 1, 1), 100) for m in range(1, 20)],
    ("R1", D("2023-06-01"), 1000), ("R1", D("2023-12-01"), 1000),
    ("D1", D("2023-09-15"), 500),
    ("X1", D("2023-01-10"), 100),
    ("N2", D("2024-05-10"), 800),
    ("N1", D("2024-06-10"), 300),
]  # fmt: skip

P_APR_MAY, P_JUNE, P_AT_RISK = 3 / 22, 3 / 23, 0.35

# (as_of_date, population): customers, active, at risk, at-risk revenue, expected loss
EXPECTED = {
    (B, "all"): (4, 3, 1, 500, (1200 + 2000) * P_APR_MAY + 500 * P_AT_RISK),
    (B, "cohort"): (3, 3, 1, 500, (1200 + 2000) * P_APR_MAY + 500 * P_AT_RISK),
    (MAY, "all"): (5, 4, 2, 2500, (1200 + 800) * P_APR_MAY + 2500 * P_AT_RISK),
    (MAY, "cohort"): (3, 3, 2, 2500, 1200 * P_APR_MAY + 2500 * P_AT_RISK),
    (JUNE, "all"): (6, 5, 3, 2300, (1200 + 300) * P_JUNE + 2300 * P_AT_RISK),
    (JUNE, "cohort"): (3, 3, 2, 1500, 1200 * P_JUNE + 1500 * P_AT_RISK),
}


def study_rows(path: Path) -> dict[tuple, dict]:
    rows = query(path, "SELECT * FROM marts.impact_study ORDER BY as_of_date, population")
    return {(r["as_of_date"], r["population"]): r for r in rows}


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    path: Path = tmp_path_factory.mktemp("impact") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.customers", [
            {"customer_id": c, "customer_name": c, "customer_type": "mfg", "region": "north"}
            for c in ("S1", "R1", "D1", "X1", "N2", "N1")
        ])  # fmt: skip
        insert_rows(con, "raw.revenue", [
            {"transaction_id": f"{c}-{day}", "customer_id": c, "transaction_date": day,
             "product_line": "A", "amount": amount}
            for c, day, amount in SALES
        ])  # fmt: skip
        insert_rows(con, "raw.contacts", [
            {"contact_id": f"N2-{day}", "customer_id": "N2",
             "contact_date": dt.datetime.fromisoformat(f"{day}T10:00:00"), "manager_id": None,
             "medium": "phone", "direction": "inbound", "reason_code": "delayed_shipment",
             "contact_person": None}
            for day in ("2024-06-05", "2024-06-20")
        ])  # fmt: skip
    run_dbt(path, vars=VARS, select="+impact_study")
    return path


@pytest.fixture(scope="module")
def study(warehouse) -> dict[tuple, dict]:
    return study_rows(warehouse)


def test_one_row_per_snapshot_and_population_from_the_baseline_on(study, warehouse):
    assert set(study) == set(EXPECTED)
    segments = query(warehouse, "SELECT as_of_date, customer_id, segment FROM marts.customer_loyalty "
                                "WHERE customer_id = 'R1' ORDER BY 1")  # fmt: skip
    assert [r["segment"] for r in segments] == ["Complacent", "At-risk", "At-risk"]


@pytest.mark.parametrize("key", list(EXPECTED), ids=lambda k: f"{k[0]}-{k[1]}" if k else "")
def test_measures_per_snapshot_and_population(study, key):
    customers, active, at_risk, at_risk_revenue, expected_loss = EXPECTED[key]
    row = study[key]
    assert row["baseline_date"] == B
    assert (row["customers"], row["active_customers"], row["at_risk_customers"]) == (
        customers, active, at_risk)  # fmt: skip
    assert row["defectors"] == customers - active
    assert row["at_risk_share"] == pytest.approx(at_risk / active)
    assert float(row["at_risk_revenue"]) == at_risk_revenue
    assert row["expected_loss"] == pytest.approx(expected_loss)


@pytest.mark.parametrize("population", ["all", "cohort"])
def test_changes_against_the_baseline(study, population):
    base = EXPECTED[(B, population)]
    for as_of in (B, MAY, JUNE):
        row = study[(as_of, population)]
        _, active, at_risk, revenue, loss = EXPECTED[(as_of, population)]
        share, base_share = at_risk / active, base[2] / base[1]
        assert row["at_risk_share_change"] == pytest.approx(share - base_share)
        assert row["at_risk_share_change_pct"] == pytest.approx((share - base_share) / base_share)
        assert float(row["at_risk_revenue_change"]) == revenue - base[3]
        assert float(row["at_risk_revenue_change_pct"]) == pytest.approx((revenue - base[3]) / base[3])
        assert row["expected_loss_change"] == pytest.approx(loss - base[4])
        assert row["expected_loss_change_pct"] == pytest.approx((loss - base[4]) / base[4])


def test_cohort_excludes_customers_acquired_after_the_baseline(study):
    # June: 'all' counts N2 (At-risk, 800) and N1; the cohort does not, so the programme is not
    # credited or blamed for customers it never had at B
    assert study[(JUNE, "all")]["at_risk_customers"] - study[(JUNE, "cohort")]["at_risk_customers"] == 1
    assert float(study[(JUNE, "all")]["at_risk_revenue_change"]) == 1800  # 2,300 - 500
    assert float(study[(JUNE, "cohort")]["at_risk_revenue_change"]) == 1000  # 1,500 - 500


def test_rebuilt_from_stored_snapshots_for_another_start_date(warehouse):
    # a later start (B = June's month end) needs no recomputation of the snapshots: only the
    # study is rebuilt, June compared with itself; without a start date the study is empty
    run_dbt(warehouse, vars={**VARS, "programme_start_date": "2024-07-02"}, select="impact_study")
    later = study_rows(warehouse)
    assert set(later) == {(JUNE, "all"), (JUNE, "cohort")}
    assert later[(JUNE, "cohort")]["customers"] == 5  # active at June's month end: all but X1
    assert later[(JUNE, "all")]["expected_loss_change"] == 0
    run_dbt(warehouse, vars={**VARS, "programme_start_date": None}, select="impact_study")
    assert study_rows(warehouse) == {}
