"""SPEC §13 history: a backfill of a month range in one run equals month-by-month runs, and a
rerun of a month replaces exactly its rows."""

from pathlib import Path

import duckdb
import pytest
from conftest import SAMPLE_LANDING

from pipelines.cli import main
from pipelines.core.months import months_between
from pipelines.execution import compute

pytestmark = pytest.mark.e2e

FIRST, LAST = "2024-11", "2026-10"  # the sample's last 24 months
# the README's impact-study walk-through: programme start 2025-11-01, baseline 2025-10-31
IMPACT_CONFIG = Path(__file__).resolve().parents[2] / "data" / "impact_study_config.yaml"


@pytest.fixture(autouse=True)
def impact_study_config(monkeypatch):
    monkeypatch.setenv("ACCOUNTS_CONFIG", str(IMPACT_CONFIG))


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
        mp.setenv("ACCOUNTS_CONFIG", str(IMPACT_CONFIG))
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


def test_the_impact_study_follows_every_month_from_the_baseline(backfilled):
    con = duckdb.connect(str(backfilled / "accounts.duckdb"), read_only=True)
    rows = con.execute(
        "SELECT population, count(*), min(as_of_date), max(as_of_date), any_value(baseline_date), "
        "count(DISTINCT customers) FROM impact_study GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [(p, n, str(lo), str(hi), str(b)) for p, n, lo, hi, b, _ in rows] == [
        (p, 13, "2025-10-31", "2026-10-31", "2025-10-31") for p in ("all", "cohort")
    ]
    assert rows[1][5] == 1  # the cohort is fixed at the baseline
    baseline = con.execute(
        "SELECT count(*) FILTER (WHERE segment <> 'Defector') FROM customer_loyalty "
        "WHERE as_of_date = DATE '2025-10-31'"
    ).fetchone()[0]
    assert (
        con.execute("SELECT customers FROM impact_study WHERE population = 'cohort' LIMIT 1").fetchone()[0]
        == baseline
    )


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
