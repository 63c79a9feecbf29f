"""The pipeline's dbt resource (pipelines/transforms/assets.py) skips two costs of dagster-dbt's
DbtCliResource by overriding private members: these tests fail if an upgrade of dagster-dbt
renames or reshapes them, instead of the savings silently disappearing."""

import inspect
from importlib.metadata import version

import dagster_dbt.core.resource
from dagster_dbt import DbtCliResource

from pipelines.transforms.assets import AccountsDbtResource
from pipelines.transforms.project import dbt_project


def test_the_overridden_members_still_exist_in_dagster_dbt():
    assert isinstance(
        inspect.getattr_static(DbtCliResource, "_cli_version"), type(AccountsDbtResource._cli_version)
    )
    assert inspect.signature(DbtCliResource._initialize_dbt_core_adapter).parameters.keys() == {
        "self",
        "args",
    }
    source = inspect.getsource(DbtCliResource.cli)
    assert "self._cli_version" in source and "self._initialize_dbt_core_adapter(args)" in source


def test_the_dbt_version_comes_from_the_installed_package_without_a_subprocess(monkeypatch):
    def no_subprocess(*args, **kwargs):
        raise AssertionError(f"a subprocess was started: {args}")

    monkeypatch.setattr(dagster_dbt.core.resource, "check_output", no_subprocess)  # `dbt --version`
    resource = AccountsDbtResource(project_dir=dbt_project)
    assert str(resource._cli_version) == version("dbt-core")
    assert resource._cli_version.major == 1  # dbt Core, not the Fusion engine
    assert resource._initialize_dbt_core_adapter(["build"]) is None
