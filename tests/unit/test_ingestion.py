"""SPEC §1 input contract: ingestion of landing files into raw.* (real files, real DuckDB)."""

import json
from datetime import date
from pathlib import Path

import duckdb
import pandera.errors
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest import loader
from pipelines.ingest.contract import validate_valid_rows
from pipelines.ingest.datasets import DATASETS
from pipelines.ingest.landing import missing_required_datasets
from pipelines.ingest.loader import (
    FileRejected,
    IngestReport,
    ingest_all,
    ingest_dataset,
    release_cached_blocks,
)
from pipelines.ingest.readers import read_landing_file
from pipelines.ingest.rules import clean_file, clean_frame

CUSTOMERS = "customer_id,customer_name,customer_type,region\nC1,Acme,retail,North\nC2,Beta,education,\n"
REVENUE_HEADER = "transaction_id,customer_id,transaction_date,product_line,amount,margin\n"


@pytest.fixture
def landing(tmp_path: Path) -> Path:
    path = tmp_path / "landing"
    path.mkdir()
    return path


@pytest.fixture
def con(tmp_path: Path):
    connection = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    yield connection
    connection.close()


def write(landing: Path, name: str, content: str | bytes) -> Path:
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_bytes(content)
    return path


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def with_customers(con, landing: Path) -> None:
    write(landing, "customers/customers.csv", CUSTOMERS)
    ingest_dataset(con, "customers", landing)


def quarantine(con) -> list[tuple]:
    return rows(
        con,
        "SELECT dataset, source_file, line_number, column_name, reason FROM raw.quarantine "
        "ORDER BY dataset, source_file, line_number",
    )


# --- row rules: each quarantine reason ---------------------------------------------------------

REASON_CASES = {
    "missing key": (
        "customers",
        "customer_id,customer_name,customer_type\nC1,Acme,retail\n ,Nobody,retail\n",
        "customer_id",
        "missing customer_id",
    ),
    "bad date": (
        "revenue",
        REVENUE_HEADER + "T1,C1,2024-01-05,x,10.00,\nT2,C1,2024-13-01,x,5,\n",
        "transaction_date",
        "bad date '2024-13-01'",
    ),
    "bad timestamp": (
        "contacts",
        "contact_id,customer_id,contact_date,medium\nK1,C1,2024-01-05 10:00:00,phone\n"
        "K2,C1,2024-01-05 25:00,phone\n",
        "contact_date",
        "bad date '2024-01-05 25:00'",
    ),
    "non-numeric amount": (
        "revenue",
        REVENUE_HEADER + "T1,C1,2024-01-05,x,10.00,\nT2,C1,2024-01-05,x,12;50,\n",
        "amount",
        "non-numeric amount '12;50'",
    ),
    "non-numeric employees": (
        "employee_counts",
        "customer_id,as_of_date,employees\nC1,2024-01-01,10\nC1,2024-02-01,many\n",
        "employees",
        "employees not an integer 'many'",
    ),
    "non-integer employees": (
        "employee_counts",
        "customer_id,as_of_date,employees\nC1,2024-01-01,10\nC1,2024-02-01,12.5\n",
        "employees",
        "employees not an integer '12.5'",
    ),
    "employees not positive": (
        "employee_counts",
        "customer_id,as_of_date,employees\nC1,2024-01-01,10\nC1,2024-02-01,0\n",
        "employees",
        "employees must be > 0, got '0'",
    ),
    "unknown medium": (
        "contacts",
        "contact_id,customer_id,contact_date,medium\nK1,C1,2024-01-05,PHONE\nK2,C1,2024-01-05,pigeon\n",
        "medium",
        "unknown medium 'pigeon'",
    ),
    "active_to not after active_from": (
        "account_managers",
        "manager_id,manager_name,active_from,active_to\nM1,Ann,2020-01-01,\nM2,Bob,2021-01-01,2021-01-01\n",
        "active_to",
        "active_to '2021-01-01' not after active_from '2021-01-01'",
    ),
    "capacity not positive": (
        "account_managers",
        "manager_id,manager_name,active_from,capacity\nM1,Ann,2020-01-01,0.5\nM2,Bob,2021-01-01,0\n",
        "capacity",
        "capacity must be > 0, got '0'",
    ),
    "non-numeric capacity": (
        "account_managers",
        "manager_id,manager_name,active_from,capacity\nM1,Ann,2020-01-01,\nM2,Bob,2021-01-01,half\n",
        "capacity",
        "non-numeric capacity 'half'",
    ),
    "pin valid_to not after valid_from": (
        "assignment_pins",
        "customer_id,manager_id,reason,valid_from,valid_to\nC1,M1,contract,2024-01-01,\n"
        "C2,M1,,2024-03-01,2024-02-01\n",
        "valid_to",
        "valid_to '2024-02-01' not after valid_from '2024-03-01'",
    ),
    "pin without a manager": (
        "assignment_pins",
        "customer_id,manager_id,reason,valid_from\nC1,M1,contract,2024-01-01\nC2,,contract,2024-01-01\n",
        "manager_id",
        "missing manager_id",
    ),
    "duplicate key in file": (
        "revenue",
        REVENUE_HEADER + "T1,C1,2024-01-05,x,10.00,\nT1,C2,2024-01-06,y,5,\n",
        "transaction_id",
        "duplicate transaction_id 'T1' (first at line 2)",
    ),
    "duplicate composite key": (
        "employee_counts",
        "customer_id,as_of_date,employees\nC1,2024-01-01,10\nC1,2024-01-01,11\n",
        "customer_id, as_of_date",
        "duplicate key (customer_id, as_of_date) 'C1|2024-01-01' (first at line 2)",
    ),
}


