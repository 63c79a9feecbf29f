"""What the Spark engine moves around each dbt invocation (pipelines/transforms/spark.py), on real
DuckDB files and real Parquet folders: the sources out, the marts back in."""

import datetime as dt
from decimal import Decimal

import duckdb
import pytest

from pipelines.transforms.spark import export_sources, import_marts, schema_marker, table_folder


@pytest.fixture
def con():
    connection = duckdb.connect()
    connection.execute("CREATE SCHEMA raw")
    connection.execute(
        "CREATE TABLE raw.revenue AS SELECT 'T1' AS transaction_id, DATE '2026-10-01' AS transaction_date, "
        "12.34::DECIMAL(18, 2) AS amount"
    )
    yield connection
    connection.close()


def test_sources_are_written_as_parquet_folders_and_missing_ones_are_not(con, tmp_path):
    written = export_sources(con, tmp_path, [("raw", "revenue"), ("assignment", "module_targets")])
    assert written == [f"raw.revenue={tmp_path / 'sources' / 'raw' / 'revenue'}"]
    folder = tmp_path / "sources" / "raw" / "revenue"
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]
    rows = con.execute(f"SELECT * FROM read_parquet('{folder}/*.parquet')").fetchall()
    assert rows == [("T1", dt.date(2026, 10, 1), Decimal("12.34"))]
    types = [
        r[1] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{folder}/*.parquet')").fetchall()
    ]
    assert types == ["VARCHAR", "DATE", "DECIMAL(18,2)"]
    # a second export replaces the folder: no file of the first one survives
    con.execute("INSERT INTO raw.revenue VALUES ('T2', DATE '2026-10-02', 1.00)")
    export_sources(con, tmp_path, [("raw", "revenue")])
    assert con.execute(f"SELECT count(*) FROM read_parquet('{folder}/*.parquet')").fetchone()[0] == 2
    assert not (tmp_path / "sources" / "raw" / "revenue.partial").exists()


def test_marts_come_back_with_as_of_date_first_from_partition_folders(con, tmp_path):
    # Spark's layout of a table partitioned by as_of_date: the column lives in the folder names
    folder = table_folder(tmp_path, "marts", "worth_matrix")
    folder.mkdir(parents=True)
    con.execute(
        "COPY (SELECT * FROM (VALUES (DATE '2026-09-30', 11, 3), (DATE '2026-10-31', 11, 4)) "
        f"AS t(as_of_date, worth_cell, customers)) TO '{folder}' (FORMAT parquet, PARTITION_BY (as_of_date))"
    )
    (folder / "_SUCCESS").touch()
    counts = import_marts(con, tmp_path, ["worth_matrix"])
    assert counts == {"worth_matrix": 2}
    columns = con.execute("DESCRIBE marts.worth_matrix").fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("as_of_date", "DATE"),
        ("worth_cell", "INTEGER"),
        ("customers", "INTEGER"),
    ]
    # imported again after a rerun: replaced, not appended
    assert import_marts(con, tmp_path, ["worth_matrix"]) == {"worth_matrix": 2}


def test_a_mart_spark_did_not_write_fails_with_a_message(con, tmp_path):
    with pytest.raises(FileNotFoundError, match="Spark wrote no Parquet file for marts.modules"):
        import_marts(con, tmp_path, ["modules"])


def test_a_mart_without_rows_comes_back_empty_with_its_columns(con, tmp_path):
    # Spark: a partitioned table without a partition has no file; the post-hook's marker has none
    # of the rows and all of the columns
    table_folder(tmp_path, "marts", "module_pins").mkdir(parents=True)
    marker = schema_marker(tmp_path, "marts", "module_pins")
    marker.mkdir(parents=True)
    con.execute(
        "COPY (SELECT 'C1' AS customer_id, 'pinned' AS status, DATE '2026-10-31' AS as_of_date LIMIT 0) "
        f"TO '{marker}/part-00000.parquet' (FORMAT parquet)"
    )
    assert import_marts(con, tmp_path, ["module_pins"]) == {"module_pins": 0}
    columns = [c[0] for c in con.execute("DESCRIBE marts.module_pins").fetchall()]
    assert columns == ["as_of_date", "customer_id", "status"]
