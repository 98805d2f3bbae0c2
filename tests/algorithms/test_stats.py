"""The statistics behind the ranking, against published values, brute force and the
standard library."""
from __future__ import annotations

import itertools
import math
import statistics

import pytest

from dprof.algorithms import stats

pytestmark = pytest.mark.core


@pytest.mark.parametrize("df, t975", [(1, 12.706), (2, 4.303), (4, 2.776), (10, 2.228),
                                      (30, 2.042), (1000, 1.962)])
def test_t_quantiles_match_the_published_table(df, t975):
    assert stats.t_quantile(0.975, df) == pytest.approx(t975, abs=1e-3)
    assert stats.t_cdf(t975, df) == pytest.approx(0.975, abs=1e-4)
    assert stats.t_quantile(0.025, df) == pytest.approx(-t975, abs=1e-3)


def test_summarize_agrees_with_the_statistics_module():
    xs = [0.52, 0.49, 0.61, 0.50, 0.55]
    s = stats.summarize(xs)
    assert s["n"] == 5 and s["min"] == 0.49
    assert s["median"] == statistics.median(xs)
    assert s["mean"] == pytest.approx(statistics.mean(xs))
    assert s["stdev"] == pytest.approx(statistics.stdev(xs))
    half = 2.776445 * statistics.stdev(xs) / math.sqrt(5)
    assert s["ci_low"] == pytest.approx(statistics.mean(xs) - half, rel=1e-5)
    assert s["ci_high"] == pytest.approx(statistics.mean(xs) + half, rel=1e-5)


def test_summarize_one_value_has_no_spread_rather_than_zero():
    s = stats.summarize([0.3])
    assert s["median"] == 0.3 and math.isnan(s["stdev"]) and math.isnan(s["ci_low"])


def test_welch_separates_a_clear_difference_and_not_noise():
    assert stats.welch_test([1.0, 1.1, 1.05], [2.0, 2.1, 2.2]) < 0.001
    assert stats.welch_test([1.0, 1.1, 1.05], [1.02, 1.08, 1.0]) > 0.5
    assert stats.welch_test([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert stats.welch_test([1.0, 1.0], [2.0, 2.0]) == 0.0
    assert stats.welch_test([1.0], [2.0, 2.1]) == 1.0        # one run: no evidence


def test_welch_is_symmetric_and_scale_free():
    a, b = [0.010, 0.012, 0.011, 0.013], [0.015, 0.016, 0.014]
    p = stats.welch_test(a, b)
    assert stats.welch_test(b, a) == pytest.approx(p)
    assert stats.welch_test([x * 1000 for x in a], [x * 1000 for x in b]) == pytest.approx(p)


def _brute_force_mwu_p(a, b):
    """Two-sided exact p by enumerating every assignment of the pooled values."""
    pooled = list(a) + list(b)
    n1 = len(a)

    def u_of(first):
        return sum((x > y) + 0.5 * (x == y) for x in first for y in
                   [pooled[i] for i in range(len(pooled)) if i not in idx_set])
    u_obs = sum((x > y) + 0.5 * (x == y) for x in a for y in b)
    mean = n1 * len(b) / 2
    count = total = 0
    for idx in itertools.combinations(range(len(pooled)), n1):
        idx_set = set(idx)
        u = u_of([pooled[i] for i in idx])
        total += 1
        count += abs(u - mean) >= abs(u_obs - mean) - 1e-12
    return count / total


@pytest.mark.parametrize("a, b", [([1, 2, 3], [4, 5, 6]), ([1, 4, 7, 9], [2, 3, 5]),
                                  ([0.1, 0.5, 0.2, 0.9, 0.3], [0.4, 0.8, 0.6, 0.7])])
def test_mann_whitney_exact_matches_brute_force(a, b):
    u, p = stats.mann_whitney(a, b)
    assert u == sum(x > y for x in a for y in b)
    assert p == pytest.approx(_brute_force_mwu_p(a, b))


def test_mann_whitney_three_against_three_can_never_reach_5_percent():
    # why the ranking uses Welch's test on logs: the smallest exact p is 2/20
    assert stats.mann_whitney([1, 2, 3], [4, 5, 6])[1] == pytest.approx(0.1)


def test_mann_whitney_large_samples_use_the_normal_approximation_with_ties():
    a = [1.0] * 15 + [2.0] * 15
    b = [2.0] * 15 + [3.0] * 15
    u, p = stats.mann_whitney(a, b)
    assert u == pytest.approx(sum((x > y) + 0.5 * (x == y) for x in a for y in b))
    assert 0 < p < 1e-4
