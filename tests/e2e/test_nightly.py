"""SPEC §13 nightly runs: the schedule skips when nothing new arrived, the sensor refreshes the
current month, and late data marks exactly the published months it changes as stale."""

import datetime as dt

import duckdb
import pytest
from conftest import use_dirs
from dagster import RunRequest, SkipReason, build_schedule_context

from pipelines.cli import main
from pipelines.core.months import contiguous_ranges
from pipelines.freshness.automation import current_month_request, nightly_load
from pipelines.freshness.stale import stale_months
from pipelines.ingest.loader import ingest_all
from pipelines.resources import WarehouseResource


def test_schedule_runs_only_when_new_files_arrive(tmp_path, monkeypatch, landing_copy):
    use_dirs(monkeypatch, landing_copy, tmp_path / "warehouse")
    context = build_schedule_context(scheduled_execution_time=dt.datetime(2026, 11, 2, 2, 0))
    first = nightly_load(context)
    assert isinstance(first, RunRequest) and int(first.tags["accounts/new_files"]) > 10

    warehouse = WarehouseResource()
    with warehouse.connect() as con:
        ingest_all(con, landing_copy)
    assert isinstance(nightly_load(context), SkipReason)

    (landing_copy / "customers" / "late.csv").write_text(
        "customer_id,customer_name,customer_type\nC999999,New Co,retail\n"
    )
    again = nightly_load(context)
    assert isinstance(again, RunRequest) and again.tags["accounts/new_files"] == "1"

    refresh = current_month_request(warehouse, run_key="run-1")
    assert refresh.partition_key == "2026-10-01"


def test_contiguous_ranges():
    assert contiguous_ranges(["2025-12", "2026-01", "2026-03"]) == [
        ("2025-12", "2026-01"),
        ("2026-03", "2026-03"),
    ]
    assert contiguous_ranges([]) == []


@pytest.mark.e2e
def test_late_transactions_mark_their_months_stale_and_backfill_fixes_exactly_them(
    tmp_path, monkeypatch, landing_copy, capsys
):
    warehouse = tmp_path / "warehouse"
    use_dirs(monkeypatch, landing_copy, warehouse)
    assert main(["backfill", "--from", "2026-07", "--to", "2026-10"]) == 0
    published = warehouse / "accounts.duckdb"
    assert stale_months(warehouse / "warehouse.duckdb", published) == []

    # a late file: a transaction dated in August, already published
    (landing_copy / "revenue" / "late-2026-08.csv").write_text(
        "transaction_id,customer_id,transaction_date,product_line,amount\n"
        "LATE-1,C000001,2026-08-15,tools,123456.78\n"
    )
    capsys.readouterr()
    assert main(["run"]) == 0  # the nightly run refreshes October only
    # August and September are stale, and so is October: it started from September's stale modules
    assert "stale (2026-08..2026-10)" in capsys.readouterr().out
    assert stale_months(warehouse / "warehouse.duckdb", published) == ["2026-08", "2026-09", "2026-10"]

    assert main(["backfill", "--stale"]) == 0
    assert stale_months(warehouse / "warehouse.duckdb", published) == []
    con = duckdb.connect(str(published), read_only=True)
    months = con.execute(
        "SELECT months_refreshed, stale_months FROM publications ORDER BY publication_id"
    ).fetchall()
    assert [m[0] for m in months] == [
        ["2026-07", "2026-08", "2026-09", "2026-10"],
        ["2026-10"],
        ["2026-08", "2026-09", "2026-10"],
    ]
    # the publication table shows what each publication left stale, for BI users too
    assert [m[1] for m in months] == [[], ["2026-08", "2026-09", "2026-10"], []]
    august = con.execute(
        "SELECT actual_revenue FROM customer_worth WHERE customer_id = 'C000001' "
        "AND as_of_date = DATE '2026-08-31'"
    ).fetchone()[0]
    july = con.execute(
        "SELECT actual_revenue FROM customer_worth WHERE customer_id = 'C000001' "
        "AND as_of_date = DATE '2026-07-31'"
    ).fetchone()[0]
    assert float(august) - float(july) > 100_000  # the late transaction now counts in August
