"""Monthly partitions: one partition is one month's snapshot, from the month of the first
transaction loaded, whatever the year (SPEC §3).

A partition key is the month's first day (`2026-10-01`, see `pipelines.core.months`); dbt
receives the run's month range and decides the snapshot date D inside each month.
"""

from __future__ import annotations

import datetime as dt

from dagster import MonthlyPartitionsDefinition, PartitionKeyRange

from pipelines.core.months import month_of, month_of_partition, next_month, partition_key


def monthly_partitions(first_month: str | None, last_month: str | None = None) -> MonthlyPartitionsDefinition:
    """Months from `first_month` (the data's first; the current month when nothing is loaded yet)
    to the current month, or to `last_month` when the data reaches beyond today."""
    current = month_of(dt.date.today())
    start = partition_key(first_month or current)
    if last_month and last_month > current:
        return MonthlyPartitionsDefinition(start_date=start, end_date=partition_key(next_month(last_month)))
    # end_offset=1 keeps the running month a partition, because the nightly run refreshes it.
    return MonthlyPartitionsDefinition(start_date=start, end_offset=1)


def month_range(key_range: PartitionKeyRange) -> tuple[str, str]:
    """The run's first and last month (`YYYY-MM`)."""
    return month_of_partition(key_range.start), month_of_partition(key_range.end)
