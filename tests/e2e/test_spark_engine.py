"""The Spark engine (`ACCOUNTS_ENGINE=spark`): the same dbt models on a local Apache Spark session,
the same published tables as the DuckDB engine. Both engines backfill the same months of the
sample, then recompute the current month (Spark's incremental path: the month's partitions are
replaced), and every published table must be equal: same columns, same types, the same rows
(floating-point values within 1e-12 relative: Spark adds in another order).

Outside CI, a machine without Java skips with a reason; in CI (`ACCOUNTS_REQUIRE_SPARK=1`, set by
.ci/run) it runs and fails, so an engine that cannot start never passes as green."""

import os
import shutil

import pytest
from conftest import SAMPLE_LANDING
from run_helpers import table_rows

from pipelines.cli import main
from pipelines.publication.compare import compare_publications

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("ACCOUNTS_REQUIRE_SPARK"),
        reason="no Java on PATH: the Spark engine needs Java 17+",
    ),
]

MONTHS = ("2026-08", "2026-10")
# too few months for the backtest and the calibration (a 12-month horizon); no pins in the sample
EMPTY_MARTS = {"main.defection_backtest", "main.defection_calibration", "main.module_pins"}


def _publish(warehouse, engine: str) -> None:
    # a programme start inside the months, so the impact study has rows (baseline 2026-08-31)
    config = warehouse / "config.yaml"
    config.write_text("impact_study:\n  programme_start_date: 2026-09-01\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ACCOUNTS_CONFIG", str(config))
        mp.setenv("ACCOUNTS_LANDING_DIR", str(SAMPLE_LANDING))
        mp.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
        mp.setenv("ACCOUNTS_ENGINE", engine)
        mp.delenv("ACCOUNTS_SPARK_DIR", raising=False)
        assert main(["backfill", "--from", MONTHS[0], "--to", MONTHS[1]]) == 0
        assert main(["run", "--force"]) == 0  # the current month again: its rows replaced


@pytest.fixture(scope="module")
def engines(tmp_path_factory):
    """The published files of both engines: {engine: (warehouse folder, published file)}."""
    published = {}
    for engine in ("duckdb", "spark"):
        warehouse = tmp_path_factory.mktemp(engine)
        _publish(warehouse, engine)
        published[engine] = (warehouse, warehouse / "accounts.duckdb")
    return published


def test_spark_publishes_the_tables_duckdb_publishes(engines):
    results = compare_publications(engines["duckdb"][1], engines["spark"][1], relative_tolerance=1e-12)
    different = [str(r) for r in results if not r.equal]
    assert not different, "\n".join(different)
    marts = [r for r in results if r.table.startswith("main.")]
    assert len(marts) >= 20
    assert {r.table for r in marts if r.rows_left == 0} == EMPTY_MARTS


def test_a_recomputed_month_replaces_its_rows_on_spark(engines):
    warehouse, published = engines["spark"]
    months = table_rows(
        published,
        "SELECT strftime(as_of_date, '%Y-%m') AS month, count(DISTINCT as_of_date), count(*) "
        "FROM main.customer_worth GROUP BY ALL ORDER BY ALL",
    )
    assert [m for m, _, _ in months] == ["2026-08", "2026-09", "2026-10"]
    assert all(dates == 1 for _, dates, _ in months)
    # Spark's own table: Parquet files, one partition folder per snapshot date
    folder = warehouse / "spark" / "warehouse" / "marts.db" / "customer_worth"
    partitions = sorted(p.name for p in folder.iterdir() if p.name.startswith("as_of_date="))
    assert len(partitions) == 3, partitions


def test_the_publication_records_the_engine(engines):
    for engine, (_, published) in engines.items():
        versions = [v for (v,) in table_rows(published, "SELECT pipeline_version FROM publications")]
        assert len(versions) == 2
        assert all(v.endswith(".spark") == (engine == "spark") for v in versions), versions
