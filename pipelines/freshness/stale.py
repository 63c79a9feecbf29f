"""Which published months did late data make stale, and which month is current (SPEC §3, §13)?
Functions of the working warehouse and the published file; nothing here writes.

A published month is stale when a row that counts in its snapshot D changed after the month was
last published. What "counts" is derived from the measures (the set of months a changed row
dated t can change):

- revenue, every D >= t: the universe (first transaction), product lines ever, the 2nd / 3rd
  line dates and the last purchase look back without bound; grades feed the assignment, which
  carries over month to month;
- employee_counts, every D >= t: the latest count on or before D, without bound; grades, then
  the assignment;
- contacts with a dissatisfier reason code, every D >= t: the early-warning list shows the last
  dissatisfier contacts, however old;
- other contacts and referrals, t <= D < t + 2 windows + 1 month: the trailing window of D and
  of D0 = D - window (contact drivers, defection rates), and the month after (the change of the
  health score since last month);
- account_managers, every D >= active_from: who is active; the assignment carries over;
- assignments (the CRM's owners), every published D: the first assignment starts from them;
- assignment_pins, every D >= valid_from: the assignment carries over month to month.

A month published after a change but computed from a month before it that the change made stale
(the current month of a nightly run with late rows for earlier months) is stale too: from the
first month a change reaches that was published before the change loaded, every later month it
reaches is stale.

A row counts from the later of its own load and its customer's (a row held until its customer
arrived counts from the arrival; a changed customer row, e.g. a new type, restates its rows); a
replaced row's previous date counts too. And the snapshot date of a month that ended before its
last day (the current month when it was published) moves when a later transaction arrives.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipelines.core.config import Settings, load_config
from pipelines.core.months import month_of
from pipelines.ingest.datasets import DATASETS


def _changes(warehouse: str, settings: Settings, since: dt.datetime) -> str:
    """SQL of every change after `since` (the earliest time a published month was last published:
    nothing older can make one stale): (dataset, changed_at, day, reach_months); day NULL = every
    snapshot, reach_months NULL = no bound."""
    # two windows (D and D0 = D - window), and one month more: a health score's change since last
    # month reads the month before
    both_windows = 2 * settings.revenue_window_months + 1
    codes = ", ".join("'" + c.replace("'", "''") + "'" for c in settings.dissatisfier_reason_codes) or "NULL"
    raw = f"{warehouse}.raw"

    after = f"TIMESTAMP '{since.isoformat(sep=' ')}'"

    def child(dataset: str, day: str, reach: str, alias: str = "r") -> str:
        # A row changes when it or its customer loads: rows loaded after `since` (the raw tables
        # are in load order, so a scan skips the older row groups by their _loaded_at ranges),
        # then older rows of customers loaded after `since` (a hash table of those customers).
        customer = DATASETS[dataset].parent_customer_columns[0]
        rows = (
            f"SELECT '{dataset}' AS dataset, greatest({alias}._loaded_at, c._loaded_at) AS changed_at, "
            f"{day}::DATE AS day, {reach} AS reach_months FROM {raw}.{dataset} {alias} "
            f"JOIN {raw}.customers c ON c.customer_id = {alias}.{customer}"
        )
        return (
            f"{rows} WHERE {alias}._loaded_at > {after} UNION ALL "
            f"{rows} WHERE {alias}._loaded_at <= {after} AND c._loaded_at > {after}"
        )

    def replaced(dataset: str, reach: str) -> str:
        return (
            f"SELECT dataset, replaced_at, previous_date, {reach} FROM {raw}.row_replacements "
            f"WHERE dataset = '{dataset}'"
        )

    contact_reach = f"CASE WHEN r.reason_code IN ({codes}) THEN NULL ELSE {both_windows} END"
    return " UNION ALL ".join(
        [
            child("revenue", "r.transaction_date", "NULL"),
            replaced("revenue", "NULL"),
            child("employee_counts", "r.as_of_date", "NULL"),
            replaced("employee_counts", "NULL"),
            child("contacts", "r.contact_date", contact_reach),
            replaced("contacts", "NULL"),  # the previous reason code is not kept: no bound
            child("referrals", "r.referral_date", str(both_windows)),
            replaced("referrals", str(both_windows)),
            f"SELECT 'account_managers', _loaded_at, active_from, NULL FROM {raw}.account_managers",
            replaced("account_managers", "NULL"),
            child("assignments", "NULL", "NULL"),
            replaced("assignments", "NULL"),
            child("assignment_pins", "r.valid_from", "NULL"),
            replaced("assignment_pins", "NULL"),
        ]
    )


def stale_months(warehouse: Path, published: Path, settings: Settings | None = None) -> list[str]:
    """Published months (YYYY-MM) whose snapshot rows loaded after their publication can change."""
    if not (warehouse.exists() and published.exists()):
        return []
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{warehouse}' AS wh (READ_ONLY)")
        con.execute(f"ATTACH '{published}' AS pub (READ_ONLY)")
        return stale_months_in(con, "wh", "pub", settings or load_config())
    finally:
        con.close()


def stale_months_in(
    con: duckdb.DuckDBPyConnection, warehouse: str, published: str, settings: Settings
) -> list[str]:
    """`stale_months` on a connection with the warehouse and the published file attached under
    the given names; [] while the warehouse holds no raw tables yet."""
    present = {
        r[0]
        for r in con.execute(
            "SELECT table_name FROM information_schema.tables "  # views too: raw tables Spark holds
            "WHERE table_catalog = ? AND table_schema = 'raw'",
            [warehouse],
        ).fetchall()
    }
    if not (set(DATASETS) | {"row_replacements"}) <= present:
        return []
    [(since,)] = con.execute(
        "SELECT min(published_at) FROM (SELECT max(published_at) AS published_at FROM (SELECT "
        f"unnest(months_refreshed) AS month, published_at FROM {published}.main.publications) GROUP BY month)"
    ).fetchall()
    if since is None:  # no month published yet
        return []
    reaches = """(c.day IS NULL
           OR (c.day <= m.as_of_date
               AND (c.reach_months IS NULL OR c.day > m.as_of_date - to_months(c.reach_months::INTEGER)))
           -- D was the latest transaction's date: a later transaction moves it
           OR (c.dataset = 'revenue' AND c.day > m.as_of_date AND m.as_of_date < last_day(m.as_of_date)))"""
    rows = con.execute(
        f"""
        WITH publications AS (SELECT * FROM {published}.main.publications),
        published_months AS (
            SELECT month, max(published_at) AS published_at
            FROM (SELECT unnest(months_refreshed) AS month, published_at FROM publications)
            GROUP BY month
        ),
        snapshot_dates AS (  -- the snapshot date D of each month the file holds
            SELECT unnest(as_of_dates) AS as_of_date
            FROM publications
            WHERE publication_id = (SELECT max(publication_id) FROM publications)
        ),
        months AS (
            SELECT p.month, p.published_at, d.as_of_date
            FROM published_months p
            JOIN snapshot_dates d ON strftime(d.as_of_date, '%Y-%m') = p.month
        ),
        changes AS ({_changes(warehouse, settings, since)}),
        first_stale AS (  -- per kind of change, the first month it reaches published before it loaded
            SELECT c.dataset, c.day, c.reach_months, min(m.month) AS first_month
            FROM months m
            JOIN changes c ON c.changed_at > m.published_at
            WHERE {reaches}
            GROUP BY ALL
        )
        -- that month and every later month the change reaches: each starts from the month before
        -- (the assignment carries over, the health change reads the previous score), so a month
        -- published after the change but computed from a stale month before it is stale too
        SELECT DISTINCT m.month
        FROM first_stale c
        JOIN months m ON m.month >= c.first_month
        WHERE {reaches}
        ORDER BY 1
        """
    ).fetchall()
    return [r[0] for r in rows]


def transaction_months(warehouse: Path) -> tuple[str, str] | None:
    """The months of the first and the latest transaction loaded; None before any revenue."""
    if not warehouse.exists():
        return None
    try:
        con = duckdb.connect(str(warehouse), read_only=True)
    except duckdb.IOException:  # another process is writing it: the months are not known now
        return None
    try:
        found = con.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = 'raw' AND table_name = 'revenue'"
        ).fetchall()[0][0]
        if not found:
            return None
        first, latest = con.execute(
            "SELECT min(transaction_date), max(transaction_date) FROM raw.revenue"
        ).fetchall()[0]
    finally:
        con.close()
    return (month_of(first), month_of(latest)) if first else None


def latest_transaction_month(warehouse: Path) -> str | None:
    months = transaction_months(warehouse)
    return months[1] if months else None
