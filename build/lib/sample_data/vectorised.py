"""Vectorised numpy helpers of the simulation: seeded random streams, day numbers, weighted
choices, segmented sums, renewal processes and the Series builders for labels and ids."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np
import polars as pl

_EPOCH = date(1970, 1, 1)
NEVER = 10**9  # "never", in days


def seeded_rng(seed: int, *stream: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=stream))


def day_number(d: date) -> int:
    return (d - _EPOCH).days


def dates(days: np.ndarray) -> pl.Series:
    return pl.Series(np.asarray(days, dtype=np.int32)).cast(pl.Date)


def month_index(days: np.ndarray) -> np.ndarray:
    return (days.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)


def weekday(days: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    """Move weekend days to the next Monday (the previous Friday past `hi`), within [lo, hi]."""
    dow = (days + 3) % 7  # 0 = Monday
    forward = np.where(dow == 5, 2, np.where(dow == 6, 1, 0))
    backward = np.where(dow == 5, 1, np.where(dow == 6, 2, 0))
    moved = np.where(days + forward <= hi, days + forward, days - backward)
    return np.clip(moved, lo, hi)


def choice(rng: np.random.Generator, n: int, p: np.ndarray) -> np.ndarray:
    cum = np.cumsum(p)
    return np.minimum(np.searchsorted(cum, rng.random(n) * cum[-1], side="right"), p.size - 1)


def segment_starts(counts: np.ndarray) -> np.ndarray:
    ends = np.cumsum(counts)
    return (ends - counts)[counts > 0]


def segmented_cumsum(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Cumulative sums restarting at every segment (segment i has counts[i] values)."""
    if values.size == 0:
        return values
    total = np.cumsum(values)
    starts = segment_starts(counts)
    offset = total[starts] - values[starts]
    return total - np.repeat(offset, counts[counts > 0])


def renewal(
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
        t = position[np.repeat(np.arange(active.size), draws)] + segmented_cumsum(gaps, draws)
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


def warp(t, t0, b1, b2, slow, after):
    """Operational time: 1x until b1, `slow` until b2, `after` afterwards."""
    return (
        np.minimum(t, b1) - t0
        + slow * np.clip(t - b1, 0, np.maximum(b2 - b1, 0))
        + after * np.maximum(t - b2, 0)
    )  # fmt: skip


def unwarp(x, t0, b1, b2, slow, after):
    seg1 = (b1 - t0).astype(float)
    seg2 = slow * (b2 - b1)
    return np.where(
        x <= seg1, t0 + x,
        np.where(x <= seg1 + seg2, b1 + (x - seg1) / slow, b2 + (x - seg1 - seg2) / after),
    )  # fmt: skip


def pick_line(
    rng: np.random.Generator, adopt_day: np.ndarray, weight: np.ndarray, day: np.ndarray
) -> np.ndarray:
    w = np.where(adopt_day <= day[:, None], weight, 0.0)
    cum = np.cumsum(w, axis=1)
    u = rng.random(day.size) * cum[:, -1]
    return np.minimum((cum <= u[:, None]).sum(axis=1), w.shape[1] - 1)


def pick_active(rng: np.random.Generator, managers: dict, day: np.ndarray) -> np.ndarray:
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


def labels(values: Any, index: np.ndarray, null: np.ndarray | None = None) -> pl.Series:
    """values[index] as a string Series, null where `null` is set."""
    series = pl.Series(list(values), dtype=pl.String).gather(index)
    return series if null is None else series.set(pl.Series(null), None)


def next_ids(prefix: str, counters: dict[str, int], kind: str, n: int, width: int) -> pl.Series:
    """The next `n` ids of `kind` ("T000000001", ...), numbered on from `counters[kind]`."""
    first = counters[kind] + 1
    counters[kind] += n
    numbers = pl.Series(np.arange(first, first + n, dtype=np.int64)).cast(pl.String)
    return (prefix + numbers.str.zfill(width)).alias(f"{kind}_id")
