"""The SPEC §1 bad-input matrix end to end, through a real `accounts run` on a copy of the sample
landing folder (tests/test_ingestion.py covers each rule on its own, in process; here the outcome
is what a BI user and an on-call engineer see: the published `audit.quarantine` and
`audit.ingest_log`, the run's exit code and message, and a published file that survives).

Two runs keep it cheap:
1. one bad file per dataset, each with several bad rows (plus an empty file, a header-only file,
   a Parquet file with wrongly typed values, a huge text field, duplicate keys and a conflicting
   re-delivery): the run succeeds and every bad row is in the published quarantine;
2. files that must be rejected whole, in several datasets at once, beside a good file: the run
   exits 1 with a short message naming each file, line and column and the log that holds the
   details; nothing of the rejected files is loaded, the good file is, nothing loaded before is
   lost, and the published file is byte-identical.
Rows naming a customer that is not delivered are held (audit.held_rows), not quarantined.
"""

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_LANDING
from run_helpers import accounts_env, run_accounts

pytestmark = pytest.mark.e2e

HUGE = "N" * 1_000_000

ROW_FILES = {
    "customers/late_delivery.csv": (
        "customer_id,customer_name,customer_type,region\n"
        f"C950001,{HUGE},retail,North\n"  # line 2: huge text field, loads
        "C950002,Twice Ltd,retail,East\n"  # line 3
        "C950002,Twice Again Ltd,retail,East\n"  # line 4: duplicate key in the file
        ",Nameless,retail,West\n"  # line 5: missing key
        "C000002,Apex School (new name),education,East\n"  # line 6: conflicting re-delivery
    ),
    "employee_counts/bad_rows.csv": (
        "customer_id,as_of_date,employees\n"
        "C950001,2026-01-15,120\n"  # line 2: fine
        "C950002,2026-01-15,-5\n"  # line 3: negative employees
        "C950002,2026-02-30,40\n"  # line 4: bad date
        "C950002,2026-03-01,many\n"  # line 5: wrong type
        "C999999,2026-01-15,10\n"  # line 6: unknown customer in a child dataset
        "C950001,2026-01-15,130\n"  # line 7: duplicate compound key in the file
    ),
    "revenue/bad_rows.csv": (
        "transaction_id,customer_id,transaction_date,product_line,amount,margin\n"
        "TB000001,C950001,2026-10-10,equipment,5000.00,1000.00\n"  # line 2: fine
        "TB000002,C950002,2026-10-11,equipment,abc,\n"  # line 3: non-numeric amount
        "TB000003,C999999,2026-10-11,equipment,10.00,\n"  # line 4: unknown customer
        "TB000004,C950002,2026/10/11,equipment,10.00,\n"  # line 5: bad date
        "TB000001,C950002,2026-10-12,service,99.00,\n"  # line 6: duplicate key
        ",C950002,2026-10-12,service,99.00,\n"  # line 7: missing key
    ),
    "contacts/bad_rows.csv": (
        "contact_id,customer_id,contact_date,medium,direction\n"
        "KB000001,C950001,2026-10-10 09:30:00,visit,outbound\n"  # line 2: fine
        "KB000002,C950001,2026-10-10,pigeon,outbound\n"  # line 3: unknown medium
        "KB000003,C950001,2026-10-32,phone,outbound\n"  # line 4: bad date
        "KB000004,C999999,2026-10-10,phone,outbound\n"  # line 5: unknown customer
    ),
    "contacts/header_only.csv": "contact_id,customer_id,contact_date,medium\n",
    "referrals/empty.csv": "",
    "account_managers/bad_rows.csv": (
        "manager_id,manager_name,active_from,active_to\n"
        "MB01,Late Hire,2026-13-01,\n"  # line 2: bad date
        "MB02,Short Stay,2026-05-01,2026-04-01\n"  # line 3: leaves before joining
    ),
}
# (dataset, file, line, column, reason fragment) of every row that must be quarantined
QUARANTINED = {
    ("customers", "customers/late_delivery.csv", 4, "customer_id", "duplicate customer_id 'C950002'"),
    ("customers", "customers/late_delivery.csv", 5, "customer_id", "missing customer_id"),
    ("employee_counts", "employee_counts/bad_rows.csv", 3, "employees", "employees must be > 0, got '-5'"),
    ("employee_counts", "employee_counts/bad_rows.csv", 4, "as_of_date", "bad date '2026-02-30'"),
    ("employee_counts", "employee_counts/bad_rows.csv", 5, "employees", "employees not an integer 'many'"),
    ("employee_counts", "employee_counts/bad_rows.csv", 7, "customer_id, as_of_date", "duplicate key"),
    ("revenue", "revenue/bad_rows.csv", 3, "amount", "non-numeric amount 'abc'"),
    ("revenue", "revenue/bad_rows.csv", 5, "transaction_date", "bad date '2026/10/11'"),
    ("revenue", "revenue/bad_rows.csv", 6, "transaction_id", "duplicate transaction_id 'TB000001'"),
    ("revenue", "revenue/bad_rows.csv", 7, "transaction_id", "missing transaction_id"),
    ("revenue", "revenue/typed.parquet", 2, "amount", "non-numeric amount 'ten'"),
    ("revenue", "revenue/typed.parquet", 3, "transaction_date", "bad date"),
    ("contacts", "contacts/bad_rows.csv", 3, "medium", "unknown medium 'pigeon'"),
    ("contacts", "contacts/bad_rows.csv", 4, "contact_date", "bad date '2026-10-32'"),
    ("account_managers", "account_managers/bad_rows.csv", 2, "active_from", "bad date '2026-13-01'"),
    ("account_managers", "account_managers/bad_rows.csv", 3, "active_to", "not after active_from"),
}

