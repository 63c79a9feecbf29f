"""`generate`: the landing folder of the sample business, written chunk by chunk, and the account
managers (simulated once for all chunks, since every chunk's customers are owned by them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from sample_data.activity import contacts_frame, referrals_frame, revenue_frame
from sample_data.business import CHUNK_CUSTOMERS, FIRST_NAMES, LAST_NAMES
from sample_data.customers import Chunk, assignments_frame, customers_frame, employee_counts_frame
from sample_data.vectorised import NEVER, dates, day_number, seeded_rng
from sample_data.writer import BY_YEAR, Sink


def generate(
    out_dir: Path,
    customers: int,
    seed: int,
    start: date = date(2022, 11, 1),
    end: date = date(2026, 10, 31),
    file_format: str = "auto",
) -> dict[str, int]:
    """Write a deterministic landing folder for `customers` customers; return rows per dataset.

    `file_format`: "auto" (CSV for the small datasets, Parquet for revenue and contacts), "csv"
    or "parquet" (every dataset in that format). Files of the same name are replaced.
    """
    if customers < 1:
        raise ValueError(f"customers must be at least 1, got {customers}")
    if file_format not in ("auto", "csv", "parquet"):
        raise ValueError(f"file_format must be auto, csv or parquet, got {file_format!r}")
    if (end - start).days < 365:
        raise ValueError(f"the period {start}..{end} must span at least a year")
    out_dir = Path(out_dir)
    start_d, end_d = day_number(start), day_number(end)
    sink = Sink(out_dir, file_format, range(start.year, end.year + 1))
    try:
        managers = _managers(seeded_rng(seed, 0), customers, start_d, end_d)
        sink.write("account_managers", "account_managers", _managers_frame(managers))
        counters = {"transaction": 0, "contact": 0, "referral": 0}
        for chunk, first in enumerate(range(0, customers, CHUNK_CUSTOMERS)):
            n = min(CHUNK_CUSTOMERS, customers - first)
            sim = Chunk(seeded_rng(seed, 1, chunk), first, n, customers, start_d, end_d, managers)
            for dataset, frame in _chunk_frames(sim, counters).items():
                if dataset in BY_YEAR:
                    column = "transaction_date" if dataset == "revenue" else "contact_date"
                    years = frame[column].dt.year()
                    for year in range(start.year, end.year + 1):
                        part = frame.filter(years == year)
                        if part.height:
                            sink.write(dataset, str(year), part)
                else:
                    sink.write(dataset, dataset, frame)
    finally:
        sink.close()
    return sink.rows


def _chunk_frames(chunk: Chunk, counters: dict[str, int]) -> dict[str, pl.DataFrame]:
    """The datasets of one chunk, built in this order: each draws from the chunk's random stream."""
    return {
        "customers": customers_frame(chunk),
        "employee_counts": employee_counts_frame(chunk),
        "revenue": revenue_frame(chunk, counters),
        "contacts": contacts_frame(chunk, counters),
        "referrals": referrals_frame(chunk, counters),
        "assignments": assignments_frame(chunk),
    }


# --------------------------------------------------------------------------------------------
# managers


def _managers(rng: np.random.Generator, customers: int, start_d: int, end_d: int) -> dict:
    """Seats of ~250 customers; each seat's occupant may leave and be replaced after a gap.
    Seat 0 is never vacant, so some manager is active at every date of the period."""
    seats = max(3, round(customers / 250))
    span = end_d - start_d
    grown = int(seats * 0.15) if seats >= 5 else 0  # seats created during the period
    seat_from = np.where(
        np.arange(seats) < seats - grown,
        start_d - rng.integers(30, 3650, seats),
        start_d + rng.integers(30, max(31, span - 180), seats),
    )
    rows_from, rows_to, rows_seat = [], [], []
    current_from = seat_from
    open_seats = np.arange(seats)
    for generation in range(3):
        leave_p = 0.30 if generation == 0 else 0.15
        lo = np.maximum(current_from + 120, start_d + 60)
        can_leave = (lo < end_d - 30) & (open_seats != 0) & (generation < 2)
        leaves = can_leave & (rng.random(open_seats.size) < leave_p)
        leave_at = np.where(
            leaves, lo + (rng.random(open_seats.size) * (end_d - 30 - lo)).astype(np.int64), NEVER
        )
        rows_from.append(current_from)
        rows_to.append(leave_at)
        rows_seat.append(open_seats)
        successor_from = leave_at + rng.integers(0, 45, open_seats.size)
        keep = leaves & (successor_from < end_d - 30)
        open_seats, current_from = open_seats[keep], successor_from[keep]
        if not open_seats.size:
            break
    active_from = np.concatenate(rows_from)
    active_to = np.concatenate(rows_to)
    seat = np.concatenate(rows_seat)
    order = np.lexsort((seat, active_from))
    m = order.size
    width = max(3, len(str(m)))
    first = rng.integers(0, len(FIRST_NAMES), m)
    last = rng.integers(0, len(LAST_NAMES), m)
    return {
        "id": np.array([f"M{i + 1:0{width}d}" for i in range(m)]),
        "name": np.array([f"{FIRST_NAMES[a]} {LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]),
        "from": active_from[order],
        "to": active_to[order],
    }


def _managers_frame(managers: dict) -> pl.DataFrame:
    to = managers["to"]
    return pl.DataFrame(
        {
            "manager_id": managers["id"],
            "manager_name": managers["name"],
            "active_from": dates(managers["from"]),
            "active_to": dates(np.where(to >= NEVER, 0, to)).set(pl.Series(to >= NEVER), None),
        }
    )
