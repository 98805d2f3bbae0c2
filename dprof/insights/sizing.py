"""Right-sizing: CPU and memory requests and limits for each task from the distribution
of its history, with the evidence and a confidence.

Method, per task (runs with status ok and the metric measured):

* CPU. Each run's cores in use is ``(cpu_user_utilization + cpu_system_utilization) x
  cpu_cores``, the average over the run. request = P``cpu_percentile`` (95) of it /
  ``cpu_target`` (0.7): at the request, 95% of runs use at most 70% of it.
  limit = the largest run's cores / ``cpu_target`` (and never below the request).
  The per-run average hides bursts inside a run; the target's headroom is for them.
* Memory. request = P``memory_percentile`` (99) of ``memory_usage_peak_mb`` /
  ``memory_target`` (0.8). limit = the largest peak / ``memory_target``, never below
  the request: memory over the limit is an OOM kill, so it is set from the worst run.
* Rounding: CPU up to the next 10 millicores, memory up to the next 16 MiB.
* Confidence. The distribution-free interval of the percentile (order statistics of a
  binomial, 95%): "high" when there are at least 100 runs and the interval's upper
  end is within 10% of the estimate, "medium" with at least 30 runs and within 25%,
  else "low". The interval is in the evidence columns.
* Current allocation: ``cpu_cores`` as the profile recorded it (the affinity count
  lowered to the cgroup quota) is what the task could use; the memory a task was
  given is not in a profile, so it is read from the tag ``memory_request_mb`` when
  runs carry it, and is missing otherwise.
"""
from __future__ import annotations

import json
import math
from statistics import NormalDist
from typing import Dict, Tuple

import numpy as np
import pandas as pd

from dprof.insights import history

COLUMNS = ("process_name", "stage", "env", "runs", "cpu_request", "cpu_limit",
           "memory_request_mb", "memory_limit_mb", "cpu_p50", "cpu_p95", "cpu_max",
           "cpu_p95_low", "cpu_p95_high", "memory_p50_mb", "memory_p99_mb", "memory_max_mb",
           "memory_p99_low_mb", "memory_p99_high_mb", "cpu_runs", "memory_runs",
           "cpu_allocated", "memory_allocated_mb", "cpu_confidence", "memory_confidence",
           "confidence", "cpu_saving_cores", "memory_saving_mb", "notes")


def check_target(name: str, value: float, low: float = 0.05, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not low <= value <= high:
        raise ValueError(f"{name} must be a fraction between {low} and {high}, got {value!r}")
    return float(value)


def quantile_interval(values: np.ndarray, q: float,
                      confidence: float = 0.95) -> Tuple[float, float, float]:
    """(estimate, low, high) of the q-quantile; the interval from the order statistics
    whose ranks the binomial(n, q) normal approximation gives (clipped to the data)."""
    v = np.sort(values)
    n = len(v)
    est = float(np.quantile(v, q))
    z = NormalDist().inv_cdf(0.5 + confidence / 2.0)
    half = z * math.sqrt(n * q * (1 - q))
    lo = int(np.clip(math.floor(n * q - half) - 1, 0, n - 1))
    hi = int(np.clip(math.ceil(n * q + half), 0, n - 1))
    return est, float(v[lo]), float(v[hi])


def _confidence(n: int, est: float, high: float) -> str:
    spread = (high / est - 1.0) if est > 0 else float("inf")
    if n >= 100 and spread <= 0.10:
        return "high"
    if n >= 30 and spread <= 0.25:
        return "medium"
    return "low"


def _round_up(value: float, step: float) -> float:
    return math.ceil(value / step - 1e-9) * step if np.isfinite(value) else float("nan")


_LEVELS = {"low": 0, "medium": 1, "high": 2}


def rightsizing(source, process=None, stage=None, env=None, since=None, until=None,
                **options) -> pd.DataFrame:
    """One row per task: recommended requests and limits and their evidence (see the
    module docstring; options: cpu_target, memory_target, cpu_percentile,
    memory_percentile, min_runs)."""
    return find(history.load(source, process, stage, env, since, until), **options)


def find(df: pd.DataFrame, *, cpu_target: float = 0.7, memory_target: float = 0.8,
         cpu_percentile: float = 95.0, memory_percentile: float = 99.0,
         min_runs: int = 5) -> pd.DataFrame:
    cpu_target = check_target("cpu_target", cpu_target)
    memory_target = check_target("memory_target", memory_target)
    for name, p in (("cpu_percentile", cpu_percentile), ("memory_percentile", memory_percentile)):
        if not 50.0 <= p <= 100.0:
            raise ValueError(f"{name} must be between 50 and 100, got {p!r}")
    ok = df[df["status"].astype(object) == "ok"].reset_index(drop=True) if "status" in df else df
    cores_used = ok["cpu_cores_used"].to_numpy(dtype=np.float64)
    peak = history._float(ok, "memory_usage_peak_mb")
    allocated = history._float(ok, "cpu_cores")
    mem_alloc = _tag_values(ok, "memory_request_mb")
    rows = []
    for key, pos in history.task_groups(ok).items():
        row: Dict = {"process_name": key[0], "stage": key[1], "env": key[2], "runs": len(pos)}
        notes = []
        row.update(_cpu(cores_used[pos], cpu_target, cpu_percentile / 100.0, min_runs, notes))
        row.update(_memory(peak[pos], memory_target, memory_percentile / 100.0, min_runs, notes))
        a = allocated[pos]
        row["cpu_allocated"] = float(np.median(a[np.isfinite(a)])) if np.isfinite(a).any() \
            else float("nan")
        m = mem_alloc[pos]
        row["memory_allocated_mb"] = float(np.median(m[np.isfinite(m)])) \
            if np.isfinite(m).any() else float("nan")
        if not np.isfinite(row["memory_allocated_mb"]):
            notes.append("memory allocated unknown (no 'memory_request_mb' tag): "
                         "memory saving missing")
        row["cpu_saving_cores"] = row["cpu_allocated"] - row["cpu_request"]
        row["memory_saving_mb"] = row["memory_allocated_mb"] - row["memory_request_mb"]
        levels = [c for c in (row["cpu_confidence"], row["memory_confidence"]) if c]
        row["confidence"] = min(levels, key=_LEVELS.get) if levels else None
        row["notes"] = notes
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COLUMNS)) if rows else history.empty_frame(COLUMNS)


