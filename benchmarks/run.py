"""Benchmark harness: how long the pipeline takes at a size, against a measured floor.

    python benchmarks/run.py --size S|M|L [--repeats N] [--skip-backfill] [--skip-noop]
        [--skip-peer] [--skip-one-day] [--out FILE]

For the size it generates (or reuses, cached under `data/generated/<size>/`) the landing data, then,
per repeat, in a fresh warehouse directory and a fresh DAGSTER_HOME:

1. the FLOOR: one DuckDB query that reads every landing file once and aggregates revenue per
   customer and month (plus the columns of the other datasets), the least any pipeline must do;
2. the PANDAS PEER (`benchmarks/pandas_peer.py`): worth, grades and loyalty segments of SPEC §4
   and §7 in plain single-threaded pandas, what a user would compare the pipeline with;
3. `accounts run`: the nightly run on an empty warehouse (every landing file is new);
4. `accounts run` again with nothing new: the fixed overhead of a nightly run;
5. `accounts run` after ONE NEW DAY: a copy of the landing folder (files symlinked) with one new
   file per changing dataset (revenue, contacts, referrals) dated the day after the latest
   transaction, new keys;
6. `accounts backfill --from X --to Y`: the last 24 months of the data, in one run;
7. `accounts run` after one more new day, on that 24-month history: the everyday nightly run once
   the warehouse and the publication hold a long history.

Every command runs as a subprocess; its process tree's resident memory is polled every 0.2 s
(sum of VmRSS of the tree: an upper bound, shared pages count once per process). Per-stage times
come from the Dagster event log of the run (step start / success timestamps), the slowest dbt
nodes from the run_results.json of the run's dbt invocations. The table shows medians over the
repeats and the ratio of each to the floor; the JSON holds every measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
# The console script imports `pipelines.cli`: the code under test, first on PYTHONPATH (--src/--ref).
ACCOUNTS = str(BIN / "accounts")
PYTHON = str(BIN / "python")
# The yardstick: part of the harness, not of the code under test (--ref/--src do not change it).
PANDAS_PEER = Path(__file__).resolve().parent / "pandas_peer.py"
SEED = 42
# size -> customers (None: the bundled sample in data/landing, 3,000 customers)
SIZES: dict[str, int | None] = {"S": None, "M": 100_000, "L": 1_000_000}
BACKFILL_MONTHS = 24
POLL_SECONDS = 0.2
# Dagster step key -> reported stage (anything else: its own step key)
STAGE_OF_STEP = {
    "worth_and_loyalty": "dbt worth_and_loyalty",
    "module_assignment_history": "assignment",
    "modules_and_risk": "dbt modules_and_risk",
    "staged_publication": "publish",
    "published_warehouse": "publish",
    "publication_report": "report",
}
STAGE_ORDER = [
    "total",
    "ingest",
    "dbt worth_and_loyalty",
    "assignment",
    "dbt modules_and_risk",
    "checks",
    "publish",
    "report",
    "overhead",
]

# The measured commands, in the order of a repeat (the floor runs first, in process).
MEASUREMENTS = (
    "pandas_peer",
    "nightly",
    "nightly_noop",
    "nightly_one_day",
    "backfill_24m",
    "one_day_history",
)
# The pipeline's measurements (each total is also shown over the pandas peer's).
PIPELINE_MEASUREMENTS = MEASUREMENTS[1:]

# (size, measurement, stage or "peak_rss_gb" / "floor_ratio" / "peer_ratio", limit, description)
TARGETS = [
    ("S", "nightly_noop", "total", 8.0, "fixed overhead (nightly, nothing new) on the sample <= 8 s"),
    ("M", "nightly", "total", 45.0, "nightly at M <= 45 s"),
    ("M", "nightly", "peer_ratio", 0.3, "nightly at M <= 0.3x the pandas peer"),
    ("M", "backfill_24m", "total", 45.0, "24-month backfill at M <= 45 s"),
    ("L", "nightly", "total", 180.0, "nightly at L <= 3 min"),
    ("L", "nightly", "peak_rss_gb", 4.0, "peak RSS of the nightly at L <= 4 GB"),
    ("L", "nightly", "floor_ratio", 6.0, "nightly at L <= 6x floor"),
    ("L", "nightly_one_day", "total", 25.0, "nightly at L after one new day <= 25 s"),
]

# dataset -> (key column, date column): the datasets a new day of data changes
ONE_DAY_DATASETS = {
    "revenue": ("transaction_id", "transaction_date"),
    "contacts": ("contact_id", "contact_date"),
    "referrals": ("referral_id", "referral_date"),
}


# --------------------------------------------------------------------------------------------
# process tree memory


def _children_map() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        # "pid (comm) state ppid ...": comm may hold spaces and parentheses
        ppid = int(stat[stat.rindex(b")") + 2 :].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    return children


def tree_rss_bytes(root: int) -> int:
    """Sum of VmRSS over `root` and all its descendants (0 for processes gone meanwhile)."""
    children = _children_map()
    page = os.sysconf("SC_PAGE_SIZE")
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, ()))
        try:
            with open(f"/proc/{pid}/statm", "rb") as f:
                total += int(f.read().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakRss:
    """Polls a process tree's resident memory in a thread; `peak` is the largest sum seen."""

    def __init__(self, pid: int, interval: float = POLL_SECONDS) -> None:
        self.pid, self.interval, self.peak = pid, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, tree_rss_bytes(self.pid))
            self._stop.wait(self.interval)

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak


