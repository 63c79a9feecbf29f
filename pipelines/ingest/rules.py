"""Row rules: each landing row typed into its raw-table columns, then judged (SPEC §1).

Only a broken key or a value a formula needs quarantines a row: a missing or malformed key, a
date or amount that does not parse, employees <= 0, an unknown medium, an empty activity period,
a key repeated in the file. A missing descriptive value (a customer's name or type, a product
line, ...) or an unreadable optional one (a margin) does not: the row loads, the value as null
(counted as `unknown` downstream where it groups customers), and each gap becomes a data issue.
Vectorised polars expressions; reason and issue texts are built only for the few rows that have
one."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipelines.core.vocabulary import DIRECTIONS, MEDIA
from pipelines.ingest.contract import PERIODS, key_value, polars_type
from pipelines.ingest.datasets import Dataset
from pipelines.ingest.readers import LINE

RULE, RULE_TYPE = "__rule__", pl.UInt8  # index of the first broken row rule, null when valid
FIRST_LINE = "__first_line__"  # the first valid line of the row's key (duplicate rule only)
PRESENT = "__present__"  # prefix: the file gave a non-blank value for a typed column
TEXT = "__text__"  # prefix: the stripped raw text of a typed column, for reasons
TIMESTAMP_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M",
                     "%Y-%m-%d %H:%M")  # fmt: skip
LOWER_CASE = ("medium", "direction")  # code lists compared and stored lower-case
QUOTED_EXAMPLES = 3  # quarantine reasons or data issues quoted in a file's report message
# Rows judged at a time: the typed copies, flags and texts of a 13M-row file (~2 GB while computed)
# are held a slice at a time (see `clean_file`).
SLICE_ROWS = 2_000_000


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
    if duck_type.startswith("DECIMAL") or duck_type == "DOUBLE":
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
    """A rule that quarantines the row it breaks."""

    column: str
    broken: pl.Expr  # true where the row breaks the rule; over typed columns and PRESENT flags
    reason: pl.Expr  # text; evaluated on the broken rows only, where TEXT columns exist


@dataclass(frozen=True)
class Issue:
    """A gap that loads with the row and is recorded as a data issue."""

    column: str
    found: pl.Expr  # true where the row has the gap; over typed columns and PRESENT flags
    text: pl.Expr  # what is wrong and what was done; evaluated where TEXT columns exist
    null_value: bool = False  # the loaded row carries null instead of the value


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


def _unreadable(column: str) -> pl.Expr:
    """The file gave a value that does not parse into the column's type."""
    return pl.col(PRESENT + column) & pl.col(column).is_null()


def row_rules(dataset: Dataset) -> list[Rule]:
    """The quarantine rules in priority order (the first broken one is the reason). `broken`
    reads the typed columns and PRESENT+column flags; `reason` also reads TEXT+column (the stripped
    raw text), which is only computed for the few broken rows."""
    text = {c: _text_of(dataset, c) for c in dataset.columns}
    columns = dataset.columns
    rules = [Rule(c, ~_present(dataset, c), pl.lit(f"missing {c}")) for c in dataset.needed]
    rules += [
        Rule(c, _unreadable(c), _bad_value_reason(c, t))
        for c, t in columns.items()
        if t != "VARCHAR" and c not in dataset.lenient
    ]
    for positive in ("employees", "capacity"):
        if positive in columns:
            reason = pl.format(f"{positive} must be > 0, got '{{}}'", text[positive])
            rules.append(Rule(positive, pl.col(positive) <= 0, reason))
    if "medium" in columns:
        unknown = pl.col("medium").is_not_null() & ~pl.col("medium").is_in(MEDIA)
        rules.append(Rule("medium", unknown, pl.format("unknown medium '{}'", text["medium"])))
    for start, end in PERIODS:
        if {start, end} <= columns.keys():
            reason = pl.format(f"{end} '{{}}' not after {start} '{{}}'", text[end], text[start])
            rules.append(Rule(end, pl.col(end) <= pl.col(start), reason))
    return rules


# What loading a gap means, in the words of the data-issues table.
_BLANK_EFFECT = {
    "customer_type": "counted as 'unknown'",
    "region": "counted as 'unknown'",
    "product_line": "counts in revenue, adds no product line",
}


def row_issues(dataset: Dataset, in_file: set[str]) -> list[Issue]:
    """The data-issue rules: every gap a loaded row may carry (a row can have several)."""
    columns = dataset.columns
    blank = [c for c in dataset.descriptive] + [c for c in dataset.reported_blank if c in in_file]
    issues = [
        Issue(c, ~_present(dataset, c), pl.lit(f"missing {c} ({_BLANK_EFFECT.get(c, 'loaded as null')})"))
        for c in blank
    ]
    issues += [
        Issue(c, _unreadable(c), _bad_value_reason(c, columns[c]) + pl.lit(" (loaded as null)"), True)
        for c in dataset.lenient
    ]
    if "direction" in columns:
        unknown = pl.col("direction").is_not_null() & ~pl.col("direction").is_in(DIRECTIONS)
        text = pl.format("unknown direction '{}' (loaded as null)", _text_of(dataset, "direction"))
        issues.append(Issue("direction", unknown, text, null_value=True))
    return issues


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
    key = key_value(dataset)
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


def _with_texts(checked: pl.DataFrame, raw: pl.DataFrame, dtypes: dict, typed: list[str]) -> pl.DataFrame:
    """`checked` rows with the stripped raw text of every typed column (TEXT+column), from the same
    rows of the file as read. Rechunked first: polars 2.1 can panic (`i < self.len()`) formatting
    strings of a frame filtered down to a few rows of a Parquet file."""
    schema = raw.schema
    texts = [
        (
            raw.select(_text(c, dtypes[c])).to_series()
            if c in schema
            else pl.repeat(None, raw.height, dtype=pl.String, eager=True)
        ).alias(TEXT + c)
        for c in typed
    ]
    return checked.rechunk().hstack(texts)


