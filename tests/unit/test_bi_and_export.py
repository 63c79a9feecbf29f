"""The `bi` views (flat, one value per cell) and `accounts export`, on a small hand-made file."""

import duckdb
import pytest

from pipelines.cli import main
from pipelines.publication.bi import create_bi_views, flat_expression
from pipelines.publication.export import ExportError, export_view


def test_lists_become_text_and_other_columns_stay():
    assert flat_expression("grade", "VARCHAR") == '"grade"'
    assert flat_expression("risk_reasons", "VARCHAR[]") == """array_to_string("risk_reasons", '; ')"""
    struct = flat_expression("calls", 'STRUCT(contact_date DATE, "reason_code" VARCHAR)[]')
    assert 'x."contact_date"' in struct and 'x."reason_code"' in struct and " for x in " in struct


@pytest.fixture
def published(tmp_path):
    path = tmp_path / "accounts.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE early_warning AS SELECT *, 'Ann' AS manager_name, 'Acme' AS customer_name, "
        "'A' AS grade, "
        "'retail' AS customer_type, 'North' AS region, 10.0 AS expected_loss, 0.5 AS defection_probability, "
        "1.0 AS revenue_12m, 2.0 AS revenue_prev_12m, 90 AS days_since_last_purchase, "
        "0 AS dissatisfier_contacts_recent, NULL::DATE AS last_dissatisfier_date FROM (VALUES "
        "(DATE '2026-09-30', 1, 'C1', 'M1', ['gap', 'decline'], [{'contact_date': DATE '2026-09-02', "
        "'reason_code': 'billing_error'}]), "
        "(DATE '2026-10-31', 2, 'C2', 'M1', ['gap'], []), "
        "(DATE '2026-10-31', 1, 'C3', 'M2', [], NULL)) "
        "t(as_of_date, warning_rank, customer_id, manager_id, risk_reasons, last_dissatisfier_contacts)"
    )
    con.close()
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS pub")
    docs = {"early_warning": ("The early-warning list.", {"customer_id": "The customer."})}
    assert create_bi_views(con, "pub", ["early_warning"], docs) == ["early_warning", "call_list"]
    con.close()
    return path


def test_the_flat_view_has_one_value_per_cell_and_keeps_the_descriptions(published):
    con = duckdb.connect(str(published), read_only=True)
    rows = con.execute(
        "SELECT customer_id, risk_reasons, last_dissatisfier_contacts FROM bi.early_warning ORDER BY 1"
    ).fetchall()
    assert rows == [("C1", "gap; decline", "2026-09-02 billing_error"), ("C2", "gap", ""), ("C3", "", None)]
    (described,) = con.execute(
        "SELECT comment FROM duckdb_columns() WHERE schema_name = 'bi' AND column_name = 'customer_id'"
    ).fetchone()
    assert described == "The customer."


def test_the_call_list_numbers_each_managers_customers_in_warning_order(published):
    con = duckdb.connect(str(published), read_only=True)
    rows = con.execute(
        "SELECT as_of_date::VARCHAR, manager_id, call_order, customer_id FROM bi.call_list ORDER BY ALL"
    )
    assert rows.fetchall() == [
        ("2026-09-30", "M1", 1, "C1"),
        ("2026-10-31", "M1", 1, "C2"),
        ("2026-10-31", "M2", 1, "C3"),
    ]


def test_export_takes_the_latest_snapshot_by_default_and_filters_a_manager(published, tmp_path):
    result = export_view(published, "early_warning", manager="M1")
    assert result.as_of_date == "2026-10-31" and result.rows == 1
    assert result.path == tmp_path / "exports" / "early_warning_2026-10-31_M1.csv"
    assert duckdb.sql(f"SELECT customer_id FROM '{result.path}'").fetchall() == [("C2",)]
    every = export_view(published, "early_warning", tmp_path / "all.parquet", as_of="all")
    assert every.rows == 3 and duckdb.sql(f"SELECT count(*) FROM '{every.path}'").fetchall() == [(3,)]
    one = export_view(published, "early_warning", tmp_path / "sep.xlsx", as_of="2026-09-30")
    assert one.rows == 1 and one.path.stat().st_size > 0


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        ({"view": "nope"}, "no view bi.nope in the published file; views: call_list, early_warning"),
        ({"view": "early_warning", "manager": "M9"}, "no manager M9 in bi.early_warning; managers: M1, M2"),
        (
            {"view": "early_warning", "as_of": "2026-08-31"},
            "no snapshot at 2026-08-31; snapshots: 2026-09-30",
        ),
        ({"view": "early_warning", "as_of": "last week"}, "--as-of takes a date YYYY-MM-DD or `all`"),
        ({"view": "early_warning", "file_format": "json"}, "unknown export format 'json'"),
    ],
)
def test_a_request_the_file_cannot_answer_says_what_it_holds(published, request_, message):
    with pytest.raises(ExportError, match=message.replace("(", r"\(")):
        export_view(published, **request_)


def test_export_before_any_publication_says_what_to_run(tmp_path):
    with pytest.raises(ExportError, match="run `accounts run` first"):
        export_view(tmp_path / "accounts.duckdb", "call_list")


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("accounts 0.")
