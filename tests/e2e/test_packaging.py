"""A non-editable install works on its own: the wheel carries the dbt project (and nothing dbt
wrote into the checkout's copy), and `accounts run` from the installed package, with the checkout
out of reach, builds and publishes the sample while writing nothing into the package's folder.

The wheel is built from a copy of the source tree (a checkout's `build/` could leak stale files
into it), with this environment's setuptools when it meets `[build-system]`, else in pip's
isolated build environment (setuptools from the package index)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import duckdb
import pytest
from packaging.requirements import Requirement

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]
SAMPLE_LANDING = REPO / "data" / "landing"
PACKAGED = "pipelines/dbt_project"
BUILD_TIMEOUT = 600  # seconds; an isolated build also downloads setuptools
RUN_TIMEOUT = 900  # seconds for one whole run on a loaded 2-core machine
# what dbt writes into a project it runs in: never shipped (planted in the copy below)
DBT_OUTPUT = {
    "transforms/target/manifest.json": "{}",
    "transforms/target/run/accounts/models/marts/x.sql": "select 1",
    "transforms/target/compiled/accounts/models/schema.yml": "version: 2",
    "transforms/logs/dbt.log": "log",
    "transforms/dbt_packages/some_package/dbt_project.yml": "name: some_package",
    "transforms/dbt_packages/some_package/models/m.sql": "select 1",
}
# the checkout's own outputs and environments (at its top and in transforms/): not source
NOT_SOURCE = {
    ".": {
        ".git",
        ".venv",
        "data",
        "build",
        "dist",
        ".dagster_home",
        ".hypothesis",
        ".pytest_cache",
        ".ruff_cache",
    },
    "transforms": {"target", "logs", "dbt_packages"},
}
RUN = """
import sys
import pipelines
from pipelines.core import paths
print("pipelines at", pipelines.__file__)
print("dbt project at", paths.DBT_PROJECT_DIR)
from pipelines.cli import main
sys.exit(main(["run"]))
"""
BUILD_WARNINGS = ("SetuptoolsDeprecationWarning", "SetuptoolsWarning", "BuildBackendWarning")


def _build_requirements_installed() -> bool:
    """Whether this environment holds all of `[build-system] requires` (pip can build without isolation)."""
    requires = tomllib.loads((REPO / "pyproject.toml").read_text())["build-system"]["requires"]
    for requirement in map(Requirement, requires):
        try:
            if not requirement.specifier.contains(version(requirement.name), prereleases=True):
                return False
        except PackageNotFoundError:
            return False
    return True


def _not_source(directory: str, names: list[str]) -> set[str]:
    skip = NOT_SOURCE.get(Path(directory).relative_to(REPO).as_posix(), set())
    return {n for n in names if n in skip or n == "__pycache__" or n.endswith((".pyc", ".egg-info"))}


def _source_copy(tmp: Path) -> Path:
    """This tree's source, with what dbt writes into its project planted in the copy."""
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=_not_source)
    for name, text in DBT_OUTPUT.items():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(text)
    return source


def _files(root: Path, top: str) -> set[str]:
    """The files under `root/top` that a build packs, as the wheel names them (from `root`)."""
    files = (p.relative_to(root) for p in (root / top).rglob("*") if p.is_file())
    return {
        f.as_posix()
        for f in files
        if f.suffix != ".pyc" and not any(part.startswith((".", "__pycache__")) for part in f.parts)
    }


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> tuple[Path, str]:
    """(the wheel built from a copy of this tree, the build's output)."""
    tmp = tmp_path_factory.mktemp("packaging")
    source = _source_copy(tmp)
    isolation = ["--no-build-isolation"] if _build_requirements_installed() else []
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation, "-w", str(tmp / "dist")]
    built = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    output = built.stdout + built.stderr
    assert built.returncode == 0, output
    (path,) = (tmp / "dist").glob("*.whl")
    return path, output


def test_the_build_warns_of_nothing_in_our_configuration(wheel):
    _, output = wheel
    warned = [line.strip() for line in output.splitlines() if any(w in line for w in BUILD_WARNINGS)]
    assert warned == []


