"""The publication carries unchanged snapshots over from the last one (pipelines/publication/stage.py)
and is still, row for row, the publication a fresh build of the same warehouse gives."""

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pipelines.core.config import load_config
from pipelines.ingest.datasets import create_raw_tables
from pipelines.publication.stage import record_checks_passed, stage_publication, swap_in

SETTINGS = load_config()
DOCS = {
    "scores": ("Scores per customer.", {"as_of_date": "Snapshot date.", "score": "A score."}),
    "regions": ("Regions.", {"as_of_date": "Snapshot date.", "region": "A region."}),
}
GRAINS = {"scores": ["as_of_date", "customer_id"], "regions": ["region"]}
JANUARY, FEBRUARY, MARCH = dt.date(2024, 1, 31), dt.date(2024, 2, 29), dt.date(2024, 3, 31)


def make_warehouse(path: Path) -> Path:
    con = duckdb.connect(str(path))
    create_raw_tables(con)
    con.execute("CREATE SCHEMA marts")
    con.execute("CREATE TABLE marts.scores (as_of_date DATE, customer_id VARCHAR, score DOUBLE)")
    # a table whose grain is not led by as_of_date: rewritten whole when it changes
    con.execute(
        "CREATE TABLE marts.regions AS SELECT DATE '2024-01-31' AS as_of_date, * "
        "FROM (VALUES ('north', 1), ('south', 2)) t(region, n)"
    )
    con.close()
    return path


def add_snapshot(warehouse: Path, as_of_date: dt.date, scores: list[float]) -> None:
    with duckdb.connect(str(warehouse)) as con:
        for i, score in enumerate(scores):
            con.execute(
                "INSERT INTO marts.scores VALUES (?, ?, ?)", [as_of_date, f"C{len(scores) - i}", score]
            )


def publish(warehouse: Path, published: Path, tables=("scores", "regions"), run_id="run"):
    staged = stage_publication(
        warehouse, published, list(tables), DOCS, ["2024-01"], run_id, SETTINGS, grains=GRAINS
    )
    record_checks_passed(staged.path, staged.publication_id, ["contracts"])
    swap_in(staged.path, published)
    return staged


def contents(published: Path) -> dict[str, object]:
    """Every table and view of the file: columns with types and comments, rows in stored order."""
    with duckdb.connect(str(published), read_only=True) as con:
        objects = con.execute(
            "SELECT schema_name, table_name, comment FROM duckdb_tables() "
            "UNION ALL SELECT schema_name, view_name, comment FROM duckdb_views() WHERE NOT internal "
            "ORDER BY ALL"
        ).fetchall()
        found: dict[str, object] = {}
        for schema, name, note in objects:
            columns = con.execute(
                "SELECT column_name, data_type, comment FROM duckdb_columns() "
                "WHERE schema_name = ? AND table_name = ? ORDER BY column_index",
                [schema, name],
            ).fetchall()
            rows = [] if name == "publications" else con.execute(f"SELECT * FROM {schema}.{name}").fetchall()
            found[f"{schema}.{name}"] = (note, columns, rows)
        return found


@pytest.fixture
def warehouse(tmp_path):
    path = make_warehouse(tmp_path / "warehouse.duckdb")
    add_snapshot(path, JANUARY, [3.0, 2.0])
    add_snapshot(path, FEBRUARY, [1.0, 5.0])
    return path


