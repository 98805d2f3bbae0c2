"""``Comparison``: the result of compare(), live or reopened from the database.

It holds one row per run (``runs``) and derives everything else from them, so that a
comparison reopened with ``load_comparison`` shows exactly what the live one showed:

* ``summary``: per algorithm and size, runtime min/median/mean/stdev and a 95% CI of
  the mean, the mean operation counts, peak memory, allocations, CPU;
* ``ranking``: per size, algorithms fastest first by median runtime; an algorithm
  whose runtimes are not significantly different (Welch's t-test on log runtimes,
  p >= 0.05) from the leader of the group above shares its rank;
* ``complexity``: per algorithm, the class fitted to the runtimes and to each
  operation count across sizes, with its confidence, beside the declared one.

In Jupyter it shows as HTML tables with the plot inline (``_repr_html_``; the plot
needs matplotlib).
"""
from __future__ import annotations

import base64
import io
import math
from typing import Any, Dict, List, Optional, Sequence

from dprof.algorithms import stats
from dprof.algorithms.complexity import ComplexityFit, fit_complexity
from dprof.algorithms.spec import COUNT_NAMES

__all__ = ["Comparison", "ALPHA"]

#: Significance level of the ranking's test.
ALPHA = 0.05

RUN_COLUMNS = ("comparison", "algorithm", "size", "iteration", "profile_id",
               "runtime_seconds", "cpu_cores", "cpu_user_utilization",
               "cpu_system_utilization", "memory_usage_peak_mb", "memory_allocations") \
    + COUNT_NAMES


def _mean(values) -> float:
    xs = [float(v) for v in values if v is not None and not _isnan(v)]
    return sum(xs) / len(xs) if xs else math.nan


def _isnan(v) -> bool:
    try:
        return math.isnan(v)
    except TypeError:
        return v is None or str(v) == "<NA>"


