"""The dbt project (`transforms/`): its `DbtProject`, the vars every invocation passes, and what
the rest of the pipeline reads from its manifest (the published tables and their descriptions).

The project is prepared through dagster-dbt's public preparer: `dagster dev` re-parses it on
every load (`prepare_if_dev`), and `ensure_manifest()` parses it whenever the manifest is missing
or older than a project file, so the CLI, the tests and a fresh clone load the same asset graph.

dbt's artefacts go to `paths.dbt_target_path()`: `transforms/target` in a checkout; for an
installed package, whose folder may be read-only or shared, `<warehouse>/dbt/target`, where the
first use parses the packaged project.
"""

from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path
from typing import Any

from dagster_dbt import DbtProject

from pipelines.core import paths
from pipelines.core.config import Settings, dbt_vars, load_config

PARTIAL_PARSE_FILE = "partial_parse.msgpack"

# dbt's profile reads the warehouse path from the environment; parsing needs a value, and every
# invocation sets the run's own (WarehouseResource.dbt_environment).
os.environ.setdefault("ACCOUNTS_WAREHOUSE_PATH", str(paths.warehouse_path()))
# dagster-dbt runs `dbt` from PATH: make it this environment's dbt, even when the environment is
# not activated (cron, `.venv/bin/accounts`).
if paths.ENVIRONMENT_BIN not in os.environ.get("PATH", "").split(os.pathsep):
    os.environ["PATH"] = os.pathsep.join([paths.ENVIRONMENT_BIN, os.environ.get("PATH", "")])
TARGET_PATH = paths.dbt_target_path()
if paths.INSTALLED:
    # dagster-dbt runs every invocation in a folder of its own under DBT_TARGET_PATH (relative: in
    # the project), with its log; any other dbt this process starts logs under DBT_LOG_PATH.
    os.environ.setdefault("DBT_TARGET_PATH", str(TARGET_PATH))
    os.environ.setdefault("DBT_LOG_PATH", str(TARGET_PATH.parent / "logs"))


def variables(settings: Settings | None = None) -> str:
    """The `--vars` of every dbt invocation: the config's parameters and the vocabularies."""
    return json.dumps(dbt_vars(settings or load_config()), sort_keys=True)


def dbt_command(*args: str) -> list[str]:
    """`dbt <args>` as a command line: this environment's dbt, on the project, with the vars."""
    project = str(paths.DBT_PROJECT_DIR)
    dbt = str(Path(paths.ENVIRONMENT_BIN) / "dbt")
    return [dbt, *args, "--project-dir", project, "--profiles-dir", project, "--vars", variables()]


dbt_project = DbtProject(
    project_dir=paths.DBT_PROJECT_DIR,
    target_path=TARGET_PATH,
    # parse with the run's vars, so runs reuse this parse (dbt re-parses when vars change)
    prepare_project_cli_args=["parse", "--quiet", "--vars", variables()],
)
dbt_project.prepare_if_dev()


def _project_files(project: DbtProject) -> list[Path]:
    folders = ("models", "macros", "tests", "docs")
    files = [p for folder in folders for p in (project.project_dir / folder).rglob("*")]
    return [p for p in files if p.is_file()] + [
        project.project_dir / "dbt_project.yml",
        project.project_dir / "profiles.yml",
    ]


def ensure_manifest(project: DbtProject = dbt_project) -> None:
    """Parse the project when its manifest is missing or older than any project file."""
    manifest = project.manifest_path
    newest = max((p.stat().st_mtime for p in _project_files(project) if p.exists()), default=0)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        manifest.parent.mkdir(parents=True, exist_ok=True)  # the parse's lock file goes there first
        project.preparer.prepare(project)


ensure_manifest()


@cache
def _manifest() -> dict[str, Any]:
    return json.loads(dbt_project.manifest_path.read_text())


def _marts() -> list[dict[str, Any]]:
    return [
        node
        for node in _manifest()["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    ]


def mart_tables() -> list[str]:
    """The marts dbt builds, i.e. the tables the published file holds, in a stable order."""
    return sorted(node["alias"] or node["name"] for node in _marts())


def mart_tables_of_group(after_assignment: bool) -> list[str]:
    """The marts one dbt group builds: those tagged `after_assignment`, or the others."""
    return sorted(
        node["alias"] or node["name"]
        for node in _marts()
        if ("after_assignment" in node.get("tags", [])) == after_assignment
    )


def source_tables() -> list[tuple[str, str]]:
    """(schema, table) of every source the dbt project reads."""
    return sorted((s["schema"], s["identifier"]) for s in _manifest()["sources"].values())


def grains() -> dict[str, list[str]]:
    """Mart -> the columns its `unique_combination` test declares unique (the first such test by
    name when it has several): the order its published rows are written in."""
    nodes = _manifest()["nodes"]
    marts = {node["unique_id"]: node["alias"] or node["name"] for node in _marts()}
    grain: dict[str, list[str]] = {}
    for test_id in sorted(nodes):
        test = nodes[test_id]
        if test["resource_type"] == "test" and test.get("attached_node") in marts:
            metadata = test.get("test_metadata") or {}
            if metadata.get("name") == "unique_combination":
                grain.setdefault(marts[test["attached_node"]], list(metadata["kwargs"]["columns"]))
    return grain


def descriptions() -> dict[str, tuple[str, dict[str, str]]]:
    """Table -> (description, {column: description}) of every mart, from the dbt docs."""
    return {
        node["alias"] or node["name"]: (
            node.get("description") or "",
            {name: col.get("description") or "" for name, col in node["columns"].items()},
        )
        for node in _marts()
    }
