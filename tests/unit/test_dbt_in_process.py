"""dbt in the run's own process (pipelines/transforms/in_process.py), on a small real dbt project
and a real DuckDB file: results stream as dbt's JSON-log dicts, a failure names what dbt said and
where its log is, the DuckDB file is free for the next step however the invocation ended, and the
project is parsed once per key."""

from __future__ import annotations

import threading

import duckdb
import pytest

from pipelines.transforms import in_process

PROJECT = {
    "dbt_project.yml": "name: tiny\nversion: '1.0'\nprofile: tiny\nmodel-paths: [models]\n",
    "profiles.yml": (
        "tiny:\n  target: dev\n  outputs:\n    dev:\n      type: duckdb\n"
        "      path: \"{{ env_var('TINY_WAREHOUSE') }}\"\n      threads: 2\n"
    ),
    "models/amounts.sql": "select 1 as id, 10 as amount union all select 2, {{ var('second', 20) }}",
    "models/totals.sql": "select sum(amount) as total from {{ ref('amounts') }}",
    "models/schema.yml": (
        "version: 2\nmodels:\n  - name: amounts\n    columns:\n      - name: amount\n"
        "        data_tests: [not_null]\n  - name: totals\n    columns:\n      - name: total\n"
        "        data_tests:\n          - accepted_values:\n              arguments:\n"
        "                values: [30]\n"
    ),
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    for name, text in PROJECT.items():
        (tmp_path / "project" / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "project" / name).write_text(text)
    monkeypatch.setenv("TINY_WAREHOUSE", str(tmp_path / "tiny.duckdb"))
    return tmp_path


def args_for(project, *extra: str) -> list[str]:
    return ["build", *extra, *in_process.common_args(project / "project", project / "target")]


def file_is_free(path) -> bool:
    """True if this process can open the file read-only: nothing in it holds it read-write."""
    try:
        duckdb.connect(str(path), read_only=True).close()
    except duckdb.Error:
        return False
    return True


def test_a_build_streams_each_result_and_leaves_the_database_free(project):
    events = list(in_process.run(args_for(project), manifest=None))

    results = {e["data"]["node_info"]["unique_id"]: e["info"]["name"] for e in events}
    assert results == {
        "model.tiny.amounts": "LogModelResult",
        "model.tiny.totals": "LogModelResult",
        **{uid: "LogTestResult" for uid in results if uid.startswith("test.tiny.")},
    }
    assert sum(uid.startswith("test.tiny.") for uid in results) == 2
    assert all(e["data"]["node_info"]["node_status"] in ("success", "pass") for e in events)
    assert (project / "target" / "run_results.json").exists() and (project / "target" / "dbt.log").exists()
    assert file_is_free(project / "tiny.duckdb")
    with duckdb.connect(str(project / "tiny.duckdb")) as con:
        assert con.execute("select total from totals").fetchone() == (30,)


def test_a_failing_test_raises_with_what_dbt_said_and_where_its_log_is(project):
    events = []
    with pytest.raises(in_process.DbtFailed) as failure:
        for event in in_process.run(args_for(project, "--vars", '{"second": 21}'), manifest=None):
            events.append(event)
    message = str(failure.value)
    assert message.startswith("dbt build failed:")
    assert "accepted_values_totals_total" in message and "Got 1 result" in message
    assert str(project / "target" / "dbt.log") in message
    failed = [e for e in events if e["data"].get("node_info", {}).get("node_status") == "fail"]
    assert len(failed) == 1  # the result event itself reached the consumer before the error
    assert file_is_free(project / "tiny.duckdb")


def test_a_dbt_that_cannot_start_fails_with_its_reason(project, monkeypatch):
    monkeypatch.delenv("TINY_WAREHOUSE")  # the profile cannot render
    with pytest.raises(in_process.DbtFailed, match="TINY_WAREHOUSE"):
        list(in_process.run(args_for(project), manifest=None))


def test_a_consumer_that_stops_early_waits_for_dbt_to_finish(project):
    events = in_process.run(args_for(project), manifest=None)
    next(events)
    events.close()  # what a step failing on its first event does
    assert not any(t.name == "dbt" and t.is_alive() for t in threading.enumerate())
    assert file_is_free(project / "tiny.duckdb")


def test_the_project_is_parsed_once_per_key_and_the_parse_serves_a_build(project):
    parse_args = in_process.common_args(project / "project", project / "target")
    first = in_process.parse_once(("run-1",), parse_args)
    assert in_process.parse_once(("run-1",), parse_args) is first
    assert sorted(first.nodes)[:2] == ["model.tiny.amounts", "model.tiny.totals"]
    assert (project / "target" / "partial_parse.msgpack").exists()  # the state the next run reads

    events = list(in_process.run(args_for(project, "--select", "amounts"), manifest=first))
    assert {e["data"]["node_info"]["unique_id"] for e in events} >= {"model.tiny.amounts"}
    assert "model.tiny.totals" not in {e["data"]["node_info"]["unique_id"] for e in events}
    assert in_process.parse_once(("run-2",), parse_args) is not first


def test_a_run_reports_dbts_failure_without_the_exceptions_module_path(project):
    import sys

    from dagster._utils.error import serializable_error_info_from_exc_info

    from pipelines.execution import _short

    try:
        list(in_process.run(args_for(project, "--vars", '{"second": 21}'), manifest=None))
    except in_process.DbtFailed:
        error = serializable_error_info_from_exc_info(sys.exc_info())
    shown = _short(error)
    assert shown.startswith("dbt build failed:\n    ") and "accepted_values_totals_total" in shown
    assert "in_process" not in shown.splitlines()[0]
