"""Great-expectations suites on a staged publication (pipelines/quality.py): real GX, real DuckDB
files built by hand, so each rule is shown to pass on good data and to name the failing rows."""

import json
from pathlib import Path

import duckdb
import pytest

from pipelines.config import load_config, parse_config
from pipelines.quality import (
    SUITES,
    Suite,
    between,
    expect,
    in_set,
    read_batches,
    table_suite,
    validate_publication,
)

MONTHS = ("2024-01-31", "2024-02-29")


def build_publication(path: Path, customers: int = 200, months=MONTHS) -> Path:
    """A small, valid publication: `customers` customers per snapshot, incremental classes at
    exactly 5/15/25/25/30 %, four managers holding balanced modules."""
    con = duckdb.connect(str(path))
    dates = ", ".join(f"(DATE '{d}')" for d in months)
    con.execute(f"""
        CREATE TABLE customer_worth AS
        WITH base AS (
            SELECT d.col0 AS as_of_date, i, printf('C%04d', i) AS customer_id,
                   CASE WHEN i < {customers} * 0.05 THEN 5 WHEN i < {customers} * 0.20 THEN 4
                        WHEN i < {customers} * 0.45 THEN 3 WHEN i < {customers} * 0.70 THEN 2
                        ELSE 1 END AS incremental_class
            FROM (VALUES {dates}) d, range({customers}) r(i)
        )
        SELECT as_of_date, customer_id, 1 + i % 5 AS actual_class, incremental_class,
               ['D', 'C', 'B', 'A', 'AA'][incremental_class] AS grade, 'peer_group' AS peer_group_level,
               0.15 AS achievement_probability, (i + 1) / {customers} AS incremental_top_share,
               1000.0 - i AS incremental_revenue, 2000.0 AS potential_revenue,
               150.0 - i * 0.15 AS expected_incremental_revenue, i
        FROM base
    """)
    con.execute("""
        CREATE TABLE best_in_class AS SELECT DISTINCT as_of_date, 'retail' AS customer_type,
            '1-9' AS size_band, 'peer_group' AS peer_group_level,
            29.0 AS best_in_class_revenue_per_employee FROM customer_worth
    """)
    con.execute("""
        CREATE TABLE worth_matrix AS SELECT as_of_date, actual_class, incremental_class,
            any_value(grade) AS grade, count(*) AS customers FROM customer_worth
        GROUP BY as_of_date, actual_class, incremental_class
    """)
    con.execute("""
        CREATE TABLE incremental_class_bands AS
        SELECT as_of_date, incremental_class,
               any_value([0.30, 0.25, 0.25, 0.15, 0.05][incremental_class]) AS target_share,
               count(*) / sum(count(*)) OVER (PARTITION BY as_of_date) AS realised_share,
               count(*) AS customers, 0 AS customers_unknown_employees
        FROM customer_worth GROUP BY as_of_date, incremental_class
    """)
    con.execute("""
        CREATE TABLE contact_economics AS SELECT DISTINCT as_of_date, 13.93 AS cost_per_contact,
            6390.0 AS contacts_per_manager_year, 4 AS managers_active FROM customer_worth
    """)
    con.execute("""
        CREATE TABLE contact_economics_by_grade AS
        SELECT as_of_date, grade, count(*) AS customers FROM customer_worth GROUP BY ALL
    """)
    con.execute("""
        CREATE TABLE module_assignments AS SELECT as_of_date, customer_id,
            'M' || (i % 4) AS manager_id, grade, 'kept' AS move_reason FROM customer_worth
    """)
    con.execute("""
        CREATE TABLE modules AS SELECT as_of_date, manager_id, count(*) AS accounts,
            count(*) FILTER (grade = 'AA') AS accounts_aa, count(*) FILTER (grade = 'A') AS accounts_a,
            count(*) FILTER (grade = 'B') AS accounts_b, count(*) FILTER (grade = 'C') AS accounts_c,
            count(*) FILTER (grade = 'D') AS accounts_d, count(*) * 24 / 6390 AS utilisation
        FROM module_assignments GROUP BY ALL
    """)
    con.execute("ALTER TABLE customer_worth DROP COLUMN i")
    con.close()
    return path


@pytest.fixture(scope="module")
def settings():
    return load_config()


def failures_by_suite(report) -> dict[tuple[str, str], dict]:
    return {(f.suite, f.expectation): f.as_dict() for f in report.failures}


