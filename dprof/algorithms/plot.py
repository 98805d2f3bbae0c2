"""The plot of a comparison: cost against size, one colour per algorithm, measured
points (median, with the min-max range of the runs) and the fitted curve of the
class chosen for each. matplotlib is optional: without it this raises ImportError
saying how to install it."""
from __future__ import annotations


import numpy as np

__all__ = ["plot_comparison"]

_INSTALL = "plotting needs matplotlib: pip install 'dprof[plot]' (or pip install matplotlib)"


def _figure_class():
    # a Figure of its own, not pyplot's: no global figure list to close, no backend to
    # choose, and Jupyter shows it once (as the Comparison's display) rather than twice
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"{_INSTALL} ({exc})") from None
    return Figure


def plot_comparison(comparison, path=None, metric: str = "runtime"):
    """A Figure of ``metric`` ("runtime" or a count name) against size; saved to
    ``path`` (format from its ending: .png, .svg, .pdf) when given."""
    Figure = _figure_class()
    column = "runtime_seconds" if metric == "runtime" else metric
    runs = comparison.runs
    if column not in runs.columns:
        raise ValueError(f"unknown metric {metric!r}")
    fig = Figure(figsize=(7.5, 4.8))
    ax = fig.subplots()
    for i, algo in enumerate(comparison.algorithms):
        rows = runs[(runs["algorithm"] == algo) & runs[column].notna()]
        if rows.empty:
            continue
        color = f"C{i % 10}"
        groups = rows.groupby("size")[column]
        sizes = np.array(sorted(groups.groups), dtype=float)
        med = np.array([float(np.median(groups.get_group(s).astype(float))) for s in sizes])
        lo = np.array([float(groups.get_group(s).astype(float).min()) for s in sizes])
        hi = np.array([float(groups.get_group(s).astype(float).max()) for s in sizes])
        fit = comparison.fit(algo, metric)
        label = algo if fit is None else f"{algo}: {fit.best} ({fit.confidence:.0%})"
        ax.errorbar(sizes, med, yerr=[med - lo, hi - med], fmt="o", color=color,
                    capsize=3, label=label)
        ax.plot(sizes, med, "-", color=color, alpha=0.35, linewidth=1)
        if fit is not None:
            grid = np.geomspace(sizes.min(), sizes.max(), 64)
            ax.plot(grid, np.maximum(fit.predict(grid), 1e-300), "--", color=color,
                    linewidth=1)
    ax.set_xscale("log")
    if (runs[column].dropna().astype(float) > 0).any():
        ax.set_yscale("log")
    ax.set_xlabel("input size n")
    ax.set_ylabel("runtime (s)" if metric == "runtime" else metric)
    spec = comparison.spec
    ax.set_title(f"comparison {comparison.id}: {spec.get('distribution', '?')} "
                 f"{spec.get('kind', '?')} input (dashed: fitted class)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    if path is not None:
        fig.savefig(str(path))
    return fig