@dataclass
class CommandResult:
    args: list[str]
    returncode: int
    seconds: float
    peak_rss_bytes: int
    log: str
    stderr_tail: str = ""
    stages: dict[str, float] = field(default_factory=dict)
    steps: dict[str, float] = field(default_factory=dict)
    dbt_nodes: dict[str, float] = field(default_factory=dict)
    run_ids: list[str] = field(default_factory=list)


def run_command(
    args: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path = ROOT,
    timeout: float | None = None,
) -> CommandResult:
    """Run `args` with `env` in `cwd`, output to `log_path`; wall time and the tree's peak RSS.
    Past `timeout` seconds the command's process group is killed (return code -9)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "w") as log:
        started = time.perf_counter()
        process = subprocess.Popen(list(args), env=dict(env), stdout=log, stderr=subprocess.STDOUT,
                                   cwd=cwd, start_new_session=True)  # fmt: skip
        sampler = PeakRss(process.pid)
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # its own session: only this command's tree
            returncode = process.wait()
            log.write(f"\n[benchmark] killed after the {timeout:.0f} s timeout\n")
        seconds = time.perf_counter() - started
        peak = sampler.stop()
    tail = ""
    if returncode:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-15:])
    return CommandResult(list(args), returncode, seconds, peak, str(log_path), tail)


# --------------------------------------------------------------------------------------------
# landing data


def landing_for(size: str, cache_root: Path, env: Mapping[str, str], log_dir: Path) -> tuple[Path, dict]:
    """The landing folder of `size`, generated once into `cache_root/<size>` (a marker file
    records the generator's arguments, time and peak RSS; a folder without it is regenerated)."""
    customers = SIZES[size]
    if customers is None:
        return ROOT / "data" / "landing", {"customers": 3000, "seed": SEED, "bundled": True}
    out = cache_root / size
    marker = out / "_generated.json"
    if marker.exists():
        info = json.loads(marker.read_text())
        if info.get("customers") == customers and info.get("seed") == SEED:
            info["reused"] = True
            return out, info
    if out.exists():
        shutil.rmtree(out)
    print(f"generating size {size} ({customers:,} customers) into {out} ...", flush=True)
    result = run_command(
        [ACCOUNTS, "generate", "--customers", str(customers), "--seed", str(SEED), "--out", str(out)],
        env,
        log_dir / f"generate-{size}.log",
    )
    if result.returncode:
        raise SystemExit(f"generation failed:\n{result.stderr_tail}")
    info = {
        "customers": customers,
        "seed": SEED,
        "seconds": round(result.seconds, 2),
        "peak_rss_bytes": result.peak_rss_bytes,
        "output": Path(result.log).read_text().strip(),
        "bytes": sum(p.stat().st_size for p in out.rglob("*") if p.is_file()),
    }
    marker.write_text(json.dumps(info, indent=2))
    info["reused"] = False
    return out, info


# --------------------------------------------------------------------------------------------
# the floor


def _dataset_relation(folder: Path) -> str | None:
    """A SQL relation over every CSV and Parquet file of one landing dataset folder."""

    def quoted(files: Iterable[Path]) -> str:
        return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in sorted(files)) + "]"

    parquet = list(folder.glob("*.parquet"))
    csv = list(folder.glob("*.csv"))
    parts = []
    if parquet:
        parts.append(f"SELECT * FROM read_parquet({quoted(parquet)}, union_by_name = true)")
    if csv:
        parts.append(f"SELECT * FROM read_csv({quoted(csv)}, header = true, union_by_name = true)")
    return "(" + " UNION ALL BY NAME ".join(parts) + ")" if parts else None


def floor_sql(landing: Path) -> dict[str, str]:
    """One query per dataset; together they read every landing file once. Revenue is aggregated
    per customer and month (what the marts need at the least); the other datasets fold every
    column into min/max so no column is skipped."""
    queries = {}
    for folder in sorted(p for p in landing.iterdir() if p.is_dir()):
        relation = _dataset_relation(folder)
        if relation is None:
            continue
        if folder.name == "revenue":
            queries["revenue"] = (
                "SELECT count(*) AS groups, sum(amount) AS amount, sum(rows) AS rows, "
                "max(last_day) AS last_day FROM ("
                "SELECT customer_id, date_trunc('month', CAST(transaction_date AS DATE)) AS month, "
                "sum(CAST(amount AS DECIMAL(18,2))) AS amount, sum(CAST(margin AS DECIMAL(18,2))), "
                "max(product_line), count(*) AS rows, "
                f"max(CAST(transaction_date AS DATE)) AS last_day FROM {relation} GROUP BY ALL)"
            )
        else:
            queries[folder.name] = f"SELECT count(*), min(COLUMNS(*)), max(COLUMNS(*)) FROM {relation}"
    return queries


