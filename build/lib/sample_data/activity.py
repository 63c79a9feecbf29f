"""What a chunk of customers does over the period: revenue (orders and credit notes), contacts
with the seller (with the planted dissatisfier signal) and referrals. Each function draws from the
chunk's random stream, so they must run in the order `sample_data.generator` calls them."""

from __future__ import annotations

import numpy as np
import polars as pl

from pipelines.core.vocabulary import MEDIA
from sample_data.business import (
    DISSATISFIERS,
    FIRST_NAMES,
    LAST_NAMES,
    LINE_MARGIN,
    LINE_VALUE,
    MEDIUM_SHARES,
    NEUTRAL,
    PRODUCT_LINES,
    SATISFIERS,
    SEASON,
)
from sample_data.customers import Chunk
from sample_data.vectorised import (
    NEVER,
    choice,
    dates,
    labels,
    month_index,
    next_ids,
    pick_line,
    renewal,
    unwarp,
    warp,
    weekday,
)


def revenue_frame(chunk: Chunk, counters: dict[str, int]) -> pl.DataFrame:
    """Order lines and credit notes, numbered on from `counters["transaction"]`."""
    rng = chunk.rng
    start_d, end_d = chunk.start_d, chunk.end_d
    # order occasions: a gamma renewal process in "operational time", slowed down in the
    # 150 days before an event (0.7x) and after a decline (0.35x)
    has_event = chunk.event_day < NEVER
    b1 = np.where(has_event, np.maximum(chunk.event_day - 150, chunk.first_order), NEVER)
    b2 = np.where(has_event, np.maximum(chunk.event_day, chunk.first_order), NEVER)
    slow, after = 0.7, 0.35
    tau_end = warp(chunk.last_day + 0.999, chunk.first_order, b1, b2, slow, after)
    mean_gap = 365.25 / chunk.orders_per_year
    cust, tau = renewal(rng, tau_end, mean_gap, chunk.regularity)
    t = unwarp(tau, chunk.first_order[cust], b1[cust], b2[cust], slow, after)
    day = weekday(np.floor(t).astype(np.int64), chunk.first_order[cust], chunk.last_day[cust])
    # order lines: 1..3 rows per occasion, each from a product line adopted by then
    p = chunk.extra_line_p[cust]
    lines = 1 + (rng.random(cust.size) < p) + (rng.random(cust.size) < p * 0.3)
    cust, day = np.repeat(cust, lines), np.repeat(day, lines)
    line = pick_line(rng, chunk.adopt_day[cust], chunk.line_weight[cust], day)
    # amounts
    rows_per_order = 1 + 1.3 * chunk.extra_line_p
    base = chunk.run_rate / (chunk.orders_per_year * rows_per_order * 1.2)
    years = (day - start_d) / 365.25
    month = month_index(day)
    # new customers start small and grow into their share of wallet over a few months
    ramp = np.where(chunk.existing[cust], 1.0, 1 - 0.5 * np.exp(-(day - chunk.acquired[cust]) / 120))
    value = (
        base[cust]
        * LINE_VALUE[line]
        * rng.lognormal(-0.125, 0.5, cust.size)
        * np.exp(chunk.growth[cust] * years)
        * ramp
        * SEASON[month]
    )
    ev = chunk.event_day[cust]
    value *= np.where((day >= ev - 150) & (day < ev), 0.85, 1.0)
    value *= np.where(chunk.declines[cust] & (day >= ev), 0.6, 1.0)
    amount = np.maximum(np.round(value, 2), 5.0)
    rate = LINE_MARGIN[line] + rng.normal(0.0, 0.05, cust.size)
    margin = np.round(amount * rate, 2)
    margin_null = rng.random(cust.size) < chunk.margin_null_p[cust]
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
    ids = next_ids("T", counters, "transaction", cust.size, 9)
    return pl.DataFrame(
        {
            "transaction_id": ids,
            "customer_id": chunk.ids.gather(cust),
            "transaction_date": dates(day),
            "product_line": np.array(PRODUCT_LINES)[line],
            "amount": amount,
            "margin": pl.Series(margin).set(pl.Series(margin_null), None),
        }
    )


