"""Shared fixtures: an isolated warehouse for every end-to-end run."""

import shutil
from pathlib import Path

import pytest

SAMPLE_LANDING = Path(__file__).resolve().parent.parent / "data" / "landing"


@pytest.fixture
def landing_copy(tmp_path):
    """A private copy of the bundled sample's landing folder, safe to add bad files to."""
    landing = tmp_path / "landing"
    shutil.copytree(SAMPLE_LANDING, landing)
    return landing


def use_dirs(monkeypatch: pytest.MonkeyPatch, landing: Path, warehouse: Path) -> None:
    monkeypatch.setenv("ACCOUNTS_LANDING_DIR", str(landing))
    monkeypatch.setenv("ACCOUNTS_WAREHOUSE_DIR", str(warehouse))
