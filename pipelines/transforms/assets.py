"""The dbt project as Dagster assets: every model an asset, every dbt test an asset check.

Two `@dbt_assets` groups, split by the `after_assignment` tag, because the Python module
assignment sits between them: worth, economics and loyalty -> assignment -> modules and risk.
Each runs one `dbt build` (models and their tests) for the run's whole month range, on the
engine the warehouse resource names: DuckDB, with dbt in the run's own process
(pipelines/transforms/in_process.py), or Spark, with dbt in a subprocess, around which
pipelines/transforms/spark.py moves the sources and the marts.
"""

import os
import shutil
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from importlib.metadata import version as installed_version
from pathlib import Path
from typing import Any

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    BackfillPolicy,
    MonthlyPartitionsDefinition,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, dbt_assets
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from dagster_dbt.core.dbt_cli_event import DbtCoreCliEventMessage
from packaging.version import Version

from pipelines.core.failpoints import after_first
from pipelines.partitions import month_range
from pipelines.resources import WarehouseResource
from pipelines.transforms import AFTER_ASSIGNMENT_GROUP, BEFORE_ASSIGNMENT_GROUP, in_process, spark
from pipelines.transforms.project import (
    PARTIAL_PARSE_FILE,
    TARGET_PATH,
    dbt_project,
    mart_tables_of_group,
    source_tables,
    variables,
)

AFTER_ASSIGNMENT = "tag:after_assignment"
ASSIGNMENT_HISTORY_KEY = AssetKey("module_assignment_history")


class AccountsDbtTranslator(DagsterDbtTranslator):
    """Raw sources are the ingestion assets; the assignment source is the assignment asset."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] == "assignment":
                # the history is the assignment asset; the tables written beside it (targets,
                # pin report) are keyed apart, since two dbt sources may not share a key
                if dbt_resource_props["name"] == "module_assignment_history":
                    return ASSIGNMENT_HISTORY_KEY
                return AssetKey(["assignment", dbt_resource_props["name"]])
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return super().get_asset_key(dbt_resource_props)


translator = AccountsDbtTranslator()


class AccountsDbtResource(DbtCliResource):
    """dagster-dbt's dbt resource, with dbt in the run's own process for the DuckDB engine
    (`build_in_process`) and, for the subprocess Spark still uses, without two costs of every
    `dbt.cli()` the pipeline never uses (about 2 s a run when DuckDB used the subprocess too: S,
    median of 3, nightly 19.0 -> 17.2 s, one new day 18.3 -> 16.3 s):

    - the version of dbt, which it learns by running `dbt --version` in a subprocess: the
      installed dbt-core's version is read from its package metadata instead (the lock pins it);
    - a dbt adapter built in the Dagster process, macros loaded and all, per invocation,
      which only `fetch_row_counts()` and `fetch_column_metadata()` use: not built.

    Both override private members of `DbtCliResource` (dagster-dbt is pinned by the lock);
    tests/unit/test_dbt_resource.py fails if an upgrade renames them."""

    @cached_property
    def _cli_version(self) -> Version:
        return Version(installed_version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]) -> None:  # type: ignore[override]
        return None

    def build_in_process(
        self, args: Sequence[str], context: AssetExecutionContext
    ) -> tuple[Iterator[Any], Path]:
        """`dbt <args>` for the context's assets in this process, started now: (its Dagster
        events, as `dbt.cli(...).stream()` yields them; the invocation's target folder). The
        project is parsed once per run: the run's second invocation reuses the first's parse."""
        params = get_updated_cli_invocation_params_for_context(
            context=context, manifest={}, dagster_dbt_translator=translator
        )
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        # absolute: dbt reads a relative --target-path from the project, a relative --log-path
        # from the working directory
        targets = TARGET_PATH if TARGET_PATH.is_absolute() else Path(self.project_dir) / TARGET_PATH
        target_path = targets / f"{context.op.name}-{context.run.run_id[:7]}-{uuid.uuid4().hex[:7]}"
        common = in_process.common_args(project_dir, target_path)
        indirect = ["--indirect-selection", params.indirect_selection] if params.indirect_selection else []
        manifest = None  # a selector dagster-dbt wrote into a copy of the project: dbt parses that copy
        if project_dir == Path(self.project_dir):
            # `parse` takes the command's options (`build --vars X` -> `--vars X`)
            manifest = in_process.parse_once(
                (context.run.run_id, str(project_dir), *args), [*args[1:], *common]
            )
        raw_events = in_process.run([*args, *params.selection_args, *indirect, *common], manifest)

        def dagster_events() -> Iterator[Any]:
            for raw in raw_events:
                yield from DbtCoreCliEventMessage(
                    raw_event=raw, event_history_metadata={}
                ).to_default_asset_events(
                    manifest=params.manifest,
                    dagster_dbt_translator=params.dagster_dbt_translator,
                    context=context,
                    target_path=target_path,
                    project=params.dbt_project,
                )

        return dagster_events(), target_path


def build(
    context: AssetExecutionContext,
    dbt: AccountsDbtResource,
    warehouse: WarehouseResource,
    after_assignment: bool,
) -> Iterator[Any]:
    """One `dbt build` (models and their tests) for the run's whole month range."""
    month_from, month_to = month_range(context.partition_key_range)
    engine = warehouse.engine()
    context.log.info(f"dbt build for months {month_from}..{month_to} on {engine}")
    cache = partial_parse_cache(warehouse, engine)
    state = cache if cache.exists() else dbt_project.manifest_path.with_name(PARTIAL_PARSE_FILE)
    environment = {"DBT_PARTIAL_PARSE_FILE_PATH": str(state)} if state.exists() else {}
    args = ["build", "--vars", variables(warehouse.settings())]
    if engine == "spark":
        with warehouse.connect(read_only=True) as con:
            exported = spark.export_sources(con, warehouse.spark_dir(), source_tables())
        environment[spark.SOURCES_ENV] = ",".join(exported)
        args += ["--target", "spark"]
    # The months travel as environment variables: new vars would cost dbt a full re-parse.
    with warehouse.dbt_environment(ACCOUNTS_MONTH_FROM=month_from, ACCOUNTS_MONTH_TO=month_to, **environment):
        if engine == "spark":
            invocation = dbt.cli(args, context=context)
            events, target_path = invocation.stream(), invocation.target_path
        else:
            events, target_path = dbt.build_in_process(args, context)
        yield from after_first(events, "dbt.running", context.op.name)  # failpoint for tests
    keep_partial_parse(target_path / PARTIAL_PARSE_FILE, cache)
    prune_invocation_folders(target_path.parent)
    if engine == "spark":
        with warehouse.connect() as con:
            spark.import_marts(con, warehouse.spark_dir(), mart_tables_of_group(after_assignment))


