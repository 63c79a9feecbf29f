"""The HTML report of a publication: its queries, the worth-matrix grid, and a page that needs no
network. A tiny publication is built by hand with only the columns the report reads."""

import hashlib
import json
import re

import duckdb
import pytest
from plotly.offline import get_plotlyjs

from pipelines.core import paths
from pipelines.core.vocabulary import CLASSES, DRIVER_LABELS, GRADES, IMPACT_POPULATIONS, RISK_REASONS
from pipelines.report import build as report_build
from pipelines.report.build import (
    CHART_IDS,
    FIGURE_IDS,
    NO_DATA,
    build_report,
    contact_driver_lifts,
    contact_drivers_figure,
    cumulative_revenue_curve,
    driver_bands,
    early_warning_calls,
    grade_level,
    grade_mix,
    segment_history,
    worth_matrix_cells,
    worth_matrix_grid,
)

PREVIOUS, LATEST = "2026-09-30", "2026-10-31"
# The method's default grade map: worth cell (actual class x 10 + incremental class) -> grade.
GRADE_OF_CELL = {
    **dict.fromkeys((55, 54, 53, 52), "AA"),
    **dict.fromkeys((51, 45, 44, 43, 42), "A"),
    **dict.fromkeys((41, 35, 34, 33, 32, 31), "B"),
    **dict.fromkeys((25, 24, 23, 22, 21), "C"),
    **dict.fromkeys((15, 14, 13, 12, 11), "D"),
}
CONFIG = {"revenue_window_months": 12, "contact_drivers": {"dissatisfier_lift": 1.5, "satisfier_lift": 0.7}}
# Every published table the report reads, so a test can empty them all.
DATA_TABLES = (
    "customer_worth",
    "modules",
    "worth_matrix",
    "module_assignments",
    "customer_loyalty",
    "at_risk_exposure",
    "impact_study",
    "concentration",
    "contact_drivers",
    "manager_scorecard",
    "early_warning",
)

