"""Row rules: each landing row typed into its raw-table columns, and the first rule it breaks
(SPEC §1). Vectorised polars expressions; reasons are built only for the few broken rows."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.core.vocabulary import DIRECTIONS, MEDIA
from pipelines.ingest.contract import polars_type
from pipelines.ingest.datasets import Dataset
from pipelines.ingest.readers import LINE

RULE, RULE_TYPE = "__rule__", pl.UInt8  # index of the first broken row rule, null when valid
FIRST_LINE = "__first_line__"  # the first valid line of the row's key (duplicate rule only)
PRESENT = "__present__"  # prefix: the file gave a non-blank value for a typed column
TEXT = "__text__"  # prefix: the stripped raw text of a typed column, for reasons
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M",
                     "%Y-%m-%d %H:%M")  # fmt: skip
LOWER_CASE = ("medium", "direction")  # code lists compared and stored lower-case


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    """Stripped text of a raw value; empty means missing."""
    value = pl.col(column) if dtype == pl.String else pl.col(column).cast(pl.String)
    value = value.str.strip_chars()
    return pl.when(value.str.len_bytes() > 0).then(value)


def _typed(column: str, duck_type: str, dtype: pl.DataType) -> pl.Expr:
    """The value in its raw-table type; null where the text does not parse."""
    raw, text = pl.col(column), _text(column, dtype)
    if duck_type == "VARCHAR":
        return text
    if duck_type == "DATE":
        if dtype == pl.Date:
            return raw
        if isinstance(dtype, pl.Datetime):
            return raw.dt.date()
        return text.str.to_date("%Y-%m-%d", strict=False)
    if duck_type == "TIMESTAMP":
        return _timestamp(raw, text, dtype)
    if duck_type.startswith("DECIMAL"):
        source = raw if dtype.is_numeric() else text
        return source.cast(polars_type(duck_type), strict=False)
    if duck_type == "BIGINT":
        if dtype.is_integer():
            return raw.cast(pl.Int64, strict=False)  # out-of-range unsigned: quarantined
        number = (raw if dtype.is_numeric() else text).cast(pl.Float64, strict=False)
        whole = number.is_finite() & (number == number.round()) & (number.abs() < 2**53)
        integer = text.cast(pl.Int64, strict=False) if dtype == pl.String else pl.lit(None)
        return pl.coalesce(integer, pl.when(whole).then(number.cast(pl.Int64, strict=False)))
    raise ValueError(f"no parser for raw type {duck_type}")


def _timestamp(raw: pl.Expr, text: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    # contacts.contact_date may be a date or a timestamp; zoned values are stored as UTC.
    if dtype == pl.Date:
        return raw.cast(pl.Datetime("us"))
    if isinstance(dtype, pl.Datetime):
        if dtype.time_zone is not None:
            raw = raw.dt.convert_time_zone("UTC").dt.replace_time_zone(None)
        return raw.dt.cast_time_unit("us")
    parsed = [text.str.to_datetime(f, strict=False, time_unit="us") for f in TIMESTAMP_FORMATS]
    zoned = text.str.to_datetime("%Y-%m-%dT%H:%M:%S%.f%#z", strict=False, time_unit="us")
    return pl.coalesce(
        *parsed,
        text.str.to_date("%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
        zoned.dt.convert_time_zone("UTC").dt.replace_time_zone(None),
    )


@dataclass(frozen=True)
class Rule:
    column: str
    broken: pl.Expr  # true where the row breaks the rule; over typed columns and PRESENT flags
    reason: pl.Expr  # text; evaluated on the broken rows only, where TEXT columns exist


def _text_of(dataset: Dataset, column: str) -> pl.Expr:
    """The stripped raw text column (a VARCHAR column is its own text)."""
    return pl.col(column if dataset.columns[column] == "VARCHAR" else TEXT + column)


def _present(dataset: Dataset, column: str) -> pl.Expr:
    """True where the file gave a non-blank value (a VARCHAR column is null when blank)."""
    if dataset.columns[column] == "VARCHAR":
        return pl.col(column).is_not_null()
    return pl.col(PRESENT + column)


def _presence_flag(column: str, dtype: pl.DataType, in_file: bool) -> pl.Expr:
    # A typed source value (Parquet) is never blank: only text needs stripping to know.
    if not in_file:
        return pl.lit(False)
    if dtype == pl.String:
        return _text(column, dtype).is_not_null()
    return pl.col(column).is_not_null()


def _bad_value_reason(column: str, duck_type: str) -> pl.Expr:
    text = pl.col(TEXT + column)
    if duck_type in ("DATE", "TIMESTAMP"):
        return pl.format("bad date '{}'", text)
    if duck_type == "BIGINT":
        return pl.format(f"{column} not an integer '{{}}'", text)
    return pl.format(f"non-numeric {column} '{{}}'", text)


def row_rules(dataset: Dataset, known_customers: pl.Series | None) -> list[Rule]:
    """SPEC §1 row rules in priority order (the first broken one is the reason). `broken` reads
    the typed columns and PRESENT+column flags; `reason` also reads TEXT+column (the stripped raw
    text), which is only computed for the few broken rows."""
    text = {c: _text_of(dataset, c) for c in dataset.columns}
    rules = [Rule(c, ~_present(dataset, c), pl.lit(f"missing {c}")) for c in dataset.required]
    rules += [
        Rule(c, pl.col(PRESENT + c) & pl.col(c).is_null(), _bad_value_reason(c, t))
        for c, t in dataset.columns.items()
        if t != "VARCHAR"
    ]
    columns = dataset.columns
    if "employees" in columns:
        rules.append(
            Rule(
                "employees",
                pl.col("employees") <= 0,
                pl.format("employees must be > 0, got '{}'", text["employees"]),
            )
        )
    if "medium" in columns:
        rules.append(
            Rule(
                "medium",
                ~pl.col("medium").is_in(MEDIA),
                pl.format("unknown medium '{}'", text["medium"]),
            )
        )
    if "direction" in columns:
        rules.append(
            Rule(
                "direction",
                ~pl.col("direction").is_in(DIRECTIONS),
                pl.format("unknown direction '{}'", text["direction"]),
            )
        )
    if {"active_from", "active_to"} <= columns.keys():
        rules.append(
            Rule(
                "active_to",
                pl.col("active_to") <= pl.col("active_from"),
                pl.format(
                    "active_to '{}' not after active_from '{}'",
                    text["active_to"],
                    text["active_from"],
                ),
            )
        )
    if known_customers is not None:
        known = known_customers.implode()
        rules += [
            Rule(
                c,
                pl.col(c).is_not_null() & ~pl.col(c).is_in(known),
                pl.format(f"unknown {c} '{{}}'", pl.col(c)),
            )
            for c in dataset.parent_customer_columns
        ]
    return rules


def _duplicate_rule(dataset: Dataset) -> Rule:
    """Later rows of a key already seen (among rows passing the other rules) in this file.
    Needs FIRST_LINE, the key's first valid line (see `_mark_duplicates`)."""
    key_text = pl.concat_str([_text_of(dataset, k) for k in dataset.key], separator="|")
    label = dataset.key[0] if len(dataset.key) == 1 else f"key ({', '.join(dataset.key)})"
    reason = pl.format(f"duplicate {label} '{{}}' (first at line {{}})", key_text, FIRST_LINE)
    duplicate = pl.col(RULE).is_null() & (pl.col(LINE) != pl.col(FIRST_LINE))
    return Rule(", ".join(dataset.key), duplicate, reason)


