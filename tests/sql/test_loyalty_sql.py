"""SPEC §7-§11 (loyalty, revenue at risk, concentration, contact drivers, early warning, manager
scorecard) in the dbt models, checked with real dbt on tiny hand-made warehouses.

Every expected number was computed by hand from the rows inserted here; the comments show the
arithmetic. Two scenarios, each built with a single dbt invocation for the module; both snapshot
June 2024 only: D = 2024-06-30 (a later sale in July keeps D at the month end and must be
ignored), D0 = 2023-06-30, trailing window (2023-06-30, 2024-06-30], prior window
(2022-06-30, 2023-06-30], dissatisfier window (2024-04-01, 2024-06-30].

No employee counts anywhere: every incremental class is 1, so the grade follows from the revenue
alone (< 1,000 -> D, 1,000..2,999 -> C).

- `book`: one customer per segment rule and per at-risk rule, with their edges and precedence,
  credit notes, product-line dates, referrals, contacts, the defection probability learned from
  D0, NRR / GRR, the exposure by dimension, the early-warning ranking and the manager scorecard
  (the assignment history is written by hand, as the Python assignment step would).
- `drivers`: 40 customers active at D0 with planted contact histories (contact-driver lifts, the
  label edges and the minimum support) and a concentrated book (top shares, HHI).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from dbt_helpers import create_assignment_history, insert_rows, query, raw_warehouse, run_dbt

D = dt.date.fromisoformat
AS_OF = D("2024-06-30")
MONTH = {"month_from": "2024-06", "month_to": "2024-06"}


def customer(cid: str, region: str | None = "north") -> dict:
    return {"customer_id": cid, "customer_name": f"Customer {cid}", "customer_type": "mfg",
            "region": region}  # fmt: skip


def contact(cid: str, when: str, reason: str | None = None, manager: str | None = None,
            medium: str = "phone", person: str | None = None) -> dict:  # fmt: skip
    stamp = dt.datetime.fromisoformat(when if "T" in when else when + "T10:00:00")
    return {"contact_id": f"{cid}-{when}-{reason}-{medium}", "customer_id": cid,
            "contact_date": stamp, "manager_id": manager, "medium": medium,
            "direction": "outbound", "reason_code": reason, "contact_person": person}  # fmt: skip


def by_customer(rows: list[dict]) -> dict[str, dict]:
    return {row["customer_id"]: row for row in rows}


# ---------------------------------------------------------------------------------------------
# scenario "book"
#
# id: [(date, product line, amount, margin), ...]
BOOK_SALES = {
    # Defector (no purchase in the window) although two dissatisfier contacts in 90 days:
    # the Defector rule comes first. Complacent at D0, Defector at D: defected.
    "DEF": [("2023-03-01", "A", 1000, None)],
    # credit notes only: in the universe, never a purchase -> Defector, no last purchase
    "CRN": [("2024-03-01", "A", -200, None)],
    # recency: one purchase 212 days before D (> 180)
    "REC": [("2023-12-01", "A", 2000, None)],
    # decline: 699.99 < 0.7 x 1,000;  DEC0: 700 is not below 700 (Complacent)
    "DEC": [("2023-01-10", "A", 1000, None), ("2024-06-01", "A", 699.99, None)],
    "DEC0": [("2023-01-10", "A", 1000, None), ("2024-06-01", "A", 700, None)],
    # dissatisfier: 2 dissatisfier contacts in (D - 90 days, D];  DIS1: one of them on D - 90 days
    "DIS": [("2024-05-15", "A", 1000, None), ("2024-06-15", "A", 500, None)],
    "DIS1": [("2024-06-10", "A", 200, None)],
    # gap: occasions in the last 24 months 01-01, 01-21, 02-20 -> gaps 20, 30 -> median 25; 131
    # days since 02-20 > 2 x 25 and > 60. The 2022-05-01 purchase lies before D - 24 months: its
    # gap (610 days) is not counted (else the median would be 30). Defector at D0.
    "GAP": [("2022-05-01", "A", 100, None), ("2024-01-01", "A", 100, None),
            ("2024-01-21", "A", 100, None), ("2024-02-20", "A", 100, None)],
    # too few occasions (2 < 3): no median, no gap rule although 150 days since the last purchase
    "GAPN": [("2024-01-01", "A", 100, None), ("2024-02-01", "A", 100, None)],
    # gaps 10, 10 -> median 10; 50 days since: > 2 x 10 but not > 60 -> no gap
    "GAPM": [("2024-04-21", "A", 100, None), ("2024-05-01", "A", 100, None),
             ("2024-05-11", "A", 100, None)],
    # gaps 40, 60 -> median 50 (mean of the middle two); 70 days since: > 60 but not > 100
    "GAPX": [("2024-01-12", "A", 100, None), ("2024-02-21", "A", 100, None),
             ("2024-04-21", "A", 100, None)],
    # Secure: 2 lines, 2 occasions, revenue 1,000 not below the prior 1,000
    "SEC": [("2023-02-01", "A", 1000, 200), ("2024-02-01", "A", 500, 100),
            ("2024-05-01", "B", 500, 150)],
    # Secure through a referral: 600 < 800 (but >= 560, no decline) and a referral in the window
    "SECR": [("2023-03-01", "A", 800, None), ("2023-09-01", "A", 300, None),
             ("2024-03-01", "B", 300, None)],
    # the same without a referral: Complacent
    "CMP": [("2023-03-01", "A", 800, None), ("2023-09-01", "A", 300, None),
            ("2024-03-01", "B", 300, None)],
    # one line, three occasions (gaps 30, 31): Complacent
    "CMP1": [("2024-04-10", "A", 100, None), ("2024-05-10", "A", 100, None),
             ("2024-06-10", "A", 100, None)],
    # two lines on one day = one occasion: Complacent
    "CMP2": [("2024-05-01", "A", 100, None), ("2024-05-01", "B", 100, None)],
    # product penetration: A (prior window), B 2023-08-01 (2nd line), a credit note on line D
    # (not a purchase, not a line), C on D itself (3rd line, arrives exactly on D), E after D
    "PEN": [("2023-01-05", "A", 300, None), ("2023-08-01", "B", 400, None),
            ("2024-03-01", "D", -50, None), ("2024-06-30", "C", 500, None),
            ("2024-07-05", "E", 999, None)],
    "NEW": [("2024-06-01", "A", 100, None)],  # referred by SECR, converted
    "LATE": [("2024-07-10", "A", 100, None)],  # first sale after D: not in the universe
    # At-risk at D0 (1,000 -> 100: decline), Defector at D: the At-risk history
    "ARX": [("2022-01-10", "A", 1000, None), ("2023-01-10", "A", 100, None)],
    # prior 500, a credit note in the window: Defector (GRR counts it as 0, NRR as -100)
    "NEG": [("2023-02-01", "A", 500, None), ("2024-02-01", "A", -100, None)],
    # every at-risk rule at once: 303 days since 2023-09-01 (recency; gaps 122, 31, 31 -> median
    # 31: gap), 300 < 0.7 x 1,000 (decline), two dissatisfier contacts (dissatisfier)
    "MUL": [("2023-03-01", "A", 1000, None), ("2023-07-01", "A", 100, None),
            ("2023-08-01", "A", 100, None), ("2023-09-01", "A", 100, None)],
}  # fmt: skip

BOOK_CONTACTS = [
    contact("DEF", "2024-05-10", "delayed_shipment", "m2"),
    contact("DEF", "2024-06-10", "service_complaint", "m2"),
    contact("DIS", "2023-12-01", "pricing_complaint", "m1"),
    contact("DIS", "2024-01-10", "billing_error", "m1"),
    contact("DIS", "2024-04-02", "delayed_shipment", "m1"),
    contact("DIS", "2024-05-01", "technical_support", "m1"),  # a satisfier: not counted
    contact("DIS", "2024-06-20", "damaged_product", "m1"),
    contact("DIS", "2024-07-02", "billing_error", "m1"),  # after D
    contact("DIS1", "2024-04-01", "delayed_shipment", "m2"),  # on D - 90 days: outside
    contact("DIS1", "2024-06-20", "delayed_shipment", "m2"),
    contact("DIS1", "2024-06-01", "order_inquiry", "m2"),
    contact("MUL", "2024-04-15", "delayed_shipment", "m2"),
    contact("MUL", "2024-05-15", "pricing_complaint", "m2"),
    contact("SEC", "2023-06-15", None, "m1", person="P3"),  # before the window
    contact("SEC", "2023-12-01", None, "m1", person="P1"),
    contact("SEC", "2024-02-01", None, "m1", person="P1"),
    contact("SEC", "2024-03-01", None, "m2", person="P2"),  # by another manager
    contact("SEC", "2024-06-30T23:30:00", None, "m1"),  # on D, late in the day; no person
    contact("CMP", "2024-03-03", None, "m1"),  # m1 is not CMP's manager
]

BOOK_REFERRALS = [
    ("r1", "SECR", "2024-01-15", "NEW"),  # converted: NEW is in the universe at D
    ("r2", "SECR", "2024-02-15", "LATE"),  # LATE buys only after D: not converted
    ("r3", "SECR", "2024-03-15", None),
    ("r4", "SECR", "2023-05-01", "NEW"),  # before the window
]

M1 = ["REC", "DEC", "DIS", "SEC", "DEF", "CRN", "SECR"]
M2 = ["DEC0", "DIS1", "GAP", "GAPN", "GAPM", "GAPX", "CMP", "CMP1", "CMP2", "PEN", "ARX", "NEG",
      "MUL"]  # fmt: skip
GRADE_C = {"REC", "DIS", "SEC"}  # revenue 1,000..2,999; every other customer is below 1,000: D

SEGMENTS = {
    "DEF": "Defector", "CRN": "Defector", "ARX": "Defector", "NEG": "Defector",
    "REC": "At-risk", "DEC": "At-risk", "DIS": "At-risk", "GAP": "At-risk", "MUL": "At-risk",
    "SEC": "Secure", "SECR": "Secure", "PEN": "Secure",
    "DEC0": "Complacent", "DIS1": "Complacent", "GAPN": "Complacent", "GAPM": "Complacent",
    "GAPX": "Complacent", "CMP": "Complacent", "CMP1": "Complacent", "CMP2": "Complacent",
    "NEW": "Complacent",
}  # fmt: skip
RISK_REASONS = {
    "REC": ["recency"], "DEC": ["decline"], "DIS": ["dissatisfier"], "GAP": ["gap"],
    "MUL": ["recency", "decline", "dissatisfier", "gap"],
}  # fmt: skip

# D0 segments: Complacent DEF, DEC, DEC0, SEC, SECR, CMP, PEN, NEG, MUL (9; DEF and NEG are
# Defectors at D), At-risk ARX (1, a Defector at D), GAP a Defector (not learned from), no Secure.
P_COMPLACENT = (2 + 20 * 0.10) / (9 + 20)  # 4 / 29
P_AT_RISK = (1 + 20 * 0.35) / (1 + 20)  # 8 / 21
P_SECURE = 0.02  # no Secure customer at D0: the prior
PROBABILITY = {"Complacent": P_COMPLACENT, "At-risk": P_AT_RISK, "Secure": P_SECURE,
               "Defector": 1.0}  # fmt: skip


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("book") / "warehouse.duckdb"
    with raw_warehouse(path) as con:
        ids = list(BOOK_SALES)
        insert_rows(con, "raw.customers", [customer(c, None if c == "REC" else "north") for c in ids])
        insert_rows(con, "raw.revenue", [
            {"transaction_id": f"{cid}-{i}", "customer_id": cid, "transaction_date": D(day),
             "product_line": line, "amount": amount, "margin": margin}
            for cid, sales in BOOK_SALES.items()
            for i, (day, line, amount, margin) in enumerate(sales)
        ])  # fmt: skip
        insert_rows(con, "raw.contacts", BOOK_CONTACTS)
        insert_rows(con, "raw.referrals", [
            {"referral_id": r, "referrer_customer_id": c, "referral_date": D(d),
             "referred_customer_id": to}
            for r, c, d, to in BOOK_REFERRALS
        ])  # fmt: skip
        insert_rows(con, "raw.account_managers", [
            {"manager_id": "m1", "manager_name": "Ann", "active_from": D("2020-01-01")},
            {"manager_id": "m2", "manager_name": "Bob", "active_from": D("2020-01-01")},
        ])  # fmt: skip
        create_assignment_history(con)
        insert_rows(con, "assignment.module_assignment_history", [
            {"as_of_date": AS_OF, "customer_id": c, "grade": "C" if c in GRADE_C else "D",
             "actual_revenue": 0, "manager_id": m, "previous_manager_id": None, "moved": False,
             "move_reason": "new"}
            for m, module in (("m1", M1), ("m2", M2)) for c in module
        ])  # NEW has no assignment  # fmt: skip
    # NEW breaks on purpose the rule that every graded customer is assigned, to show where an
    # unassigned customer counts in the exposure
    run = run_dbt(path, vars=MONTH, exclude="assert_every_graded_customer_is_assigned")
    assert run.statuses["assert_at_risk_exposure_dimensions_add_up"] == "pass"
    assert run.statuses["assert_customer_loyalty_matches_worth"] == "pass"
    assert run.statuses["assert_loyalty_segments_are_exhaustive"] == "pass"
    return path


@pytest.fixture(scope="module")
def loyalty(book) -> dict[str, dict]:
    return by_customer(query(book, "SELECT * FROM marts.customer_loyalty"))


def test_universe_and_snapshot(loyalty):
    assert set(loyalty) == set(SEGMENTS)  # LATE buys only after D
    assert {row["as_of_date"] for row in loyalty.values()} == {AS_OF}


def test_segments_and_their_precedence(loyalty):
    assert {cid: row["segment"] for cid, row in loyalty.items()} == SEGMENTS


def test_risk_reasons(loyalty):
    got = {cid: row["risk_reasons"] for cid, row in loyalty.items() if row["risk_reasons"]}
    assert got == RISK_REASONS
    # DEF has two dissatisfier contacts in 90 days, but the Defector rule matched first
    assert loyalty["DEF"]["dissatisfier_contacts_recent"] == 2
    assert loyalty["DEF"]["risk_reasons"] == []


def test_recency_rule(loyalty):
    assert loyalty["REC"]["last_purchase_date"] == D("2023-12-01")
    assert loyalty["REC"]["days_since_last_purchase"] == 212


def test_decline_rule_is_strict(loyalty):
    dec, dec0 = loyalty["DEC"], loyalty["DEC0"]
    assert float(dec["revenue_12m"]) == 699.99 and float(dec["revenue_prev_12m"]) == 1000
    assert float(dec["dollar_volume_change"]) == pytest.approx(-300.01)
    assert dec["dollar_volume_change_pct"] == pytest.approx(-0.30001)
    assert (dec0["segment"], dec0["risk_reasons"]) == ("Complacent", [])  # 700 = 0.7 x 1,000


def test_dissatisfier_rule_window(loyalty):
    assert loyalty["DIS"]["dissatisfier_contacts_recent"] == 2  # 04-02 and 06-20; 07-02 after D
    assert loyalty["DIS"]["contacts_12m"] == 5  # 2023-12-01 .. 2024-06-20
    assert loyalty["DIS1"]["dissatisfier_contacts_recent"] == 1  # 04-01 = D - 90 days: outside


def test_gap_rule(loyalty):
    gap = loyalty["GAP"]
    assert gap["median_gap_days"] == 25.0  # the 610-day gap from 2022-05-01 is not counted
    assert gap["purchase_occasions_24m"] == 3 and gap["days_since_last_purchase"] == 131
    assert loyalty["GAPN"]["median_gap_days"] is None  # 2 occasions < 3
    assert loyalty["GAPN"]["days_since_last_purchase"] == 150
    assert loyalty["GAPM"]["median_gap_days"] == 10.0  # 50 days: > 2 x 10 but not > 60
    assert loyalty["GAPX"]["median_gap_days"] == 50.0  # 70 days: > 60 but not > 2 x 50
    assert loyalty["MUL"]["median_gap_days"] == 31.0  # 122, 31, 31


def test_secure_needs_two_lines_two_occasions_and_growth_or_referral(loyalty):
    sec, secr, cmp_, cmp2 = loyalty["SEC"], loyalty["SECR"], loyalty["CMP"], loyalty["CMP2"]
    assert (sec["product_lines_12m"], sec["purchase_occasions_12m"]) == (2, 2)
    assert float(sec["revenue_12m"]) == float(sec["revenue_prev_12m"]) == 1000  # not below
    assert (secr["referrals_12m"], secr["referrals_converted_12m"]) == (3, 1)
    assert (cmp_["referrals_12m"], float(cmp_["revenue_12m"])) == (0, 600)
    assert (cmp2["product_lines_12m"], cmp2["purchase_occasions_12m"]) == (2, 1)
    assert loyalty["CMP1"]["product_lines_12m"] == 1 and loyalty["CMP1"]["repurchased"]


def test_credit_notes_only(loyalty):
    crn = loyalty["CRN"]
    assert float(crn["revenue_12m"]) == -200
    assert crn["purchase_occasions_12m"] == 0 and crn["product_lines_total"] == 0
    assert crn["last_purchase_date"] is None and crn["days_since_last_purchase"] is None
    assert crn["second_product_date"] is None and not crn["retained"]


def test_product_penetration_dates(loyalty):
    pen = loyalty["PEN"]
    assert float(pen["revenue_12m"]) == 850  # 400 - 50 + 500; E after D is ignored
    assert (pen["product_lines_12m"], pen["product_lines_total"]) == (2, 3)  # B, C; A, B, C
    assert pen["second_product_date"] == D("2023-08-01")
    assert pen["third_product_date"] == AS_OF  # the third line arrives exactly on D
    assert pen["days_since_last_purchase"] == 0
    assert loyalty["SEC"]["second_product_date"] == D("2024-05-01")
    assert loyalty["SEC"]["third_product_date"] is None


def test_contacts_persons_and_margin(loyalty):
    sec = loyalty["SEC"]
    assert sec["contacts_12m"] == 4  # 2023-12-01, 2024-02-01, 2024-03-01, D 23:30
    assert sec["contact_persons_12m"] == 2  # P1, P2 (P3 before the window; null not a person)
    assert float(sec["margin_12m"]) == 250 and float(sec["margin_prev_12m"]) == 200
    assert loyalty["REC"]["margin_12m"] is None  # no margin recorded
    assert sec["repurchased"] and sec["retained"]
    assert sec["share_of_potential"] is None  # unknown employees: no potential


def test_defection_probability_learned_from_d0(loyalty, book):
    for cid, row in loyalty.items():
        assert row["defection_probability"] == pytest.approx(PROBABILITY[row["segment"]]), cid
    rates = {r["segment"]: r for r in query(book, "SELECT * FROM intermediate.int_defection_rates")}
    got = {s: (r["history_customers"], r["defected_customers"]) for s, r in rates.items()}
    assert got == {"Complacent": (9, 2), "At-risk": (1, 1), "Secure": (0, 0), "Defector": (0, 0)}
    assert loyalty["REC"]["expected_loss"] == pytest.approx(2000 * 8 / 21)
    assert loyalty["DEF"]["expected_loss"] is None


def test_loyalty_summary(book):
    (row,) = query(book, "SELECT * FROM marts.loyalty_summary")
    assert (row["customers"], row["active_customers"]) == (21, 17)
    assert (row["secure_customers"], row["complacent_customers"], row["at_risk_customers"],
            row["defector_customers"]) == (3, 9, 5, 4)  # fmt: skip
    # prior-window revenue > 0: DEF 1000, DEC 1000, DEC0 1000, SEC 1000, SECR 800, CMP 800,
    # PEN 300, ARX 100, NEG 500, MUL 1000 = 7,500; retained: DEC, DEC0, SEC, SECR, CMP, PEN, MUL
    assert (row["prior_window_customers"], row["retained_customers"]) == (10, 7)
    assert row["retention_rate"] == pytest.approx(0.7)
    # current: 0 + 699.99 + 700 + 1000 + 600 + 600 + 850 + 0 - 100 + 300 = 4,649.99
    assert row["net_revenue_retention"] == pytest.approx(4649.99 / 7500)
    # capped at the prior and floored at 0: PEN 850 -> 300, NEG -100 -> 0: 4,199.99
    assert row["gross_revenue_retention"] == pytest.approx(4199.99 / 7500)
    assert float(row["retained_cohort_revenue_prev_12m"]) == 7500
    # >= 2 occasions: DIS, GAP, MUL, SEC, SECR, PEN, GAPN, GAPM, GAPX, CMP, CMP1 = 11 of 17 active
    assert row["repurchased_customers"] == 11
    assert row["repurchase_rate"] == pytest.approx(11 / 17)
    # >= 2 lines in the window: SEC, SECR, CMP, PEN, CMP2; none with 3
    assert row["share_2plus_product_lines"] == pytest.approx(5 / 17)
    assert row["share_3plus_product_lines"] == 0
    assert (row["second_product_purchases_12m"], row["third_product_purchases_12m"]) == (5, 1)
    assert (row["referrals_12m"], row["referrals_converted_12m"],
            row["referring_customers_12m"]) == (3, 1, 1)  # fmt: skip


AT_RISK_REVENUE = {"REC": 2000, "DEC": 699.99, "DIS": 1500, "GAP": 300, "MUL": 300}
ACTIVE_REVENUE = AT_RISK_REVENUE | {
    "SEC": 1000, "SECR": 600, "PEN": 850, "DEC0": 700, "DIS1": 200, "GAPN": 200, "GAPM": 300,
    "GAPX": 300, "CMP": 600, "CMP1": 300, "CMP2": 200, "NEW": 100,
}  # fmt: skip


def _expected_loss(ids) -> float:
    return sum(ACTIVE_REVENUE[c] * PROBABILITY[SEGMENTS[c]] for c in ids)


def test_at_risk_exposure(book):
    rows = query(book, "SELECT * FROM marts.at_risk_exposure")
    got = {(r["dimension"], r["dimension_value"]): r for r in rows}
    assert set(got) == {
        ("overall", "all"), ("grade", "C"), ("grade", "D"), ("manager", "m1"),
        ("manager", "m2"), ("manager", "unassigned"), ("customer_type", "mfg"),
        ("region", "north"), ("region", "unknown"),
    }  # fmt: skip
    overall = got[("overall", "all")]
    assert (overall["customers"], overall["active_customers"], overall["at_risk_customers"]) == (21, 17, 5)
    assert overall["at_risk_share"] == pytest.approx(5 / 17)
    assert float(overall["at_risk_revenue"]) == pytest.approx(4799.99)
    assert overall["average_at_risk_revenue"] == pytest.approx(4799.99 / 5)
    assert overall["expected_loss"] == pytest.approx(_expected_loss(ACTIVE_REVENUE))
    m1, m2 = got[("manager", "m1")], got[("manager", "m2")]
    assert float(m1["at_risk_revenue"]) == pytest.approx(4199.99)  # REC, DEC, DIS
    assert float(m2["at_risk_revenue"]) == pytest.approx(600)  # GAP, MUL
    m1_active = ["REC", "DEC", "DIS", "SEC", "SECR"]
    assert (m1["active_customers"], m1["at_risk_customers"]) == (5, 3)
    assert m1["expected_loss"] == pytest.approx(_expected_loss(m1_active))
    unassigned = got[("manager", "unassigned")]
    assert (unassigned["active_customers"], unassigned["at_risk_customers"]) == (1, 0)
    assert unassigned["at_risk_share"] == 0 and unassigned["average_at_risk_revenue"] is None
    assert float(got[("grade", "C")]["at_risk_revenue"]) == 3500  # REC, DIS
    assert float(got[("region", "unknown")]["at_risk_revenue"]) == 2000  # REC has no region


def test_early_warning_ranking(book):
    rows = query(book, "SELECT * FROM marts.early_warning ORDER BY warning_rank")
    # same probability (8/21) for every At-risk customer: ranked by revenue; GAP and MUL tie
    # on 300 and are ordered by customer_id
    assert [(r["warning_rank"], r["customer_id"]) for r in rows] == [
        (1, "REC"), (2, "DIS"), (3, "DEC"), (4, "GAP"), (5, "MUL")]  # fmt: skip
    first = rows[0]
    assert first["expected_loss"] == pytest.approx(2000 * 8 / 21)
    assert (first["manager_id"], first["manager_name"], first["grade"]) == ("m1", "Ann", "C")
    warnings = by_customer(rows)
    assert warnings["DIS"]["last_dissatisfier_contacts"] == [
        {"contact_date": D("2024-06-20"), "reason_code": "damaged_product"},
        {"contact_date": D("2024-04-02"), "reason_code": "delayed_shipment"},
        {"contact_date": D("2024-01-10"), "reason_code": "billing_error"},
    ]  # the 4th (2023-12-01) is cut, the one after D never seen
    assert warnings["DIS"]["last_dissatisfier_date"] == D("2024-06-20")
    assert warnings["DEC"]["last_dissatisfier_contacts"] == []
    assert warnings["MUL"]["risk_reasons"] == ["recency", "decline", "dissatisfier", "gap"]


def test_manager_scorecard(book):
    rows = {r["manager_id"]: r for r in query(book, "SELECT * FROM marts.manager_scorecard")}
    assert set(rows) == {"m1", "m2"}
    m1, m2 = rows["m1"], rows["m2"]
    assert (m1["accounts"], m1["accounts_c"], m1["accounts_d"]) == (7, 3, 4)
    # planned: 3 C x 12 + 4 D x 6 = 60; made by m1 to its module in the window: SEC 3 (the
    # contact by m2 and the one before the window are not), DIS 5 (07-02 is after D); m1's
    # contact to CMP (m2's customer) does not count
    assert (m1["contacts_made_12m"], m1["planned_contacts"]) == (8, 60)
    assert m1["contact_coverage"] == pytest.approx(8 / 60)
    # m2: 13 D customers (78 planned); MUL 2 + DIS1 3 contacts by m2; DEF's are not its module
    assert (m2["contacts_made_12m"], m2["planned_contacts"]) == (5, 78)
    assert m2["contact_coverage"] == pytest.approx(5 / 78)
    assert m1["module_contacts_12m"] == 5 + 4 + 2  # DIS, SEC, DEF, by anyone
    # revenue: REC 2000 + DEC 699.99 + DIS 1500 + SEC 1000 + DEF 0 + CRN -200 + SECR 600
    assert float(m1["revenue_12m"]) == pytest.approx(5599.99)
    assert float(m1["revenue_prev_12m"]) == 3800  # DEC, SEC, DEF 1000 each, SECR 800
    assert float(m1["revenue_change"]) == pytest.approx(1799.99)
    assert m1["revenue_change_pct"] == pytest.approx(1799.99 / 3800)
    assert float(m1["margin_12m"]) == 250 and float(m1["margin_prev_12m"]) == 200
    assert m1["product_lines_per_customer"] == pytest.approx(7 / 7)  # 1+1+1+2+0+0+2
    assert (m1["prior_window_customers"], m1["retained_customers"]) == (4, 3)
    assert m1["retention_rate"] == pytest.approx(0.75)
    assert (m1["active_customers"], m1["at_risk_customers"]) == (5, 3)
    assert m1["at_risk_share"] == pytest.approx(0.6)
    assert float(m1["at_risk_revenue"]) == pytest.approx(4199.99)
    assert (m1["referrals_12m"], m1["referrals_converted_12m"]) == (3, 1)


def test_every_new_mart_is_described(book):
    tables = ["customer_loyalty", "loyalty_summary", "at_risk_exposure", "concentration",
              "contact_drivers", "early_warning", "manager_scorecard"]  # fmt: skip
    rows = query(
        book,
        "SELECT table_name, column_name, comment FROM duckdb_columns() "
        "WHERE schema_name = 'marts' AND table_name IN (SELECT unnest(?::varchar[]))",
        [tables],
    )
    assert {r["table_name"] for r in rows} == set(tables)
    assert [(r["table_name"], r["column_name"]) for r in rows if not r["comment"]] == []


# ---------------------------------------------------------------------------------------------
# scenario "drivers": k01..k40 buy 1,000 on 2023-03-01 (Complacent at D0: the population).
# At D: k01..k10 buy nothing (Defectors), k11..k15 buy 100 (decline: At-risk), k16..k40 buy
# 1,000 (Complacent). Outcome share overall 15 / 40 = 0.375.
# Contacts in D0's window (2022-06-30, 2023-06-30]:
#   delayed_shipment  k01..k20 (k16 twice)       20 customers, 15 bad -> 0.75  -> lift 2
#   technical_support k21..k40 (by email)        20 customers, 0 bad  -> 0     -> lift 0
#   billing_error     k01..k05                    5 customers, 5 bad  -> 1     -> lift 8/3, < 20
#   order_inquiry     k01..k08, k21..k32         20 customers, 8 bad  -> 0.4   -> lift 16/15
#   account_review    k01..k32                   32 customers, 15 bad -> 15/32 -> lift 1.25
#   product_knowledge k01..k06, k21..k34         20 customers, 6 bad  -> 0.3   -> lift 0.8
#   medium phone: k01..k34 (34, 15 bad) -> lift (15/34) / 0.375 = 20/17; email k21..k40 -> 0
# Outside: k21 delayed_shipment on 2023-07-01 (after D0), k22 on 2022-06-30 (the exclusive
# start), z01 (a Defector at D0) on 2023-01-01.
# Concentration at D over the active customers: big1 64,500, big2 10,000 (exactly 10%),
# k16..k40 1,000 each, k11..k15 100 each, neg -200 (counted as 0): total 100,000, 33 customers.

K = [f"k{i:02d}" for i in range(1, 41)]


def ks(first: int, last: int) -> list[str]:
    return K[first - 1 : last]


DRIVER_CONTACTS = (
    [contact(c, "2023-01-15", "delayed_shipment") for c in ks(1, 20)]
    + [contact("k16", "2023-02-15", "delayed_shipment")]
    + [contact(c, "2023-01-15", "technical_support", medium="email") for c in ks(21, 40)]
    + [contact(c, "2023-01-16", "billing_error") for c in ks(1, 5)]
    + [contact(c, "2023-01-17", "order_inquiry") for c in ks(1, 8) + ks(21, 32)]
    + [contact(c, "2023-01-18", "account_review") for c in ks(1, 32)]
    + [contact(c, "2023-01-19", "product_knowledge") for c in ks(1, 6) + ks(21, 34)]
    + [contact("k21", "2023-07-01", "delayed_shipment"),
       contact("k22", "2022-06-30", "delayed_shipment"),
       contact("z01", "2023-01-01", "delayed_shipment")]
)  # fmt: skip

DRIVERS = {
    # (type, value): (support, bad, lift, measured label, configured label)
    ("reason_code", "delayed_shipment"): (20, 15, 2.0, "dissatisfier", "dissatisfier"),
    ("reason_code", "technical_support"): (20, 0, 0.0, "satisfier", "satisfier"),
    ("reason_code", "billing_error"): (5, 5, 8 / 3, "insufficient_support", "dissatisfier"),
    ("reason_code", "order_inquiry"): (20, 8, 16 / 15, "neutral", "neutral"),
    ("reason_code", "account_review"): (32, 15, 1.25, "dissatisfier", "neutral"),
    ("reason_code", "product_knowledge"): (20, 6, 0.8, "satisfier", "satisfier"),
    ("medium", "phone"): (34, 15, 20 / 17, "neutral", None),
    ("medium", "email"): (20, 0, 0.0, "satisfier", None),
}


@pytest.fixture(scope="module")
def drivers(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("drivers") / "warehouse.duckdb"
    sales = [(f"a-{c}", c, "2023-03-01", 1000) for c in K]
    sales += [(f"b-{c}", c, "2024-03-01", 100) for c in ks(11, 15)]
    sales += [(f"b-{c}", c, "2024-03-01", 1000) for c in ks(16, 40)]
    sales += [("z", "z01", "2022-01-01", 100), ("big1", "big1", "2024-05-01", 64500),
              ("big2", "big2", "2024-05-01", 10000), ("neg1", "neg", "2024-05-01", 100),
              ("neg2", "neg", "2024-05-02", -300),
              ("late", "k16", "2024-07-01", 5000)]  # after D  # fmt: skip
    with raw_warehouse(path) as con:
        ids = [*K, "z01", "big1", "big2", "neg"]
        insert_rows(con, "raw.customers", [customer(c) for c in ids])
        insert_rows(con, "raw.revenue", [
            {"transaction_id": t, "customer_id": c, "transaction_date": D(d), "product_line": "A",
             "amount": a}
            for t, c, d, a in sales
        ])  # fmt: skip
        insert_rows(con, "raw.contacts", DRIVER_CONTACTS)
    run_dbt(path, vars=MONTH)
    return path


def test_contact_driver_lifts_labels_and_support(drivers):
    rows = query(drivers, "SELECT * FROM marts.contact_drivers")
    got = {(r["driver_type"], r["driver_value"]): r for r in rows}
    assert set(got) == set(DRIVERS)
    for key, (support, bad, lift, label, configured) in DRIVERS.items():
        row = got[key]
        assert (row["customers_with_contact"], row["at_risk_with_contact"]) == (support, bad), key
        assert row["at_risk_share_with_contact"] == pytest.approx(bad / support), key
        assert (row["population_customers"], row["population_at_risk"]) == (40, 15), key
        assert row["at_risk_share_overall"] == pytest.approx(0.375), key
        assert row["lift"] == pytest.approx(lift), key
        assert (row["measured_label"], row["configured_label"]) == (label, configured), key
        assert row["meets_min_support"] == (support >= 20), key
        assert (row["history_date"], row["driver_window_start"]) == (D("2023-06-30"), D("2022-06-30"))


def test_drivers_scenario_defection_rate(drivers):
    rows = by_customer(query(drivers, "SELECT * FROM marts.customer_loyalty"))
    # 40 Complacent at D0, 10 of them Defectors at D: (10 + 20 x 0.10) / (40 + 20) = 0.2
    assert rows["k20"]["segment"] == "Complacent"
    assert rows["k20"]["defection_probability"] == pytest.approx(0.2)
    assert rows["k11"]["risk_reasons"] == ["decline"]
    assert rows["k11"]["defection_probability"] == pytest.approx(0.35)  # no At-risk history
    assert rows["k01"]["segment"] == "Defector" and rows["z01"]["segment"] == "Defector"
    # no assignment at all: every customer counts under manager 'unassigned'
    exposure = query(
        drivers,
        "SELECT dimension_value, active_customers FROM marts.at_risk_exposure WHERE dimension = 'manager'",
    )
    assert exposure == [{"dimension_value": "unassigned", "active_customers": 33}]
    ranks = query(drivers, "SELECT customer_id, warning_rank, manager_id FROM marts.early_warning "
                           "ORDER BY warning_rank")  # fmt: skip
    # equal expected loss (100 x 0.35) and revenue: by customer_id
    assert ranks == [{"customer_id": c, "warning_rank": i, "manager_id": None}
                     for i, c in enumerate(ks(11, 15), start=1)]  # fmt: skip


def test_concentration(drivers):
    (row,) = query(drivers, "SELECT * FROM marts.concentration")
    assert row["active_customers"] == 33 and float(row["total_revenue"]) == 100000
    assert row["largest_customer_id"] == "big1"
    assert row["top_1_share"] == pytest.approx(0.645)
    assert row["top_5_share"] == pytest.approx(0.645 + 0.10 + 3 * 0.01)
    assert row["top_10_share"] == pytest.approx(0.645 + 0.10 + 8 * 0.01)
    assert row["top_20pct_customers"] == 7  # ceil(0.2 x 33)
    assert row["top_20pct_share"] == pytest.approx(0.645 + 0.10 + 5 * 0.01)
    # HHI = 64.5² + 10² + 25 x 1² + 5 x 0.1² + 0² = 4,160.25 + 100 + 25 + 0.05 = 4,285.3
    assert row["hhi"] == pytest.approx(4285.3)
    assert row["effective_customers"] == pytest.approx(10000 / 4285.3)
    # big2 holds exactly 10%: included
    assert (row["customers_10pct_plus"], row["customers_10pct_plus_ids"]) == (2, ["big1", "big2"])


def test_last_purchase_before_both_windows(tmp_path):
    # int_customer_purchases takes the last purchase from the windows (G - 24 months, G] when
    # there is one there, and looks further back only for the others: OLD bought once, before
    # both windows of D and of D0; OLDC also has a credit note in the windows (a revenue day, not a
    # purchase); NOW bought in the window, after an older purchase
    path = tmp_path / "warehouse.duckdb"
    sales = [("OLD", "2021-03-01", 500), ("OLDC", "2021-05-10", 300), ("OLDC", "2024-02-01", -50),
             ("NOW", "2020-01-01", 100), ("NOW", "2024-06-20", 100)]  # fmt: skip
    with raw_warehouse(path) as con:
        insert_rows(con, "raw.customers", [customer(c) for c in ("OLD", "OLDC", "NOW")])
        insert_rows(con, "raw.revenue", [
            {"transaction_id": f"t{i}", "customer_id": cid, "transaction_date": D(day),
             "product_line": "A", "amount": amount, "margin": None}
            for i, (cid, day, amount) in enumerate(sales)
        ])  # fmt: skip
    run_dbt(path, vars=MONTH, select="+int_customer_purchases")
    rows = query(path, "SELECT grading_date, customer_id, last_purchase_date, days_since_last_purchase "
                       "FROM intermediate.int_customer_purchases")  # fmt: skip
    got = {(r["grading_date"], r["customer_id"]): (r["last_purchase_date"], r["days_since_last_purchase"])
           for r in rows}  # fmt: skip
    d, d0 = D("2024-06-20"), D("2023-06-20")  # D: the latest transaction, NOW's
    assert got == {
        (d, "OLD"): (D("2021-03-01"), (d - D("2021-03-01")).days),
        (d, "OLDC"): (D("2021-05-10"), (d - D("2021-05-10")).days),
        (d, "NOW"): (D("2024-06-20"), 0),
        (d0, "OLD"): (D("2021-03-01"), (d0 - D("2021-03-01")).days),
        (d0, "OLDC"): (D("2021-05-10"), (d0 - D("2021-05-10")).days),
        (d0, "NOW"): (D("2020-01-01"), (d0 - D("2020-01-01")).days),
    }