SCHEMA = f"""
CREATE SCHEMA latest;
CREATE SCHEMA audit;
CREATE TABLE publications (publication_id BIGINT, published_at TIMESTAMP, latest_as_of_date DATE,
    as_of_dates DATE[], config VARCHAR);
INSERT INTO publications VALUES
    (7, TIMESTAMP '2026-11-02 06:30:00', DATE '{LATEST}', [DATE '{PREVIOUS}', DATE '{LATEST}'],
     '{json.dumps(CONFIG)}');
CREATE TABLE audit.data_issues (dataset VARCHAR);
CREATE TABLE audit.quarantine (dataset VARCHAR);
CREATE TABLE audit.held_rows (dataset VARCHAR);
INSERT INTO audit.data_issues VALUES ('customers'), ('customers');

CREATE TABLE customer_worth (as_of_date DATE, customer_id VARCHAR);
INSERT INTO customer_worth SELECT DATE '{LATEST}', 'C' || i FROM range(6) t(i);
INSERT INTO customer_worth SELECT DATE '{PREVIOUS}', 'C' || i FROM range(4) t(i);
CREATE TABLE modules (as_of_date DATE, manager_id VARCHAR);
INSERT INTO modules VALUES (DATE '{LATEST}', 'M1'), (DATE '{LATEST}', 'M2'), (DATE '{PREVIOUS}', 'M1');

CREATE TABLE worth_matrix (as_of_date DATE, actual_class INTEGER, incremental_class INTEGER,
    grade VARCHAR, customers BIGINT, actual_revenue DECIMAL(18, 2), incremental_revenue DOUBLE);

CREATE TABLE module_assignments (as_of_date DATE, customer_id VARCHAR, manager_id VARCHAR,
    manager_name VARCHAR, grade VARCHAR);
INSERT INTO module_assignments VALUES
    (DATE '{LATEST}', 'C0', 'M1', 'Ada', 'AA'), (DATE '{LATEST}', 'C1', 'M1', 'Ada', 'D'),
    (DATE '{LATEST}', 'C2', 'M1', 'Ada', 'D'), (DATE '{LATEST}', 'C3', 'M2', 'Bo', 'B'),
    (DATE '{PREVIOUS}', 'C0', 'M2', 'Bo', 'AA');

CREATE TABLE customer_loyalty (as_of_date DATE, customer_id VARCHAR, segment VARCHAR,
    revenue_12m DECIMAL(18, 2));
INSERT INTO customer_loyalty VALUES
    (DATE '{LATEST}', 'C0', 'Secure', 60), (DATE '{LATEST}', 'C1', 'Complacent', 30),
    (DATE '{LATEST}', 'C2', 'At-risk', 10), (DATE '{LATEST}', 'C3', 'At-risk', -5),
    (DATE '{LATEST}', 'C4', 'Defector', 100),
    (DATE '{PREVIOUS}', 'C0', 'Secure', 50), (DATE '{PREVIOUS}', 'C1', 'Secure', 40);

CREATE TABLE at_risk_exposure (as_of_date DATE, dimension VARCHAR, dimension_value VARCHAR,
    at_risk_customers BIGINT, at_risk_revenue DECIMAL(18, 2), expected_loss DOUBLE);
INSERT INTO at_risk_exposure VALUES
    (DATE '{PREVIOUS}', 'overall', 'all', 0, 0, 0), (DATE '{LATEST}', 'overall', 'all', 2, 5, 1.5),
    (DATE '{LATEST}', 'grade', 'B', 1, 0, 0);

CREATE TABLE impact_study (as_of_date DATE, population VARCHAR, baseline_date DATE,
    at_risk_share DOUBLE, expected_loss DOUBLE);
INSERT INTO impact_study VALUES
    (DATE '{PREVIOUS}', 'all', DATE '{PREVIOUS}', 0.2, 10),
    (DATE '{LATEST}', 'all', DATE '{PREVIOUS}', 0.3, 12),
    (DATE '{PREVIOUS}', 'cohort', DATE '{PREVIOUS}', 0.2, 10),
    (DATE '{LATEST}', 'cohort', DATE '{PREVIOUS}', 0.25, 11);

CREATE TABLE concentration (as_of_date DATE, active_customers BIGINT, top_1_share DOUBLE,
    top_5_share DOUBLE, top_10_share DOUBLE, top_20pct_customers BIGINT, top_20pct_share DOUBLE);
INSERT INTO concentration VALUES (DATE '{LATEST}', 4, 0.6, 1.0, 1.0, 1, 0.6);

CREATE TABLE contact_drivers (as_of_date DATE, driver_type VARCHAR, driver_value VARCHAR, lift DOUBLE,
    measured_label VARCHAR, customers_with_contact BIGINT);
INSERT INTO contact_drivers VALUES
    (DATE '{LATEST}', 'reason_code', 'billing_error', 2.4, 'dissatisfier', 80),
    (DATE '{LATEST}', 'reason_code', 'customer_service', 0.6, 'satisfier', 300),
    (DATE '{LATEST}', 'reason_code', 'quote_request', NULL, 'insufficient_support', 3),
    (DATE '{LATEST}', 'medium', 'email', 1.0, 'neutral', 900);

CREATE TABLE manager_scorecard (as_of_date DATE, manager_id VARCHAR, manager_name VARCHAR,
    accounts BIGINT, {", ".join(f"accounts_{g.lower()} BIGINT" for g in GRADES)},
    revenue_12m DECIMAL(18, 2), revenue_change_pct DOUBLE, contact_coverage DOUBLE,
    retention_rate DOUBLE, at_risk_customers BIGINT, at_risk_revenue DECIMAL(18, 2), expected_loss DOUBLE);
INSERT INTO manager_scorecard VALUES
    (DATE '{LATEST}', 'M1', 'Ada', 3, 1, 0, 0, 0, 2, 100, 0.25, 0.5, 0.9, 1, 10, 1.5),
    (DATE '{LATEST}', 'M2', 'Bo', 1, 0, 0, 1, 0, 0, 0, NULL, NULL, NULL, 1, 0, 0);

CREATE TABLE early_warning (as_of_date DATE, warning_rank BIGINT, customer_id VARCHAR,
    customer_name VARCHAR, manager_id VARCHAR, manager_name VARCHAR, grade VARCHAR,
    expected_loss DOUBLE, revenue_12m DECIMAL(18, 2), risk_reasons VARCHAR[],
    last_dissatisfier_contacts STRUCT(contact_date DATE, reason_code VARCHAR)[]);
INSERT INTO early_warning VALUES
    (DATE '{LATEST}', 1, 'C2', '<script>alert(1)</script> & Co', 'M1', 'Ada', 'D', 3.0, 10,
     ['decline', 'dissatisfier'], [{{'contact_date': DATE '2026-10-20', 'reason_code': 'billing_error'}}]),
    (DATE '{LATEST}', 2, 'C5', 'Second Ltd', 'M1', 'Ada', 'D', 2.0, 8, ['recency'], []),
    (DATE '{LATEST}', 3, 'C6', 'Third Ltd', 'M1', 'Ada', 'C', 1.0, 5, ['gap'], []),
    (DATE '{LATEST}', 4, 'C7', 'Orphan Ltd', NULL, NULL, 'C', 0.5, 4, ['decline'], []),
    (DATE '{LATEST}', 5, 'C3', 'Bo Customer', 'M2', 'Bo', 'B', 0.2, 0, ['recency'], []),
    (DATE '{PREVIOUS}', 1, 'C9', 'Old Ltd', 'M2', 'Bo', 'B', 9.0, 90, ['recency'], []);
"""


