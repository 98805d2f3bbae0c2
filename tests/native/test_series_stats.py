"""dprof._native.series_stats against Python's own oracles.

The oracles are the `statistics` module (count, mean, min, max, sample stdev),
numpy.percentile with its default 'linear' method, and a plain-Python twin of the
counter rate. Hypothesis drives the property tests.
"""
import array
import math
import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprof import _native

pytestmark = pytest.mark.native

# Values whose squares underflow (subnormals, and anything under about 1e-154) are
# kept out: Python 3.9's statistics.stdev (the oracle) asserts on them ("negative sum
# of square deviations", seen with [0, 0, 9.4e-204]); they get their own test against
# numpy below.
finite = st.one_of(st.just(0.0),
                   st.floats(min_value=1e-100, max_value=1e9),
                   st.floats(min_value=-1e9, max_value=-1e-100))
maybe_nan = st.one_of(finite, st.just(math.nan))
percentile = st.floats(min_value=0.0, max_value=100.0, allow_nan=False)


def close(a, b, scale):
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9 * max(1.0, scale))


def test_subnormal_values_against_numpy():
    values = np.array([0.0, 5e-324, 1e-310, -2e-315], dtype=np.float64)
    got = _native.series_stats(values)
    assert got["count"] == 4 and got["min"] == -2e-315 and got["max"] == 1e-310
    assert math.isclose(got["stdev"], float(np.std(values, ddof=1)), rel_tol=1e-9,
                        abs_tol=1e-320)


def check_against_oracles(values, qs, series_stats=_native.series_stats):
    got = series_stats(np.array(values, dtype=np.float64), percentiles=qs)
    clean = [v for v in values if not math.isnan(v)]
    scale = max((abs(v) for v in clean), default=1.0)
    assert got["count"] == len(clean)
    assert got["ddof"] == 1
    if not clean:
        assert got["mean"] is got["min"] is got["max"] is got["stdev"] is None
        assert all(v is None for v in got["percentiles"].values())
        return
    assert close(got["mean"], statistics.fmean(clean), scale)
    assert got["min"] == min(clean)
    assert got["max"] == max(clean)
    if len(clean) < 2:
        assert got["stdev"] is None
    else:
        assert close(got["stdev"], statistics.stdev(clean), scale)
    expected = np.percentile(np.array(clean), list(qs)) if qs else []
    assert set(got["percentiles"]) == set(qs)
    for q, e in zip(qs, expected):
        assert close(got["percentiles"][q], float(e), scale), (q, got["percentiles"][q], e)


@settings(max_examples=300, deadline=None)
@given(st.lists(maybe_nan, max_size=200), st.lists(percentile, max_size=6))
def test_matches_statistics_and_numpy(values, qs):
    check_against_oracles(values, tuple(qs))


@settings(max_examples=200, deadline=None)
@given(st.lists(maybe_nan, max_size=200), st.lists(percentile, max_size=6))
def test_the_packages_numpy_twin_matches_the_same_oracles(values, qs):
    # dprof.pure.stats is what ResourceSeries.stats uses without the extension
    from dprof.pure.stats import series_stats
    check_against_oracles(values, tuple(qs), series_stats)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(min_value=-3, max_value=3).map(float), min_size=1, max_size=500))
def test_many_duplicates_match_numpy(values):
    # Runs of equal values are the normal case for sampled counters and the worst
    # case for a naive quickselect.
    check_against_oracles(values, (0, 1, 25, 50, 50, 75, 90, 95, 99, 100))


def test_large_series_and_adversarial_orders():
    rng = np.random.default_rng(1)
    for data in (rng.normal(1e6, 5.0, 100_001),        # big mean, small spread
                 np.arange(50_000, dtype=float),        # sorted
                 np.arange(50_000, 0, -1, dtype=float),  # reverse sorted
                 np.repeat([1.0, 2.0], 30_000)):        # two values
        check_against_oracles(data.tolist(), (0, 50, 90, 95, 99, 99.9, 100))


def test_default_percentiles_and_key_objects():
    got = _native.series_stats(np.arange(101, dtype=float))
    assert got["percentiles"] == {50: 50.0, 90: 90.0, 95: 95.0, 99: 99.0}
    got = _native.series_stats(np.arange(11, dtype=float), percentiles=[12.5])
    assert got["percentiles"] == {12.5: 1.25}


def test_nan_is_skipped_and_all_nan_is_missing_not_zero():
    got = _native.series_stats(np.array([np.nan, 2.0, np.nan, 4.0]))
    assert (got["count"], got["mean"], got["min"], got["max"]) == (2, 3.0, 2.0, 4.0)
    assert got["percentiles"][50] == 3.0
    for values in (np.full(5, np.nan), np.array([], dtype=float)):
        got = _native.series_stats(values)
        assert got["count"] == 0
        assert [got[k] for k in ("mean", "min", "max", "stdev")] == [None] * 4
        assert list(got["percentiles"].values()) == [None] * 4


