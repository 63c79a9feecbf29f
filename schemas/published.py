"""Pandera contracts of the published tables (SPEC §12): keys unique and complete, value sets and
ranges. They run as a blocking check on the staged publication before it is swapped in."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

from pipelines.config import GRADES, SEGMENTS  # one definition, shared with the config checks

MOVE_REASONS = ["new", "manager_left", "rebalanced", "kept"]
PEER_LEVELS = ["peer_group", "customer_type", "all"]
EXPOSURE_DIMENSIONS = ["overall", "grade", "manager", "customer_type", "region"]
DRIVER_TYPES = ["reason_code", "medium"]
DRIVER_LABELS = ["dissatisfier", "satisfier", "neutral", "insufficient_support"]
IMPACT_POPULATIONS = ["all", "cohort"]


def _class() -> pa.Column:
    return pa.Column(pl.Int64, pa.Check.isin([1, 2, 3, 4, 5]), nullable=False, coerce=True)


def _share(nullable: bool = True) -> pa.Column:
    return pa.Column(pl.Float64, pa.Check.in_range(0, 1), nullable=nullable, coerce=True)


def _non_negative(dtype=pl.Float64, nullable: bool = True) -> pa.Column:
    return pa.Column(dtype, pa.Check.ge(0), nullable=nullable, coerce=True)


def _grade(nullable: bool = False) -> pa.Column:
    return pa.Column(pl.Utf8, pa.Check.isin(list(GRADES)), nullable=nullable)


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
    # SPEC §7-§11: loyalty, revenue at risk, concentration, contact drivers, early warning,
    # manager scorecard
    "customer_loyalty": _table(
        ["as_of_date", "customer_id"],
        {
            "segment": pa.Column(pl.Utf8, pa.Check.isin(list(SEGMENTS)), nullable=False),
            "grade": _grade(),
            "defection_probability": _share(nullable=False),
            "purchase_occasions_12m": _non_negative(pl.Int64, nullable=False),
            "product_lines_12m": _non_negative(pl.Int64, nullable=False),
            "product_lines_total": _non_negative(pl.Int64, nullable=False),
            "referrals_12m": _non_negative(pl.Int64, nullable=False),
            "referrals_converted_12m": _non_negative(pl.Int64, nullable=False),
            "contacts_12m": _non_negative(pl.Int64, nullable=False),
            "contact_persons_12m": _non_negative(pl.Int64, nullable=False),
            "days_since_last_purchase": _non_negative(pl.Int64),
            "median_gap_days": _non_negative(),
            "repurchased": pa.Column(pl.Boolean, nullable=False),
            "retained": pa.Column(pl.Boolean, nullable=False),
        },
    ),
    "loyalty_summary": _table(
        ["as_of_date"],
        {
            "customers": _non_negative(pl.Int64, nullable=False),
            "retention_rate": _share(),
            "repurchase_rate": _share(),
            "gross_revenue_retention": _share(),
            "net_revenue_retention": _non_negative(),
            "share_2plus_product_lines": _share(),
            "share_3plus_product_lines": _share(),
            **{
                f"{name}_customers": _non_negative(pl.Int64, nullable=False)
                for name in ("secure", "complacent", "at_risk", "defector")
            },
        },
    ),
    "at_risk_exposure": _table(
        ["as_of_date", "dimension", "dimension_value"],
        {
            "dimension": pa.Column(pl.Utf8, pa.Check.isin(EXPOSURE_DIMENSIONS), nullable=False),
            "dimension_value": pa.Column(pl.Utf8, nullable=False),
            "active_customers": _non_negative(pl.Int64, nullable=False),
            "at_risk_customers": _non_negative(pl.Int64, nullable=False),
            "at_risk_share": _share(),
            "expected_loss": pa.Column(pl.Float64, nullable=False, coerce=True),
        },
    ),
    "concentration": _table(
        ["as_of_date"],
        {
            "active_customers": _non_negative(pl.Int64, nullable=False),
            "top_1_share": _share(),
            "top_5_share": _share(),
            "top_10_share": _share(),
            "top_20pct_share": _share(),
            "hhi": pa.Column(pl.Float64, pa.Check.in_range(0, 10000 + 1e-6), nullable=True, coerce=True),
            "effective_customers": _non_negative(),
            "customers_10pct_plus": pa.Column(
                pl.Int64, pa.Check.in_range(0, 10), nullable=False, coerce=True
            ),
        },
    ),
    "contact_drivers": _table(
        ["as_of_date", "driver_type", "driver_value"],
        {
            "driver_type": pa.Column(pl.Utf8, pa.Check.isin(DRIVER_TYPES), nullable=False),
            "driver_value": pa.Column(pl.Utf8, nullable=False),
            "customers_with_contact": pa.Column(pl.Int64, pa.Check.ge(1), nullable=False, coerce=True),
            "at_risk_share_with_contact": _share(nullable=False),
            "at_risk_share_overall": _share(nullable=False),
            "lift": _non_negative(),
            "measured_label": pa.Column(pl.Utf8, pa.Check.isin(DRIVER_LABELS), nullable=False),
            "configured_label": pa.Column(
                pl.Utf8, pa.Check.isin(["dissatisfier", "satisfier", "neutral"]), nullable=True
            ),
        },
    ),
    "early_warning": _table(
        ["as_of_date", "customer_id"],
        {
            "warning_rank": pa.Column(pl.Int64, pa.Check.ge(1), nullable=False, coerce=True),
            "grade": _grade(),
            "defection_probability": _share(nullable=False),
        },
    ),
    # empty until a programme start date is configured (SPEC §2, §8)
    "impact_study": _table(
        ["as_of_date", "population"],
        {
            "population": pa.Column(pl.Utf8, pa.Check.isin(IMPACT_POPULATIONS), nullable=False),
            "baseline_date": pa.Column(pl.Date, nullable=False),
            "active_customers": _non_negative(pl.Int64, nullable=False),
            "at_risk_customers": _non_negative(pl.Int64, nullable=False),
            "at_risk_share": _share(),
            "at_risk_revenue": _non_negative(nullable=False),
            "expected_loss": _non_negative(nullable=False),
        },
    ),
    "manager_scorecard": _table(
        ["as_of_date", "manager_id"],
        {
            "accounts": _non_negative(pl.Int64, nullable=False),
            "contact_coverage": _non_negative(),
            "retention_rate": _share(),
            "at_risk_share": _share(),
        },
    ),
}
