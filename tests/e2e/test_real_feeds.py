"""Real feeds end to end (SPEC §1, §3), each case on data the test builds, through `accounts`:

1. customers without a type (2 %): they load, count under 'unknown', and each gap is a data issue;
2. and 3. rows that arrive before their customer (five customers withheld from the sample, their
   Parquet revenue and contacts still delivered): the run succeeds, the rows are held and
   reported; once the customers arrive every published table equals a run that had them from
   the start;
4. history from any year (1997), and months outside the data refused with the data's range;
6. config drift: a run with another configuration than the published history's refuses, naming
   the parameter and the months; a backfill restates on purpose;
7. (errors) each refusal is a short message, not a traceback.
"""

import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_LANDING
from run_helpers import accounts_in_process as accounts

from pipelines.publication.compare import compare_publications
from sample_data import generate

pytestmark = pytest.mark.e2e

WITHHELD = ["C000011", "C000012", "C000013", "C000014", "C000015"]
IMPACT_CONFIG = Path(__file__).resolve().parents[2] / "data" / "impact_study_config.yaml"


def sample_copy(target: Path, without_type: int = 60) -> Path:
    """The sample, with `without_type` customers' type blanked (every 50th customer)."""
    shutil.copytree(SAMPLE_LANDING, target)
    customers = pl.read_csv(target / "customers" / "customers.csv", infer_schema=False)
    blank = pl.int_range(pl.len()) % 50 == 7
    customers = customers.with_columns(
        pl.when(blank).then(None).otherwise(pl.col("customer_type")).alias("customer_type")
    )
    assert customers.get_column("customer_type").null_count() == without_type
    customers.write_csv(target / "customers" / "customers.csv")
    return target


def withhold(landing: Path, ids: list[str]) -> pl.DataFrame:
    """Take the customers `ids` out of the customers extract; return their rows."""
    path = landing / "customers" / "customers.csv"
    customers = pl.read_csv(path, infer_schema=False)
    customers.filter(~pl.col("customer_id").is_in(ids)).write_csv(path)
    return customers.filter(pl.col("customer_id").is_in(ids))


@pytest.fixture(scope="module")
def feeds(tmp_path_factory):
    base = tmp_path_factory.mktemp("feeds")
    with pytest.MonkeyPatch.context() as mp:
        from_start = sample_copy(base / "from_start")
        late = sample_copy(base / "late")
        withheld = withhold(late, WITHHELD)
        results = {"from_start": accounts(mp, from_start, base / "wh_start", "run")}
        results["before"] = accounts(mp, late, base / "wh_late", "run")
        results["held_before"] = _held(base / "wh_late" / "accounts.duckdb")
        withheld.write_csv(late / "customers" / "zz-late-crm-sync.csv")  # the CRM sync, next night
        results["after"] = accounts(mp, late, base / "wh_late", "run")
    results["start_file"] = base / "wh_start" / "accounts.duckdb"
    results["late_file"] = base / "wh_late" / "accounts.duckdb"
    return results


