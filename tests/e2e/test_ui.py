"""`accounts ui` after a CLI run: Dagster's web UI (a real `dagster dev`) shows the run's
materialisations and the checks that passed, with no DAGSTER_HOME set by the user."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

import pytest
from conftest import SAMPLE_LANDING
from run_helpers import accounts_command, accounts_env, run_accounts

pytestmark = pytest.mark.e2e
STARTUP_SECONDS = 240  # dagster dev loads the code location (the dbt manifest) in a subprocess

QUERY = """
{
  assetNodes(assetKeys: [{path: ["published_warehouse"]}, {path: ["publication_report"]}]) {
    assetKey { path }
    assetMaterializations(limit: 1) { runId }
  }
  assetCheckExecutions(assetKey: {path: ["staged_publication"]}, checkName: "quality_expectations",
                       limit: 1) { status }
}
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def _wait_for_answer(port: int, server: subprocess.Popen) -> dict:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"accounts ui exited with {server.returncode}")
        try:
            answer = _graphql(port, QUERY)
            if answer.get("data", {}).get("assetNodes"):
                return answer
        except OSError:
            pass
        time.sleep(2)
    pytest.fail(f"the Dagster UI did not answer within {STARTUP_SECONDS} s")


def test_the_dagster_ui_shows_the_cli_runs_materialisations_and_checks(tmp_path):
    warehouse = tmp_path / "warehouse"
    env = accounts_env(SAMPLE_LANDING, warehouse)
    done = run_accounts(env, "run")
    assert done.returncode == 0, done.stderr
    port = _free_port()
    server = subprocess.Popen(
        accounts_command("ui", "--port", str(port)),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        answer = _wait_for_answer(port, server)
    finally:  # the whole process group: accounts, dagster dev, its webserver and code server
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
    data = answer["data"]
    materialised = {
        tuple(node["assetKey"]["path"]): node["assetMaterializations"] for node in data["assetNodes"]
    }
    assert materialised.keys() == {("published_warehouse",), ("publication_report",)}
    assert all(len(events) == 1 for events in materialised.values()), materialised
    assert [execution["status"] for execution in data["assetCheckExecutions"]] == ["SUCCEEDED"]
    assert (warehouse / "dagster" / "dagster.yaml").exists()
