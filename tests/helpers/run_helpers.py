"""Real `accounts` processes for the fault, reader and bad-input tests: start one, wait for a
failpoint marker, SIGKILL its whole process group (the run and its dbt child), compare files."""

from __future__ import annotations

import contextlib
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from pipelines.publication.compare import WRITE_STAMPS

REPO = Path(__file__).resolve().parents[2]
# when a row was written: differs between runs by nature
STAMPS = "(" + ", ".join(f"'{stamp}'" for stamp in sorted(WRITE_STAMPS)) + ")"
RUN_TIMEOUT = 900  # seconds for one whole run on a loaded 2-core machine


def accounts_command(*args: str) -> list[str]:
    """The `accounts` console script, run by this interpreter from this checkout."""
    return [sys.executable, "-m", "pipelines.cli", *args]


def accounts_env(landing: Path, warehouse: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("ACCOUNTS_")}
    env.pop("DAGSTER_HOME", None)  # runs are recorded in the warehouse folder (<warehouse>/dagster)
    env.update(
        PYTHONPATH=str(REPO),
        ACCOUNTS_LANDING_DIR=str(landing),
        ACCOUNTS_WAREHOUSE_DIR=str(warehouse),
        **extra,
    )
    return env


def accounts_in_process(monkeypatch, landing: Path, warehouse: Path, *args: str, config: Path | None = None):
    """Run `accounts` in this process (no interpreter start-up); return (exit code, stdout, stderr)."""
    from pipelines.cli import main

    monkeypatch.setenv("ACCOUNTS_LANDING_DIR", str(landing))
    monkeypatch.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
    if config:
        monkeypatch.setenv("ACCOUNTS_CONFIG", str(config))
    else:
        monkeypatch.delenv("ACCOUNTS_CONFIG", raising=False)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def run_accounts(
    env: dict[str, str], *args: str, timeout: float = RUN_TIMEOUT
) -> subprocess.CompletedProcess:
    return subprocess.run(accounts_command(*args), env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def start_accounts(env: dict[str, str], *args: str, log: Path) -> subprocess.Popen:
    """Start a run in its own session (process group), output to `log`."""
    handle = open(log, "w")  # noqa: SIM115 - closed with the process by the caller's wait
    return subprocess.Popen(accounts_command(*args), env=env, cwd=REPO, stdout=handle,
                            stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip


def wait_for_marker(process: subprocess.Popen, marker: Path, log: Path, timeout: float = RUN_TIMEOUT) -> str:
    """Poll until the failpoint marker appears; fail if the run ends or the time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if marker.exists():
            return marker.read_text()
        if process.poll() is not None:
            raise AssertionError(
                f"run ended (exit {process.returncode}) before its failpoint:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.1)
    kill_group(process)
    raise AssertionError(f"failpoint not reached in {timeout} s:\n{log.read_text()[-4000:]}")


def session_processes(session: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live process of a session."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            state, sid = fields[0], int(fields[3])
            if sid == session and state != "Z":
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                found.append((int(entry.name), command))
        except (OSError, ValueError, IndexError):
            continue
    return found


def kill_group(process: subprocess.Popen, timeout: float = 60) -> None:
    """SIGKILL the run and every process it started (dbt), and wait until all are gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=timeout)
    deadline = time.monotonic() + timeout
    while session_processes(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not session_processes(process.pid), session_processes(process.pid)


def table_rows(path: Path, query: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def published_tables(path: Path) -> dict[str, list[tuple]]:
    """Every published table (main and audit schemas but `publications`), rows in a stable order,
    without write timestamps; of ingest_log only the loads."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE table_name <> 'publications' "
            "ORDER BY ALL"
        ).fetchall()
        out = {}
        for schema, table in names:
            columns = [
                c for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
                    f"AND column_name NOT IN {STAMPS} ORDER BY column_index", [schema, table]
                ).fetchall()
            ]  # fmt: skip
            if table == "ingest_log":  # runs differ in how often they saw a file; loads must not
                query = f"SELECT {', '.join(columns)} FROM audit.ingest_log WHERE status = 'loaded'"
            else:
                query = f"SELECT {', '.join(columns)} FROM {schema}.{table}"
            out[f"{schema}.{table}"] = con.execute(query + " ORDER BY ALL").fetchall()
        return out
    finally:
        con.close()


def raw_tables(warehouse: Path) -> dict[str, list[tuple]]:
    """The raw schema of a working warehouse, without load timestamps (opened read-only)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        query = "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'raw' ORDER BY 1"
        tables = [t for (t,) in con.execute(query).fetchall()]
        out = {}
        for table in tables:
            columns = [c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' AND table_name = ? "
                f"AND column_name NOT IN {STAMPS} AND column_name <> 'status' "
                "ORDER BY column_index", [table]).fetchall()]  # fmt: skip
            where = " WHERE status = 'loaded'" if table == "ingest_log" else ""
            out[table] = con.execute(
                f"SELECT {', '.join(columns)} FROM raw.{table}{where} ORDER BY ALL"
            ).fetchall()
        return out
    finally:
        con.close()
