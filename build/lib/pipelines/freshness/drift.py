"""Config is part of the data (SPEC §3): every publication records the configuration it computed
with, and a run whose configuration differs from the published history's in a parameter that
changes past months says so, and refuses, rather than silently mixing or emptying history.

- A snapshot parameter (every parameter of the method) shapes each month it computes: a month
  published with another value and not recomputed by this run would stay as it was, so the
  history would mix two configurations.
- The impact study's programme start is read by a table rebuilt whole from the stored snapshots
  on every run: a different value rewrites the whole study.
- Checks and reports (`quality.*`, `ingest.*`) change no published number.

A backfill restates its months and the study on purpose; `--allow-config-drift` publishes a
mixed history knowingly (the publication records the drift).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.config import (
    RUN_ONLY_SECTIONS,
    STUDY_SECTIONS,
    Settings,
    config_values,
    section_of,
)
from pipelines.core.months import contiguous_ranges


@dataclass(frozen=True)
class Drift:
    parameter: str
    published: Any
    now: Any
    months: tuple[str, ...] = ()  # published months computed with the other value

    def __str__(self) -> str:
        return f"{self.parameter}: {self.published!r} (published) -> {self.now!r} (this run)"


@dataclass
class DriftReport:
    snapshot: list[Drift] = field(default_factory=list)  # months this run leaves as they were
    study: list[Drift] = field(default_factory=list)  # the impact study this run rebuilds
    history: tuple[str, str] | None = None  # the first and last published month

    def __bool__(self) -> bool:
        return bool(self.snapshot or self.study)

    def lines(self) -> list[str]:
        lines = [f"{d}, in {_ranges(d.months)}" for d in self.snapshot]
        return lines + [f"{d}, rebuilding the whole impact study" for d in self.study]


def _ranges(months: Iterable[str]) -> str:
    return ", ".join(a if a == b else f"{a}..{b}" for a, b in contiguous_ranges(months))


def _history(published: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any] | None]:
    """({month: config values it was last computed with}, the latest publication's values), from
    the publications that recorded a config (files published before that are not compared)."""
    if not published.exists():
        return {}, None
    con = duckdb.connect(str(published), read_only=True)
    try:
        has_config = con.execute(
            "SELECT count(*) FROM duckdb_columns() "
            "WHERE table_name = 'publications' AND column_name = 'config'"
        ).fetchall()[0][0]
        if not has_config:
            return {}, None
        rows = con.execute(
            "SELECT months_refreshed, config FROM publications "
            "WHERE config IS NOT NULL ORDER BY publication_id"
        ).fetchall()
    finally:
        con.close()
    per_month: dict[str, dict[str, Any]] = {}
    latest = None
    for months, text in rows:
        latest = config_values(Settings.model_validate(json.loads(text)))
        per_month.update(dict.fromkeys(months or [], latest))
    return per_month, latest


def config_drift(published: Path, settings: Settings, months_computed: Iterable[str]) -> DriftReport:
    """How this run's config differs from the published history's, for a run that recomputes
    `months_computed` (and rebuilds the impact study)."""
    per_month, latest = _history(published)
    now = config_values(settings)
    computed = set(months_computed)
    report = DriftReport(history=(min(per_month), max(per_month)) if per_month else None)
    changed: dict[str, list[str]] = {}
    for month, values in sorted(per_month.items()):
        if month in computed:
            continue
        for name, value in values.items():
            section = section_of(name)
            if section in RUN_ONLY_SECTIONS or section in STUDY_SECTIONS or now.get(name) == value:
                continue
            changed.setdefault(name, []).append(month)
    for name, months in sorted(changed.items()):
        report.snapshot.append(Drift(name, per_month[months[0]][name], now.get(name), tuple(months)))
    for name, value in sorted((latest or {}).items()):
        if section_of(name) in STUDY_SECTIONS and now.get(name) != value:
            report.study.append(Drift(name, value, now.get(name)))
    return report


class ConfigDrift(RuntimeError):
    """The run would mix configurations in the published history, or rewrite the study."""

    def __init__(self, report: DriftReport, config_source: str, restate: str):
        self.report = report
        lines = "\n  ".join(report.lines())
        super().__init__(
            f"the configuration ({config_source}) differs from the one the published history was "
            f"computed with:\n  {lines}\nUse the configuration the history was computed with "
            f"(ACCOUNTS_CONFIG), or restate the history on purpose: {restate} "
            "(or pass --allow-config-drift to publish a mixed history knowingly)."
        )


def refuse_drift(report: DriftReport, restates_study: bool, config_source: str) -> None:
    """Raise ConfigDrift when the run would leave months of another configuration, or rebuild the
    study with another start date without restating it on purpose."""
    blocking = DriftReport(report.snapshot, [] if restates_study else report.study, report.history)
    if not blocking:
        return
    first, last = report.history or ("<first month>", "<latest month>")
    months = sorted({m for d in blocking.snapshot for m in d.months})
    restate = f"`accounts backfill --from {months[0] if months else first} --to {last}`"
    raise ConfigDrift(blocking, config_source, restate)
