"""The statistics behind a run's totals: intervals, percentiles and a Bradley-Terry ranking.

All pure functions of plain numbers, so they are tested against known answers.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

__all__ = ["wilson_interval", "percentile", "bradley_terry", "Battle"]

Battle = tuple[str, str, float]  # (model a, model b, a's score: 1 win, 0.5 tie, 0 loss)
_Z95 = 1.959963984540054


def wilson_interval(successes: float, trials: int, z: float = _Z95) -> tuple[float, float] | None:
    """The Wilson score interval (95% by default) of a rate; None without trials. Ties
    counted as half a success are allowed (``successes`` may end in .5)."""
    if trials <= 0:
        return None
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by linear interpolation between ranks; None if empty."""
    data = sorted(v for v in values if v is not None)
    if not data:
        return None
    position = (len(data) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(data) - 1)
    return data[low] + (data[high] - data[low]) * (position - low)


def bradley_terry(battles: Iterable[Battle], *, iterations: int = 200,
                  tolerance: float = 1e-9) -> dict[str, float]:
    """Bradley-Terry strengths from pairwise outcomes (a tie is half a win each way), fitted by
    Hunter's MM algorithm with a small prior (one tie against every other model) so a model
    that won or lost every battle still gets a finite strength. Returned on an Elo-like scale:
    400 * log10(strength), centred so the mean is 1000. A higher number ranks higher."""
    wins: dict[tuple[str, str], float] = {}
    models: set[str] = set()
    for a, b, score in battles:
        if a == b:
            continue
        models |= {a, b}
        wins[(a, b)] = wins.get((a, b), 0.0) + score
        wins[(b, a)] = wins.get((b, a), 0.0) + 1 - score
    if not models:
        return {}
    names = sorted(models)
    for a in names:  # the prior: half a win each way between every pair
        for b in names:
            if a != b:
                wins[(a, b)] = wins.get((a, b), 0.0) + 0.5
    strength = {m: 1.0 for m in names}
    for _ in range(iterations):
        updated = {}
        for i in names:
            total_wins = sum(wins.get((i, j), 0.0) for j in names if j != i)
            denominator = sum((wins.get((i, j), 0.0) + wins.get((j, i), 0.0)) / (strength[i] + strength[j])
                              for j in names if j != i)
            updated[i] = total_wins / denominator if denominator else strength[i]
        geometric = math.exp(sum(math.log(v) for v in updated.values()) / len(updated))
        updated = {m: v / geometric for m, v in updated.items()}
        change = max(abs(updated[m] - strength[m]) for m in names)
        strength = updated
        if change < tolerance:
            break
    return {m: 1000 + 400 * math.log10(strength[m]) for m in names}
