"""Ingestion on the Spark engine, the working warehouse's side (docs/SPARK.md, "Ingestion").

The new landing files of a run go to one Spark job (`pipelines.ingest.spark_job`, its own
process): the row rules run on the executors, the raw tables are rewritten there as Parquet
versions. Here, in the working DuckDB warehouse, every file's outcome is recorded exactly as the
DuckDB engine records it (raw.ingest_log, raw.quarantine, raw.data_issues, raw.row_replacements),
and `raw.<dataset>` becomes a view over the table's current Parquet version (raw.spark_tables), so
every reader of the raw tables (staleness, the assignment, held rows, the dbt sources) is
unchanged. A dataset's bookkeeping and its new version are switched in one transaction: a run
killed before it leaves the previous version in place, and the files count as not loaded.

Switching back to the DuckDB engine takes the tables back into the warehouse (`storage.own_raw_tables`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import duckdb

from pipelines.core.failpoints import failpoint
from pipelines.ingest.datasets import create_raw_tables
from pipelines.ingest.landing import file_sha256, landing_files
from pipelines.ingest.loader import (
    FileRejected,
    IngestReport,
    already_loaded,
    load_message,
    log_file,
    utc_now,
)
from pipelines.ingest.readers import Rejection
from pipelines.ingest.storage import STORAGE_DDL, spark_locations, view_sql

KEPT_LOGS = 10  # logs of earlier ingestion jobs kept


class SparkIngestError(RuntimeError):
    """The Spark job failed: nothing of the run's files was recorded."""


def _previous_version(con: duckdb.DuckDBPyConnection, dataset: str, folder: Path, stamp: str) -> str | None:
    """The Parquet folder of the raw table so far: Spark's current version; a warehouse table with
    rows (loaded by the DuckDB engine) is written out once as the first version; none if empty."""
    location = spark_locations(con).get(f"raw.{dataset}")
    if location is not None:
        return location
    if not con.execute(f"SELECT count(*) FROM raw.{dataset}").fetchone()[0]:
        return None
    base = folder / f"base-{stamp}"
    base.mkdir(parents=True)
    con.execute(f"COPY raw.{dataset} TO ? (FORMAT parquet)", [str(base / "part-0.parquet")])
    return str(base)


def _run_spark_job(request: dict, work: Path, log: Path) -> None:
    path = work / "request.json"
    path.write_text(json.dumps(request, indent=1))
    env = os.environ | {"PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.ingest.spark_job", str(path)], stdout=out, stderr=out, env=env
        )
    if done.returncode != 0:
        lines = log.read_text(errors="replace").splitlines()
        cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line), "")
        raise SparkIngestError(
            f"ingestion on Spark failed (exit {done.returncode}): {cause.strip() or 'see the log'}; "
            f"no file of this run was recorded, the next run retries them. Log: {log}"
        )


def ingest_on_spark(
    con: duckdb.DuckDBPyConnection, datasets: Sequence[str], landing_dir: Path, spark_dir: Path
) -> list[IngestReport]:
    """Load the new or changed files of `datasets` through one Spark job; the same outcome, logs and
    reports as `loader.ingest_dataset` per dataset. Raises FileRejected (after recording every
    other file) when files were rejected whole."""
    clock = time.perf_counter()
    create_raw_tables(con)
    con.execute(STORAGE_DDL)
    started = utc_now()
    stamp = started.strftime("%Y%m%dT%H%M%S%f")
    work = spark_dir / "ingest" / stamp
    reports = {name: IngestReport(name) for name in datasets}
    request: dict = {"loaded_at": started.isoformat(sep=" "), "datasets": {}}
    for name in datasets:
        files = _new_files(con, name, landing_dir, started, reports[name])
        if files:
            folder = spark_dir / "raw" / name
            request["datasets"][name] = {
                "files": files,
                "previous": _previous_version(con, name, folder, stamp),
                "version": str(folder / f"v-{stamp}"),
                "work": str(work / name),
            }
    rejections: list[Rejection] = []
    if request["datasets"]:
        work.mkdir(parents=True, exist_ok=True)
        logs = spark_dir / "logs"  # the job's log is kept, the last few
        _run_spark_job(request, work, logs / f"ingest-{stamp}.log")
        for name, job in request["datasets"].items():
            rejections += _record(con, name, job, started, reports[name])
        shutil.rmtree(work, ignore_errors=True)
        for old in sorted(logs.glob("ingest-*.log"))[:-KEPT_LOGS]:
            old.unlink()
    for name, report in reports.items():
        (report.rows_total,) = con.execute(f"SELECT count(*) FROM raw.{name}").fetchone()
        report.seconds = time.perf_counter() - clock  # one job for all: each reports the whole
    if rejections:
        raise FileRejected(rejections, list(reports.values()))
    return list(reports.values())


