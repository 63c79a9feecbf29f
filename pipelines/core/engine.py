"""The engine dbt's models run on: DuckDB (the default, in the working warehouse) or Apache Spark
(`ACCOUNTS_ENGINE=spark`, the `spark` extra; docs/SPARK.md). Everything else — ingestion, the
assignment, checks and the published DuckDB file — is the same on both."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Literal

from pipelines.core import paths

Engine = Literal["duckdb", "spark"]
ENGINES: tuple[Engine, ...] = ("duckdb", "spark")


class EngineError(ValueError):
    """A setting that names no engine, or an engine this environment cannot run."""


def engine(value: str | None = None) -> Engine:
    """`value`, else `ACCOUNTS_ENGINE`, else duckdb; checked, with a message a person can act on."""
    name = (value or os.environ.get("ACCOUNTS_ENGINE") or "duckdb").strip().lower()
    if name not in ENGINES:
        raise EngineError(f"ACCOUNTS_ENGINE={name!r} names no engine: use one of {', '.join(ENGINES)}")
    if name == "spark":
        missing = [m for m in ("pyspark", "dbt.adapters.spark") if not _importable(m)]
        if missing:
            raise EngineError(
                f"ACCOUNTS_ENGINE=spark needs {' and '.join(missing)}, not installed here: "
                "install the spark extra (pip install '.[spark]'; `make setup` does) and Java 17+"
            )
    return name  # type: ignore[return-value]


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def spark_dir(warehouse_dir: Path | None = None) -> Path:
    """The Spark engine's folder: its warehouse (Parquet tables), metastore and the sources it
    reads. `ACCOUNTS_SPARK_DIR`, else `spark/` in the warehouse folder."""
    configured = os.environ.get("ACCOUNTS_SPARK_DIR")
    return Path(configured).resolve() if configured else (warehouse_dir or paths.warehouse_dir()) / "spark"
