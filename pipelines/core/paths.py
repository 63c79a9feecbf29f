"""Where things live, from the environment (`ACCOUNTS_LANDING_DIR`, `ACCOUNTS_WAREHOUSE_DIR`).
Every path is resolved to an absolute one, because dbt runs in its own working directory.

Two layouts: a checkout (or an editable install of one) reads the repository's `transforms/` and
keeps its data in the repository's `data/`; an installed package (`pip install .`) carries the dbt
project inside itself (`pipelines/dbt_project`, mapped from `transforms/` by pyproject.toml), keeps
its data in `./data` by default, and writes nothing into its own folder, which may be read-only or
shared: dbt's artefacts go to `<warehouse>/dbt/target` (`dbt_target_path`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_DIR.parent  # the repository, in a checkout
PACKAGED_DBT_PROJECT_DIR = PACKAGE_DIR / "dbt_project"  # only in an installed package
INSTALLED = (PACKAGED_DBT_PROJECT_DIR / "dbt_project.yml").is_file()
DBT_PROJECT_DIR = PACKAGED_DBT_PROJECT_DIR if INSTALLED else PROJECT_ROOT / "transforms"
# the default landing and warehouse folders live here: relative means the current directory
DATA_ROOT = Path("data") if INSTALLED else PROJECT_ROOT / "data"
# the scripts of this interpreter's environment (dbt among them), whether or not it is on PATH
ENVIRONMENT_BIN = str(Path(sys.executable).parent)
WAREHOUSE_FILE = "warehouse.duckdb"  # the working warehouse: raw, staging, history; one writer
PUBLISHED_FILE = "accounts.duckdb"  # the published file BI tools open read-only
REPORT_FILE = "report.html"  # the publication's report, beside the published file
DEFAULT_CONFIG_PATH = Path(__file__).with_name("default_config.yaml")


def landing_dir() -> Path:
    return Path(os.environ.get("ACCOUNTS_LANDING_DIR") or DATA_ROOT / "landing").resolve()


def warehouse_dir() -> Path:
    return Path(os.environ.get("ACCOUNTS_WAREHOUSE_DIR") or DATA_ROOT / "warehouse").resolve()


def warehouse_path() -> Path:
    return warehouse_dir() / WAREHOUSE_FILE


def published_path() -> Path:
    return warehouse_dir() / PUBLISHED_FILE


def report_path_for(published: Path) -> Path:
    """Where the report of a published file goes: beside it."""
    return Path(published).with_name(REPORT_FILE)


def dbt_target_path() -> Path:
    """dbt's target folder (the manifest, the partial-parse state, a folder per invocation), as
    dagster-dbt's `DbtProject(target_path=...)` takes it (relative: to the dbt project): dbt's own
    `DBT_TARGET_PATH` when set; in a checkout the project's `target/`; installed,
    `<warehouse>/dbt/target`."""
    if os.environ.get("DBT_TARGET_PATH"):
        return Path(os.environ["DBT_TARGET_PATH"])
    return warehouse_dir() / "dbt" / "target" if INSTALLED else Path("target")


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The config file in use: `path`, else `ACCOUNTS_CONFIG`, else the packaged defaults."""
    return Path(path or os.environ.get("ACCOUNTS_CONFIG") or DEFAULT_CONFIG_PATH)
