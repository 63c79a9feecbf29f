"""Resources: the warehouse (paths, config, the single-writer connection)."""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
from dagster import ConfigurableResource

from pipelines.core import paths
from pipelines.core.config import Settings, load_config
from pipelines.core.engine import Engine, engine, spark_dir


class WarehouseResource(ConfigurableResource):
    """Where the pipeline reads and writes. Empty fields fall back to the environment variables
    `ACCOUNTS_LANDING_DIR`, `ACCOUNTS_WAREHOUSE_DIR`, `ACCOUNTS_CONFIG`, `ACCOUNTS_ENGINE`, read
    at run time."""

    landing_dir: str = ""
    warehouse_dir: str = ""
    config_path: str = ""

    def engine(self) -> Engine:
        """The engine dbt's models run on (`ACCOUNTS_ENGINE`, pipelines/core/engine.py)."""
        return engine()

    def spark_dir(self) -> Path:
        return spark_dir(self.directory())

    def landing(self) -> Path:
        return Path(self.landing_dir).resolve() if self.landing_dir else paths.landing_dir()

    def directory(self) -> Path:
        return Path(self.warehouse_dir).resolve() if self.warehouse_dir else paths.warehouse_dir()

    def warehouse_path(self) -> Path:
        return self.directory() / paths.WAREHOUSE_FILE

    def published_path(self) -> Path:
        return self.directory() / paths.PUBLISHED_FILE

    def settings(self) -> Settings:
        return load_config(self.config_path or None)

    def config_source(self) -> str:
        """Where the config comes from, for messages."""
        return str(paths.config_path(self.config_path or None))

    @contextmanager
    def connect(self, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        """A short-lived connection; closed on exit so dbt (another process) can open the file."""
        self.directory().mkdir(parents=True, exist_ok=True)
        con = duckdb.connect(str(self.warehouse_path()), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    @contextmanager
    def dbt_environment(self, **extra: str) -> Iterator[None]:
        """The environment a dbt invocation started inside this block reads (in this process, or a
        subprocess): the warehouse path its profile reads, plus `extra`. Restored on exit, so
        nothing leaks into later steps."""
        self.directory().mkdir(parents=True, exist_ok=True)
        values = {
            "ACCOUNTS_WAREHOUSE_PATH": str(self.warehouse_path()),
            "ACCOUNTS_SPARK_DIR": str(self.spark_dir()),
            **extra,
        }
        saved = {name: os.environ.get(name) for name in values}
        os.environ.update(values)
        try:
            yield
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
