"""The nightly job end to end on the bundled sample: real ingestion, real dbt, real Dagster
materialisations, a real published DuckDB file (SPEC §12, §13)."""

import json

import duckdb
import pytest
from conftest import SAMPLE_LANDING

from pipelines.audit import assignment_balance_violations
from pipelines.cli import main

pytestmark = pytest.mark.e2e

ISSUE_TABLES = {
    "customer_worth", "best_in_class", "worth_matrix", "incremental_class_bands",
    "contact_economics", "contact_economics_by_grade", "module_assignments", "modules",
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
        return {t: con.execute(f"SELECT * FROM main.{t} ORDER BY ALL").fetchall() for t in ISSUE_TABLES}
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
    assert assignment_balance_violations(con) == []
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
    assert "assignment_balance" in publications[-1][1]
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
