"""fit_complexity and parse_complexity: the contract's labels, exact and noisy costs,
and the canonical cases on the C engines' operation counts and runtimes, repeated."""
from __future__ import annotations

import math
import os
import statistics
import time

import numpy as np
import pytest

from dprof.algorithms.complexity import CLASSES, ComplexityFit, fit_complexity, parse_complexity
from dprof.algorithms.inputs import generate, splitmix64

GROWTH = {
    "O(1)": lambda n: 1.0, "O(log n)": lambda n: math.log2(n), "O(n)": lambda n: n,
    "O(n log n)": lambda n: n * math.log2(n), "O(n^2)": lambda n: n * n,
    "O(n^3)": lambda n: n ** 3,
}


@pytest.mark.core
@pytest.mark.parametrize("text, label", [
    ("1", "O(1)"), ("O(1)", "O(1)"), ("constant", "O(1)"),
    ("log n", "O(log n)"), ("O(log n)", "O(log n)"), ("logarithmic", "O(log n)"),
    ("n", "O(n)"), ("O(n)", "O(n)"), ("linear", "O(n)"),
    ("n log n", "O(n log n)"), ("O(n log n)", "O(n log n)"), ("nlogn", "O(n log n)"),
    ("n*log(n)", "O(n log n)"), ("Θ(n log n)", "O(n log n)"),
    ("n^2", "O(n^2)"), ("n**2", "O(n^2)"), ("O(n²)", "O(n^2)"), ("quadratic", "O(n^2)"),
    ("n^3", "O(n^3)"), ("cubic", "O(n^3)"), ("  O( n ^ 3 ) ", "O(n^3)"),
])
def test_parse_complexity_gives_the_canonical_label(text, label):
    assert parse_complexity(text) == label
    assert parse_complexity(label) == label


@pytest.mark.core
@pytest.mark.parametrize("text", ["", "n!", "2^n", "O(n^4)", "fast"])
def test_parse_complexity_rejects_unknown_and_lists_the_valid_ones(text):
    with pytest.raises(ValueError) as info:
        parse_complexity(text)
    assert repr(text) in str(info.value)
    assert all(label in str(info.value) for label in CLASSES)


@pytest.mark.core
@pytest.mark.parametrize("label", CLASSES)
def test_exact_costs_of_each_class_are_found_with_full_confidence(label):
    sizes = [64, 128, 256, 512, 1024, 2048]
    fit = fit_complexity(sizes, [3.0 * GROWTH[label](n) + 0.5 for n in sizes])
    assert isinstance(fit, ComplexityFit)
    assert fit.best == label and fit.order == CLASSES.index(label)
    assert fit.confidence > 0.99
    assert list(fit.table.index) == list(CLASSES)
    assert {"a", "b", "residual", "bic", "weight"} <= set(fit.table.columns)
    assert abs(fit.table["weight"].sum() - 1.0) < 1e-9
    assert fit.predict(4096) == pytest.approx(3.0 * GROWTH[label](4096) + 0.5, rel=1e-6)
    assert label in str(fit)


@pytest.mark.core
def test_textbook_counts():
    sizes = [100, 200, 400, 800, 1600]
    assert fit_complexity(sizes, [n * (n - 1) / 2 for n in sizes]).best == "O(n^2)"
    # merge sort's comparisons: about n log2 n - 1.25 n, with a negative linear term
    assert fit_complexity(sizes, [n * math.log2(n) - 1.25 * n for n in sizes]).best \
        == "O(n log n)"
    assert fit_complexity(sizes, [0] * 5).best == "O(1)"     # counting sort compares nothing


def _noise(seed, count, sigma):
    """Deterministic log-normal factors from the inputs' PRNG (no numpy.random)."""
    u = (splitmix64(seed, 2 * count) >> np.uint64(11)).astype(np.float64) / 2.0**53
    u1, u2 = np.maximum(u[0::2], 1e-12), u[1::2]
    return np.exp(sigma * np.sqrt(-2 * np.log(u1)) * np.cos(2 * np.pi * u2))


@pytest.mark.core
@pytest.mark.parametrize("label", ["O(n)", "O(n log n)", "O(n^2)", "O(n^3)"])
def test_noisy_repeated_costs_pick_the_right_class_in_95_percent(label):
    # 10% log-normal noise on 3 repeats of 7 sizes over a 64x range, 200 trials
    sizes = [256 * 2**k for k in range(0, 7, 1)]
    right = 0
    for trial in range(200):
        factors = _noise(1000 * CLASSES.index(label) + trial, 3 * len(sizes), 0.10)
        costs = [[GROWTH[label](n) * factors[3 * i + j] + 0.0 for j in range(3)]
                 for i, n in enumerate(sizes)]
        right += fit_complexity(sizes, costs).best == label
    assert right / 200 >= 0.95, f"{label}: right in {right}/200"


