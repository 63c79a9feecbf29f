"""Incremental history equals a full rebuild (SPEC §13): three nights of deliveries — each night's
new rows, late rows for a month already published, transactions delivered again with new amounts —
each followed by `accounts run` and, when it reports stale months, `accounts backfill --stale`
(what an operator or the nightly schedule does). The published history must then equal one backfill
of the same months from all the files at once: every mart, every row, every type.

The sample's 2026 revenue and contacts are split by date; the other datasets arrive on the first
night. Night 1: rows up to 2026-08-20, less the August rows of some customers (held back).
Night 2: rows up to 2026-09-15. Night 3: the rest, the held-back August rows, and some September
transactions again with other amounts."""

import shutil
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_LANDING

from pipelines.cli import main
from pipelines.publication.compare import compare_publications

pytestmark = pytest.mark.e2e

MONTHS = ("2026-08", "2026-10")
NIGHTS = (date(2026, 8, 20), date(2026, 9, 15), date(2026, 10, 31))
DATE_COLUMN = {"revenue": "transaction_date", "contacts": "contact_date"}
LATE_CUSTOMERS = [f"C{n:06d}" for n in range(1, 3000, 97)]  # their August rows come on night 3
REDELIVERED = 25  # September transactions delivered again on night 3, amount + 10


def _day(dataset: str) -> pl.Expr:
    return pl.col(DATE_COLUMN[dataset]).cast(pl.Date)


def _deliveries() -> list[dict[str, pl.DataFrame]]:
    """Per night: {relative path: rows} of the split datasets' 2026 files."""
    nights: list[dict[str, pl.DataFrame]] = [{}, {}, {}]
    for dataset in DATE_COLUMN:
        rows = pl.read_parquet(SAMPLE_LANDING / dataset / "2026.parquet")
        late = _day(dataset).is_between(date(2026, 8, 1), NIGHTS[0]) & pl.col("customer_id").is_in(
            LATE_CUSTOMERS
        )
        previous = date(1900, 1, 1)
        for night, cutoff in enumerate(NIGHTS):
            part = rows.filter(_day(dataset).is_between(previous, cutoff, closed="right") & ~late)
            nights[night][f"{dataset}/2026_night{night + 1}.parquet"] = part
            previous = cutoff
        nights[2][f"{dataset}/2026_night3_late.parquet"] = rows.filter(late)
    revenue = pl.read_parquet(SAMPLE_LANDING / "revenue" / "2026.parquet")
    september = revenue.filter(_day("revenue").is_between(date(2026, 9, 1), NIGHTS[1]))
    again = september.head(REDELIVERED).with_columns(pl.col("amount") + 10)
    nights[2]["revenue/2026_night3_corrections.parquet"] = again
    return nights


def _deliver(landing: Path, files: dict[str, pl.DataFrame]) -> None:
    for name, rows in files.items():
        assert rows.height, name  # every delivery brings rows
        rows.write_parquet(landing / name)


def _landing_before_2026(target: Path) -> Path:
    shutil.copytree(SAMPLE_LANDING, target)
    for dataset in DATE_COLUMN:
        (target / dataset / "2026.parquet").unlink()
    return target


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """(incremental publication, full rebuild's, the commands run on the nights)."""
    base = tmp_path_factory.mktemp("incremental")
    config = base / "config.yaml"
    config.write_text("impact_study:\n  programme_start_date: 2026-09-01\n")
    nights = _deliveries()
    commands: list[list[str]] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_CONFIG", str(config))
        landing = _landing_before_2026(base / "landing")
        mp.setenv("ACCOUNTS_LANDING_DIR", str(landing))
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(base / "incremental"))
        for night in nights:
            _deliver(landing, night)
            assert main(["run"]) == 0
            commands.append(["run"])
            # `run` reports stale months; the backfill recomputes exactly them (nothing when none)
            assert main(["backfill", "--stale"]) == 0
            commands.append(["backfill", "--stale"])
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(base / "rebuild"))
        assert main(["backfill", "--from", MONTHS[0], "--to", MONTHS[1]]) == 0
    return base / "incremental" / "accounts.duckdb", base / "rebuild" / "accounts.duckdb", commands


def test_incremental_nights_publish_what_a_full_rebuild_publishes(published):
    incremental, rebuild, _ = published
    results = [r for r in compare_publications(rebuild, incremental) if r.table.startswith("main.")]
    assert len(results) >= 20
    different = [str(r) for r in results if not r.equal]
    assert not different, "\n".join(different)


def test_the_nights_published_each_month_and_restated_the_stale_ones(published):
    incremental, _, _ = published
    with duckdb.connect(str(incremental), read_only=True) as con:
        refreshed = con.execute(
            "SELECT months_refreshed FROM publications ORDER BY publication_id"
        ).fetchall()
        dates = con.execute("SELECT DISTINCT as_of_date FROM customer_worth ORDER BY 1").fetchall()
    flat = [month for (months,) in refreshed for month in months]
    assert {"2026-08", "2026-09", "2026-10"} <= set(flat)
    assert len(flat) > 3  # months published again: the late rows and corrections made them stale
    assert [d for (d,) in dates] == [date(2026, 8, 31), date(2026, 9, 30), date(2026, 10, 31)]