def test_a_valid_publication_passes_every_suite_and_writes_data_docs(tmp_path, settings):
    staged = build_publication(tmp_path / "accounts.duckdb.staged")
    docs = tmp_path / "data_docs"
    report = validate_publication(staged, settings, docs)
    assert report.passed, report.summary()
    assert report.evaluated > 50
    # loyalty marts are validated once published; until then their suites are skipped
    assert "customer_loyalty" in report.suites_skipped and "customer_worth" in report.suites_run
    assert {"row_counts", "incremental_class_shares", "assignment_balance"} <= set(report.suites_run)
    index = (docs / "index.html").read_text()
    assert report.docs_index == docs / "index.html"
    assert "customer_worth" in index and "row_counts" in index


def test_each_broken_rule_fails_and_names_sample_keys(tmp_path, settings):
    staged = build_publication(tmp_path / "accounts.duckdb.staged")
    con = duckdb.connect(str(staged))
    con.execute("UPDATE customer_worth SET grade = 'Z' WHERE customer_id IN ('C0003', 'C0007')")
    con.execute("UPDATE customer_worth SET achievement_probability = 1.5 WHERE customer_id = 'C0009'")
    con.execute("INSERT INTO module_assignments SELECT * FROM module_assignments "
                "WHERE customer_id = 'C0011' AND as_of_date = '2024-02-29'")  # fmt: skip
    con.execute("UPDATE module_assignments SET move_reason = 'whim' WHERE customer_id = 'C0012'")
    # class 1 realised at 20 % instead of 30 %
    con.execute("UPDATE incremental_class_bands SET realised_share = 0.2 WHERE incremental_class = 1 "
                "AND as_of_date = '2024-01-31'")  # fmt: skip
    con.execute("UPDATE modules SET accounts = accounts + 3 WHERE manager_id = 'M1'")
    con.close()
    report = validate_publication(staged, settings, tmp_path / "docs")
    assert not report.passed
    failed = failures_by_suite(report)
    grade = failed[("customer_worth", "expect_column_values_to_be_in_set(grade)")]
    assert grade["unexpected_count"] == 4  # two customers, two snapshots
    assert {"as_of_date": "2024-01-31", "customer_id": "C0003", "grade": "Z"} in grade["sample_keys"]
    probability = failed[("customer_worth", "expect_column_values_to_be_between(achievement_probability)")]
    assert probability["sample_keys"][0]["customer_id"] == "C0009"
    duplicate = failed[("module_assignments",
                        "expect_compound_columns_to_be_unique(as_of_date, customer_id)")]  # fmt: skip
    assert duplicate["sample_keys"][0] == {"as_of_date": "2024-02-29", "customer_id": "C0011"}
    assert ("module_assignments", "expect_column_values_to_be_in_set(move_reason)") in failed
    shares = failed[("incremental_class_shares", "expect_column_values_to_be_between(share_gap)")]
    assert shares["sample_keys"][0]["as_of_date"] == "2024-01-31"
    assert shares["sample_keys"][0]["incremental_class"] == 1
    assert ("assignment_balance", "expect_column_values_to_be_between(accounts_spread)") in failed
    pair = "expect_column_pair_values_to_be_equal(customer_worth_rows, module_assignments_rows)"
    rows = failed[("row_counts", pair)]
    assert rows["sample_keys"][0]["as_of_date"] == "2024-02-29"
    assert len(failed) == 7, json.dumps(list(failed))
    assert "7 of" in report.summary() and "customer_worth" in report.summary()


def test_row_count_change_band_and_small_snapshots(tmp_path):
    """A snapshot 70 % smaller than the one before breaks the default 50 % band; the class-share
    rule does not apply to a snapshot of 60 customers."""
    staged = build_publication(tmp_path / "a.duckdb", customers=200, months=("2024-01-31",))
    small = build_publication(tmp_path / "b.duckdb", customers=60, months=("2024-02-29",))
    con = duckdb.connect(str(staged))
    con.execute(f"ATTACH '{small}' AS small (READ_ONLY)")
    for table in ("customer_worth", "worth_matrix", "incremental_class_bands", "contact_economics",
                  "contact_economics_by_grade", "module_assignments", "modules", "best_in_class"):
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM small.{table}")
    con.execute("UPDATE incremental_class_bands SET realised_share = 0.5 WHERE as_of_date = '2024-02-29' "
                "AND incremental_class = 1")  # fmt: skip
    con.close()
    report = validate_publication(staged, load_config(), None)
    assert [(f.suite, f.expectation) for f in report.failures] == [
        ("row_counts", "expect_column_values_to_be_between(customer_worth_change)")
    ]
    assert report.failures[0].sample_keys[0]["as_of_date"] == "2024-02-29"
    assert report.failures[0].sample_keys[0]["customer_worth_change"] == pytest.approx(-0.7)
    wide = parse_config({"quality": {"max_row_count_change": 0.8}})
    assert validate_publication(staged, wide, None).passed


