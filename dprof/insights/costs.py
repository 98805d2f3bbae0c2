"""Cost: what each task uses per day or per month, in CPU-hours, GiB-hours and I/O,
and what it costs at the configured prices (``prices.py``), ranked by cost and by what
right-sizing would save.

Per task, over every run (failed runs used the machine too):

* ``cpu_hours_allocated``: runtime x ``cpu_cores`` (the cores the task could use);
  ``cpu_hours_used``: runtime x cores busy; CPU cost is on the allocated hours, which
  is what a reservation is paid for.
* ``gb_hours``: runtime x peak memory in GiB (1024 MiB): the peak held for the whole
  run, so an upper bound on the memory used over time.
* ``io_gb``: file bytes read + written, in GiB (2**30 bytes).
* Rates: totals divided by the days observed (the task's first start to its last end)
  times the period (1 day, or a month of 30 days). ``extrapolated`` says the window is
  shorter than the period, so the figure scales up what was seen. A task with one run
  has no rate (its figures are missing).
* Saving: the CPU-hours and GiB-hours a task would not reserve at the right-sizing
  requests (``sizing.py``), at the same run time, and their price.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from dprof.insights import history
from dprof.insights.prices import Prices

PERIODS = {"day": 1.0, "month": 30.0}
COLUMNS = ("process_name", "stage", "env", "runs", "days_observed", "period", "extrapolated",
           "runs_per_period", "runtime_hours", "cpu_hours_used", "cpu_hours_allocated",
           "gb_hours", "io_gb", "cpu_cost", "memory_cost", "io_cost", "cost", "currency",
           "saving_cpu_hours", "saving_gb_hours", "saving", "rank_by_cost", "rank_by_saving")
_GIB = 2.0**30


def cost(source, process=None, stage=None, env=None, since=None, until=None, *,
         prices: Prices = None, per: str = "month", sizing: pd.DataFrame = None,
         **sizing_options) -> pd.DataFrame:
    """One row per task, most expensive first (by cost, else by allocated CPU-hours
    when no prices are set). ``sizing``: a ``rightsizing`` frame for the savings (made
    here from the same history when not given)."""
    df = history.load(source, process, stage, env, since, until)
    if sizing is None:
        from dprof.insights import sizing as rightsizing
        sizing = rightsizing.find(df, **sizing_options)
    return find(df, prices=prices, per=per, sizing=sizing)


def find(df: pd.DataFrame, *, prices: Prices = None, per: str = "month",
         sizing: pd.DataFrame = None) -> pd.DataFrame:
    if per not in PERIODS:
        raise ValueError(f"per must be one of {sorted(PERIODS)}, got {per!r}")
    prices = prices or Prices()
    if df.empty:
        return history.empty_frame(COLUMNS)
    runtime_h = history._float(df, "runtime_seconds") / 3600.0
    work = pd.DataFrame({
        "process_name": df["process_name"].astype(object),
        "stage": df["stage"].astype(object), "env": df["env"].astype(object),
        "runtime_hours": runtime_h,
        "cpu_hours_used": df["cpu_cores_used"].to_numpy() * runtime_h,
        "cpu_hours_allocated": history._float(df, "cpu_cores") * runtime_h,
        "gb_hours": history._float(df, "memory_usage_peak_mb") / 1024.0 * runtime_h,
        "io_gb": df["io_bytes"].to_numpy() / _GIB,
        "start": df["task_start_time"].astype("datetime64[us, UTC]").astype("int64") / 1e6,
        "end": df["task_end_time"].astype("datetime64[us, UTC]").astype("int64") / 1e6,
    })
    g = work.groupby(list(history.TASK_KEYS), sort=True)
    sums = g[["runtime_hours", "cpu_hours_used", "cpu_hours_allocated", "gb_hours",
              "io_gb"]].sum(min_count=1)
    days = (g["end"].max() - g["start"].min()) / 86400.0
    period = PERIODS[per]
    with np.errstate(divide="ignore", invalid="ignore"):
        # one run spans no interval between runs: it gives totals but no rate
        factor = np.where((days > 0) & (g.size() >= 2), period / days, np.nan)
    out = sums.mul(factor, axis=0)
    out.insert(0, "runs", g.size())
    out.insert(1, "days_observed", days)
    out.insert(2, "period", per)
    out.insert(3, "extrapolated", days < period)
    out.insert(4, "runs_per_period", g.size() * factor)
    out = out.reset_index()
    out["cpu_cost"] = _priced(out["cpu_hours_allocated"], prices.cpu_hour)
    out["memory_cost"] = _priced(out["gb_hours"], prices.gb_hour)
    out["io_cost"] = _priced(out["io_gb"], prices.io_gb)
    out["cost"] = out[["cpu_cost", "memory_cost", "io_cost"]].sum(axis=1, min_count=1)
    out["currency"] = prices.currency
    out = _savings(out, sizing, prices)
    ranking = "cost" if prices.any else "cpu_hours_allocated"
    out = out.sort_values([ranking, "process_name"], ascending=[False, True],
                          na_position="last", kind="stable").reset_index(drop=True)
    out["rank_by_cost"] = out[ranking].rank(ascending=False, method="min").astype("Int64")
    saving_key = "saving" if prices.any else "saving_cpu_hours"
    out["rank_by_saving"] = out[saving_key].where(out[saving_key] > 0) \
        .rank(ascending=False, method="min").astype("Int64")
    return out[list(COLUMNS)]


def _priced(quantity: pd.Series, price) -> pd.Series:
    if price is None:
        return pd.Series(np.nan, index=quantity.index)
    return quantity * price


def _savings(out: pd.DataFrame, sizing, prices: Prices) -> pd.DataFrame:
    out["saving_cpu_hours"] = np.nan
    out["saving_gb_hours"] = np.nan
    if sizing is not None and not sizing.empty:
        keyed = sizing.set_index(list(history.TASK_KEYS))
        idx = pd.MultiIndex.from_frame(out[list(history.TASK_KEYS)])
        cpu = keyed["cpu_saving_cores"].reindex(idx).to_numpy(dtype=np.float64)
        mem = keyed["memory_saving_mb"].reindex(idx).to_numpy(dtype=np.float64)
        hours = out["runtime_hours"].to_numpy(dtype=np.float64)
        out["saving_cpu_hours"] = cpu * hours
        out["saving_gb_hours"] = mem / 1024.0 * hours
    parts = [_priced(out["saving_cpu_hours"], prices.cpu_hour),
             _priced(out["saving_gb_hours"], prices.gb_hour)]
    out["saving"] = pd.concat(parts, axis=1).sum(axis=1, min_count=1)
    return out
