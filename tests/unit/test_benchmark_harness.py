"""The benchmark harness's pure helpers (benchmarks/run.py), without running a benchmark."""

import importlib.util
import json
import os
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest

from sample_data import generate

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"
_spec = importlib.util.spec_from_file_location("benchmark_run", _PATH)
bench = importlib.util.module_from_spec(_spec)
sys.modules["benchmark_run"] = bench
_spec.loader.exec_module(bench)


@pytest.fixture(scope="module")
def tiny_landing(tmp_path_factory):
    landing = tmp_path_factory.mktemp("landing")
    counts = generate(landing, customers=40, seed=7)
    return landing, counts


def test_floor_reads_every_dataset_and_aggregates_revenue(tiny_landing):
    landing, counts = tiny_landing
    floor = bench.run_floor(landing)
    assert set(floor["per_dataset"]) == {p.name for p in landing.iterdir() if p.is_dir()}
    assert floor["revenue_rows"] == counts["revenue"]
    expected = (
        duckdb.connect()
        .execute(
            f"SELECT count(DISTINCT (customer_id, date_trunc('month', transaction_date))), "
            f"max(transaction_date) FROM read_parquet('{landing}/revenue/*.parquet')"
        )
        .fetchone()
    )
    assert floor["customer_months"] == expected[0]
    assert floor["last_day"] == str(expected[1])
    assert floor["seconds"] > 0


def test_floor_reads_csv_and_parquet_in_one_folder(tmp_path):
    landing = tmp_path / "landing"
    generate(landing, customers=20, seed=3, file_format="csv")
    generate(tmp_path / "other", customers=20, seed=3)  # parquet revenue, same rows
    (tmp_path / "other" / "revenue" / "2023.parquet").rename(landing / "revenue" / "extra.parquet")
    sql = bench.floor_sql(landing)["revenue"]
    assert "read_parquet" in sql and "read_csv" in sql
    assert duckdb.connect().execute(sql).fetchone()[2] > 0


def test_last_months():
    assert bench.last_months("2026-10-31") == ("2024-11", "2026-10")
    assert bench.last_months("2025-01-15", 1) == ("2025-01", "2025-01")
    assert bench.last_months("2025-01-15", 13) == ("2024-01", "2025-01")


def test_stages_from_steps_groups_steps_and_keeps_the_rest_as_overhead():
    steps = {
        ("ingest_landing_files", "landing_files"): 3.0,
        ("monthly_snapshot", "worth_and_loyalty"): 10.0,
        ("monthly_snapshot", "module_assignment_history"): 3.0,
        ("monthly_snapshot", "modules_and_risk"): 4.0,
        ("monthly_snapshot", "staged_publication"): 1.0,
        ("monthly_snapshot", "staged_publication_quality_expectations"): 0.75,
        ("monthly_snapshot", "published_warehouse"): 0.25,
        ("monthly_snapshot", "something_new"): 1.0,
    }
    stages = bench.stages_from_steps(steps, total=30.0)
    assert stages == {
        "total": 30.0,
        "ingest": 3.0,
        "dbt worth_and_loyalty": 10.0,
        "assignment": 3.0,
        "dbt modules_and_risk": 4.0,
        "publish": 1.25,
        "checks": 0.75,
        "something_new": 1.0,
        "overhead": 7.0,
    }


def _repeat(total: float, floor: float, rss: int, ok: bool = True) -> dict:
    run = {"returncode": 0 if ok else 1, "peak_rss_bytes": rss,
           "stages": {"total": total, "ingest": total / 2, "overhead": total / 2}}  # fmt: skip
    return {"floor": {"seconds": floor}, "nightly": run, "nightly_noop": run, "backfill_24m": None}


