"""The progress display follows a real Dagster run through the instance's event log."""

import io
import re
import uuid

from dagster import AssetCheckResult, DagsterInstance, Definitions, asset, asset_check, define_asset_job

from pipelines.progress import RunProgress, stage_name


@asset
def first_asset() -> int:
    return 1


@asset
def second_asset(first_asset: int) -> int:
    return first_asset + 1


@asset_check(asset=second_asset)
def second_is_two(second_asset: int) -> AssetCheckResult:
    return AssetCheckResult(passed=second_asset == 2)


def _run(tmp_path, stream, check=second_is_two):
    job = Definitions(
        assets=[first_asset, second_asset], asset_checks=[check], jobs=[define_asset_job("tiny")]
    ).resolve_job_def("tiny")
    run_id = str(uuid.uuid4())
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with (
        DagsterInstance.from_config(str(tmp_path)) as instance,
        RunProgress(instance, run_id, "tiny", stream=stream),
    ):
        return job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False)


def test_without_a_terminal_it_prints_one_timestamped_line_per_stage_and_a_total(tmp_path):
    stream = io.StringIO()  # not a TTY: cron, a pipe, a log file
    assert _run(tmp_path, stream).success
    lines = stream.getvalue().splitlines()
    stamp = r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}"
    assert all(re.match(stamp + " tiny: ", line) for line in lines), lines
    assert any(line.endswith("tiny: first asset") for line in lines), lines
    assert re.search(r"tiny: assets 2/2, checks 1/1 in \d+\.\d s$", lines[-1]), lines


def test_a_failed_check_is_counted(tmp_path):
    @asset_check(asset=second_asset, name="second_is_three")
    def second_is_three(second_asset: int) -> AssetCheckResult:
        return AssetCheckResult(passed=second_asset == 3)

    stream = io.StringIO()
    _run(tmp_path, stream, check=second_is_three)
    assert " tiny: assets 2/2, checks 1/1 (1 failed) in " in stream.getvalue().splitlines()[-1]


def test_steps_are_named_in_words():
    assert stage_name("module_assignment_history") == "assigning customers to account managers"
    assert stage_name("some_new_step") == "some new step"
