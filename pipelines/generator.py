"""Deterministic sample landing data (SPEC §1): a B2B seller's customers, revenue and contacts.

`generate(out_dir, customers, seed)` writes one sub-folder per dataset, the way a real extract
arrives: CSV for the small datasets, Parquet for `revenue` and `contacts` split into one file per
calendar year. The same arguments give byte-identical files.

The simulated business, so that later analyses have something real to find:
- 8 customer types with different revenue per employee; heavy-tailed company sizes (lognormal
  employees, 1..20,000) whose counts change over the years (about 5% of customers have none);
- half the customers exist at the start, the rest are acquired over the period; each customer has
  a loyalty trait that lowers its defection hazard, speeds up adoption of the 6 product lines,
  raises its share of wallet and its referrals and its share of satisfier contacts;
- some customers defect (stop buying) or decline (buy less and less often): their order rate and
  order values sag in the months before, and DISSATISFIER contact reasons are far more frequent in
  the ~6 months before the event (the planted early-warning signal);
- purchase cadence is a gamma renewal process with its own rate and regularity per customer;
  about 2% of rows are credit notes (negative amounts); margins are sometimes missing;
- account managers (one seat per ~250 customers) join and leave; each customer has one owner at a
  time (reassigned when the owner leaves) who makes most outbound contacts;
- referrals, about a third converted into customers acquired later.

Memory stays bounded: customers are simulated in fixed chunks of `CHUNK_CUSTOMERS`, each fully
vectorised with numpy, and appended to the output files (Parquet row groups / CSV appends).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from schemas.raw import DATASETS, MEDIA

CHUNK_CUSTOMERS = 20_000  # fixed: part of the definition of the output, not a tuning knob
BY_YEAR = ("revenue", "contacts")  # split into one file per calendar year
PARQUET_BY_DEFAULT = ("revenue", "contacts")
_EPOCH = date(1970, 1, 1)
_BIG = 10**9  # "never", in days

# customer type -> (share of customers, annual potential revenue per employee)
CUSTOMER_TYPES: dict[str, tuple[float, float]] = {
    "manufacturing": (0.20, 260.0),
    "wholesale": (0.12, 320.0),
    "construction": (0.14, 210.0),
    "healthcare": (0.11, 170.0),
    "professional_services": (0.15, 130.0),
    "retail": (0.12, 190.0),
    "hospitality": (0.09, 110.0),
    "education": (0.07, 80.0),
}
REGIONS = {"North": 0.22, "South": 0.24, "East": 0.18, "West": 0.21, "Central": 0.15}

PRODUCT_LINES = ("consumables", "spare_parts", "equipment", "maintenance", "software", "training")
_LINE_VALUE = np.array([1.0, 0.8, 2.4, 1.4, 1.8, 0.7])  # relative value of an order line
_LINE_MARGIN = np.array([0.28, 0.36, 0.18, 0.45, 0.55, 0.40])  # typical margin rate
_LINE_PRIMARY = np.array([0.60, 0.25, 0.15, 0.0, 0.0, 0.0])  # the line a customer starts with
_LINE_ADOPT_DAYS = np.array([500.0, 450.0, 900.0, 700.0, 1300.0, 1600.0])  # mean days to adopt

# The SPEC §2 default lists (the planted signal uses them) and neutral reasons.
DISSATISFIERS = {
    "delayed_shipment": 0.22, "damaged_product": 0.12, "lack_of_follow_up": 0.10,
    "pricing_complaint": 0.18, "product_unavailable": 0.12, "billing_error": 0.10,
    "service_complaint": 0.10, "no_rep_contact": 0.06,
}  # fmt: skip
SATISFIERS = {
    "technical_support": 0.25, "delivery_notification": 0.20, "product_knowledge": 0.20,
    "personal_relationship": 0.15, "customer_service": 0.20,
}  # fmt: skip
NEUTRAL = {
    "order_inquiry": 0.34, "account_review": 0.20, "quote_request": 0.18,
    "product_information": 0.14, "contract_renewal": 0.08, "invoice_copy": 0.06,
}  # fmt: skip
# medium -> (share among outbound, share among inbound contacts)
MEDIUM_SHARES = {
    "phone": (0.34, 0.36), "email": (0.30, 0.34), "fax": (0.02, 0.03), "visit": (0.12, 0.0),
    "video": (0.10, 0.02), "web": (0.0, 0.16), "mail": (0.07, 0.04), "other": (0.05, 0.05),
}  # fmt: skip
assert tuple(MEDIUM_SHARES) == MEDIA

# Month multipliers of order values (B2B: quiet August and December, busy autumn).
_SEASON = np.array([0.95, 1.0, 1.08, 1.02, 1.03, 1.0, 0.93, 0.85, 1.06, 1.08, 1.04, 0.90])

_FIRST_NAMES = (
    "Anna", "Ben", "Carla", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Karin",
    "Lukas", "Maria", "Nils", "Olga", "Paul", "Rosa", "Sven", "Tanja", "Uwe", "Vera", "Wim",
    "Xenia", "Yusuf", "Zoe", "Amir", "Beatriz", "Chen", "Dmitri", "Emma", "Farid", "Hannah",
    "Jürgen", "Léa", "Mateo", "Noor", "Priya", "Søren", "Tomás", "Aiko",
)  # fmt: skip
_LAST_NAMES = (
    "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker", "Hoffmann",
    "Koch", "Richter", "Klein", "Wolf", "Neumann", "Schwarz", "Smith", "Johnson", "Brown", "Garcia",
    "Martin", "Dubois", "Rossi", "Nowak", "Jansen", "Larsen", "Novák", "Silva", "Kowalski",
    "O'Brien", "Nguyen", "Tanaka", "Ivanova", "Andersson", "Costa", "Peeters", "Horváth",
)  # fmt: skip
_NAME_HEADS = (
    "Alpine", "Atlas", "Apex", "Baltic", "Beacon", "Cedar", "Coastal", "Crown", "Delta", "Eagle",
    "Elm", "Falcon", "Granite", "Harbor", "Highland", "Iron", "Juniper", "Keystone", "Lakeside",
    "Linden", "Meridian", "Nordic", "Oak", "Orion", "Pioneer", "Polar", "Quarry", "Redwood",
    "Riverside", "Sierra", "Summit", "Tidewater", "Union", "Valley", "Vista", "Westbrook",
    "Zenith", "Rhein", "Zürich", "Møller",
)  # fmt: skip
_NAME_CORES = {
    "manufacturing": ("Tooling", "Metalworks", "Fabrication", "Plastics", "Machining",
                      "Components"),
    "wholesale": ("Trading", "Distribution", "Supply", "Wholesale", "Import", "Merchants"),
    "construction": ("Builders", "Construction", "Roofing", "Civil Works", "Contractors", "Homes"),
    "healthcare": ("Clinic", "Care", "Medical", "Dental", "Health", "Pharmacy"),
    "professional_services": ("Consulting", "Partners", "Advisors", "Legal", "Engineering",
                              "Accounting"),
    "retail": ("Stores", "Market", "Outfitters", "Home & Garden", "Fashion", "Shops"),
    "hospitality": ("Hotels", "Catering", "Restaurants", "Inns", "Events", "Resorts"),
    "education": ("Academy", "College", "School", "Learning", "Institute", "Training Centre"),
}  # fmt: skip
_NAME_SUFFIXES = ("Ltd", "Inc", "GmbH", "LLC", "AG", "S.A.", "& Co", "Group", "BV", "Oy", "")

# Column types as written (Parquet) / parsed back (CSV).
_POLARS_TYPES = {
    "VARCHAR": pl.String, "DATE": pl.Date, "BIGINT": pl.Int64, "TIMESTAMP": pl.Datetime("us"),
    "DECIMAL(18,2)": pl.Float64,
}  # fmt: skip


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
    start_d, end_d = _day(start), _day(end)
    sink = _Sink(out_dir, file_format, range(start.year, end.year + 1))
    try:
        managers = _managers(_rng(seed, 0), customers, start_d, end_d)
        sink.write("account_managers", "account_managers", _managers_frame(managers))
        counters = {"transaction": 0, "contact": 0, "referral": 0}
        for chunk, first in enumerate(range(0, customers, CHUNK_CUSTOMERS)):
            n = min(CHUNK_CUSTOMERS, customers - first)
            sim = _Chunk(_rng(seed, 1, chunk), first, n, customers, start_d, end_d, managers)
            for dataset, frame in sim.frames(counters).items():
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
            leaves, lo + (rng.random(open_seats.size) * (end_d - 30 - lo)).astype(np.int64), _BIG
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
    first = rng.integers(0, len(_FIRST_NAMES), m)
    last = rng.integers(0, len(_LAST_NAMES), m)
    return {
        "id": np.array([f"M{i + 1:0{width}d}" for i in range(m)]),
        "name": np.array(
            [f"{_FIRST_NAMES[a]} {_LAST_NAMES[b]}" for a, b in zip(first, last, strict=True)]
        ),
        "from": active_from[order],
        "to": active_to[order],
    }


def _managers_frame(managers: dict) -> pl.DataFrame:
    to = managers["to"]
    return pl.DataFrame(
        {
            "manager_id": managers["id"],
            "manager_name": managers["name"],
            "active_from": _dates(managers["from"]),
            "active_to": _dates(np.where(to >= _BIG, 0, to)).set(pl.Series(to >= _BIG), None),
        }
    )


# --------------------------------------------------------------------------------------------
# one chunk of customers


class _Chunk:
    def __init__(
        self,
        rng: np.random.Generator,
        first: int,
        n: int,
        total: int,
        start_d: int,
        end_d: int,
        managers: dict,
    ) -> None:
        self.rng, self.first, self.n, self.total = rng, first, n, total
        self.start_d, self.end_d, self.managers = start_d, end_d, managers
        self._customers()

    # customer-level traits ------------------------------------------------------------------
    def _customers(self) -> None:
        rng, n, start_d, end_d = self.rng, self.n, self.start_d, self.end_d
        shares = np.array([v[0] for v in CUSTOMER_TYPES.values()])
        self.type_idx = _choice(rng, n, shares)
        self.region_idx = _choice(rng, n, np.array(list(REGIONS.values())))
        self.region_null = rng.random(n) < 0.03
        self.loyalty = rng.beta(2.0, 2.0, n)
        self.employees = np.clip(np.rint(rng.lognormal(np.log(35), 1.35, n)), 1, 20_000)
        self.no_employees = rng.random(n) < 0.05
        rpe = np.array([v[1] for v in CUSTOMER_TYPES.values()])[self.type_idx]
        rpe = rpe * rng.lognormal(0.0, 0.3, n)
        wallet = rng.beta(2.0, 3.0, n) * (0.7 + 0.6 * self.loyalty)
        self.run_rate = self.employees * rpe * wallet  # annual revenue at acquisition
        self.existing = rng.random(n) < 0.5
        acquired = start_d + 1 + (rng.random(n) * (end_d - 30 - start_d)).astype(np.int64)
        self.acquired = np.where(self.existing, start_d, _weekday(acquired, start_d, end_d - 30))
        # for adoption of product lines: existing customers joined years before the start
        self.joined = np.where(self.existing, start_d - rng.integers(0, 2500, n), self.acquired)
        self.orders_per_year = np.clip(
            rng.lognormal(np.log(13.0), 0.45, n) * (self.run_rate / 3000.0) ** 0.08, 4.0, 40.0
        )
        self.regularity = rng.uniform(1.2, 5.0, n)  # gamma shape of the gaps
        self.growth = rng.normal(0.03, 0.10, n) + 0.08 * (self.loyalty - 0.5)
        self.extra_line_p = 0.10 + 0.25 * self.loyalty
        no_margin = rng.random(n) < 0.04
        self.margin_null_p = np.where(no_margin, 1.0, 0.06)
        # defection / decline
        hazard = 0.10 * np.exp(2.4 * (0.5 - self.loyalty))  # per year
        event = np.maximum(self.acquired, start_d) + 90 + rng.exponential(365.25 / hazard)
        self.event_day = np.floor(event).astype(np.int64)
        has_event = self.event_day < end_d
        declines = rng.random(n) < 0.3
        self.defects = has_event & ~declines
        self.declines = has_event & declines
        self.event_day = np.where(has_event, self.event_day, _BIG)
        gap = 365.25 / self.orders_per_year
        first_order = start_d + (rng.random(n) * np.minimum(gap, 60)).astype(np.int64)
        self.first_order = np.where(self.existing, first_order, self.acquired)
        self.last_day = np.where(self.defects, self.event_day - 1, end_d)  # last possible order
        # primary product line and adoption days of the others
        primary = _choice(rng, n, _LINE_PRIMARY)
        speed = 0.6 + 0.8 * self.loyalty
        adopt = self.joined[:, None] + rng.exponential(1.0, (n, len(PRODUCT_LINES))) * (
            _LINE_ADOPT_DAYS[None, :] / speed[:, None]
        )
        adopt[np.arange(n), primary] = -_BIG
        self.adopt_day = adopt
        self.line_weight = np.where(adopt == -_BIG, 1.0, 0.45)
        # people reached at the customer (more at bigger companies)
        self.persons = np.clip(1 + rng.poisson(0.3 * np.log1p(self.employees)), 1, 6)
        self.person_first = rng.integers(0, len(_FIRST_NAMES), (n, 6))
        self.person_last = rng.integers(0, len(_LAST_NAMES), (n, 6))
        self.contact_rate = np.clip(
            7.0 * (self.run_rate / 2000.0) ** 0.3 * rng.lognormal(0.0, 0.35, n), 2.0, 40.0
        )
        self.referral_rate = 0.02 + 0.25 * self.loyalty**2
        self._owners()

    def _owners(self) -> None:
        """Owner chains: an owner at acquisition, a new one whenever the owner leaves."""
        rng, mgr = self.rng, self.managers
        cust = np.arange(self.n)
        since = np.maximum(self.acquired, self.start_d)
        owner = _pick_active(rng, mgr, since)
        chain_cust, chain_from, chain_owner = [cust], [np.full(self.n, -(2**31))], [owner]
        while True:
            leave = mgr["to"][owner]
            pending = leave <= self.end_d
            if not pending.any():
                break
            cust, since = cust[pending], leave[pending]
            owner = _pick_active(rng, mgr, since)
            chain_cust.append(cust)
            chain_from.append(since)
            chain_owner.append(owner)
        c, f, o = (np.concatenate(x) for x in (chain_cust, chain_from, chain_owner))
        order = np.lexsort((f, c))
        self.chain_key = c[order] * 2**32 + (f[order] + 2**31)
        self.chain_owner = o[order]

    def owner_at(self, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
        key = cust * 2**32 + (day + 2**31)
        return self.chain_owner[np.searchsorted(self.chain_key, key, side="right") - 1]

    # datasets -------------------------------------------------------------------------------
    def frames(self, counters: dict[str, int]) -> dict[str, pl.DataFrame]:
        width = max(6, len(str(self.total)))
        ids = pl.Series(np.arange(self.first + 1, self.first + self.n + 1, dtype=np.int64))
        self.ids = ("C" + ids.cast(pl.String).str.zfill(width)).alias("customer_id")
        return {
            "customers": self._customers_frame(),
            "employee_counts": self._employee_counts(),
            "revenue": self._revenue(counters),
            "contacts": self._contacts(counters),
            "referrals": self._referrals(counters),
            "assignments": self._assignments(),
        }

    def _customers_frame(self) -> pl.DataFrame:
        rng, n = self.rng, self.n
        types = np.array(list(CUSTOMER_TYPES))[self.type_idx]
        heads = np.array(_NAME_HEADS)[rng.integers(0, len(_NAME_HEADS), n)]
        core_pick = rng.integers(0, 6, n)
        cores = np.array([_NAME_CORES[t][k] for t, k in zip(types, core_pick, strict=True)])
        suffixes = np.array(_NAME_SUFFIXES)[rng.integers(0, len(_NAME_SUFFIXES), n)]
        names = pl.Series(np.char.add(np.char.add(heads, " "), cores)) + " " + pl.Series(suffixes)
        region = pl.Series(np.array(list(REGIONS))[self.region_idx]).set(
            pl.Series(self.region_null), None
        )
        return pl.DataFrame(
            {
                "customer_id": self.ids,
                "customer_name": names.str.strip_chars(),
                "customer_type": types,
                "region": region,
            }
        )

    def _employee_counts(self) -> pl.DataFrame:
        rng, n = self.rng, self.n
        known = ~self.no_employees
        horizon = np.minimum(np.where(self.defects, self.event_day + 180, self.end_d), self.end_d)
        first = np.where(
            self.existing, self.start_d,
            np.maximum(self.start_d, self.acquired - rng.integers(0, 60, n)),
        )  # fmt: skip
        years = (horizon - first) / 365.25
        count = np.where(known, np.minimum(1 + rng.poisson(0.6 * years), 5), 0)
        cust = np.repeat(np.arange(n), count)
        steps = rng.integers(180, 540, cust.size)
        steps[_segment_starts(count)] = 0
        day = first[cust] + _segmented_cumsum(steps, count)
        keep = day <= horizon[cust]
        cust, day = cust[keep], day[keep]
        g = rng.normal(0.03, 0.08, n)
        yrs = (day - first[cust]) / 365.25
        noise = rng.normal(0.0, 0.04, cust.size) * (yrs > 0)
        grown = self.employees[cust] * np.exp(g[cust] * yrs + noise)
        employees = np.clip(np.rint(grown), 1, 20_000)
        return pl.DataFrame(
            {
                "customer_id": self.ids.gather(cust),
                "as_of_date": _dates(day),
                "employees": employees.astype(np.int64),
            }
        )

    def _revenue(self, counters: dict[str, int]) -> pl.DataFrame:
        rng = self.rng
        start_d, end_d = self.start_d, self.end_d
        # order occasions: a gamma renewal process in "operational time", slowed down in the
        # 150 days before an event (0.7x) and after a decline (0.35x)
        has_event = self.event_day < _BIG
        b1 = np.where(has_event, np.maximum(self.event_day - 150, self.first_order), _BIG)
        b2 = np.where(has_event, np.maximum(self.event_day, self.first_order), _BIG)
        slow, after = 0.7, 0.35
        tau_end = _warp(self.last_day + 0.999, self.first_order, b1, b2, slow, after)
        mean_gap = 365.25 / self.orders_per_year
        cust, tau = _renewal(rng, tau_end, mean_gap, self.regularity)
        t = _unwarp(tau, self.first_order[cust], b1[cust], b2[cust], slow, after)
        day = _weekday(np.floor(t).astype(np.int64), self.first_order[cust], self.last_day[cust])
        # order lines: 1..3 rows per occasion, each from a product line adopted by then
        p = self.extra_line_p[cust]
        lines = 1 + (rng.random(cust.size) < p) + (rng.random(cust.size) < p * 0.3)
        cust, day = np.repeat(cust, lines), np.repeat(day, lines)
        line = _pick_line(rng, self.adopt_day[cust], self.line_weight[cust], day)
        # amounts
        rows_per_order = 1 + 1.3 * self.extra_line_p
        base = self.run_rate / (self.orders_per_year * rows_per_order * 1.2)
        years = (day - start_d) / 365.25
        month = _month_index(day)
        # new customers start small and grow into their share of wallet over a few months
        ramp = np.where(
            self.existing[cust], 1.0, 1 - 0.5 * np.exp(-(day - self.acquired[cust]) / 120)
        )
        value = (
            base[cust]
            * _LINE_VALUE[line]
            * rng.lognormal(-0.125, 0.5, cust.size)
            * np.exp(self.growth[cust] * years)
            * ramp
            * _SEASON[month]
        )
        ev = self.event_day[cust]
        value *= np.where((day >= ev - 150) & (day < ev), 0.85, 1.0)
        value *= np.where(self.declines[cust] & (day >= ev), 0.6, 1.0)
        amount = np.maximum(np.round(value, 2), 5.0)
        rate = _LINE_MARGIN[line] + rng.normal(0.0, 0.05, cust.size)
        margin = np.round(amount * rate, 2)
        margin_null = rng.random(cust.size) < self.margin_null_p[cust]
        # credit notes: ~2% of rows are (partly) credited a few days to weeks later
        credited = rng.random(cust.size) < 0.02
        share = rng.uniform(0.1, 1.0, credited.sum())
        c_cust, c_line = cust[credited], line[credited]
        c_day = np.minimum(day[credited] + rng.integers(3, 45, credited.sum()), end_d)
        c_amount = -np.round(amount[credited] * share, 2)
        c_amount = np.minimum(c_amount, -0.01)
        c_margin = np.round(margin[credited] * share * -1, 2)
        c_margin_null = margin_null[credited]
        cust = np.concatenate([cust, c_cust])
        day = np.concatenate([day, c_day])
        line = np.concatenate([line, c_line])
        amount = np.concatenate([amount, c_amount])
        margin = np.concatenate([margin, c_margin])
        margin_null = np.concatenate([margin_null, c_margin_null])
        order = np.lexsort((np.arange(cust.size), cust, day))
        cust, day, line = cust[order], day[order], line[order]
        amount, margin, margin_null = amount[order], margin[order], margin_null[order]
        ids = _ids("T", counters, "transaction", cust.size, 9)
        return pl.DataFrame(
            {
                "transaction_id": ids,
                "customer_id": self.ids.gather(cust),
                "transaction_date": _dates(day),
                "product_line": np.array(PRODUCT_LINES)[line],
                "amount": amount,
                "margin": pl.Series(margin).set(pl.Series(margin_null), None),
            }
        )

    def _contacts(self, counters: dict[str, int]) -> pl.DataFrame:
        rng, n = self.rng, self.n
        lo = np.maximum(self.acquired, self.start_d)
        hi = np.where(self.defects, np.minimum(self.event_day + 45, self.end_d), self.end_d)
        # routine contacts over the customer's life
        count = rng.poisson(self.contact_rate * (hi - lo + 1) / 365.25)
        cust = np.repeat(np.arange(n), count)
        day = lo[cust] + (rng.random(cust.size) * (hi - lo + 1)[cust]).astype(np.int64)
        extra = np.zeros(cust.size, dtype=bool)
        # extra contacts (complaints, escalations) in the ~6 months before a defection/decline
        ev = self.event_day
        has_event = ev < _BIG
        w_lo = np.maximum(ev - 180, lo)
        w_hi = np.minimum(ev, hi)
        x_count = np.where(has_event & (w_hi >= w_lo), rng.poisson(2.5, n), 0)
        x_cust = np.repeat(np.arange(n), x_count)
        x_day = w_lo[x_cust] + (rng.random(x_cust.size) * (w_hi - w_lo + 1)[x_cust]).astype(
            np.int64
        )
        cust = np.concatenate([cust, x_cust])
        day = np.concatenate([day, x_day])
        extra = np.concatenate([extra, np.ones(x_cust.size, dtype=bool)])
        day = _weekday(day, lo[cust], hi[cust])
        m = cust.size
        # reason category: dissatisfier / satisfier / none / neutral
        ev_c = ev[cust]
        before_event = (day >= ev_c - 180) & (day <= ev_c)
        after_decline = self.declines[cust] & (day > ev_c)
        p_dis = np.select([extra, before_event, after_decline], [0.70, 0.30, 0.12], 0.015)
        cooling = (day >= ev_c - 365) & (day <= ev_c)  # the relationship cools first
        p_sat = np.where(cooling | extra, 0.02, 0.01 + 0.36 * self.loyalty[cust] ** 2)
        u = rng.random(m)
        is_dis = u < p_dis
        is_sat = ~is_dis & (u < p_dis + p_sat)
        is_none = ~is_dis & ~is_sat & (u < p_dis + p_sat + 0.08)
        code = np.zeros(m, dtype=np.int64)
        offset = 0
        for mask, table in ((is_dis, DISSATISFIERS), (is_sat, SATISFIERS),
                            (~(is_dis | is_sat | is_none), NEUTRAL)):  # fmt: skip
            weights = np.array(list(table.values()))
            code[mask] = offset + _choice(rng, int(mask.sum()), weights)
            offset += weights.size
        code_names = [*DISSATISFIERS, *SATISFIERS, *NEUTRAL]
        # direction, medium, manager, person
        p_out = np.select([is_dis, is_sat], [0.25, 0.60], 0.65)
        p_out = np.where(extra, 0.2, p_out)
        outbound = rng.random(m) < p_out
        out_media = _choice(rng, m, np.array([v[0] for v in MEDIUM_SHARES.values()]))
        in_media = _choice(rng, m, np.array([v[1] for v in MEDIUM_SHARES.values()]))
        medium = np.array(MEDIA)[np.where(outbound, out_media, in_media)]
        with_manager = rng.random(m) < np.where(outbound, 0.93, 0.45)
        owner = self.owner_at(cust, day)
        person_k = np.minimum(rng.geometric(0.55, m) - 1, self.persons[cust] - 1)
        first = _labels(_FIRST_NAMES, self.person_first[cust, person_k])
        last = _labels(_LAST_NAMES, self.person_last[cust, person_k])
        person_null = rng.random(m) < 0.06
        seconds = day * 86_400 + 8 * 3600 + rng.integers(0, 600, m) * 60
        order = np.lexsort((np.arange(m), cust, seconds))
        ids = _ids("K", counters, "contact", m, 9)
        frame = pl.DataFrame(
            {
                "customer_id": self.ids.gather(cust),
                "contact_date": pl.Series(seconds * 1_000_000).cast(pl.Datetime("us")),
                "manager_id": pl.Series(self.managers["id"][owner]).set(
                    pl.Series(~with_manager), None
                ),
                "medium": medium,
                "direction": np.where(outbound, "outbound", "inbound"),
                "reason_code": _labels(code_names, code, is_none),
                "contact_person": (first + " " + last).set(pl.Series(person_null), None),
            }
        )[order]
        return frame.insert_column(0, ids)

    def _referrals(self, counters: dict[str, int]) -> pl.DataFrame:
        rng, n = self.rng, self.n
        lo = np.maximum(self.acquired, self.start_d)
        hi = np.where(self.defects, self.event_day - 1, self.end_d)
        count = rng.poisson(self.referral_rate * np.maximum(hi - lo, 0) / 365.25)
        cust = np.repeat(np.arange(n), count)
        day = lo[cust] + (rng.random(cust.size) * (hi - lo + 1)[cust]).astype(np.int64)
        order = np.lexsort((np.arange(cust.size), cust, day))
        cust, day = cust[order], day[order]
        # about a third convert: a customer acquired 2 weeks to 6 months later, referred once
        new = np.flatnonzero(~self.existing)
        new = new[np.argsort(self.acquired[new], kind="stable")]
        new_day = self.acquired[new]
        left = np.searchsorted(new_day, day + 14, side="left")
        right = np.searchsorted(new_day, day + 180, side="right")
        converts = (rng.random(cust.size) < 0.35) & (right > left)
        pick = left + (rng.random(cust.size) * (right - left)).astype(np.int64)
        referred = np.full(cust.size, -1, dtype=np.int64)
        referred[converts] = new[pick[converts]]
        # a customer is referred at most once: the earliest referral wins
        converted = np.flatnonzero(referred >= 0)
        _, earliest = np.unique(referred[converted], return_index=True)
        later = np.ones(converted.size, dtype=bool)
        later[earliest] = False
        referred[converted[later]] = -1
        ids = _ids("R", counters, "referral", cust.size, 7)
        referred_ids = self.ids.gather(np.maximum(referred, 0)).set(pl.Series(referred < 0), None)
        return pl.DataFrame(
            {
                "referral_id": ids,
                "referrer_customer_id": self.ids.gather(cust),
                "referral_date": _dates(day),
                "referred_customer_id": referred_ids,
            }
        )

    def _assignments(self) -> pl.DataFrame:
        active = np.flatnonzero(~self.defects)
        owner = self.owner_at(active, np.full(active.size, self.end_d))
        return pl.DataFrame(
            {"customer_id": self.ids.gather(active), "manager_id": self.managers["id"][owner]}
        )


# --------------------------------------------------------------------------------------------
# vectorised helpers


def _rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def _day(d: date) -> int:
    return (d - _EPOCH).days


def _dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def _month_index(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12).astype(
        np.int64
    )


def _weekday(days: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """Move weekend days to the next Monday (the previous Friday past `hi`), within [lo, hi]."""
    dow = (days + 3) % 7  # 0 = Monday
    forward = np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
    backward = np.where(dow == 5, 1, np.where(dow == 6, 2, 0))
    moved = np.where(days + forward <= hi, days + forward, days - backward)
    return np.clip(moved, lo, hi)


def _choice(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    cum = np.cumsum(p)
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), p.size - 1)


def _segment_starts(counts: np.ndarray) -> np.ndarray:
    ends = np.cumsum(counts)
    return (ends - counts)[counts > 0]


def _segmented_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at every segment (segment i has counts[i] values)."""
    if values.size == 0:
        return values
    total = np.cumsum(values)
    starts = _segment_starts(counts)
    offset = total[starts] - values[starts]
    return total - np.repeat(offset, counts[counts > 0])


