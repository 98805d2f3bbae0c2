"""``dprof.testing.assert_complexity`` with the fit of ``dprof.algorithms.complexity``
and the exact operation counts of the built-in sort engines (so that the class does
not depend on the machine's load)."""
from __future__ import annotations

import numpy as np
import pytest

from dprof import _native
from dprof.algorithms.complexity import CLASSES
from dprof.testing import assert_complexity

pytestmark = pytest.mark.core

SIZES = [64, 128, 256, 512, 1024]


def comparisons_of(algorithm):
    def run(items):
        return _native.sort_list(algorithm, items)["comparisons"]
    run.__qualname__ = f"{algorithm}_comparisons"
    return run


def shuffled(n):
    return [int(v) for v in np.random.default_rng(n).permutation(n)]


def test_a_quadratic_sort_fails_n_log_n_naming_the_class_and_confidence():
    with pytest.raises(AssertionError) as info:
        assert_complexity(comparisons_of("bubble_sort"), shuffled, SIZES,
                          at_most="n log n", repeats=1, cost=lambda c: c)
    message = str(info.value)
    assert "bubble_sort_comparisons grows as O(n^2) (confidence " in message
    assert "%), faster than at_most=O(n log n)" in message


def test_sorts_within_their_bound_pass_and_return_the_fit():
    fit = assert_complexity(comparisons_of("merge_sort"), shuffled, SIZES,
                            at_most="O(n log n)", repeats=2, cost=lambda c: c)
    assert fit.best == "O(n log n)" and 0 < fit.confidence <= 1
    fit = assert_complexity(comparisons_of("insertion_sort"), shuffled, SIZES,
                            at_most="quadratic", repeats=1, cost=lambda c: c)
    assert fit.best == "O(n^2)"


def test_time_is_the_default_cost():
    # sorted() on reversed input is linear (one run); bounded by n^3 it passes under
    # any machine load, and the fit is one of the classes
    fit = assert_complexity(sorted, lambda n: list(range(n, 0, -1)), [1000, 4000, 16000],
                            at_most="n^3")
    assert fit.best in CLASSES


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown complexity 'exponential-ish'"):
        assert_complexity(sorted, shuffled, SIZES, at_most="exponential-ish")
    with pytest.raises(ValueError, match="three distinct sizes"):
        assert_complexity(sorted, shuffled, [10, 10, 20])
    with pytest.raises(ValueError, match="repeats"):
        assert_complexity(sorted, shuffled, SIZES, repeats=0)
