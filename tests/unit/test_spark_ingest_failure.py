"""A Spark ingestion job that fails ends with one line a person can act on, the log kept; nothing of
the run is recorded (the job process is real; it fails before starting a JVM)."""

import pytest

from pipelines.ingest.spark_loader import SparkIngestError, _run_spark_job


def test_a_failed_job_says_why_and_where_its_log_is(tmp_path):
    work = tmp_path / "spark" / "ingest" / "20261205T000000000000"
    work.mkdir(parents=True)
    with pytest.raises(SparkIngestError) as failure:
        request = {"loaded_at": "2026-12-05 00:00:00", "datasets": {"orders": {}}}
        _run_spark_job(request, work, tmp_path / "spark" / "logs" / "ingest-20261205T000000000000.log")
    message = str(failure.value)
    assert message.startswith("ingestion on Spark failed (exit 1): ValueError: the request names datasets")
    assert "orders" in message and "the next run retries them" in message
    assert len(message.splitlines()) == 1
    kept = tmp_path / "spark" / "logs" / "ingest-20261205T000000000000.log"
    assert str(kept) in message and "Traceback" in kept.read_text()