def run_floor(landing: Path) -> dict[str, Any]:
    """Time the floor queries in a fresh in-memory DuckDB (all cores, as the pipeline has)."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    try:
        started = time.perf_counter()
        per_dataset, revenue = {}, None
        for name, sql in floor_sql(landing).items():
            t0 = time.perf_counter()
            row = con.execute(sql).fetchone()
            per_dataset[name] = round(time.perf_counter() - t0, 3)
            if name == "revenue":
                revenue = row
        seconds = time.perf_counter() - started
    finally:
        con.close()
    groups, amount, rows, last_day = revenue if revenue else (0, 0, 0, None)
    return {
        "seconds": seconds,
        "per_dataset": per_dataset,
        "revenue_rows": int(rows or 0),
        "customer_months": int(groups or 0),
        "revenue_total": str(amount),
        "last_day": str(last_day) if last_day else None,
    }


def last_months(last_day: str, n: int = BACKFILL_MONTHS) -> tuple[str, str]:
    """The `n` months ending with the month of `last_day` (ISO date), as (YYYY-MM, YYYY-MM)."""
    year, month = int(last_day[:4]), int(last_day[5:7])
    index = year * 12 + month - 1 - (n - 1)
    return f"{index // 12:04d}-{index % 12 + 1:02d}", f"{year:04d}-{month:02d}"


# --------------------------------------------------------------------------------------------
# one new day of data


def _landing_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith(".") and p.suffix.lower() in (".csv", ".parquet")
    )


def _quoted_list(files: Iterable[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in files) + "]"


def _day_expressions(column: str, kind: str) -> tuple[str, str]:
    """(the day of `column`, `column` moved by `{shift}` days, same type) for a DuckDB type; CSV
    is read as text, so its dates are moved as text, keeping any time of day."""
    quoted = f'"{column}"'
    if kind == "VARCHAR":
        day = f"TRY_CAST(substr({quoted}, 1, 10) AS DATE)"
        return day, f"strftime({day} + {{shift}}, '%Y-%m-%d') || substr({quoted}, 11)"
    if kind == "DATE":
        return quoted, f"{quoted} + {{shift}}"
    return f"CAST({quoted} AS DATE)", f"{quoted} + INTERVAL ({{shift}}) DAY"  # TIMESTAMP and the like


def deliver_one_day(landing: Path, dest: Path, last_day: str) -> dict[str, Any]:
    """A copy of `landing` in `dest` holding one more day of data: every file is symlinked (the
    pipeline knows a loaded file by its content, so none of them is new), and each dataset of
    ONE_DAY_DATASETS gets a new file `one_day_<date>.<csv|parquet>` (the format of the files the
    rows come from) with the rows of its latest day up to `last_day` (the latest transaction date)
    moved to the day after `last_day`, each under a new key (`<key>-d<YYYYMMDD>`)."""
    import duckdb

    new_day = date.fromisoformat(last_day) + timedelta(days=1)
    dest.mkdir(parents=True)
    for entry in sorted(landing.iterdir()):
        if entry.is_dir():
            (dest / entry.name).mkdir()
            for path in sorted(p for p in entry.iterdir() if p.is_file()):
                (dest / entry.name / path.name).symlink_to(path.resolve())
        elif entry.is_file():
            (dest / entry.name).symlink_to(entry.resolve())

    delivered: dict[str, Any] = {"day": new_day.isoformat(), "files": []}
    con = duckdb.connect()
    try:
        for dataset, (key, day_column) in ONE_DAY_DATASETS.items():
            files = _landing_files(landing / dataset) if (landing / dataset).is_dir() else []
            candidates = []  # (latest day, format, relation, key column, day column, types)
            for fmt in ("parquet", "csv"):
                group = [p for p in files if p.suffix.lower() == f".{fmt}"]
                if not group:
                    continue
                relation = (
                    f"read_parquet({_quoted_list(group)}, union_by_name = true)"
                    if fmt == "parquet"
                    else f"read_csv({_quoted_list(group)}, header = true, all_varchar = true, "
                    "union_by_name = true)"
                )
                types = dict(
                    con.execute(
                        f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})"
                    ).fetchall()
                )
                names = {n.lower(): n for n in types}  # column names match whatever their case
                if key not in names or day_column not in names:
                    continue
                day, _ = _day_expressions(names[day_column], types[names[day_column]])
                (latest,) = con.execute(
                    f"SELECT max({day}) FROM {relation} WHERE {day} <= DATE '{last_day}'"
                ).fetchone()
                if latest is not None:
                    candidates.append((latest, fmt, relation, names[key], names[day_column], types))
            if not candidates:
                continue
            latest = max(c[0] for c in candidates)
            for group_latest, fmt, relation, key_name, day_name, types in candidates:
                if group_latest != latest:
                    continue
                day, moved = _day_expressions(day_name, types[day_name])
                out = dest / dataset / f"one_day_{new_day.isoformat()}.{fmt}"
                select = (
                    f"SELECT * REPLACE (CAST(\"{key_name}\" AS VARCHAR) || '-d{new_day:%Y%m%d}' "
                    f'AS "{key_name}", {moved.format(shift=(new_day - latest).days)} AS "{day_name}") '
                    f"FROM {relation} WHERE {day} = DATE '{latest}'"
                )
                options = "FORMAT parquet" if fmt == "parquet" else "FORMAT csv, HEADER true"
                con.execute(f"COPY ({select}) TO '{_sql_path(out)}' ({options})")
                rows = _file_rows(con, out)
                delivered["files"].append(
                    {"dataset": dataset, "file": str(out), "rows": rows, "from_day": latest.isoformat()}
                )
    finally:
        con.close()
    return delivered


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _file_rows(con: Any, path: Path) -> int:
    reader = "read_parquet" if path.suffix == ".parquet" else "read_csv"
    return con.execute(f"SELECT count(*) FROM {reader}('{_sql_path(path)}')").fetchone()[0]


# --------------------------------------------------------------------------------------------
# stages from the Dagster event log, dbt nodes from run_results.json


def stage_of(step_key: str, job_name: str) -> str:
    if job_name.startswith("ingest"):
        return "ingest"
    if step_key in STAGE_OF_STEP:
        return STAGE_OF_STEP[step_key]
    if step_key.endswith("quality_expectations"):
        return "checks"
    return step_key


def stages_from_steps(steps: Mapping[tuple[str, str], float], total: float) -> dict[str, float]:
    """{(job, step): seconds} -> {stage: seconds}, with `total` and `overhead` (= total - steps)."""
    stages: dict[str, float] = {"total": total}
    for (job, step), seconds in steps.items():
        stage = stage_of(step, job)
        stages[stage] = stages.get(stage, 0.0) + seconds
    stages["overhead"] = total - sum(steps.values())
    return stages


def dagster_steps(dagster_home: Path) -> tuple[dict[tuple[str, str], float], list[str]]:
    """Seconds per (job, step) of every run recorded in `dagster_home`, and the run ids."""
    os.environ["DAGSTER_HOME"] = str(dagster_home)
    from dagster import DagsterInstance

    steps: dict[tuple[str, str], float] = {}
    run_ids = []
    with DagsterInstance.get() as instance:
        for run in sorted(instance.get_runs(), key=lambda r: r.run_id):
            run_ids.append(run.run_id)
            started: dict[str, float] = {}
            for entry in instance.all_logs(run.run_id):
                event = entry.dagster_event
                if event is None or not entry.step_key:
                    continue
                kind = event.event_type_value
                if kind == "STEP_START":
                    started[entry.step_key] = entry.timestamp
                elif kind in ("STEP_SUCCESS", "STEP_FAILURE") and entry.step_key in started:
                    key = (run.job_name, entry.step_key)
                    steps[key] = steps.get(key, 0.0) + entry.timestamp - started.pop(entry.step_key)
    return steps, run_ids


def dbt_node_times(run_ids: Iterable[str], target: Path) -> dict[str, float]:
    """execution_time per dbt node from the run_results.json of the runs' dbt invocations
    (dagster-dbt names their target dirs `<op>-<run_id[:7]>-<uuid[:7]>`)."""
    nodes: dict[str, float] = {}
    for run_id in run_ids:
        for results in target.glob(f"*-{run_id[:7]}-*/run_results.json"):
            for node in json.loads(results.read_text()).get("results", []):
                nodes[node["unique_id"]] = nodes.get(node["unique_id"], 0.0) + node["execution_time"]
    return nodes


def dbt_split(nodes: Mapping[str, float]) -> dict[str, float]:
    """Summed execution time of the dbt models and of the dbt tests (2 dbt threads: the sums can
    exceed the step's wall time; their gap to it is dbt's own start-up, parse and bookkeeping)."""
    split = {"models": 0.0, "tests": 0.0, "other": 0.0}
    for unique_id, seconds in nodes.items():
        kind = unique_id.split(".", 1)[0]
        split["models" if kind == "model" else "tests" if kind == "test" else "other"] += seconds
    return {k: round(v, 3) for k, v in split.items()}


def target_dirs(run_ids: Iterable[str], target: Path) -> list[Path]:
    return sorted(p for run_id in run_ids for p in target.glob(f"*-{run_id[:7]}-*") if p.is_dir())


# --------------------------------------------------------------------------------------------
# EXPLAIN ANALYZE of the slowest models


def _walk_operators(node: Any, out: list[dict]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk_operators(item, out)
        return
    if not isinstance(node, dict):
        return
    kind = node.get("operator_type") or node.get("operator_name") or node.get("type")
    timing = node.get("operator_timing", node.get("timing"))
    if kind and timing is not None:
        rows = node.get("operator_cardinality", node.get("intermediate_rows"))
        extra = node.get("extra_info") or {}
        out.append(
            {
                "operator": kind,
                "seconds": float(timing),
                "rows": rows,
                "info": {k: extra[k] for k in list(extra)[:3]} if isinstance(extra, dict) else extra,
            }
        )
    for key in ("children", "operator"):
        if key in node:
            _walk_operators(node[key], out)


def top_operators(profile_json: str, n: int = 5) -> list[dict]:
    """The `n` costliest operators of an `EXPLAIN (ANALYZE, FORMAT JSON)` result (an operator's
    seconds are summed over DuckDB's threads, so they can exceed the query's wall time)."""
    operators: list[dict] = []
    _walk_operators(json.loads(profile_json), operators)
    return sorted(operators, key=lambda o: -o["seconds"])[:n]


def explain_models(warehouse: Path, dirs: Sequence[Path], models: Sequence[str]) -> dict[str, Any]:
    """EXPLAIN ANALYZE the compiled SQL of `models` (dbt unique ids) against a copy of the
    warehouse; return each model's total and costliest operators."""
    import duckdb

    compiled = {}
    for d in dirs:
        for path in (d / "compiled").rglob("*.sql"):
            compiled.setdefault(path.stem, path)
    copy = warehouse.with_name("explain_copy.duckdb")
    shutil.copyfile(warehouse, copy)
    out: dict[str, Any] = {}
    # the compiled SQL names the catalog after the warehouse file
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{copy}' AS {warehouse.stem} (READ_ONLY)")
        con.execute(f"USE {warehouse.stem}")
        for unique_id in models:
            name = unique_id.split(".")[-1]
            if name not in compiled:
                continue
            sql = compiled[name].read_text()
            t0 = time.perf_counter()
            try:
                profile = con.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}").fetchall()[0][1]
            except duckdb.Error as exc:
                out[unique_id] = {"error": str(exc).splitlines()[0]}
                continue
            out[unique_id] = {
                "seconds": round(time.perf_counter() - t0, 3),
                "top_operators": top_operators(profile),
            }
    finally:
        con.close()
        copy.unlink(missing_ok=True)
    return out


