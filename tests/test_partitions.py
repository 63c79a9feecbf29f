import pytest

from pipelines.partitions import month_of_partition, months_between, partition_of_month


def test_partition_keys_and_months_round_trip():
    assert partition_of_month("2026-10") == "2026-10-01"
    assert month_of_partition("2026-10-01") == "2026-10"


def test_months_between_crosses_years():
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-02", "2026-02") == ["2026-02"]


def test_bad_months_are_rejected():
    with pytest.raises(ValueError, match="YYYY-MM"):
        partition_of_month("2026-13")
    with pytest.raises(ValueError, match="ends before"):
        months_between("2026-03", "2026-01")
