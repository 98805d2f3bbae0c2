"""Empirical complexity: which of O(1) .. O(n^3) a cost grows like, and how sure we are.

``fit_complexity(sizes, costs)`` fits every class of :data:`CLASSES` as
``cost = a + b * f(n)`` (``a, b >= 0``: a fixed overhead plus the growth term) and picks
one with the Bayesian information criterion; ``parse_complexity`` turns what people
write ("n log n", "O(n^2)", "quadratic") into the canonical labels. The pytest plugin
(branch ``bench``) and the comparison's runaway guard build on both; the contract is in
``docs/algorithms.md``.

How the fit works, and why:

* Costs of one size are reduced to their median first: one timing spike (the machine
  was busy) must not move the fit, and the median of the repeats is what the class
  is about.
* The residuals are relative (each point weighted by ``1/cost``): costs span orders of
  magnitude across sizes, and plain least squares would fit only the largest size.
* ``a >= 0`` absorbs a fixed overhead (a profiler's start and stop, a call), which
  otherwise makes a quadratic algorithm at small sizes look sub-quadratic; ``b >= 0``
  because a cost that shrinks as n grows is not the class it would be fitted as.
* BIC = m ln(RSS/m) + k ln(m) over the m sizes. Each growing class is fitted twice,
  as ``b f(n)`` (k = 1) and as ``a + b f(n)`` (k = 2), and keeps the better; O(1) is
  ``a`` (k = 1). A class whose growth term fits as 0 is O(1) in disguise and is out.
  The chosen class is the slowest-growing one within ``tolerance`` (default 2) of the
  lowest BIC; its confidence is its BIC weight, ``exp(-BIC/2)`` normalised over the
  classes (so a close call shows as a low confidence).

No scipy: the two-parameter non-negative least squares is solved in closed form.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Callable, Dict, List, Sequence, Tuple, Union

import numpy as np

__all__ = ["CLASSES", "ComplexityFit", "fit_complexity", "parse_complexity", "growth"]

#: The classes, slowest-growing first; ``ComplexityFit.order`` indexes this tuple.
CLASSES = ("O(1)", "O(log n)", "O(n)", "O(n log n)", "O(n^2)", "O(n^3)")

# f(n) of each class. log2 so that coefficients read as "per comparison level".
_GROWTH: Dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "O(1)": lambda n: np.ones_like(n),
    "O(log n)": lambda n: np.log2(np.maximum(n, 2.0)),
    "O(n)": lambda n: n,
    "O(n log n)": lambda n: n * np.log2(np.maximum(n, 2.0)),
    "O(n^2)": lambda n: n * n,
    "O(n^3)": lambda n: n * n * n,
}

# RSS floor, relative: exact operation counts fit the right class with RSS ~ 1e-30,
# which must not turn the criterion into -inf.
_RSS_FLOOR = 1e-18
# A growth term that adds less than this fraction of the largest cost across the sizes
# is no growth at all (least squares leaves ~1e-17 of one on constant costs).
_NO_GROWTH = 1e-9


def growth(label: str, sizes) -> np.ndarray:
    """f(n) of a class (a canonical label or anything parse_complexity reads)."""
    return _GROWTH[parse_complexity(label)](np.asarray(sizes, dtype=np.float64))


# -- parsing ---------------------------------------------------------------------------
_WORDS = {
    "constant": "O(1)", "logarithmic": "O(log n)", "linear": "O(n)",
    "linearithmic": "O(n log n)", "loglinear": "O(n log n)", "quasilinear": "O(n log n)",
    "quadratic": "O(n^2)", "cubic": "O(n^3)",
}
_FORMS = {
    "1": "O(1)", "logn": "O(log n)", "n": "O(n)", "nlogn": "O(n log n)",
    "n^2": "O(n^2)", "n^3": "O(n^3)", "n*n": "O(n^2)", "n*n*n": "O(n^3)",
    "n^1": "O(n)", "n^0": "O(1)",
}


def parse_complexity(text: str) -> str:
    """The canonical label (one of :data:`CLASSES`) for a complexity written as
    "n log n", "O(n log n)", "nlogn", "n*log(n)", "n^2", "n**2", "n²", "quadratic"...;
    ValueError listing the valid ones otherwise."""
    if not isinstance(text, str):
        raise TypeError(f"a complexity is a str such as 'O(n log n)', got "
                        f"{type(text).__name__} {text!r}")
    s = text.strip().lower()
    if s in _WORDS:
        return _WORDS[s]
    s = s.replace("²", "^2").replace("³", "^3").replace("**", "^")
    s = re.sub(r"\s+", "", s)
    m = re.fullmatch(r"(?:o|theta|θ|omega|ω)\((.*)\)", s)
    if m:
        s = m.group(1)
    s = s.replace("log(n)", "logn").replace("log2(n)", "logn").replace("log2n", "logn")
    s = s.replace("lgn", "logn").replace("ln(n)", "logn").replace("lnn", "logn")
    s = s.replace("n*logn", "nlogn").replace("n·logn", "nlogn")
    if s in _FORMS:
        return _FORMS[s]
    raise ValueError(f"unknown complexity {text!r}; use one of {', '.join(CLASSES)} "
                     f"(also written as 'n log n', 'nlogn', 'n^2', 'n**2', 'quadratic', ...)")


# -- fitting ---------------------------------------------------------------------------
@dataclass(frozen=True)
class ComplexityFit:
    """The result of :func:`fit_complexity`.

    ``best``: the chosen class label; ``order``: its index in :data:`CLASSES`;
    ``confidence``: its BIC weight (0..1); ``table``: a DataFrame indexed by class with
    columns ``a`` (overhead), ``b`` (coefficient of f(n)), ``residual`` (root mean
    square relative residual), ``bic`` and ``weight``; ``sizes`` and ``costs``: the
    distinct sizes and the per-size medians that were fitted."""

    best: str
    confidence: float
    order: int
    table: "object"          # pandas.DataFrame; typed loosely to keep pandas lazy
    sizes: Tuple[float, ...]
    costs: Tuple[float, ...]

    def predict(self, n: Union[float, Sequence[float]], label: str = None):
        """The fitted cost at size(s) n, of the best class or of ``label``."""
        label = self.best if label is None else parse_complexity(label)
        row = self.table.loc[label]
        value = row["a"] + row["b"] * growth(label, np.atleast_1d(n))
        return float(value[0]) if np.ndim(n) == 0 else value

    def __str__(self) -> str:
        runner_up = self.table.drop(index=self.best)["weight"].idxmax()
        return (f"{self.best} (confidence {self.confidence:.0%}; next "
                f"{runner_up} {self.table.loc[runner_up, 'weight']:.0%}; "
                f"{len(self.sizes)} sizes {int(min(self.sizes))}..{int(max(self.sizes))})")


def _medians(sizes, costs) -> Tuple[np.ndarray, np.ndarray]:
    """Distinct sizes (ascending) and the median cost of each, after checking input."""
    sizes = list(sizes)
    costs = list(costs)
    if len(sizes) != len(costs):
        raise ValueError(f"fit_complexity needs one cost (or list of costs) per size: "
                         f"{len(sizes)} sizes, {len(costs)} costs")
    groups: Dict[float, List[float]] = {}
    for n, c in zip(sizes, costs):
        if isinstance(n, bool) or not isinstance(n, (int, float, np.integer, np.floating)) \
                or not math.isfinite(n) or n <= 0:
            raise ValueError(f"fit_complexity: sizes must be positive numbers, got {n!r}")
        values = list(c) if isinstance(c, (list, tuple, np.ndarray)) else [c]
        if not values:
            raise ValueError(f"fit_complexity: no cost given for size {n}")
        for v in values:
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"fit_complexity: cost {v!r} at size {n} is not a number") \
                    from None
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"fit_complexity: cost {v!r} at size {n} must be a finite, "
                                 f"non-negative number")
            groups.setdefault(float(n), []).append(v)
    if len(groups) < 3:
        raise ValueError(f"fit_complexity needs costs at 3 or more distinct sizes to tell "
                         f"the classes apart, got {len(groups)}")
    ns = np.array(sorted(groups), dtype=np.float64)
    ys = np.array([float(np.median(groups[n])) for n in ns], dtype=np.float64)
    return ns, ys


def _fit_one(f: np.ndarray, y: np.ndarray, w: np.ndarray, constant: bool) -> Tuple[float, float]:
    """Non-negative weighted least squares of y ~ a + b f: (a, b)."""
    def only_a():
        return max(float(np.sum(w * w * y) / np.sum(w * w)), 0.0), 0.0

    def only_b():
        return 0.0, max(float(np.sum(w * w * f * y) / np.sum(w * w * f * f)), 0.0)

    if constant:
        return only_a()
    sw, sf, sff = np.sum(w * w), np.sum(w * w * f), np.sum(w * w * f * f)
    sy, sfy = np.sum(w * w * y), np.sum(w * w * f * y)
    det = sw * sff - sf * sf
    if det > 1e-12 * sw * sff:
        a = (sff * sy - sf * sfy) / det
        b = (sw * sfy - sf * sy) / det
        if a >= 0 and b >= 0:
            return float(a), float(b)
    # the unconstrained optimum is outside a, b >= 0: the optimum is on an edge
    best, best_rss = None, math.inf
    for a, b in (only_a(), only_b()):
        rss = float(np.sum((w * (y - a - b * f)) ** 2))
        if rss < best_rss:
            best, best_rss = (a, b), rss
    return best


def _best_variant(label: str, ns: np.ndarray, ys: np.ndarray, w: np.ndarray,
                  overhead: bool = True):
    """(a, b, residual, bic) of one class: the better by BIC of ``b f(n)`` (k = 1) and
    ``a + b f(n)`` (k = 2). Charging the overhead term a parameter keeps a class from
    passing for the next one up or down with its help when no overhead is needed."""
    m = len(ns)
    f = _GROWTH[label](ns)
    if label == "O(1)":
        candidates = [(_fit_one(f, ys, w, constant=True), 1)]
    else:
        ab = _fit_one(f, ys, w, constant=False)
        b_only = (0.0, max(float(np.sum(w * w * f * ys) / np.sum(w * w * f * f)), 0.0))
        candidates = [(b_only, 1), (ab, 2)] if overhead else [(b_only, 1)]
    best = None
    for (a, b), k in candidates:
        if label != "O(1)" and b * (f[-1] - f[0]) <= _NO_GROWTH * float(ys.max()):
            continue        # no growth term left (or a rounding error's): O(1), not this class
        rel = w * (ys - a - b * f)
        rss = max(float(np.sum(rel * rel)), _RSS_FLOOR * m)
        bic = m * math.log(rss / m) + k * math.log(m)
        if best is None or bic < best[3]:
            best = (a, b, math.sqrt(rss / m), bic)
    return best if best is not None else (0.0, 0.0, math.nan, math.inf)


def _simplest_supported(bic: np.ndarray, tolerance: float) -> int:
    """The slowest-growing class whose BIC is within ``tolerance`` of the lowest."""
    if not np.isfinite(bic).any():
        return int(np.argmin(bic))
    lowest = float(np.min(bic))
    for i, value in enumerate(bic):
        if value <= lowest + tolerance:
            return i
    return int(np.argmin(bic))


def fit_complexity(sizes: Sequence[float],
                   costs: Sequence[Union[float, Sequence[float]]], *,
                   tolerance: float = 2.0, overhead: bool = True) -> ComplexityFit:
    """Fit every class of :data:`CLASSES` to costs measured at ``sizes`` and pick one.

    ``costs[i]`` is the cost at ``sizes[i]``: a number, or a sequence of repeated
    measurements (their median is fitted). At least 3 distinct sizes are needed.
    All costs zero (an algorithm that never compares) is O(1) with confidence 1.

    ``tolerance``: a faster-growing class must beat a slower one by more than this
    much BIC to be chosen (2: "positive evidence" on Kass and Raftery's scale).
    Measured runtimes need it: cache and memory effects make the cost per element
    creep up with n, which a faster-growing class with an overhead term fits a little
    better; exact operation counts are decided by margins of hundreds.

    ``overhead``: allow the fixed term ``a`` (the default). Over a 30x range of sizes
    ``a + b n log n`` stays within ~5% of ``c n``, so timings noisier than that cannot
    tell O(n) from O(n log n) with it; a caller who has subtracted the fixed cost
    (timed at n = 1, as the tests do) passes ``overhead=False`` and gets the classes
    apart."""
    import pandas as pd

    ns, ys = _medians(sizes, costs)
    top = float(ys.max())
    rows = []
    if top == 0.0:
        for label in CLASSES:
            rows.append((0.0, 0.0, 0.0, -math.inf if label == "O(1)" else math.inf))
    else:
        # relative residuals; a zero cost among positive ones gets the weight of the
        # smallest positive cost, not an infinite one
        floor = float(ys[ys > 0].min())
        w = 1.0 / np.maximum(ys, floor)
        for label in CLASSES:
            rows.append(_best_variant(label, ns, ys, w, overhead))
    table = pd.DataFrame(rows, index=pd.Index(CLASSES, name="class"),
                         columns=["a", "b", "residual", "bic"])
    bic = table["bic"].to_numpy()
    finite = np.isfinite(bic)
    if not finite.any():
        weights = np.where(bic == -math.inf, 1.0, 0.0)
    else:
        rel_bic = np.where(finite, bic - bic[finite].min(), math.inf)
        raw = np.exp(-0.5 * rel_bic)
        weights = raw / raw.sum()
    table["weight"] = weights
    order = _simplest_supported(bic, tolerance)
    return ComplexityFit(best=CLASSES[order], confidence=float(weights[order]), order=order,
                         table=table, sizes=tuple(float(n) for n in ns),
                         costs=tuple(float(y) for y in ys))
