"""The nightly job end to end on the bundled sample: real ingestion, real dbt, real Dagster
materialisations, a real published DuckDB file (SPEC §12, §13)."""

import contextlib
import csv
import io
import json
import re
import zipfile

import duckdb
import pytest
from conftest import SAMPLE_LANDING
from run_helpers import table_rows

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
    """`accounts run` on the sample, again with nothing new (skipped), then forced; return the
    published file, the first run's tables and what the skipped run printed."""
    warehouse = tmp_path_factory.mktemp("warehouse")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
        assert main(["run"]) == 0
        first = _snapshot(warehouse / "accounts.duckdb")
        with contextlib.redirect_stdout(io.StringIO()) as nightly:
            assert main(["run"]) == 0  # nothing new: nothing computed
        assert main(["run", "--force"]) == 0  # the same inputs, computed again
    return warehouse / "accounts.duckdb", first, nightly.getvalue()


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


def test_a_nightly_run_with_nothing_new_computes_nothing(published):
    said = published[2]
    assert said.startswith("nothing new since publication 1 (as of 2026-10-31): no new landing file"), said
    assert "computing" not in said and "loading" not in said


def test_rerun_with_the_same_inputs_loads_nothing_and_gives_identical_tables(published, con):
    path, first, _ = published
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
    # the summary says where a person finds the report, the Data Docs and the logs
    warehouse = published[0].parent
    for label, path in (("report", "report.html"), ("data docs", "data_docs/index.html"), ("logs", "logs")):
        assert f"{label}: {warehouse / path}" in text, text
        assert (warehouse / path).exists(), path


PRIVATE_WORDS = re.compile(r"SPEC|§|\bD0\b|\bint_[a-z_]+\b")


def test_descriptions_speak_the_business_language(con):
    texts = con.execute(
        "SELECT schema_name || '.' || table_name, comment FROM duckdb_tables() "
        "UNION ALL SELECT schema_name || '.' || view_name, comment FROM duckdb_views() WHERE NOT internal "
        "UNION ALL SELECT schema_name || '.' || table_name || '.' || column_name, comment "
        "FROM duckdb_columns() "
        "WHERE database_name = current_database()"
    ).fetchall()
    private = [
        (name, PRIVATE_WORDS.findall(text)) for name, text in texts if text and PRIVATE_WORDS.search(text)
    ]
    assert private == []


def test_bi_views_are_flat_described_and_shaped_for_people(con):
    nested = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'bi' "
        "AND (data_type LIKE '%[]' OR data_type LIKE 'STRUCT%' OR data_type LIKE 'MAP%')"
    ).fetchall()
    assert nested == []
    undescribed = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'bi' AND comment IS NULL"
    ).fetchall()
    assert undescribed == []
    views = {
        r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE schema_name = 'bi'").fetchall()
    }
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'")
              .fetchall()} - {"publications"}  # fmt: skip
    assert tables | {"worth_matrix_grid", "call_list", "scorecard"} <= views
    # the grid holds the matrix: 5 rows per snapshot, every customer of every cell
    grid = con.execute(
        "SELECT as_of_date, count(*), sum(" + " + ".join(f"customers_incremental_{k}" for k in range(1, 6))
        + ") FROM bi.worth_matrix_grid GROUP BY 1 ORDER BY 1"
    ).fetchall()  # fmt: skip
    cells = con.execute("SELECT as_of_date, 5, sum(customers) FROM main.worth_matrix GROUP BY 1 ORDER BY 1")
    assert grid == cells.fetchall()
    # the call list is the early-warning list, numbered per manager in warning order
    (misordered,) = con.execute(
        "SELECT count(*) FROM bi.call_list c JOIN main.early_warning w USING (as_of_date, customer_id) "
        "WHERE c.call_order <> (SELECT count(*) FROM main.early_warning v WHERE v.as_of_date = w.as_of_date "
        "AND v.manager_id = w.manager_id AND v.warning_rank <= w.warning_rank)"
    ).fetchone()
    assert misordered == 0
    assert (
        con.execute("SELECT count(*) FROM bi.call_list").fetchone()
        == con.execute("SELECT count(*) FROM main.early_warning").fetchone()
    )
    reasons = con.execute(
        "SELECT c.risk_reasons, array_to_string(w.risk_reasons, '; ') FROM bi.call_list c "
        "JOIN main.early_warning w USING (as_of_date, customer_id)"
    ).fetchall()
    assert all(flat == joined for flat, joined in reasons)
    best = con.execute(
        "SELECT manager_id FROM bi.scorecard WHERE as_of_date = (SELECT max(as_of_date) FROM bi.scorecard) "
        "AND retention_rate_rank = 1"
    ).fetchall()
    top = con.execute(
        "SELECT manager_id FROM latest.manager_scorecard WHERE retention_rate = "
        "(SELECT max(retention_rate) FROM latest.manager_scorecard)"
    ).fetchall()
    assert sorted(best) == sorted(top)


