"""Write, audit, publish under faults (SPEC §13): a real `accounts run` is SIGKILLed (the whole
process group, as a scheduler's kill does; dbt runs inside the run's process) at each failpoint of
`pipelines/failpoints.py`. After every kill the published file is byte-identical to before and
readable, and the working warehouse opens (DuckDB replays or drops its WAL). The run after the last
kill publishes tables equal to a clean run's, with every landing file loaded exactly once.

One scenario, several kills in a row, each starting from what the one before left:
publication 1 from the sample -> a new delivery lands -> kill while ingesting it, kill while dbt
runs, kill after the audit passed, kill just before the swap -> a run that completes. A clean run
on the final landing folder runs beside it, for the comparison."""

import shutil

import duckdb
import polars as pl
import pytest
from conftest import SAMPLE_LANDING
from run_helpers import (
    accounts_env,
    kill_group,
    published_tables,
    raw_tables,
    run_accounts,
    session_processes,
    start_accounts,
    table_rows,
    wait_for_marker,
)

pytestmark = pytest.mark.e2e

# (failpoint, what the kill interrupts)
KILL_POINTS = [
    ("ingest.before_commit:revenue", "ingest: the new revenue file's rows written, not committed"),
    ("dbt.running", "dbt build running (first model done)"),
    ("publish.audited", "every blocking check passed, staged file complete, not swapped"),
    ("publish.swap", "checks recorded in the staged file, just before os.replace"),
]


def write_delivery(landing) -> None:
    """A late delivery: new customers, a corrected customer, October revenue for old and new
    customers, and one transaction re-delivered with another amount (a replacement)."""
    (landing / "customers" / "late_customers.csv").write_text(
        "customer_id,customer_name,customer_type,region\n"
        "C900001,Late Arrival BV,retail,North\nC900002,Second Late GmbH,education,East\n"
        "C000001,Crown Partners BV (renamed),professional_services,Central\n"
    )
    last = pl.read_parquet(SAMPLE_LANDING / "revenue" / "2026.parquet").tail(1).row(0, named=True)
    (landing / "revenue" / "late-2026-10.csv").write_text(
        "transaction_id,customer_id,transaction_date,product_line,amount,margin\n"
        "TL000001,C900001,2026-10-05,equipment,18250.00,4100.00\n"
        "TL000002,C900002,2026-10-12,consumables,950.50,200.10\n"
        "TL000003,C000001,2026-10-20,service,3100.00,800.00\n"
        f"{last['transaction_id']},{last['customer_id']},{last['transaction_date']},"
        f"{last['product_line']},1234.56,300.00\n"
    )


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    base = tmp_path_factory.mktemp("faults")
    landing, final_landing = base / "landing", base / "landing_final"
    shutil.copytree(SAMPLE_LANDING, landing)
    shutil.copytree(SAMPLE_LANDING, final_landing)
    write_delivery(final_landing)
    warehouse, clean = base / "warehouse", base / "clean"
    marker = base / "failpoint.marker"
    env = accounts_env(landing, warehouse)

    # the clean reference run, beside the scenario (another warehouse: no shared DuckDB file)
    reference = start_accounts(accounts_env(final_landing, clean), "run", log=base / "clean.log")

    first = run_accounts(env, "run")
    assert first.returncode == 0, first.stderr
    published = warehouse / "accounts.duckdb"
    before = published.read_bytes()
    write_delivery(landing)

    kills = []
    for point, _ in KILL_POINTS:
        marker.unlink(missing_ok=True)
        log = base / f"kill-{point}.log"
        process = start_accounts(
            env | {"ACCOUNTS_FAILPOINT": point, "ACCOUNTS_FAILPOINT_MARKER": str(marker)}, "run", log=log
        )
        reached = wait_for_marker(process, marker, log)
        children = [cmd for pid, cmd in session_processes(process.pid) if pid != process.pid]
        kill_group(process)
        wal = (warehouse / "warehouse.duckdb.wal").exists()
        staged = (warehouse / "accounts.duckdb.staged").exists()
        kills.append({"point": point, "reached": reached, "children": children, "wal_left": wal,
                      "staged_left": staged, "published_unchanged": published.read_bytes() == before,
                      "published_rows": table_rows(published, "SELECT count(*) FROM latest.customer_worth"),
                      "warehouse": _open_read_write(warehouse / "warehouse.duckdb")})  # fmt: skip

    recovery = run_accounts(env, "run")
    assert reference.wait(timeout=900) == 0, (base / "clean.log").read_text()[-4000:]
    return {"warehouse": warehouse, "clean": clean, "before": before, "kills": kills,
            "recovery": recovery, "first": first}  # fmt: skip


