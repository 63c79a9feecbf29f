"""Data quality of the staged publication with great-expectations: what only it adds to the dbt
tests (which guard every key, accepted value, range and cross-table total on the working
warehouse before anything is staged).

- Distributions over the rows: the realised incremental-class shares near their targets, and the
  number of graded customers from one snapshot to the next within a band (a lost or doubled
  delivery, not business).
- The published shape: every published table holds exactly the columns its catalogue describes,
  so BI tools find what the docs promise.
- Data Docs: the HTML record of these validations, beside the published file. They render offline:
  the CSS/JS GX links from CDNs is copied in from `data_docs_assets/` (`data_docs.localise_assets`).

Suites are a registry, `SUITES`: suite name -> the SQL giving the frame to validate, the columns
naming a failing row, the tables it needs, and its expectations. `validate_publication(staged,
settings, docs_dir)` reads each frame from the staged file (read-only), validates it through GX's
pandas data source in an ephemeral context, writes the Data Docs into `docs_dir` and returns a
`QualityReport` with the failed expectations and a sample of failing keys. Great-expectations
takes seconds to import: it is imported only inside `validate_publication`.

Tolerances (config `quality:`):
- Incremental-class shares. Classes are cut on the cumulative distribution of incremental revenue
  over the customers of known size, so the realised share misses its target only by (a) whole
  customers, below 1/N (< 1 point for N >= 100), and (b) ties: customers with equal incremental
  revenue share one top share and land in the same class (e.g. every customer whose actual
  revenue already exceeds the potential has an increment of 0). A tie block moving a class by
  more than a few points means the grading is broken or the data degenerate;
  `class_share_tolerance` flags that while ignoring rounding. Below `class_share_min_customers`
  whole customers alone can miss a 5 % step, so small snapshots are not held to it.
- Row-count change: customer_worth rows against the previous snapshot in the publication
  (`max_row_count_change`): the universe (customers with revenue so far) grows slowly; a swing
  of half of it means a lost or doubled delivery, not business.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from pipelines.core.config import Settings
from pipelines.publication.data_docs import localise_assets

logger = logging.getLogger(__name__)

DATA_DOCS_DIR = "data_docs"  # beside the published file
SITE_NAME = "accounts_quality"
IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


@dataclass(frozen=True)
class Expect:
    """One expectation: the class name in `great_expectations.expectations` and its arguments.
    Declared without importing GX; built into a GX expectation at validation time."""

    kind: str
    kwargs: dict[str, Any]

    def columns(self) -> set[str]:
        named = [self.kwargs.get(k) for k in ("column", "column_A", "column_B")]
        return {c for c in named if c} | set(self.kwargs.get("column_list", []))

    def reads(self) -> set[str]:
        """Every name the expectation may read: its columns and the words of its row condition."""
        return self.columns() | set(IDENTIFIER.findall(self.kwargs.get("row_condition") or ""))

    def label(self) -> str:
        columns = sorted(self.columns())
        return f"{self.kind}({', '.join(columns)})" if columns else self.kind


def expect(kind: str, **kwargs: Any) -> Expect:
    return Expect(kind, kwargs)


def between(column: str, low: float | None = None, high: float | None = None) -> Expect:
    return expect("ExpectColumnValuesToBeBetween", column=column, min_value=low, max_value=high)


Rules = Callable[[Settings, list[str]], list[Expect]]  # (settings, the frame's columns) -> rules


@dataclass(frozen=True)
class Suite:
    sql: str  # query on the staged publication giving the frame to validate
    keys: tuple[str, ...]  # the columns that name a failing row in reports
    requires: tuple[str, ...]  # tables that must be published for the suite to run
    rules: Rules
    description: str = ""


def shape_suite(table: str, columns: list[str]) -> Suite:
    """The published table holds exactly the documented columns (read from zero rows)."""
    return Suite(
        f"SELECT * FROM main.{table} LIMIT 0",
        (),
        (table,),
        lambda s, c: [expect("ExpectTableColumnsToMatchSet", column_set=sorted(columns), exact_match=True)],
        f"`{table}` holds exactly the columns its catalogue describes.",
    )


def _class_share_rules(settings: Settings, columns: list[str]) -> list[Expect]:
    q = settings.quality
    return [
        expect(
            "ExpectColumnValuesToBeBetween", column="share_gap", min_value=0,
            max_value=q.class_share_tolerance,
            row_condition=f"customers_known_size >= {q.class_share_min_customers}",
            condition_parser="pandas",
        ),
    ]  # fmt: skip


def _row_count_rules(settings: Settings, columns: list[str]) -> list[Expect]:
    band = settings.quality.max_row_count_change
    # null for the first snapshot: GX skips nulls
    return [between("customer_worth_change", -band, band)]


DISTRIBUTION_SUITES: dict[str, Suite] = {
    "incremental_class_shares": Suite(
        """
        SELECT as_of_date, incremental_class, target_share, realised_share,
               abs(realised_share - target_share) AS share_gap,
               sum(customers - coalesce(customers_unknown_employees, 0))
                   OVER (PARTITION BY as_of_date) AS customers_known_size
        FROM main.incremental_class_bands
        """,
        ("as_of_date", "incremental_class"),
        ("incremental_class_bands",),
        _class_share_rules,
        "Realised incremental-class shares near their configured targets.",
    ),
    "row_count_change": Suite(
        """
        WITH worth AS (SELECT as_of_date, count(*) AS n FROM main.customer_worth GROUP BY ALL)
        SELECT as_of_date, n AS customer_worth_rows,
               lag(n) OVER (ORDER BY as_of_date) AS previous_customer_worth_rows,
               (n - lag(n) OVER (ORDER BY as_of_date)) / lag(n) OVER (ORDER BY as_of_date)
                   AS customer_worth_change
        FROM worth
        ORDER BY as_of_date
        """,
        ("as_of_date",),
        ("customer_worth",),
        _row_count_rules,
        "customer_worth rows change by at most `quality.max_row_count_change` from one snapshot "
        "to the previous.",
    ),
}


def suites_for(catalogue: dict[str, tuple[str, dict[str, str]]]) -> dict[str, Suite]:
    """The distribution suites and a shape suite per published table of `catalogue` (table ->
    (description, {column: description}), as `pipelines.transforms.project.descriptions`)."""
    shapes = {
        f"{table}_shape": shape_suite(table, list(columns)) for table, (_, columns) in catalogue.items()
    }
    return DISTRIBUTION_SUITES | dict(sorted(shapes.items()))


# --- validation --------------------------------------------------------------------------------


@dataclass
class Failure:
    suite: str
    expectation: str
    unexpected_count: int | None
    sample_keys: list[dict[str, Any]]
    observed: Any = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out = {"suite": self.suite, "expectation": self.expectation}
        if self.unexpected_count is not None:
            out["unexpected_count"] = self.unexpected_count
        if self.sample_keys:
            out["sample_keys"] = self.sample_keys
        if self.observed is not None:
            out["observed"] = self.observed
        if self.error:
            out["error"] = self.error
        return out


@dataclass
class QualityReport:
    suites_run: list[str]
    suites_skipped: list[str]  # their tables are not published (yet)
    evaluated: int
    failures: list[Failure] = field(default_factory=list)
    docs_index: Path | None = None
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.failures

    def summary(self) -> str:
        if self.passed:
            return f"{self.evaluated} expectations on {len(self.suites_run)} suites passed"
        failed = "; ".join(
            f"{f.suite}: {f.expectation}" + (f" ({f.unexpected_count} rows)" if f.unexpected_count else "")
            for f in self.failures
        )
        return f"{len(self.failures)} of {self.evaluated} expectations failed: {failed}"


def published_tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    return {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
            "AND database_name = current_database()"
        ).fetchall()
    }


@dataclass
class Batch:
    frame: Any  # pandas DataFrame: the key columns and the columns the rules read
    rules: list[Expect]


def read_batches(
    staged: Path, settings: Settings, suites: dict[str, Suite]
) -> tuple[dict[str, Batch], list[str]]:
    """Each runnable suite's rules and frame from the staged file, and the suites skipped.
    Only the columns the rules and keys name are read (all of them for table-level rules): less
    to convert, and no list columns, which GX would fingerprint by pickling the whole frame."""
    con = duckdb.connect(str(staged), read_only=True)
    try:
        present = published_tables(con)
        batches, skipped = {}, []
        for name, suite in suites.items():
            if not set(suite.requires) <= present:
                skipped.append(name)
                continue
            columns = [d[0] for d in con.execute(f"SELECT * FROM ({suite.sql}) LIMIT 0").description]
            rules = suite.rules(settings, columns)
            read = set(suite.keys).union(*(rule.reads() for rule in rules)) or set(columns)
            selected = ", ".join(f'"{c}"' for c in columns if c in read)
            batches[name] = Batch(con.execute(f"SELECT {selected} FROM ({suite.sql})").df(), rules)
    finally:
        con.close()
    return batches, skipped


def _plain(value: Any) -> Any:
    """JSON-friendly scalars for metadata (numpy, pandas and date values)."""
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        with contextlib.suppress(ValueError, AttributeError):
            value = value.item()
    if isinstance(value, (dt.date, dt.datetime)) or type(value).__name__ == "Timestamp":
        text = str(value)
        return text[:10] if text.endswith("00:00:00") else text
    if isinstance(value, float) and value != value:
        return None
    return value if isinstance(value, (int, float, str, bool, type(None))) else str(value)


def validate_publication(
    staged: Path,
    settings: Settings,
    docs_dir: Path | None,
    suites: dict[str, Suite],
    run_name: str | None = None,
) -> QualityReport:
    """Validate the staged publication with every runnable suite; write Data Docs to `docs_dir`."""
    clock = time.perf_counter()
    batches, skipped = read_batches(staged, settings, suites)

    import great_expectations as gx  # slow import: only when a check runs
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    if docs_dir is not None:
        docs_dir.mkdir(parents=True, exist_ok=True)
        context.add_data_docs_site(
            site_name=SITE_NAME,
            site_config={
                "class_name": "SiteBuilder",
                "store_backend": {"class_name": "TupleFilesystemStoreBackend",
                                  "base_directory": str(docs_dir)},
                "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
            },
        )  # fmt: skip
    source = context.data_sources.add_pandas("staged_publication")
    run_id = RunIdentifier(run_name=run_name or "quality", run_time=dt.datetime.now(dt.UTC))
    report = QualityReport(suites_run=list(batches), suites_skipped=skipped, evaluated=0)
    sample = settings.quality.failing_keys_sample
    for name, batch in batches.items():
        suite_def, frame = suites[name], batch.frame
        batch_definition = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe("whole")
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for rule in batch.rules:
            suite.add_expectation(getattr(gx.expectations, rule.kind)(**rule.kwargs))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        )
        keys = [k for k in suite_def.keys if k in frame.columns]
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": keys,
                "partial_unexpected_count": sample,
            },  # fmt: skip
            run_id=run_id,
        )
        for outcome in result.results:
            report.evaluated += 1
            if not outcome.success:
                report.failures.append(_failure(name, outcome, keys, sample))
    if docs_dir is not None:
        context.build_data_docs(site_names=[SITE_NAME])
        unmapped = localise_assets(docs_dir)  # CDN links -> vendored copies: the site renders offline
        if unmapped:
            logger.warning("Data Docs still load from the network (not vendored): %s", ", ".join(unmapped))
        report.docs_index = docs_dir / "index.html"
    report.seconds = time.perf_counter() - clock
    return report


def _label(config: Any) -> str:
    """`expect_column_values_to_be_in_set(grade)`: the expectation and the columns it checks."""
    kwargs = config.kwargs
    columns = [kwargs.get(k) for k in ("column", "column_A", "column_B")]
    columns = [c for c in columns if c] + list(kwargs.get("column_list") or [])
    return f"{config.type}({', '.join(columns)})" if columns else config.type


def _failure(suite: str, outcome: Any, keys: list[str], sample: int) -> Failure:
    details = outcome.result or {}
    rows = details.get("unexpected_index_list") or []
    sample_keys = []
    for row in rows[:sample]:  # the row's keys first, then the offending values
        if isinstance(row, dict):
            ordered = [k for k in keys if k in row] + [k for k in row if k not in keys]
            sample_keys.append({k: _plain(row[k]) for k in ordered})
    error = None
    info = outcome.exception_info or {}
    if info.get("raised_exception"):
        error = (info.get("exception_message") or "expectation raised an error").splitlines()[0]
    return Failure(
        suite=suite,
        expectation=_label(outcome.expectation_config),
        unexpected_count=details.get("unexpected_count"),
        sample_keys=sample_keys,
        observed=_plain(details.get("observed_value")),
        error=error,
    )


def docs_dir_for(published: Path) -> Path:
    return published.parent / DATA_DOCS_DIR


def reset_docs(docs_dir: Path) -> None:
    """Remove an earlier site (each run's Data Docs show that run's validations)."""
    shutil.rmtree(docs_dir, ignore_errors=True)
