"""Pandera contracts of the published tables (SPEC §12): keys unique and complete, value sets and
ranges. They run as a blocking check on the staged publication before it is swapped in."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

GRADES = ["AA", "A", "B", "C", "D"]
MOVE_REASONS = ["new", "manager_left", "rebalanced", "kept"]
PEER_LEVELS = ["peer_group", "customer_type", "all"]


def _class() -> pa.Column:
    return pa.Column(pl.Int64, pa.Check.isin([1, 2, 3, 4, 5]), nullable=False, coerce=True)


def _share(nullable: bool = True) -> pa.Column:
    return pa.Column(pl.Float64, pa.Check.in_range(0, 1), nullable=nullable, coerce=True)


def _non_negative(dtype=pl.Float64, nullable: bool = True) -> pa.Column:
    return pa.Column(dtype, pa.Check.ge(0), nullable=nullable, coerce=True)


def _grade(nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Utf8, pa.Check.isin(GRADES), nullable=nullable)


def _table(key: list[str], columns: dict[str, pa.Column]) -> pa.DataFrameSchema:
    key_columns = {name: pa.Column(nullable=False) for name in key if name not in columns}
    return pa.DataFrameSchema({**key_columns, **columns}, unique=key, strict=False)


PUBLISHED_CONTRACTS: dict[str, pa.DataFrameSchema] = {
    "customer_worth": _table(
        ["as_of_date", "customer_id"],
        {
            "actual_class": _class(),
            "incremental_class": _class(),
            "grade": _grade(),
            "incremental_revenue": _non_negative(nullable=False),
            "potential_revenue": _non_negative(),
            "achievement_probability": _share(nullable=False),
            "expected_incremental_revenue": _non_negative(nullable=False),
            "peer_group_level": pa.Column(pl.Utf8, pa.Check.isin(PEER_LEVELS), nullable=True),
        },
    ),
    "best_in_class": _table(["as_of_date", "customer_type", "size_band"], {}),
    "worth_matrix": _table(
        ["as_of_date", "actual_class", "incremental_class"],
        {"grade": _grade(), "customers": _non_negative(pl.Int64, nullable=False)},
    ),
    "incremental_class_bands": _table(
        ["as_of_date", "incremental_class"],
        {"target_share": _share(nullable=False), "realised_share": _share()},
    ),
    "contact_economics": _table(["as_of_date"], {}),
    "contact_economics_by_grade": _table(["as_of_date", "grade"], {"grade": _grade()}),
    "module_assignments": _table(
        ["as_of_date", "customer_id"],
        {
            "manager_id": pa.Column(pl.Utf8, nullable=False),
            "grade": _grade(),
            "move_reason": pa.Column(pl.Utf8, pa.Check.isin(MOVE_REASONS), nullable=False),
        },
    ),
    "modules": _table(["as_of_date", "manager_id"], {"utilisation": _non_negative(nullable=False)}),
}
