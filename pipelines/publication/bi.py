"""The `bi` schema of the published file: flat views for BI tools and spreadsheets.

Every published table gets a view in `bi` with one value per cell: list columns become text
(`a; b; c`), lists of records become text too (`2026-10-03 delayed_shipment; ...`). Three views are
shaped for people rather than for joins:

- `bi.worth_matrix_grid`: the worth matrix as the method prints it, one row per actual-revenue
  class and one column per incremental-revenue class (grade, customers and revenue per cell).
- `bi.call_list`: the early-warning list per account manager, numbered in call order.
- `bi.scorecard`: the manager scorecard with each manager's rank on the headline measures.

The views read `main`, so they always show the publication they sit in.
"""

from __future__ import annotations

import re

import duckdb

from pipelines.publication.catalogue import columns_of, comment

BI_SCHEMA = "bi"
LIST_SEPARATOR = "; "
INCREMENTAL_CLASSES = range(1, 6)
# (measure, direction): rank 1 is the best manager on that measure
SCORECARD_RANKS = {
    "revenue_change_pct": "DESC",
    "retention_rate": "DESC",
    "contact_coverage": "DESC",
    "at_risk_share": "ASC",
}
_STRUCT_LIST = re.compile(r"^STRUCT\((?P<fields>.*)\)\[\]$")


def flat_expression(column: str, data_type: str) -> str:
    """SQL giving `column` as one value per cell: lists joined into text, other types as they are."""
    quoted = f'"{column}"'
    struct = _STRUCT_LIST.match(data_type)
    if struct:
        fields = [f.strip().split(" ", 1)[0].strip('"') for f in _split_fields(struct["fields"])]
        parts = ", ".join(f'CAST(x."{f}" AS VARCHAR)' for f in fields)
        # a list comprehension, not an arrow lambda: DuckDB 2 refuses the arrow, DuckDB 1.1
        # clients of the published file know no other form
        return f"array_to_string([concat_ws(' ', {parts}) for x in {quoted}], '{LIST_SEPARATOR}')"
    if data_type.endswith("[]"):
        return f"array_to_string({quoted}, '{LIST_SEPARATOR}')"
    return quoted


def _split_fields(fields: str) -> list[str]:
    """Split `a DATE, b STRUCT(c INT, d INT)` at its top-level commas."""
    parts, depth, current = [], 0, ""
    for char in fields:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    return [*parts, current] if current.strip() else parts


def create_bi_views(
    con: duckdb.DuckDBPyConnection,
    catalog: str,
    tables: list[str],
    docs: dict[str, tuple[str, dict[str, str]]],
) -> list[str]:
    """Create the `bi` views in the attached database `catalog`; returns their names."""
    con.execute(f"CREATE SCHEMA {catalog}.{BI_SCHEMA}")
    created = []
    for table in tables:
        columns = columns_of(con, catalog, "main", table)
        select = ", ".join(f'{flat_expression(name, data_type)} AS "{name}"' for name, data_type in columns)
        con.execute(f"CREATE VIEW {catalog}.{BI_SCHEMA}.{table} AS SELECT {select} FROM main.{table}")
        description, column_docs = docs.get(table, ("", {}))
        flat_note = "Flat for BI tools and spreadsheets: lists are text, items separated by '; '."
        comment(con, f"{catalog}.{BI_SCHEMA}.{table}", "VIEW", f"{description} {flat_note}".strip(),
                column_docs)  # fmt: skip
        created.append(table)
    for name, (sql, description, column_docs) in _shaped_views(docs).items():
        if not set(_needs(name)) <= set(tables):
            continue
        con.execute(f"CREATE VIEW {catalog}.{BI_SCHEMA}.{name} AS {sql}")
        present = {column for column, _ in columns_of(con, catalog, BI_SCHEMA, name)}
        column_docs = {column: text for column, text in column_docs.items() if column in present}
        comment(con, f"{catalog}.{BI_SCHEMA}.{name}", "VIEW", description, column_docs)
        created.append(name)
    return created


def _needs(view: str) -> list[str]:
    return {
        "worth_matrix_grid": ["worth_matrix"],
        "call_list": ["early_warning"],
        "scorecard": ["manager_scorecard"],
    }[view]