@pytest.mark.parametrize("case", REASON_CASES, ids=list(REASON_CASES))
def test_broken_key_or_needed_value_quarantines_the_row_and_valid_rows_load(con, landing, case):
    dataset, content, column, reason = REASON_CASES[case]
    if dataset != "customers":
        with_customers(con, landing)
    write(landing, f"{dataset}/part.csv", content)
    report = ingest_dataset(con, dataset, landing)
    assert (report.rows_loaded, report.rows_quarantined) == (1, 1)
    assert quarantine(con) == [(dataset, f"{dataset}/part.csv", 3, column, reason)]
    (record,) = rows(con, "SELECT record FROM raw.quarantine")[0]
    assert isinstance(json.loads(record), dict)  # the raw values, as delivered
    assert report.rows_total == rows(con, f"SELECT count(*) FROM raw.{dataset}")[0][0]


# --- descriptive gaps: the row loads, the gap is a data issue -----------------------------------

ISSUE_CASES = {
    "missing customer name": (
        "customers",
        "customer_id,customer_name,customer_type\nC1,Acme,retail\nC3,,retail\n",
        "customer_name", "missing customer_name (loaded as null)", "customer_name", None,
    ),
    "missing customer type": (
        "customers",
        "customer_id,customer_name,customer_type\nC1,Acme,retail\nC3,Beta, \n",
        "customer_type", "missing customer_type (counted as 'unknown')", "customer_type", None,
    ),
    "blank region when the file has regions": (
        "customers",
        "customer_id,customer_name,customer_type,region\nC1,Acme,retail,north\nC3,Beta,retail,\n",
        "region", "missing region (counted as 'unknown')", "region", None,
    ),
    "missing product line": (
        "revenue",
        REVENUE_HEADER + "T1,C1,2024-01-05,x,10.00,\nT2,C1,2024-01-05,,5,\n",
        "product_line", "missing product_line (counts in revenue, adds no product line)", "amount", 5,
    ),
    "non-numeric margin": (
        "revenue",
        REVENUE_HEADER + "T1,C1,2024-01-05,x,10.00,\nT2,C1,2024-01-05,x,5,n/a\n",
        "margin", "non-numeric margin 'n/a' (loaded as null)", "margin", None,
    ),
    "unknown direction": (
        "contacts",
        "contact_id,customer_id,contact_date,medium,direction\nK1,C1,2024-01-05,email,Inbound\n"
        "K2,C1,2024-01-05,email,sideways\n",
        "direction", "unknown direction 'sideways' (loaded as null)", "direction", None,
    ),
    "missing medium": (
        "contacts",
        "contact_id,customer_id,contact_date,medium\nK1,C1,2024-01-05,phone\nK2,C1,2024-01-05,\n",
        "medium", "missing medium (loaded as null)", "medium", None,
    ),
    "missing manager name": (
        "account_managers",
        "manager_id,manager_name,active_from\nM1,Ann,2020-01-01\nM2,,2021-01-01\n",
        "manager_name", "missing manager_name (loaded as null)", "manager_name", None,
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", ISSUE_CASES, ids=list(ISSUE_CASES))
def test_descriptive_gap_loads_the_row_and_records_a_data_issue(con, landing, case):
    dataset, content, column, issue, loaded_column, loaded_value = ISSUE_CASES[case]
    if dataset != "customers":
        with_customers(con, landing)
    write(landing, f"{dataset}/part.csv", content)
    report = ingest_dataset(con, dataset, landing)
    assert (report.rows_loaded, report.rows_quarantined, report.data_issues) == (2, 0, 1)
    issues = (
        "SELECT dataset, source_file, line_number, column_name, issue FROM raw.data_issues WHERE dataset = ?"
    )
    assert con.execute(issues, [dataset]).fetchall() == [(dataset, f"{dataset}/part.csv", 3, column, issue)]
    loaded = rows(con, f"SELECT {loaded_column} FROM raw.{dataset} WHERE _source_line = 3")
    assert loaded == [(loaded_value,)]
    assert "1 data issues in loaded rows (line 3: " in report.messages[-1]


def test_a_child_row_of_an_unknown_customer_is_held_not_lost(con, landing):
    # SPEC §1: the row loads and waits; it counts once its customer is known (order-independent)
    with_customers(con, landing)
    write(landing, "revenue/part.csv", REVENUE_HEADER + "T1,C1,2024-01-05,x,10.00,\nT2,C9,2024-01-05,x,5,\n")
    report = ingest_dataset(con, "revenue", landing)
    assert (report.rows_loaded, report.rows_quarantined) == (2, 0)
    from pipelines.ingest.audit import held_rows_sql

    held_rows = held_rows_sql("warehouse", 30)
    columns = "dataset, source_file, source_line, row_key, customer_id, orphan"
    held = rows(con, f"SELECT {columns} FROM ({held_rows})")
    assert held == [("revenue", "revenue/part.csv", 3, "T2", "C9", False)]
    write(landing, "customers/later.csv", "customer_id,customer_name,customer_type\nC9,Late,retail\n")
    ingest_dataset(con, "customers", landing)
    assert rows(con, f"SELECT count(*) FROM ({held_rows_sql('warehouse', 30)})") == [(0,)]


def test_codes_are_stored_lower_case_and_contact_date_takes_dates_or_timestamps(con, landing):
    with_customers(con, landing)
    write(
        landing,
        "contacts/c.csv",
        "Contact_ID,CUSTOMER_ID,contact_date,Medium,direction\n"
        "K1,C1,2024-01-05,PHONE,Inbound\nK2,C2,2024-01-06T09:30:00,Email,\n",
    )
    ingest_dataset(con, "contacts", landing)
    assert rows(con, "SELECT contact_id, contact_date::VARCHAR, medium, direction "
                     "FROM raw.contacts ORDER BY 1") == [
        ("K1", "2024-01-05 00:00:00", "phone", "inbound"),
        ("K2", "2024-01-06 09:30:00", "email", None),
    ]  # fmt: skip


def test_quarantine_record_keeps_raw_text_and_lines_count_physical_lines(con, landing):
    with_customers(con, landing)
    content = (
        REVENUE_HEADER
        + 'T1,C1,2024-01-05,"multi\nline",10,\n'  # lines 2-3
        + "\n"  # line 4: blank, skipped
        + "T2,C1,2024-01-05,x, 1O.00 ,\n"  # line 5
    )
    write(landing, "revenue/r.csv", content)
    ingest_dataset(con, "revenue", landing)
    assert rows(con, "SELECT line_number, reason, record FROM raw.quarantine") == [
        (5, "non-numeric amount '1O.00'", json.dumps({
            "transaction_id": "T2", "customer_id": "C1", "transaction_date": "2024-01-05",
            "product_line": "x", "amount": " 1O.00 ", "margin": None,
        }, separators=(",", ":"))),
    ]  # fmt: skip
    assert rows(con, "SELECT _source_line, product_line FROM raw.revenue") == [(2, "multi\nline")]


# --- files rejected whole ----------------------------------------------------------------------


def test_missing_required_column_rejects_file_and_good_files_still_load(con, landing):
    with_customers(con, landing)
    write(landing, "revenue/a.csv", REVENUE_HEADER + "T1,C1,2024-01-05,x,10,\n")
    write(landing, "revenue/b.csv", "transaction_id,customer_id,transaction_date,product_line\n")
    write(landing, "revenue/c.csv", REVENUE_HEADER + "T2,C1,2024-01-05,x,10,\n")
    with pytest.raises(FileRejected) as caught:
        ingest_dataset(con, "revenue", landing)
    error = caught.value
    assert str(error) == "revenue/b.csv: line 1: missing required column 'amount'"
    assert (error.file, error.line, error.column) == ("revenue/b.csv", 1, "amount")
    assert rows(con, "SELECT transaction_id FROM raw.revenue ORDER BY 1") == [("T1",), ("T2",)]
    (report,) = error.reports
    assert (report.files_seen, report.files_loaded, report.files_rejected) == (3, 2, 1)
    assert rows(con, "SELECT source_file, status, message FROM raw.ingest_log "
                     "WHERE status = 'rejected'") == [
        ("revenue/b.csv", "rejected", "revenue/b.csv: line 1: missing required column 'amount'")
    ]  # fmt: skip


def test_wrong_delimiter_is_rejected_naming_the_column(con, landing):
    write(landing, "customers/c.csv", "customer_id;customer_name;customer_type\nC1;Acme;retail\n")
    with pytest.raises(FileRejected) as caught:
        ingest_dataset(con, "customers", landing)
    assert caught.value.line == 1 and caught.value.column == "customer_id"
    message = str(caught.value)
    assert message.startswith("customers/c.csv: line 1: missing required columns 'customer_id'")
    assert "';'-separated" in message
    assert rows(con, "SELECT count(*) FROM raw.customers") == [(0,)]


def test_non_utf8_bytes_reject_the_file_naming_line_and_column(con, landing):
    content = CUSTOMERS.encode() + b"C3,Caf\xe9 Noir,retail,South\n"
    write(landing, "customers/latin1.csv", content)
    with pytest.raises(FileRejected) as caught:
        ingest_dataset(con, "customers", landing)
    error = caught.value
    assert (error.file, error.line, error.column) == ("customers/latin1.csv", 4, "customer_name")
    assert str(error) == ("customers/latin1.csv: line 4: invalid UTF-8 byte 0xe9 in column 'customer_name'")
    assert rows(con, "SELECT count(*) FROM raw.customers") == [(0,)]  # nothing of it loaded


@pytest.mark.parametrize(
    ("content", "line", "fragment"),
    [
        (CUSTOMERS + "C3,Gamma,retail,West,extra-field\n", 4, "5 fields, the header has 4"),
        (CUSTOMERS + 'C3,"Gamma,retail,West\nC4,Delta,retail,West\n', 4, "unclosed quote"),
        (CUSTOMERS + 'C3,Ga"mma,retail,West\n', 4, "stray quote in column 'customer_name'"),
    ],
    ids=["too many fields", "unterminated quote", "stray quote"],
)
def test_malformed_csv_is_rejected_with_its_line(con, landing, content, line, fragment):
    write(landing, "customers/bad.csv", content)
    with pytest.raises(FileRejected) as caught:
        ingest_dataset(con, "customers", landing)
    assert caught.value.line == line
    assert str(caught.value).startswith(f"customers/bad.csv: line {line}: ")
    assert fragment in str(caught.value)
    assert rows(con, "SELECT count(*) FROM raw.customers") == [(0,)]


def test_unreadable_parquet_is_rejected(con, landing):
    write(landing, "customers/broken.parquet", b"PAR1 this is not parquet")
    with pytest.raises(FileRejected, match=r"customers/broken\.parquet: cannot read Parquet"):
        ingest_dataset(con, "customers", landing)


def test_rejected_file_leaves_earlier_rows_intact(con, landing):
    write(landing, "customers/2024.csv", CUSTOMERS)
    ingest_dataset(con, "customers", landing)
    write(landing, "customers/2024.csv", CUSTOMERS + "C3,Gamma,retail,West,oops\n")  # changed
    with pytest.raises(FileRejected):
        ingest_dataset(con, "customers", landing)
    assert rows(con, "SELECT customer_id FROM raw.customers ORDER BY 1") == [("C1",), ("C2",)]


def test_ingest_all_loads_everything_then_raises_all_rejections(con, landing):
    write(landing, "customers/c.csv", CUSTOMERS)
    write(landing, "customers/z.csv", "customer_id\nC5\n")
    write(landing, "revenue/r.csv", REVENUE_HEADER + "T1,C1,2024-01-05,x,10,\n")
    write(landing, "contacts/k.csv", "contact_id,customer_id\n")
    with pytest.raises(FileRejected) as caught:
        ingest_all(con, landing)
    assert [r.file for r in caught.value.rejections] == ["customers/z.csv", "contacts/k.csv"]
    assert str(caught.value).startswith("2 landing files rejected:")
    assert {r.dataset for r in caught.value.reports} == set(DATASETS)
    assert rows(con, "SELECT count(*) FROM raw.revenue") == [(1,)]


# --- re-delivery -------------------------------------------------------------------------------


def test_same_content_again_loads_nothing_under_any_name(con, landing):
    write(landing, "customers/a.csv", CUSTOMERS)
    first = ingest_dataset(con, "customers", landing)
    assert (first.files_loaded, first.rows_loaded) == (1, 2)
    write(landing, "customers/b.csv", CUSTOMERS)  # same bytes, other name
    again = ingest_dataset(con, "customers", landing)
    assert (again.files_seen, again.files_unchanged, again.rows_loaded) == (2, 2, 0)
    assert rows(con, "SELECT count(*) FROM raw.customers") == [(2,)]
    assert rows(con, "SELECT source_file, status FROM raw.ingest_log ORDER BY started_at, 1") == [
        ("customers/a.csv", "loaded"),
        ("customers/a.csv", "unchanged"),
        ("customers/b.csv", "unchanged"),
    ]


def test_conflicting_redelivery_replaces_and_logs_identical_rows_change_nothing(con, landing):
    write(landing, "customers/a.csv", CUSTOMERS)
    ingest_dataset(con, "customers", landing)
    write(
        landing,
        "customers/b.csv",
        "customer_id,customer_name,customer_type,region\n"
        "C1,Acme,retail,North\nC2,Beta Ltd,education,\nC3,Gamma,retail,\n",
    )
    report = ingest_dataset(con, "customers", landing)
    assert (report.rows_loaded, report.rows_replaced, report.rows_total) == (2, 1, 3)
    assert rows(con, "SELECT customer_id, customer_name, _source_file, _source_line "
                     "FROM raw.customers ORDER BY 1") == [
        ("C1", "Acme", "customers/a.csv", 2),
        ("C2", "Beta Ltd", "customers/b.csv", 3),
        ("C3", "Gamma", "customers/b.csv", 4),
    ]  # fmt: skip
    assert rows(con, "SELECT dataset, row_key, previous_source_file, previous_source_line, "
                     "new_source_file, new_source_line FROM raw.row_replacements") == [
        ("customers", "C2", "customers/a.csv", 3, "customers/b.csv", 3),
    ]  # fmt: skip
    assert rows(con, "SELECT rows_read, rows_loaded, rows_replaced FROM raw.ingest_log "
                     "WHERE source_file = 'customers/b.csv'") == [(3, 2, 1)]  # fmt: skip


# --- empty and absent --------------------------------------------------------------------------


def test_header_only_and_empty_files_load_nothing(con, landing):
    write(landing, "customers/header.csv", "customer_id,customer_name,customer_type\n")
    write(landing, "customers/empty.csv", b"")
    report = ingest_dataset(con, "customers", landing)
    assert (report.files_loaded, report.rows_loaded, report.rows_total) == (2, 0, 0)


def test_absent_dataset_folder_is_empty_not_an_error(con, landing):
    write(landing, "customers/c.csv", CUSTOMERS)
    reports = ingest_all(con, landing)
    assert all(isinstance(r, IngestReport) for r in reports)
    contacts = next(r for r in reports if r.dataset == "contacts")
    assert (contacts.files_seen, contacts.rows_total) == (0, 0)
    for name in DATASETS:  # every raw table exists, empty or not
        con.execute(f"SELECT * FROM raw.{name}")
    assert missing_required_datasets(landing) == ["revenue"]
    assert missing_required_datasets(landing / "nowhere") == ["customers", "revenue"]


# --- formats and columns -----------------------------------------------------------------------


def test_parquet_input_with_typed_and_text_columns(con, landing):
    with_customers(con, landing)
    frame = pl.DataFrame(
        {
            "Transaction_ID": ["T1", "T2", "T3"],
            "customer_id": ["C1", "C2", "C9"],
            "transaction_date": [date(2024, 1, 5)] * 3,
            "product_line": ["x", "y", "z"],
            "amount": [64.71, -3.5, 1.0],
            "margin": ["1.25", "abc", None],
        }
    )
    (landing / "revenue").mkdir()
    frame.write_parquet(landing / "revenue" / "2024.parquet")
    report = ingest_dataset(con, "revenue", landing)
    # an unreadable margin loads as null (a data issue); C9 is held until it is delivered
    assert (report.rows_loaded, report.rows_quarantined, report.data_issues) == (3, 0, 1)
    assert rows(con, "SELECT transaction_id, amount::VARCHAR, margin::VARCHAR, _source_line "
                     "FROM raw.revenue ORDER BY 1") == [
        ("T1", "64.71", "1.25", 1), ("T2", "-3.50", None, 2), ("T3", "1.00", None, 3)
    ]  # fmt: skip
    assert rows(
        con, "SELECT line_number, column_name, issue FROM raw.data_issues WHERE dataset = 'revenue'"
    ) == [(2, "margin", "non-numeric margin 'abc' (loaded as null)")]


def test_column_names_are_case_insensitive_and_extras_kept_in_extra(con, landing):
    write(
        landing,
        "customers/c.csv",
        "CUSTOMER_ID,Customer_Name,customer_type,Segment,Notes\nC1,Acme,retail,big,\n",
    )
    ingest_dataset(con, "customers", landing)
    ((customer_id, region, extra),) = rows(con, "SELECT customer_id, region, _extra FROM raw.customers")
    assert (customer_id, region) == ("C1", None)
    assert json.loads(extra) == {"segment": "big", "notes": None}


def test_huge_text_field_loads(con, landing):
    name = "N" * 1_000_000
    write(landing, "customers/c.csv", f"customer_id,customer_name,customer_type\nC1,{name},x\n")
    ingest_dataset(con, "customers", landing)
    assert rows(con, "SELECT length(customer_name) FROM raw.customers") == [(1_000_000,)]


def test_contract_rejects_rows_the_rules_must_have_quarantined():
    frame = pl.DataFrame(
        {"customer_id": ["C1"], "as_of_date": [date(2024, 1, 1)], "employees": [0],
         "_source_file": ["x.csv"], "_source_line": [2], "_extra": [None]},
        schema_overrides={"_extra": pl.String},
    )  # fmt: skip
    with pytest.raises(pandera.errors.SchemaErrors):
        validate_valid_rows("employee_counts", frame)
    validate_valid_rows("employee_counts", frame.with_columns(employees=pl.lit(3, pl.Int64)))


def test_contract_rejects_a_repeated_key_and_names_its_rows():
    frame = pl.DataFrame(
        {"customer_id": ["C1", "C1", "C2"], "as_of_date": [date(2024, 1, 1)] * 3,
         "employees": [1, 2, 3], "_source_file": ["x.csv"] * 3, "_source_line": [2, 3, 4],
         "_extra": [None] * 3},
        schema_overrides={"_extra": pl.String},
    )  # fmt: skip
    with pytest.raises(pandera.errors.SchemaErrors) as error:
        validate_valid_rows("employee_counts", frame)
    failures = error.value.failure_cases
    assert "one row per key (customer_id, as_of_date)" in failures["check"].to_list()
    assert len(failures) == 2  # both rows of C1, not C2
    validate_valid_rows("employee_counts", frame.tail(2))


def test_contract_rejects_a_repeated_one_column_key():
    frame = pl.DataFrame(
        {"customer_id": ["C1", "C2", "C1"], "customer_name": ["a", "b", "c"],
         "customer_type": ["retail"] * 3, "region": [None] * 3, "_source_file": ["x.csv"] * 3,
         "_source_line": [2, 3, 4], "_extra": [None] * 3},
        schema_overrides={"region": pl.String, "_extra": pl.String},
    )  # fmt: skip
    with pytest.raises(pandera.errors.SchemaErrors) as error:
        validate_valid_rows("customers", frame)
    assert error.value.failure_cases["check"].to_list() == ["one row per key (customer_id)"] * 2
    validate_valid_rows("customers", frame.head(2))


def test_cached_table_blocks_are_released_and_the_memory_limit_is_kept(con, monkeypatch):
    monkeypatch.setattr(loader, "RELEASE_LIMIT", "1MB")  # DuckDB keeps up to it: a small table here
    (default,) = con.execute("SELECT current_setting('memory_limit')").fetchone()
    con.execute("CREATE TABLE t AS SELECT range AS i, range::varchar AS s FROM range(2000000)")
    con.execute("CHECKPOINT")
    cached = "SELECT memory_usage_bytes FROM duckdb_memory() WHERE tag = 'BASE_TABLE'"
    assert rows(con, "SELECT sum(i), count(DISTINCT s) FROM t") == [(1999999000000, 2000000)]
    (before,) = rows(con, cached)[0]
    release_cached_blocks(con)
    (after,) = rows(con, cached)[0]
    assert after < before / 10, (before, after)
    assert rows(con, "SELECT current_setting('memory_limit')") == [(default,)]
    assert rows(con, "SELECT sum(i), count(DISTINCT s) FROM t") == [(1999999000000, 2000000)]
    con.execute("SET memory_limit = '1GB'")  # a limit the caller set comes back
    release_cached_blocks(con)
    (kept,) = rows(con, "SELECT current_setting('memory_limit')")[0]
    assert kept in ("953.6 MiB", "953.5 MiB")  # to the precision DuckDB shows it with


# --- large files: judged a slice at a time, as if whole ----------------------------------------


def assert_judged_alike(sliced, whole):
    for part in ("valid", "quarantine", "issues"):
        assert getattr(sliced, part).to_dicts() == getattr(whole, part).to_dicts(), part


@pytest.mark.parametrize(
    "case", [*REASON_CASES.values(), *ISSUE_CASES.values()], ids=[*REASON_CASES, *ISSUE_CASES]
)
def test_a_file_judged_in_slices_is_judged_as_whole(landing, case):
    dataset, content = case[0], case[1]
    path = write(landing, f"{dataset}/part.csv", content)
    frame = read_landing_file(path, f"{dataset}/part.csv", DATASETS[dataset])
    assert_judged_alike(
        clean_file(frame, DATASETS[dataset], "part.csv", rows=1),
        clean_frame(frame, DATASETS[dataset], "part.csv"),
    )


REVENUE_LINE = st.tuples(
    st.sampled_from(["T1", "T2", "T3", "T4", " T5", "T6", ""]),  # keys repeat; blank, padded
    st.sampled_from(["C1", "C2", ""]),
    st.sampled_from(["2024-01-05", "2024-02-30", "2024-03-01"]),
    st.sampled_from(["", "hardware"]),
    st.sampled_from(["10.00", "-2", "ten", ""]),
    st.sampled_from(["", "1.5", "x"]),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(REVENUE_LINE, min_size=1, max_size=12), rows=st.integers(1, 5))
def test_revenue_in_slices_of_any_size_is_judged_as_whole(landing, lines, rows):
    content = REVENUE_HEADER + "".join(",".join(line) + "\n" for line in lines)
    path = write(landing, "revenue/part.csv", content)
    frame = read_landing_file(path, "revenue/part.csv", DATASETS["revenue"])
    whole = clean_frame(frame, DATASETS["revenue"], "part.csv")
    assert_judged_alike(clean_file(frame, DATASETS["revenue"], "part.csv", rows=rows), whole)


def test_a_file_merged_in_parts_changes_raw_as_merged_at_once(tmp_path, monkeypatch):
    landing = tmp_path / "landing"
    write(
        landing,
        "revenue/a.csv",
        REVENUE_HEADER + "T1,C1,2024-01-05,x,10,\nT2,C1,2024-01-06,x,5,\nT3,C2,2024-01-07,y,1,\n",
    )
    # T1 identical, T2 and T3 replaced (interleaved with new keys), T4 and T5 new, T6 quarantined
    later = "T4,C1,2024-02-01,x,7,\nT2,C1,2024-01-06,x,6,\nT1,C1,2024-01-05,x,10,\nT5,C2,2024-02-02,y,3,\n"
    write(
        landing, "revenue/b.csv", REVENUE_HEADER + later + "T3,C2,2024-01-08,y,1,\nT6,C2,2024-02-03,y,ten,\n"
    )
    tables = {
        "raw.revenue": "SELECT * EXCLUDE (_loaded_at) FROM raw.revenue ORDER BY transaction_id",
        "raw.row_replacements": "SELECT * EXCLUDE (replaced_at) FROM raw.row_replacements ORDER BY row_key",
        "raw.quarantine": "SELECT * EXCLUDE (quarantined_at) FROM raw.quarantine ORDER BY line_number",
        "raw.ingest_log": "SELECT dataset, source_file, status, rows_read, rows_loaded, rows_quarantined, "
        "rows_replaced, message FROM raw.ingest_log ORDER BY source_file",
    }
    results = []
    for part_rows in (loader.MERGE_ROWS, 1):
        monkeypatch.setattr(loader, "MERGE_ROWS", part_rows)
        con = duckdb.connect(str(tmp_path / f"warehouse_{part_rows}.duckdb"))
        ingest_dataset(con, "revenue", landing)
        results.append({name: rows(con, sql) for name, sql in tables.items()})
        # the loaded rows the merge compared with, and its matches, are dropped with the file
        assert rows(con, "SELECT table_name FROM duckdb_tables() WHERE temporary") == []
        con.close()
    at_once, in_parts = results
    assert in_parts == at_once
    assert [r[1] for r in at_once["raw.row_replacements"]] == ["T2", "T3"]
    assert [(r[0], r[6]) for r in at_once["raw.revenue"]] == [
        ("T1", "revenue/a.csv"), ("T2", "revenue/b.csv"), ("T3", "revenue/b.csv"), ("T4", "revenue/b.csv"),
        ("T5", "revenue/b.csv"),
    ]  # fmt: skip