def _worth_matrix_rows(as_of_date: str, customers_offset: int) -> str:
    return ", ".join(
        f"(DATE '{as_of_date}', {a}, {i}, '{GRADE_OF_CELL[a * 10 + i]}', {a * 10 + i + customers_offset}, "
        f"{a * 1000}, {i * 500.0})"
        for a in CLASSES
        for i in CLASSES
    )


def make_publication(path, empty_tables=()):
    con = duckdb.connect(str(path))
    con.execute(SCHEMA)
    con.execute(f"INSERT INTO worth_matrix VALUES {_worth_matrix_rows(LATEST, 0)}")
    con.execute(f"INSERT INTO worth_matrix VALUES {_worth_matrix_rows(PREVIOUS, 1000)}")
    for table in empty_tables:
        con.execute(f"DELETE FROM main.{table}")
    for table in DATA_TABLES:  # the latest views, as the publication defines them
        con.execute(
            f"CREATE VIEW latest.{table} AS SELECT * FROM main.{table} "
            f"WHERE as_of_date = (SELECT max(as_of_date) FROM main.{table})"
        )
    con.close()
    return path


@pytest.fixture
def published(tmp_path):
    return make_publication(tmp_path / "accounts.duckdb")


@pytest.fixture
def con(published):
    connection = duckdb.connect(str(published), read_only=True)
    yield connection
    connection.close()


def _section(page: str, section_id: str) -> str:
    """The HTML of one section of the page."""
    match = re.search(rf'<section class="chart" id="{section_id}">(.*?)</section>', page, re.S)
    assert match, f"section {section_id} missing"
    return match.group(1)


def test_the_worth_matrix_grid_has_25_cells_each_with_its_grade(con):
    cells = worth_matrix_cells(con)
    assert len(cells) == 25  # the latest snapshot only
    z, text = worth_matrix_grid(cells)
    assert [len(row) for row in text] == [5] * 5
    for a in CLASSES:
        for i in CLASSES:
            grade = GRADE_OF_CELL[a * 10 + i]
            # rows are actual classes from 1 (bottom), columns incremental classes from 1 (left)
            assert text[a - 1][i - 1].startswith(f"<b>{grade}</b><br>{a * 10 + i} customers<br>")
            assert z[a - 1][i - 1] == grade_level(grade)
    assert text[4][4].endswith("5.0k")  # actual revenue 5,000 in short form
    assert grade_level("AA") == len(GRADES) - 1 and grade_level("D") == 0  # best grade on top


def test_the_cumulative_revenue_curve_counts_active_customers_floored_at_zero(con):
    # active customers 60, 30, 10 and -5 (counts as 0); the Defector's 100 is left out
    curve = cumulative_revenue_curve(con)
    assert list(zip(curve["customer_share"], curve["revenue_share"], strict=True)) == [
        (0.25, 0.6),
        (0.5, 0.9),
        (0.75, 1.0),
        (1.0, 1.0),
    ]
    # fewer points than customers: each point is the end of its step
    coarse = cumulative_revenue_curve(con, points=2)
    assert list(zip(coarse["customer_share"], coarse["revenue_share"], strict=True)) == [
        (0.5, 0.9),
        (1.0, 1.0),
    ]


def test_history_queries_read_every_month_and_latest_queries_the_latest_only(con):
    history = segment_history(con)
    assert sorted(history["as_of_date"].astype(str).unique()) == [PREVIOUS, LATEST]
    latest = history[history["as_of_date"].astype(str) == LATEST]
    assert dict(zip(latest["segment"], latest["customers"], strict=True)) == {
        "Secure": 1,
        "Complacent": 1,
        "At-risk": 2,
        "Defector": 1,
    }
    mix = grade_mix(con)
    assert sorted(zip(mix["manager"], mix["grade"], mix["customers"], strict=True)) == [
        ("Ada", "AA", 1),
        ("Ada", "D", 2),
        ("Bo", "B", 1),
    ]


def test_the_call_list_keeps_the_first_customers_of_each_manager(con):
    calls = early_warning_calls(con, per_manager=2)
    assert list(zip(calls["manager"], calls["warning_rank"], calls["manager_customers"], strict=True)) == [
        ("Ada", 1, 3),
        ("Ada", 2, 3),
        ("Bo", 5, 1),
        ("No manager assigned", 4, 1),  # customers without a manager come last
    ]