class Comparison:
    """The runs of one comparison and what follows from them (see the module doc)."""

    def __init__(self, id: str, spec: Dict[str, Any], runs: Sequence[Dict[str, Any]],
                 notes: Sequence[str] = (), stored: bool = False,
                 declared: Optional[Dict[str, Dict[str, Any]]] = None):
        import pandas as pd

        self.id = id
        self.spec = dict(spec)
        self.notes = list(notes)
        self.stored = stored
        self.declared = dict(declared or {})
        frame = pd.DataFrame(list(runs), columns=list(RUN_COLUMNS))
        for name in ("runtime_seconds", "cpu_cores", "cpu_user_utilization",
                     "cpu_system_utilization", "memory_usage_peak_mb"):
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
        for name in ("memory_allocations",) + COUNT_NAMES:
            frame[name] = pd.array([None if _isnan(v) else int(v) for v in frame[name]],
                                   dtype="Int64")
        frame["size"] = frame["size"].astype("int64")
        frame["iteration"] = frame["iteration"].astype("int64")
        self.runs = frame
        self._summary = self._ranking = self._complexity = None
        self._fits: Dict[tuple, Any] = {}

    # -- derived tables -------------------------------------------------------------
    @property
    def algorithms(self) -> List[str]:
        return list(self.spec.get("algorithms") or dict.fromkeys(self.runs["algorithm"]))

    @property
    def sizes(self) -> List[int]:
        return sorted(set(int(s) for s in self.runs["size"]))

    def _groups(self):
        for algo in self.algorithms:
            for size in self.sizes:
                rows = self.runs[(self.runs["algorithm"] == algo) & (self.runs["size"] == size)]
                if len(rows):
                    yield algo, size, rows

    @property
    def summary(self):
        """DataFrame, one row per algorithm and size (see the module doc)."""
        if self._summary is None:
            import pandas as pd
            out = []
            for algo, size, rows in self._groups():
                s = stats.summarize(rows["runtime_seconds"].tolist())
                cpu = [(u + y) * c * r for u, y, c, r in zip(
                    rows["cpu_user_utilization"], rows["cpu_system_utilization"],
                    rows["cpu_cores"], rows["runtime_seconds"])]
                row = {"algorithm": algo, "size": size, "runs": s["n"],
                       "runtime_min": s["min"], "runtime_median": s["median"],
                       "runtime_mean": s["mean"], "runtime_stdev": s["stdev"],
                       "runtime_ci_low": s["ci_low"], "runtime_ci_high": s["ci_high"]}
                for name in COUNT_NAMES:
                    row[name] = _mean(rows[name].tolist())
                row["memory_peak_mb"] = float(rows["memory_usage_peak_mb"].max()) \
                    if rows["memory_usage_peak_mb"].notna().any() else math.nan
                row["allocations"] = _mean(rows["memory_allocations"].tolist())
                row["cpu_seconds"] = _mean(cpu)
                row["cpu_user_utilization"] = _mean(rows["cpu_user_utilization"].tolist())
                row["cpu_system_utilization"] = _mean(rows["cpu_system_utilization"].tolist())
                out.append(row)
            cols = (["algorithm", "size", "runs", "runtime_min", "runtime_median",
                     "runtime_mean", "runtime_stdev", "runtime_ci_low", "runtime_ci_high"]
                    + list(COUNT_NAMES) + ["memory_peak_mb", "allocations", "cpu_seconds",
                                           "cpu_user_utilization", "cpu_system_utilization"])
            self._summary = pd.DataFrame(out, columns=cols)
        return self._summary

    @property
    def ranking(self):
        """DataFrame per size: rank (shared by algorithms not significantly
        different), algorithm, median runtime, ratio to the fastest, ``p_value`` of the
        test against the leader of the group before it (below ALPHA: it starts a new
        rank; NaN for the fastest), ``group_leader`` and ``same_as`` (the algorithms
        it is not significantly different from)."""
        if self._ranking is None:
            import pandas as pd
            out = []
            for size in self.sizes:
                times = {}
                for algo in self.algorithms:
                    rows = self.runs[(self.runs["algorithm"] == algo) &
                                     (self.runs["size"] == size)]
                    ts = [t for t in rows["runtime_seconds"].tolist() if not math.isnan(t)]
                    if ts:
                        times[algo] = ts
                order = sorted(times, key=lambda a: (float(_median(times[a])), a))
                if not order:
                    continue
                fastest = _median(times[order[0]])
                rank, leader = 0, None
                for pos, algo in enumerate(order):
                    p = math.nan
                    if leader is None:
                        rank, leader = 1, algo
                    else:
                        # against the leader of the group so far: a significant
                        # difference starts a new group (a new rank)
                        p = stats.welch_test(times[leader], times[algo])
                        if p < ALPHA:
                            rank, leader = pos + 1, algo
                    out.append({"size": size, "rank": rank, "algorithm": algo,
                                "runtime_median": _median(times[algo]),
                                "ratio": _median(times[algo]) / fastest if fastest > 0
                                else math.nan,
                                "p_value": p, "group_leader": leader})
            frame = pd.DataFrame(out, columns=["size", "rank", "algorithm", "runtime_median",
                                               "ratio", "p_value", "group_leader"])
            frame["same_as"] = [", ".join(a for a in frame[(frame["size"] == r.size) &
                                                             (frame["rank"] == r.rank)]
                                          ["algorithm"] if a != r.algorithm)
                                for r in frame.itertuples()]
            self._ranking = frame
        return self._ranking

    def fit(self, algorithm: str, metric: str = "runtime") -> Optional[ComplexityFit]:
        """The complexity fit of one algorithm's ``metric`` ("runtime" or a count
        name) across sizes; None when fewer than 3 sizes have values."""
        key = (algorithm, metric)
        if key not in self._fits:
            column = "runtime_seconds" if metric == "runtime" else metric
            if column not in self.runs.columns:
                raise ValueError(f"unknown metric {metric!r}; use runtime or one of "
                                 f"{', '.join(COUNT_NAMES)}")
            rows = self.runs[self.runs["algorithm"] == algorithm]
            by_size: Dict[int, List[float]] = {}
            for size, value in zip(rows["size"], rows[column]):
                if not _isnan(value):
                    by_size.setdefault(int(size), []).append(float(value))
            fit = None
            if len(by_size) >= 3:
                fit = fit_complexity(list(by_size), list(by_size.values()))
            self._fits[key] = fit
        return self._fits[key]

    @property
    def complexity(self):
        """DataFrame per algorithm and metric: fitted class, confidence, the declared
        average and worst classes, and why a fit is missing."""
        if self._complexity is None:
            import pandas as pd
            out = []
            for algo in self.algorithms:
                declared = self.declared.get(algo, {})
                for metric in ("runtime",) + COUNT_NAMES:
                    column = "runtime_seconds" if metric == "runtime" else metric
                    values = self.runs[self.runs["algorithm"] == algo][column]
                    if metric != "runtime" and values.isna().all():
                        continue        # the algorithm reports no such count
                    fit = self.fit(algo, metric)
                    out.append({"algorithm": algo, "metric": metric,
                                "fitted": fit.best if fit else None,
                                "confidence": fit.confidence if fit else math.nan,
                                "declared_average": declared.get("average"),
                                "declared_worst": declared.get("worst"),
                                "missing": None if fit else
                                "fewer than 3 sizes measured"})
            self._complexity = pd.DataFrame(out, columns=[
                "algorithm", "metric", "fitted", "confidence", "declared_average",
                "declared_worst", "missing"])
        return self._complexity

    # -- output -----------------------------------------------------------------------
    def to_dict(self) -> Dict[str, Any]:
        """JSON-safe: id, spec, notes, and the summary, ranking and complexity rows."""
        import json

        def rows(frame):
            return json.loads(frame.to_json(orient="records"))
        return {"id": self.id, "spec": self.spec, "stored": self.stored, "notes": self.notes,
                "summary": rows(self.summary), "ranking": rows(self.ranking),
                "complexity": rows(self.complexity)}

    def plot(self, path=None, metric: str = "runtime"):
        """A matplotlib Figure of cost against size with the fitted curves; written to
        ``path`` when given. Needs matplotlib (``pip install 'dprof[plot]'``)."""
        from dprof.algorithms.plot import plot_comparison
        return plot_comparison(self, path=path, metric=metric)

    def _repr_png_(self) -> Optional[bytes]:
        try:
            fig = self.plot()
        except ImportError:
            return None
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
        return buf.getvalue()

    def _repr_html_(self) -> str:
        png = self._repr_png_()
        img = "" if png is None else (
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode("ascii")}" '
            f'alt="cost against size"/>')
        notes = "".join(f"<p><em>{_escape(n)}</em></p>" for n in self.notes)
        return (f"<div><h4>dprof comparison {self.id}</h4>{notes}{img}"
                f"<h5>Ranking</h5>{self.ranking.to_html(index=False)}"
                f"<h5>Complexity</h5>{self.complexity.to_html(index=False)}"
                f"<h5>Summary</h5>{self.summary.to_html(index=False)}</div>")

    def __repr__(self) -> str:
        return (f"<Comparison {self.id}: {', '.join(self.algorithms)} at sizes "
                f"{', '.join(f'{s:,}' for s in self.sizes)}, {len(self.runs)} runs>")


def _median(values) -> float:
    xs = sorted(values)
    n = len(xs)
    return xs[n // 2] if n % 2 else 0.5 * (xs[n // 2 - 1] + xs[n // 2])


def _escape(text: str) -> str:
    import html
    return html.escape(text)
