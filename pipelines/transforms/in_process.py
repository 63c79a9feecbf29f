"""dbt in the run's own process (the DuckDB engine), free of the orchestrator.

A dbt subprocess pays for itself on every invocation: an interpreter, dbt's imports, the parse
state read and checked, the adapter set up; two invocations a run. In the run's process dbt is
imported once, the project parsed once per run (from the partial-parse state, as before) and the
parsed `Manifest` handed to each `build` through `dbtRunner`, dbt's programmatic entry point.

dbt runs on a worker thread; its events come back through a queue as the dicts of dbt's JSON log
lines, so dagster-dbt turns them into Dagster events exactly as it does a subprocess's output, and
a run still sees each model as it finishes. Only the events a run uses cross the queue: node
results and errors.

Two things a subprocess got for free, done by hand:
- dbt-duckdb keeps its database open for the life of the process (its `keep_open`, there so that
  nodes share one instance; `keep_open: false` reopens it per node, ~0.8 s a run at S): it is
  closed after every invocation, or the next step of the run could not open the warehouse with
  its own settings;
- dbt's output: its usual lines go to stdout (the run's log file, or the terminal with
  `accounts -v`), the debug log to the invocation folder's `dbt.log`; a failure raises
  `DbtFailed` with the errors dbt reported.

Spark keeps the subprocess: a local Spark session's JVM and static settings (driver memory, the
warehouse folder, the metastore) belong to the process that starts it.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

# the events a run reads (dagster-dbt's result events); errors are kept whatever their name
RESULT_EVENTS = frozenset({"LogModelResult", "LogTestResult", "LogSeedResult", "LogSnapshotResult"})
_DONE = object()


class DbtFailed(Exception):
    """dbt reported errors, or could not run; the message lists what dbt said."""

    def __init__(self, command: str, errors: Sequence[str], log: Path):
        lines = [line.strip() for error in errors for line in str(error).strip().splitlines()]
        shown = "\n    ".join(lines[:12] or ["(no error message: see the log)"])
        super().__init__(f"dbt {command} failed:\n    {shown}\n  full log: {log}")


def common_args(project_dir: Path, target_path: Path) -> list[str]:
    """Where dbt reads the project and writes its artefacts and debug log; plain lines on stdout."""
    return [
        "--project-dir", str(project_dir),
        "--profiles-dir", str(project_dir),
        "--target-path", str(target_path),
        "--log-path", str(target_path),
        "--log-level", "info",
        "--log-level-file", "debug",
        "--no-use-colors",
        "--no-send-anonymous-usage-stats",
    ]  # fmt: skip


def parse(args: Sequence[str]) -> Any:
    """dbt's `Manifest` of the project (`dbt parse <args>`), partial parsing from the state
    DBT_PARTIAL_PARSE_FILE_PATH names; the new state is written to the target folder."""
    from dbt.cli.main import dbtRunner

    result = dbtRunner().invoke(["parse", "--no-write-json", *args])
    if not result.success:
        raise DbtFailed(
            "parse", [str(result.exception or "")], Path(_value_of(args, "--log-path")) / "dbt.log"
        )
    return result.result


def run(args: Sequence[str], manifest: Any) -> Iterator[dict[str, Any]]:
    """Run `dbt <args>` with a parsed `manifest` on a worker thread, now; yield its result and
    error events (JSON-log dicts) as they come; raise `DbtFailed` at the end if dbt failed."""
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    events: queue.SimpleQueue = queue.SimpleQueue()
    outcome: dict[str, Any] = {}

    def forward(message: Any) -> None:  # called on dbt's threads
        if message.info.name in RESULT_EVENTS or message.info.level == "error":
            events.put(msg_to_dict(message))

    def invoke() -> None:
        try:
            outcome["result"] = dbtRunner(manifest=manifest, callbacks=[forward]).invoke(list(args))
        except BaseException as error:  # reported by the consuming side
            outcome["error"] = error
        finally:
            close_duckdb()
            events.put(_DONE)

    worker = threading.Thread(target=invoke, name="dbt", daemon=True)
    worker.start()
    return _consume(events, worker, outcome, args)


def _consume(events: queue.SimpleQueue, worker: threading.Thread, outcome: dict, args: Sequence[str]):
    errors: list[str] = []
    try:
        while (event := events.get()) is not _DONE:
            if event["info"]["level"] == "error":
                errors.append(event["info"]["msg"])
            yield event
    except (Exception, GeneratorExit):
        # a step that stops reading (an error of its own) waits for dbt, so no later step meets
        # dbt still writing; an interrupt (KeyboardInterrupt, Dagster's) does not wait: the
        # process ends, as a killed dbt subprocess would
        worker.join()
        raise
    result = outcome.get("result")
    if "error" in outcome or not result.success:
        if result is not None and result.exception:
            errors.append(str(result.exception))
        if "error" in outcome:
            errors.append(repr(outcome["error"]))
        raise DbtFailed(args[0], errors, Path(_value_of(args, "--log-path")) / "dbt.log")


def close_duckdb() -> None:
    """Close the DuckDB database dbt-duckdb keeps open in a class attribute for the process (its
    own `close_all_connections`, run at exit, only drops the reference)."""
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # no dbt-duckdb in this environment
        return
    with DuckDBConnectionManager._LOCK:
        environment, DuckDBConnectionManager._ENV = DuckDBConnectionManager._ENV, None
        if environment is not None:
            environment.close()


def _value_of(args: Sequence[str], flag: str) -> str:
    return args[list(args).index(flag) + 1] if flag in args else "."


_parsed: dict[tuple, Any] = {}


def parse_once(key: tuple, args: Sequence[str]) -> Any:
    """`parse(args)`, kept for the next call with the same `key` (one parse per run: the key
    names the run); only the latest is kept."""
    if key not in _parsed:
        _parsed.clear()
        _parsed[key] = parse(args)
    return _parsed[key]
