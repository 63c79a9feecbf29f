"""Months, the pipeline's unit of history: one snapshot per month (`YYYY-MM`).

Every month rule on the Python side lives here: parsing and validating `YYYY-MM`, the next month,
ranges of months, and the Dagster partition key of a month (its first day, `2026-10-01`). The dbt
project receives months already validated and only turns them into dates.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable

MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


class MonthError(ValueError):
    """A month that is not `YYYY-MM`, or a range that ends before it starts."""


def parse_month(text: str) -> str:
    """`'2026-10'` -> `'2026-10'`; anything else raises MonthError naming the value."""
    month = text.strip() if isinstance(text, str) else ""
    if not MONTH.fullmatch(month):
        raise MonthError(f"not a month (YYYY-MM): {text!r}")
    return month


def month_of(day: dt.date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def first_day(month: str) -> dt.date:
    return dt.date.fromisoformat(f"{parse_month(month)}-01")


def next_month(month: str) -> str:
    first = first_day(month)
    return month_of((first.replace(day=28) + dt.timedelta(days=4)).replace(day=1))


def add_months(month: str, count: int) -> str:
    first = first_day(month)
    index = first.year * 12 + first.month - 1 + count
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months_between(month_from: str, month_to: str) -> list[str]:
    """Every month from `month_from` to `month_to`, inclusive."""
    start, end = parse_month(month_from), parse_month(month_to)
    if end < start:
        raise MonthError(f"month range ends before it starts: {start}..{end}")
    months, month = [], start
    while month <= end:
        months.append(month)
        month = next_month(month)
    return months


def contiguous_ranges(months: Iterable[str]) -> list[tuple[str, str]]:
    """[2024-01, 2024-02, 2024-05] -> [(2024-01, 2024-02), (2024-05, 2024-05)]."""
    ranges: list[tuple[str, str]] = []
    for month in sorted(set(months)):
        if ranges and next_month(ranges[-1][1]) == month:
            ranges[-1] = (ranges[-1][0], month)
        else:
            ranges.append((month, month))
    return ranges


def partition_key(month: str) -> str:
    """The Dagster partition key of a month: `2026-10` -> `2026-10-01`."""
    return first_day(month).isoformat()


def month_of_partition(key: str) -> str:
    """`2026-10-01` -> `2026-10`."""
    return parse_month(key[:7])
