"""SPEC §12–§13: the staged publication, its catalogue, and the atomic swap."""

import datetime as dt
import json

import duckdb
import pytest

from pipelines.core.config import config_fingerprint, load_config
from pipelines.ingest.datasets import create_raw_tables
from pipelines.publication.stage import (
    record_checks_passed,
    stage_publication,
    staged_path_for,
    swap_in,
)

DOCS = {"scores": ("Scores per customer.", {"as_of_date": "Snapshot date.", "score": "A score."})}


@pytest.fixture
def warehouse(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    create_raw_tables(con)
    con.execute("CREATE SCHEMA marts")
    con.execute(
        "CREATE TABLE marts.scores AS SELECT * FROM (VALUES "
        "(DATE '2024-01-31', 'C2', 2.0::DOUBLE), (DATE '2024-02-29', 'C1', 1.0), "
        "(DATE '2024-01-31', 'C1', 3.0)) t(as_of_date, customer_id, score)"
    )
    con.execute(
        "INSERT INTO raw.ingest_log (source_file, status) VALUES ('revenue/a.csv', 'loaded'), "
        "('revenue/b.csv', 'rejected')"
    )
    con.close()
    return path


SETTINGS = load_config()


def _publish(warehouse, published, run_id="run-1"):
    staged = stage_publication(warehouse, published, ["scores"], DOCS, ["2024-02"], run_id, SETTINGS)
    record_checks_passed(staged.path, staged.publication_id, ["contracts"])
    swap_in(staged.path, published)
    return staged


def test_publication_has_tables_latest_views_comments_and_history(warehouse, tmp_path):
    published = tmp_path / "accounts.duckdb"
    first = _publish(warehouse, published)
    second = _publish(warehouse, published, run_id="run-2")
    assert (first.publication_id, second.publication_id) == (1, 2)
    assert not staged_path_for(published).exists()

    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("SELECT * FROM latest.scores").fetchall() == [(dt.date(2024, 2, 29), "C1", 1.0)]
    # rows are stored in a stable order, whatever order the warehouse held them in
    assert [r[1] for r in con.execute("SELECT * FROM main.scores").fetchall()] == ["C1", "C2", "C1"]
    assert (
        con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'scores'").fetchone()[0]
        == "Scores per customer."
    )
    assert (
        con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'scores' AND schema_name = 'main' "
            "AND column_name = 'score'"
        ).fetchone()[0]
        == "A score."
    )
    rows = con.execute(
        "SELECT publication_id, run_id, months_refreshed, latest_as_of_date, input_files, "
        "checks_passed, row_counts, config, config_hash, config_drift, data_issues, held_rows "
        "FROM publications ORDER BY 1"
    ).fetchall()
    assert [r[:2] for r in rows] == [(1, "run-1"), (2, "run-2")]
    assert rows[1][2] == ["2024-02"] and rows[1][3] == dt.date(2024, 2, 29)
    assert rows[1][4] == ["revenue/a.csv"]  # the rejected file is not an input
    assert rows[1][5] == ["contracts"]
    assert '"scores": 3' in rows[1][6]
    # the config it was computed with, and its hash
    assert json.loads(rows[1][7])["at_risk"]["recency_days"] == SETTINGS.at_risk.recency_days
    assert rows[1][8] == config_fingerprint(SETTINGS)[1] and rows[1][9] == []
    assert rows[1][10:] == (0, 0)  # no data issues, no held rows
    # every published column is documented
    undocumented = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() "
        "WHERE schema_name = 'main' AND table_name = 'publications' AND comment IS NULL"
    ).fetchall()
    assert undocumented == []


def test_published_file_uses_a_storage_version_duckdb_1_1_reads(warehouse, tmp_path):
    published = tmp_path / "accounts.duckdb"
    _publish(warehouse, published)
    con = duckdb.connect()
    con.execute(f"ATTACH '{published}' AS p (READ_ONLY)")
    tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = 'p'").fetchone()
    assert tags[0]["storage_version"].startswith("v1.0"), tags  # v1.0.0+ = readable by 1.1


def test_staging_without_swapping_leaves_the_published_file_untouched(warehouse, tmp_path):
    published = tmp_path / "accounts.duckdb"
    _publish(warehouse, published)
    before = published.read_bytes()
    con = duckdb.connect(str(warehouse))
    con.execute("UPDATE marts.scores SET score = score * 10")
    con.close()
    stage_publication(warehouse, published, ["scores"], DOCS, ["2024-02"], "run-killed", SETTINGS)
    # the run dies here, before the swap
    assert published.read_bytes() == before
    # the next run restages from scratch and publishes
    _publish(warehouse, published, run_id="run-next")
    con = duckdb.connect(str(published), read_only=True)
    assert con.execute("SELECT max(score) FROM scores").fetchone()[0] == 30.0
    assert con.execute("SELECT max(publication_id) FROM publications").fetchone()[0] == 2


def test_swap_without_a_staged_file_fails_clearly(tmp_path):
    with pytest.raises(FileNotFoundError, match="stage it first"):
        swap_in(tmp_path / "x.staged", tmp_path / "x.duckdb")


def test_rows_are_written_in_the_order_of_the_grain(warehouse, tmp_path):
    published = tmp_path / "accounts.duckdb"
    grain = {"scores": ["customer_id", "as_of_date"]}
    staged = stage_publication(
        warehouse, published, ["scores"], DOCS, ["2024-02"], "run-1", SETTINGS, grains=grain
    )
    con = duckdb.connect(str(staged.path), read_only=True)
    rows = con.execute("SELECT customer_id, as_of_date FROM main.scores").fetchall()
    con.close()
    # by customer, then date (all columns would put both January rows first)
    assert rows == [("C1", dt.date(2024, 1, 31)), ("C1", dt.date(2024, 2, 29)), ("C2", dt.date(2024, 1, 31))]


def test_every_mart_declares_its_grain():
    from pipelines.transforms.project import grains, mart_tables

    declared = grains()
    assert set(declared) == set(mart_tables())
    assert declared["customer_worth"] == ["as_of_date", "customer_id"]
