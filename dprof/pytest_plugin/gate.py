"""The regression gate: compare a benchmark with its baseline, decide what fails.

A threshold (``--dprof-fail=mean:5%``) fails a benchmark only when both hold:

1. the change of the statistic (current / baseline - 1) is larger than the
   threshold, and
2. it is statistically significant on the raw rounds: a two-sided Mann-Whitney U
   test of the current rounds against the baseline's gives p < alpha (default
   0.01), with the current rounds the larger.

Condition 2 is what keeps noise from failing builds: a run whose mean moved by
more than the threshold only because a few rounds were interrupted does not shift
the whole distribution, and the rank test says so. Every comparison also carries a
95% percentile-bootstrap interval of the change, for the report.
"""
from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence

from dprof.pytest_plugin import stats
from dprof.pytest_plugin.result import BenchResult

#: ``--dprof-fail`` metric -> (round metric, statistic of its rounds).
GATE_METRICS = {
    "mean": ("time", "mean"),
    "median": ("time", "median"),
    "min": ("time", "min"),
    "peak_memory": ("peak_memory", "median"),
    "allocations": ("allocations", "mean"),
}
DEFAULT_ALPHA = 0.01
#: Allocations a round's count can differ by between two processes running the same
#: code: CPython's free lists (tuples, floats) serve some objects without an
#: allocator call depending on what ran before, in the harness's counter reads as in
#: the function. A change of allocations per call within this / iterations is
#: below what the counter resolves, and never fails.
ALLOCATION_RESOLUTION = 2.0
#: Bytes of a call's traced peak that two processes running the same code can
#: differ by (a dict or free list that has grown in one and not the other); a
#: peak change within it never fails.
PEAK_RESOLUTION = 1024.0

_THRESHOLD = re.compile(r"^\s*([a-z_0-9]+)\s*:\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*%\s*$")


@dataclass(frozen=True)
class Threshold:
    metric: str        # a GATE_METRICS key
    fraction: float    # 0.05 for "5%"

    def __str__(self) -> str:
        return f"{self.metric}:{self.fraction * 100:g}%"


def parse_threshold(text: str) -> Threshold:
    """``"mean:5%"`` -> Threshold("mean", 0.05); ValueError naming what is wrong."""
    match = _THRESHOLD.match(text or "")
    if not match:
        raise ValueError(f"--dprof-fail={text!r} is not METRIC:PERCENT% (for example "
                         f"mean:5%); metrics: {', '.join(GATE_METRICS)}")
    metric, number = match.group(1), float(match.group(2))
    if metric not in GATE_METRICS:
        raise ValueError(f"--dprof-fail={text!r}: unknown metric {metric!r}; one of "
                         f"{', '.join(GATE_METRICS)}")
    return Threshold(metric, number / 100.0)


@dataclass
class Change:
    """One metric of one benchmark against its baseline.

    ``change``: current / baseline - 1 of the statistic (None when it cannot be had,
    ``note`` says why; ``inf`` when the baseline is 0 and the current is not).
    ``low``/``high``: 95% bootstrap interval of the change. ``p``: Mann-Whitney
    two-sided p-value of the rounds. ``significant``: p < alpha.
    ``threshold``: the ``--dprof-fail`` fraction for this metric, if any;
    ``failed``: the gate's verdict."""
    name: str
    metric: str
    baseline: Optional[float]
    current: Optional[float]
    change: Optional[float]
    low: Optional[float]
    high: Optional[float]
    p: Optional[float]
    significant: bool
    threshold: Optional[float] = None
    failed: bool = False
    note: Optional[str] = None

    def to_dict(self) -> Dict:
        out = asdict(self)
        if out["change"] is not None and math.isinf(out["change"]):
            out["change"] = "inf"     # JSON has no infinity
        return out


def compare_metric(name: str, metric: str, base: Optional[Sequence[float]],
                   cur: Optional[Sequence[float]], alpha: float = DEFAULT_ALPHA,
                   threshold: Optional[float] = None, resolution: float = 0.0) -> Change:
    """Compare one gate metric's rounds (``base`` against ``cur``). A difference of
    the statistic of at most ``resolution`` (in the metric's unit) is below what the
    measurement resolves: reported, never failed."""
    _, statistic = GATE_METRICS[metric]
    if not base or not cur:
        side = "baseline" if not base else "current run"
        return Change(name, metric, None, None, None, None, None, None, False, threshold,
                      False, note=f"no {metric} rounds in the {side}")
    fn = stats.STATISTICS[statistic]
    b, c = fn(base), fn(cur)
    if b == 0:
        change = 0.0 if c == 0 else math.inf
    else:
        change = c / b - 1.0
    low, high = stats.bootstrap_ratio_interval(base, cur, statistic) if b != 0 else (None, None)
    if len(base) < 2 or len(cur) < 2:
        return Change(name, metric, b, c, change, low, high, None, False, threshold, False,
                      note="fewer than 2 rounds on a side: no significance test")
    test = stats.mann_whitney_u(cur, base)
    significant = test.p < alpha
    failed = (threshold is not None and significant and test.z > 0
              and change > threshold)
    note = None
    if abs(c - b) <= resolution:
        failed = False
        note = f"within the measurement resolution ({resolution:.3g})"
    return Change(name, metric, b, c, change, low, high, test.p, significant, threshold,
                  failed, note)


def compare_results(baseline: Sequence[BenchResult], current: Sequence[BenchResult],
                    thresholds: Sequence[Threshold] = (), alpha: float = DEFAULT_ALPHA
                    ) -> Dict[str, object]:
    """Every current benchmark against the baseline's of the same name.

    Returns {"changes": [Change...], "new": [names without a baseline],
    "gone": [baseline names not run now]}. The metrics compared are the thresholds'
    and always ``mean``."""
    by_name = {r.name: r for r in baseline}
    wanted: Dict[str, Optional[float]] = {"mean": None}
    for t in thresholds:
        # several thresholds on one metric: the smallest is the strictest
        old = wanted.get(t.metric)
        wanted[t.metric] = t.fraction if old is None else min(old, t.fraction)
    changes: List[Change] = []
    new = []
    for res in current:
        base = by_name.get(res.name)
        if base is None:
            new.append(res.name)
            continue
        for metric, fraction in wanted.items():
            source, _ = GATE_METRICS[metric]
            resolution = 0.0
            if metric == "allocations":
                resolution = ALLOCATION_RESOLUTION / max(1, min(base.iterations,
                                                                res.iterations))
            elif metric == "peak_memory":
                resolution = PEAK_RESOLUTION
            changes.append(compare_metric(res.name, metric, base.values(source),
                                          res.values(source), alpha, fraction,
                                          resolution))
    now = {r.name for r in current}
    gone = [name for name in by_name if name not in now]
    return {"changes": changes, "new": new, "gone": gone}
