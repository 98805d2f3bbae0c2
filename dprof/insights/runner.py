"""Assembling the insights: load the history once, run every analysis on it, and keep
the findings with the notes on what could not be computed and why.

``report()`` is what ``dprof insights`` and Jupyter use; the analyses are also callable
one by one (``dprof.insights.regressions(repo)`` and so on) and each returns a DataFrame.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Dict, List, Optional, Union

import numpy as np
import pandas as pd

from dprof.insights import costs as cost_mod
from dprof.insights import leaks as drift_mod
from dprof.insights import history, prices as prices_mod
from dprof.insights import changes as regressions_mod
from dprof.insights import sizing as sizing_mod
from dprof.insights import wheretolook as where_mod

SECTIONS = ("regressions", "drift", "rightsizing", "cost", "where_to_look")


@dataclass
class InsightsReport:
    """The findings over one filtered history: one DataFrame per analysis."""

    regressions: pd.DataFrame
    drift: pd.DataFrame
    rightsizing: pd.DataFrame
    cost: pd.DataFrame
    where_to_look: pd.DataFrame
    profiles: int = 0
    tasks: int = 0
    notes: List[str] = field(default_factory=list)
    parameters: Dict[str, Any] = field(default_factory=dict)

    @property
    def current_regressions(self) -> pd.DataFrame:
        """Regressions that are the latest change of their task and metric: the level
        today is the worse one. What ``--fail-on-regression`` fails on."""
        r = self.regressions
        if r.empty:
            return r
        return r[(r["kind"] == "regression") & r["current"].astype(bool)]

    @property
    def has_regression(self) -> bool:
        return not self.current_regressions.empty

    # -- renderings -------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe: times as ISO 8601, NaN as None."""
        out: Dict[str, Any] = {"profiles": self.profiles, "tasks": self.tasks,
                               "parameters": _plain(self.parameters), "notes": list(self.notes)}
        for name in SECTIONS:
            out[name] = frame_records(getattr(self, name))
        return out

    def to_json(self, indent: Optional[int] = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    def to_text(self, width: int = 100) -> str:
        from dprof.insights.render_text import render
        return render(self, width=width)

    def k8s(self) -> str:
        from dprof.insights.manifests import k8s
        return k8s(self.rightsizing)

    def compose(self) -> str:
        from dprof.insights.manifests import compose
        return compose(self.rightsizing)

    def to_html(self, full_page: bool = True) -> str:
        from dprof.insights.render_html import render
        return render(self, full_page=full_page)

    def _repr_html_(self) -> str:
        return self.to_html(full_page=False)

    def __repr__(self) -> str:
        return (f"InsightsReport({self.profiles} profiles, {self.tasks} tasks: "
                f"{len(self.regressions)} changes, {len(self.drift)} drifting series, "
                f"{len(self.rightsizing)} sized, {len(self.cost)} costed)")


def report(source, process=None, stage=None, env=None, since=None, until=None, *,
           prices: Union[prices_mod.Prices, str, None] = None, per: str = "month",
           alpha: float = 0.01, min_change: float = 0.05, min_segment: int = 5,
           cpu_target: float = 0.7, memory_target: float = 0.8,
           cpu_percentile: float = 95.0, memory_percentile: float = 99.0,
           drift_min_duration: float = 60.0, lines: bool = True,
           where_runs: int = 10) -> InsightsReport:
    """Every insight over the profiles matching the filters (see docs/insights.md).

    ``source``: a ProfileRepo, or a DataFrame from ``ProfileRepo.query`` (then drift,
    the lines of a change and where-to-look, which read stored attachments, are left
    out with a note). ``prices``: a Prices, a JSON file path, or None for the
    environment (``$DPROF_PRICES`` and ``$DPROF_PRICE_*``)."""
    from dprof.repo import ProfileRepo
    if not isinstance(prices, prices_mod.Prices):
        prices = prices_mod.load(prices)
    repo = source if isinstance(source, ProfileRepo) else None
    df = history.load(source, process, stage, env, since, until)
    params = {"process": process, "stage": stage, "env": env, "since": since, "until": until,
              "per": per, "alpha": alpha, "min_change": min_change,
              "min_segment": min_segment, "cpu_target": cpu_target,
              "memory_target": memory_target, "cpu_percentile": cpu_percentile,
              "memory_percentile": memory_percentile,
              "drift_min_duration": drift_min_duration, "prices": prices.source}
    notes: List[str] = []
    regs = regressions_mod.find(df, repo=repo, alpha=alpha, min_change=min_change,
                                min_segment=min_segment, lines=lines)
    sizing = sizing_mod.find(df, cpu_target=cpu_target, memory_target=memory_target,
                             cpu_percentile=cpu_percentile, memory_percentile=memory_percentile)
    costs = cost_mod.find(df, prices=prices, per=per, sizing=sizing)
    if repo is not None:
        drifts = drift_mod.find(df, repo, min_duration=drift_min_duration)
        where = where_mod.find(df, repo, runs=where_runs)
    else:
        drifts = history.empty_frame(drift_mod.COLUMNS)
        where = history.empty_frame(where_mod.COLUMNS)
        notes.append("drift and where-to-look need the repository (stored series and "
                     "stacks); a DataFrame was given")
    groups = history.task_groups(df)
    short = [history.task_label(k) for k, pos in groups.items() if len(pos) < 2 * min_segment]
    if short:
        notes.append(f"{len(short)} task(s) have fewer than {2 * min_segment} runs, too few "
                     f"to test for a change: {', '.join(short[:5])}"
                     f"{' ...' if len(short) > 5 else ''}")
    notes.append("open descriptors: no drift figure, the resource series holds no "
                 "descriptor column (the sampler does not record one)")
    if not prices.any:
        notes.append("cost missing: no prices are set (give --prices FILE, or set "
                     "$DPROF_PRICES or $DPROF_PRICE_CPU_HOUR / _GB_HOUR / _IO_GB); "
                     "quantities are reported")
    else:
        for name in prices_mod.ENV_VALUES:
            if getattr(prices, name) is None:
                notes.append(f"{name.replace('_', ' ')} cost missing: "
                             f"{prices.missing_reason(name)}")
    return InsightsReport(regressions=regs, drift=drifts, rightsizing=sizing, cost=costs,
                          where_to_look=where, profiles=len(df), tasks=len(groups),
                          notes=notes, parameters=params)


# -- JSON-safe values ---------------------------------------------------------------
def _plain(value):
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (pd.Timestamp, datetime)):
        return value.isoformat()
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(float(value)) else float(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_plain(v) for v in value]
    if value is pd.NA or value is pd.NaT:
        return None
    return str(value)


def frame_records(df: pd.DataFrame) -> List[Dict[str, Any]]:
    return [{k: _plain(v) for k, v in rec.items()} for rec in df.to_dict("records")]