def _worth_matrix_grid_sql() -> str:
    cells = []
    for k in INCREMENTAL_CLASSES:
        cells += [
            f"max(grade) FILTER (WHERE incremental_class = {k}) AS grade_incremental_{k}",
            f"coalesce(sum(customers) FILTER (WHERE incremental_class = {k}), 0)::BIGINT "
            f"AS customers_incremental_{k}",
            f"coalesce(sum(actual_revenue) FILTER (WHERE incremental_class = {k}), 0)::DECIMAL(18, 2) "
            f"AS revenue_incremental_{k}",
        ]
    return (
        f"SELECT as_of_date, actual_class, {', '.join(cells)} FROM main.worth_matrix "
        "GROUP BY as_of_date, actual_class"
    )


def _grid_docs() -> dict[str, str]:
    docs = {
        "as_of_date": "Snapshot date.",
        "actual_class": "Actual-revenue class of the row: 1 (smallest customers) to 5 (largest customers).",
    }
    for k in INCREMENTAL_CLASSES:
        docs[f"grade_incremental_{k}"] = f"Grade of the cell in incremental-revenue class {k}."
        docs[f"customers_incremental_{k}"] = f"Customers in the cell of incremental-revenue class {k}."
        docs[f"revenue_incremental_{k}"] = (
            f"Actual revenue of the customers in the cell of incremental-revenue class {k}."
        )
    return docs


def _call_list_sql() -> str:
    reasons = flat_expression("risk_reasons", "VARCHAR[]")
    contacts = flat_expression(
        "last_dissatisfier_contacts", "STRUCT(contact_date DATE, reason_code VARCHAR)[]"
    )
    return (
        "SELECT as_of_date, manager_id, manager_name, "
        "row_number() OVER (PARTITION BY as_of_date, manager_id ORDER BY warning_rank) AS call_order, "
        "customer_id, customer_name, grade, customer_type, region, expected_loss, defection_probability, "
        f"revenue_12m, revenue_prev_12m, {reasons} AS risk_reasons, days_since_last_purchase, "
        f"dissatisfier_contacts_recent, last_dissatisfier_date, {contacts} AS last_dissatisfier_contacts "
        "FROM main.early_warning"
    )


def _scorecard_sql() -> str:
    ranks = ", ".join(
        f"rank() OVER (PARTITION BY as_of_date ORDER BY {measure} {direction} NULLS LAST) AS {measure}_rank"
        for measure, direction in SCORECARD_RANKS.items()
    )
    return f"SELECT *, {ranks} FROM main.manager_scorecard"


def _shaped_views(
    docs: dict[str, tuple[str, dict[str, str]]],
) -> dict[str, tuple[str, str, dict[str, str]]]:
    """name -> (SQL, description, column descriptions) of the views shaped for people."""
    warning_docs = docs.get("early_warning", ("", {}))[1]
    scorecard_docs = docs.get("manager_scorecard", ("", {}))[1]
    rank_docs = {
        f"{measure}_rank": f"The manager's rank on {measure.replace('_', ' ')} at the snapshot date "
        f"(1 = best{', the lowest share' if direction == 'ASC' else ''}; ties share a rank)."
        for measure, direction in SCORECARD_RANKS.items()
    }
    return {
        "worth_matrix_grid": (
            _worth_matrix_grid_sql(),
            "The worth matrix as the method prints it: one row per actual-revenue class (5 = the "
            "largest customers) and, for each incremental-revenue class 1 to 5 (5 = the most still to "
            "win), the cell's grade, customers and revenue.",
            _grid_docs(),
        ),
        "call_list": (
            _call_list_sql(),
            "Each account manager's call list: the customers of the early-warning list in the "
            "manager's module, numbered in the order to call them (largest expected loss first).",
            warning_docs
            | {"call_order": "Position in the manager's call list at the snapshot date (1 = call first)."},
        ),
        "scorecard": (
            _scorecard_sql(),
            "The manager scorecard with each manager's rank among the managers on revenue change, "
            "retention, contact coverage and share of customers at risk.",
            scorecard_docs | rank_docs,
        ),
    }
