"""Data quality of the staged publication with great-expectations (SPEC §12, §13).

Suites are a registry, `SUITES`: suite name -> the SQL giving the frame to validate (a published
table, or a derived frame for cross-table rules), the columns naming a failing row, and the
expectations. Adding a table is adding one entry. A suite runs only when every table it reads is
in the staged file, so tables still being built (the loyalty marts) are validated once published.

`validate_publication(staged, settings, docs_dir)` reads each suite's frame from the staged file
(read-only), validates it through GX's pandas data source in an ephemeral context (GX cannot
validate DuckDB through SQLAlchemy), writes the HTML Data Docs into `docs_dir` and returns a
`QualityReport` with the failed expectations and a sample of failing keys.

Great-expectations takes seconds to import: it is imported only inside `validate_publication`,
never when the Dagster definitions load.

Tolerances (config `quality:`):
- Incremental-class shares. Classes are cut on cume_dist of incremental revenue over the customers
  of known size (SPEC §4.7), so the realised share misses its target only by (a) whole customers,
  below 1/N (< 1 point for N >= 100), and (b) ties: customers with equal incremental revenue share
  one cume_dist and land in the same class (e.g. every customer whose actual already exceeds the
  potential has an increment of 0). A tie block moving a class by more than a few points means
  the grading is broken or the data degenerate; 5 points (`class_share_tolerance: 0.05`) flags
  that while ignoring rounding. Below `class_share_min_customers` (100) whole customers alone can
  miss a 5 % step, so small snapshots are not held to it.
- Row-count change: customer_worth rows against the previous snapshot in the publication
  (`max_row_count_change: 0.5`): the universe (customers with revenue so far) grows slowly; a
  swing of half of it means a lost or doubled delivery, not business.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import duckdb

from pipelines.config import GRADES, SEGMENTS, Settings
from schemas.published import DRIVER_LABELS, MOVE_REASONS, PEER_LEVELS

DATA_DOCS_DIR = "data_docs"  # beside the published file
SITE_NAME = "accounts_quality"
CLASSES = [1, 2, 3, 4, 5]
LOYALTY_TABLES = (
    "customer_loyalty", "loyalty_summary", "at_risk_exposure", "concentration",
    "contact_drivers", "early_warning", "manager_scorecard", "impact_study",
)  # fmt: skip
# Columns of the loyalty tables that are shares or probabilities, by name (SPEC §7-§11).
SHARE_COLUMN = re.compile(r"(^|_)(share|probability|rate)$")
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


def not_null(column: str) -> Expect:
    return expect("ExpectColumnValuesToNotBeNull", column=column)


def in_set(column: str, values: list) -> Expect:
    return expect("ExpectColumnValuesToBeInSet", column=column, value_set=list(values))


def between(column: str, low: float | None = None, high: float | None = None) -> Expect:
    return expect("ExpectColumnValuesToBeBetween", column=column, min_value=low, max_value=high)


def key_rules(keys: tuple[str, ...]) -> list[Expect]:
    """Every key column present, and the key unique (compound when several columns)."""
    rules = [not_null(k) for k in keys]
    if len(keys) == 1:
        rules.append(expect("ExpectColumnValuesToBeUnique", column=keys[0]))
    else:
        rules.append(expect("ExpectCompoundColumnsToBeUnique", column_list=list(keys)))
    return rules


Rules = Callable[[Settings, list[str]], list[Expect]]  # (settings, the frame's columns) -> rules


@dataclass(frozen=True)
class Suite:
    sql: str  # query on the staged publication giving the frame to validate
    keys: tuple[str, ...]  # the columns that name a failing row in reports
    requires: tuple[str, ...]  # tables that must be published for the suite to run
    rules: Rules
    description: str = ""
    # rows keyed by as_of_date, each month checked on its own: only the months this publication
    # recomputed need checking (the others are the rows an earlier publication passed)
    per_snapshot: bool = False


def table_suite(
    table: str, keys: tuple[str, ...], *rules: Expect, extra: Rules | None = None
) -> Suite:
    """A suite on a published table: key rules (not null, unique), then `rules`, then
    `extra(settings, columns)`."""

    def build(settings: Settings, columns: list[str]) -> list[Expect]:
        return [*key_rules(keys), *rules, *(extra(settings, columns) if extra else [])]

    return Suite(
        f"SELECT * FROM main.{table}", keys, (table,), build, f"The published `{table}`.",
        per_snapshot=True,
    )


def _loyalty_rules(settings: Settings, columns: list[str]) -> list[Expect]:
    """Basic rules for the loyalty marts, on whichever of these columns they hold."""
    rules: list[Expect] = []
    if "segment" in columns:
        rules.append(in_set("segment", list(SEGMENTS)))
    if "measured_label" in columns:
        rules.append(in_set("measured_label", DRIVER_LABELS))
    if "grade" in columns:
        rules.append(in_set("grade", list(GRADES)))
    rules += [between(c, 0, 1) for c in columns if SHARE_COLUMN.search(c)]
    return rules


# The keys of the loyalty marts (SPEC §7-§11); the summaries have one row per as_of_date.
LOYALTY_KEYS = {"customer_loyalty": ("as_of_date", "customer_id"),
                "manager_scorecard": ("as_of_date", "manager_id"),
                "early_warning": ("as_of_date", "customer_id"),
                "at_risk_exposure": ("as_of_date", "dimension", "dimension_value"),
                "contact_drivers": ("as_of_date", "driver_type", "driver_value"),
                "impact_study": ("as_of_date", "population")}  # fmt: skip


# Rebuilt whole on every run (a new programme start date changes every row): never per snapshot.
REBUILT_TABLES = {"impact_study"}


def _loyalty_suite(table: str) -> Suite:
    keys = LOYALTY_KEYS.get(table, ("as_of_date",))
    suite = table_suite(table, keys, extra=_loyalty_rules)
    return replace(suite, per_snapshot=False) if table in REBUILT_TABLES else suite


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
    return [
        expect("ExpectColumnPairValuesToBeEqual", column_A="customer_worth_rows",
               column_B="worth_matrix_customers"),
        # every graded customer has exactly one manager when any manager is active (SPEC §6)
        expect("ExpectColumnPairValuesToBeEqual", column_A="customer_worth_rows",
               column_B="module_assignments_rows", row_condition="managers_active > 0",
               condition_parser="pandas"),
        # null for the first snapshot: GX skips nulls
        between("customer_worth_change", -band, band),
    ]  # fmt: skip


SUITES: dict[str, Suite] = {
    "customer_worth": table_suite(
        "customer_worth", ("as_of_date", "customer_id"),
        in_set("grade", list(GRADES)), in_set("actual_class", CLASSES),
        in_set("incremental_class", CLASSES), in_set("peer_group_level", PEER_LEVELS),
        between("achievement_probability", 0, 1), between("incremental_top_share", 0, 1),
        between("incremental_revenue", 0), between("potential_revenue", 0),
        between("expected_incremental_revenue", 0), not_null("grade"),
    ),
    "best_in_class": table_suite(
        "best_in_class", ("as_of_date", "customer_type", "size_band"),
        in_set("peer_group_level", PEER_LEVELS), between("best_in_class_revenue_per_employee", 0),
    ),
    "worth_matrix": table_suite(
        "worth_matrix", ("as_of_date", "actual_class", "incremental_class"),
        in_set("grade", list(GRADES)), in_set("actual_class", CLASSES),
        in_set("incremental_class", CLASSES), between("customers", 0),
    ),
    "incremental_class_bands": table_suite(
        "incremental_class_bands", ("as_of_date", "incremental_class"),
        in_set("incremental_class", CLASSES), between("target_share", 0, 1),
        between("realised_share", 0, 1),
    ),
    "contact_economics": table_suite(
        "contact_economics", ("as_of_date",),
        between("cost_per_contact", 0), between("contacts_per_manager_year", 0),
        between("managers_active", 0),
    ),
    "contact_economics_by_grade": table_suite(
        "contact_economics_by_grade", ("as_of_date", "grade"), in_set("grade", list(GRADES)),
        between("customers", 0),
    ),
    "module_assignments": table_suite(
        "module_assignments", ("as_of_date", "customer_id"),
        not_null("manager_id"), in_set("grade", list(GRADES)),
        in_set("move_reason", MOVE_REASONS),
    ),
    "modules": table_suite(
        "modules", ("as_of_date", "manager_id"), between("utilisation", 0), between("accounts", 0),
    ),
    # --- derived frames: rules across rows and tables ---------------------------------------
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
        "Realised incremental-class shares near their 5/15/25/25/30 % targets.",
    ),
    "assignment_balance": Suite(
        """
        SELECT as_of_date, count(*) AS managers,
               max(accounts) - min(accounts) AS accounts_spread,
               greatest(max(accounts_aa) - min(accounts_aa), max(accounts_a) - min(accounts_a),
                        max(accounts_b) - min(accounts_b), max(accounts_c) - min(accounts_c),
                        max(accounts_d) - min(accounts_d)) AS grade_spread
        FROM main.modules GROUP BY as_of_date
        """,
        ("as_of_date",),
        ("modules",),
        lambda s, c: [between("accounts_spread", 0, 1), between("grade_spread", 0, 1)],
        "Modules balanced: accounts per manager, in total and per grade, differ by at most one.",
    ),
    "row_counts": Suite(
        """
        WITH worth AS (SELECT as_of_date, count(*) AS n FROM main.customer_worth GROUP BY ALL),
        matrix AS (SELECT as_of_date, sum(customers) AS n FROM main.worth_matrix GROUP BY ALL),
        assigned AS (SELECT as_of_date, count(*) AS n FROM main.module_assignments GROUP BY ALL)
        SELECT w.as_of_date, w.n AS customer_worth_rows,
               coalesce(m.n, 0) AS worth_matrix_customers,
               coalesce(a.n, 0) AS module_assignments_rows,
               coalesce(e.managers_active, 0) AS managers_active,
               lag(w.n) OVER (ORDER BY w.as_of_date) AS previous_customer_worth_rows,
               (w.n - lag(w.n) OVER (ORDER BY w.as_of_date))
                   / lag(w.n) OVER (ORDER BY w.as_of_date) AS customer_worth_change
        FROM worth w
        LEFT JOIN matrix m USING (as_of_date)
        LEFT JOIN assigned a USING (as_of_date)
        LEFT JOIN main.contact_economics e USING (as_of_date)
        ORDER BY w.as_of_date
        """,
        ("as_of_date",),
        ("customer_worth", "worth_matrix", "module_assignments", "contact_economics"),
        _row_count_rules,
        "Row counts agree between tables per snapshot; customer_worth rows change by at most "
        "`quality.max_row_count_change` from one snapshot to the previous.",
    ),
    **{table: _loyalty_suite(table) for table in LOYALTY_TABLES},
}


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


def refreshed_months(con: duckdb.DuckDBPyConnection) -> list[str] | None:
    """The months (YYYY-MM) the newest publication in the file recomputed; None when unknown."""
    if "publications" not in published_tables(con):
        return None
    rows = con.execute(  # fetchall: a half-read result blocks the connection's next query
        "SELECT months_refreshed FROM main.publications ORDER BY publication_id DESC LIMIT 1"
    ).fetchall()
    return list(rows[0][0]) if rows and rows[0][0] else None


@dataclass
class Batch:
    frame: Any  # pandas DataFrame: the key columns and the columns the rules read
    rules: list[Expect]


def read_batches(
    staged: Path, settings: Settings, suites: dict[str, Suite] = SUITES
) -> tuple[dict[str, Batch], list[str]]:
    """Each runnable suite's rules and frame from the staged file, and the suites skipped.
    Per-snapshot suites read only the months this publication recomputed, so a nightly run
    checks one month however long the published history is. Only the columns the rules and
    keys name are read: less to convert, and no list columns, which GX would fingerprint by
    pickling the whole frame (1M customers: ~4 s a table)."""
    con = duckdb.connect(str(staged), read_only=True)
    try:
        present = published_tables(con)
        months = refreshed_months(con)
        batches, skipped = {}, []
        for name, suite in suites.items():
            if not set(suite.requires) <= present:
                skipped.append(name)
                continue
            sql, params = suite.sql, []
            if suite.per_snapshot and months is not None:
                sql = f"SELECT * FROM ({sql}) WHERE strftime(as_of_date, '%Y-%m') = ANY(?)"
                params = [months]
            columns = [d[0] for d in con.execute(f"SELECT * FROM ({sql}) LIMIT 0", params).description]
            rules = suite.rules(settings, columns)
            read = set(suite.keys).union(*(rule.reads() for rule in rules))
            selected = ", ".join(f'"{c}"' for c in columns if c in read)
            batches[name] = Batch(con.execute(f"SELECT {selected} FROM ({sql})", params).df(), rules)
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
    suites: dict[str, Suite] = SUITES,
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
        batch_definition = source.add_dataframe_asset(name=name).add_batch_definition_whole_dataframe(
            "whole"
        )
        suite = context.suites.add(gx.ExpectationSuite(name=name))
        for rule in batch.rules:
            suite.add_expectation(getattr(gx.expectations, rule.kind)(**rule.kwargs))
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch_definition, suite=suite)
        )
        keys = [k for k in suite_def.keys if k in frame.columns]
        result = definition.run(
            batch_parameters={"dataframe": frame},
            result_format={"result_format": "COMPLETE", "unexpected_index_column_names": keys,
                           "partial_unexpected_count": sample},  # fmt: skip
            run_id=run_id,
        )
        for outcome in result.results:
            report.evaluated += 1
            if not outcome.success:
                report.failures.append(_failure(name, outcome, keys, sample))
    if docs_dir is not None:
        context.build_data_docs(site_names=[SITE_NAME])
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