# rows held for a customer that was never delivered: (dataset, file, line)
HELD = {
    ("employee_counts", "employee_counts/bad_rows.csv", 6),
    ("revenue", "revenue/bad_rows.csv", 4),
    ("contacts", "contacts/bad_rows.csv", 5),
}
# a good file delivered the same night as the rejected ones: it loads
GOOD_FILE = (
    "revenue/good_night.csv",
    "transaction_id,customer_id,transaction_date,product_line,amount\n"
    "TG000001,C000001,2026-10-15,tools,10.00\n",
)

# file -> (line, column, message fragment) of files rejected whole
REJECTED_FILES = {
    "revenue/no_amount.csv": (
        "transaction_id,customer_id,transaction_date,product_line\nTR1,C000001,2026-10-01,tools\n",
        1, "amount", "missing required column 'amount'",
    ),
    "employee_counts/semicolons.csv": (
        "customer_id;as_of_date;employees\nC000001;2026-01-01;10\n",
        1, "customer_id", "';'-separated",
    ),
    "contacts/latin1.csv": (
        b"contact_id,customer_id,contact_date,medium,contact_person\n"
        b"KR1,C000001,2026-10-01,phone,Ann\nKR2,C000001,2026-10-02,phone,Ren\xe9e\n",
        3, "contact_person", "invalid UTF-8 byte 0xe9 in column 'contact_person'",
    ),
    "referrals/ragged.csv": (
        "referral_id,referrer_customer_id,referral_date\nRR1,C000001,2026-10-01\n"
        "RR2,C000001,2026-10-02,extra,fields\n",
        3, None, "5 fields, the header has 3",
    ),
    "account_managers/broken.parquet": (b"PAR1 not really parquet", None, None, "cannot read Parquet"),
}  # fmt: skip


def write(landing, name, content) -> None:
    path = landing / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad_input")
    landing, warehouse = base / "landing", base / "warehouse"
    shutil.copytree(SAMPLE_LANDING, landing)
    for name, content in ROW_FILES.items():
        write(landing, name, content)
    pl.DataFrame(  # wrongly typed values in a typed file: text amounts, an integer as date
        {"transaction_id": ["TP1", "TP2", "TP3"], "customer_id": ["C950001"] * 3,
         "transaction_date": ["2026-10-03", "2026-10-04", "20261005"], "product_line": ["x"] * 3,
         "amount": ["12.50", "ten", "3"]}
    ).write_parquet(landing / "revenue" / "typed.parquet")  # fmt: skip
    env = accounts_env(landing, warehouse)
    rows_run = run_accounts(env, "run")
    published = warehouse / "accounts.duckdb"
    after_rows_run = published.read_bytes() if published.exists() else None
    raw_before = _raw_counts(warehouse / "warehouse.duckdb")
    for name, (content, *_rest) in REJECTED_FILES.items():
        write(landing, name, content)
    write(landing, *GOOD_FILE)
    reject_run = run_accounts(env, "run")
    return {"rows_run": rows_run, "reject_run": reject_run, "published": published,
            "after_rows_run": after_rows_run, "raw_before": raw_before,
            "raw_after": _raw_counts(warehouse / "warehouse.duckdb"),
            "warehouse": warehouse / "warehouse.duckdb"}  # fmt: skip


def _raw_counts(warehouse) -> dict[str, int]:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' AND table_name NOT IN "
            "('ingest_log') ORDER BY 1").fetchall()]  # fmt: skip
        return {t: con.execute(f"SELECT count(*) FROM raw.{t}").fetchone()[0] for t in tables}
    finally:
        con.close()


