"""The resource charts a report shows for a recorded profile.

A profile's series holds the sampler's raw columns: cumulative counters (CPU
seconds, bytes read), byte counts and GPU gauges, 43 of them. A reader wants a few of them as
rates and in readable units: CPU percent rather than CPU seconds so far, MiB/s
rather than a byte counter. ``panel()`` derives those, keeps a chart for a series
the sampler could not give (with its reason, never as zeros), and thins long runs
to a number of points a page can draw.
"""
from __future__ import annotations

from typing import Callable, Dict, Mapping, Optional, Sequence, Tuple

import numpy as np

from dprof.resources.columns import ADDED_LATER, NOT_RECORDED
from dprof.resources.series import ResourceSeries

MAX_POINTS = 2000
# CPU times advance in 10 ms clock ticks: a rate over a shorter interval jumps
# between 0 and multiples of 100 %, so charts use intervals of at least this
MIN_INTERVAL_S = 0.1
_MIB = float(2**20)


def _rate(column: str, scale: float = 1.0) -> Callable[[ResourceSeries], np.ndarray]:
    return lambda s: s.rate(column) / scale


def _column(column: str, scale: float = 1.0) -> Callable[[ResourceSeries], np.ndarray]:
    return lambda s: s[column] / scale


# (chart title, how it is derived, the raw columns it needs)
CHARTS: Tuple[Tuple[str, Callable[[ResourceSeries], np.ndarray], Tuple[str, ...]], ...] = (
    ("process CPU (% of one core)", lambda s: s.cpu_percent(), ("cpu_user_s", "cpu_system_s")),
    ("resident memory (MiB)", _column("rss_bytes", _MIB), ("rss_bytes",)),
    ("disk read (MiB/s)", _rate("read_bytes", _MIB), ("read_bytes",)),
    ("disk write (MiB/s)", _rate("write_bytes", _MIB), ("write_bytes",)),
    ("threads running", _column("threads_running"), ("threads_running",)),
    ("threads in disk wait", _column("threads_disk_wait"), ("threads_disk_wait",)),
    ("system CPU (% of all CPUs)", lambda s: s.system_cpu_percent(),
     ("sys_cpu_busy_s", "sys_cpu_total_s")),
    ("network sent (MiB/s, namespace)", _rate("net_sent_bytes", _MIB), ("net_sent_bytes",)),
    ("network received (MiB/s, namespace)", _rate("net_recv_bytes", _MIB), ("net_recv_bytes",)),
    ("GPU utilisation (%)", _column("gpu_util_percent"), ("gpu_util_percent",)),
    ("GPU memory used (MiB)", _column("gpu_mem_used_bytes", _MIB), ("gpu_mem_used_bytes",)),
    ("GPU temperature (°C, hottest)", _column("gpu_temperature_c"), ("gpu_temperature_c",)),
    ("GPU power (W)", _column("gpu_power_w"), ("gpu_power_w",)),
)

def _not_recorded(columns: Mapping[str, np.ndarray], needs: Tuple[str, ...]) -> Optional[str]:
    """The reason for a chart whose columns this series predates (a stored series
    from before the column existed: its chart says so instead of vanishing)."""
    for c in needs:
        if c not in columns and ADDED_LATER.get(c) in columns:
            return NOT_RECORDED.format(c)
    return None


def panel(resources: Mapping[str, Sequence],
          missing: Optional[Mapping[str, str]] = None) -> Tuple[Dict[str, np.ndarray],
                                                                  Dict[str, str]]:
    """(series, missing) for ``html_report``: ``timestamp`` and one entry per chart of
    ``CHARTS`` whose raw columns the profile has; a chart whose columns the sampler
    could not give is all NaN and ``missing`` says why. An empty series (no sample
    was taken) gives an empty series; ValueError without a ``timestamp`` column.

    The sampler reads columns in tiers (CPU and I/O every sample, thread states every
    10 ms, system-wide figures every 100 ms; NaN in between), so each chart is derived
    from the samples that hold its own columns, over intervals of at least
    ``MIN_INTERVAL_S``, and then shown on one common time grid: each grid point takes
    the value of the chart's interval that contains it."""
    missing = dict(missing or {})
    if not resources:       # a run shorter than one sampling interval: no samples
        return {}, missing
    if "timestamp" not in resources:
        raise ValueError(f"resource series need a 'timestamp' column; got {sorted(resources)}")
    columns = {k: np.asarray(v, dtype=np.float64) for k, v in resources.items()}
    t = columns["timestamp"]
    span = float(t[-1] - t[0]) if len(t) > 1 else 0.0
    step = max(MIN_INTERVAL_S, span / MAX_POINTS)
    grid = ResourceSeries({"timestamp": t}).thin(step)["timestamp"]
    out: Dict[str, np.ndarray] = {"timestamp": grid}
    out_missing: Dict[str, str] = {}
    for title, derive, needs in CHARTS:
        reason = _not_recorded(columns, needs)
        if reason is None and not all(c in columns for c in needs):
            continue        # a series from a sampler without these columns
        if reason is None:
            reason = next((missing[c] for c in needs if c in missing), None)
        if reason is not None:
            out[title] = np.full(len(grid), np.nan)
            out_missing[title] = reason
        else:
            out[title] = _on_grid(columns, needs, derive, step, grid)
    return out, out_missing


def _on_grid(columns, needs, derive, step, grid) -> np.ndarray:
    """One chart: derived from the samples holding all of `needs`, thinned to `step`,
    each grid point given the value of the sample interval that contains it."""
    t = columns["timestamp"]
    known = np.ones(len(t), dtype=bool)
    for c in needs:
        known &= ~np.isnan(columns[c])
    values = np.full(len(grid), np.nan)
    if not known.any():
        return values
    own = ResourceSeries({"timestamp": t[known], **{c: columns[c][known] for c in needs}})
    own = own.thin(step)
    with np.errstate(invalid="ignore", divide="ignore"):
        derived = np.asarray(derive(own), dtype=np.float64)
    at = np.searchsorted(own["timestamp"], grid, side="left")
    inside = at < len(derived)
    values[inside] = derived[at[inside]]
    return values
