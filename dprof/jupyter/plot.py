"""A profile's resource series one call away from a DataFrame or a plot.

``resources_frame(profile)`` gives the raw columns (one row per sample, seconds since
the start in ``t``); ``plot_resources(profile)`` draws the charts the HTML report
shows (CPU percent, resident memory, disk rates, threads, ...), derived by
``dprof.report.resource_panel.panel``, on a matplotlib Figure of its own (no pyplot
state, so nothing leaks into the user's current figure). A series the sampler could
not give is shown as "missing: <reason>", never drawn as zeros.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence


def _profile_resources(profile):
    resources = getattr(profile, "resources", None)
    if resources is None:
        name = getattr(profile, "process_name", type(profile).__name__)
        raise ValueError(f"profile {name!r} has no resource series; record it with "
                         f"resources=True (the default)")
    return resources


def resources_frame(profile):
    """The profile's resource series as a pandas DataFrame (one row per sample).

    ``attrs["missing"]`` holds the columns the sampler could not give, with the reason
    (those columns are NaN)."""
    import pandas as pd
    frame = pd.DataFrame({k: v for k, v in _profile_resources(profile).items()})
    frame.attrs["missing"] = dict(getattr(profile, "resources_missing", {}) or {})
    return frame


def plot_resources(profile, charts: Optional[Sequence[str]] = None, *, columns: int = 2,
                   width: float = 10.0, row_height: float = 2.2):
    """A matplotlib Figure with one small chart per resource series of ``profile``.

    ``charts``: titles to draw (default: every chart ``resource_panel.CHARTS`` can
    derive from the profile's columns), e.g. ``["resident memory (MiB)"]``. In Jupyter
    the returned Figure displays inline. ImportError when matplotlib is missing."""
    from matplotlib.figure import Figure

    from dprof.report.resource_panel import panel
    series, missing = panel(_profile_resources(profile),
                            getattr(profile, "resources_missing", None))
    available = [name for name in series if name != "timestamp"]
    wanted = list(available if charts is None else charts)
    unknown = [c for c in wanted if c not in series or c == "timestamp"]
    if unknown:
        raise ValueError(f"unknown resource chart(s) {unknown}; this profile has {available}")
    if not wanted:
        raise ValueError("the profile's resource series has no chart to draw")
    rows = math.ceil(len(wanted) / columns)
    fig = Figure(figsize=(width, row_height * rows), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    t = series["timestamp"] - (series["timestamp"][0] if len(series["timestamp"]) else 0.0)
    for ax, name in zip(axes.flat, wanted):
        ax.set_title(name, fontsize=9)
        ax.tick_params(labelsize=8)
        if name in missing:
            ax.text(0.5, 0.5, f"missing: {missing[name]}", ha="center", va="center",
                    wrap=True, fontsize=8, transform=ax.transAxes, color="#666")
            ax.set_xticks([])
            ax.set_yticks([])
            continue
        ax.plot(t, series[name], color="#3b7dd8", linewidth=1.2)
        ax.set_xlabel("seconds", fontsize=8)
    for ax in list(axes.flat)[len(wanted):]:
        ax.set_visible(False)
    title = getattr(profile, "process_name", None)
    if title:
        fig.suptitle(f"{title}: resources", fontsize=10)
    return fig
