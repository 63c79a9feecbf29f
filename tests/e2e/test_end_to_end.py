"""The nightly job end to end on the bundled sample: real ingestion, real dbt, real Dagster
materialisations, a real published DuckDB file (SPEC §12, §13)."""

import json

import duckdb
import pytest
from conftest import SAMPLE_LANDING

from pipelines.cli import main
from pipelines.publication.summary import summary

pytestmark = pytest.mark.e2e

ISSUE_TABLES = {
    "customer_worth", "best_in_class", "worth_matrix", "incremental_class_bands",
    "contact_economics", "contact_economics_by_grade", "module_assignments", "modules",
}  # fmt: skip
# SPEC §7-§11 (loyalty, revenue at risk, concentration, contact drivers, early warning, scorecard)
LOYALTY_TABLES = {
    "customer_loyalty", "loyalty_summary", "at_risk_exposure", "concentration",
    "contact_drivers", "early_warning", "manager_scorecard",
}  # fmt: skip
DISSATISFIER_CODES = {
    "delayed_shipment", "damaged_product", "lack_of_follow_up", "pricing_complaint",
    "product_unavailable", "billing_error", "service_complaint", "no_rep_contact",
}  # fmt: skip


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """Run `accounts run` twice on the sample; return the published file and both snapshots."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
        assert main(["run"]) == 0
        first = _snapshot(warehouse / "accounts.duckdb")
        assert main(["run"]) == 0  # same inputs again
    return warehouse / "accounts.duckdb", first


def _snapshot(path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = ISSUE_TABLES | LOYALTY_TABLES
        return {t: con.execute(f"SELECT * FROM main.{t} ORDER BY ALL").fetchall() for t in tables}
    finally:
        con.close()


@pytest.fixture
def con(published):
    connection = duckdb.connect(str(published[0]), read_only=True)
    yield connection
    connection.close()


def test_every_table_of_the_issue_is_published_with_rows(con):
    tables = {
        r[0]
        for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
    }
    assert ISSUE_TABLES | {"publications"} <= tables
    for table in ISSUE_TABLES:
        assert con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0] > 0, table
        assert con.execute(f"SELECT count(*) FROM latest.{table}").fetchone()[0] > 0, table


def test_every_table_and_column_is_described(con):
    undescribed_tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE comment IS NULL OR comment = ''"
    ).fetchall()
    assert undescribed_tables == []
    undescribed_columns = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE database_name = current_database() AND schema_name IN ('main', 'audit', 'latest') "
        "AND (comment IS NULL OR comment = '')"
    ).fetchall()
    assert undescribed_columns == []


def test_snapshot_is_the_latest_transaction_date(con):
    latest = con.execute("SELECT max(as_of_date) FROM customer_worth").fetchone()[0]
    assert str(latest) == "2026-10-31"  # the sample's last transaction; the month's snapshot date


def test_grades_cover_the_universe_and_the_matrix_adds_up(con):
    grades = dict(con.execute("SELECT grade, count(*) FROM latest.customer_worth GROUP BY 1").fetchall())
    assert set(grades) == {"AA", "A", "B", "C", "D"}
    universe = con.execute("SELECT count(*) FROM latest.customer_worth").fetchone()[0]
    assert con.execute("SELECT sum(customers) FROM latest.worth_matrix").fetchone()[0] == universe
    assert con.execute("SELECT count(*) FROM latest.worth_matrix").fetchone()[0] == 25
    # realised incremental-class shares sit near their 5/15/25/25/30 % targets
    bands = con.execute(
        "SELECT incremental_class, target_share, realised_share FROM latest.incremental_class_bands"
    ).fetchall()
    for cls, target, realised in bands:
        assert abs(realised - target) < 0.05, (cls, target, realised)


def test_contact_economics_follow_the_seed(con):
    per_year, cost = con.execute(
        "SELECT contacts_per_manager_year, cost_per_contact FROM latest.contact_economics"
    ).fetchone()
    assert per_year == 6390
    assert round(cost, 2) == 13.93


def test_every_graded_customer_has_one_manager_and_modules_are_balanced(con):
    graded = con.execute("SELECT count(*) FROM latest.customer_worth").fetchone()[0]
    assigned, distinct = con.execute(
        "SELECT count(*), count(DISTINCT customer_id) FROM latest.module_assignments"
    ).fetchone()
    assert assigned == distinct == graded
    # per grade and in all, any two managers' counts differ by at most one
    spreads = con.execute(
        "SELECT max(accounts) - min(accounts), max(accounts_aa) - min(accounts_aa), "
        "max(accounts_a) - min(accounts_a), max(accounts_b) - min(accounts_b), "
        "max(accounts_c) - min(accounts_c), max(accounts_d) - min(accounts_d) "
        "FROM main.modules GROUP BY as_of_date"
    ).fetchall()
    assert spreads and all(max(row) <= 1 for row in spreads)
    utilisation = con.execute("SELECT min(utilisation), max(utilisation) FROM latest.modules").fetchone()
    assert 0 < utilisation[0] <= utilisation[1]


def test_rerun_with_the_same_inputs_loads_nothing_and_gives_identical_tables(published, con):
    path, first = published
    assert _snapshot(path) == first
    statuses = con.execute("SELECT status, count(*) FROM audit.ingest_log GROUP BY 1 ORDER BY 1").fetchall()
    seen = dict(statuses)
    assert seen["loaded"] == seen["unchanged"]  # the second run found every file already loaded
    publications = con.execute(
        "SELECT publication_id, checks_passed, row_counts FROM publications ORDER BY 1"
    ).fetchall()
    assert [p[0] for p in publications] == [1, 2]
    assert "quality_expectations" in publications[-1][1] and "dbt tests" in publications[-1][1]
    assert json.loads(publications[-1][2])["customer_worth"] == len(first["customer_worth"])


def test_a_rejected_file_fails_the_run_and_keeps_the_published_file(
    tmp_path, monkeypatch, landing_copy, capsys
):
    from conftest import use_dirs

    warehouse = tmp_path / "warehouse"
    use_dirs(monkeypatch, landing_copy, warehouse)
    assert main(["run"]) == 0
    before = (warehouse / "accounts.duckdb").read_bytes()
    (landing_copy / "revenue" / "late.csv").write_text(
        "transaction_id,customer_id,transaction_date,product_line\nT-x,C000001,2026-10-01,tools\n"
    )
    assert main(["run"]) == 1
    error = capsys.readouterr().err
    assert "revenue/late.csv" in error and "amount" in error and "line 1" in error
    assert (warehouse / "accounts.duckdb").read_bytes() == before


def test_loyalty_tables_are_published_with_rows(con):
    for table in LOYALTY_TABLES:
        assert con.execute(f"SELECT count(*) FROM main.{table}").fetchone()[0] > 0, table
        assert con.execute(f"SELECT count(*) FROM latest.{table}").fetchone()[0] > 0, table


def test_sample_loyalty_segments_are_plausible(con):
    segments = dict(
        con.execute("SELECT segment, count(*) FROM latest.customer_loyalty GROUP BY 1").fetchall()
    )
    assert set(segments) == {"Secure", "Complacent", "At-risk", "Defector"}
    universe = con.execute("SELECT count(*) FROM latest.customer_worth").fetchone()[0]
    assert sum(segments.values()) == universe
    # every segment is a real share of the book, none swallows it
    assert all(0.02 * universe < n < 0.8 * universe for n in segments.values()), segments
    summary = con.execute(
        "SELECT customers, secure_customers, complacent_customers, at_risk_customers, "
        "defector_customers, retention_rate, gross_revenue_retention, net_revenue_retention "
        "FROM latest.loyalty_summary"
    ).fetchone()
    assert summary[0] == universe
    assert list(summary[1:5]) == [
        segments["Secure"],
        segments["Complacent"],
        segments["At-risk"],
        segments["Defector"],
    ]
    retention, grr, nrr = summary[5:]
    assert 0.5 < retention <= 1 and 0 < grr <= 1 and grr <= nrr
    # Defectors have probability 1; the learned At-risk rate exceeds the Secure one
    rates = dict(
        con.execute(
            "SELECT segment, any_value(defection_probability) FROM latest.customer_loyalty GROUP BY 1"
        ).fetchall()
    )
    assert rates["Defector"] == 1.0 and rates["At-risk"] > rates["Secure"]


def test_sample_dissatisfier_codes_precede_defection(con):
    rows = con.execute(
        "SELECT driver_value, lift, measured_label, configured_label, customers_with_contact "
        "FROM latest.contact_drivers WHERE driver_type = 'reason_code'"
    ).fetchall()
    measured = {code: (lift, label, configured, n) for code, lift, label, configured, n in rows}
    present = DISSATISFIER_CODES & set(measured)
    assert len(present) >= 5, measured  # the generator plants these codes
    for code in present:
        lift, label, configured, support = measured[code]
        assert configured == "dissatisfier"
        assert lift > 1, (code, lift)
        if support >= 20:
            assert label == "dissatisfier", (code, lift, support)


def test_sample_exposure_early_warning_and_scorecard_agree(con):
    overall = con.execute(
        "SELECT at_risk_customers, at_risk_revenue FROM latest.at_risk_exposure WHERE dimension = 'overall'"
    ).fetchone()
    warnings = con.execute(
        "SELECT count(*), sum(revenue_12m), min(warning_rank), max(warning_rank), "
        "count(manager_id) FROM latest.early_warning"
    ).fetchone()
    assert warnings[0] == overall[0] and warnings[1] == overall[1]
    assert (warnings[2], warnings[3], warnings[4]) == (1, warnings[0], warnings[0])
    first = con.execute("SELECT expected_loss FROM latest.early_warning ORDER BY warning_rank").fetchall()
    assert [r[0] for r in first] == sorted((r[0] for r in first), reverse=True)
    scorecard = con.execute(
        "SELECT sum(accounts), sum(at_risk_customers), min(contact_coverage) FROM latest.manager_scorecard"
    ).fetchone()
    universe = con.execute("SELECT count(*) FROM latest.customer_worth").fetchone()[0]
    assert scorecard[0] == universe and scorecard[1] == overall[0] and scorecard[2] > 0
    concentration = con.execute(
        "SELECT top_1_share, top_5_share, top_10_share, top_20pct_share, hhi, effective_customers "
        "FROM latest.concentration"
    ).fetchone()
    top1, top5, top10, top20pct, hhi, effective = concentration
    assert 0 < top1 <= top5 <= top10 <= 1 and 0 < top20pct <= 1
    assert effective == pytest.approx(10000 / hhi)


def test_impact_study_is_published_empty_without_a_programme_start(con):
    # SPEC §2: the study is empty until a programme start date is configured
    assert con.execute("SELECT count(*) FROM main.impact_study").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM latest.impact_study").fetchone()[0] == 0
    described = con.execute(
        "SELECT comment FROM duckdb_tables() WHERE schema_name = 'main' AND table_name = 'impact_study'"
    ).fetchone()[0]
    assert "impact study" in described.lower()


def test_the_run_summary_reports_grades_managers_and_loyalty(published, con):
    text = summary(published[0])
    segments = con.execute("SELECT segment, count(*) FROM latest.customer_loyalty GROUP BY 1").fetchall()
    assert all(f"{segment} {n}" in text for segment, n in segments), text
    grades = con.execute("SELECT grade, count(*) FROM latest.customer_worth GROUP BY 1").fetchall()
    assert all(f"{grade} {n}," in text or f"{grade} {n})" in text for grade, n in grades), text
    (tables,) = con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main'").fetchone()
    assert f"(publication 2, {tables} tables)" in text and "12 account managers" in text
