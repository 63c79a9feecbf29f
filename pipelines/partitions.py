"""Monthly partitions: one partition is one month's snapshot (SPEC §3).

A partition key is the month's first day (`2026-10-01`); dbt receives the month range as
`month_from` / `month_to` (`YYYY-MM`) and decides the snapshot date D inside each month.
"""

from __future__ import annotations

import datetime as dt

from dagster import MonthlyPartitionsDefinition, PartitionKeyRange

HISTORY_START = "2020-01-01"

# end_offset=1 keeps the running month a partition, because the nightly run refreshes it.
monthly_partitions = MonthlyPartitionsDefinition(start_date=HISTORY_START, end_offset=1)


def month_of_partition(partition_key: str) -> str:
    """`2026-10-01` -> `2026-10`."""
    return partition_key[:7]


def partition_of_month(month: str) -> str:
    """`2026-10` -> `2026-10-01`, validating the month."""
    try:
        return dt.datetime.strptime(month, "%Y-%m").date().isoformat()
    except ValueError:
        raise ValueError(f"not a month (YYYY-MM): {month!r}") from None


def month_range(key_range: PartitionKeyRange) -> tuple[str, str]:
    return month_of_partition(key_range.start), month_of_partition(key_range.end)


def months_between(month_from: str, month_to: str) -> list[str]:
    """Every month from `month_from` to `month_to`, inclusive, as `YYYY-MM`."""
    start = dt.date.fromisoformat(partition_of_month(month_from))
    end = dt.date.fromisoformat(partition_of_month(month_to))
    if end < start:
        raise ValueError(f"month range ends before it starts: {month_from}..{month_to}")
    months, year, month = [], start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months
