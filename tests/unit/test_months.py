"""Months: the one home of YYYY-MM parsing, next month, ranges and partition keys."""

import pytest

from pipelines.core.months import (
    MonthError,
    add_months,
    contiguous_ranges,
    month_of_partition,
    months_between,
    next_month,
    parse_month,
    partition_key,
)


def test_partition_keys_and_months_round_trip():
    assert partition_key("2026-10") == "2026-10-01"
    assert month_of_partition("2026-10-01") == "2026-10"


def test_months_between_crosses_years():
    assert months_between("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]
    assert months_between("2026-02", "2026-02") == ["2026-02"]


def test_next_and_added_months_cross_years_and_centuries():
    assert next_month("1999-12") == "2000-01"
    assert add_months("1997-06", 18) == "1998-12"
    assert add_months("2026-01", -1) == "2025-12"


def test_contiguous_ranges():
    months = ["2024-05", "2024-01", "2024-02", "2024-02"]
    assert contiguous_ranges(months) == [("2024-01", "2024-02"), ("2024-05", "2024-05")]


@pytest.mark.parametrize("text", ["2026-13", "2026-1", "26-10", "October", ""])
def test_bad_months_are_rejected_naming_the_value(text):
    with pytest.raises(MonthError, match="YYYY-MM"):
        parse_month(text)
    with pytest.raises(MonthError):
        partition_key(text)


def test_a_range_that_ends_before_it_starts_is_rejected():
    with pytest.raises(MonthError, match="ends before"):
        months_between("2026-03", "2026-01")
