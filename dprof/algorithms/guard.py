"""The runaway guard: predict a run's time before it starts, refuse it above a limit.

A prediction scales a measured time by the growth of a complexity class:
``t(n) = t(n0) * f(n) / f(n0)``, where (n0, t(n0)) is the largest size already
measured for that algorithm in this comparison, or else a probe (the algorithm timed
on a small input of the same distribution, outside any profile). The class is the
fitted one when the runtimes of three or more sizes support it (``_trust_fit``),
else the declared one: the average case for random input, the worst case for the
other distributions (sorted input is quick_sort's worst case with a first-element
pivot); an algorithm that declares none is assumed O(n^2), and the message says so.
A fixed overhead in t(n0) makes the estimate high, never low, for growing classes.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from dprof.algorithms.complexity import CLASSES, fit_complexity, growth
from dprof.algorithms.spec import Algorithm

__all__ = ["Estimate", "estimate", "probe_seconds", "DEFAULT_TIME_LIMIT", "PROBE_SIZE"]

#: Seconds a single run may be predicted to take before it is refused.
DEFAULT_TIME_LIMIT = 60.0
#: Size of the probe input when nothing was measured yet.
PROBE_SIZE = 256
_FIT_CONFIDENCE = 0.9
_ASSUMED = "O(n^2)"


@dataclass(frozen=True)
class Estimate:
    seconds: float
    label: str          # the class used
    basis: str          # "fitted", "declared average", "declared worst", "assumed"
    from_size: int
    from_seconds: float

    def describe(self) -> str:
        assumed = " (it declares no complexity)" if self.basis == "assumed" else ""
        return (f"{self.seconds:.3g} s, from {self.from_seconds:.3g} s at n={self.from_size:,} "
                f"scaled as {self.label} ({self.basis}{assumed})")


def declared_class(algo: Algorithm, distribution: str):
    if distribution == "random" and algo.average is not None:
        return algo.average, "declared average"
    if algo.worst is not None:
        return algo.worst, "declared worst"
    if algo.average is not None:
        return algo.average, "declared average"
    return _ASSUMED, "assumed"


def _trust_fit(fit, declared: str) -> bool:
    """Whether the fitted class replaces the declared one. Growth faster than
    declared is believed when the classes growing at least as fast as the fitted one
    hold >= 0.9 of the weight (timing noise splits it between n^2 and n^3, say, but
    both say "faster than declared"); growth as slow as declared or slower needs the
    fitted class itself to hold >= 0.9."""
    weights = fit.table["weight"].to_numpy()
    if fit.order > CLASSES.index(declared):
        return float(weights[fit.order:].sum()) >= _FIT_CONFIDENCE
    return fit.confidence >= _FIT_CONFIDENCE


def estimate(algo: Algorithm, distribution: str, size: int,
             measured: Dict[int, float]) -> Optional[Estimate]:
    """Predicted seconds of one run at ``size`` from ``measured`` (size -> median
    seconds, smaller sizes of this algorithm); None when nothing is measured."""
    known = {n: t for n, t in measured.items() if t > 0}
    if not known:
        return None
    label, basis = declared_class(algo, distribution)
    if len(known) >= 3:
        try:
            fit = fit_complexity(list(known), list(known.values()))
        except ValueError:
            fit = None
        if fit is not None and _trust_fit(fit, label):
            label, basis = fit.best, "fitted"
    n0 = max(known)
    t0 = known[n0]
    scale = float(growth(label, [size])[0] / growth(label, [n0])[0])
    return Estimate(seconds=t0 * scale, label=label, basis=basis, from_size=n0,
                    from_seconds=t0)


def probe_seconds(call: Callable[[], object], repeats: int = 3) -> float:
    """Median wall time of ``call()`` over ``repeats`` calls."""
    times: List[float] = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]
