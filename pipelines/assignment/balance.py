"""The one definition of a balanced module (SPEC §6), with managers' capacities and pinned
accounts.

Each manager's proportional target of a grade is the grade's customers times the manager's share
of the capacity (FTE) of the managers who share that grade; a balanced module holds, of each
grade and in total, the target rounded down or up (within one account of it). With equal
capacities that is floor(n / M) or ceil(n / M).

Pinned customers stay with their manager. When the pins of a grade make that balance impossible
(a manager's pins exceed their share, or leave the others fewer customers than their floors), the
managers whose pins exceed their exact target are taken out of that grade's balance: they hold
exactly their pinned customers of the grade, and the other managers share the rest by capacity,
again within one. Such a manager's total is not bound either, and their balance is reported as
relaxed. Targets are computed in exact fractions, so no rounding error moves a bound.

Pins of several grades can each fit their grade and still, together, leave no balanced module
(the pins of one manager fill floors of grades whose sum exceeds their total's ceiling). The
solver then loosens the balance step by step, each step only where pins sit
(`_balanced_counts` in solver.py):
the pinned managers hold exactly their pins (`balance(..., forced=pinned managers)`); where every
manager holds pins, their totals are unbound but every grade stays within one of its target
(`unbind_totals`); last, the pinned managers are bound by their pins alone (`pins_only`). Every
step relaxes pinned managers only (SPEC §6); on 20,000 random cases the third step always sufficed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np


@dataclass(frozen=True)
class Balance:
    """Bounds per grade and manager (arrays G x M) and per manager in total (arrays M)."""

    target: np.ndarray  # exact proportional targets (float, for reports), G x M
    fewest: np.ndarray  # G x M
    most: np.ndarray  # G x M
    fewest_total: np.ndarray  # M
    most_total: np.ndarray  # M
    relaxed: np.ndarray  # M, bool: the manager's pins forced them out of the balance


def _fraction(value: float) -> Fraction:
    return Fraction(str(value))  # 0.5 FTE is exactly 1/2, not a binary approximation


def _grade_targets(
    n: int, capacity: list[Fraction], pinned: list[int], forced: frozenset[int]
) -> tuple[list[Fraction], list[bool]]:
    """Targets of one grade, and which managers hold exactly their pins (taken out of balance;
    the `forced` ones always)."""
    fixed = [m in forced for m in range(len(capacity))]
    while True:
        free = [m for m, f in enumerate(fixed) if not f]
        rest = n - sum(p for p, f in zip(pinned, fixed, strict=True) if f)
        share = sum(capacity[m] for m in free)
        target = [
            Fraction(pinned[m]) if fixed[m] else rest * capacity[m] / share for m in range(len(capacity))
        ]
        lowest = sum(max(math.floor(target[m]), pinned[m]) for m in free) + n - rest
        over = [m for m in free if pinned[m] > math.ceil(target[m])]
        if not over and lowest <= n:
            return target, fixed
        # the pins make the balance impossible: whoever holds more pins than their exact target
        # keeps exactly their pins (there is one, since the pins exceed the targets' sum)
        for m in free:
            if pinned[m] > target[m]:
                fixed[m] = True


def balance(
    customers_per_grade: list[int],
    capacities: list[float],
    pinned: np.ndarray,
    forced: frozenset[int] = frozenset(),
) -> Balance:
    """Bounds for `customers_per_grade[g]` customers of each grade over managers with
    `capacities[m]` (FTE), `pinned[g, m]` of them pinned to manager m. A manager whose pins in
    all exceed their total's ceiling, or who is `forced`, holds exactly their pins of every grade."""
    capacity = [_fraction(c) for c in capacities]
    grades, managers = len(customers_per_grade), len(capacities)
    pins_total = [int(pinned[:, m].sum()) for m in range(managers)]
    while True:
        target = [[Fraction(0)] * managers for _ in range(grades)]
        relaxed = [m in forced for m in range(managers)]
        for g, n in enumerate(customers_per_grade):
            target[g], fixed = _grade_targets(n, capacity, [int(p) for p in pinned[g]], forced)
            relaxed = [r or f for r, f in zip(relaxed, fixed, strict=True)]
        totals = [sum(target[g][m] for g in range(grades)) for m in range(managers)]
        over = {m for m in range(managers) if m not in forced and pins_total[m] > math.ceil(totals[m])}
        if not over:
            break
        forced = forced | over
    everyone = sum(customers_per_grade)
    return Balance(
        target=np.array([[float(t) for t in row] for row in target]).reshape(grades, managers),
        fewest=np.array([[math.floor(t) for t in row] for row in target], dtype=np.int64).reshape(
            grades, managers
        ),
        most=np.array([[math.ceil(t) for t in row] for row in target], dtype=np.int64).reshape(
            grades, managers
        ),
        fewest_total=np.array(
            [0 if r else math.floor(t) for r, t in zip(relaxed, totals, strict=True)], dtype=np.int64
        ),
        most_total=np.array(
            [everyone if r else math.ceil(t) for r, t in zip(relaxed, totals, strict=True)], dtype=np.int64
        ),
        relaxed=np.array(relaxed, dtype=bool),
    )


def unbind_totals(bounds: Balance, managers: np.ndarray, everyone: int) -> Balance:
    """`bounds` with the totals of `managers` (bool, M) unbound (0 to `everyone`, the customers of
    every grade) and those managers relaxed; every grade keeps its bounds."""
    return replace(
        bounds,
        fewest_total=np.where(managers, 0, bounds.fewest_total),
        most_total=np.where(managers, everyone, bounds.most_total),
        relaxed=bounds.relaxed | managers,
    )


def pins_only(
    bounds: Balance, managers: np.ndarray, customers_per_grade: list[int], pinned: np.ndarray
) -> Balance:
    """`bounds` where `managers` (bool, M: the pinned ones) are bound by their pins alone: at least
    their pinned customers of each grade, any number beyond; the other managers keep their bounds."""
    grades = np.array(customers_per_grade, dtype=np.int64)[:, None]
    loose = np.broadcast_to(managers, pinned.shape)
    return replace(
        unbind_totals(bounds, managers, int(grades.sum())),
        fewest=np.where(loose, pinned, bounds.fewest).astype(np.int64),
        most=np.where(loose, grades, bounds.most).astype(np.int64),
    )
