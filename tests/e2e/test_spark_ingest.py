"""Ingestion on the Spark engine (pipelines/ingest/spark_loader.py, spark_job.py): the same row
rules, run on Spark's executors, record exactly what the DuckDB engine records, delivery after
delivery: the raw tables (the latest delivery of a key wins), the quarantine with its reasons and
lines, the data issues, the replacements, the ingest log with its messages, the rejected files.

Three deliveries of messy files, each loaded by both engines into their own warehouse; after each,
every raw and bookkeeping table must be equal (load timestamps aside). Then the DuckDB engine runs
on the Spark-loaded warehouse: switching engines takes the tables back, unchanged.
A real local Spark session (one JVM per delivery); skipped without Java outside CI."""

import os
import shutil
from collections import Counter
from pathlib import Path

import duckdb
import polars as pl
import pytest

from pipelines.ingest.datasets import DATASETS, LOAD_ORDER
from pipelines.ingest.loader import FileRejected, ingest_all
from pipelines.ingest.spark_loader import ingest_on_spark
from pipelines.ingest.storage import spark_locations

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(
        shutil.which("java") is None and not os.environ.get("ACCOUNTS_REQUIRE_SPARK"),
        reason="no Java on PATH: the Spark engine needs Java 17+",
    ),
]

REVENUE = "transaction_id,customer_id,transaction_date,product_line,amount,margin\n"
CONTACTS = "contact_id,customer_id,contact_date,manager_id,medium,direction,reason_code\n"

# Each delivery: files added to the landing folder (path -> content). Every rule of SPEC §1 that
# quarantines, reports or rejects is hit at least once, and keys come again with and without changes.
DELIVERIES = [
    {
        "customers/customers_1.csv": "customer_id,customer_name,customer_type,region,tier\n"
        "C1,Acme,retail,North,gold\nC2,Beta,,South,\n ,Nobody,retail,\nC3,Gamma,education,\n"
        "C3,Gamma again,education,\nC4,,wholesale,East,silver\n",
        "account_managers/managers.csv": "manager_id,manager_name,active_from,active_to,capacity\n"
        "M1,Ann,2020-01-01,,1\nM2,Bob,2021-01-01,2021-01-01,\nM3,Cy,2021-01-01,,half\n",
        "employee_counts/counts.csv": "customer_id,as_of_date,employees\nC1,2024-01-01,10\n"
        "C1,2024-02-01,12.5\nC2,2024-01-01,0\nC3,2024-01-01,many\nC3,2024-01-01,7\nC4,2024-01-01,40\n",
        "revenue/2024_01.csv": REVENUE + "T1,C1,2024-01-05,tools,10.00,2.00\nT2,C1,2024-13-01,x,5,\n"
        "T3,C2,2024-01-06,,12;50,\nT4,C2,2024-01-07,,8.25,abc\nT5,C9,2024-01-08,tools,3.00,\n"
        'T1,C1,2024-01-09,tools,1.00,\nT6,C3,2024-01-10,"multi\nline",4.00,1.00\n',
        "revenue/2024_02.csv": REVENUE + "T7,C3,2024-02-01,tools,7.00,\nT1,C1,2024-01-05,tools,10.00,2.00\n",
        "revenue/semicolons.csv": "transaction_id;customer_id;transaction_date\nT8;C1;2024-02-02\n",
        "contacts/contacts.csv": CONTACTS + "K1,C1,2024-01-05 10:00:00,M1,PHONE,Inbound,complaint\n"
        "K2,C1,2024-01-05 25:00,M1,phone,inbound,\nK3,C2,2024-01-06T09:30:00+02:00,M1,pigeon,,\n"
        "K4,C3,2024-01-07,M2,email,sideways,question\n",
        "referrals/referrals.csv": "referral_id,referrer_customer_id,referral_date,referred_customer_id\n"
        "R1,C1,2024-01-20,C3\nR2,,2024-01-21,C4\n",
    },
    {
        # T1 changed, T7 identical, T9 new; the same content as 2024_02.csv under a new name;
        # one new file delivered twice under two names; C2 gets its type
        "revenue/2024_03.csv": REVENUE + "T1,C1,2024-01-05,tools,11.00,2.00\nT7,C3,2024-02-01,tools,7.00,\n"
        "T9,C4,2024-03-01,services,20.00,5.00\n",
        "revenue/2024_02_again.csv": REVENUE
        + "T7,C3,2024-02-01,tools,7.00,\nT1,C1,2024-01-05,tools,10.00,2.00\n",
        "revenue/2024_04.csv": REVENUE + "T10,C1,2024-04-01,tools,1.50,\n",
        "revenue/2024_04_copy.csv": REVENUE + "T10,C1,2024-04-01,tools,1.50,\n",
        "customers/customers_2.csv": "customer_id,customer_name,customer_type,region\nC2,Beta,retail,South\n"
        "C5,Epsilon,retail,West\n",
        "contacts/contacts_2.parquet": pl.DataFrame(
            {
                "contact_id": ["K1", "K5"],
                "customer_id": ["C1", "C5"],
                "contact_date": ["2024-01-05 10:00:00", "2024-03-02"],
                "medium": ["phone", "visit"],
            }
        ),  # fmt: skip
    },
    {
        # T1 back to its first value (a replacement of the replacement), T9 changed
        "revenue/2024_05.csv": REVENUE
        + "T1,C1,2024-01-05,tools,10.00,2.00\nT9,C4,2024-03-02,services,20.00,5.00\n",
        "employee_counts/counts_2.csv": "customer_id,as_of_date,employees\n"
        "C1,2024-01-01,11\nC5,2024-03-01,3\n",
    },
]