def test_summary_table_and_targets():
    repeats = [_repeat(40.0, 2.0, 10**9), _repeat(50.0, 4.0, 3 * 10**9), _repeat(44.0, 3.0, 2 * 10**9)]
    summary = bench.summarise(repeats)
    assert summary["floor"] == 3.0
    assert summary["nightly"]["stages"]["total"] == {"median": 44.0, "runs": [40.0, 50.0, 44.0]}
    assert list(summary["nightly"]["stages"]) == ["total", "ingest", "overhead"]
    assert summary["nightly"]["peak_rss_bytes"] == 3 * 10**9
    assert "backfill_24m" not in summary

    table = bench.format_table(summary)
    lines = table.splitlines()
    assert lines[2].split()[:1] == ["floor"]
    nightly = next(line for line in lines if line.startswith("nightly "))
    assert nightly.split()[:5] == ["nightly", "total", "44.00", "14.7", "40.0,"]
    assert "peak RSS (GB)" in table and "3.00" in table

    targets = bench.evaluate_targets("M", summary)
    assert [t["passed"] for t in targets] == [True]  # nightly 44 s <= 45 s; no backfill measured
    failing = bench.evaluate_targets("M", bench.summarise([_repeat(46.0, 2.0, 1)]))
    assert [t["passed"] for t in failing] == [False]
    large = bench.evaluate_targets("L", bench.summarise([_repeat(150.0, 60.0, 9 * 10**9)]))
    assert [(t["target"].split()[0], t["passed"]) for t in large] == [
        ("nightly", True), ("peak", False), ("nightly", True)
    ]  # fmt: skip


def test_a_failed_run_fails_its_targets():
    summary = bench.summarise([_repeat(10.0, 1.0, 1, ok=False)])
    assert summary["nightly"]["ok"] is False
    assert "FAILED" in bench.format_table(summary)
    assert [t["passed"] for t in bench.evaluate_targets("S", summary)] == [False]


def test_top_nodes_and_dbt_split():
    runs = [{"model.a.x": 1.0, "model.a.y": 5.0, "test.a.t": 0.5}, {"model.a.x": 3.0, "model.a.y": 4.0}]
    assert bench.top_nodes(runs, 2) == [("model.a.y", 4.5), ("model.a.x", 2.0)]
    assert bench.dbt_split(runs[0]) == {"models": 6.0, "tests": 0.5, "other": 0.0}


def test_dbt_node_times_matches_the_run_id_prefix(tmp_path):
    for name, seconds in (("worth-abcdef1-1234567", 1.5), ("worth-zzzzzzz-7654321", 9.0)):
        (tmp_path / name).mkdir()
        results = {"results": [{"unique_id": "model.a.m", "execution_time": seconds}]}
        (tmp_path / name / "run_results.json").write_text(json.dumps(results))
    assert bench.dbt_node_times(["abcdef1-run-id"], tmp_path) == {"model.a.m": 1.5}
    assert bench.target_dirs(["abcdef1-run-id"], tmp_path) == [tmp_path / "worth-abcdef1-1234567"]


def test_top_operators_of_a_real_profile():
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT range % 97 AS k, range AS v FROM range(200000)")
    profile = con.execute(
        "EXPLAIN (ANALYZE, FORMAT JSON) SELECT k, sum(v) FROM t GROUP BY k ORDER BY k"
    ).fetchall()[0][1]
    ops = bench.top_operators(profile, 3)
    assert 1 <= len(ops) <= 3
    assert all(o["seconds"] >= 0 for o in ops)
    assert ops == sorted(ops, key=lambda o: -o["seconds"])
    assert {"operator", "seconds", "rows"} <= set(ops[0])


def test_tree_rss_of_this_process():
    assert bench.tree_rss_bytes(os.getpid()) > 10 * 2**20
    assert bench.tree_rss_bytes(2**22 + 12345) == 0  # no such process


def test_generator_defaults_are_unchanged():
    """The harness's sizes rely on the generator's defaults (period and volumes)."""
    assert bench.SIZES == {"S": None, "M": 100_000, "L": 1_000_000}
    import inspect

    defaults = inspect.signature(generate).parameters
    assert defaults["start"].default == date(2022, 11, 1)
    assert defaults["end"].default == date(2026, 10, 31)
