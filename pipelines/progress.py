"""What a person sees while a job runs. On a terminal: a live display per stage (the step running,
assets done of those planned, checks evaluated); in cron or a pipe: one timestamped line per stage
and one at the end. It follows the run through the Dagster instance's event log (public API), on a
background thread, so the jobs themselves know nothing about it.
"""

from __future__ import annotations

import datetime as dt
import sys
import threading
import time
from typing import TextIO

from dagster import DagsterEventType, DagsterInstance

from pipelines.transforms import AFTER_ASSIGNMENT_GROUP, BEFORE_ASSIGNMENT_GROUP

POLL_SECONDS = 0.25
# the words a person reads for each step of the jobs (dbt's steps are named after their groups)
STAGE_NAMES = {
    "landing_files": "loading landing files",
    "raw__revenue_published_months_are_fresh": "checking for late data",
    BEFORE_ASSIGNMENT_GROUP: "dbt: worth and loyalty models",
    "module_assignment_history": "assigning customers to account managers",
    AFTER_ASSIGNMENT_GROUP: "dbt: modules and risk models",
    "staged_publication": "staging the publication",
    "staged_publication_quality_expectations": "quality checks (great-expectations)",
    "published_warehouse": "publishing",
    "publication_report": "writing the report",
    "module_plan": "planning the assignment",
}
_WATCHED = {
    DagsterEventType.ASSET_MATERIALIZATION_PLANNED,
    DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED,
    DagsterEventType.STEP_START,
    DagsterEventType.ASSET_MATERIALIZATION,
    DagsterEventType.ASSET_CHECK_EVALUATION,
    DagsterEventType.STEP_FAILURE,
}


def stage_name(step_key: str) -> str:
    return STAGE_NAMES.get(step_key, step_key.replace("_", " "))


class _Counts:
    """What the run has done so far, from its events."""

    def __init__(self) -> None:
        self.assets_planned = self.assets_done = 0
        self.checks_planned = self.checks_done = self.checks_failed = 0
        self.stage = "starting"
        self.failed_steps: list[str] = []

    def apply(self, event_type: DagsterEventType, step_key: str | None, passed: bool | None) -> bool:
        """Count one event; True when it starts a new stage."""
        if event_type == DagsterEventType.ASSET_MATERIALIZATION_PLANNED:
            self.assets_planned += 1
        elif event_type == DagsterEventType.ASSET_CHECK_EVALUATION_PLANNED:
            self.checks_planned += 1
        elif event_type == DagsterEventType.ASSET_MATERIALIZATION:
            self.assets_done += 1
        elif event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
            self.checks_done += 1
            self.checks_failed += passed is False
        elif event_type == DagsterEventType.STEP_FAILURE and step_key:
            self.failed_steps.append(step_key)
        elif event_type == DagsterEventType.STEP_START and step_key:
            self.stage = stage_name(step_key)
            return True
        return False

    def checks(self) -> str:
        if not self.checks_planned:
            return ""
        failed = f" ({self.checks_failed} failed)" if self.checks_failed else ""
        return f"checks {self.checks_done}/{self.checks_planned}{failed}"

    def line(self) -> str:
        checks = self.checks()
        return f"assets {self.assets_done}/{self.assets_planned}" + (f", {checks}" if checks else "")


class RunProgress:
    """Follow run `run_id` of `instance` until `stop()`; a display on a TTY, lines otherwise."""

    def __init__(
        self,
        instance: DagsterInstance,
        run_id: str,
        title: str,
        live: bool = True,
        stream: TextIO | None = None,
    ):
        self._instance, self._run_id, self._title = instance, run_id, title
        # taken now: while the job runs, stdout goes to the log file (dbt prints there)
        self._stream = stream or sys.stdout
        self._counts = _Counts()
        self._cursor: str | None = None
        self._done = threading.Event()
        self._started = time.monotonic()
        self._live = live and self._stream.isatty()
        self._thread = threading.Thread(target=self._follow, name="accounts-progress", daemon=True)

    def __enter__(self) -> RunProgress:
        if self._live:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                SpinnerColumn,
                TimeElapsedColumn,
            )

            self._progress = Progress(
                SpinnerColumn(), "[progress.description]{task.description}", BarColumn(),
                MofNCompleteColumn(), TimeElapsedColumn(), "{task.fields[note]}",
                console=Console(file=self._stream, highlight=False), transient=True,
            )  # fmt: skip
            self._task = self._progress.add_task(self._title, total=None, note="")
            self._progress.start()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()
        self._poll()  # the events of the last moments
        if self._live:
            self._progress.stop()
        seconds = time.monotonic() - self._started
        self._print(f"{self._title}: {self._counts.line()} in {seconds:.1f} s")

    def _follow(self) -> None:
        while not self._done.wait(POLL_SECONDS):
            self._poll()

    def _poll(self) -> None:
        try:
            connection = self._instance.get_records_for_run(
                self._run_id, cursor=self._cursor, of_type=_WATCHED
            )
        except Exception:  # the run is not stored yet
            return
        self._cursor = connection.cursor
        for record in connection.records:
            event = record.event_log_entry.dagster_event
            if event is None:
                continue
            passed = None
            if event.event_type == DagsterEventType.ASSET_CHECK_EVALUATION:
                passed = event.event_specific_data.passed
            if self._counts.apply(event.event_type, event.step_key, passed) and not self._live:
                self._print(f"{self._title}: {self._counts.stage}")
        if self._live:
            counts = self._counts
            self._progress.update(
                self._task,
                description=f"{self._title}: {counts.stage}",
                total=counts.assets_planned or None,
                completed=counts.assets_done,
                note=counts.checks(),
            )

    def _print(self, text: str) -> None:
        if self._live:
            self._progress.console.print(text)
        else:
            stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S")
            print(f"{stamp} {text}", file=self._stream, flush=True)
