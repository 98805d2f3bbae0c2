"""Assertions for test suites: ``assert_complexity``.

``assert_complexity(fn, make_input, sizes, at_most="n log n")`` measures ``fn`` on
inputs of growing size, fits the growth class with
``dprof.algorithms.complexity.fit_complexity`` (the fit ``dprof compare`` uses) and
fails when the fitted class grows faster than ``at_most``, naming the class and the
fit's confidence.

``dprof.algorithms`` is imported when the assertion runs, not with this module, so
that importing ``dprof.testing`` stays cheap and works where the algorithms layer is
not installed (the assertion then raises ImportError saying what is missing).
"""
from __future__ import annotations

import time
from typing import Any, Callable, List, Sequence, Union

__all__ = ["assert_complexity"]


def _complexity_module():
    try:
        from dprof.algorithms import complexity
    except ImportError as err:
        raise ImportError(f"assert_complexity needs dprof.algorithms.complexity "
                          f"(fit_complexity, parse_complexity): {err}") from err
    return complexity


def assert_complexity(fn: Callable[[Any], Any], make_input: Callable[[int], Any],
                      sizes: Sequence[int], at_most: str = "n log n", *,
                      repeats: int = 3,
                      cost: Union[str, Callable[[Any], float]] = "time"):
    """Fail unless ``fn`` grows no faster than ``at_most`` over ``sizes``.

    ``make_input(n)`` builds a fresh input of size ``n`` (untimed); ``fn(input)`` is
    measured ``repeats`` times per size. ``cost``: ``"time"`` (seconds of one call,
    ``time.perf_counter``) or a callable mapping fn's result to its cost (for
    example ``lambda counts: counts["comparisons"]`` for a counting sort engine,
    which is exact and immune to a loaded machine).

    Returns the ComplexityFit. Raises AssertionError naming the fitted class and its
    confidence when the class grows faster than ``at_most``; ValueError for bad
    arguments (``at_most`` that parse_complexity does not know, fewer than three
    distinct sizes)."""
    complexity = _complexity_module()
    limit = complexity.parse_complexity(at_most)      # ValueError names the valid ones
    sizes = [int(n) for n in sizes]
    if len(set(sizes)) < 3 or min(sizes) < 1:
        raise ValueError(f"assert_complexity needs at least three distinct sizes >= 1, "
                         f"got {sizes}")
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be an int >= 1, got {repeats!r}")
    if cost != "time" and not callable(cost):
        raise ValueError(f"cost must be 'time' or a callable, got {cost!r}")

    costs: List[List[float]] = []
    for n in sizes:
        per_size = []
        for _ in range(repeats):
            data = make_input(n)
            t0 = time.perf_counter()
            result = fn(data)
            elapsed = time.perf_counter() - t0
            per_size.append(float(elapsed if cost == "time" else cost(result)))
        costs.append(per_size)
    fit = complexity.fit_complexity(sizes, costs)
    if fit.order > complexity.CLASSES.index(limit):
        name = getattr(fn, "__qualname__", None) or repr(fn)
        raise AssertionError(
            f"{name} grows as {fit.best} (confidence {fit.confidence:.0%}), faster than "
            f"at_most={limit}; sizes {sizes}\n{fit}")
    return fit