def test_contact_driver_bands_come_from_the_config_else_the_method_defaults(con):
    assert driver_bands(CONFIG) == (1.5, 0.7)
    assert driver_bands({}) == (1.25, 0.80)
    drivers = contact_driver_lifts(con)
    assert list(drivers["reason"]) == ["billing_error", "customer_service"]  # reasons with a lift only
    figure = contact_drivers_figure(drivers, driver_bands(CONFIG))
    lines = {shape.y0 for shape in figure.layout.shapes if shape.type == "line"}
    assert lines == {1.5, 1.0, 0.7}


def test_the_report_is_one_self_contained_page(published):
    before = hashlib.sha256(published.read_bytes()).hexdigest()
    report = build_report(published)
    assert report == paths.report_path_for(published) == published.with_name(paths.REPORT_FILE)
    assert hashlib.sha256(published.read_bytes()).hexdigest() == before  # read, never written
    assert [p.name for p in published.parent.iterdir() if p.name.endswith(".tmp")] == []
    page = report.read_text(encoding="utf-8")

    assert page.count("* plotly.js v") == 1  # plotly.js inlined exactly once
    assert not re.search(
        r"""<(script|link|img|iframe)[^>]*\s(src|href)\s*=\s*["']?(https?:)?//""", page, re.I
    )
    assert not re.search(r"@import|url\(\s*[\"']?(https?:)?//", page, re.I)
    # Outside plotly.js (whose code names map-tile servers it never calls here) no address at all.
    assert not re.search(r"https?://", page.replace(get_plotlyjs(), ""))
    for section_id in CHART_IDS:
        assert page.count(f'<section class="chart" id="{section_id}">') == 1
    for section_id in FIGURE_IDS:
        assert f'id="{section_id}-figure"' in _section(page, section_id)

    assert "<h1>Account management report</h1>" in page
    assert '<dd id="publication-id">7</dd>' in page
    assert '<dd id="as-of-date">31 Oct 2026</dd>' in page
    assert '<dd id="published-at">2 Nov 2026 06:30 UTC</dd>' in page
    assert '<span class="value">6</span><span class="label">customers graded</span>' in page
    assert '<span class="value">2</span><span class="label">account managers</span>' in page
    for jargon in ("SPEC", "§", "D0"):
        assert jargon not in re.sub(r"<script.*?</script>", "", page, flags=re.S)


def test_table_text_is_escaped_and_long_call_lists_are_cut(published, monkeypatch):
    monkeypatch.setattr(report_build, "EARLY_WARNING_ROWS_PER_MANAGER", 2)
    page = build_report(published).read_text(encoding="utf-8")
    calls = _section(page, "early-warning")
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co" in calls
    assert "<script>alert(1)</script>" not in page
    assert "buying less, recent complaints" in calls and "billing error, 20 Oct 2026" in calls
    assert calls.count("more on the list") == 1  # only Ada has more than 2 customers to call
    assert re.search(r"Ada: 3 at-risk customers, expected loss 6</h3>.*?and 1 more on the list", calls, re.S)
    scorecard = _section(page, "manager-scorecard")
    assert re.search(
        r"<td[^>]*>Ada</td>(<td[^>]*>[^<]*</td>){6}<td[^>]*>100</td><td[^>]*>\+25%</td>", scorecard
    )


def test_an_empty_table_gives_a_note_not_a_failure(tmp_path):
    published = make_publication(tmp_path / "accounts.duckdb", empty_tables=DATA_TABLES)
    page = build_report(published, tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for section_id in CHART_IDS:
        section = _section(page, section_id)
        assert "No data for this publication" in section
        assert "-figure" not in section
    assert page.count("* plotly.js v") == 1


def test_only_the_impact_study_empty_leaves_every_other_chart_drawn(tmp_path):
    published = make_publication(tmp_path / "accounts.duckdb", empty_tables=["impact_study"])
    page = build_report(published).read_text(encoding="utf-8")
    assert NO_DATA.rstrip(".") in _section(page, "impact-study")
    drawn = [s for s in FIGURE_IDS if f'id="{s}-figure"' in _section(page, s)]
    assert drawn == [s for s in FIGURE_IDS if s != "impact-study"]


def test_every_code_of_the_method_has_plain_words():
    assert set(report_build.RISK_REASON_NAMES) == set(RISK_REASONS)
    assert (
        set(report_build.DRIVER_LABEL_NAMES) == set(report_build.DRIVER_LABEL_COLOURS) == set(DRIVER_LABELS)
    )
    assert set(report_build.POPULATION_NAMES) == set(IMPACT_POPULATIONS)


def test_a_missing_file_is_an_error_not_an_empty_database(tmp_path):
    with pytest.raises(FileNotFoundError):
        build_report(tmp_path / "missing.duckdb")
    assert not (tmp_path / "missing.duckdb").exists()