def _renewal(
    rng: np.random.Generator, tau_end: np.ndarray, mean_gap: np.ndarray, shape: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Event times of a gamma renewal process per customer on [0, tau_end], the first at 0."""
    custs, times = [np.arange(tau_end.size)], [np.zeros(tau_end.size)]
    active = np.arange(tau_end.size)
    position = np.zeros(tau_end.size)
    while active.size:
        expected = (tau_end[active] - position) / mean_gap[active]
        draws = np.ceil(expected * 1.2 + 3).astype(np.int64)
        cust = np.repeat(active, draws)
        gaps = rng.gamma(shape[cust], mean_gap[cust] / shape[cust])
        t = position[np.repeat(np.arange(active.size), draws)] + _segmented_cumsum(gaps, draws)
        keep = t <= tau_end[cust]
        custs.append(cust[keep])
        times.append(t[keep])
        last = np.cumsum(draws) - 1
        position = t[last]
        still = position <= tau_end[active]
        active, position = active[still], position[still]
    cust, t = np.concatenate(custs), np.concatenate(times)
    order = np.lexsort((t, cust))
    return cust[order], t[order]


def _warp(t, t0, b1, b2, slow, after):
    """Operational time: 1x until b1, `slow` until b2, `after` afterwards."""
    return (
        np.minimum(t, b1) - t0
        + slow * np.clip(t - b1, 0, np.maximum(b2 - b1, 0))
        + after * np.maximum(t - b2, 0)
    )  # fmt: skip


def _unwarp(x, t0, b1, b2, slow, after):
    seg1 = (b1 - t0).astype(float)
    seg2 = slow * (b2 - b1)
    return np.where(
        x <= seg1, t0 + x,
        np.where(x <= seg1 + seg2, b1 + (x - seg1) / slow, b2 + (x - seg1 - seg2) / after),
    )  # fmt: skip


def _pick_line(
    rng: np.random.Generator, adopt_day: np.ndarray, weight: np.ndarray, day: np.ndarray
) -> np.ndarray:
    w = np.where(adopt_day <= day[:, None], weight, 0.0)
    cum = np.cumsum(w, axis=1)
    u = rng.random(day.size) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), w.shape[1] - 1)


def _pick_active(rng: np.random.Generator, managers: dict, day: np.ndarray) -> np.ndarray:
    """A manager active at each day, uniformly among the active ones (rejection sampling)."""
    m = managers["from"].size
    pick = np.full(day.size, -1, dtype=np.int64)
    todo = np.arange(day.size)
    while todo.size:
        cand = rng.integers(0, m, todo.size)
        ok = (managers["from"][cand] <= day[todo]) & (day[todo] < managers["to"][cand])
        pick[todo[ok]] = cand[ok]
        todo = todo[~ok]
    return pick


def _labels(values: Any, index: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """values[index] as a string Series, null where `null` is set."""
    labels = pl.Series(list(values), dtype=pl.String).gather(index)
    return labels if null is None else labels.set(pl.Series(null), None)


def _ids(prefix: str, counters: dict[str, int], kind: str, n: int, width: int) -> pl.Series:
    first = counters[kind] + 1
    counters[kind] += n
    numbers = pl.Series(np.arange(first, first + n, dtype=np.int64)).cast(pl.String)
    return (prefix + numbers.str.zfill(width)).alias(f"{kind}_id")


# --------------------------------------------------------------------------------------------
# output


class _Sink:
    """Appends chunks to one file per (dataset, part): CSV appends or Parquet row groups."""

    def __init__(self, out_dir: Path, file_format: str, years: range) -> None:
        self.out_dir, self.file_format = out_dir, file_format
        self.rows = {name: 0 for name in DATASETS}
        self.handles: dict[Path, Any] = {}
        for name in DATASETS:  # every dataset gets its files, even when empty
            parts = [str(y) for y in years] if name in BY_YEAR else [name]
            for part in parts:
                self.write(name, part, pl.DataFrame(schema=self._schema(name)), count=False)

    def _format(self, dataset: str) -> str:
        if self.file_format != "auto":
            return self.file_format
        return "parquet" if dataset in PARQUET_BY_DEFAULT else "csv"

    @staticmethod
    def _schema(dataset: str) -> dict[str, Any]:
        return {c: _POLARS_TYPES[t] for c, t in DATASETS[dataset].columns.items()}

    def write(self, dataset: str, part: str, frame: pl.DataFrame, count: bool = True) -> None:
        fmt = self._format(dataset)
        path = self.out_dir / dataset / f"{part}.{fmt}"
        frame = frame.select([pl.col(c).cast(t) for c, t in self._schema(dataset).items()])
        if count:
            self.rows[dataset] += frame.height
        handle = self.handles.get(path)
        if handle is None:
            path.parent.mkdir(parents=True, exist_ok=True)
            other = path.with_suffix(".parquet" if fmt == "csv" else ".csv")
            other.unlink(missing_ok=True)  # a previous run in the other format
            if fmt == "csv":
                handle = self.handles[path] = path.open("wb")
                self._csv(frame, handle, header=True)
            else:
                table = frame.to_arrow()
                handle = self.handles[path] = pq.ParquetWriter(
                    path, table.schema, compression="zstd"
                )
                if table.num_rows:
                    handle.write_table(table)
            return
        if fmt == "csv":
            self._csv(frame, handle, header=False)
        elif frame.height:
            handle.write_table(frame.to_arrow())

    @staticmethod
    def _csv(frame: pl.DataFrame, handle: Any, header: bool) -> None:
        if frame.height or header:
            frame.write_csv(
                handle, include_header=header, date_format="%Y-%m-%d",
                datetime_format="%Y-%m-%d %H:%M:%S", float_precision=2,
            )  # fmt: skip

    def close(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