# --------------------------------------------------------------------------------------------
# reporting


def median(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(repeats: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Medians over the repeats: per measurement and stage, plus peak RSS and the floor."""
    summary: dict[str, Any] = {"floor": median([r["floor"]["seconds"] for r in repeats])}
    for measurement in MEASUREMENTS:
        results = [r[measurement] for r in repeats if r.get(measurement)]
        if not results:
            continue
        stages = {s for r in results for s in r["stages"]}
        ordered = [s for s in STAGE_ORDER if s in stages] + sorted(stages - set(STAGE_ORDER))
        summary[measurement] = {
            "ok": all(r["returncode"] == 0 for r in results),
            "stages": {
                s: {
                    "median": median([r["stages"].get(s) for r in results]),
                    "runs": [r["stages"].get(s) for r in results],
                }
                for s in ordered
            },
            "peak_rss_bytes": max(r["peak_rss_bytes"] for r in results),
        }
    peer = summary.get("pandas_peer", {}).get("stages", {}).get("total", {}).get("median")
    if peer:
        summary["peer_ratio"] = {
            m: summary[m]["stages"]["total"]["median"] / peer
            for m in PIPELINE_MEASUREMENTS
            if m in summary and summary[m]["stages"]["total"]["median"] is not None
        }
    return summary


def format_table(summary: Mapping[str, Any]) -> str:
    """measurement / stage, median seconds, ratio to the floor, the runs; with a pandas peer
    measured, a column `x peer`: each measurement's total over the peer's (nightly / pandas_peer)."""
    floor = summary.get("floor")
    peer = summary.get("pandas_peer", {}).get("stages", {}).get("total", {}).get("median")
    peer_column = f" {'x peer':>7}" if peer else ""
    header = f"{'measurement':<16} {'stage':<28} {'median s':>9} {'x floor':>8}{peer_column}  runs (s)"
    lines = [header, "-" * len(header)]
    if floor is not None:
        floor_peer = f" {floor / peer:>7.2f}" if peer else ""
        lines.append(f"{'floor':<16} {'read all + revenue/month':<28} {floor:>9.2f} {1.0:>8.2f}{floor_peer}")
    for measurement in MEASUREMENTS:
        block = summary.get(measurement)
        if not block:
            continue
        status = "" if block["ok"] else "  (FAILED)"
        for i, (stage, values) in enumerate(block["stages"].items()):
            med = values["median"]
            if med is None:
                continue
            ratio = f"{med / floor:8.1f}" if floor else f"{'-':>8}"
            if peer:
                ratio += f" {med / peer:>7.2f}" if stage == "total" else f" {'':>7}"
            runs = ", ".join(f"{v:.1f}" for v in values["runs"] if v is not None)
            label = measurement if i == 0 else ""
            lines.append(f"{label:<16} {stage:<28} {med:>9.2f} {ratio}  {runs}{status if i == 0 else ''}")
        lines.append(f"{'':<16} {'peak RSS (GB)':<28} {block['peak_rss_bytes'] / 1e9:>9.2f}")
    return "\n".join(lines)


def evaluate_targets(size: str, summary: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Pass/fail of the targets that apply to `size` (median values)."""
    out = []
    for target_size, measurement, stage, limit, text in TARGETS:
        block = summary.get(measurement)
        if target_size != size or not block:
            continue
        total = block["stages"]["total"]["median"]
        if stage == "peak_rss_gb":
            value = block["peak_rss_bytes"] / 1e9
        elif stage == "floor_ratio":
            value = total / summary["floor"] if summary.get("floor") else None
        elif stage == "peer_ratio":
            if "pandas_peer" not in summary:
                continue  # not measured (--skip-peer): no verdict
            value = summary.get("peer_ratio", {}).get(measurement)
            block = {**block, "ok": block["ok"] and summary["pandas_peer"]["ok"]}
        else:
            value = block["stages"][stage]["median"]
        passed = value is not None and value <= limit and block["ok"]
        out.append(
            {
                "target": text,
                "value": None if value is None else round(value, 2),
                "limit": limit,
                "passed": passed,
            }
        )
    return out


def top_nodes(nodes_per_repeat: Sequence[Mapping[str, float]], n: int = 10) -> list[tuple[str, float]]:
    """The `n` dbt nodes with the largest median execution time over the repeats."""
    ids = {k for nodes in nodes_per_repeat for k in nodes}
    medians = {k: median([nodes.get(k) for nodes in nodes_per_repeat]) for k in ids}
    return sorted(medians.items(), key=lambda kv: -kv[1])[:n]


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "loadavg": list(os.getloadavg()),
    }
    try:
        meminfo = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        info["mem_total_gb"] = round(int(meminfo["MemTotal"].split()[0]) / 1e6, 1)
        info["mem_available_gb"] = round(int(meminfo["MemAvailable"].split()[0]) / 1e6, 1)
    except (OSError, KeyError, ValueError):
        pass
    return info


# --------------------------------------------------------------------------------------------
# the code under test


def export_ref(ref: str, dest: Path) -> dict[str, Any]:
    """`git archive` of `ref` into `dest` (no checkout, nothing in the repository changes)."""
    commit = subprocess.run(["git", "rev-parse", ref], cwd=ROOT, check=True, capture_output=True,
                            text=True).stdout.strip()  # fmt: skip
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.Popen(["git", "archive", commit], cwd=ROOT, stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", str(dest)], stdin=archive.stdout, check=True)
    if archive.wait():
        raise SystemExit(f"git archive {ref} failed")
    return {"ref": ref, "commit": commit, "src": str(dest)}


def working_tree_info() -> dict[str, Any]:
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return done.stdout.strip()

    dirty = git("status", "--short", "--untracked-files=no", "--", "pipelines", "transforms", "sample_data")
    return {"ref": "working tree", "commit": git("rev-parse", "HEAD"), "src": str(ROOT),
            "dirty_files": dirty.splitlines()}  # fmt: skip


def warm_up(env: Mapping[str, str], src: Path, log_path: Path) -> float:
    """Import the definitions once, untimed by the measurements: a stale or missing dbt manifest
    is parsed here (pipelines.transforms.project.ensure_manifest), not inside the first nightly run."""
    started = time.perf_counter()
    result = run_command([PYTHON, "-c", "import pipelines.definitions"], env, log_path, cwd=src)
    if result.returncode:
        raise SystemExit(f"the code under test does not import:\n{result.stderr_tail}")
    return time.perf_counter() - started


# --------------------------------------------------------------------------------------------
# main


def measure(
    name: str,
    args: list[str],
    env: dict[str, str],
    work: Path,
    log_dir: Path,
    src: Path,
    timeout: float | None = None,
) -> CommandResult:
    # a fresh instance per command, set up by the code under test as a user's run sets it up
    # (`accounts` writes its dagster.yaml on first use), so the harness can read its steps
    home = work / f"dagster_home_{name}"
    home.mkdir()
    result = run_command(
        args, {**env, "DAGSTER_HOME": str(home)}, log_dir / f"{name}.log", cwd=src, timeout=timeout
    )
    try:
        # no settings file: the command started no Dagster run (a night with nothing new)
        steps, result.run_ids = dagster_steps(home) if (home / "dagster.yaml").exists() else ({}, [])
    except Exception as exc:  # noqa: BLE001 - a broken event log must not lose the wall time
        print(f"  could not read the event log of {name}: {exc}", flush=True)
        steps = {}
    result.steps = {f"{job}:{step}": round(s, 3) for (job, step), s in steps.items()}
    result.stages = {k: round(v, 3) for k, v in stages_from_steps(steps, result.seconds).items()}
    result.dbt_nodes = dbt_node_times(result.run_ids, src / "transforms" / "target")
    print_result(name, result)
    return result


def print_result(name: str, result: CommandResult) -> None:
    status = "ok" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    rss = result.peak_rss_bytes / 1e9
    print(f"  {name:<16} {result.seconds:7.1f} s  peak RSS {rss:5.2f} GB  {status}", flush=True)
    if result.returncode:
        print("    " + result.stderr_tail.replace("\n", "\n    "), flush=True)


def measure_peer(
    landing: Path, env: dict[str, str], work: Path, log_dir: Path, timeout: float | None = None
) -> CommandResult:
    """The pandas peer as a subprocess: wall time and the tree's peak RSS (no Dagster, no stages
    but the total). Its outputs go to the repeat's work dir and are deleted with it."""
    args = [PYTHON, str(PANDAS_PEER), "--landing", str(landing), "--out", str(work / "pandas_peer")]
    result = run_command(args, env, log_dir / "pandas_peer.log", timeout=timeout)
    result.stages = {"total": round(result.seconds, 3)}
    print_result("pandas_peer", result)
    return result


def as_json(result: CommandResult | None) -> dict[str, Any] | None:
    if result is None:
        return None
    return {
        "args": result.args[1:],
        "returncode": result.returncode,
        "seconds": round(result.seconds, 3),
        "peak_rss_bytes": result.peak_rss_bytes,
        "stages": result.stages,
        "steps": result.steps,
        "dbt_node_seconds": dbt_split(result.dbt_nodes),
        "dbt_nodes": {k: round(v, 3) for k, v in result.dbt_nodes.items()},
        "run_ids": result.run_ids,
        "log": result.log,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size", choices=sorted(SIZES), required=True)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument(
        "--skip-backfill", action="store_true", help="no 24-month backfill (nor the new day after it)"
    )
    parser.add_argument("--skip-noop", action="store_true", help="no second nightly run (nothing new)")
    parser.add_argument("--skip-peer", action="store_true", help="no pandas peer (benchmarks/pandas_peer.py)")
    parser.add_argument(
        "--skip-one-day", action="store_true", help="no nightly run after one new day of data"
    )
    parser.add_argument("--timeout", type=float, help="kill a command after this many seconds")
    parser.add_argument(
        "--engine",
        choices=("duckdb", "spark"),
        default="duckdb",
        help="the engine of dbt's models (ACCOUNTS_ENGINE; spark: a local session, docs/SPARK.md)",
    )
    parser.add_argument(
        "--out", type=Path, help="JSON results (default benchmarks/results/<size>[.spark].json)"
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=ROOT / "data" / "generated",
        help="where generated landing data is kept (default data/generated)",
    )
    parser.add_argument(
        "--work",
        type=Path,
        default=None,
        help="parent of the temporary warehouse dirs (default: the system temp dir)",
    )
    code = parser.add_mutually_exclusive_group()
    code.add_argument("--ref", help="benchmark this git ref (exported with git archive to a temp dir) "
                      "instead of the working tree, e.g. HEAD while others edit the tree")  # fmt: skip
    code.add_argument("--src", type=Path, help="benchmark the project checked out at this path")
    parser.add_argument(
        "--explain",
        type=int,
        default=5,
        help="EXPLAIN ANALYZE the N slowest dbt models after the last repeat (0: none)",
    )
    args = parser.parse_args(argv)
    suffix = "" if args.engine == "duckdb" else f".{args.engine}"
    out = args.out or ROOT / "benchmarks" / "results" / f"{args.size}{suffix}.json"
    log_dir = out.with_suffix("") / "logs"
    base_env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "ACCOUNTS_ENGINE": args.engine}
    if args.engine != "duckdb":
        args.explain = 0  # EXPLAIN ANALYZE reads the DuckDB engine's intermediate tables
    base_env.pop("DAGSTER_HOME", None)

    exported = None
    if args.ref:
        exported = Path(tempfile.mkdtemp(prefix="accounts-bench-src-", dir=args.work))
        code_info = export_ref(args.ref, exported)
        src = exported
    elif args.src:
        src = args.src.resolve()
        code_info = {"ref": None, "src": str(src)}
    else:
        src = ROOT
        code_info = working_tree_info()
    base_env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), os.environ.get("PYTHONPATH")]))
    try:
        return _benchmark(args, out, log_dir, base_env, src, code_info)
    finally:
        if exported is not None:
            shutil.rmtree(exported, ignore_errors=True)


