"""Reading one landing file into a polars frame, or rejecting it whole with the file, line and
column a person can act on (SPEC §1: a file that cannot be parsed or lacks a required column is
rejected; nothing of it loads)."""

from __future__ import annotations

import csv
import io
import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.ingest.datasets import Dataset

LINE = "__line__"  # physical line (CSV) or 1-based row number (Parquet) while cleaning
UTF8_CHUNK = 1 << 26  # validate UTF-8 in 64 MiB slices so big files need no full str copy


@dataclass(frozen=True)
class Rejection:
    file: str  # relative to the landing dir, posix
    line: int | None  # None when the format has no lines (Parquet)
    column: str | None
    reason: str

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"{self.file}: {where}{self.reason}"


class RejectFile(Exception):
    """Internal: raised while reading a file that must be rejected whole."""

    def __init__(self, rejection: Rejection):
        super().__init__(str(rejection))
        self.rejection = rejection


# --- reading: column names ---------------------------------------------------------------------


def normalise_columns(header: Sequence[str], dataset: Dataset, rel: str, line: int | None) -> list[str]:
    """Lower-cased, stripped names; reject duplicates and missing required columns."""
    names = [name.strip().lower() for name in header]
    seen: set[str] = set()
    for name in names:
        if name in seen:
            reason = f"duplicate column '{name}' (column names are case-insensitive)"
            raise RejectFile(Rejection(rel, line, name, reason))
        seen.add(name)
    missing = [c for c in dataset.required if c not in seen]
    if missing:
        quoted = ", ".join(f"'{c}'" for c in missing)
        reason = f"missing required column{'s' if len(missing) > 1 else ''} {quoted}"
        raise RejectFile(Rejection(rel, line, missing[0], reason + _delimiter_hint(names)))
    return names


def _delimiter_hint(names: list[str]) -> str:
    # A `;`- or tab-separated file parses as one wide column: say so, it is the usual cause.
    if len(names) == 1:
        for sep, label in ((";", "';'"), ("\t", "tab"), ("|", "'|'")):
            if sep in names[0]:
                return f" (the header is {label}-separated; files must be comma-separated)"
    return ""


# --- reading: CSV ------------------------------------------------------------------------------


def invalid_utf8_offset(data: bytes) -> int | None:
    """Byte offset of the first invalid UTF-8 sequence, or None."""
    view, start, size = memoryview(data), 0, len(data)
    while start < size:
        end = min(start + UTF8_CHUNK, size)
        for _ in range(3):  # never cut a multi-byte character in two
            if end < size and data[end] & 0xC0 == 0x80:
                end -= 1
        try:
            str(view[start:end], "utf-8")
        except UnicodeDecodeError as exc:
            return start + exc.start
        start = end
    return None


def _utf8_rejection(data: bytes, offset: int, rel: str) -> Rejection:
    line = data.count(b"\n", 0, offset) + 1
    line_start = data.rfind(b"\n", 0, offset) + 1
    reason = f"invalid UTF-8 byte 0x{data[offset]:02x}"
    if line == 1:
        return Rejection(rel, 1, None, reason + " in the header")
    header_end = data.find(b"\n")
    header = next(csv.reader([data[:header_end].decode("utf-8-sig", "replace")]), [])
    prefix = data[line_start:offset].decode("utf-8", "replace")
    index = max(len(next(csv.reader([prefix]), [])) - 1, 0)
    column = header[index].strip().lower() if index < len(header) else None
    return Rejection(rel, line, column, reason + (f" in column '{column}'" if column else ""))


def _parses(data: bytes) -> bool:
    try:
        pl.read_csv(data, infer_schema=False, raise_if_empty=False)
    except pl.exceptions.PolarsError:
        return False
    return True


