"""The statistics behind the gate, against hand-computed and brute-force answers."""
from __future__ import annotations

import itertools
import math
import statistics

import numpy as np
import pytest

from dprof.pytest_plugin.stats import bootstrap_ratio_interval, mann_whitney_u, summary

pytestmark = pytest.mark.core


def _u_by_pairs(x, y):
    """U of x by counting pairs (an oracle independent of ranking)."""
    return sum(1.0 if a > b else 0.5 if a == b else 0.0 for a in x for b in y)


def test_mann_whitney_matches_the_hand_computed_textbook_case():
    # x entirely below y: U = 0; mu = 3*3/2 = 4.5; var = 3*3*7/12 = 5.25;
    # z = (4.5 - 0.5) / sqrt(5.25) = 1.7457; two-sided p = erfc(z/sqrt 2) = 0.080856
    # (scipy.stats.mannwhitneyu(x, y, method="asymptotic") gives the same 0.0808556)
    res = mann_whitney_u([1, 2, 3], [4, 5, 6])
    assert res.u == 0.0
    assert res.z == pytest.approx(-4.0 / math.sqrt(5.25))
    assert res.p == pytest.approx(0.0808556, abs=1e-6)
    # swapping the sides mirrors z and keeps p
    mirrored = mann_whitney_u([4, 5, 6], [1, 2, 3])
    assert mirrored.u == 9.0 and mirrored.z == pytest.approx(-res.z)
    assert mirrored.p == pytest.approx(res.p)


def test_mann_whitney_tie_correction_by_hand():
    x, y = [1, 2, 2, 3], [2, 3, 3, 4]
    # pooled: 1, 2,2,2, 3,3,3, 4 -> tie groups of 3 and 3: sum(t^3 - t) = 24 + 24 = 48
    # U_x by pairs: x=1 beats nothing, each x=2 ties one 2 (0.5 + 0.5), x=3 beats the
    # 2 and ties the two 3s (1 + 0.5 + 0.5): U = 3; mu = 8;
    # var = 16/12 * (9 - 48/56) = 10.857142...; z = -(8 - 3 - 0.5) / sqrt(var) = -1.36570;
    # p = erfc(1.36570 / sqrt 2) = 0.172034
    res = mann_whitney_u(x, y)
    assert res.u == _u_by_pairs(x, y) == 3.0
    var = 16 / 12 * (9 - 48 / 56)
    assert res.z == pytest.approx(-4.5 / math.sqrt(var))
    assert res.p == pytest.approx(0.172034, abs=1e-6)


def test_mann_whitney_all_tied_is_no_evidence():
    res = mann_whitney_u([5, 5, 5], [5, 5, 5, 5])
    assert res.p == 1.0 and res.z == 0.0


@pytest.mark.parametrize("shift", [0.0, 1.5, 3.0, 5.0])
def test_normal_approximation_is_close_to_the_exact_permutation_p(shift):
    # 8 against 8 without ties: the exact two-sided p from all C(16, 8) = 12870 splits
    rng = np.random.default_rng(7)
    x = list(rng.normal(shift, 3.0, 8))
    y = list(rng.normal(0.0, 3.0, 8))
    pooled = x + y
    u_obs = _u_by_pairs(x, y)
    mu = 32.0
    extreme = total = 0
    for idx in itertools.combinations(range(16), 8):
        chosen = set(idx)
        a = [pooled[i] for i in idx]
        b = [pooled[i] for i in range(16) if i not in chosen]
        total += 1
        if abs(_u_by_pairs(a, b) - mu) >= abs(u_obs - mu) - 1e-9:
            extreme += 1
    exact = extreme / total
    res = mann_whitney_u(x, y)
    assert res.u == u_obs
    assert res.p == pytest.approx(exact, abs=0.012)


def test_mann_whitney_rejects_empty_and_nan():
    with pytest.raises(ValueError, match="both sides"):
        mann_whitney_u([], [1.0])
    with pytest.raises(ValueError, match="NaN"):
        mann_whitney_u([1.0, float("nan")], [1.0])


def test_summary_matches_the_statistics_module():
    values = [3.0, 1.0, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]
    s = summary(values)
    assert s["min"] == 1.0 and s["max"] == 9.0 and s["n"] == 8
    assert s["mean"] == pytest.approx(statistics.mean(values))
    assert s["median"] == pytest.approx(statistics.median(values))
    assert s["stdev"] == pytest.approx(statistics.stdev(values))
    assert summary([2.0])["stdev"] is None
    assert summary([])["mean"] is None


def test_bootstrap_interval_covers_a_known_ratio_and_excludes_none_for_a_shift():
    rng = np.random.default_rng(3)
    base = rng.normal(100.0, 5.0, 200)
    slower = base * 1.3 + rng.normal(0.0, 1.0, 200)
    low, high = bootstrap_ratio_interval(base, slower, "mean")
    assert low < 0.30 < high and low > 0.25 and high < 0.35
    # same distribution: the interval holds 0
    low, high = bootstrap_ratio_interval(base, rng.normal(100.0, 5.0, 200), "median")
    assert low < 0.0 < high
    # reproducible: seeded
    assert bootstrap_ratio_interval(base, slower) == bootstrap_ratio_interval(base, slower)
    assert bootstrap_ratio_interval([0.0, 0.0], [1.0, 2.0]) == (None, None)
    with pytest.raises(ValueError, match="unknown statistic"):
        bootstrap_ratio_interval(base, slower, "p99")
