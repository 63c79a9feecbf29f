"""Pandera contracts for the VALID rows of each landing dataset (SPEC §1), as ingestion hands them
to DuckDB: typed, required values present, domain rules hold, one row per key.

Ingestion applies its row rules first (bad rows go to quarantine), then validates what is left
against these contracts; a violation here means the row rules missed something, which is a bug.
Built from `pipelines.ingest.datasets.DATASETS`, so a column added there is checked here too."""

from __future__ import annotations

from functools import cache

import pandera.polars as pa
import polars as pl

from pipelines.core.vocabulary import DIRECTIONS, MEDIA
from pipelines.ingest.datasets import DATASETS, Dataset

# DuckDB raw type -> the polars type of the cleaned column (Arrow maps it 1:1 onto the raw table).
POLARS_TYPES: dict[str, pl.DataType] = {
    "VARCHAR": pl.String(),
    "DATE": pl.Date(),
    "TIMESTAMP": pl.Datetime("us"),
    "BIGINT": pl.Int64(),
    "DECIMAL(18,2)": pl.Decimal(18, 2),
    "DOUBLE": pl.Float64(),
}

# Lineage columns the cleaned frame carries (`_loaded_at` is added in SQL at load time).
LINEAGE_TYPES: dict[str, pl.DataType] = {
    "_source_file": pl.String(),
    "_source_line": pl.Int64(),
    "_extra": pl.String(),
}


def polars_type(duckdb_type: str) -> pl.DataType:
    return POLARS_TYPES[duckdb_type]


def _column_checks(column: str) -> list[pa.Check]:
    if column in ("employees", "capacity"):
        return [pa.Check.gt(0)]
    if column == "medium":
        return [pa.Check.isin(MEDIA)]
    if column == "direction":
        return [pa.Check.isin(DIRECTIONS)]
    return []


PERIODS = (("active_from", "active_to"), ("valid_from", "valid_to"))  # (start, exclusive end)


def _period_ok(start: str, end: str):
    def check(data: pa.PolarsData) -> pl.LazyFrame:
        # the end is exclusive, so an empty or inverted period cannot be a valid row
        return data.lazyframe.select(pl.col(end).is_null() | (pl.col(end) > pl.col(start)))

    return check


def key_value(dataset: Dataset) -> pl.Expr:
    """The dataset's key as one value (a struct when it has several columns), for hashing."""
    return pl.struct(dataset.key) if len(dataset.key) > 1 else pl.col(dataset.key[0])


def _one_row_per_key(dataset: Dataset):
    key, keyed = list(dataset.key), key_value(dataset)

    def check(data: pa.PolarsData) -> pl.LazyFrame:
        # Distinct key hashes == rows proves uniqueness at a seventh of the cost of comparing
        # strings (pandera's `unique=`); otherwise every row of a repeated key fails. Counted on
        # the collected key columns: the lazy engine's distinct count of 13M revenue keys held
        # 0.84 GB more and took twice as long as the eager one's (0.21 GB).
        keys = data.lazyframe.select(key).collect()
        if keys.select(keyed.hash().n_unique() == pl.len()).item():
            return pl.LazyFrame({"one_row_per_key": [True]})
        return keys.lazy().select(~keyed.is_duplicated())

    return check


def _frame_checks(dataset: Dataset) -> list[pa.Check]:
    key = list(dataset.key)
    checks = [pa.Check(_one_row_per_key(dataset), error=f"one row per key ({', '.join(key)})")]
    for start, end in PERIODS:
        if {start, end} <= dataset.columns.keys():
            checks.append(pa.Check(_period_ok(start, end), error=f"{end} must be after {start}"))
    return checks


@cache
def landing_contract(name: str) -> pa.DataFrameSchema:
    """The contract of the cleaned (valid) rows of dataset `name`."""
    dataset = DATASETS[name]
    columns = {
        column: pa.Column(
            polars_type(type_),
            checks=_column_checks(column),
            nullable=column not in dataset.needed,
        )
        for column, type_ in dataset.columns.items()
    }
    columns |= {
        column: pa.Column(type_, nullable=column == "_extra") for column, type_ in LINEAGE_TYPES.items()
    }
    return pa.DataFrameSchema(
        columns,
        checks=_frame_checks(dataset),
        strict=True,
        name=f"landing.{name}",
    )


def validate_valid_rows(name: str, frame: pl.DataFrame) -> pl.DataFrame:
    """Raise `pandera.errors.SchemaErrors` when `frame` breaks the contract of `name`."""
    return landing_contract(name).validate(frame, lazy=True)


CONTRACTS: dict[str, pa.DataFrameSchema] = {name: landing_contract(name) for name in DATASETS}
