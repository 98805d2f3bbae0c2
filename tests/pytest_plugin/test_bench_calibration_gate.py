"""Calibration's choices and the gate's decisions on given rounds (no clocks read
except the timer-resolution probe)."""
from __future__ import annotations

import numpy as np
import pytest

from dprof.pytest_plugin import calibration, gate
from dprof.pytest_plugin.result import BenchResult

pytestmark = pytest.mark.core


def test_timer_resolution_is_a_positive_step_well_under_a_millisecond():
    res = calibration.timer_resolution_ns()
    assert 0 < res < 1_000_000
    assert calibration.timer_resolution_ns() == res      # measured once


@pytest.mark.parametrize("per_call_ns", [3, 700, 45_000, 3_000_000])
def test_calibration_makes_rounds_at_least_the_target_and_not_much_more(per_call_ns):
    calls = []

    def time_round(n):      # a function whose call costs exactly per_call_ns
        calls.append(n)
        return n * per_call_ns

    plan = calibration.calibrate(time_round, max_time=0.2, min_rounds=5, max_rounds=500)
    target = max(plan.resolution_ns * calibration.PRECISION,
                 calibration.DEFAULT_MIN_TIME * 1e9)
    round_ns = plan.iterations * per_call_ns
    assert round_ns >= target or plan.iterations == 1 and per_call_ns >= target
    if plan.iterations > 1:
        assert (plan.iterations - 1) * per_call_ns < target * 1.01
    expected_rounds = min(500, max(5, int(0.2e9 // round_ns)))
    assert plan.rounds == expected_rounds
    assert 1 <= plan.warmup_rounds <= max(1, plan.rounds // 10)
    assert max(calls) <= max(plan.iterations, 1)


def test_threshold_parsing_and_its_errors():
    assert gate.parse_threshold("mean:5%") == gate.Threshold("mean", 0.05)
    assert gate.parse_threshold(" peak_memory : 12.5 % ").fraction == pytest.approx(0.125)
    with pytest.raises(ValueError, match="METRIC:PERCENT"):
        gate.parse_threshold("mean:0.05")
    with pytest.raises(ValueError, match="unknown metric 'p99'"):
        gate.parse_threshold("p99:5%")


def _rounds(center, n=60, spread=0.02, seed=0):
    rng = np.random.default_rng(seed)
    return list(center * (1 + rng.normal(0, spread, n)))


def test_gate_fails_a_significant_change_over_the_threshold_only():
    base = _rounds(1000.0, seed=1)
    slow = _rounds(1300.0, seed=2)
    c = gate.compare_metric("b", "mean", base, slow, threshold=0.05)
    assert c.failed and c.significant and c.change == pytest.approx(0.3, abs=0.03)
    assert c.low < c.change < c.high
    # the same change under a 40% threshold: significant, not failed
    c = gate.compare_metric("b", "mean", base, slow, threshold=0.40)
    assert c.significant and not c.failed
    # faster is never a failure
    c = gate.compare_metric("b", "mean", slow, base, threshold=0.05)
    assert c.significant and not c.failed and c.change < 0


def test_gate_ignores_a_mean_moved_by_a_few_outlier_rounds():
    # the same distribution, but three rounds were interrupted (x20): the mean grows
    # by about 60% while the rank test sees no shift of the rounds
    base = _rounds(1000.0, seed=3)
    noisy = _rounds(1000.0, seed=4)
    noisy[:3] = [20_000.0] * 3
    c = gate.compare_metric("b", "mean", base, noisy, threshold=0.05)
    assert c.change > 0.5
    assert not c.significant and not c.failed and c.p > 0.05


def test_compare_results_pairs_by_name_and_lists_new_and_gone():
    def result(name, times, allocs=None):
        return BenchResult(name=name, times_ns=times, allocations=allocs, rounds=len(times))
    base = [result("a", _rounds(100.0, seed=5), [10.0] * 60), result("gone", [1.0, 2.0])]
    cur = [result("a", _rounds(100.0, seed=6), [15.0] * 60), result("new", [1.0, 2.0])]
    out = gate.compare_results(base, cur, [gate.parse_threshold("allocations:10%"),
                                           gate.parse_threshold("allocations:50%")])
    assert out["new"] == ["new"] and out["gone"] == ["gone"]
    by_metric = {c.metric: c for c in out["changes"]}
    assert set(by_metric) == {"mean", "allocations"}
    alloc = by_metric["allocations"]
    # constant 10 -> constant 15 allocations per call: +50%, significant; under the
    # strictest of the two thresholds (10%) it fails, under 50% it would not
    assert alloc.change == pytest.approx(0.5) and alloc.significant
    assert alloc.threshold == pytest.approx(0.10) and alloc.failed
    # a metric without rounds on one side is reported, never failed
    missing = gate.compare_metric("a", "peak_memory", None, [1.0], threshold=0.01)
    assert not missing.failed and "no peak_memory rounds" in missing.note


def test_an_allocation_change_below_the_counters_resolution_never_fails():
    # 8 -> 9 allocations per call in every round (one object a free list served in
    # one process and not in the other): significant, +12.5%, yet within the
    # counter's resolution at one iteration per round
    def result(allocs, iterations):
        return BenchResult(name="b", times_ns=[1.0] * 40, allocations=[allocs] * 40,
                           rounds=40, iterations=iterations)
    t = [gate.parse_threshold("allocations:10%")]
    out = gate.compare_results([result(8.0, 1)], [result(9.0, 1)], t)
    (alloc,) = [c for c in out["changes"] if c.metric == "allocations"]
    assert alloc.significant and alloc.change == pytest.approx(0.125)
    assert not alloc.failed and "resolution" in alloc.note
    # at 1000 iterations per round the same +1 per call is far above it
    out = gate.compare_results([result(8.0, 1000)], [result(9.0, 1000)], t)
    (alloc,) = [c for c in out["changes"] if c.metric == "allocations"]
    assert alloc.failed


def test_a_peak_change_under_a_kibibyte_never_fails():
    small = gate.compare_metric("b", "peak_memory", [200.0] * 20, [600.0] * 20,
                                threshold=0.1, resolution=gate.PEAK_RESOLUTION)
    assert small.significant and small.change == pytest.approx(2.0) and not small.failed
    big = gate.compare_metric("b", "peak_memory", [2**20] * 20, [1.5 * 2**20] * 20,
                              threshold=0.1, resolution=gate.PEAK_RESOLUTION)
    assert big.failed