def test_a_new_snapshot_is_appended_and_the_rest_carried_over(warehouse, tmp_path):
    published = tmp_path / "accounts.duckdb"
    first = publish(warehouse, published)
    assert first.writes == {"scores": "rewritten", "regions": "rewritten"}  # nothing to carry over
    assert publish(warehouse, published).writes == {"scores": "unchanged", "regions": "unchanged"}
    add_snapshot(warehouse, MARCH, [4.0, 6.0])
    assert publish(warehouse, published).writes == {"scores": "snapshots 2024-03-31", "regions": "unchanged"}
    # late rows for February and the new March: both after January, appended after it
    with duckdb.connect(str(warehouse)) as con:
        con.execute("UPDATE marts.scores SET score = score + 1 WHERE as_of_date >= ?", [FEBRUARY])
    assert publish(warehouse, published).writes["scores"] == "snapshots 2024-02-29, 2024-03-31"
    # a restated January sorts before the kept February: the table is rewritten in order
    with duckdb.connect(str(warehouse)) as con:
        con.execute(
            "UPDATE marts.scores SET score = 0 WHERE as_of_date = ? AND customer_id = 'C1'", [JANUARY]
        )
    assert publish(warehouse, published).writes["scores"] == "rewritten"
    fresh = tmp_path / "fresh.duckdb"
    publish(warehouse, fresh)
    assert contents(published) == contents(fresh)
    with duckdb.connect(str(published), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM publications").fetchone()[0] == 5
        tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = 'accounts'").fetchone()
    assert tags[0]["storage_version"].startswith("v1.0"), tags  # still readable by DuckDB 1.1


def test_a_publication_by_other_code_is_rewritten_whole(warehouse, tmp_path):
    published = tmp_path / "accounts.duckdb"
    publish(warehouse, published)
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE publications SET pipeline_version = '0.0.1+another'")
    again = publish(warehouse, published)
    assert again.writes == {"scores": "rewritten", "regions": "rewritten"}
    with duckdb.connect(str(published), read_only=True) as con:
        versions = [
            r[0] for r in con.execute("SELECT pipeline_version FROM publications ORDER BY 1").fetchall()
        ]
    assert len(versions) == 2 and "0.0.1+another" in versions  # the history is kept


STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("new_snapshot"), st.lists(st.integers(0, 9), min_size=1, max_size=4)),
        st.tuples(st.just("restate"), st.integers(0, 5)),
        st.tuples(st.just("drop_snapshot"), st.integers(0, 5)),
        st.tuples(st.just("add_column"), st.just(0)),
        st.tuples(st.just("change_regions"), st.just(0)),
        st.tuples(st.just("toggle_regions"), st.just(0)),
    ),
    min_size=1,
    max_size=6,
)


@hypothesis_settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS)
def test_publishing_after_each_change_equals_one_fresh_publication(tmp_path_factory, steps):
    folder = tmp_path_factory.mktemp("publications")
    warehouse = make_warehouse(folder / "warehouse.duckdb")
    add_snapshot(warehouse, JANUARY, [1.0, 2.0])
    published, tables, month_end = folder / "accounts.duckdb", ["scores", "regions"], JANUARY
    publish(warehouse, published, tables)
    for step, value in steps:
        with duckdb.connect(str(warehouse)) as con:
            dates = [
                r[0]
                for r in con.execute("SELECT DISTINCT as_of_date FROM marts.scores ORDER BY 1").fetchall()
            ]
            if step == "new_snapshot":
                next_first = month_end + dt.timedelta(days=1)
                month_end = (next_first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
                con.executemany(
                    "INSERT INTO marts.scores (as_of_date, customer_id, score) VALUES (?, ?, ?)",
                    [[month_end, f"C{i}", float(v)] for i, v in enumerate(value)],
                )
            elif step == "restate" and dates:
                con.execute(
                    "UPDATE marts.scores SET score = score + 1 WHERE as_of_date = ?",
                    [dates[value % len(dates)]],
                )
            elif step == "drop_snapshot" and dates:
                con.execute("DELETE FROM marts.scores WHERE as_of_date = ?", [dates[value % len(dates)]])
            elif step == "add_column":
                con.execute("ALTER TABLE marts.scores ADD COLUMN IF NOT EXISTS extra INTEGER DEFAULT 7")
            elif step == "change_regions":
                con.execute("UPDATE marts.regions SET n = n + 1 WHERE region = 'north'")
            elif step == "toggle_regions":
                tables = ["scores"] if "regions" in tables else ["scores", "regions"]
        publish(warehouse, published, tables)
    fresh = folder / "fresh.duckdb"
    publish(warehouse, fresh, tables)
    assert contents(published) == contents(fresh)
    # the dates the publication records: those its tables hold, as a fresh publication records them
    assert recorded_dates(published) == recorded_dates(fresh) == held_dates(published, tables)


def recorded_dates(published: Path) -> tuple[list, object]:
    with duckdb.connect(str(published), read_only=True) as con:
        return con.execute(
            "SELECT as_of_dates, latest_as_of_date FROM publications ORDER BY publication_id DESC LIMIT 1"
        ).fetchone()


def held_dates(published: Path, tables: list[str]) -> tuple[list, object]:
    union = " UNION ".join(f"SELECT as_of_date FROM main.{t}" for t in tables)
    with duckdb.connect(str(published), read_only=True) as con:
        rows = con.execute(f"SELECT DISTINCT as_of_date FROM ({union}) ORDER BY 1").fetchall()
    dates = [d for (d,) in rows]
    return dates, max(dates, default=None)