@pytest.mark.core
def test_one_spike_per_size_does_not_move_the_fit():
    sizes = [100, 200, 400, 800, 1600]
    costs = [[n * n, n * n * 1.01, n * n * 50] for n in sizes]   # a 50x outlier each
    assert fit_complexity(sizes, costs).best == "O(n^2)"


@pytest.mark.core
@pytest.mark.parametrize("sizes, costs, match", [
    ([10, 20], [1, 2], "3 or more distinct sizes"),
    ([10, 10, 10], [1, 2, 3], "3 or more distinct sizes"),
    ([10, 20, 30], [1, 2], "one cost"),
    ([0, 20, 30], [1, 2, 3], "positive numbers"),
    ([10, 20, 30], [1, -2, 3], "non-negative"),
    ([10, 20, 30], [1, float("nan"), 3], "finite"),
    ([10, 20, 30], [1, "x", 3], "not a number"),
    ([10, 20, 30], [1, [], 3], "no cost"),
])
def test_bad_input_is_named(sizes, costs, match):
    with pytest.raises(ValueError, match=match):
        fit_complexity(sizes, costs)


# -- the canonical cases on the C engines ------------------------------------------------
# (algorithm, pivot, distribution for counts, count used, class, runtime distribution,
#  runtime container, runtime sizes)
CANONICAL = [
    ("bubble_sort", "median", "random", "comparisons", "O(n^2)",
     "random", "list", [200, 400, 800, 1600, 3200]),
    ("merge_sort", "median", "random", "comparisons", "O(n log n)",
     "random", "list", [500 * 2**k for k in range(8)]),
    ("counting_sort", "median", "random", "writes", "O(n)",
     None, None, None),           # runtimes: see RUNTIME_CASES
    ("quick_sort", "first", "sorted", "comparisons", "O(n^2)",
     "sorted", "list", [200, 400, 800, 1600, 3200]),
]

# Counting sort is left out of the runtime case: it is memory-bound, and its measured
# time per element on real hardware rises with n at the larger sizes (on random lists
# 12 -> 21 ns from 2^10 to 2^16; on a NumPy buffer of few unique values the largest
# size of every range tried came out 10-20% slower per element), so the fit honestly
# says O(n log n) in 2 to 20 of 20 repeats depending on the range and on what ran
# before in the process. Its O(n) is asserted on operation counts above.
RUNTIME_CASES = [case for case in CANONICAL if case[0] != "counting_sort"]

def _sort(name, data, pivot):
    from dprof.algorithms import builtin
    return builtin.sort(name, data, pivot_strategy=pivot, seed=1)


@pytest.mark.native
@pytest.mark.parametrize("name, pivot, distribution, count, label, _d, _c, _s", CANONICAL)
def test_canonical_cases_on_operation_counts(name, pivot, distribution, count, label,
                                             _d, _c, _s):
    sizes = [64, 128, 256, 512, 1024]
    right = 0
    trials = 40
    for trial in range(trials):
        costs = [[_sort(name, generate(distribution, n, "int", seed=trial * 7919 + r), pivot)
                  [1][count] for r in range(2)] for n in sizes]
        right += fit_complexity(sizes, costs).best == label
    assert right / trials >= 0.95, f"{name}: {right}/{trials}"


@pytest.mark.native
@pytest.mark.parametrize("name, pivot, _d, _n, label, distribution, container, sizes",
                         RUNTIME_CASES)
def test_canonical_cases_on_runtimes(name, pivot, _d, _n, label, distribution, container,
                                     sizes):
    """Runtimes of the C engines, repeated 20 times; the fit must be right in 95%.

    Measured as a benchmark harness would, so that a busy machine does not decide the
    outcome: CPU time of this thread (time spent descheduled is not the sort's), over
    a batch of calls of about 1 ms (so that one glitch of the clock is averaged
    away), the median of 5 rounds taken round-robin over the sizes (a slow spell hits
    every size alike). Asserts a class, never a speed.
    (Counting sort: see RUNTIME_CASES.)"""
    if os.environ.get("DPROF_UNDER_SANITIZER") == "1":
        pytest.skip("timings under AddressSanitizer measure the sanitizer's checks")
    clock = time.thread_time
    datas = {n: generate(distribution, n, "int", seed=n, container=container) for n in sizes}
    batch = {}
    for n, data in datas.items():
        start = time.perf_counter()
        _sort(name, data, pivot)
        batch[n] = max(1, int(1e-3 / max(time.perf_counter() - start, 1e-7)))
    right = 0
    trials = 20
    for trial in range(trials):
        times = {n: [] for n in sizes}
        for _ in range(5):
            for n, data in datas.items():
                start = clock()
                for _ in range(batch[n]):
                    _sort(name, data, pivot)
                times[n].append((clock() - start) / batch[n])
        costs = [statistics.median(times[n]) for n in sizes]
        right += fit_complexity(sizes, costs).best == label
    assert right / trials >= 0.95, f"{name}: {right}/{trials}"