BOOKKEEPING = {
    "ingest_log": "SELECT dataset, source_file, file_sha256, file_bytes, status, rows_read, rows_loaded, "
    "rows_quarantined, rows_replaced, message FROM raw.ingest_log",
    "quarantine": "SELECT * EXCLUDE (quarantined_at) FROM raw.quarantine",
    "data_issues": "SELECT * EXCLUDE (recorded_at) FROM raw.data_issues",
    "row_replacements": "SELECT * EXCLUDE (replaced_at) FROM raw.row_replacements",
}


def _deliver(landing: Path, files: dict) -> None:
    for name, content in files.items():
        path = landing / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, pl.DataFrame):
            content.write_parquet(path)
        else:
            path.write_text(content)


def _load(engine: str, warehouse: Path, landing: Path) -> list[str]:
    """Ingest every dataset; the rejected files' messages."""
    with duckdb.connect(str(warehouse)) as con:
        try:
            if engine == "spark":
                ingest_on_spark(con, LOAD_ORDER, landing, warehouse.parent / "spark")
            else:
                ingest_all(con, landing)
        except FileRejected as exc:
            return [str(r) for r in exc.rejections]
    return []


def _tables(warehouse: Path) -> dict[str, list[tuple]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        found = {
            f"raw.{name}": sorted(
                con.execute(f"SELECT * EXCLUDE (_loaded_at) FROM raw.{name}").fetchall(), key=repr
            )
            for name in DATASETS
        }
        found |= {name: sorted(con.execute(sql).fetchall(), key=repr) for name, sql in BOOKKEEPING.items()}
        found["types"] = con.execute(
            "SELECT table_name, column_name, data_type FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name <> 'spark_tables' ORDER BY ALL"
        ).fetchall()
    return found


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory):
    """After each delivery: {engine: (tables, rejections)}; the warehouses; and the Spark-loaded
    warehouse's tables once the DuckDB engine has run on it (nothing new to load)."""
    base = tmp_path_factory.mktemp("spark_ingest")
    landing = base / "landing"
    warehouses = {e: base / e / "warehouse.duckdb" for e in ("duckdb", "spark")}
    for warehouse in warehouses.values():
        warehouse.parent.mkdir()
    results = []
    for files in DELIVERIES:
        _deliver(landing, files)
        results.append({e: _load_then_read(e, w, landing) for e, w in warehouses.items()})
    locations = _locations(warehouses["spark"])
    versions = {loc: sorted(p.name for p in Path(loc).parent.iterdir()) for loc in locations.values()}
    files = {loc: len(list(Path(loc).glob("*.parquet"))) for loc in locations.values()}
    assert _load("duckdb", warehouses["spark"], landing) == results[-1]["spark"][1]
    return results, (locations, versions, files), _tables(warehouses["spark"])