def test_export_of_one_managers_call_list_has_one_value_per_cell(published, con, tmp_path, capsys):
    manager, rows = con.execute(
        "SELECT manager_id, count(*) FROM latest.early_warning GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1"
    ).fetchone()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(published[0].parent))
        for file_format in ("csv", "parquet", "xlsx"):
            out = tmp_path / f"calls.{file_format}"
            assert main(["export", "call_list", "--manager", manager, "--out", str(out)]) == 0
            assert f"wrote {rows:,} rows of bi.call_list" in capsys.readouterr().out
        assert main(["export", "call_list", "--manager", "nobody"]) == 1
        assert "no manager nobody in bi.call_list; managers: " in capsys.readouterr().err
    with open(tmp_path / "calls.csv", newline="") as handle:
        table = list(csv.reader(handle))
    header, body = table[0], table[1:]
    assert len(body) == rows and {len(row) for row in body} == {len(header)}
    assert {row[header.index("manager_id")] for row in body} == {manager}
    assert not [cell for row in body for cell in row if cell.startswith(("[", "{"))]
    assert duckdb.sql(f"SELECT count(*) FROM '{tmp_path / 'calls.parquet'}'").fetchall() == [(rows,)]
    # the spreadsheet: one worksheet, a header row and one row per customer, plain cells
    with zipfile.ZipFile(tmp_path / "calls.xlsx") as book:
        sheet = book.read("xl/worksheets/sheet1.xml").decode()
        strings = (
            book.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in book.namelist() else ""
        )
    assert sheet.count("<row ") == rows + 1
    assert "Olga" in strings or manager in strings


def test_dbt_docs_describe_the_published_tables(published, tmp_path, capsys):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(published[0].parent))
        assert main(["docs", "--out", str(tmp_path)]) == 0
    index = tmp_path / "index.html"
    assert f"dbt docs of the published tables: {index}" in capsys.readouterr().out
    html = index.read_text()
    assert "Account management: customer worth, loyalty and risk" in html  # the project's overview
    # the catalogue dbt read is the published file's: the marts in its main schema, with columns
    for table in ("customer_worth", "worth_matrix", "manager_scorecard"):
        assert f'"unique_id": "model.accounts.{table}"' in html
    assert html.count('"schema": "main"') >= 20


def test_dbt_by_hand_runs_on_the_working_warehouse_with_the_pipelines_vars(published, tmp_path, capfd):
    warehouse_dir = published[0].parent
    [(customers,)] = table_rows(warehouse_dir / "warehouse.duckdb", "SELECT count(*) FROM raw.customers")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse_dir))
        inline = "select count(*) as n from {{ ref('stg_customers') }}"
        assert main(["dbt", "--", "show", "--inline", inline, "--output", "json"]) == 0
        assert f'"n": {customers}' in capfd.readouterr().out
        assert main(["dbt"]) == 1
        assert "name a dbt command after --" in capfd.readouterr().err
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(tmp_path / "empty"))
        assert main(["dbt", "--", "ls"]) == 1
        assert "no revenue loaded yet: pass --month YYYY-MM" in capfd.readouterr().err


def test_runs_are_recorded_where_the_dagster_ui_reads_them(published):
    from dagster import AssetKey, DagsterInstance

    home = published[0].parent / "dagster"
    with DagsterInstance.from_config(str(home)) as instance:
        for key in ("published_warehouse", "publication_report", "staged_publication"):
            assert instance.get_latest_materialization_event(AssetKey(key)) is not None, key
        runs = instance.get_runs()
        assert {run.job_name for run in runs} == {"ingest_landing_files", "monthly_snapshot"}
        assert all(run.is_success for run in runs)


def test_dbt_ran_in_the_runs_process_with_its_log_and_the_warehouses_parse_state(published):
    """Each dbt build of the run (in the run's own process) left its artefacts and its debug log in
    its invocation folder under the project's target path, whatever the working directory, and
    the warehouse keeps dbt's parse state for the next run."""
    from dagster import DagsterInstance

    from pipelines.transforms.project import TARGET_PATH, dbt_project

    warehouse = published[0].parent
    assert (warehouse / "dbt" / "duckdb.partial_parse.msgpack").exists()
    with DagsterInstance.from_config(str(warehouse / "dagster")) as instance:
        run = next(r for r in instance.get_runs() if r.job_name == "monthly_snapshot")
    targets = dbt_project.project_dir / TARGET_PATH
    for group in ("worth_and_loyalty", "modules_and_risk"):
        (folder,) = targets.glob(f"{group}-{run.run_id[:7]}-*")
        assert (folder / "run_results.json").exists() and (folder / "dbt.log").exists(), folder
        assert "Finished running" in (folder / "dbt.log").read_text()
