"""Monthly partitions: one partition is one month's snapshot.

A partition key is the month's first day (`2026-10-01`, see `pipelines.core.months`); dbt
receives the run's month range and decides the snapshot date D inside each month.
"""

from __future__ import annotations

from dagster import MonthlyPartitionsDefinition, PartitionKeyRange

from pipelines.core.months import month_of_partition, partition_key

HISTORY_START = "2020-01"


def monthly_partitions(first_month: str = HISTORY_START) -> MonthlyPartitionsDefinition:
    # end_offset=1 keeps the running month a partition, because the nightly run refreshes it.
    return MonthlyPartitionsDefinition(start_date=partition_key(first_month), end_offset=1)


def month_range(key_range: PartitionKeyRange) -> tuple[str, str]:
    """The run's first and last month (`YYYY-MM`)."""
    return month_of_partition(key_range.start), month_of_partition(key_range.end)
