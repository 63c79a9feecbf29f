"""Choosing the engine: one setting, checked before anything runs, with a message a person can act on."""

import pytest

from pipelines.cli import main
from pipelines.core.engine import EngineError, engine, spark_dir
from pipelines.freshness.current import pipeline_version


def test_duckdb_is_the_default(monkeypatch):
    monkeypatch.delenv("ACCOUNTS_ENGINE", raising=False)
    assert engine() == "duckdb"
    monkeypatch.setenv("ACCOUNTS_ENGINE", " Spark ")
    assert engine() == "spark"


def test_an_unknown_engine_is_refused_before_anything_runs(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("ACCOUNTS_ENGINE", "postgres")
    monkeypatch.setenv("ACCOUNTS_WAREHOUSE_DIR", str(tmp_path / "warehouse"))
    with pytest.raises(EngineError, match="names no engine: use one of duckdb, spark"):
        engine()
    assert main(["run"]) == 1
    assert "ACCOUNTS_ENGINE='postgres' names no engine" in capsys.readouterr().err
    assert not (tmp_path / "warehouse").exists()


def test_spark_needs_its_extra(monkeypatch):
    monkeypatch.setattr("pipelines.core.engine._importable", lambda module: module != "pyspark")
    with pytest.raises(EngineError, match=r"needs pyspark, not installed here: install the spark extra"):
        engine("spark")


def test_the_spark_folder_lives_in_the_warehouse_unless_set(monkeypatch, tmp_path):
    monkeypatch.delenv("ACCOUNTS_SPARK_DIR", raising=False)
    assert spark_dir(tmp_path) == tmp_path / "spark"
    monkeypatch.setenv("ACCOUNTS_SPARK_DIR", str(tmp_path / "elsewhere"))
    assert spark_dir(tmp_path) == tmp_path / "elsewhere"


def test_the_engine_is_part_of_the_pipeline_version(monkeypatch):
    monkeypatch.delenv("ACCOUNTS_ENGINE", raising=False)
    on_duckdb = pipeline_version()
    monkeypatch.setenv("ACCOUNTS_ENGINE", "spark")
    assert pipeline_version() == on_duckdb + ".spark"