def partial_parse_cache(warehouse: WarehouseResource, engine: str) -> Path:
    """dbt's partial-parse state for this warehouse and engine. dbt re-parses the whole project
    (~3.5 s) when the profile changes, and the profile holds the warehouse path; dagster-dbt gives
    every invocation a fresh target dir seeded from `transforms/target`, parsed for the default
    path. Keeping the state beside the warehouse lets the next invocation against it, of either
    dbt group, parse only what changed (dbt still checks files, vars, env vars and profile against
    it and re-parses what differs): a run on a new warehouse parses once, not once per group."""
    return warehouse.directory() / "dbt" / f"{engine}.{PARTIAL_PARSE_FILE}"


# dagster-dbt leaves a folder per invocation (~10 MB: manifest, compiled SQL, run results); a
# nightly schedule would fill a disk. Kept: the newest few, and any another run may still be using.
KEPT_INVOCATIONS = 20
IN_USE_SECONDS = 24 * 3600


def prune_invocation_folders(target: Path, keep: int = KEPT_INVOCATIONS) -> None:
    """Remove all but the newest `keep` invocation folders (`<group>-<run>-<id>`) in `target`."""
    groups = (f"{BEFORE_ASSIGNMENT_GROUP}-", f"{AFTER_ASSIGNMENT_GROUP}-")
    folders = [p for p in target.iterdir() if p.is_dir() and p.name.startswith(groups)]
    folders.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    now = time.time()
    for folder in folders[keep:]:
        if now - folder.stat().st_mtime > IN_USE_SECONDS:
            shutil.rmtree(folder, ignore_errors=True)


def keep_partial_parse(written: Path, cache: Path) -> None:
    """Keep the state an invocation wrote, unless it is only the seed dagster-dbt copied in
    (dbt rewrites it only after parsing something)."""
    seed = dbt_project.manifest_path.with_name(PARTIAL_PARSE_FILE)
    if not written.exists() or (seed.exists() and written.read_bytes() == seed.read_bytes()):
        return
    cache.parent.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(".tmp")
    partial.write_bytes(written.read_bytes())
    os.replace(partial, cache)  # atomic: a concurrent reader sees the old or the new state


def dbt_asset_groups(partitions: MonthlyPartitionsDefinition) -> tuple[AssetsDefinition, AssetsDefinition]:
    """(before the assignment, after it), partitioned by month, each a single run per range."""

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        exclude=AFTER_ASSIGNMENT,
        name=BEFORE_ASSIGNMENT_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
    )
    def worth_and_loyalty(
        context: AssetExecutionContext, dbt: AccountsDbtResource, warehouse: WarehouseResource
    ):
        yield from build(context, dbt, warehouse, after_assignment=False)

    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        select=AFTER_ASSIGNMENT,
        name=AFTER_ASSIGNMENT_GROUP,
        partitions_def=partitions,
        backfill_policy=BackfillPolicy.single_run(),
        dagster_dbt_translator=translator,
    )
    def modules_and_risk(
        context: AssetExecutionContext, dbt: AccountsDbtResource, warehouse: WarehouseResource
    ):
        yield from build(context, dbt, warehouse, after_assignment=True)

    return worth_and_loyalty, modules_and_risk