def locate_csv_problem(data: bytes, error: Exception) -> tuple[int | None, str | None, str]:
    """(line, column, reason) of the first record polars could not parse. Error path only: the
    csv module finds the records, then polars bisects prefixes for what csv accepts."""
    reader = csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), strict=True)
    ends: list[int] = []  # physical end line of each record, header first
    header: list[str] = []
    try:
        for record in reader:
            if not ends:
                header = [name.strip().lower() for name in record]
            elif len(record) > len(header):
                reason = f"malformed CSV: {len(record)} fields, the header has {len(header)}"
                return ends[-1] + 1, None, reason
            ends.append(reader.line_num)
    except csv.Error as exc:
        hint = " (unclosed quote?)" if "end of data" in str(exc) else ""
        return (ends[-1] + 1 if ends else 1), None, f"malformed CSV: {exc}{hint}"
    line_ends = [m.end() for m in re.finditer(b"\n", data)] + [len(data)]

    def parses_up_to(k: int) -> bool:  # header and records 1..k
        return _parses(data[: line_ends[ends[k] - 1]])

    bad = 1 + bisect_left(range(1, len(ends)), True, key=lambda k: not parses_up_to(k))
    if bad == len(ends):
        return None, None, f"malformed CSV: {str(error).splitlines()[0]}"
    text = data[line_ends[ends[bad - 1] - 1] : line_ends[ends[bad] - 1]].decode("utf-8")
    fields = next(csv.reader(io.StringIO(text, newline="")), [])
    quoted = [i for i, value in enumerate(fields) if '"' in value and i < len(header)]
    if quoted:  # polars refuses a quote inside an unquoted field, the csv module does not
        column = header[quoted[0]]
        return ends[bad - 1] + 1, column, f"malformed CSV: stray quote in column '{column}'"
    return ends[bad - 1] + 1, None, "malformed CSV: the record cannot be parsed"


def read_csv_strings(data: bytes, rel: str, dataset: Dataset) -> pl.DataFrame:
    """Every column as text (lower-cased names) plus LINE, the physical line of each record.
    Blank lines are dropped; an empty file gives an empty frame of the dataset's columns."""
    offset = invalid_utf8_offset(data)
    if offset is not None:
        raise RejectFile(_utf8_rejection(data, offset, rel))
    if not data.removeprefix(b"\xef\xbb\xbf").strip():
        return _empty_frame(dataset)
    try:
        header = pl.read_csv(data, n_rows=0, infer_schema=False).columns
        names = normalise_columns(header, dataset, rel, line=1)
        frame = pl.read_csv(data, infer_schema=False, raise_if_empty=False)
    except pl.exceptions.PolarsError as exc:
        raise RejectFile(Rejection(rel, *locate_csv_problem(data, exc))) from exc
    frame.columns = names
    header_lines = 1 + sum(name.count("\n") for name in header)
    frame = frame.with_columns(_csv_lines(names, header_lines, quoted=b'"' in data))
    return frame.filter(~pl.all_horizontal(pl.col(names).is_null()))


def _csv_lines(names: list[str], header_lines: int, quoted: bool) -> pl.Expr:
    # Record i starts on line header_lines + 1 + i, plus the newlines embedded in quoted fields
    # of the records before it (only possible when the file has quotes at all).
    line = pl.int_range(pl.len(), dtype=pl.Int64) + header_lines + 1
    if quoted:
        embedded = pl.sum_horizontal(
            pl.col(n).str.count_matches("\n", literal=True).fill_null(0) for n in names
        ).cast(pl.Int64)
        line = line + embedded.cum_sum() - embedded
    return line.alias(LINE)


def _empty_frame(dataset: Dataset) -> pl.DataFrame:
    schema = dict.fromkeys(dataset.columns, pl.String) | {LINE: pl.Int64}
    return pl.DataFrame(schema=schema)


# --- reading: Parquet --------------------------------------------------------------------------


def read_parquet_frame(path: Path, rel: str, dataset: Dataset) -> pl.DataFrame:
    """The file's columns as stored (lower-cased names) plus LINE, the 1-based row number."""
    try:
        schema = pl.read_parquet_schema(path)
    except Exception as exc:  # any reader error means the file cannot be parsed
        raise RejectFile(_unreadable_parquet(rel, exc)) from exc
    names = normalise_columns(list(schema), dataset, rel, line=None)
    for name, dtype in zip(names, schema.values(), strict=True):
        if name in dataset.columns and dtype.is_nested():
            raise RejectFile(Rejection(rel, None, name, f"column '{name}' has unsupported type {dtype}"))
    try:
        frame = pl.read_parquet(path)
    except Exception as exc:
        raise RejectFile(_unreadable_parquet(rel, exc)) from exc
    frame.columns = names
    return frame.with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias(LINE))


def _unreadable_parquet(rel: str, exc: Exception) -> Rejection:
    return Rejection(rel, None, None, f"cannot read Parquet file: {_first_line(exc)}")


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def read_landing_file(path: Path, rel: str, dataset: Dataset) -> pl.DataFrame:
    if path.suffix.lower() == ".parquet":
        return read_parquet_frame(path, rel, dataset)
    return read_csv_strings(path.read_bytes(), rel, dataset)