def _cpu(values, target, q, min_runs, notes) -> Dict:
    v = values[np.isfinite(values)]
    out = {"cpu_runs": len(v)}
    if len(v) < min_runs:
        notes.append(f"CPU: {len(v)} run(s) with CPU measured, fewer than {min_runs}: "
                     f"no CPU recommendation")
        out.update(cpu_request=float("nan"), cpu_limit=float("nan"), cpu_p50=float("nan"),
                   cpu_p95=float("nan"), cpu_max=float("nan"), cpu_p95_low=float("nan"),
                   cpu_p95_high=float("nan"), cpu_confidence=None)
        return out
    est, low, high = quantile_interval(v, q)
    request = _round_up(max(est / target, 0.01), 0.01)
    limit = max(request, _round_up(float(v.max()) / target, 0.01))
    out.update(cpu_request=request, cpu_limit=limit, cpu_p50=float(np.median(v)),
               cpu_p95=est, cpu_max=float(v.max()), cpu_p95_low=low, cpu_p95_high=high,
               cpu_confidence=_confidence(len(v), est, high))
    return out


def _memory(values, target, q, min_runs, notes) -> Dict:
    v = values[np.isfinite(values)]
    out = {"memory_runs": len(v)}
    if len(v) < min_runs:
        notes.append(f"memory: {len(v)} run(s) with peak memory measured, fewer than "
                     f"{min_runs}: no memory recommendation")
        out.update(memory_request_mb=float("nan"), memory_limit_mb=float("nan"),
                   memory_p50_mb=float("nan"), memory_p99_mb=float("nan"),
                   memory_max_mb=float("nan"), memory_p99_low_mb=float("nan"),
                   memory_p99_high_mb=float("nan"), memory_confidence=None)
        return out
    est, low, high = quantile_interval(v, q)
    request = _round_up(max(est / target, 16.0), 16.0)
    limit = max(request, _round_up(float(v.max()) / target, 16.0))
    out.update(memory_request_mb=request, memory_limit_mb=limit,
               memory_p50_mb=float(np.median(v)), memory_p99_mb=est,
               memory_max_mb=float(v.max()), memory_p99_low_mb=low, memory_p99_high_mb=high,
               memory_confidence=_confidence(len(v), est, high))
    return out


def _tag_values(df: pd.DataFrame, tag: str) -> np.ndarray:
    """A numeric tag of every row (NaN where absent or not a number). The tags column
    is JSON text; only rows whose text mentions the tag are decoded."""
    out = np.full(len(df), np.nan)
    if "tags" not in df or df.empty:
        return out
    text = df["tags"].astype(object)
    hits = np.flatnonzero(text.str.contains(f'"{tag}"', regex=False).fillna(False).to_numpy())
    for i in hits:
        try:
            out[i] = float(json.loads(text.iat[i])[tag])
        except (KeyError, TypeError, ValueError):
            pass
    return out
