"""Statistics of repeated runtimes, in NumPy alone (no scipy).

* ``summarize``: min, median, mean, stdev and a 95% confidence interval of the mean
  (Student's t; the quantile is computed, not tabled).
* ``welch_test``: are two sets of runtimes different? Welch's t-test on the logarithms
  of the runtimes, so that it compares ratios (timings are skewed, their logs much
  less) and works from 2 runs each; a rank test cannot: with 3 runs each,
  Mann-Whitney's smallest two-sided p-value is 0.1.
* ``mann_whitney``: the exact (small samples) or normal-approximation (with tie
  correction) two-sided Mann-Whitney U test, for callers with more repeats.
* The t distribution's CDF through the regularized incomplete beta function, by its
  continued fraction (modified Lentz), checked against published table values.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import numpy as np

__all__ = ["summarize", "welch_test", "mann_whitney", "t_cdf", "t_quantile"]


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b)
                     + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with ``df`` degrees of freedom."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    x = df / (df + t * t)
    tail = 0.5 * _betainc(df / 2.0, 0.5, x)
    return 1.0 - tail if t > 0 else tail


def t_quantile(p: float, df: float) -> float:
    """The t value with P(T <= t) = p (bisection on t_cdf; 0 < p < 1)."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"t_quantile needs 0 < p < 1, got {p}")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        hi *= 2.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-12 * max(1.0, hi):
            break
    return 0.5 * (lo + hi)


def summarize(values: Sequence[float], confidence: float = 0.95) -> Dict[str, float]:
    """min, median, mean, stdev (sample, n - 1) and ci_low/ci_high of the mean.
    With one value the stdev and the interval are NaN (not measurable from one run)."""
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)],
                   dtype=np.float64)
    out = {"n": int(x.size), "min": math.nan, "median": math.nan, "mean": math.nan,
           "stdev": math.nan, "ci_low": math.nan, "ci_high": math.nan}
    if x.size == 0:
        return out
    out.update(min=float(x.min()), median=float(np.median(x)), mean=float(x.mean()))
    if x.size >= 2:
        sd = float(x.std(ddof=1))
        half = t_quantile(0.5 + confidence / 2.0, x.size - 1) * sd / math.sqrt(x.size)
        out.update(stdev=sd, ci_low=out["mean"] - half, ci_high=out["mean"] + half)
    return out


def welch_test(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided p-value of Welch's t-test on log(a) vs log(b) (positive values).
    1.0 when there are fewer than 2 values on a side (no evidence either way)."""
    la = np.log(np.asarray(a, dtype=np.float64))
    lb = np.log(np.asarray(b, dtype=np.float64))
    if la.size < 2 or lb.size < 2:
        return 1.0
    va, vb = la.var(ddof=1) / la.size, lb.var(ddof=1) / lb.size
    diff = la.mean() - lb.mean()
    if va + vb == 0.0:
        return 1.0 if diff == 0.0 else 0.0
    t = diff / math.sqrt(va + vb)
    df = (va + vb) ** 2 / ((va * va / (la.size - 1) if va else 0.0)
                           + (vb * vb / (lb.size - 1) if vb else 0.0))
    return min(1.0, 2.0 * (1.0 - t_cdf(abs(t), df)))


def _u_distribution(n1: int, n2: int) -> np.ndarray:
    """Counts of each U value over all C(n1+n2, n1) arrangements (no ties)."""
    # f[i][j][u]: arrangements of i and j items with statistic u; built row by row
    table = {(0, j): np.array([1.0]) for j in range(n2 + 1)}
    for i in range(1, n1 + 1):
        table[(i, 0)] = np.array([1.0])
        for j in range(1, n2 + 1):
            left = table[(i - 1, j)]                       # largest item from sample 1:
            right = table[(i, j - 1)]                      # it beats all j of sample 2
            size = i * j + 1
            out = np.zeros(size)
            out[j:j + left.size] += left
            out[:right.size] += right
            table[(i, j)] = out
    return table[(n1, n2)]


def mann_whitney(a: Sequence[float], b: Sequence[float]) -> Tuple[float, float]:
    """(U of ``a``, two-sided p-value). Exact when there are no ties and both samples
    have at most 20 values; otherwise the normal approximation with tie correction
    and continuity correction."""
    x = np.asarray(a, dtype=np.float64)
    y = np.asarray(b, dtype=np.float64)
    n1, n2 = x.size, y.size
    if n1 == 0 or n2 == 0:
        raise ValueError("mann_whitney needs values on both sides")
    both = np.concatenate([x, y])
    order = np.argsort(both, kind="stable")
    ranks = np.empty(both.size)
    sorted_vals = both[order]
    i = 0
    tie_term = 0.0
    while i < both.size:        # average ranks over ties
        j = i
        while j + 1 < both.size and sorted_vals[j + 1] == sorted_vals[i]:
            j += 1
        ranks[order[i:j + 1]] = 0.5 * (i + j) + 1.0
        t = j - i + 1
        tie_term += t ** 3 - t
        i = j + 1
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2.0)
    if tie_term == 0.0 and n1 <= 20 and n2 <= 20:
        dist = _u_distribution(n1, n2)
        total = dist.sum()
        k = int(round(min(u1, n1 * n2 - u1)))
        return u1, float(min(1.0, 2.0 * float(dist[:k + 1].sum()) / total))
    n = n1 + n2
    mean = n1 * n2 / 2.0
    var = n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1)))
    if var <= 0:
        return u1, 1.0
    z = (abs(u1 - mean) - 0.5) / math.sqrt(var)
    return u1, float(min(1.0, math.erfc(max(z, 0.0) / math.sqrt(2.0))))