@pytest.fixture
def published(runs):
    con = duckdb.connect(str(runs["published"]), read_only=True)
    yield con
    con.close()


def test_bad_rows_are_quarantined_and_published_with_file_line_column_reason(runs, published):
    assert runs["rows_run"].returncode == 0, runs["rows_run"].stderr
    rows = published.execute(
        "SELECT dataset, source_file, line_number, column_name, reason FROM audit.quarantine"
    ).fetchall()
    for dataset, file, line, column, fragment in QUARANTINED:
        matches = [r for r in rows if r[:4] == (dataset, file, line, column)]
        assert matches, f"no quarantine row for {file} line {line} ({column}); got {sorted(rows)}"
        assert fragment in matches[0][4], matches
    assert len(rows) == len(QUARANTINED)  # nothing else quarantined: the good rows loaded
    # the quarantined row keeps its raw values for the analyst
    record = published.execute("SELECT record FROM audit.quarantine WHERE reason LIKE 'unknown medium%'")
    assert '"pigeon"' in record.fetchone()[0]


def test_good_rows_of_bad_files_load_and_reach_the_published_tables(runs, published):
    worth = published.execute(
        "SELECT customer_id, length(customer_name), employees FROM latest.customer_worth "
        "WHERE customer_id IN ('C950001', 'C950002') ORDER BY 1"
    ).fetchall()
    # huge name loaded whole; its employee count from the good row; C950002 has no valid revenue
    assert worth == [("C950001", len(HUGE), 120)]
    name = published.execute(
        "SELECT customer_name FROM latest.customer_worth WHERE customer_id = 'C000002'"
    ).fetchone()[0]
    assert name == "Apex School (new name)"  # the conflicting re-delivery replaced the old row
    log = dict(
        ((f, (s, read, loaded, quarantined, replaced)) for f, s, read, loaded, quarantined, replaced in
         published.execute("SELECT source_file, status, rows_read, rows_loaded, rows_quarantined, "
                           "rows_replaced FROM audit.ingest_log").fetchall())
    )  # fmt: skip
    assert log["customers/late_delivery.csv"] == ("loaded", 5, 3, 2, 1)
    assert log["revenue/bad_rows.csv"] == ("loaded", 6, 2, 4, 0)  # 1 good, 1 held, 4 quarantined
    assert log["revenue/typed.parquet"] == ("loaded", 3, 1, 2, 0)
    assert log["contacts/header_only.csv"] == ("loaded", 0, 0, 0, 0)  # empty, not an error
    assert log["referrals/empty.csv"] == ("loaded", 0, 0, 0, 0)
    replaced = runs["raw_before"]["row_replacements"]
    assert replaced == 1


def test_rows_of_an_undelivered_customer_are_held_and_reported(runs, published):
    held = published.execute(
        "SELECT dataset, source_file, source_line, customer_id FROM audit.held_rows"
    ).fetchall()
    assert {r[:3] for r in held} == HELD and {r[3] for r in held} == {"C999999"}
    assert published.execute("SELECT held_rows FROM publications").fetchall() == [(3,)]
    assert "held rows: 3 rows wait for 1 customers not delivered yet" in runs["rows_run"].stdout


def test_files_rejected_whole_fail_the_run_naming_file_line_and_column(runs):
    done = runs["reject_run"]
    assert done.returncode == 1
    error = done.stderr
    # a short message: one line per rejected file, and where the details are
    assert len(error.strip().splitlines()) <= len(REJECTED_FILES) + 4, error
    log = error.split("every detail: ")[1].split()[0]
    assert "FileRejected" in Path(log).read_text()  # the log holds the traceback
    for name, (_, line, column, fragment) in REJECTED_FILES.items():
        expected = f"{name}: line {line}: " if line else f"{name}: "
        assert expected in error, (name, error)
        assert fragment in error, (name, error)
        if column:
            assert column in error
    assert "Traceback" not in error


def test_rejected_files_lose_nothing_and_leave_the_publication_byte_identical(runs):
    assert runs["after_rows_run"] is not None
    assert runs["published"].read_bytes() == runs["after_rows_run"]
    # nothing of the rejected files, nothing lost; the good file of the same night loaded
    expected = runs["raw_before"] | {"revenue": runs["raw_before"]["revenue"] + 1}
    assert runs["raw_after"] == expected
    con = duckdb.connect(str(runs["warehouse"]), read_only=True)
    try:
        rejected = con.execute(
            "SELECT source_file, message FROM raw.ingest_log WHERE status = 'rejected' ORDER BY 1"
        ).fetchall()
    finally:
        con.close()
    assert [r[0] for r in rejected] == sorted(REJECTED_FILES)
