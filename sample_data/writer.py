"""Writing the landing folder: one file per dataset (one per calendar year for `BY_YEAR`), in CSV
or Parquet, appended to chunk by chunk so memory stays bounded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pyarrow.parquet as pq

from pipelines.ingest.datasets import DATASETS

# Optional inputs the sample does not generate (pins, managers' capacity): its files stay as they were.
_NOT_GENERATED = {"assignment_pins": None, "account_managers": ("capacity",)}
SAMPLE_DATASETS = [name for name in DATASETS if _NOT_GENERATED.get(name, ()) is not None]


def sample_columns(dataset: str) -> list[str]:
    """The columns the sample writes for `dataset`, in the contract's order."""
    skipped = _NOT_GENERATED.get(dataset, ())
    return [c for c in DATASETS[dataset].columns if c not in skipped]


BY_YEAR = ("revenue", "contacts")  # split into one file per calendar year
PARQUET_BY_DEFAULT = ("revenue", "contacts")

# Column types as written (Parquet) / parsed back (CSV).
_POLARS_TYPES = {
    "VARCHAR": pl.String, "DATE": pl.Date, "BIGINT": pl.Int64, "TIMESTAMP": pl.Datetime("us"),
    "DECIMAL(18,2)": pl.Float64, "DOUBLE": pl.Float64,
}  # fmt: skip


class Sink:
    """Appends chunks to one file per (dataset, part): CSV appends or Parquet row groups."""

    def __init__(self, out_dir: Path, file_format: str, years: range) -> None:
        self.out_dir, self.file_format = out_dir, file_format
        self.rows = {name: 0 for name in SAMPLE_DATASETS}
        self.handles: dict[Path, Any] = {}
        for name in SAMPLE_DATASETS:  # every dataset gets its files, even when empty
            parts = [str(y) for y in years] if name in BY_YEAR else [name]
            for part in parts:
                self.write(name, part, pl.DataFrame(schema=self._schema(name)), count=False)

    def _format(self, dataset: str) -> str:
        if self.file_format != "auto":
            return self.file_format
        return "parquet" if dataset in PARQUET_BY_DEFAULT else "csv"

    @staticmethod
    def _schema(dataset: str) -> dict[str, Any]:
        return {c: _POLARS_TYPES[DATASETS[dataset].columns[c]] for c in sample_columns(dataset)}

    def write(self, dataset: str, part: str, frame: pl.DataFrame, count: bool = True) -> None:
        fmt = self._format(dataset)
        path = self.out_dir / dataset / f"{part}.{fmt}"
        frame = frame.select([pl.col(c).cast(t) for c, t in self._schema(dataset).items()])
        if count:
            self.rows[dataset] += frame.height
        handle = self.handles.get(path)
        if handle is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            other = path.with_suffix(".parquet" if fmt == "csv" else ".csv")
            other.unlink(missing_ok=True)  # a previous run in the other format
            if fmt == "csv":
                handle = self.handles[path] = path.open("wb")
                self._csv(frame, handle, header=True)
            else:
                table = frame.to_arrow()
                handle = self.handles[path] = pq.ParquetWriter(path, table.schema, compression="zstd")
                if table.num_rows:
                    handle.write_table(table)
            return
        if fmt == "csv":
            self._csv(frame, handle, header=False)
        elif frame.height:
            handle.write_table(frame.to_arrow())

    @staticmethod
    def _csv(frame: pl.DataFrame, handle: Any, header: bool) -> None:
        if frame.height or header:
            frame.write_csv(
                handle, include_header=header, date_format="%Y-%m-%d",
                datetime_format="%Y-%m-%d %H:%M:%S", float_precision=2,
            )  # fmt: skip

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
