"""SPEC §13 history: a backfill of a month range in one run equals month-by-month runs, and a
rerun of a month replaces exactly its rows."""

import duckdb
import pytest
from conftest import SAMPLE_LANDING

from pipelines.cli import compute, main
from pipelines.partitions import months_between

pytestmark = pytest.mark.e2e

FIRST, LAST = "2024-11", "2026-10"  # the sample's last 24 months


def _tables(path) -> dict[str, list]:
    """Every published history table, rows in a canonical order (publications excluded)."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                "AND table_name <> 'publications' ORDER BY 1"
            ).fetchall()
        ]
        return {n: con.execute(f"SELECT * FROM main.{n} ORDER BY ALL").fetchall() for n in names}
    finally:
        con.close()


@pytest.fixture(scope="module")
def backfilled(tmp_path_factory):
    warehouse = tmp_path_factory.mktemp("backfill")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
        assert main(["backfill", "--from", FIRST, "--to", LAST]) == 0
    return warehouse


def test_backfill_is_one_run_holding_every_month(backfilled):
    con = duckdb.connect(str(backfilled / "accounts.duckdb"), read_only=True)
    publications = con.execute("SELECT months_refreshed, as_of_dates FROM publications").fetchall()
    assert len(publications) == 1
    months, as_of_dates = publications[0]
    assert months == months_between(FIRST, LAST)
    assert len(as_of_dates) == 24
    per_month = con.execute(
        "SELECT strftime(as_of_date, '%Y-%m'), count(*) FROM module_assignments GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [m for m, _ in per_month] == months_between(FIRST, LAST)


def test_backfill_equals_month_by_month_runs(backfilled, tmp_path, monkeypatch):
    monkeypatch.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
    monkeypatch.setenv("ACCOUNTS_WAREHOUSE_DIR", str(tmp_path))
    months = months_between(FIRST, LAST)
    assert main(["run", "--month", months[0]]) == 0  # loads the landing files once
    for month in months[1:]:  # then one run per month, in order, as nightly runs would
        compute(month, month, verbose=False)
    month_by_month = _tables(tmp_path / "accounts.duckdb")
    backfill = _tables(backfilled / "accounts.duckdb")
    assert month_by_month.keys() == backfill.keys()
    for table in backfill:
        assert month_by_month[table] == backfill[table], table


def test_rerunning_a_month_replaces_exactly_its_rows(backfilled, monkeypatch):
    monkeypatch.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
    monkeypatch.setenv("ACCOUNTS_WAREHOUSE_DIR", str(backfilled))
    before = _tables(backfilled / "accounts.duckdb")
    compute("2025-06", "2025-06", verbose=False)
    assert _tables(backfilled / "accounts.duckdb") == before