def test_loyalty_tables_are_validated_when_present(tmp_path, settings):
    staged = build_publication(tmp_path / "accounts.duckdb.staged")
    con = duckdb.connect(str(staged))
    con.execute("""
        CREATE TABLE customer_loyalty AS SELECT * FROM (VALUES
            (DATE '2024-02-29', 'C0001', 'Secure', 0.02, 1.4),
            (DATE '2024-02-29', 'C0002', 'Loyal', 0.10, 0.5),
            (DATE '2024-02-29', 'C0003', 'Defector', 1.2, 0.0)
        ) t(as_of_date, customer_id, segment, defection_probability, share_of_potential)
    """)
    con.execute("""
        CREATE TABLE loyalty_summary AS SELECT * FROM (VALUES
            (DATE '2024-01-31', 0.4, 0.8), (DATE '2024-02-29', 0.2, 1.3)
        ) t(as_of_date, retention_rate, net_revenue_retention)
    """)
    con.close()
    report = validate_publication(staged, settings, None)
    failed = failures_by_suite(report)
    assert set(failed) == {
        ("customer_loyalty", "expect_column_values_to_be_in_set(segment)"),
        ("customer_loyalty", "expect_column_values_to_be_between(defection_probability)"),
    }
    assert failed[("customer_loyalty", "expect_column_values_to_be_in_set(segment)")]["sample_keys"] == [
        {"as_of_date": "2024-02-29", "customer_id": "C0002", "segment": "Loyal"}
    ]
    assert "loyalty_summary" in report.suites_run  # one row per as_of, rates in [0, 1]: passes
    assert "early_warning" in report.suites_skipped


def test_the_registry_is_extended_with_one_entry(tmp_path, settings):
    staged = build_publication(tmp_path / "accounts.duckdb.staged")
    suites: dict[str, Suite] = {
        "modules": table_suite("modules", ("as_of_date", "manager_id"), between("utilisation", 0, 0.001)),
        "grades": Suite("SELECT DISTINCT grade FROM main.customer_worth", ("grade",), ("customer_worth",),
                        lambda s, c: [in_set("grade", ["AA", "A"]),
                                      expect("ExpectTableRowCountToEqual", value=5)]),
    }  # fmt: skip
    report = validate_publication(staged, settings, None, suites=suites)
    assert report.suites_run == ["modules", "grades"] and report.evaluated == 6
    assert {f.expectation for f in report.failures} == {
        "expect_column_values_to_be_between(utilisation)", "expect_column_values_to_be_in_set(grade)"
    }
    assert set(SUITES) >= {"customer_worth", "module_assignments", "row_counts", "customer_loyalty"}


def test_per_snapshot_suites_check_only_the_months_this_publication_recomputed(tmp_path, settings):
    staged = build_publication(tmp_path / "accounts.duckdb.staged")
    con = duckdb.connect(str(staged))
    # January was published (and checked) earlier; this publication recomputed February only
    con.execute("CREATE TABLE publications (publication_id BIGINT, months_refreshed VARCHAR[])")
    con.execute("INSERT INTO publications VALUES (1, ['2024-01', '2024-02']), (2, ['2024-02'])")
    con.execute("UPDATE customer_worth SET grade = 'Z' WHERE customer_id = 'C0003'")  # both months
    con.close()
    report = validate_publication(staged, settings, None)
    grade = failures_by_suite(report)[("customer_worth", "expect_column_values_to_be_in_set(grade)")]
    assert grade["unexpected_count"] == 1  # February's row only
    assert grade["sample_keys"] == [{"as_of_date": "2024-02-29", "customer_id": "C0003", "grade": "Z"}]
    # the cross-month suites still read the whole history
    assert "row_counts" in report.suites_run


def test_batches_hold_only_the_columns_the_rules_and_keys_read(tmp_path, settings):
    staged = build_publication(tmp_path / "accounts.duckdb.staged")
    con = duckdb.connect(str(staged))
    con.execute("""
        CREATE TABLE customer_loyalty AS SELECT * FROM (VALUES
            (DATE '2024-02-29', 'C0001', 'Secure', 0.02, ['decline'], 'north')
        ) t(as_of_date, customer_id, segment, defection_probability, risk_reasons, region)
    """)
    con.close()
    batches, _ = read_batches(staged, settings)
    # a list column (which GX would fingerprint by pickling the frame) and unchecked columns stay out
    assert list(batches["customer_loyalty"].frame.columns) == [
        "as_of_date", "customer_id", "segment", "defection_probability"
    ]
    # a column named only in a row condition is read too
    assert "customers_known_size" in batches["incremental_class_shares"].frame.columns
    assert validate_publication(staged, settings, None).passed