def contacts_frame(chunk: Chunk, counters: dict[str, int]) -> pl.DataFrame:
    """Routine contacts plus complaints before a defection or decline, numbered on from
    `counters["contact"]`."""
    rng, n = chunk.rng, chunk.n
    lo = np.maximum(chunk.acquired, chunk.start_d)
    hi = np.where(chunk.defects, np.minimum(chunk.event_day + 45, chunk.end_d), chunk.end_d)
    # routine contacts over the customer's life
    count = rng.poisson(chunk.contact_rate * (hi - lo + 1) / 365.25)
    cust = np.repeat(np.arange(n), count)
    day = lo[cust] + (rng.random(cust.size) * (hi - lo + 1)[cust]).astype(np.int64)
    extra = np.zeros(cust.size, dtype=bool)
    # extra contacts (complaints, escalations) in the ~6 months before a defection/decline
    ev = chunk.event_day
    has_event = ev < NEVER
    w_lo = np.maximum(ev - 180, lo)
    w_hi = np.minimum(ev, hi)
    x_count = np.where(has_event & (w_hi >= w_lo), rng.poisson(2.5, n), 0)
    x_cust = np.repeat(np.arange(n), x_count)
    x_day = w_lo[x_cust] + (rng.random(x_cust.size) * (w_hi - w_lo + 1)[x_cust]).astype(np.int64)
    cust = np.concatenate([cust, x_cust])
    day = np.concatenate([day, x_day])
    extra = np.concatenate([extra, np.ones(x_cust.size, dtype=bool)])
    day = weekday(day, lo[cust], hi[cust])
    m = cust.size
    # reason category: dissatisfier / satisfier / none / neutral
    ev_c = ev[cust]
    before_event = (day >= ev_c - 180) & (day <= ev_c)
    after_decline = chunk.declines[cust] & (day > ev_c)
    p_dis = np.select([extra, before_event, after_decline], [0.70, 0.30, 0.12], 0.015)
    cooling = (day >= ev_c - 365) & (day <= ev_c)  # the relationship cools first
    p_sat = np.where(cooling | extra, 0.02, 0.01 + 0.36 * chunk.loyalty[cust] ** 2)
    u = rng.random(m)
    is_dis = u < p_dis
    is_sat = ~is_dis & (u < p_dis + p_sat)
    is_none = ~is_dis & ~is_sat & (u < p_dis + p_sat + 0.08)
    code = np.zeros(m, dtype=np.int64)
    offset = 0
    for mask, table in ((is_dis, DISSATISFIERS), (is_sat, SATISFIERS),
                        (~(is_dis | is_sat | is_none), NEUTRAL)):  # fmt: skip
        weights = np.array(list(table.values()))
        code[mask] = offset + choice(rng, int(mask.sum()), weights)
        offset += weights.size
    code_names = [*DISSATISFIERS, *SATISFIERS, *NEUTRAL]
    # direction, medium, manager, person
    p_out = np.select([is_dis, is_sat], [0.25, 0.60], 0.65)
    p_out = np.where(extra, 0.2, p_out)
    outbound = rng.random(m) < p_out
    out_media = choice(rng, m, np.array([v[0] for v in MEDIUM_SHARES.values()]))
    in_media = choice(rng, m, np.array([v[1] for v in MEDIUM_SHARES.values()]))
    medium = np.array(MEDIA)[np.where(outbound, out_media, in_media)]
    with_manager = rng.random(m) < np.where(outbound, 0.93, 0.45)
    owner = chunk.owner_at(cust, day)
    person_k = np.minimum(rng.geometric(0.55, m) - 1, chunk.persons[cust] - 1)
    first = labels(FIRST_NAMES, chunk.person_first[cust, person_k])
    last = labels(LAST_NAMES, chunk.person_last[cust, person_k])
    person_null = rng.random(m) < 0.06
    seconds = day * 86_400 + 8 * 3600 + rng.integers(0, 600, m) * 60
    order = np.lexsort((np.arange(m), cust, seconds))
    ids = next_ids("K", counters, "contact", m, 9)
    frame = pl.DataFrame(
        {
            "customer_id": chunk.ids.gather(cust),
            "contact_date": pl.Series(seconds * 1_000_000).cast(pl.Datetime("us")),
            "manager_id": pl.Series(chunk.managers["id"][owner]).set(pl.Series(~with_manager), None),
            "medium": medium,
            "direction": np.where(outbound, "outbound", "inbound"),
            "reason_code": labels(code_names, code, is_none),
            "contact_person": (first + " " + last).set(pl.Series(person_null), None),
        }
    )[order]
    return frame.insert_column(0, ids)


def referrals_frame(chunk: Chunk, counters: dict[str, int]) -> pl.DataFrame:
    """Referrals made by the chunk's customers, numbered on from `counters["referral"]`."""
    rng, n = chunk.rng, chunk.n
    lo = np.maximum(chunk.acquired, chunk.start_d)
    hi = np.where(chunk.defects, chunk.event_day - 1, chunk.end_d)
    count = rng.poisson(chunk.referral_rate * np.maximum(hi - lo, 0) / 365.25)
    cust = np.repeat(np.arange(n), count)
    day = lo[cust] + (rng.random(cust.size) * (hi - lo + 1)[cust]).astype(np.int64)
    order = np.lexsort((np.arange(cust.size), cust, day))
    cust, day = cust[order], day[order]
    # about a third convert: a customer acquired 2 weeks to 6 months later, referred once
    new = np.flatnonzero(~chunk.existing)
    new = new[np.argsort(chunk.acquired[new], kind="stable")]
    new_day = chunk.acquired[new]
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
    ids = next_ids("R", counters, "referral", cust.size, 7)
    referred_ids = chunk.ids.gather(np.maximum(referred, 0)).set(pl.Series(referred < 0), None)
    return pl.DataFrame(
        {
            "referral_id": ids,
            "referrer_customer_id": chunk.ids.gather(cust),
            "referral_date": dates(day),
            "referred_customer_id": referred_ids,
        }
    )
