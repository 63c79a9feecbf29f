"""SPEC §5 (contact economics) and the post-assignment marts of §6, with real dbt on a tiny
hand-made warehouse, built once for the module.

Two snapshots. No customer has an employee count, so every incremental class is 1 and the
grade follows from the actual revenue alone (cells 11 D, 21 C, 31 B, 51 A):
- March 2024 (D = 2024-03-31): e01..e10, 5,000 each -> all B (24 contacts): the seed's example,
  30 x 213 = 6,390 contacts a year, 89,000 / 6,390 = 13.93 a contact, 6,390 / 24 -> 266
  accounts, 13.93 x 24 = 334.27 per customer.
- April 2024 (D = 2024-04-15, the latest sale): the ten B customers plus f1 30,000 (A, 36),
  f2 2,000 (C, 12), f3 500 (D, 6).
The assignment history is written by hand, as the Python assignment step would.
"""

from __future__ import annotations

import datetime as dt

import pytest
from dbt_helpers import (
    create_assignment_history,
    insert_rows,
    query,
    raw_warehouse,
    run_dbt,
)

D = dt.date.fromisoformat
MARCH, APRIL = D("2024-03-31"), D("2024-04-15")
CONTACTS_PER_YEAR = 30 * 213  # 6,390
COST_PER_CONTACT = 89000 / CONTACTS_PER_YEAR  # 13.928...
B_CUSTOMERS = [f"e{i:02d}" for i in range(1, 11)]


def assignment(as_of, cid, grade, revenue, manager, previous, moved, reason) -> dict:
    return {"as_of_date": as_of, "customer_id": cid, "grade": grade, "actual_revenue": revenue,
            "manager_id": manager, "previous_manager_id": previous, "moved": moved,
            "move_reason": reason}  # fmt: skip


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory):
    path = tmp_path_factory.mktemp("economics") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        ids = B_CUSTOMERS + ["f1", "f2", "f3"]
        insert_rows(con, "raw.customers", [
            {"customer_id": c, "customer_name": c.upper(), "customer_type": "t"} for c in ids
        ])  # fmt: skip
        sales = [(f"s-{c}", c, "2024-03-10", 5000) for c in B_CUSTOMERS]
        sales += [("s-f1", "f1", "2024-04-02", 30000), ("s-f2", "f2", "2024-04-03", 2000),
                  ("s-f3", "f3", "2024-04-15", 500)]  # fmt: skip
        insert_rows(con, "raw.revenue", [
            {"transaction_id": t, "customer_id": c, "transaction_date": D(d),
             "product_line": "x", "amount": a}
            for t, c, d, a in sales
        ])  # fmt: skip
        insert_rows(con, "raw.account_managers", [
            {"manager_id": "m1", "manager_name": "Ann", "active_from": D("2020-01-01")},
            {"manager_id": "m2", "manager_name": "Bob", "active_from": D("2020-01-01"),
             "active_to": D("2024-01-01")},  # left before both snapshots
            {"manager_id": "m3", "manager_name": "Cid", "active_from": D("2024-06-01")},  # later
            {"manager_id": "m4", "manager_name": "Dee", "active_from": D("2020-01-01"),
             "active_to": D("2024-04-15")},  # active on March's D; active_to is exclusive
            {"manager_id": "m5", "manager_name": "Eve", "active_from": D("2024-03-31")},
        ])  # fmt: skip
        create_assignment_history(con)
        march = [assignment(MARCH, c, "B", 5000, "m1", None, False, "new") for c in B_CUSTOMERS]
        april = [assignment(APRIL, c, "B", 5000, "m1", "m1", False, "kept") for c in B_CUSTOMERS[:5]]
        april += [
            assignment(APRIL, "e06", "B", 5000, "m5", "m4", False, "manager_left"),
            *[assignment(APRIL, c, "B", 5000, "m5", "m1", True, "rebalanced")
              for c in B_CUSTOMERS[6:]],
            assignment(APRIL, "f1", "A", 30000, "m1", None, False, "new"),
            assignment(APRIL, "f2", "C", 2000, "m5", None, False, "new"),
            assignment(APRIL, "f3", "D", 500, "m5", None, False, "new"),
        ]  # fmt: skip
        stale = [
            assignment(D("2024-02-29"), "e01", "B", 5000, "m2", None, False, "new"),  # not run
            assignment(D("2024-04-10"), "e01", "B", 5000, "m2", None, False, "new"),  # old D
        ]
        insert_rows(con, "assignment.module_assignment_history", march + april + stale)
    run_dbt(
        path,
        vars={"month_from": "2024-03", "month_to": "2024-04"},
        select="+path:models/marts/economics +path:models/marts/modules",
    )
    return path


@pytest.fixture(scope="module")
def economics(warehouse) -> dict:
    rows = query(warehouse, "SELECT * FROM marts.contact_economics")
    return {r["as_of_date"]: r for r in rows}


def test_snapshots(economics):
    assert sorted(economics) == [MARCH, APRIL]


def test_seed_module_size_example(economics):
    march = economics[MARCH]
    assert march["contacts_per_manager_year"] == 6390
    assert round(march["cost_per_contact"], 2) == 13.93
    assert march["graded_customers"] == 10
    assert march["average_planned_contacts"] == 24
    assert march["accounts_per_manager"] == 266  # floor(6390 / 24 = 266.25)
    assert round(march["investment_per_customer"], 2) == 334.27
    assert march["total_planned_contacts"] == 240
    assert march["total_investment"] == pytest.approx(COST_PER_CONTACT * 240)  # 3,342.72
    assert float(march["total_actual_revenue"]) == 50000
    assert march["investment_share_of_revenue"] == pytest.approx(COST_PER_CONTACT * 240 / 50000)
    assert march["managers_required"] == 1  # ceil(240 / 6390)
    assert march["managers_active"] == 3  # m1, m4 (until 2024-04-15), m5 (from D)


