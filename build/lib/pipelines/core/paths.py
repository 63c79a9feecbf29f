"""Where things live, from the environment (`ACCOUNTS_LANDING_DIR`, `ACCOUNTS_WAREHOUSE_DIR`).
Every path is resolved to an absolute one, because dbt runs in its own working directory."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DBT_PROJECT_DIR = PROJECT_ROOT / "transforms"
# the scripts of this interpreter's environment (dbt among them), whether or not it is on PATH
ENVIRONMENT_BIN = str(Path(sys.executable).parent)
WAREHOUSE_FILE = "warehouse.duckdb"  # the working warehouse: raw, staging, history; one writer
PUBLISHED_FILE = "accounts.duckdb"  # the published file BI tools open read-only
DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.yaml")


def landing_dir() -> Path:
    return Path(os.environ.get("ACCOUNTS_LANDING_DIR") or PROJECT_ROOT / "data" / "landing").resolve()


def warehouse_dir() -> Path:
    return Path(os.environ.get("ACCOUNTS_WAREHOUSE_DIR") or PROJECT_ROOT / "data" / "warehouse").resolve()


def warehouse_path() -> Path:
    return warehouse_dir() / WAREHOUSE_FILE


def published_path() -> Path:
    return warehouse_dir() / PUBLISHED_FILE


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file in use: `path`, else `ACCOUNTS_CONFIG`, else the packaged defaults."""
    return Path(path or os.environ.get("ACCOUNTS_CONFIG") or DEFAULT_CONFIG_PATH)
