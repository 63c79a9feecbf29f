"""Delivery-order independence (SPEC §1), proven with hypothesis on a small data set: whatever
files the rows are split into, whatever nights they arrive on and in whatever order (children
before their customer included), the rows that count once everything arrived are the same as for
one delivery of everything, and nothing is held or quarantined. Everything downstream (dbt, the
assignment) reads only those rows, so the published tables depend only on the set of rows
delivered; tests/e2e/test_real_feeds.py shows it end to end for a customer delivered late."""

import datetime as dt
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.ingest.audit import held_rows_sql
from pipelines.ingest.datasets import DATASETS
from pipelines.ingest.loader import ingest_all

D = dt.date.fromisoformat
CUSTOMERS = [
    {"customer_id": "C1", "customer_name": "Acme", "customer_type": "mfg", "region": "north"},
    {"customer_id": "C2", "customer_name": "Beta", "customer_type": None, "region": None},
    {"customer_id": "C3", "customer_name": None, "customer_type": "svc", "region": "south"},
]
ROWS = {
    "customers": CUSTOMERS,
    "account_managers": [
        {"manager_id": "M1", "manager_name": "Ann", "active_from": D("2020-01-01"), "active_to": None},
        {"manager_id": "M2", "manager_name": "Bob", "active_from": D("2024-03-01"), "active_to": None},
    ],
    "employee_counts": [
        {"customer_id": c, "as_of_date": D("2023-01-01"), "employees": n} for c, n in (("C1", 40), ("C3", 9))
    ],
    "revenue": [
        {"transaction_id": f"T{i}", "customer_id": f"C{1 + i % 3}",
         "transaction_date": D("2023-01-05") + dt.timedelta(days=23 * i),
         "product_line": None if i == 4 else f"line{i % 4}", "amount": 100 + i, "margin": 10}
        for i in range(12)
    ],
    "contacts": [
        {"contact_id": f"K{i}", "customer_id": f"C{1 + i % 3}",
         "contact_date": dt.datetime(2024, 1, 1 + i, 9), "medium": "phone", "direction": "outbound",
         "reason_code": "billing_error" if i % 2 else None, "contact_person": f"p{i}"}
        for i in range(6)
    ],
    "referrals": [
        {"referral_id": "R1", "referrer_customer_id": "C1", "referral_date": D("2024-02-01"),
         "referred_customer_id": "C3"},
    ],
    "assignments": [{"customer_id": "C1", "manager_id": "M1"}, {"customer_id": "C2", "manager_id": "M2"}],
}  # fmt: skip
ALL_ROWS = [(dataset, index) for dataset, rows in ROWS.items() for index in range(len(rows))]
NIGHTS = 3


def write_delivery(landing: Path, night: int, files: dict[tuple[str, int], list[dict]]) -> None:
    for (dataset, part), rows in files.items():
        schema = {c: pl.String for c in DATASETS[dataset].columns}
        frame = pl.DataFrame(
            [{k: None if v is None else str(v) for k, v in r.items()} for r in rows], schema=schema
        )
        folder = landing / dataset
        folder.mkdir(parents=True, exist_ok=True)
        frame.write_csv(folder / f"night{night}-part{part}.csv")


def counted_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """The rows that count: every dataset's values (no lineage), children of known customers."""
    out = {}
    for name, dataset in DATASETS.items():
        columns = ", ".join(f"r.{c}" for c in dataset.columns)
        known = " AND ".join(
            f"EXISTS (SELECT 1 FROM raw.customers c WHERE c.customer_id = r.{column})"
            for column in dataset.parent_customer_columns
        )
        where = f" WHERE {known}" if known else ""
        out[name] = con.execute(f"SELECT {columns} FROM raw.{name} r{where} ORDER BY ALL").fetchall()
    return out


def deliver(tmp: Path, plan: dict[tuple[str, int], tuple[int, int, bool]]) -> dict[str, list[tuple]]:
    """Deliver every row per `plan` (row -> night, file part, delivered twice) and load night by
    night; return the rows that count, after checking nothing is held or quarantined."""
    landing, con = tmp / "landing", duckdb.connect(str(tmp / "warehouse.duckdb"))
    try:
        for night in range(NIGHTS):
            files: dict[tuple[str, int], list[dict]] = {}
            for (dataset, index), (row_night, part, twice) in plan.items():
                if row_night == night or (twice and row_night < night):  # re-delivered later, identical
                    files.setdefault((dataset, part), []).append(ROWS[dataset][index])
            write_delivery(landing, night, files)
            ingest_all(con, landing)
        assert con.execute("SELECT count(*) FROM raw.quarantine").fetchone() == (0,)
        assert con.execute(f"SELECT count(*) FROM ({held_rows_sql('warehouse', 30)})").fetchone() == (0,)
        return counted_rows(con)
    finally:
        con.close()


@pytest.fixture(scope="module")
def at_once(tmp_path_factory) -> dict[str, list[tuple]]:
    """Every row in one file per dataset, in one night."""
    return deliver(tmp_path_factory.mktemp("once"), dict.fromkeys(ALL_ROWS, (0, 0, False)))


def test_one_delivery_of_everything(at_once):
    found = {name: len(rows) for name, rows in at_once.items() if rows or name in ROWS}
    assert found == {n: len(r) for n, r in ROWS.items()}


# per row: the night it arrives, the file it is in, whether it is delivered again on later nights
PLANS = st.fixed_dictionaries(
    {row: st.tuples(st.integers(0, NIGHTS - 1), st.integers(0, 2), st.booleans()) for row in ALL_ROWS}
)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plan=PLANS)
def test_split_into_files_and_nights_in_any_order_the_same_rows_count(tmp_path_factory, at_once, plan):
    assert deliver(tmp_path_factory.mktemp("split"), plan) == at_once
