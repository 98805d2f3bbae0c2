"""Statistics of benchmark rounds: summaries, Mann-Whitney U and bootstrap intervals.

Pure functions over plain sequences of numbers, numpy only (no scipy), so that the
regression gate (``gate.py``) and ``dprof bench compare`` decide in the same way and
the tests can check every number against a hand-computed or brute-force answer.

Nothing here reads clocks or touches pytest.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Sequence, Tuple

import numpy as np

__all__ = ["summary", "mann_whitney_u", "MannWhitney", "bootstrap_ratio_interval",
           "STATISTICS"]

#: The statistics a change can be measured on (``--dprof-fail=mean:5%``).
STATISTICS: Dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda a: float(np.mean(a)),
    "median": lambda a: float(np.median(a)),
    "min": lambda a: float(np.min(a)),
    "max": lambda a: float(np.max(a)),
}


def summary(values: Sequence[float]) -> Dict[str, Optional[float]]:
    """min, max, mean, median, stdev (sample, n-1), iqr and the count of ``values``.

    An empty sequence gives None for every statistic; one value gives stdev None
    (a spread cannot be had from one round)."""
    a = np.asarray(values, dtype=np.float64)
    n = int(a.size)
    if n == 0:
        return {"min": None, "max": None, "mean": None, "median": None, "stdev": None,
                "iqr": None, "n": 0}
    q1, q3 = np.percentile(a, [25, 75])
    return {"min": float(a.min()), "max": float(a.max()), "mean": float(a.mean()),
            "median": float(np.median(a)),
            "stdev": float(a.std(ddof=1)) if n > 1 else None,
            "iqr": float(q3 - q1), "n": n}


def _normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


@dataclass(frozen=True)
class MannWhitney:
    """Result of a two-sided Mann-Whitney U test of ``x`` against ``y``.

    ``u``: U of ``x`` (the number of pairs with x > y, ties counting one half).
    ``z``: the normal-approximation statistic (continuity-corrected, tie-corrected);
    positive when ``x`` tends to be larger. ``p``: two-sided p-value. ``p`` is 1.0
    when every value is tied (no evidence of any difference)."""
    u: float
    z: float
    p: float


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> MannWhitney:
    """Two-sided Mann-Whitney U test with the normal approximation.

    Ranks are mid-ranks for ties; the variance carries the tie correction
    ``n1*n2/12 * ((n+1) - sum(t^3 - t) / (n(n-1)))`` and the statistic a continuity
    correction of 1/2 towards the mean, as in the textbook (and as scipy's
    ``mannwhitneyu(method="asymptotic")``). The approximation is good from about
    eight values per side; benchmarks have many more rounds than that."""
    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    n1, n2 = int(a.size), int(b.size)
    if n1 == 0 or n2 == 0:
        raise ValueError(f"mann_whitney_u needs values on both sides, got {n1} and {n2}")
    if not (np.all(np.isfinite(a)) and np.all(np.isfinite(b))):
        raise ValueError("mann_whitney_u got a NaN or infinite value")
    both = np.concatenate([a, b])
    n = n1 + n2
    ranks = _midranks(both)
    r1 = float(ranks[:n1].sum())
    u1 = r1 - n1 * (n1 + 1) / 2.0
    mu = n1 * n2 / 2.0
    _, counts = np.unique(both, return_counts=True)
    ties = float(np.sum(counts.astype(np.float64) ** 3 - counts))
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0.0:
        return MannWhitney(u=u1, z=0.0, p=1.0)
    diff = u1 - mu
    # continuity correction: move |U - mu| half a unit towards zero
    corrected = max(abs(diff) - 0.5, 0.0)
    z = math.copysign(corrected / math.sqrt(var), diff) if diff else 0.0
    p = min(1.0, 2.0 * _normal_sf(abs(z)))
    return MannWhitney(u=u1, z=z, p=p)


def _midranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1..n with tied values sharing the mean of their ranks."""
    order = np.argsort(values, kind="mergesort")
    sorted_vals = values[order]
    # start index of each run of equal values
    starts = np.flatnonzero(np.concatenate([[True], sorted_vals[1:] != sorted_vals[:-1]]))
    ends = np.concatenate([starts[1:], [len(values)]])
    mean_rank = (starts + ends + 1) / 2.0          # mean of ranks start+1 .. end
    run_lengths = ends - starts
    ranks_sorted = np.repeat(mean_rank, run_lengths)
    ranks = np.empty(len(values), dtype=np.float64)
    ranks[order] = ranks_sorted
    return ranks


def bootstrap_ratio_interval(baseline: Sequence[float], current: Sequence[float],
                             statistic: str = "mean", confidence: float = 0.95,
                             resamples: int = 2000, seed: int = 0
                             ) -> Tuple[Optional[float], Optional[float]]:
    """Percentile bootstrap interval of ``stat(current) / stat(baseline) - 1``.

    Each side is resampled with replacement on its own (the rounds of two runs are
    independent). Seeded, so that a report is reproducible. Returns (low, high) as
    fractions (0.05 = 5% larger), or (None, None) when the baseline statistic is 0 in
    some resample (a ratio cannot be had)."""
    if statistic not in STATISTICS:
        raise ValueError(f"unknown statistic {statistic!r}; one of {sorted(STATISTICS)}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence!r}")
    a = np.asarray(baseline, dtype=np.float64)
    b = np.asarray(current, dtype=np.float64)
    if a.size == 0 or b.size == 0:
        return None, None
    rng = np.random.default_rng(seed)
    # resamples x n index matrices; benchmarks have at most a few thousand rounds,
    # and the draws are chunked so that memory stays under a few tens of MiB
    stats_a = _resampled(a, statistic, resamples, rng)
    stats_b = _resampled(b, statistic, resamples, rng)
    if np.any(stats_a == 0):
        return None, None
    ratios = stats_b / stats_a - 1.0
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(ratios, [tail, 100.0 - tail])
    return float(low), float(high)


def _resampled(a: np.ndarray, statistic: str, resamples: int,
               rng: np.random.Generator) -> np.ndarray:
    out = np.empty(resamples, dtype=np.float64)
    chunk = max(1, 2_000_000 // max(1, a.size))
    reducer = {"mean": lambda m: m.mean(axis=1), "median": lambda m: np.median(m, axis=1),
               "min": lambda m: m.min(axis=1), "max": lambda m: m.max(axis=1)}[statistic]
    for start in range(0, resamples, chunk):
        stop = min(resamples, start + chunk)
        idx = rng.integers(0, a.size, size=(stop - start, a.size))
        out[start:stop] = reducer(a[idx])
    return out
