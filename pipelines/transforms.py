"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check.

Two `@dbt_assets` groups, split by the `after_assignment` tag, because the Python module
assignment sits between them: worth and economics -> assignment -> modules.
"""

import json
import os
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import Any

from dagster import AssetExecutionContext, AssetKey, BackfillPolicy
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets
from dagster_dbt.compat import DBT_PYTHON_VERSION

from pipelines import paths
from pipelines.config import dbt_vars, load_config
from pipelines.failpoints import after_first
from pipelines.partitions import month_range, monthly_partitions
from pipelines.resources import WarehouseResource

AFTER_ASSIGNMENT = "tag:after_assignment"
PARTIAL_PARSE_FILE = "partial_parse.msgpack"
ASSIGNMENT_HISTORY_KEY = AssetKey("module_assignment_history")

dbt_project = DbtProject(project_dir=paths.DBT_PROJECT_DIR)


def ensure_manifest(project: DbtProject = dbt_project) -> None:
    """Parse the dbt project when its manifest is missing or older than any project file, so a
    fresh clone, the CLI and tests load the same asset graph `dagster dev` shows."""
    manifest = project.manifest_path
    sources = [
        p
        for folder in ("models", "macros", "tests")
        for p in (project.project_dir / folder).rglob("*")
        if p.is_file()
    ] + [project.project_dir / "dbt_project.yml", project.project_dir / "profiles.yml"]
    newest = max((p.stat().st_mtime for p in sources if p.exists()), default=0)
    if not manifest.exists() or manifest.stat().st_mtime < newest:
        # Parse with the run's vars, so runs reuse this parse (dbt re-parses when vars change).
        with WarehouseResource().dbt_environment():
            subprocess.run(
                [paths.DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(project.project_dir),
                 "--profiles-dir", str(project.project_dir),
                 "--vars", json.dumps(dbt_vars(load_config()))],
                check=True,
            )  # fmt: skip


ensure_manifest()


class AccountsDbtCli(DbtCliResource):
    """dagster-dbt's resource without two fixed costs of every invocation that buy us nothing:
    - `dbt --version` in a subprocess (~2 s): the executable is this venv's dbt
      (`paths.DBT_EXECUTABLE`), so its version is the installed dbt-core's;
    - an in-process dbt adapter (loads every macro, ~1 s): dagster-dbt only uses it to fetch row
      counts and column metadata, which these assets do not ask for."""

    @cached_property
    def _cli_version(self):  # a packaging Version, as dagster-dbt's
        return DBT_PYTHON_VERSION

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:
        return None


class AccountsDbtTranslator(DagsterDbtTranslator):
    """Raw sources are the ingestion assets; the assignment source is the assignment asset."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] == "assignment":
                return ASSIGNMENT_HISTORY_KEY
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        return fqn[1] if len(fqn) > 2 else "transforms"


translator = AccountsDbtTranslator()


def _build(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
) -> Iterator[Any]:
    """One `dbt build` (models and their tests) for the run's whole month range."""
    month_from, month_to = month_range(context.partition_key_range)
    context.log.info(f"dbt build for months {month_from}..{month_to}")
    variables = json.dumps(dbt_vars(warehouse.settings()))
    cache = partial_parse_cache(warehouse, context.op.name)
    reuse = {"DBT_PARTIAL_PARSE_FILE_PATH": str(cache)} if cache.exists() else {}
    # The months travel as environment variables: new vars would cost dbt a full re-parse.
    with warehouse.dbt_environment(
        ACCOUNTS_MONTH_FROM=month_from, ACCOUNTS_MONTH_TO=month_to, **reuse
    ):
        invocation = dbt.cli(["build", "--vars", variables], context=context)  # starts dbt
    yield from after_first(invocation.stream(), "dbt.running", context.op.name)  # failpoint for tests
    keep_partial_parse(invocation.target_path / PARTIAL_PARSE_FILE, cache)


def partial_parse_cache(warehouse: WarehouseResource, group: str) -> Path:
    """dbt's partial-parse state for this warehouse and dbt group. dbt re-parses the whole project
    when the profile changes, and the profile holds the warehouse path; dagster-dbt gives every
    invocation a fresh target dir seeded from `transforms/target`, parsed for the default path.
    Keeping the state beside the warehouse lets the next invocation against it parse only what
    changed (dbt still checks files, vars, env vars and profile against it and re-parses what
    differs). One file per group: the two groups' states were seen to reject each other."""
    return warehouse.directory() / "dbt" / f"{group}.{PARTIAL_PARSE_FILE}"


def keep_partial_parse(written: Path, cache: Path) -> None:
    """Keep the state an invocation wrote, unless it is only the seed dagster-dbt copied in
    (dbt rewrites it only after parsing something)."""
    seed = dbt_project.project_dir / "target" / PARTIAL_PARSE_FILE
    if not written.exists() or (seed.exists() and written.read_bytes() == seed.read_bytes()):
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_bytes(written.read_bytes())
    os.replace(partial, cache)  # atomic: a concurrent reader sees the old or the new state


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    exclude=AFTER_ASSIGNMENT,
    name="worth_and_economics",
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
)
def worth_and_economics(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    yield from _build(context, dbt, warehouse)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    select=AFTER_ASSIGNMENT,
    name="modules_and_scorecards",
    partitions_def=monthly_partitions,
    backfill_policy=BackfillPolicy.single_run(),
    dagster_dbt_translator=translator,
)
def modules_and_scorecards(
    context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource
):
    yield from _build(context, dbt, warehouse)


def mart_tables() -> list[str]:
    """The marts dbt builds, i.e. the tables the published file holds, in a stable order."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return sorted(
        node["alias"] or node["name"]
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    )


def descriptions() -> dict[str, tuple[str, dict[str, str]]]:
    """Table -> (description, {column: description}) of every mart, from the dbt yml docs."""
    manifest = json.loads(dbt_project.manifest_path.read_text())
    return {
        node["alias"] or node["name"]: (
            node.get("description") or "",
            {name: col.get("description") or "" for name, col in node["columns"].items()},
        )
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["schema"] == "marts"
    }