def _issue_rows(issues: list[Issue], rows: pl.DataFrame) -> pl.DataFrame:
    """One row per (row, issue) for `rows` (which have TEXT columns): line_number, column, issue."""
    found = [
        rows.filter(issue.found.fill_null(False)).select(
            pl.col(LINE).alias("line_number"),
            pl.lit(issue.column).alias("column_name"),
            issue.text.alias("issue"),
        )
        for issue in issues
    ]
    return pl.concat(found).sort("line_number", "column_name") if found else _NO_ISSUES


_NO_ISSUES = pl.DataFrame(schema={"line_number": pl.Int64, "column_name": pl.String, "issue": pl.String})


@dataclass(frozen=True)
class CleanFile:
    valid: pl.DataFrame  # the rows to load, in raw-table shape with lineage
    quarantine: pl.DataFrame  # line_number, column_name, reason, record
    issues: pl.DataFrame  # line_number, column_name, issue (of loaded rows)


def clean_frame(frame: pl.DataFrame, dataset: Dataset, rel: str, keys_repeat: bool = True) -> CleanFile:
    """Judge a file's frame (as read, plus LINE): the rows to load, the rows to quarantine, and
    the data issues of the loaded rows. `keys_repeat=False`: the caller found that no key repeats in
    the frame, so the duplicate rule cannot break and is not looked for.

    Two passes: every row gets its typed values, the index of its first broken rule and a flag per
    data issue; only the rows with a reason or an issue (usually few) get their raw text."""
    file_columns = [c for c in frame.columns if c != LINE]
    extras = [c for c in file_columns if c not in dataset.columns]
    schema = frame.schema
    dtypes = {c: schema.get(c, pl.String()) for c in dataset.columns}
    typed_columns = [c for c, t in dataset.columns.items() if t != "VARCHAR"]
    rules = row_rules(dataset)
    issues = row_issues(dataset, set(file_columns))
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
    if keys_repeat and _may_have_duplicate_keys(checked, dataset):
        rules.append(_duplicate_rule(dataset))
        checked = _mark_duplicates(checked, dataset, rules[-1], len(rules) - 1)
    bad = checked.get_column(RULE).is_not_null()
    explained = _with_texts(checked.filter(bad), frame.filter(bad), dtypes, typed_columns)
    quarantine = explained.select(
        pl.col(LINE).alias("line_number"),
        *_explain(rules),
        frame.filter(bad).select(_json_of(file_columns, schema)).to_series().alias("record"),
    )
    loaded = checked.filter(~bad)
    gaps = pl.any_horizontal(issue.found.fill_null(False) for issue in issues) if issues else pl.lit(False)
    has_gap = loaded.select(gaps).to_series()
    if has_gap.any():
        gap_rows = _with_texts(
            loaded.filter(has_gap), frame.filter(~bad).filter(has_gap), dtypes, typed_columns
        )
        found = _issue_rows(issues, gap_rows)
    else:
        found = _NO_ISSUES
    nulled = [
        pl.when(issue.found.fill_null(False)).then(None).otherwise(pl.col(issue.column)).alias(issue.column)
        for issue in issues
        if issue.null_value
    ]
    valid = loaded.with_columns(nulled).select(
        *dataset.columns,
        pl.lit(rel, pl.String).alias("_source_file"),
        pl.col(LINE).alias("_source_line"),
        "_extra",
    )
    return CleanFile(valid, quarantine, found)


def _repeats_a_key(frame: pl.DataFrame, dataset: Dataset, rows: int) -> bool:
    """Whether two rows of the file may share a key (typed as loaded; rows with a null key apart),
    whatever rules they break. Hashes of the keys, a slice at a time; a collision only says yes."""
    schema = frame.schema
    typed = [_typed(k, dataset.columns[k], schema.get(k, pl.String())).alias(k) for k in dataset.key]
    key = key_value(dataset)
    complete = pl.all_horizontal(pl.col(k).is_not_null() for k in dataset.key)
    hashes = pl.concat(
        frame.slice(offset, rows).select(typed).filter(complete).select(key.hash()).to_series()
        for offset in range(0, frame.height, rows)
    )
    return hashes.n_unique() < hashes.len()


def clean_file(frame: pl.DataFrame, dataset: Dataset, rel: str, rows: int = SLICE_ROWS) -> CleanFile:
    """`clean_frame` of a whole file, a slice of `rows` rows at a time when that judges every row
    as the whole file would: the one file-wide rule, a key repeated in the file, cannot break when
    no key repeats (a file that repeats one is judged whole). Only the slices' results are kept."""
    if frame.height <= rows or _repeats_a_key(frame, dataset, rows):
        return clean_frame(frame, dataset, rel)
    slices = [
        clean_frame(frame.slice(offset, rows), dataset, rel, keys_repeat=False)
        for offset in range(0, frame.height, rows)
    ]
    return CleanFile(*(
        pl.concat(parts, rechunk=False)
        for parts in zip(*((s.valid, s.quarantine, s.issues) for s in slices), strict=True)
    ))  # fmt: skip


def quote_examples(frame: pl.DataFrame, text: str) -> str:
    """The first few `text`s of quarantined rows or data issues, for a file's report message."""
    examples = frame.head(QUOTED_EXAMPLES).select("line_number", text).rows()
    return " (" + "; ".join(f"line {n}: {r}" for n, r in examples) + ")" if examples else ""
