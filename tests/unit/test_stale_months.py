"""Exact stale months (SPEC §3): the published months a row loaded after their publication can
change, one test per measure that decides how far a row reaches."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.core.config import load_config, parse_config
from pipelines.core.months import months_between
from pipelines.freshness.stale import stale_months
from pipelines.ingest.datasets import create_raw_tables

PUBLISHED_AT = dt.datetime(2026, 11, 1, 3, 0)
BEFORE, AFTER = PUBLISHED_AT - dt.timedelta(days=1), PUBLISHED_AT + dt.timedelta(hours=1)
MONTHS = months_between("2023-01", "2026-10")  # every month published, D = its last day
SETTINGS = load_config()


def month_end(month: str) -> dt.date:
    first = dt.date.fromisoformat(f"{month}-01")
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@pytest.fixture
def files(tmp_path: Path) -> tuple[Path, Path]:
    warehouse, published = tmp_path / "warehouse.duckdb", tmp_path / "accounts.duckdb"
    con = duckdb.connect(str(warehouse))
    create_raw_tables(con)
    con.execute("INSERT INTO raw.customers (customer_id, _loaded_at) VALUES ('C1', ?)", [BEFORE])
    con.close()
    con = duckdb.connect(str(published))
    con.execute(
        "CREATE TABLE publications (publication_id BIGINT, published_at TIMESTAMP, "
        "months_refreshed VARCHAR[], as_of_dates DATE[])"
    )
    con.execute(
        "INSERT INTO publications VALUES (1, ?, ?, ?)", [PUBLISHED_AT, MONTHS, [month_end(m) for m in MONTHS]]
    )
    con.close()
    return warehouse, published


def insert(warehouse: Path, sql: str, params: list) -> None:
    con = duckdb.connect(str(warehouse))
    con.execute(sql, params)
    con.close()


def sale(warehouse: Path, key: str, customer: str, day: str, loaded_at: dt.datetime) -> None:
    sql = "INSERT INTO raw.revenue (transaction_id, customer_id, transaction_date, amount, _loaded_at) "
    insert(warehouse, sql + "VALUES (?, ?, ?, 5, ?)", [key, customer, dt.date.fromisoformat(day), loaded_at])


def contact(warehouse: Path, key: str, reason_code: str) -> None:
    sql = "INSERT INTO raw.contacts (contact_id, customer_id, contact_date, medium, reason_code, _loaded_at) "
    values = "VALUES (?, 'C1', TIMESTAMP '2023-05-15 10:00', 'phone', ?, ?)"
    insert(warehouse, sql + values, [key, reason_code, AFTER])


def stale(files, settings=SETTINGS) -> list[str]:
    return stale_months(*files, settings)


def test_nothing_loaded_after_the_publication_makes_nothing_stale(files):
    sale(files[0], "T1", "C1", "2023-03-10", BEFORE)
    assert stale(files) == []


def test_a_late_transaction_reaches_every_later_snapshot(files):
    # the universe, product lines ever, the last purchase look back without bound
    sale(files[0], "T1", "C1", "2023-03-10", AFTER)
    assert stale(files) == months_between("2023-03", "2026-10")


def test_a_late_employee_count_reaches_every_later_snapshot(files):
    insert(
        files[0],
        "INSERT INTO raw.employee_counts VALUES ('C1', DATE '2025-06-30', 40, 'e.csv', 2, ?, NULL)",
        [AFTER],
    )
    assert stale(files) == months_between("2025-06", "2026-10")


def test_a_late_contact_reaches_two_windows_and_a_dissatisfier_every_later_snapshot(files):
    contact(files[0], "K1", "order_inquiry")
    # D - 24 months < 2023-05-15 <= D: from May 2023 to April 2025 (D = 2025-04-30), and May
    # 2025, whose health change reads April
    assert stale(files) == months_between("2023-05", "2025-05")
    contact(files[0], "K2", "billing_error")
    # the early-warning list shows the last dissatisfier contacts, however old
    assert stale(files) == months_between("2023-05", "2026-10")


def test_a_late_referral_reaches_two_configured_windows(files):
    insert(
        files[0],
        "INSERT INTO raw.referrals VALUES ('R1', 'C1', DATE '2024-02-01', NULL, 'r.csv', 2, ?, NULL)",
        [AFTER],
    )
    assert stale(files) == months_between("2024-02", "2026-02")  # two windows and a month
    six_months = parse_config({"revenue_window_months": 6})
    assert stale(files, six_months) == months_between("2024-02", "2025-02")


def test_a_late_manager_reaches_every_snapshot_from_when_they_start(files):
    insert(
        files[0],
        "INSERT INTO raw.account_managers (manager_id, manager_name, active_from, active_to, _source_file, "
        "_source_line, _loaded_at) VALUES ('M9', 'New', DATE '2026-04-01', NULL, 'm.csv', 2, ?)",
        [AFTER],
    )
    assert stale(files) == months_between("2026-04", "2026-10")


def test_late_crm_owners_reach_every_published_snapshot(files):
    insert(files[0], "INSERT INTO raw.assignments VALUES ('C1', 'M1', 'a.csv', 2, ?, NULL)", [AFTER])
    assert stale(files) == MONTHS


def test_a_held_row_counts_from_its_customers_arrival(files):
    # loaded before the publication, but its customer arrives after it
    sale(files[0], "T1", "C2", "2026-02-10", BEFORE)
    assert stale(files) == []  # C2 unknown: the row is held and counts nowhere yet
    insert(files[0], "INSERT INTO raw.customers (customer_id, _loaded_at) VALUES ('C2', ?)", [AFTER])
    assert stale(files) == months_between("2026-02", "2026-10")


def test_a_replaced_row_restates_the_months_of_its_previous_date_too(files):
    sale(files[0], "T1", "C1", "2026-05-10", AFTER)
    insert(files[0], "INSERT INTO raw.row_replacements (dataset, row_key, replaced_at, previous_date) "
                     "VALUES ('revenue', 'T1', ?, DATE '2024-08-01')", [AFTER])  # fmt: skip
    assert stale(files) == months_between("2024-08", "2026-10")


def test_a_later_transaction_moves_the_date_of_a_month_published_before_its_end(files):
    con = duckdb.connect(str(files[1]))
    dates = [month_end(m) for m in MONTHS[:-1]] + [dt.date(2026, 10, 20)]  # October's latest sale
    con.execute("UPDATE publications SET as_of_dates = ?", [dates])
    con.close()
    sale(files[0], "T1", "C1", "2026-11-02", AFTER)
    assert stale(files) == ["2026-10"]  # its D becomes 31 October


def test_a_month_computed_after_the_change_from_a_stale_month_before_it_is_stale_too(files):
    # the nightly run published October after a late August sale loaded; August and September
    # were published before it: October started from September's stale assignment
    con = duckdb.connect(str(files[1]))
    later = PUBLISHED_AT + dt.timedelta(hours=2)
    con.execute(
        "INSERT INTO publications VALUES (2, ?, ['2026-10'], ?)", [later, [month_end(m) for m in MONTHS]]
    )
    con.close()
    sale(files[0], "T1", "C1", "2026-08-10", AFTER)
    assert stale(files) == ["2026-08", "2026-09", "2026-10"]
    # a bounded reach stays bounded: a referral of 2024-02 reaches 2024-02..2026-02 only
    insert(files[0], "DELETE FROM raw.revenue", [])
    insert(
        files[0],
        "INSERT INTO raw.referrals VALUES ('R1', 'C1', DATE '2024-02-01', NULL, 'r.csv', 2, ?, NULL)",
        [AFTER],
    )
    assert stale(files) == months_between("2024-02", "2026-02")