def _benchmark(
    args: argparse.Namespace,
    out: Path,
    log_dir: Path,
    base_env: dict[str, str],
    src: Path,
    code_info: dict[str, Any],
) -> int:
    landing, generated = landing_for(args.size, args.cache, base_env, log_dir)
    print(f"size {args.size}: landing {landing} ({'reused' if generated.get('reused') else 'fresh'})")
    report: dict[str, Any] = {
        "size": args.size,
        "engine": args.engine,
        "landing": str(landing),
        "generated": generated,
        "code": code_info,
        "machine": machine(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
        "repeats": [],
    }
    explain: dict[str, Any] = {}
    for repeat in range(args.repeats):
        print(f"repeat {repeat + 1}/{args.repeats}", flush=True)
        work = Path(tempfile.mkdtemp(prefix=f"accounts-bench-{args.size}-", dir=args.work))
        try:
            env = {
                **base_env,
                "ACCOUNTS_LANDING_DIR": str(landing),
                "ACCOUNTS_WAREHOUSE_DIR": str(work / "warehouse"),
            }
            if repeat == 0:
                report["warm_up_seconds"] = round(warm_up(env, src, log_dir / "warm_up.log"), 2)
            floor = run_floor(landing)
            print(
                f"  {'floor':<16} {floor['seconds']:7.1f} s  ({floor['revenue_rows']:,} revenue rows, "
                f"{floor['customer_months']:,} customer-months)",
                flush=True,
            )
            rlog = log_dir / f"repeat{repeat + 1}"
            peer = None
            if not args.skip_peer:
                peer = measure_peer(landing, env, work, rlog, args.timeout)
            nightly = measure("nightly", [ACCOUNTS, "run"], env, work, rlog, src, args.timeout)
            noop = None
            if not args.skip_noop:
                noop = measure("nightly_noop", [ACCOUNTS, "run"], env, work, rlog, src, args.timeout)
            one_day, delivered = None, None
            if not args.skip_one_day and floor["last_day"]:
                # the landing folder grows by one day; the later commands see it too
                delivered = deliver_one_day(landing, work / "landing_one_day", floor["last_day"])
                rows = ", ".join(f"{f['dataset']} {f['rows']:,}" for f in delivered["files"])
                print(f"  one new day {delivered['day']}: {rows} rows", flush=True)
                env = {**env, "ACCOUNTS_LANDING_DIR": str(work / "landing_one_day")}
                one_day = measure("nightly_one_day", [ACCOUNTS, "run"], env, work, rlog, src, args.timeout)
            backfill = None
            if not args.skip_backfill and floor["last_day"]:
                month_from, month_to = last_months(floor["last_day"])
                backfill = measure(
                    "backfill_24m",
                    [ACCOUNTS, "backfill", "--from", month_from, "--to", month_to],
                    env,
                    work,
                    rlog,
                    src,
                    args.timeout,
                )
            history_day, history_delivery = None, None
            if backfill is not None and backfill.returncode == 0 and delivered:
                # one more day on top of the 24 months of history the backfill published
                history_delivery = deliver_one_day(
                    work / "landing_one_day", work / "landing_history_day", delivered["day"]
                )
                print(f"  one more new day {history_delivery['day']} after the backfill", flush=True)
                env = {**env, "ACCOUNTS_LANDING_DIR": str(work / "landing_history_day")}
                history_day = measure(
                    "one_day_history", [ACCOUNTS, "run"], env, work, rlog, src, args.timeout
                )
            report["repeats"].append(
                {
                    "floor": floor,
                    "pandas_peer": as_json(peer),
                    "nightly": as_json(nightly),
                    "nightly_noop": as_json(noop),
                    "one_day_delivery": delivered,
                    "nightly_one_day": as_json(one_day),
                    "backfill_24m": as_json(backfill),
                    "history_day_delivery": history_delivery,
                    "one_day_history": as_json(history_day),
                }
            )
            if repeat == args.repeats - 1 and args.explain:
                # the last command's SQL: the intermediate tables hold exactly its month range
                runs = [
                    r
                    for r in (nightly, noop, one_day, backfill, history_day)
                    if r is not None and r.returncode == 0
                ]
                warehouse = work / "warehouse" / "warehouse.duckdb"
                if runs and warehouse.exists():
                    models = [k for k, _ in top_nodes([runs[-1].dbt_nodes], 50) if k.startswith("model.")]
                    dirs = target_dirs(runs[-1].run_ids, src / "transforms" / "target")
                    explain = explain_models(warehouse, dirs, models[: args.explain])
        finally:
            shutil.rmtree(work, ignore_errors=True)
    summary = summarise(report["repeats"])
    report["summary"] = summary
    report["targets"] = evaluate_targets(args.size, summary)
    nodes = {
        m: top_nodes([r[m]["dbt_nodes"] for r in report["repeats"] if r.get(m)], 15)
        for m in ("nightly", "nightly_one_day", "backfill_24m", "one_day_history")
        if any(r.get(m) for r in report["repeats"])
    }
    report["slowest_dbt_nodes"] = {
        m: [{"node": k, "median_s": round(v, 3)} for k, v in n] for m, n in nodes.items()
    }
    report["explain"] = explain
    report["machine_after"] = machine()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2, default=str))

    print()
    print(format_table(summary))
    for measurement, items in nodes.items():
        print(f"\nslowest dbt nodes ({measurement}, median s):")
        for node, seconds in items[:8]:
            print(f"  {seconds:8.2f}  {node}")
    for model, info in explain.items():
        ops = ", ".join(f"{o['operator']} {o['seconds']:.2f}s" for o in info.get("top_operators", [])[:3])
        print(f"  EXPLAIN {model}: {info.get('seconds', info.get('error'))} -> {ops}")
    if report["targets"]:
        print("\ntargets:")
        for t in report["targets"]:
            print(f"  {'PASS' if t['passed'] else 'FAIL'}  {t['target']}: {t['value']}")
    print(f"\nwrote {out}")
    failed = any(r.get(m) and r[m]["returncode"] for r in report["repeats"] for m in MEASUREMENTS)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
