"""The chunk of customers being simulated: their traits, drawn once per chunk, the chain of
account managers owning each of them, and the frames that describe the customers themselves
(`customers`, `employee_counts`, `assignments`). Their activity is in `sample_data.activity`."""

from __future__ import annotations

import numpy as np
import polars as pl

from sample_data.business import (
    CUSTOMER_TYPES,
    FIRST_NAMES,
    LAST_NAMES,
    LINE_ADOPT_DAYS,
    LINE_PRIMARY,
    NAME_CORES,
    NAME_HEADS,
    NAME_SUFFIXES,
    PRODUCT_LINES,
    REGIONS,
)
from sample_data.vectorised import (
    NEVER,
    choice,
    dates,
    pick_active,
    segment_starts,
    segmented_cumsum,
    weekday,
)


class Chunk:
    """Customers `first + 1 .. first + n` of `total`, simulated with their own random stream.

    The order of the random draws is part of the output: the traits and owners are drawn here,
    then each frame draws what it needs, in the order `sample_data.generator` builds them.
    """

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
        self._draw_traits()
        self._draw_owners()
        width = max(6, len(str(self.total)))
        ids = pl.Series(np.arange(self.first + 1, self.first + self.n + 1, dtype=np.int64))
        self.ids = ("C" + ids.cast(pl.String).str.zfill(width)).alias("customer_id")

    # customer-level traits ------------------------------------------------------------------
    def _draw_traits(self) -> None:
        rng, n, start_d, end_d = self.rng, self.n, self.start_d, self.end_d
        shares = np.array([v[0] for v in CUSTOMER_TYPES.values()])
        self.type_idx = choice(rng, n, shares)
        self.region_idx = choice(rng, n, np.array(list(REGIONS.values())))
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
        self.acquired = np.where(self.existing, start_d, weekday(acquired, start_d, end_d - 30))
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
        self.event_day = np.where(has_event, self.event_day, NEVER)
        gap = 365.25 / self.orders_per_year
        first_order = start_d + (rng.random(n) * np.minimum(gap, 60)).astype(np.int64)
        self.first_order = np.where(self.existing, first_order, self.acquired)
        self.last_day = np.where(self.defects, self.event_day - 1, end_d)  # last possible order
        # primary product line and adoption days of the others
        primary = choice(rng, n, LINE_PRIMARY)
        speed = 0.6 + 0.8 * self.loyalty
        adopt = self.joined[:, None] + rng.exponential(1.0, (n, len(PRODUCT_LINES))) * (
            LINE_ADOPT_DAYS[None, :] / speed[:, None]
        )
        adopt[np.arange(n), primary] = -NEVER
        self.adopt_day = adopt
        self.line_weight = np.where(adopt == -NEVER, 1.0, 0.45)
        # people reached at the customer (more at bigger companies)
        self.persons = np.clip(1 + rng.poisson(0.3 * np.log1p(self.employees)), 1, 6)
        self.person_first = rng.integers(0, len(FIRST_NAMES), (n, 6))
        self.person_last = rng.integers(0, len(LAST_NAMES), (n, 6))
        self.contact_rate = np.clip(
            7.0 * (self.run_rate / 2000.0) ** 0.3 * rng.lognormal(0.0, 0.35, n), 2.0, 40.0
        )
        self.referral_rate = 0.02 + 0.25 * self.loyalty**2

    def _draw_owners(self) -> None:
        """Owner chains: an owner at acquisition, a new one whenever the owner leaves."""
        rng, mgr = self.rng, self.managers
        cust = np.arange(self.n)
        since = np.maximum(self.acquired, self.start_d)
        owner = pick_active(rng, mgr, since)
        chain_cust, chain_from, chain_owner = [cust], [np.full(self.n, -(2**31))], [owner]
        while True:
            leave = mgr["to"][owner]
            pending = leave <= self.end_d
            if not pending.any():
                break
            cust, since = cust[pending], leave[pending]
            owner = pick_active(rng, mgr, since)
            chain_cust.append(cust)
            chain_from.append(since)
            chain_owner.append(owner)
        c, f, o = (np.concatenate(x) for x in (chain_cust, chain_from, chain_owner))
        order = np.lexsort((f, c))
        self.chain_key = c[order] * 2**32 + (f[order] + 2**31)
        self.chain_owner = o[order]

    def owner_at(self, cust: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Index (into `managers`) of the owner of each `cust[i]` on `day[i]`."""
        key = cust * 2**32 + (day + 2**31)
        return self.chain_owner[np.searchsorted(self.chain_key, key, side="right") - 1]


# --------------------------------------------------------------------------------------------
# frames of the customers themselves


def customers_frame(chunk: Chunk) -> pl.DataFrame:
    """One row per customer, with a made-up company name that fits its type."""
    rng, n = chunk.rng, chunk.n
    types = np.array(list(CUSTOMER_TYPES))[chunk.type_idx]
    heads = np.array(NAME_HEADS)[rng.integers(0, len(NAME_HEADS), n)]
    core_pick = rng.integers(0, 6, n)
    cores = np.array([NAME_CORES[t][k] for t, k in zip(types, core_pick, strict=True)])
    suffixes = np.array(NAME_SUFFIXES)[rng.integers(0, len(NAME_SUFFIXES), n)]
    names = pl.Series(np.char.add(np.char.add(heads, " "), cores)) + " " + pl.Series(suffixes)
    region = pl.Series(np.array(list(REGIONS))[chunk.region_idx]).set(pl.Series(chunk.region_null), None)
    return pl.DataFrame(
        {
            "customer_id": chunk.ids,
            "customer_name": names.str.strip_chars(),
            "customer_type": types,
            "region": region,
        }
    )


def employee_counts_frame(chunk: Chunk) -> pl.DataFrame:
    """Up to 5 counts per customer (none for ~5%), from the start of the period or around the
    acquisition, revised every 6 to 18 months; growing or shrinking at its own rate."""
    rng, n = chunk.rng, chunk.n
    known = ~chunk.no_employees
    horizon = np.minimum(np.where(chunk.defects, chunk.event_day + 180, chunk.end_d), chunk.end_d)
    first = np.where(
        chunk.existing, chunk.start_d,
        np.maximum(chunk.start_d, chunk.acquired - rng.integers(0, 60, n)),
    )  # fmt: skip
    years = (horizon - first) / 365.25
    count = np.where(known, np.minimum(1 + rng.poisson(0.6 * years), 5), 0)
    cust = np.repeat(np.arange(n), count)
    steps = rng.integers(180, 540, cust.size)
    steps[segment_starts(count)] = 0
    day = first[cust] + segmented_cumsum(steps, count)
    keep = day <= horizon[cust]
    cust, day = cust[keep], day[keep]
    g = rng.normal(0.03, 0.08, n)
    yrs = (day - first[cust]) / 365.25
    noise = rng.normal(0.0, 0.04, cust.size) * (yrs > 0)
    grown = chunk.employees[cust] * np.exp(g[cust] * yrs + noise)
    employees = np.clip(np.rint(grown), 1, 20_000)
    return pl.DataFrame(
        {
            "customer_id": chunk.ids.gather(cust),
            "as_of_date": dates(day),
            "employees": employees.astype(np.int64),
        }
    )


def assignments_frame(chunk: Chunk) -> pl.DataFrame:
    """The owner of every customer still buying at the end of the period (the CRM's view)."""
    active = np.flatnonzero(~chunk.defects)
    owner = chunk.owner_at(active, np.full(active.size, chunk.end_d))
    return pl.DataFrame({"customer_id": chunk.ids.gather(active), "manager_id": chunk.managers["id"][owner]})