def test_mixed_grades(economics):
    april = economics[APRIL]
    planned = 10 * 24 + 36 + 12 + 6  # 294
    assert april["graded_customers"] == 13
    assert april["total_planned_contacts"] == planned
    assert april["average_planned_contacts"] == pytest.approx(planned / 13)  # 22.615
    assert april["accounts_per_manager"] == 282  # floor(6390 / 22.615 = 282.55)
    assert april["investment_per_customer"] == pytest.approx(COST_PER_CONTACT * planned / 13)
    assert april["total_investment"] == pytest.approx(COST_PER_CONTACT * planned)  # 4,094.84
    assert float(april["total_actual_revenue"]) == 82500
    assert april["investment_share_of_revenue"] == pytest.approx(COST_PER_CONTACT * planned / 82500)
    assert april["managers_active"] == 2  # m4's active_to is D: no longer active


def test_by_grade(warehouse):
    rows = query(warehouse, "SELECT * FROM marts.contact_economics_by_grade WHERE as_of_date = ?",
                 [APRIL])  # fmt: skip
    by_grade = {r["grade"]: r for r in rows}
    assert sorted(by_grade, key=lambda g: by_grade[g]["grade_order"]) == ["AA", "A", "B", "C", "D"]
    expected = {  # grade: (customers, planned per customer, average revenue)
        "AA": (0, 52, None), "A": (1, 36, 30000), "B": (10, 24, 5000), "C": (1, 12, 2000),
        "D": (1, 6, 500),
    }  # fmt: skip
    for grade, (customers, planned, average) in expected.items():
        row = by_grade[grade]
        assert row["customers"] == customers, grade
        assert row["planned_contacts_per_customer"] == planned, grade
        assert row["total_planned_contacts"] == planned * customers, grade
        assert row["investment_per_customer"] == pytest.approx(COST_PER_CONTACT * planned), grade
        assert row["total_investment"] == pytest.approx(COST_PER_CONTACT * planned * customers)
        if average is None:
            assert row["average_actual_revenue"] is None
            assert row["investment_share_of_revenue"] is None
        else:
            assert row["average_actual_revenue"] == pytest.approx(average), grade
            assert row["investment_share_of_revenue"] == pytest.approx(
                COST_PER_CONTACT * planned / average
            ), grade
    assert round(by_grade["B"]["investment_per_customer"], 2) == 334.27


def test_module_assignments_copy_the_run_snapshots(warehouse):
    rows = query(warehouse, "SELECT * FROM marts.module_assignments ORDER BY ALL")
    assert {r["as_of_date"] for r in rows} == {MARCH, APRIL}  # stale dates left out
    assert len(rows) == 10 + 13
    april = {r["customer_id"]: r for r in rows if r["as_of_date"] == APRIL}
    assert (april["e06"]["manager_id"], april["e06"]["manager_name"]) == ("m5", "Eve")
    assert (april["e06"]["previous_manager_id"], april["e06"]["moved"],
            april["e06"]["move_reason"]) == ("m4", False, "manager_left")  # fmt: skip
    assert (april["e07"]["moved"], april["e07"]["move_reason"]) == (True, "rebalanced")
    assert april["f1"]["previous_manager_id"] is None and april["f1"]["move_reason"] == "new"
    planned = {c: r["planned_contacts"] for c, r in april.items()}
    assert (planned["f1"], planned["f2"], planned["f3"], planned["e01"]) == (36, 12, 6, 24)
    assert float(april["f1"]["actual_revenue"]) == 30000


def test_modules(warehouse):
    rows = query(warehouse, "SELECT * FROM marts.modules ORDER BY as_of_date, manager_id")
    got = {(r["as_of_date"], r["manager_id"]): r for r in rows}
    # March: m4 and m5 are active but hold no account: they still appear, with zeros
    assert set(got) == {(MARCH, "m1"), (MARCH, "m4"), (MARCH, "m5"), (APRIL, "m1"), (APRIL, "m5")}
    m1 = got[(APRIL, "m1")]
    counts = [m1[f"accounts{suffix}"] for suffix in ("", "_aa", "_a", "_b", "_c", "_d")]
    assert (m1["manager_name"], counts) == ("Ann", [6, 0, 1, 5, 0, 0])
    assert m1["planned_contacts"] == 5 * 24 + 36
    assert m1["utilisation"] == pytest.approx(156 / 6390)
    assert float(m1["module_revenue"]) == 55000
    m5 = got[(APRIL, "m5")]
    assert (m5["accounts"], m5["accounts_b"], m5["accounts_c"], m5["accounts_d"]) == (7, 5, 1, 1)
    assert m5["planned_contacts"] == 120 + 12 + 6
    assert m5["utilisation"] == pytest.approx(138 / 6390)
    assert float(m5["module_revenue"]) == 27500
    idle = got[(MARCH, "m4")]
    assert (idle["accounts"], idle["planned_contacts"], idle["utilisation"]) == (0, 0, 0)
    assert float(idle["module_revenue"]) == 0
    march_m1 = got[(MARCH, "m1")]
    assert march_m1["accounts"] == 10 and march_m1["utilisation"] == pytest.approx(240 / 6390)
