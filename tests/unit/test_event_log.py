"""The Dagster instance `accounts` records its runs in: its settings file, and the SQLite event log
that keeps its connections open (pipelines/event_log.py), checked with real runs of a tiny job."""

from __future__ import annotations

import uuid

from dagster import AssetCheckResult, DagsterInstance, Definitions, asset, asset_check, define_asset_job

from pipelines.event_log import OPEN_DATABASES, PooledSqliteEventLogStorage
from pipelines.execution import SETTINGS_HEADER, dagster_home


@asset
def numbers() -> int:
    return 2


@asset_check(asset=numbers)
def numbers_is_two(numbers: int) -> AssetCheckResult:
    return AssetCheckResult(passed=numbers == 2)


def _run(instance: DagsterInstance) -> str:
    job = Definitions(assets=[numbers], asset_checks=[numbers_is_two], jobs=[define_asset_job("tiny")])
    run_id = str(uuid.uuid4())
    result = job.resolve_job_def("tiny").execute_in_process(instance=instance, run_id=run_id)
    assert result.success
    return run_id


def test_runs_recorded_with_open_connections_read_back_by_a_fresh_instance(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    home = dagster_home()  # writes the settings, as `accounts` does before its first run
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.event_log_storage, PooledSqliteEventLogStorage)
        run_ids = [_run(instance) for _ in range(OPEN_DATABASES + 2)]  # more runs than open files
        assert len(instance.event_log_storage._engines) <= OPEN_DATABASES
    # what the UI does: another instance on the same folder reads every event and check result
    with DagsterInstance.from_config(str(home)) as reader:
        for run_id in run_ids:
            kinds = [e.dagster_event.event_type_value for e in reader.all_logs(run_id) if e.dagster_event]
            assert kinds.count("ASSET_MATERIALIZATION") == 1
            assert kinds.count("ASSET_CHECK_EVALUATION") == 1
            assert kinds[-1] == "PIPELINE_SUCCESS"  # (Dagster's name for a run's success)
        record = reader.get_latest_materialization_event(numbers.key)
        assert record is not None and record.run_id == run_ids[-1]  # the cross-run index too


def test_settings_written_by_an_older_accounts_are_brought_up_to_date_a_persons_are_kept(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    settings = tmp_path / "dagster.yaml"
    settings.write_text(f"{SETTINGS_HEADER}: an earlier version\ntelemetry:\n  enabled: false\n")
    dagster_home()
    assert "PooledSqliteEventLogStorage" in settings.read_text()
    assert str(tmp_path / "history" / "runs") in settings.read_text()
    own = "telemetry:\n  enabled: true\n"
    settings.write_text(own)
    dagster_home()
    assert settings.read_text() == own