def _load_then_read(engine: str, warehouse: Path, landing: Path) -> tuple[dict, list[str]]:
    rejected = _load(engine, warehouse, landing)
    return _tables(warehouse), rejected


def _locations(warehouse: Path) -> dict[str, str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return spark_locations(con)


def _differences(left: dict, right: dict) -> list[str]:
    return [f"{name}:\n  {left[name]}\n  {right[name]}" for name in left if left[name] != right[name]]


@pytest.mark.parametrize("delivery", range(len(DELIVERIES)), ids=["first", "second", "third"])
def test_spark_ingestion_records_what_duckdb_ingestion_records(deliveries, delivery):
    results = deliveries[0]
    after = results[delivery]
    (duck, duck_rejected), (spark, spark_rejected) = after["duckdb"], after["spark"]
    assert spark_rejected == duck_rejected
    assert not _differences(duck, spark), "\n".join(_differences(duck, spark))
    assert duck["raw.revenue"] and duck["quarantine"] and duck["data_issues"]


def test_the_deliveries_exercise_every_outcome(deliveries):
    results = deliveries[0]
    first, second, third = (r["duckdb"] for r in results)
    (rejected,) = first[1]
    assert rejected.startswith("revenue/semicolons.csv: line 1: missing required columns 'transaction_id'")
    assert rejected.endswith("(the header is ';'-separated; files must be comma-separated)")
    statuses = {(status, rel) for _, rel, _, _, status, *_ in second[0]["ingest_log"]}
    assert {("unchanged", "revenue/2024_02_again.csv"), ("unchanged", "revenue/2024_04_copy.csv")} <= statuses
    replaced = [(key, new) for _, key, _, _, new, *_ in third[0]["row_replacements"]]
    assert ("T1", "revenue/2024_03.csv") in replaced and ("T1", "revenue/2024_05.csv") in replaced
    revenue = {row[0]: row for row in third[0]["raw.revenue"]}
    assert revenue["T1"][6] == "revenue/2024_05.csv" and revenue["T7"][6] == "revenue/2024_02.csv"


def test_raw_tables_are_spark_parquet_versions_and_the_duckdb_engine_takes_them_back(deliveries):
    results, (locations, versions, files), taken_back = deliveries
    assert {"raw.revenue", "raw.customers", "raw.contacts", "raw.employee_counts"} <= set(locations)
    for location in locations.values():  # only the current version is kept
        assert versions[location] == [Path(location).name]
        assert files[location] > 0
    # the DuckDB engine on the warehouse Spark loaded: the same tables, as warehouse tables again
    # (its log has one more line per file: unchanged, or rejected again for the rejected file)
    duck = results[-1]["duckdb"][0]
    assert not _differences({k: v for k, v in duck.items() if k != "ingest_log"},
                            {k: v for k, v in taken_back.items() if k != "ingest_log"})  # fmt: skip
    added = Counter(taken_back["ingest_log"]) - Counter(duck["ingest_log"])
    assert not Counter(duck["ingest_log"]) - Counter(taken_back["ingest_log"])
    assert added and {row[4] for row in added} == {"unchanged", "rejected"}
    assert all(not Path(location).exists() for location in locations.values())
