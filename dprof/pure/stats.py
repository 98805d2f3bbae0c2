"""Pure-Python (numpy) twin of ``dprof._native.series_stats`` (csrc/series_stats.c).

Same arguments, same dict, same answers (tests/native/test_series_stats.py holds the
two together): NaN samples are skipped, statistics of nothing are None (never 0),
the standard deviation is the sample one (ddof 1), percentiles interpolate linearly
(numpy's default), and counters get their delta and rates over the samples where
both value and timestamp are present.
"""
import math
import numbers

import numpy as np

DEFAULT_PERCENTILES = (50, 90, 95, 99)


def _float64_vector(obj, name):
    try:
        arr = np.asarray(memoryview(obj))
    except TypeError:
        raise TypeError(f"{name} must be a buffer of float64, not {type(obj).__name__}") from None
    if arr.dtype != np.float64 or arr.dtype.byteorder not in ("=", "|", "<" if np.little_endian else ">"):
        raise TypeError(f"{name} must be a buffer of native float64, got {arr.dtype}")
    if arr.ndim != 1:
        raise TypeError(f"{name} must be one-dimensional, got {arr.ndim} dimensions")
    return arr


def _percentiles(percentiles):
    if isinstance(percentiles, (str, bytes)) or not hasattr(percentiles, "__iter__"):
        raise TypeError(f"percentiles must be a sequence of numbers, not "
                        f"{type(percentiles).__name__}")
    qs = list(percentiles)
    for q in qs:
        if isinstance(q, bool) or not isinstance(q, numbers.Real):
            raise TypeError(f"percentiles must be numbers, got {q!r}")
        if not 0 <= q <= 100:
            raise ValueError(f"percentiles must be in [0, 100], got {q!r}")
    return qs


def series_stats(values, timestamps=None, percentiles=DEFAULT_PERCENTILES, counter=False):
    """count, mean, min, max, stdev, ddof and percentiles of ``values``; with
    ``counter=True`` (needs ``timestamps``) also delta, elapsed_s, rate_per_s and
    max_rate_per_s."""
    v = _float64_vector(values, "values")
    t = None
    if timestamps is not None:
        t = _float64_vector(timestamps, "timestamps")
        if len(t) != len(v):
            raise ValueError(f"timestamps ({len(t)}) must match values ({len(v)}) in length")
    if counter and t is None:
        raise ValueError("counter=True needs timestamps")
    qs = _percentiles(percentiles)

    clean = v[~np.isnan(v)]
    n = len(clean)
    out = {"count": n, "mean": None, "min": None, "max": None, "stdev": None, "ddof": 1}
    if n:
        # shifted by the first value: a constant series then has a spread of exactly
        # 0 and a big mean with a small spread loses no digits
        shifted = clean - clean[0]
        offset = float(np.mean(shifted))
        out["mean"] = float(clean[0] + offset)
        out["min"] = float(np.min(clean))
        out["max"] = float(np.max(clean))
        if n > 1:
            out["stdev"] = float(np.sqrt(np.sum((shifted - offset) ** 2) / (n - 1)))
        got = np.percentile(clean, qs) if qs else []
        out["percentiles"] = {q: float(x) for q, x in zip(qs, got)}
    else:
        out["percentiles"] = {q: None for q in qs}
    if counter:
        out.update(_counter(v, t))
    return out


def _counter(v, t):
    keep = ~(np.isnan(v) | np.isnan(t))
    v, t = v[keep], t[keep]
    if not len(v):
        return {"delta": None, "elapsed_s": None, "rate_per_s": None, "max_rate_per_s": None}
    delta = float(v[-1] - v[0])
    elapsed = float(t[-1] - t[0])
    dv, dt = np.diff(v), np.diff(t)
    forward = dt > 0
    max_rate = float(np.max(dv[forward] / dt[forward])) if forward.any() else None
    rate = delta / elapsed if elapsed > 0 else None
    if rate is not None and not math.isfinite(rate):
        rate = None
    return {"delta": delta, "elapsed_s": elapsed, "rate_per_s": rate,
            "max_rate_per_s": max_rate}