def _open_read_write(warehouse) -> dict:
    """Open the killed run's warehouse as the next run will (read-write: DuckDB recovers its WAL)."""
    con = duckdb.connect(str(warehouse))
    try:
        return {
            "revenue_rows": con.execute("SELECT count(*) FROM raw.revenue").fetchone()[0],
            "late_revenue_loads": con.execute(
                "SELECT count(*) FROM raw.ingest_log WHERE source_file = 'revenue/late-2026-10.csv' "
                "AND status = 'loaded'"
            ).fetchone()[0],
            "late_revenue_rows": con.execute(
                "SELECT count(*) FROM raw.revenue WHERE _source_file = 'revenue/late-2026-10.csv'"
            ).fetchone()[0],
        }
    finally:
        con.close()


@pytest.mark.parametrize("index", range(len(KILL_POINTS)), ids=[p for p, _ in KILL_POINTS])
def test_a_killed_run_leaves_the_published_file_byte_identical_and_readable(scenario, index):
    kill = scenario["kills"][index]
    assert kill["reached"].startswith(KILL_POINTS[index][0].split(":")[0])
    assert kill["published_unchanged"], kill
    assert kill["published_rows"][0][0] == 3000  # still the first publication, whole


def test_each_kill_hit_the_stage_it_names(scenario):
    ingest, dbt, audited, swap = scenario["kills"]
    # killed inside the revenue file's transaction: none of its rows survive, it is not logged
    assert ingest["warehouse"]["late_revenue_rows"] == 0
    assert ingest["warehouse"]["late_revenue_loads"] == 0
    # the next run loaded the file exactly once before dbt started
    assert dbt["warehouse"]["late_revenue_rows"] == 4 - 1 + 1  # 3 new rows + 1 replacement
    assert dbt["warehouse"]["late_revenue_loads"] == 1
    # dbt had reported its first result (the marker); it runs inside the run's process, so the
    # kill of that one process stops it: no dbt subprocess lives on
    assert dbt["reached"].startswith("dbt.running worth_and_loyalty")
    assert not any("bin/dbt" in command for command in dbt["children"]), dbt["children"]
    assert audited["staged_left"] and swap["staged_left"]  # the complete, checked next publication
    assert all(k["warehouse"]["late_revenue_loads"] == 1 for k in (dbt, audited, swap))


def test_the_run_after_the_kills_recovers_and_equals_a_clean_run(scenario):
    recovery = scenario["recovery"]
    assert recovery.returncode == 0, recovery.stderr
    warehouse, clean = scenario["warehouse"], scenario["clean"]
    assert not (warehouse / "accounts.duckdb.staged").exists()
    # published tables (and the audit tables) equal the clean run's, row for row
    ours = published_tables(warehouse / "accounts.duckdb")
    theirs = published_tables(clean / "accounts.duckdb")
    assert ours.keys() == theirs.keys()
    for table in theirs:
        assert ours[table] == theirs[table], table
    # raw rows equal: nothing lost, nothing loaded twice; every file loaded once
    ours_raw, theirs_raw = raw_tables(warehouse / "warehouse.duckdb"), raw_tables(clean / "warehouse.duckdb")
    for table in theirs_raw:
        assert ours_raw[table] == theirs_raw[table], table
    loads = table_rows(warehouse / "warehouse.duckdb",
                       "SELECT dataset, file_sha256, count(*) FROM raw.ingest_log WHERE status = 'loaded' "
                       "GROUP BY ALL HAVING count(*) > 1")  # fmt: skip
    assert loads == []
    # the killed runs published nothing: publication 2 is the recovery's
    query = "SELECT publication_id, checks_passed FROM publications ORDER BY 1"
    publications = table_rows(warehouse / "accounts.duckdb", query)
    assert [p[0] for p in publications] == [1, 2]
    assert "quality_expectations" in publications[-1][1]
    assert (
        table_rows(warehouse / "accounts.duckdb", "SELECT count(*) FROM latest.customer_worth")[0][0] == 3002
    )  # two new customers
