"""Leak detection: a Theil-Sen slope of a resource series, checked against known slopes."""
import numpy as np
import pytest

from dprof.insights.leaks import series_drift, theil_sen
from histories import leaking_series

pytestmark = pytest.mark.core


def test_theil_sen_matches_a_known_line_and_its_interval_covers_it():
    rng = np.random.default_rng(1)
    covered = 0
    for _ in range(100):
        t = np.linspace(0, 100, 150)
        y = 3.0 * t + 10 + 5 * rng.standard_normal(150)
        slope, low, high, intercept = theil_sen(t, y)
        assert abs(slope - 3.0) < 0.1 and abs(intercept - 10) < 5
        covered += low < 3.0 < high
    assert covered >= 90, covered            # a 95% interval, independent noise


def test_theil_sen_is_not_pulled_by_outliers():
    t = np.arange(100.0)
    y = 2.0 * t
    y[::10] += 1000.0                         # 10% wild samples
    assert theil_sen(t, y)[0] == pytest.approx(2.0, rel=0.02)


@pytest.mark.parametrize("mb_per_hour", [5.0, 40.0, 200.0])
def test_a_linear_leak_is_measured_within_20_percent(mb_per_hour):
    found = series_drift(leaking_series(3, mb_per_hour, seed=int(mb_per_hour)),
                         min_growth=0.0, floors={"rss_bytes": 0.0})
    (rss,) = [f for f in found if f["column"] == "rss_bytes"]
    assert abs(rss["slope_per_hour"] - mb_per_hour) <= 0.2 * mb_per_hour
    assert rss["slope_low_per_hour"] <= rss["slope_per_hour"] <= rss["slope_high_per_hour"]


def test_a_steady_series_and_a_negligible_leak_are_not_reported():
    assert series_drift(leaking_series(3, 0.0, seed=3)) == []
    # 1 MiB/hour over 3 hours: significant maybe, but under the 16 MiB floor
    assert series_drift(leaking_series(3, 1.0, seed=4)) == []


def test_growing_threads_are_reported_in_threads_per_hour():
    series = leaking_series(2, 0.0, seed=5)
    series["num_threads"] = 8 + np.floor(series["timestamp"] / 600.0)   # one every 10 min
    (threads,) = series_drift(series)
    assert threads["series"] == "threads"
    assert threads["slope_per_hour"] == pytest.approx(6.0, rel=0.2)
