"""Write, audit, publish (SPEC §12, §13), free of the orchestrator.

1. `stage_publication` builds the next publication in a new file beside the published one, in a
   storage format DuckDB 1.1 clients read, with `latest` views, the `publications` table and a
   COMMENT on every table and column. It starts from a copy of the published file and rewrites
   only the snapshots (as_of_dates) whose rows differ from the warehouse's marts, so a nightly
   run writes what it changed, not the whole history (`_write_table`).
2. The blocking checks audit that staged file.
3. `swap_in` renames it over the published file: one atomic step, so a BI reader sees the old
   publication or the new one, never half of one, and a killed run leaves the old file as it was.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.core.config import Settings, config_fingerprint
from pipelines.core.failpoints import failpoint
from pipelines.freshness.current import pipeline_version
from pipelines.freshness.stale import stale_months_in
from pipelines.publication.bi import create_bi_views
from pipelines.publication.catalogue import (
    PUBLICATIONS_COLUMNS,
    PUBLICATIONS_DESCRIPTION,
    audit_tables,
    columns_of,
    comment,
    quote,
)

STORAGE_VERSION = "v1.1.0"  # oldest client the published file must serve (SPEC §13)
STAGED_SUFFIX = ".staged"
REBUILT_SCHEMAS = ("audit", "latest", "bi")  # small or views: rebuilt whole every time


@dataclass(frozen=True)
class StagedPublication:
    path: Path
    publication_id: int
    row_counts: dict[str, int]
    latest_as_of_date: dt.date | None
    # per table: "unchanged", "rewritten", or the snapshots (as_of_dates) written
    writes: dict[str, str]


def staged_path_for(published: Path) -> Path:
    return published.with_name(published.name + STAGED_SUFFIX)


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def stage_publication(
    warehouse: Path,
    published: Path,
    tables: list[str],
    docs: dict[str, tuple[str, dict[str, str]]],
    months_refreshed: list[str],
    run_id: str,
    settings: Settings,
    config_drift: list[str] | None = None,
    grains: Mapping[str, Sequence[str]] | None = None,
) -> StagedPublication:
    """Build the next publication in a staged file beside `published` and return its summary.
    `config_drift` names the parameters whose drift from the history the run was allowed; `grains`
    the columns unique in each table, the order its rows are written in (all columns otherwise)."""
    staged = staged_path_for(published)
    _remove(staged)  # a run killed earlier may have left one behind
    carry_over = _written_by_this_pipeline(published)
    if carry_over:
        # unchanged snapshots stay as they are on disk; the copy keeps the file's storage version
        shutil.copyfile(published, staged)
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH {quote(str(warehouse))} AS wh (READ_ONLY)")
        if carry_over:
            con.execute(f"ATTACH {quote(str(staged))} AS pub")
            for schema in REBUILT_SCHEMAS:
                con.execute(f"DROP SCHEMA IF EXISTS pub.{schema} CASCADE")
            con.execute("ALTER TABLE pub.main.publications RENAME TO publications_carried")
        else:
            con.execute(f"ATTACH {quote(str(staged))} AS pub (STORAGE_VERSION '{STORAGE_VERSION}')")
            if published.exists():
                con.execute(f"ATTACH {quote(str(published))} AS previous (READ_ONLY)")
                con.execute("CREATE TABLE pub.main.publications_carried AS FROM previous.main.publications")
                con.execute("DETACH previous")
        row_counts, writes = _write_tables(con, tables, docs, grains or {})
        _copy_audit_tables(con, row_counts, settings)
        latest = _create_latest_views(con, tables, docs)
        create_bi_views(con, "pub", tables, docs)
        publication = _Publication(months_refreshed, run_id, settings, config_drift or [])
        publication_id = _append_publication(con, publication, row_counts, tables, latest)
        con.execute("DETACH pub")  # checkpoints: the staged file is complete on disk
    finally:
        con.close()
    _fsync(staged)
    return StagedPublication(staged, publication_id, row_counts, latest, writes)


def _write_tables(
    con: duckdb.DuckDBPyConnection,
    tables: list[str],
    docs: dict[str, tuple[str, dict[str, str]]],
    grains: Mapping[str, Sequence[str]],
) -> tuple[dict[str, int], dict[str, str]]:
    carried = _tables_in(con, "pub", "main") - {"publications_carried"}
    for gone in sorted(carried - set(tables)):  # a mart the pipeline no longer builds
        con.execute(f"DROP TABLE pub.main.{gone}")
    row_counts, writes = {}, {}
    for table in tables:
        writes[table] = _write_table(con, table, list(grains.get(table) or []), carried=table in carried)
        row_counts[table] = con.execute(f"SELECT count(*) FROM pub.main.{table}").fetchone()[0]
        comment(con, f"pub.main.{table}", "TABLE", *docs.get(table, ("", {})))
    return row_counts, writes


def _written_by_this_pipeline(published: Path) -> bool:
    """Whether the published file's latest publication was written by this very code (version and
    digest, engine included): only then are its tables carried over. Another version may order,
    type or document its rows otherwise: its publication is rewritten whole, once."""
    if not published.exists():
        return False
    con = duckdb.connect(str(published), read_only=True)
    try:
        (version,) = con.execute(
            "SELECT pipeline_version FROM publications ORDER BY publication_id DESC LIMIT 1"
        ).fetchone() or (None,)
    except duckdb.Error:  # a file from before publications recorded their version
        return False
    finally:
        con.close()
    return version == pipeline_version()


def _tables_in(con: duckdb.DuckDBPyConnection, database: str, schema: str) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ? AND schema_name = ?",
            [database, schema],
        ).fetchall()
    }


def _write_table(con: duckdb.DuckDBPyConnection, table: str, grain: list[str], carried: bool) -> str:
    """Make pub.main.`table` equal to wh.marts.`table`, rows in the order of its grain (or of all its
    columns): the same inputs give the same file contents, row for row, however many runs built it.

    A table carried over from the last publication with the same columns keeps the snapshots whose
    rows are unchanged (same count and sum of row hashes per as_of_date); when every changed
    snapshot sorts after every kept one (a new month, the months late rows touched), only those are
    deleted and appended in order. Anything else (a new or reshaped table, a restated old snapshot,
    a grain not led by as_of_date) rewrites the table; sorting on the grain's short key costs less
    than on all columns (M, 24 months: 10.3 -> 8.0 s for the marts)."""
    order = ", ".join(grain or ["ALL"])
    source = f"SELECT * FROM wh.marts.{table}"
    if carried and columns_of(con, "pub", "main", table) == columns_of(con, "wh", "marts", table):
        changed, kept = _changed_snapshots(con, table)
        if not changed:
            return "unchanged"
        patchable = grain[:1] == ["as_of_date"] and None not in changed + kept
        if patchable and (not kept or min(changed) > max(kept)):
            dates = ", ".join(f"DATE '{d.isoformat()}'" for d in changed)
            con.execute(f"DELETE FROM pub.main.{table} WHERE as_of_date IN ({dates})")
            con.execute(
                f"INSERT INTO pub.main.{table} {source} WHERE as_of_date IN ({dates}) ORDER BY {order}"
            )
            return "snapshots " + ", ".join(d.isoformat() for d in changed)
    con.execute(f"CREATE OR REPLACE TABLE pub.main.{table} AS {source} ORDER BY {order}")
    return "rewritten"


def _changed_snapshots(con: duckdb.DuckDBPyConnection, table: str) -> tuple[list[dt.date], list[dt.date]]:
    """(as_of_dates whose rows differ between the carried table and the mart, those that do not)."""

    def fingerprint(relation: str) -> str:
        return f"SELECT as_of_date AS d, count(*) AS n, sum(hash(t)) AS h FROM {relation} t GROUP BY 1"

    rows = con.execute(
        f"SELECT coalesce(old.d, new.d), old.n IS DISTINCT FROM new.n OR old.h IS DISTINCT FROM new.h "
        f"FROM ({fingerprint(f'pub.main.{table}')}) old "
        f"FULL JOIN ({fingerprint(f'wh.marts.{table}')}) new ON old.d IS NOT DISTINCT FROM new.d"
    ).fetchall()
    return [d for d, differs in sorted(rows, key=str) if differs], [d for d, differs in rows if not differs]


def _copy_audit_tables(
    con: duckdb.DuckDBPyConnection, row_counts: dict[str, int], settings: Settings
) -> None:
    con.execute("CREATE SCHEMA pub.audit")
    for name, (query, description, column_docs) in audit_tables(
        "wh", settings.ingest.orphan_after_days
    ).items():
        con.execute(f"CREATE TABLE pub.audit.{name} AS SELECT * FROM ({query}) ORDER BY ALL")
        comment(con, f"pub.audit.{name}", "TABLE", description, column_docs)
        row_counts[f"audit.{name}"] = con.execute(f"SELECT count(*) FROM pub.audit.{name}").fetchone()[0]


def _create_latest_views(
    con: duckdb.DuckDBPyConnection, tables: list[str], docs: dict[str, tuple[str, dict[str, str]]]
) -> dt.date | None:
    con.execute("CREATE SCHEMA pub.latest")
    for table in tables:
        con.execute(
            f"CREATE VIEW pub.latest.{table} AS SELECT * FROM main.{table} "
            f"WHERE as_of_date = (SELECT max(as_of_date) FROM main.{table})"
        )
        description, column_docs = docs.get(table, ("", {}))
        comment(con, f"pub.latest.{table}", "VIEW",
                 f"main.{table} at its latest as_of_date. {description}".strip(), column_docs)  # fmt: skip
    if not tables:
        return None
    union = " UNION ALL ".join(f"SELECT max(as_of_date) AS d FROM pub.main.{t}" for t in tables)
    return con.execute(f"SELECT max(d) FROM ({union})").fetchone()[0]


@dataclass(frozen=True)
class _Publication:
    months_refreshed: list[str]
    run_id: str
    settings: Settings
    config_drift: list[str]


PUBLICATIONS_DDL = (
    "publication_id BIGINT, published_at TIMESTAMP, run_id VARCHAR, months_refreshed VARCHAR[], "
    "as_of_dates DATE[], latest_as_of_date DATE, input_files VARCHAR[], row_counts VARCHAR, "
    "checks_passed VARCHAR[], stale_months VARCHAR[], config VARCHAR, config_hash VARCHAR, "
    "config_drift VARCHAR[], data_issues BIGINT, held_rows BIGINT, orphan_rows BIGINT, "
    "pipeline_version VARCHAR"
)


def _append_publication(
    con: duckdb.DuckDBPyConnection,
    publication: _Publication,
    row_counts: dict[str, int],
    tables: list[str],
    latest: dt.date | None,
) -> int:
    """Carry the earlier publications over from the file being replaced, then add this one."""
    carried = _tables_in(con, "pub", "main") & {"publications_carried"}
    con.execute(f"CREATE TABLE pub.main.publications ({PUBLICATIONS_DDL})")
    if carried:
        # BY NAME: files published before a column existed carry it over as NULL
        con.execute("INSERT INTO pub.main.publications BY NAME SELECT * FROM pub.main.publications_carried")
        con.execute("DROP TABLE pub.main.publications_carried")
    publication_id = con.execute(
        "SELECT coalesce(max(publication_id), 0) + 1 FROM pub.main.publications"
    ).fetchone()[0]
    as_of_union = " UNION ".join(f"SELECT as_of_date FROM pub.main.{t}" for t in tables)
    as_of_dates = (
        [r[0] for r in con.execute(f"SELECT DISTINCT as_of_date FROM ({as_of_union}) ORDER BY 1").fetchall()]
        if tables
        else []
    )
    input_files = [
        r[0]
        for r in con.execute(
            "SELECT DISTINCT source_file FROM wh.raw.ingest_log WHERE status = 'loaded' ORDER BY 1"
        ).fetchall()
    ]
    config, config_hash = config_fingerprint(publication.settings)
    (orphans,) = con.execute("SELECT count(*) FILTER (WHERE orphan) FROM pub.audit.held_rows").fetchone()
    con.execute(
        "INSERT INTO pub.main.publications VALUES (?, ?, ?, ?, ?, ?, ?, ?, [], ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            publication_id,
            dt.datetime.now(dt.UTC).replace(tzinfo=None),
            publication.run_id,
            publication.months_refreshed,
            as_of_dates,
            latest,
            input_files,
            json.dumps(row_counts, sort_keys=True),
            [],  # below, once this publication counts
            config,
            config_hash,
            publication.config_drift,
            row_counts.get("audit.data_issues", 0),
            row_counts.get("audit.held_rows", 0),
            orphans,
            pipeline_version(),
        ],
    )
    # what this publication leaves stale, itself included: a month it refreshed from a stale month
    # before it is stale too (pipelines/freshness/stale.py)
    still_stale = stale_months_in(con, "wh", "pub", publication.settings)
    con.execute(
        "UPDATE pub.main.publications SET stale_months = ? WHERE publication_id = ?",
        [still_stale, publication_id],
    )
    con.execute(f"COMMENT ON TABLE pub.main.publications IS {quote(PUBLICATIONS_DESCRIPTION)}")
    for column, text in PUBLICATIONS_COLUMNS.items():
        con.execute(f"COMMENT ON COLUMN pub.main.publications.{column} IS {quote(text)}")
    return publication_id


def record_checks_passed(staged: Path, publication_id: int, checks: list[str]) -> None:
    """Write the names of the checks the staged publication passed into its own row."""
    con = duckdb.connect(str(staged))
    try:
        con.execute(
            "UPDATE publications SET checks_passed = ? WHERE publication_id = ?",
            [sorted(checks), publication_id],
        )
    finally:
        con.close()
    _fsync(staged)


def swap_in(staged: Path, published: Path) -> None:
    """Replace the published file by the staged one in a single atomic rename."""
    if not staged.exists():
        raise FileNotFoundError(f"no staged publication at {staged}: stage it first")
    failpoint("publish.swap")  # tests kill here: staged file complete and checked, not swapped
    os.replace(staged, published)
    _fsync_directory(published.parent)


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
