"""What ingestion reports, as SQL over the raw tables of a warehouse (attached under any name):
the data issues of the rows loaded now, and the rows held until their customer arrives.

Held rows are not a table of their own: a child row (revenue, contacts, employee counts,
referrals, CRM owners) is loaded into its raw table whatever the order of delivery, and counts as
soon as its customer is in `raw.customers`; until then it is held, which is what these queries
list. So the published result depends only on the rows delivered, not on the order they came in.
"""

from __future__ import annotations

from pipelines.ingest.datasets import DATASETS

HELD_COLUMNS = "dataset, source_file, source_line, row_key, customer_id, held_since, days_held, orphan"


def held_rows_sql(warehouse: str, orphan_after_days: int) -> str:
    """Every held row: dataset, source_file, source_line, row_key, customer_id, held_since (when it
    was loaded), days_held (to now) and orphan (held longer than `orphan_after_days`)."""
    parts = []
    for dataset in DATASETS.values():
        for column in dataset.parent_customer_columns:
            key = " || '|' || ".join(f"CAST(r.{k} AS VARCHAR)" for k in dataset.key)
            parts.append(
                f"SELECT '{dataset.name}' AS dataset, r._source_file AS source_file, "
                f"r._source_line AS source_line, {key} AS row_key, r.{column} AS customer_id, "
                f"r._loaded_at AS held_since FROM {warehouse}.raw.{dataset.name} r "
                f"WHERE r.{column} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {warehouse}.raw.customers c WHERE c.customer_id = r.{column})"
            )
    now = "(now() AT TIME ZONE 'UTC')"
    return (
        f"SELECT *, date_diff('day', held_since, {now})::BIGINT AS days_held, "
        f"date_diff('day', held_since, {now}) > {int(orphan_after_days)} AS orphan "
        f"FROM ({' UNION ALL '.join(parts)})"
    )


def data_issues_sql(warehouse: str) -> str:
    """The data issues of the rows loaded now (an issue of a row replaced since is history)."""
    parts = [
        f"SELECT i.* FROM {warehouse}.raw.data_issues i JOIN {warehouse}.raw.{name} r "
        f"ON i.dataset = '{name}' AND r._source_file = i.source_file AND r._source_line = i.line_number"
        for name in DATASETS
    ]
    return " UNION ALL ".join(parts)
