"""Leaks and drift within one long run: a robust slope of a resource series (RSS,
threads, open descriptors) with an interval, reported only when it is significant and
large enough to matter over the run.

Method (``theil_sen``): the series is reduced to at most ``max_points`` bins of equal
sample count (the median time and value of each), then the Theil-Sen slope (the median
of the slopes between every pair of bins) with Sen's distribution-free interval (the
order statistics of the pairwise slopes given by the normal approximation of Kendall's
S). One spike, a GC sawtooth or a burst of samples moves a median of pairwise slopes
little, where a least-squares line would follow them.

A run is reported when (a) the interval excludes 0 on the growing side, and (b) the
growth over the part of the run analysed (slope x its duration) is at least
``min_growth`` of the series' median level and at least the column's absolute floor
(16 MiB of RSS, 2 threads, 10 descriptors by default). The first ``warmup`` fraction of
the run is left out: imports and caches filling make every run's start grow.

Assumption: the bins' residuals are independent. Samples of a resource series are
autocorrelated, which binning reduces but does not remove, so the interval is
narrower than the truth; (b) is what keeps slow wobble from being reported.
"""
from __future__ import annotations

from statistics import NormalDist
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import pandas as pd

from dprof.insights import history

#: column -> (label, unit divisor, unit name, absolute floor of growth in raw units)
SERIES = {
    "rss_bytes": ("RSS", 2.0**20, "MiB", 16 * 2.0**20),
    "num_threads": ("threads", 1.0, "threads", 2.0),
    "num_fds": ("open descriptors", 1.0, "descriptors", 10.0),
}

COLUMNS = ("process_name", "stage", "env", "profile_id", "run_time", "series", "unit",
           "slope_per_hour", "slope_low_per_hour", "slope_high_per_hour",
           "growth_over_run", "median_level", "duration_hours", "samples")


def theil_sen(t, y, *, confidence: float = 0.95,
              max_points: int = 200) -> Tuple[float, float, float, float]:
    """(slope, low, high, intercept) of y over t; NaNs when fewer than 3 points."""
    t = np.asarray(t, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    keep = np.isfinite(t) & np.isfinite(y)
    t, y = t[keep], y[keep]
    if len(t) > max_points:
        t, y = _bin_medians(t, y, max_points)
    n = len(t)
    if n < 3:
        return (float("nan"),) * 4
    i, j = np.triu_indices(n, k=1)
    dt = t[j] - t[i]
    ok = dt != 0
    slopes = np.sort((y[j] - y[i])[ok] / dt[ok])
    m = len(slopes)
    if m == 0:
        return (float("nan"),) * 4
    slope = float(np.median(slopes))
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    c = z * np.sqrt(n * (n - 1) * (2 * n + 5) / 18.0)
    lo = int(np.clip(np.floor((m - c) / 2.0), 0, m - 1))
    hi = int(np.clip(np.ceil((m + c) / 2.0), 0, m - 1))
    intercept = float(np.median(y - slope * t))
    return slope, float(slopes[lo]), float(slopes[hi]), intercept


def _bin_medians(t: np.ndarray, y: np.ndarray, bins: int) -> Tuple[np.ndarray, np.ndarray]:
    order = np.argsort(t, kind="stable")
    t, y = t[order], y[order]
    size = len(t) // bins                  # at least ``bins`` bins of ``size`` samples;
    n = len(t) // size * size              # the last len % size samples drop out
    tb = t[:n].reshape(-1, size)
    yb = y[:n].reshape(-1, size)
    return np.median(tb, axis=1), np.median(yb, axis=1)


def series_drift(series: Dict[str, np.ndarray], *, columns: Sequence[str] = tuple(SERIES),
                 warmup: float = 0.1, min_growth: float = 0.1,
                 floors: Optional[Dict[str, float]] = None, confidence: float = 0.95,
                 min_samples: int = 20) -> List[Dict]:
    """Significant growth in one run's series (a dict of column -> array with a
    ``timestamp`` column in seconds): one dict per column that drifts."""
    t = series.get("timestamp")
    if t is None or len(t) < min_samples:
        return []
    t = np.asarray(t, dtype=np.float64)
    start = t[0] + warmup * (t[-1] - t[0])
    keep = t >= start
    out = []
    for col in columns:
        if col not in series:
            continue
        y = np.asarray(series[col], dtype=np.float64)[keep]
        tt = t[keep]
        if np.isfinite(y).sum() < min_samples:
            continue
        slope, low, high, _ = theil_sen(tt, y, confidence=confidence)
        if not np.isfinite(slope) or low <= 0:
            continue
        duration = float(tt[-1] - tt[0])
        growth = slope * duration
        level = float(np.nanmedian(y))
        label, div, unit, floor = SERIES.get(col, (col, 1.0, "", 0.0))
        floor = (floors or {}).get(col, floor)
        if growth < max(min_growth * abs(level), floor):
            continue
        out.append({"series": label, "column": col, "unit": unit,
                    "slope_per_hour": slope * 3600 / div,
                    "slope_low_per_hour": low * 3600 / div,
                    "slope_high_per_hour": high * 3600 / div,
                    "growth_over_run": growth / div, "median_level": level / div,
                    "duration_hours": duration / 3600, "samples": int(keep.sum())})
    return out


def drift(source, process=None, stage=None, env=None, since=None, until=None, *,
          min_duration: float = 60.0, runs_per_task: int = 3, repo=None,
          **options) -> pd.DataFrame:
    """Drift in the resource series of each task's latest long runs: up to
    ``runs_per_task`` runs of at least ``min_duration`` seconds that stored a series.
    Options as ``series_drift``. One row per run and series that drifts."""
    from dprof.repo import ProfileRepo
    repo = repo if repo is not None else (source if isinstance(source, ProfileRepo) else None)
    if repo is None:
        raise ValueError("drift needs the ProfileRepo (the series are read from it)")
    df = history.load(source, process, stage, env, since, until)
    return find(df, repo, min_duration=min_duration, runs_per_task=runs_per_task, **options)


def find(df: pd.DataFrame, repo, *, min_duration: float = 60.0, runs_per_task: int = 3,
         **options) -> pd.DataFrame:
    """``drift`` on a frame already loaded by ``history.load``."""
    long_runs = df[df["runtime_seconds"].to_numpy(dtype=np.float64, na_value=np.nan)
                   >= min_duration]
    candidates = long_runs["id"].astype(object).tolist()
    lengths = history.series_lengths(repo, candidates) if candidates else {}
    has = long_runs[long_runs["id"].astype(object).isin(list(lengths)).to_numpy()]
    rows = []
    for key, pos in history.task_groups(has).items():
        latest = has.iloc[pos[-runs_per_task:]]
        for pid, when in zip(latest["id"].astype(object), latest["task_start_time"]):
            res = repo.resources(pid)
            series = {c: res[c].to_numpy() for c in res.columns}
            for found in series_drift(series, **options):
                rows.append({"process_name": key[0], "stage": key[1], "env": key[2],
                             "profile_id": pid, "run_time": when,
                             **{k: v for k, v in found.items() if k != "column"}})
    return pd.DataFrame(rows, columns=list(COLUMNS)) if rows else history.empty_frame(COLUMNS)
