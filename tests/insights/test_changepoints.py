"""Change-point detection on synthetic series with known answers (seeded trials)."""
import numpy as np
import pytest

from dprof.insights.changepoints import average_ranks, detect, split_test
from histories import step_runtimes

pytestmark = pytest.mark.core
TRIALS = 100


def test_a_20_percent_step_is_found_at_its_run_in_95_percent_of_trials():
    # 3% run-to-run noise: the 20% step is ~6.7 standard deviations
    exact = sum(1 for seed in range(TRIALS)
                if [c.index for c in detect(step_runtimes(60, 30, 0.20, 0.03, seed))] == [30])
    assert exact >= 0.95 * TRIALS, exact


def test_with_5_percent_noise_the_step_is_found_within_one_run_in_95_percent():
    near = sum(1 for seed in range(TRIALS)
               if [abs(c.index - 30) <= 1 for c in
                   detect(step_runtimes(60, 30, 0.20, 0.05, seed))] == [True])
    assert near >= 0.95 * TRIALS, near


def test_pure_noise_reports_nothing_in_95_percent_of_trials():
    for cv in (0.03, 0.10):
        quiet = sum(1 for seed in range(TRIALS)
                    if not detect(step_runtimes(60, 30, 0.0, cv, 1000 + seed)))
        assert quiet >= 0.95 * TRIALS, (cv, quiet)


def test_skewed_noise_with_outliers_reports_nothing_and_still_finds_a_step():
    rng = np.random.default_rng(7)
    quiet = found = 0
    for _ in range(TRIALS):
        x = 100 * rng.lognormal(0, 0.03, 60)
        x[rng.integers(0, 60, 3)] *= 3          # three wild runs (cold cache, neighbour)
        quiet += not detect(x)
        y = x.copy()
        y[30:] *= 1.2
        # a wild run just before the change looks like the new level: within 4 runs
        found += [abs(c.index - 30) <= 4 for c in detect(y)] == [True]
    assert quiet >= 95 and found >= 95, (quiet, found)


def test_size_interval_covers_the_true_step_and_the_sign_says_which_way():
    x = step_runtimes(80, 40, 0.20, 0.03, 3)
    (cp,) = detect(x)
    assert cp.change_low < 0.20 < cp.change_high
    assert (cp.n_before, cp.n_after) == (40, 40)
    (down,) = detect(x[::-1])                   # the same change read backwards
    assert down.change < 0 and down.index == 40


def test_two_changes_are_both_found():
    x = step_runtimes(90, 30, 0.25, 0.03, 5)
    x[60:] /= 1.25 * 1.3                          # then 30% below the start
    assert [c.index for c in detect(x)] == [30, 60]


def test_constant_and_short_series_give_nothing():
    assert detect(np.full(50, 7.0)) == []
    assert split_test(np.arange(6.0), min_segment=5) == (None, 1.0)
    assert detect(np.r_[np.full(20, 1.0), np.full(20, 2.0)])[0].index == 20  # ties


def test_average_ranks_give_ties_the_mean_rank():
    assert average_ranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="finite"):
        detect([1.0, float("nan")] * 10)
    with pytest.raises(ValueError, match="alpha"):
        detect(np.ones(20), alpha=0)