def _new_files(
    con: duckdb.DuckDBPyConnection, dataset: str, landing_dir: Path, started: datetime, report: IngestReport
) -> list[dict]:
    """The files of the delivery to judge, in name order; files whose content was loaded already
    (or comes twice in this delivery) are logged as unchanged, as the DuckDB engine does."""
    files, seen = [], {}
    for path in landing_files(landing_dir, dataset):
        rel, sha, size = path.relative_to(landing_dir).as_posix(), file_sha256(path), path.stat().st_size
        report.files_seen += 1
        previous = already_loaded(con, dataset, sha) or seen.get(sha)
        if previous is not None:
            message = f"{rel}: unchanged (same content as {previous}, already loaded)"
            log_file(con, dataset, rel, sha, size, "unchanged", (0, 0, 0, 0), message, started)
            report.files_unchanged += 1
            report.messages.append(message)
            continue
        seen[sha] = rel
        files.append({"path": str(path), "rel": rel, "sha": sha, "size": size, "index": len(files) + 1})
    return files


def _record(
    con: duckdb.DuckDBPyConnection, dataset: str, job: dict, started: datetime, report: IngestReport
) -> list[Rejection]:
    """Record one dataset's outcome and switch its raw table to the new version, in one transaction."""
    work = Path(job["work"])
    checked, replacements, written_rows = (
        f"read_parquet('{(work / part / '*.parquet').as_posix()}')"
        for part in ("checked", "replacements", "written")
    )
    written = {
        index: (rows, replaced)
        for index, rows, replaced in con.execute(
            f"SELECT _file_index, rows_written, rows_replaced FROM {written_rows}"
        ).fetchall()
    }
    outcomes = {
        index: row
        for index, *row in con.execute(
            f"SELECT _file_index, _kind, line_number, column_name, text, rows_read, quarantine_examples, "
            f"issue_examples FROM {checked} WHERE _kind IN ('file', 'rejected')"
        ).fetchall()
    }
    counts = dict(
        con.execute(f"SELECT _file_index || _kind, count(*) FROM {checked} GROUP BY ALL").fetchall()
    )
    rejections = []
    con.begin()
    try:
        con.execute(
            f"INSERT INTO raw.quarantine SELECT ?, _source_file, line_number, column_name, text, record, ? "
            f"FROM {checked} WHERE _kind = 'quarantine' ORDER BY _file_index, line_number",
            [dataset, started],
        )
        con.execute(
            f"INSERT INTO raw.data_issues SELECT ?, _source_file, line_number, column_name, text, ? "
            f"FROM {checked} WHERE _kind = 'issue' ORDER BY _file_index, line_number, column_name",
            [dataset, started],
        )
        con.execute(
            "INSERT INTO raw.row_replacements BY NAME SELECT * EXCLUDE (_file_index) "
            f"FROM {replacements} "
            "ORDER BY _file_index, new_source_line"
        )
        for file in job["files"]:
            index, rel = file["index"], file["rel"]
            kind, line, column, text, read, quarantine_examples, issue_examples = outcomes[index]
            if kind == "rejected":
                rejection = Rejection(rel, line, column, text)
                rejections.append(rejection)
                log_file(con, dataset, rel, file["sha"], file["size"], "rejected", (0, 0, 0, 0),
                         str(rejection), started)  # fmt: skip
                report.files_rejected += 1
                report.messages.append(str(rejection))
                continue
            rows, replaced = written.get(index, (0, 0))
            quarantined, issues = counts.get(f"{index}quarantine", 0), counts.get(f"{index}issue", 0)
            message = load_message(rel, read, rows, replaced, quarantined, issues,
                                   (quarantine_examples, issue_examples))  # fmt: skip
            log_file(con, dataset, rel, file["sha"], file["size"], "loaded",
                     (read, rows, quarantined, replaced), message, started)  # fmt: skip
            report.files_loaded += 1
            report.messages.append(message)
            report.rows_loaded += rows
            report.rows_quarantined += quarantined
            report.rows_replaced += replaced
            report.data_issues += issues
        if spark_locations(con).get(f"raw.{dataset}") is None:
            con.execute(f"DROP TABLE IF EXISTS raw.{dataset}")  # the DuckDB engine's table, now in Spark's
        con.execute(view_sql(dataset, job["version"]))
        con.execute("DELETE FROM raw.spark_tables WHERE dataset = ?", [dataset])
        con.execute("INSERT INTO raw.spark_tables VALUES (?, ?, ?)", [dataset, job["version"], started])
        failpoint("ingest.before_commit", dataset)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    _drop_old_versions(Path(job["version"]))
    return rejections


def _drop_old_versions(current: Path) -> None:
    """Versions of the table other than the current one (the previous, a base, a killed run's)."""
    for folder in current.parent.iterdir():
        if folder != current and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)
