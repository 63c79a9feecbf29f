"""The benchmark harness's pure helpers (benchmarks/run.py), without running a benchmark."""

import importlib.util
import json
import os
import sys
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
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


# --------------------------------------------------------------------------------------------
# the pandas peer (benchmarks/pandas_peer.py)

_PEER_PATH = _PATH.parent / "pandas_peer.py"
_peer_spec = importlib.util.spec_from_file_location("benchmark_pandas_peer", _PEER_PATH)
peer = importlib.util.module_from_spec(_peer_spec)
sys.modules["benchmark_pandas_peer"] = peer
_peer_spec.loader.exec_module(peer)

D = date(2026, 6, 30)  # the latest transaction of the hand-made landing folder


def _write_csv(path: Path, header: str, rows: list[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([header, *rows]) + "\n")


@pytest.fixture
def hand_landing(tmp_path):
    """Six retail customers (and G, who never bought) at D = 2026-06-30; window (2025-06-30, D],
    prior window (2024-06-30, 2025-06-30].

    A  10 employees: 20,000 in the prior window, 30,000 in the window on two lines: revenue per
       employee 3,000, the top one; Secure.
    B  100 employees: 50,000 -> 20,000 (below 0.7x), bought 15 days ago: At-risk (decline).
    C  50 employees: bought only in the prior window: Defector.
    D  20 employees: one purchase of 2,000 on D, a satisfier contact: Complacent.
    E  employees unknown: one purchase of 500: Complacent, incremental class 1.
    F  20 employees: one purchase of 2,000, two dissatisfier contacts in the last 90 days (a
       third one is older): At-risk (dissatisfier).
    """
    landing = tmp_path / "landing"
    _write_csv(
        landing / "customers" / "customers.csv",
        "customer_id,customer_name,customer_type,region",
        [f"{c},Customer {c},retail,North" for c in "ABCDEFG"],
    )
    _write_csv(
        landing / "employee_counts" / "employee_counts.csv",
        "customer_id,as_of_date,employees",
        [
            "A,2024-01-01,10",
            "A,2026-07-15,1000",
            "B,2024-01-01,100",
            "C,2024-01-01,50",
            "D,2024-01-01,20",
            "F,2024-01-01,20",
        ],
    )  # A's 1,000 are dated after D: not seen at D
    old = [
        ("TA1", "A", "2024-09-01", "x", 20000),
        ("TA2", "A", "2025-08-01", "x", 1),
        *[
            (f"TB{i}", "B", day, "x", 10000)
            for i, day in enumerate(["2024-08-01", "2024-10-01", "2024-12-01", "2025-02-01", "2025-04-01"], 1)
        ],
        ("TC1", "C", "2024-09-01", "x", 6000),
        ("TC2", "C", "2025-01-10", "x", 4000),
    ]
    _write_csv(
        landing / "revenue" / "a_old.csv",
        "transaction_id,customer_id,transaction_date,product_line,amount,margin",
        [f"{t},{c},{d},{p},{a},{a / 2}" for t, c, d, p, a in old],
    )
    new = [
        ("TA2", "A", "2025-08-01", "x", 15000.0),  # delivered again: the later file wins
        ("TA3", "A", "2026-05-01", "y", 15000.0),
        *[
            (f"TB{i}", "B", day, "x", 5000.0)
            for i, day in enumerate(["2025-08-01", "2025-11-01", "2026-02-01", "2026-06-15"], 6)
        ],
        ("TD1", "D", "2026-06-30", "x", 2000.0),
        ("TE1", "E", "2026-03-01", "x", 500.0),
        ("TF1", "F", "2026-06-20", "x", 2000.0),
    ]
    frame = pd.DataFrame(
        new, columns=["transaction_id", "customer_id", "transaction_date", "product_line", "amount"]
    )
    frame["transaction_date"] = pd.to_datetime(frame["transaction_date"]).dt.date
    frame["margin"] = frame["amount"] / 2
    frame.to_parquet(landing / "revenue" / "b_new.parquet", index=False)
    contacts = pd.DataFrame(
        [
            ("K1", "D", "2026-06-01 10:00", "technical_support"),
            ("K2", "F", "2025-12-01 09:00", "delayed_shipment"),
            ("K3", "F", "2026-05-01 11:30", "delayed_shipment"),
            ("K4", "F", "2026-06-10 15:00", "billing_error"),
        ],
        columns=["contact_id", "customer_id", "contact_date", "reason_code"],
    )
    contacts["contact_date"] = pd.to_datetime(contacts["contact_date"])
    contacts["medium"] = "phone"
    (landing / "contacts").mkdir()
    contacts.to_parquet(landing / "contacts" / "2026.parquet", index=False)
    _write_csv(
        landing / "referrals" / "referrals.csv",
        "referral_id,referrer_customer_id,referral_date,referred_customer_id",
        ["R1,D,2024-01-01,"],  # outside every window
    )
    return landing


def _peer_outputs(out: Path) -> tuple:
    worth = pd.read_parquet(out / "customer_worth.parquet")
    loyalty = pd.read_parquet(out / "customer_loyalty.parquet")
    bic = pd.read_parquet(out / "best_in_class.parquet")
    at = pd.Timestamp(D)
    return (
        worth[worth["as_of_date"] == at].set_index("customer_id"),
        loyalty[loyalty["as_of_date"] == at].set_index("customer_id"),
        bic[bic["as_of_date"] == at],
        worth[worth["as_of_date"] != at],
    )


def test_peer_grades_and_segments_of_a_hand_made_case(hand_landing, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("ACCOUNTS_CONFIG", raising=False)  # the project's defaults
    out = tmp_path / "out"
    assert peer.main(["--landing", str(hand_landing), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "customer_worth: 9 rows" in printed  # 6 at D, 3 (A, B, C) at D0
    assert "customer_loyalty: 9 rows" in printed and "best_in_class:" in printed
    worth, loyalty, bic, worth_d0 = _peer_outputs(out)

    assert sorted(worth.index) == list("ABCDEF")  # G never bought
    assert sorted(worth_d0["customer_id"]) == list("ABC")
    assert worth["actual_revenue"].to_dict() == {
        "A": 30000.0,
        "B": 20000.0,
        "C": 0.0,
        "D": 2000.0,
        "E": 500.0,
        "F": 2000.0,
    }
    assert worth.loc["A", "employees"] == 10  # the count dated after D is not seen
    # 4 peers (A 3,000, B 200, D 100, F 100 per employee) < 5: widened to everyone;
    # quantile 0.9 with interpolation: 200 + 0.7 x (3,000 - 200)
    assert set(worth["bic_level"]) == {"all"} and set(worth["peers"]) == {4}
    assert worth.loc["A", "best_in_class"] == pytest.approx(2160.0)
    assert worth.loc["B", "incremental_revenue"] == pytest.approx(100 * 2160.0 - 20000)
    assert worth.loc["A", "incremental_revenue"] == 0  # 21,600 potential < 30,000 actual
    assert pd.isna(worth.loc["E", "potential_revenue"]) and worth.loc["E", "incremental_revenue"] == 0
    # top shares of the increment (known employees): B 0.2 -> 4, C 0.4 -> 3, D/F 0.8 -> 1, A 1.0 -> 1
    assert worth["incremental_class"].to_dict() == {"A": 1, "B": 4, "C": 3, "D": 1, "E": 1, "F": 1}
    assert worth["actual_class"].to_dict() == {"A": 5, "B": 4, "C": 1, "D": 2, "E": 1, "F": 2}
    assert worth["grade"].to_dict() == {"A": "A", "B": "A", "C": "D", "D": "C", "E": "D", "F": "C"}
    assert bic[["bic_level", "peers"]].drop_duplicates().values.tolist() == [["all", 4]]

    assert loyalty["segment"].to_dict() == {
        "A": "Secure",
        "B": "At-risk",
        "C": "Defector",
        "D": "Complacent",
        "E": "Complacent",
        "F": "At-risk",
    }
    assert loyalty.loc["B", "risk_reasons"] == "decline"
    assert loyalty.loc["F", "risk_reasons"] == "dissatisfier"
    assert loyalty.loc["F", "dissatisfier_contacts"] == 2
    assert loyalty.loc["B", "median_gap_days"] == 77  # gaps 59 61 61 62 | 92 92 122 134
    assert loyalty.loc["B", "days_since_last_purchase"] == 15
    assert loyalty.loc["C", "defection_probability"] == 1.0
    assert loyalty.loc["A", "revenue_prev_12m"] == 20000


def test_peer_best_in_class_is_the_top_customer_with_the_max_statistic(hand_landing, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("best_in_class:\n  statistic: max\n")  # a config names only what it changes
    out = tmp_path / "out"
    peer.run(hand_landing, out, config)
    worth, _, _, _ = _peer_outputs(out)
    top = (worth["actual_revenue"] / worth["employees"]).idxmax()
    assert top == "A"
    # A's revenue per employee, for every customer of known size (E's is unknown: no peer group)
    assert set(worth["best_in_class"].dropna()) == {3000.0} and pd.isna(worth.loc["E", "best_in_class"])
    assert worth.loc["A", "potential_revenue"] == worth.loc["A", "actual_revenue"]
    assert worth.loc["C", "incremental_revenue"] == 50 * 3000.0
    assert worth["grade"].to_dict() == {"A": "A", "B": "A", "C": "D", "D": "C", "E": "D", "F": "C"}


def test_measure_peer_runs_the_script_as_a_subprocess(hand_landing, tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "ACCOUNTS_CONFIG"}
    result = bench.measure_peer(hand_landing, env, tmp_path, tmp_path / "logs")
    assert result.returncode == 0, result.stderr_tail
    assert result.stages == {"total": pytest.approx(result.seconds, abs=1e-3)}
    assert result.peak_rss_bytes > 10 * 2**20
    assert (tmp_path / "pandas_peer" / "customer_worth.parquet").exists()
    assert "customer_loyalty: 9 rows" in Path(result.log).read_text()


# --------------------------------------------------------------------------------------------
# one new day of data


def _keys_and_days(con, relation: str, key: str, day: str) -> list[tuple]:
    return con.execute(f"SELECT {key}, CAST(CAST({day} AS VARCHAR)[:10] AS DATE) FROM {relation}").fetchall()


@pytest.mark.parametrize("file_format", ["auto", "csv"])
def test_one_day_delivery_writes_new_keys_dated_the_day_after(tmp_path, file_format):
    landing = tmp_path / "landing"
    generate(landing, customers=30, seed=5, file_format=file_format)
    con = duckdb.connect()
    rel = bench._dataset_relation
    (last_day,) = con.execute(
        f"SELECT max(CAST(transaction_date AS DATE)) FROM {rel(landing / 'revenue')}"
    ).fetchone()
    delivered = bench.deliver_one_day(landing, tmp_path / "copy", str(last_day))
    new_day = date.fromordinal(last_day.toordinal() + 1)
    assert delivered["day"] == new_day.isoformat()

    # every original file is there, unchanged (a symlink to it), plus the new ones
    originals = sorted(p.relative_to(landing) for p in landing.rglob("*") if p.is_file())
    copies = sorted(p.relative_to(tmp_path / "copy") for p in (tmp_path / "copy").rglob("*") if p.is_file())
    new_files = [Path(f["file"]).relative_to(tmp_path / "copy") for f in delivered["files"]]
    assert sorted(set(copies) - set(new_files)) == originals
    assert all((tmp_path / "copy" / o).resolve() == (landing / o).resolve() for o in originals)
    assert {f["dataset"] for f in delivered["files"]} >= {"revenue", "contacts"}

    suffix = ".csv" if file_format == "csv" else ".parquet"
    for item in delivered["files"]:
        dataset, path = item["dataset"], Path(item["file"])
        key, day = bench.ONE_DAY_DATASETS[dataset]
        if dataset in ("revenue", "contacts"):
            assert path.suffix == suffix
        reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
        new_rows = _keys_and_days(con, f"{reader}('{path}')", key, day)
        old_rows = _keys_and_days(con, rel(landing / dataset), key, day)
        old_keys = {k for k, _ in old_rows}
        assert len(new_rows) == item["rows"] > 0
        assert {d for _, d in new_rows} == {new_day}
        assert not old_keys & {k for k, _ in new_rows}  # new keys
        assert len({k for k, _ in new_rows}) == len(new_rows)
        source_day = date.fromisoformat(item["from_day"])
        assert source_day == max(d for _, d in old_rows if d <= last_day)
        assert len(new_rows) == sum(1 for _, d in old_rows if d == source_day)
        if dataset == "revenue":
            assert source_day == last_day
    # the pipeline's contract types survive (Parquet) or parse (CSV): same columns as the originals
    revenue = next(Path(f["file"]) for f in delivered["files"] if f["dataset"] == "revenue")
    reader = "read_parquet" if revenue.suffix == ".parquet" else "read_csv"
    original = next(p for p in sorted((landing / "revenue").iterdir()) if p.suffix == revenue.suffix)
    assert (
        con.execute(f"DESCRIBE SELECT * FROM {reader}('{revenue}')").fetchall()
        == con.execute(f"DESCRIBE SELECT * FROM {reader}('{original}')").fetchall()
    )


def test_one_day_delivery_keeps_a_contacts_time_of_day_in_csv(tmp_path):
    landing = tmp_path / "landing"
    _write_csv(
        landing / "revenue" / "r.csv",
        "transaction_id,customer_id,transaction_date,product_line,amount",
        ["T1,A,2026-06-29,x,10", "T2,B,2026-06-30,x,20"],
    )
    _write_csv(
        landing / "contacts" / "c.csv",
        "Contact_ID,customer_id,Contact_Date,medium",
        ["K1,A,2026-06-28 09:15:00,phone", "K2,B,2026-06-28 17:00:00,email", "K3,B,2026-07-04 08:00:00,web"],
    )
    delivered = bench.deliver_one_day(landing, tmp_path / "copy", "2026-06-30")
    files = {f["dataset"]: Path(f["file"]) for f in delivered["files"]}
    assert set(files) == {"revenue", "contacts"}  # no referrals delivered, none written
    assert files["revenue"].read_text().splitlines()[1:] == ["T2-d20260701,B,2026-07-01,x,20"]
    # the latest contacts day up to D (not K3, after D) moves to D + 1, its time of day kept
    assert files["contacts"].read_text().splitlines() == [
        "Contact_ID,customer_id,Contact_Date,medium",
        "K1-d20260701,A,2026-07-01 09:15:00,phone",
        "K2-d20260701,B,2026-07-01 17:00:00,email",
    ]


def test_a_second_day_on_top_of_the_first_moves_the_new_day_again(tmp_path):
    """`one_day_history`: the day after the backfill is delivered from the one-day folder."""
    landing = tmp_path / "landing"
    _write_csv(
        landing / "revenue" / "r.csv",
        "transaction_id,customer_id,transaction_date,product_line,amount",
        ["T1,A,2026-06-29,x,10", "T2,B,2026-06-30,x,20"],
    )
    first = bench.deliver_one_day(landing, tmp_path / "one_day", "2026-06-30")
    second = bench.deliver_one_day(tmp_path / "one_day", tmp_path / "two_days", first["day"])
    assert second["day"] == "2026-07-02"
    (item,) = second["files"]
    assert item["from_day"] == "2026-07-01"
    assert Path(item["file"]).read_text().splitlines()[1:] == ["T2-d20260701-d20260702,B,2026-07-02,x,20"]
    # both earlier files are there, as links to the originals
    assert sorted(p.name for p in (tmp_path / "two_days" / "revenue").iterdir()) == [
        "one_day_2026-07-01.csv", "one_day_2026-07-02.csv", "r.csv",
    ]  # fmt: skip
    assert (tmp_path / "two_days" / "revenue" / "r.csv").resolve() == (
        landing / "revenue" / "r.csv"
    ).resolve()


# --------------------------------------------------------------------------------------------
# the peer in the table and the targets


def _peer_run(total: float, ok: bool = True) -> dict:
    return {"returncode": 0 if ok else 1, "peak_rss_bytes": 5 * 10**8, "stages": {"total": total}}


def test_table_shows_the_peer_ratio_and_the_targets_use_it():
    repeats = [
        {
            **_repeat(40.0, 2.0, 10**9),
            "pandas_peer": _peer_run(100.0),
            "nightly_one_day": _repeat(8.0, 2.0, 1)["nightly"],
        },
        {
            **_repeat(44.0, 2.0, 10**9),
            "pandas_peer": _peer_run(110.0),
            "nightly_one_day": _repeat(9.0, 2.0, 1)["nightly"],
        },
    ]
    summary = bench.summarise(repeats)
    assert summary["pandas_peer"]["stages"]["total"]["median"] == 105.0
    assert summary["peer_ratio"]["nightly"] == pytest.approx(42.0 / 105.0)
    assert summary["peer_ratio"]["nightly_one_day"] == pytest.approx(8.5 / 105.0)

    table = bench.format_table(summary)
    lines = table.splitlines()
    assert lines[0].split()[:6] == ["measurement", "stage", "median", "s", "x", "floor"]
    assert "x peer" in lines[0]
    peer_line = next(line for line in lines if line.startswith("pandas_peer "))
    assert peer_line.split()[:5] == ["pandas_peer", "total", "105.00", "52.5", "1.00"]
    nightly = next(line for line in lines if line.startswith("nightly "))
    assert nightly.split()[:6] == ["nightly", "total", "42.00", "21.0", "0.40", "40.0,"]
    ingest = lines[lines.index(nightly) + 1]
    assert ingest.split()[:4] == ["ingest", "21.00", "10.5", "20.0,"]  # no peer ratio per stage
    assert any(line.startswith("nightly_one_day ") for line in lines)
    assert lines[2].split()[:5] == ["floor", "read", "all", "+", "revenue/month"]

    targets = {t["target"]: t for t in bench.evaluate_targets("M", summary)}
    assert targets["nightly at M <= 0.3x the pandas peer"]["value"] == 0.4
    assert not targets["nightly at M <= 0.3x the pandas peer"]["passed"]
    faster = bench.summarise([{**_repeat(30.0, 2.0, 1), "pandas_peer": _peer_run(110.0)}])
    assert [t["passed"] for t in bench.evaluate_targets("M", faster)] == [True, True]  # 30 s; 0.27x
    failed_peer = bench.summarise([{**_repeat(30.0, 2.0, 1), "pandas_peer": _peer_run(110.0, ok=False)}])
    assert [t["passed"] for t in bench.evaluate_targets("M", failed_peer)] == [True, False]
    # without a peer (--skip-peer) the ratio target has no verdict, and the table no column
    no_peer = bench.summarise([_repeat(30.0, 2.0, 1)])
    assert [t["target"] for t in bench.evaluate_targets("M", no_peer)] == ["nightly at M <= 45 s"]
    assert "x peer" not in bench.format_table(no_peer) and "peer_ratio" not in no_peer


def test_targets_of_the_issue():
    by_size = {}
    for size, measurement, stage, limit, _ in bench.TARGETS:
        by_size.setdefault(size, []).append((measurement, stage, limit))
    assert by_size["S"] == [("nightly_noop", "total", 8.0)]
    assert ("nightly", "peer_ratio", 0.3) in by_size["M"] and ("backfill_24m", "total", 45.0) in by_size["M"]
    assert {
        ("nightly_one_day", "total", 25.0),
        ("nightly", "floor_ratio", 6.0),
        ("nightly", "peak_rss_gb", 4.0),
    } <= set(by_size["L"])
    one_day = bench.summarise(
        [{**_repeat(100.0, 20.0, 1), "nightly_one_day": _repeat(24.0, 20.0, 1)["nightly"]}]
    )
    large = {t["target"]: t["passed"] for t in bench.evaluate_targets("L", one_day)}
    assert large["nightly at L after one new day <= 25 s"] is True
    assert large["nightly at L <= 6x floor"] is True  # 100 / 20 = 5x
