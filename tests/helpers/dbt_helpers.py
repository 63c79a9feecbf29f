"""Run the real dbt project (`transforms/`) against a DuckDB warehouse built by a test.

Typical use, once per test module (each dbt invocation costs a few seconds):

    @pytest.fixture(scope="module")
    def warehouse(tmp_path_factory):
        path = tmp_path_factory.mktemp("wh") / "warehouse.duckdb"
        with raw_warehouse(path) as con:          # raw.* tables created, empty
            insert_rows(con, "raw.customers", [{"customer_id": "c1", ...}])
        run_dbt(path, vars={"month_from": "2024-06", "month_to": "2024-06"})
        return path

`run_dbt` runs dbt in-process (`dbtRunner`), which saves the ~2 s import of a subprocess per
call; pass `subprocess=True` to run `.venv/bin/dbt` instead. Close every DuckDB connection to the
warehouse before calling it (dbt opens the file itself). It raises `DbtFailed` naming every model
or test that did not pass, unless `check=False`.
"""

from __future__ import annotations

import gc
import json
import os
import subprocess as sp
import sys
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.assignment.runner import HISTORY_DDL
from pipelines.core.config import DEFAULT_CONFIG_PATH, dbt_vars, load_config
from pipelines.ingest.datasets import create_raw_tables
from pipelines.transforms.in_process import close_duckdb

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "transforms"
DBT_EXECUTABLE = Path(sys.executable).with_name("dbt")


class DbtFailed(AssertionError):
    """dbt did not succeed; the message lists the failing nodes and dbt's own messages."""


@dataclass
class DbtRun:
    success: bool
    statuses: dict[str, str] = field(default_factory=dict)  # node name -> status (pass, error...)
    messages: dict[str, str] = field(default_factory=dict)  # node name -> message when not ok
    output: str = ""  # subprocess mode: stdout + stderr

    def failures(self) -> dict[str, str]:
        ok = {"pass", "success"}
        return {n: self.messages.get(n, s) for n, s in self.statuses.items() if s not in ok}


# dbt re-parses the whole project (~10 s) whenever the profile changes, and the profile holds the
# warehouse path. So every test's warehouse is moved to one fixed path (per pytest worker) for the
# run and moved back after it: the partial parse in the fixed target folder then serves every
# run, and only vars other than the months (rare in tests) force a full parse.
WORKBENCH = (
    Path(tempfile.gettempdir())
    / f"accounts-dbt-{os.getuid()}-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}"
)
MONTH_VARS = ("month_from", "month_to")


def _args(
    command: str,
    variables: Mapping[str, Any],
    select: str | None,
    exclude: str | None,
    extra: Sequence[str],
) -> list[str]:
    target = WORKBENCH / "target"
    args = [
        command,
        "--project-dir", str(DBT_PROJECT_DIR),
        "--profiles-dir", str(DBT_PROJECT_DIR),
        "--target-path", str(target),
        "--log-path", str(target / "logs"),
    ]  # fmt: skip
    # the dbt project has no parameter values of its own: the config's defaults, then overrides
    args += [
        "--vars",
        json.dumps(dbt_vars(load_config(DEFAULT_CONFIG_PATH)) | dict(variables), sort_keys=True),
    ]
    if select:  # with the tests whose every parent is selected
        args += ["--select", select, "--indirect-selection", "cautious"]
    if exclude:
        args += ["--exclude", exclude]
    return args + list(extra)


def _move(source: Path, destination: Path) -> None:
    for suffix in ("", ".wal"):
        moved = source.with_name(source.name + suffix)
        if moved.exists():
            os.replace(moved, destination.with_name(destination.name + suffix))


@contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_dbt(
    warehouse: str | os.PathLike[str],
    command: str = "build",
    *,
    vars: Mapping[str, Any] | None = None,
    select: str | None = None,
    exclude: str | None = None,
    extra: Sequence[str] = (),
    check: bool = True,
    subprocess: bool = False,
) -> DbtRun:
    """Run `dbt <command>` on the project against the DuckDB file `warehouse`.

    `vars`: e.g. {"month_from": "2024-01", "month_to": "2024-03"} plus any parameter of
    `pipelines.core.config.dbt_vars()`, over the default config's vars (the months travel as
    environment variables, as the pipeline passes them). dbt's target and logs go to the
    workbench folder, so tests never touch transforms/target."""
    warehouse = Path(warehouse).resolve()
    variables = dict(vars or {})
    months = {
        f"ACCOUNTS_{name.upper()}": str(variables.pop(name) or "") for name in MONTH_VARS if name in variables
    }
    args = _args(command, variables, select, exclude, extra)
    WORKBENCH.mkdir(parents=True, exist_ok=True)
    stand_in = WORKBENCH / "warehouse.duckdb"
    _move(stand_in, WORKBENCH / "leftover.duckdb")  # a test killed mid-run may have left one
    _move(warehouse, stand_in)
    environment = {
        "ACCOUNTS_WAREHOUSE_PATH": str(stand_in),
        "ACCOUNTS_MONTH_FROM": "",
        "ACCOUNTS_MONTH_TO": "",
    }
    try:
        with _environment(environment | months):
            run = _run_subprocess(args) if subprocess else _run_in_process(args)
    finally:
        _move(stand_in, warehouse)
    if check and (not run.success or run.failures()):
        details = "\n".join(f"  {node}: {msg}" for node, msg in run.failures().items())
        raise DbtFailed(f"dbt {command} failed:\n{details or run.output[-4000:]}")
    return run


def _run_in_process(args: list[str]) -> DbtRun:
    from dbt.cli.main import dbtRunner

    try:
        # the results come back in process: no JSON artifacts to write (a manifest a run)
        result = dbtRunner().invoke([*args, "--quiet", "--no-write-json"])
    finally:
        _release_duckdb()
    run = DbtRun(success=bool(result.success))
    if result.exception is not None:
        run.output = repr(result.exception)
    for node_result in getattr(result.result, "results", None) or []:
        name = node_result.node.name
        status = str(getattr(node_result.status, "value", node_result.status)).lower()
        run.statuses[name] = status
        if node_result.message and status not in ("pass", "success"):
            run.messages[name] = f"{status}: {node_result.message}"
    return run


def _release_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open after an in-process run, so the test (or
    another process) can open the file with any configuration."""
    close_duckdb()
    gc.collect()


def _run_subprocess(args: list[str]) -> DbtRun:
    completed = sp.run([str(DBT_EXECUTABLE), *args], capture_output=True, text=True, env=os.environ.copy())
    run = DbtRun(success=completed.returncode == 0, output=completed.stdout + completed.stderr)
    results = Path(args[args.index("--target-path") + 1]) / "run_results.json"
    if results.exists():
        for node_result in json.loads(results.read_text()).get("results", []):
            name = node_result["unique_id"].split(".")[-1]
            run.statuses[name] = str(node_result["status"]).lower()
            if node_result.get("message"):
                run.messages[name] = f"{node_result['status']}: {node_result['message']}"
    return run


@contextmanager
def raw_warehouse(path: str | os.PathLike[str]) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to `path` with every raw table created (empty); closed on exit."""
    con = duckdb.connect(str(path))
    try:
        create_raw_tables(con)
        yield con
    finally:
        con.close()


def insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: Iterable[Mapping[str, Any]]) -> None:
    """INSERT dict rows into `table` by column name (columns not given stay NULL)."""
    for row in rows:
        columns = list(row)
        placeholders = ", ".join("?" for _ in columns)
        con.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})",
            [row[c] for c in columns],
        )


def create_assignment_history(con: duckdb.DuckDBPyConnection) -> None:
    """The tables the Python assignment step writes (docs/DESIGN.md), for tests that fake it."""
    con.execute(HISTORY_DDL)


def query(path: str | os.PathLike[str], sql: str, params: Sequence[Any] = ()) -> list[dict]:
    """Rows of `sql` on the warehouse (read-only) as dicts."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        cursor = con.execute(sql, list(params))
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