def test_single_value_has_no_sample_stdev():
    got = _native.series_stats(np.array([7.0]))
    assert (got["mean"], got["stdev"], got["percentiles"][99]) == (7.0, None, 7.0)


def counter_rate_twin(values, timestamps):
    pairs = [(v, t) for v, t in zip(values, timestamps) if not (math.isnan(v) or math.isnan(t))]
    if not pairs:
        return None, None, None, None
    (v0, t0), (v1, t1) = pairs[0], pairs[-1]
    rates = [(b[0] - a[0]) / (b[1] - a[1]) for a, b in zip(pairs, pairs[1:]) if b[1] > a[1]]
    rate = (v1 - v0) / (t1 - t0) if t1 > t0 else None
    return v1 - v0, t1 - t0, rate, (max(rates) if rates else None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1e6), st.floats(0.001, 1.0), st.booleans()), max_size=60))
def test_counter_rate_matches_twin(steps):
    values, timestamps, v, t = [], [], 0.0, 0.0
    for dv, dt, hole in steps:
        v += dv
        t += dt
        values.append(math.nan if hole else v)
        timestamps.append(t)
    got = _native.series_stats(array.array("d", values), timestamps=array.array("d", timestamps),
                               counter=True)
    expected = counter_rate_twin(values, timestamps)
    for key, e in zip(("delta", "elapsed_s", "rate_per_s", "max_rate_per_s"), expected):
        if e is None:
            assert got[key] is None, key
        else:
            assert math.isclose(got[key], e, rel_tol=1e-9, abs_tol=1e-9), key


def test_counter_rate_of_known_counter():
    t = np.arange(0.0, 10.0, 0.5)
    v = 100.0 * t
    v[4] = np.nan
    got = _native.series_stats(memoryview(v), timestamps=memoryview(t), counter=True)
    assert got["rate_per_s"] == pytest.approx(100.0)
    assert got["max_rate_per_s"] == pytest.approx(100.0)
    assert got["delta"] == pytest.approx(950.0)
    one = _native.series_stats(np.array([5.0]), timestamps=np.array([1.0]), counter=True)
    assert (one["delta"], one["elapsed_s"], one["rate_per_s"], one["max_rate_per_s"]) == \
        (0.0, 0.0, None, None)


def test_accepts_every_float64_buffer_kind():
    data = [3.0, 1.0, 2.0]
    for obj in (np.array(data), array.array("d", data), memoryview(array.array("d", data)),
                np.array(data).astype("=f8"), bytearray(np.array(data).tobytes())):
        if isinstance(obj, bytearray):
            obj = memoryview(obj).cast("d")
        assert _native.series_stats(obj)["percentiles"][50] == 2.0


@pytest.mark.parametrize("bad, message", [
    ([1.0, 2.0], "buffer of float64"),
    (None, "buffer of float64"),
    (np.arange(3), "float64"),
    (np.arange(3, dtype=np.float32), "float64"),
    (array.array("f", [1.0]), "float64"),
    (b"12345678", "float64"),
    (np.ones((2, 2)), "one-dimensional"),
    (np.ones(10)[::2], "contiguous"),
    (np.ones(3, dtype=">f8" if np.little_endian else "<f8"), "float64"),
])
def test_bad_buffers_raise_type_error_naming_the_problem(bad, message):
    with pytest.raises(TypeError, match=message) as info:
        _native.series_stats(bad)
    assert "values" in str(info.value)
    if bad is None:
        return   # timestamps=None is the valid "no timestamps"
    with pytest.raises(TypeError, match="timestamps"):
        _native.series_stats(np.ones(2), timestamps=bad, counter=True)


def test_bad_arguments_raise_value_error():
    with pytest.raises(ValueError, match="must match"):
        _native.series_stats(np.ones(3), timestamps=np.ones(2))
    with pytest.raises(ValueError, match="needs timestamps"):
        _native.series_stats(np.ones(3), counter=True)
    for q in (101, -1, float("nan")):
        with pytest.raises(ValueError, match="percentiles must be in"):
            _native.series_stats(np.ones(3), percentiles=(50, q))
    with pytest.raises(TypeError):
        _native.series_stats(np.ones(3), percentiles=("p50",))
    with pytest.raises(TypeError, match="percentiles must be a sequence"):
        _native.series_stats(np.ones(3), percentiles=50)


def test_buffer_is_released_after_the_call():
    # A held export would make the bytearray refuse to resize.
    raw = bytearray(np.arange(4, dtype=float).tobytes())
    _native.series_stats(memoryview(raw).cast("d"))
    with pytest.raises(TypeError):
        _native.series_stats(memoryview(raw).cast("B"))
    raw.extend(b"\0" * 8)   # would raise BufferError if a view were still exported
    assert len(raw) == 40
