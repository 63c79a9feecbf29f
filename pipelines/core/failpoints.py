"""Failpoints: named places where a test can stop the pipeline to kill it at exactly that point.

`failpoint(name, detail)` does nothing unless the environment variable `ACCOUNTS_FAILPOINT` is
`name` or `name:detail`. Then it writes a marker file (path from `ACCOUNTS_FAILPOINT_MARKER`, if
set) naming the point and the process id, and sleeps (`ACCOUNTS_FAILPOINT_SLEEP` seconds, default
one hour), so a test that polls for the marker can SIGKILL the run at that very point. The cost
when unset is one environment lookup; the hooks are one line each.

The points (`tests/e2e/test_faults.py` kills a real `accounts run` at each):

| name | where | detail |
|---|---|---|
| `ingest.before_commit` | `ingest.loader.ingest_file`: a file's rows are written, not committed | dataset |
| `dbt.running` | `transforms.assets.build`: dbt has reported its first event and is still running | asset |
| `publish.staged` | `publication.assets.staged_publication`: the staged file is complete, not yet audited | |
| `publish.audited` | `publication.assets.published_warehouse`: checks passed, nothing swapped | |
| `publish.swap` | `publication.stage.swap_in`: just before the atomic rename | |
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TypeVar

ENV_POINT = "ACCOUNTS_FAILPOINT"
ENV_MARKER = "ACCOUNTS_FAILPOINT_MARKER"
ENV_SLEEP = "ACCOUNTS_FAILPOINT_SLEEP"

T = TypeVar("T")


def failpoint(name: str, detail: str = "") -> None:
    """Stop here (write the marker, then sleep) when `ACCOUNTS_FAILPOINT` names this point."""
    wanted = os.environ.get(ENV_POINT)
    if not wanted or wanted not in (name, f"{name}:{detail}"):
        return
    marker = os.environ.get(ENV_MARKER)
    if marker:  # write then rename: a polling test never reads half a marker
        path = Path(marker)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(f"{name} {detail} pid={os.getpid()}\n")
        os.replace(temporary, path)
    time.sleep(float(os.environ.get(ENV_SLEEP, "3600")))


def after_first(events: Iterable[T], name: str, detail: str = "") -> Iterator[T]:
    """Yield `events`, hitting the failpoint once the first has arrived (the producer, e.g. dbt,
    is then running)."""
    for index, event in enumerate(events):
        if index == 0:
            failpoint(name, detail)
        yield event