def _first_broken(rules: list[Rule]) -> pl.Expr:
    # `broken` may be null (null compared): only a true value breaks the rule.
    index = (pl.when(r.broken.fill_null(False)).then(pl.lit(i, RULE_TYPE)) for i, r in enumerate(rules))
    return pl.coalesce(index).alias(RULE)


def _explain(rules: list[Rule]) -> tuple[pl.Expr, pl.Expr]:
    """(column_name, reason) of each row's broken rule RULE."""
    column = pl.coalesce(pl.when(pl.col(RULE) == i).then(pl.lit(r.column)) for i, r in enumerate(rules))
    reason = pl.coalesce(pl.when(pl.col(RULE) == i).then(r.reason) for i, r in enumerate(rules))
    return column.alias("column_name"), reason.alias("reason")


def _may_have_duplicate_keys(checked: pl.DataFrame, dataset: Dataset) -> bool:
    # Counting distinct key hashes is much cheaper than the windowed rule (and ~8x cheaper than
    # counting distinct strings): run the rule only when needed. Distinct hashes imply distinct
    # keys; a hash collision merely runs the exact rule, which then finds no duplicate.
    valid = pl.col(RULE).is_null()
    key = pl.struct(dataset.key) if len(dataset.key) > 1 else pl.col(dataset.key[0])
    distinct, valid_rows, invalid_rows = checked.select(
        pl.when(valid).then(key).hash().n_unique().alias("distinct"),
        valid.sum().alias("valid"),
        (~valid).sum().alias("invalid"),
    ).row(0)
    return distinct < valid_rows + (1 if invalid_rows else 0)


