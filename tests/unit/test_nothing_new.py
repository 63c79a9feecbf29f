"""A nightly run with nothing new computes nothing (pipelines/freshness/current.py), and every
kind of news makes it compute."""

import datetime as dt

import duckdb
import pytest

from pipelines.core.config import config_fingerprint, load_config
from pipelines.core.months import first_day, months_between, next_month
from pipelines.freshness.current import nothing_new, package_version, pipeline_version
from pipelines.freshness.stale import stale_months
from pipelines.ingest.datasets import BOOKKEEPING_DDL, create_raw_tables
from pipelines.ingest.landing import file_sha256

PUBLISHED_AT = dt.datetime(2026, 11, 1, 3, 0)


@pytest.fixture
def setup(tmp_path):
    """A landing folder with one loaded revenue file, a warehouse that loaded it before the
    publication, and a published file computed with today's configuration and version."""
    landing, settings = tmp_path / "landing", load_config()
    (landing / "revenue").mkdir(parents=True)
    delivered = landing / "revenue" / "2026-10-31.csv"
    delivered.write_text("transaction_id,customer_id,transaction_date,amount\nT1,C1,2026-10-31,10\n")
    warehouse = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(warehouse))
    con.execute(BOOKKEEPING_DDL)
    con.execute("CREATE TABLE raw.customers AS SELECT 'C1' AS customer_id")
    con.execute(
        "CREATE TABLE raw.revenue AS SELECT 'C1' AS customer_id, DATE '2026-10-31' AS transaction_date"
    )
    _log(con, "revenue/2026-10-31.csv", file_sha256(delivered), PUBLISHED_AT - dt.timedelta(hours=1))
    con.close()
    published = tmp_path / "accounts.duckdb"
    con = duckdb.connect(str(published))
    con.execute(
        "CREATE TABLE publications AS SELECT 1 AS publication_id, ?::TIMESTAMP AS published_at, "
        "DATE '2026-10-31' AS latest_as_of_date, ? AS config_hash, ? AS pipeline_version",
        [PUBLISHED_AT, config_fingerprint(settings)[1], pipeline_version()],
    )
    con.close()
    report = tmp_path / "report.html"
    report.write_text("the report of publication 1")
    return {"warehouse": warehouse, "published": published, "landing": landing, "settings": settings,
            "report": report}  # fmt: skip


def _log(con, source_file, sha, finished_at):
    con.execute(
        "INSERT INTO raw.ingest_log VALUES ('revenue', ?, ?, 1, 'loaded', 1, 1, 0, 0, NULL, ?, ?)",
        [source_file, sha, finished_at, finished_at],
    )


def _nothing_new(setup, **override):
    return nothing_new(**(setup | override))


def test_nothing_new_says_since_which_publication(setup):
    up_to_date = _nothing_new(setup)
    assert up_to_date.reason.startswith("nothing new since publication 1 (as of 2026-10-31)")
    assert up_to_date.stale_months == []


def test_a_new_landing_file_is_news(setup):
    (setup["landing"] / "revenue" / "2026-11-01.csv").write_text(
        "transaction_id,customer_id,transaction_date,amount\nT2,C1,2026-11-01,5\n"
    )
    assert _nothing_new(setup) is None


def test_rows_loaded_after_the_publication_are_news(setup):
    # loaded by a run that failed before it published
    con = duckdb.connect(str(setup["warehouse"]))
    _log(con, "revenue/old.csv", "another", PUBLISHED_AT + dt.timedelta(minutes=5))
    con.close()
    assert _nothing_new(setup) is None


def test_another_configuration_or_pipeline_version_is_news(setup):
    other = setup["settings"].model_copy(update={"revenue_window_months": 6})
    assert _nothing_new(setup, settings=other) is None
    con = duckdb.connect(str(setup["published"]))
    con.execute("UPDATE publications SET pipeline_version = '0.0.1'")
    con.close()
    assert _nothing_new(setup) is None


def test_a_transaction_of_a_customer_not_delivered_yet_is_not_news(setup):
    con = duckdb.connect(str(setup["warehouse"]))
    con.execute("INSERT INTO raw.revenue VALUES ('C9', DATE '2026-11-02')")  # held: C9 unknown
    con.close()
    assert _nothing_new(setup) is not None


def test_a_publication_whose_report_was_not_written_is_not_done(setup):
    setup["report"].unlink()
    assert _nothing_new(setup) is None


def test_the_recorded_version_changes_with_the_code():
    assert pipeline_version().startswith(package_version() + "+")
    assert len(pipeline_version().split("+")[1]) == 12


def test_without_a_publication_there_is_work(setup, tmp_path):
    assert _nothing_new(setup, published=tmp_path / "none.duckdb") is None


def test_months_late_data_made_stale_come_with_the_answer(tmp_path):
    # publication 1 holds 2023-01..2026-10; a late contact (dated 2023-05, no dissatisfier) loaded
    # after it reaches two windows and a month; publication 2 recomputed only the current month
    landing, settings = tmp_path / "landing", load_config()
    landing.mkdir()
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "accounts.duckdb"
    late_at, second_at = PUBLISHED_AT + dt.timedelta(hours=1), PUBLISHED_AT + dt.timedelta(hours=2)
    con = duckdb.connect(str(warehouse))
    create_raw_tables(con)
    con.execute("INSERT INTO raw.customers (customer_id, _loaded_at) VALUES ('C1', ?)", [PUBLISHED_AT])
    con.execute(
        "INSERT INTO raw.revenue (transaction_id, customer_id, transaction_date, amount, _loaded_at) "
        "VALUES ('T1', 'C1', DATE '2026-10-31', 5, ?)",
        [PUBLISHED_AT - dt.timedelta(hours=1)],
    )
    con.execute(
        "INSERT INTO raw.contacts (contact_id, customer_id, contact_date, medium, reason_code, _loaded_at) "
        "VALUES ('K1', 'C1', TIMESTAMP '2023-05-15 10:00', 'phone', 'other', ?)",
        [late_at],
    )
    _log(con, "contacts/late.csv", "late", late_at)
    con.close()
    months = months_between("2023-01", "2026-10")
    ends = [first_day(next_month(m)) - dt.timedelta(days=1) for m in months]
    con = duckdb.connect(str(published))
    con.execute(
        "CREATE TABLE publications (publication_id BIGINT, published_at TIMESTAMP, "
        "months_refreshed VARCHAR[], as_of_dates DATE[], latest_as_of_date DATE, config_hash VARCHAR, "
        "pipeline_version VARCHAR)"
    )
    for publication_id, at, refreshed in ((1, PUBLISHED_AT, months), (2, second_at, ["2026-10"])):
        con.execute(
            "INSERT INTO publications VALUES (?, ?, ?, ?, DATE '2026-10-31', ?, ?)",
            [publication_id, at, refreshed, ends, config_fingerprint(settings)[1], pipeline_version()],
        )
    con.close()
    up_to_date = nothing_new(warehouse, published, landing, settings)
    assert up_to_date.reason.startswith("nothing new since publication 2 (as of 2026-10-31)")
    # the months the contact reaches: its two windows (2 x 12 months) and one month more
    assert up_to_date.stale_months == months[4:29]  # 2023-05..2025-05
    assert up_to_date.stale_months == stale_months(warehouse, published, settings)
