"""The code location loads the way `dagster dev` (and `accounts ui`) loads it: every job, asset,
check and schedule in one repository, with no two definitions sharing a name."""

from dagster import Definitions

from pipelines.definitions import build_definitions


def test_the_code_location_loads_as_a_whole():
    definitions = build_definitions()
    Definitions.validate_loadable(definitions)
    repository = definitions.get_repository_def()
    jobs = {job.name for job in repository.get_all_jobs()}
    assert {"ingest_landing_files", "monthly_snapshot", "plan_modules"} <= jobs
