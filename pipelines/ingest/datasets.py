"""The landing datasets of SPEC §1 and the raw tables they load into: one definition, used by
ingestion (to read, validate and load) and by tests (to build small warehouses by hand)."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

LINEAGE_COLUMNS = {
    "_source_file": "VARCHAR",
    "_source_line": "BIGINT",
    "_loaded_at": "TIMESTAMP",
    "_extra": "VARCHAR",
}


@dataclass(frozen=True)
class Dataset:
    """A landing dataset. What happens to a value that is missing or cannot be read depends on
    what the method does with it (SPEC §1): a key or a value a formula needs quarantines the row;
    a descriptive value loads (null, or `unknown` downstream) and is recorded as a data issue."""

    name: str
    columns: dict[str, str]  # column -> DuckDB type, in SPEC order
    required: tuple[str, ...]  # columns a file must have
    key: tuple[str, ...]
    # required columns whose blank value loads (as null) and is recorded as a data issue
    descriptive: tuple[str, ...] = ()
    # optional columns whose blank value, when the file has the column, is a data issue too
    reported_blank: tuple[str, ...] = ()
    # optional typed columns whose unreadable value loads as null (a data issue), not quarantined
    lenient: tuple[str, ...] = ()
    # columns naming the customer a row belongs to: held until that customer is known
    parent_customer_columns: tuple[str, ...] = ()
    required_dataset: bool = False
    # the date that places a row in time (which snapshots it feeds), if any
    date_column: str | None = None

    @property
    def optional(self) -> tuple[str, ...]:
        return tuple(c for c in self.columns if c not in self.required)

    @property
    def needed(self) -> tuple[str, ...]:
        """Required columns whose missing value quarantines the row."""
        return tuple(c for c in self.required if c not in self.descriptive)


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "customers",
            {"customer_id": "VARCHAR", "customer_name": "VARCHAR", "customer_type": "VARCHAR",
             "region": "VARCHAR"},
            required=("customer_id", "customer_name", "customer_type"),
            key=("customer_id",),
            descriptive=("customer_name", "customer_type"),
            reported_blank=("region",),
            required_dataset=True,
        ),
        Dataset(
            "employee_counts",
            {"customer_id": "VARCHAR", "as_of_date": "DATE", "employees": "BIGINT"},
            required=("customer_id", "as_of_date", "employees"),
            key=("customer_id", "as_of_date"),
            parent_customer_columns=("customer_id",),
            date_column="as_of_date",
        ),
        Dataset(
            "revenue",
            {"transaction_id": "VARCHAR", "customer_id": "VARCHAR", "transaction_date": "DATE",
             "product_line": "VARCHAR", "amount": "DECIMAL(18,2)", "margin": "DECIMAL(18,2)"},
            required=("transaction_id", "customer_id", "transaction_date", "product_line", "amount"),
            key=("transaction_id",),
            descriptive=("product_line",),
            lenient=("margin",),
            parent_customer_columns=("customer_id",),
            required_dataset=True,
            date_column="transaction_date",
        ),
        Dataset(
            "contacts",
            {"contact_id": "VARCHAR", "customer_id": "VARCHAR", "contact_date": "TIMESTAMP",
             "manager_id": "VARCHAR", "medium": "VARCHAR", "direction": "VARCHAR",
             "reason_code": "VARCHAR", "contact_person": "VARCHAR"},
            required=("contact_id", "customer_id", "contact_date", "medium"),
            key=("contact_id",),
            descriptive=("medium",),
            parent_customer_columns=("customer_id",),
            date_column="contact_date",
        ),
        Dataset(
            "referrals",
            {"referral_id": "VARCHAR", "referrer_customer_id": "VARCHAR", "referral_date": "DATE",
             "referred_customer_id": "VARCHAR"},
            required=("referral_id", "referrer_customer_id", "referral_date"),
            key=("referral_id",),
            parent_customer_columns=("referrer_customer_id",),
            date_column="referral_date",
        ),
        Dataset(
            "account_managers",
            {"manager_id": "VARCHAR", "manager_name": "VARCHAR", "active_from": "DATE",
             "active_to": "DATE", "capacity": "DOUBLE"},
            required=("manager_id", "manager_name", "active_from"),
            key=("manager_id",),
            descriptive=("manager_name",),
            date_column="active_from",
        ),
        Dataset(
            "assignments",
            {"customer_id": "VARCHAR", "manager_id": "VARCHAR"},
            required=("customer_id", "manager_id"),
            key=("customer_id",),
            parent_customer_columns=("customer_id",),
        ),
        Dataset(
            "assignment_pins",
            {"customer_id": "VARCHAR", "manager_id": "VARCHAR", "reason": "VARCHAR",
             "valid_from": "DATE", "valid_to": "DATE"},
            required=("customer_id", "manager_id", "valid_from"),
            key=("customer_id", "valid_from"),
            parent_customer_columns=("customer_id",),
            date_column="valid_from",
        ),
    )
}  # fmt: skip

# Load order: parents before children (a child row whose customer is not known yet is held in
# its raw table and counts once the customer arrives, whatever the order).
LOAD_ORDER = ("customers", "account_managers", "employee_counts", "revenue", "contacts",
              "referrals", "assignments", "assignment_pins")  # fmt: skip

BOOKKEEPING_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE TABLE IF NOT EXISTS raw.quarantine (
    dataset VARCHAR, source_file VARCHAR, line_number BIGINT, column_name VARCHAR,
    reason VARCHAR, record VARCHAR, quarantined_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS raw.ingest_log (
    dataset VARCHAR, source_file VARCHAR, file_sha256 VARCHAR, file_bytes BIGINT,
    status VARCHAR, rows_read BIGINT, rows_loaded BIGINT, rows_quarantined BIGINT,
    rows_replaced BIGINT, message VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS raw.row_replacements (
    dataset VARCHAR, row_key VARCHAR, previous_source_file VARCHAR, previous_source_line BIGINT,
    new_source_file VARCHAR, new_source_line BIGINT, replaced_at TIMESTAMP);
ALTER TABLE raw.row_replacements ADD COLUMN IF NOT EXISTS previous_date DATE;
CREATE TABLE IF NOT EXISTS raw.data_issues (
    dataset VARCHAR, source_file VARCHAR, line_number BIGINT, column_name VARCHAR,
    issue VARCHAR, recorded_at TIMESTAMP);
"""


def raw_table_ddl(dataset: Dataset) -> str:
    columns = {**dataset.columns, **LINEAGE_COLUMNS}
    body = ", ".join(f"{name} {type_}" for name, type_ in columns.items())
    # a column a later version added (e.g. account_managers.capacity) joins an existing table
    added = "".join(
        f"; ALTER TABLE raw.{dataset.name} ADD COLUMN IF NOT EXISTS {name} {type_}"
        for name, type_ in columns.items()
    )
    return f"CREATE TABLE IF NOT EXISTS raw.{dataset.name} ({body}){added}"


def create_raw_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Create every raw and bookkeeping table that does not exist yet (idempotent). A raw table that
    is a view over Spark's Parquet (pipelines/ingest/storage.py) is left as it is."""
    con.execute(BOOKKEEPING_DDL)
    views = {
        name
        for (name,) in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
            "AND schema_name = 'raw'"
        ).fetchall()
    }
    for dataset in DATASETS.values():
        if dataset.name not in views:
            con.execute(raw_table_ddl(dataset))