def test_the_wheel_carries_the_dbt_project_and_nothing_dbt_wrote(wheel):
    path, _ = wheel
    names = set(zipfile.ZipFile(path).namelist())
    project = {name.removeprefix(PACKAGED + "/") for name in names if name.startswith(PACKAGED + "/")}
    shipped = {
        "dbt_project.yml",
        "profiles.yml",
        "models/staging/_sources.yml",
        "models/staging/stg_customers.sql",
        "models/marts/worth/customer_worth.sql",
        "macros/parameters.sql",
        "docs/overview.md",
    }
    assert shipped <= project
    # every file of the project, and nothing dbt wrote
    dbt_output = {"target", "logs", "dbt_packages"}
    sources = {
        name.removeprefix("transforms/")
        for name in _files(REPO, "transforms")
        if name.split("/")[1] not in dbt_output
        and Path(name).suffix in {".sql", ".yml", ".yaml", ".md", ".csv"}
    }
    assert project == sources
    assert not [name for name in project if name.split("/")[0] in dbt_output]
    # every module and data file of the packages: one missing from pyproject.toml would be dropped
    for top in ("pipelines", "sample_data"):
        missing = sorted(_files(REPO, top) - names)
        assert missing == [], f"not in the wheel: add their packages or data to pyproject.toml: {missing}"
    assert "pipelines/core/default_config.yaml" in names


@pytest.fixture(scope="module")
def site(wheel, tmp_path_factory) -> Path:
    """The wheel installed into a folder of its own."""
    site = tmp_path_factory.mktemp("installed") / "site"
    command = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "--target", str(site)]
    installed = subprocess.run(
        [*command, str(wheel[0])], capture_output=True, text=True, timeout=BUILD_TIMEOUT
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr
    return site


def _installed_env(site: Path, **extra: str) -> dict[str, str]:
    """This environment's third-party packages, the installed package, and not the checkout."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ACCOUNTS_", "DBT_", "DAGSTER_", "PYTHON"))
    }
    env.update(
        PYTHONPATH=str(site),
        PYTHONDONTWRITEBYTECODE="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        GX_ANALYTICS_ENABLED="false",
        **extra,
    )
    return env


def test_the_installed_package_keeps_its_data_in_the_current_directory(site, tmp_path):
    script = "from pipelines.core import paths; print(paths.landing_dir()); print(paths.warehouse_dir())"
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=_installed_env(site), capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(tmp_path / "data" / "landing"), str(tmp_path / "data" / "warehouse")]


def test_the_installed_package_runs_the_sample_without_writing_into_itself(site, tmp_path):
    before = _tree(site)
    work, warehouse = tmp_path / "work", tmp_path / "wh"
    work.mkdir()
    env = _installed_env(
        site, ACCOUNTS_LANDING_DIR=str(SAMPLE_LANDING), ACCOUNTS_WAREHOUSE_DIR=str(warehouse)
    )
    done = subprocess.run(
        [sys.executable, "-c", RUN], cwd=work, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-5000:]
    assert f"pipelines at {site / 'pipelines' / '__init__.py'}" in output
    assert f"dbt project at {site / 'pipelines' / 'dbt_project'}" in output

    published = warehouse / "accounts.duckdb"
    assert published.exists()
    con = duckdb.connect(str(published), read_only=True)
    try:
        listed = con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'").fetchall()
        tables = {name for (name,) in listed}
        (worth,) = con.execute("SELECT count(*) FROM main.customer_worth").fetchone()
    finally:
        con.close()
    marts = {p.stem for p in (REPO / "transforms" / "models" / "marts").rglob("*.sql")}
    assert marts <= tables
    assert worth > 0
    # dbt's artefacts went beside the warehouse; the package's folder is as pip left it
    assert (warehouse / "dbt" / "target" / "manifest.json").exists()
    assert _tree(site) == before
    assert not [p for p in (site / "pipelines" / "dbt_project").iterdir() if p.name in {"target", "logs"}]
    assert not (work / "data").exists()  # the environment named every folder