def _held(published: Path) -> list[tuple]:
    con = duckdb.connect(str(published), read_only=True)
    try:
        return con.execute(
            "SELECT dataset, customer_id, count(*) FROM audit.held_rows GROUP BY ALL ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()


def test_customers_without_a_type_count_under_unknown_with_a_data_issue(feeds):
    assert feeds["from_start"][0] == 0
    con = duckdb.connect(str(feeds["start_file"]), read_only=True)
    try:
        worth = con.execute(
            "SELECT count(*), count(*) FILTER (WHERE customer_type = 'unknown') FROM latest.customer_worth"
        )
        assert worth.fetchone() == (3000, 60)  # nobody lost: every customer graded
        issues = con.execute("SELECT count(*) FROM audit.data_issues WHERE column_name = 'customer_type'")
        assert issues.fetchone() == (60,)
        # the sample's own gaps too: 95 customers without a region
        regions = con.execute("SELECT count(*) FROM audit.data_issues WHERE column_name = 'region'")
        assert regions.fetchone() == (95,)
        assert con.execute("SELECT data_issues FROM publications").fetchone() == (155,)
    finally:
        con.close()


def test_rows_before_their_customer_are_held_reported_and_counted_once_it_arrives(feeds):
    assert feeds["before"][0] == 0, feeds["before"][2]
    held = feeds["held_before"]
    assert {customer for _, customer, _ in held} == set(WITHHELD)
    assert {dataset for dataset, _, _ in held} >= {"revenue", "contacts"}
    assert feeds["after"][0] == 0, feeds["after"][2]
    assert _held(feeds["late_file"]) == []
    # every published table equals the run that had the customers from the start
    results = compare_publications(feeds["start_file"], feeds["late_file"])
    main_tables = [r for r in results if r.table.startswith("main.")]
    assert main_tables and all(r.equal for r in main_tables), [str(r) for r in main_tables if not r.equal]


def test_history_from_any_year_and_months_outside_the_data_refused(tmp_path, monkeypatch):
    landing, warehouse = tmp_path / "landing", tmp_path / "warehouse"
    generate(landing, customers=150, seed=3, start=date(1997, 1, 1), end=date(1998, 12, 31))
    # a young book: the customers double from month to month at first, beyond the default band
    config = tmp_path / "young.yaml"
    config.write_text("quality: {max_row_count_change: 5}\n")
    code, out, err = accounts(monkeypatch, landing, warehouse, "run", config=config)
    assert code == 0, err
    assert "as of 1998-12-" in out
    code, out, err = accounts(
        monkeypatch, landing, warehouse, "backfill", "--from", "1997-06", "--to", "1997-08", config=config
    )
    assert code == 0, err
    for args in (["run", "--month", "2019-06"], ["run", "--month", "2027-03"]):
        code, out, err = accounts(monkeypatch, landing, warehouse, *args, config=config)
        assert code == 1
        assert f"month {args[-1]} is outside the data: transactions run from 1997-01 to 1998-12" in err
        assert len(err.strip().splitlines()) <= 2 and "Traceback" not in err
    code, out, err = accounts(
        monkeypatch, landing, warehouse, "backfill", "--from", "1998-05", "--to", "1998-02", config=config
    )
    assert (
        code == 1
        and "month range ends before it starts: 1998-05..1998-02 (transactions run from 1997-01" in err
    )


def test_config_drift_is_refused_until_restated_on_purpose(tmp_path, monkeypatch):
    landing, warehouse = SAMPLE_LANDING, tmp_path / "warehouse"
    published = warehouse / "accounts.duckdb"
    # the README's walk-through: a study configuration, and a backfill from its baseline
    code, _, err = accounts(
        monkeypatch,
        landing,
        warehouse,
        "backfill",
        "--from",
        "2026-08",
        "--to",
        "2026-10",
        config=IMPACT_CONFIG,
    )
    assert code == 0, err
    study = _rows(published, "SELECT * FROM impact_study ORDER BY ALL")
    before = published.read_bytes()
    # then a plain nightly run with the default configuration: refused, nothing published
    code, _, err = accounts(monkeypatch, landing, warehouse, "run")
    assert code == 1
    assert "impact_study.programme_start_date: '2025-11-01' (published) -> None (this run)" in err
    assert "accounts backfill --from 2026-08 --to 2026-10" in err and "Traceback" not in err
    assert published.read_bytes() == before
    # a parameter that shapes every snapshot: names the months that would stay as they were
    window = tmp_path / "window.yaml"
    window.write_text(IMPACT_CONFIG.read_text() + "revenue_window_months: 6\n")
    code, _, err = accounts(monkeypatch, landing, warehouse, "run", config=window)
    assert code == 1 and "revenue_window_months: 12 (published) -> 6 (this run), in 2026-08..2026-09" in err
    # the same configuration as the history: fine, and the study is kept
    code, _, err = accounts(monkeypatch, landing, warehouse, "run", config=IMPACT_CONFIG)
    assert code == 0, err
    assert _rows(published, "SELECT * FROM impact_study ORDER BY ALL") == study
    # knowingly: published, and the publication records the drift
    code, _, err = accounts(monkeypatch, landing, warehouse, "run", "--allow-config-drift")
    assert code == 0, err
    (drift,) = _rows(published, "SELECT config_drift FROM publications ORDER BY publication_id DESC LIMIT 1")[
        0
    ]
    assert any(d.startswith("impact_study.programme_start_date") for d in drift)


def _rows(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()