def _mark_duplicates(checked: pl.DataFrame, dataset: Dataset, rule: Rule, index: int) -> pl.DataFrame:
    first_line = pl.when(pl.col(RULE).is_null()).then(pl.col(LINE)).min().over(dataset.key)
    return checked.with_columns(first_line.alias(FIRST_LINE)).with_columns(
        pl.when(rule.broken).then(pl.lit(index, RULE_TYPE)).otherwise(pl.col(RULE)).alias(RULE)
    )


def _json_of(columns: list[str], schema: pl.Schema) -> pl.Expr:
    fields = [pl.col(c) if schema[c].is_nested() else pl.col(c).cast(pl.String) for c in columns]
    return pl.struct(fields).struct.json_encode()


def clean_frame(
    frame: pl.DataFrame, dataset: Dataset, rel: str, known_customers: pl.Series | None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split a file's frame (as read, plus LINE) into (valid rows in raw-table shape, quarantine
    rows: line_number, column_name, reason, record).

    Two passes: every row gets its typed values and the index of its first broken rule; only the
    broken rows (usually few) get their raw text and reason strings."""
    file_columns = [c for c in frame.columns if c != LINE]
    extras = [c for c in file_columns if c not in dataset.columns]
    schema = frame.schema
    dtypes = {c: schema.get(c, pl.String()) for c in dataset.columns}
    typed_columns = [c for c, t in dataset.columns.items() if t != "VARCHAR"]
    rules = row_rules(dataset, known_customers)
    checked = (
        frame.lazy()
        .select(
            *(
                (_typed(c, t, dtypes[c]) if c in schema else pl.lit(None, polars_type(t))).alias(c)
                for c, t in dataset.columns.items()
            ),
            *(_presence_flag(c, dtypes[c], c in schema).alias(PRESENT + c) for c in typed_columns),
            pl.col(LINE),
            (_json_of(extras, schema) if extras else pl.lit(None, pl.String)).alias("_extra"),
        )
        .with_columns(pl.col(c).str.to_lowercase() for c in LOWER_CASE if c in dtypes)
        .with_columns(_first_broken(rules))
        .collect()
    )
    if _may_have_duplicate_keys(checked, dataset):
        rules.append(_duplicate_rule(dataset))
        checked = _mark_duplicates(checked, dataset, rules[-1], len(rules) - 1)
    bad = checked.get_column(RULE).is_not_null()
    valid = checked.filter(~bad).select(
        *dataset.columns,
        pl.lit(rel, pl.String).alias("_source_file"),
        pl.col(LINE).alias("_source_line"),
        "_extra",
    )
    bad_rows = frame.filter(bad)
    explained = checked.filter(bad).hstack(
        [
            (
                bad_rows.select(_text(c, dtypes[c])).to_series()
                if c in schema
                else pl.repeat(None, bad_rows.height, dtype=pl.String, eager=True)
            ).alias(TEXT + c)
            for c in typed_columns
        ]
    )
    quarantine = explained.select(
        pl.col(LINE).alias("line_number"),
        *_explain(rules),
        bad_rows.select(_json_of(file_columns, schema)).to_series().alias("record"),
    )
    return valid, quarantine


