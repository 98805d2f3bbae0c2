"""Change points in one series of runs: where the level of a metric moved, and by how much.

The statistics here work on plain numpy arrays (one value per run, oldest first); they
know nothing about profiles or the repository. ``changes.py`` applies them to each
process/stage/env history.

Method: binary segmentation with a rank CUSUM and a permutation test.

* Ranks, not values: run times and memory peaks are skewed and have outliers (a cold
  cache, a noisy neighbour). The test statistic is built from the average ranks of the
  values, so one wild run cannot make a change on its own and the test is
  distribution-free: under "no change" (the runs are exchangeable) every ordering of
  the ranks is equally likely, whatever the distribution of the values.
* Statistic: for each split ``k`` (at least ``min_segment`` runs each side), the
  standardised CUSUM of centred ranks ``|S_k| / sqrt(k (n - k) / n * var(r))``, which
  is the two-sample rank-sum z statistic of "first k runs" against "the rest"; the
  split with the largest value is the candidate change. (Placing the split by least
  absolute deviation from each side's median instead was tried: no better on normal or
  lognormal noise; a run of the new level that falls among the old values is
  misplaced by either.)
* Significance: the maximum over splits is compared with its distribution under random
  orderings of ``1..n`` (a permutation test). That distribution depends only on ``n``
  and ``min_segment``, so it is simulated once per (n, min_segment) with a fixed seed
  and cached: testing a series costs one sort and one cumulative sum.
* Several changes: a significant split divides the series and each part is tested
  again (binary segmentation), up to ``max_changes``.
* Size: relative change of the median, after over before (each side running up to the
  neighbouring change), with a percentile bootstrap interval (resampling each side).
  A change is kept when the permutation p-value is under ``alpha``, the interval
  excludes 0 and the size is at least ``min_change`` (so a real but negligible shift
  is not reported).

Assumptions: runs within a segment are exchangeable (no trend, no autocorrelation); a
slow drift across runs shows up as one or more steps.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np

#: Permutations simulated for the null distribution of the maximum statistic.
NULL_PERMUTATIONS = 2000
#: Beyond this many runs the null distribution is taken from the nearest point of a
#: geometric grid (ratio 1.05): the maximum grows like sqrt(2 log log n), so a 5% change
#: in n moves its quantiles by far less than their simulation error.
_EXACT_UP_TO = 200


@dataclass(frozen=True)
class ChangePoint:
    """One change in a series: the first run of the new level is ``index``."""

    index: int            # first index after the change
    p_value: float        # permutation p-value of the split in its segment
    before_median: float
    after_median: float
    change: float         # after_median / before_median - 1 (NaN when before is 0)
    change_low: float     # bootstrap interval of ``change``
    change_high: float
    n_before: int         # runs on each side, up to the neighbouring change
    n_after: int


def average_ranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given the mean of the ranks they span."""
    uniq, inverse, counts = np.unique(x, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return (ends - (counts - 1) / 2.0)[inverse].astype(np.float64)


def rank_cusum(ranks: np.ndarray, min_segment: int) -> np.ndarray:
    """The standardised statistic at every split ``k`` in [min_segment, n - min_segment]
    (index ``k - min_segment``); rows of a 2-D array are separate series."""
    r = np.atleast_2d(ranks)
    n = r.shape[1]
    centred = r - r.mean(axis=1, keepdims=True)
    var = centred.var(axis=1, keepdims=True)
    k = np.arange(min_segment, n - min_segment + 1)
    s = np.cumsum(centred, axis=1)[:, k - 1]
    scale = np.sqrt(k * (n - k) / n * var)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(scale > 0, np.abs(s) / np.where(scale > 0, scale, 1.0), 0.0)
    return out if ranks.ndim == 2 else out[0]


def _grid_n(n: int) -> int:
    if n <= _EXACT_UP_TO:
        return n
    step = np.log(1.05)
    return int(round(np.exp(round(np.log(n) / step) * step)))


@functools.lru_cache(maxsize=512)
def _null_maxima(n: int, min_segment: int) -> np.ndarray:
    """Sorted maxima of the statistic over random orderings of 1..n (seeded: the same
    on every run, so the same history always gives the same answer)."""
    rng = np.random.default_rng(n * 7919 + min_segment)
    out = np.empty(NULL_PERMUTATIONS)
    chunk = max(1, min(NULL_PERMUTATIONS, 2_000_000 // n))   # bounded memory
    base = np.arange(1, n + 1, dtype=np.float64)
    for start in range(0, NULL_PERMUTATIONS, chunk):
        rows = min(chunk, NULL_PERMUTATIONS - start)
        perm = rng.permuted(np.tile(base, (rows, 1)), axis=1)
        out[start:start + rows] = rank_cusum(perm, min_segment).max(axis=1)
    out.sort()
    return out


def split_test(x: np.ndarray, min_segment: int = 5) -> Tuple[Optional[int], float]:
    """(best split k, permutation p-value) of one segment; (None, 1.0) when it is too
    short or constant."""
    n = len(x)
    if n < 2 * min_segment:
        return None, 1.0
    stat = rank_cusum(average_ranks(x), min_segment)
    best = int(np.argmax(stat))
    observed = stat[best]
    if observed <= 0:
        return None, 1.0
    null = _null_maxima(_grid_n(n), min_segment)
    exceed = len(null) - np.searchsorted(null, observed - 1e-12, side="left")
    return best + min_segment, (1.0 + exceed) / (len(null) + 1.0)


def relative_change_interval(before: np.ndarray, after: np.ndarray, *, confidence: float = 0.95,
                             n_boot: int = 1000, seed: int = 0) -> Tuple[float, float, float]:
    """(change, low, high): median(after) / median(before) - 1 with a percentile
    bootstrap interval; NaNs when the before median is 0."""
    mb, ma = float(np.median(before)), float(np.median(after))
    if mb == 0:
        return float("nan"), float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    bb = np.median(before[rng.integers(0, len(before), (n_boot, len(before)))], axis=1)
    ba = np.median(after[rng.integers(0, len(after), (n_boot, len(after)))], axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratios = ba / bb - 1.0
    ratios = ratios[np.isfinite(ratios)]
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = (np.percentile(ratios, [tail, 100.0 - tail]) if ratios.size
                 else (float("nan"), float("nan")))
    return ma / mb - 1.0, float(low), float(high)


def detect(x, *, alpha: float = 0.01, min_change: float = 0.05, min_segment: int = 5,
           max_changes: int = 5, confidence: float = 0.95, n_boot: int = 1000,
           seed: int = 0) -> List[ChangePoint]:
    """The significant changes of level in ``x`` (one value per run, oldest first),
    oldest first. See the module docstring for the method and the parameters."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 1:
        raise ValueError(f"detect() needs a 1-D series, got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError("detect() needs finite values; drop missing runs first")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be between 0 and 1, got {alpha}")
    if min_segment < 2:
        raise ValueError(f"min_segment must be at least 2, got {min_segment}")
    found: List[Tuple[int, float]] = []
    pending = [(0, len(x))]
    while pending and len(found) < max_changes:
        # widest segment first, so that max_changes keeps the best-supported changes
        pending.sort(key=lambda seg: seg[1] - seg[0])
        lo, hi = pending.pop()
        k, p = split_test(x[lo:hi], min_segment)
        if k is None or p >= alpha:
            continue
        found.append((lo + k, p))
        pending += [(lo, lo + k), (lo + k, hi)]
    cuts = sorted(found)
    bounds = [0] + [c for c, _ in cuts] + [len(x)]
    out: List[ChangePoint] = []
    for i, (cut, p) in enumerate(cuts):
        before, after = x[bounds[i]:cut], x[cut:bounds[i + 2]]
        change, low, high = relative_change_interval(before, after, confidence=confidence,
                                                     n_boot=n_boot, seed=seed + cut)
        if not np.isfinite(change) or abs(change) < min_change:
            continue
        if not (low > 0 or high < 0):          # interval holds "no change"
            continue
        out.append(ChangePoint(cut, p, float(np.median(before)), float(np.median(after)),
                               change, low, high, len(before), len(after)))
    return out
