"""The package's pure-Python twins agree with the extension on real data."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dprof.pure import readings as pure_readings
from dprof.pure.stats import series_stats as twin_stats
from dprof.resources import ResourceProfiler
from dprof.resources.columns import COUNTER_COLUMNS

native = pytest.importorskip("dprof._native")
pytestmark = pytest.mark.native


def same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        x, y = a[key], b[key]
        if isinstance(x, dict):
            same(x, y)
        elif x is None or y is None:
            assert x is y, key
        else:
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (key, x, y)


def test_series_statistics_of_real_series_match_the_extension():
    with ResourceProfiler(interval=0.005, backend="psutil") as rp:
        data = [bytearray(1 << 20) for _ in range(20)]      # RSS moves
        sum(i * i for i in range(300_000))
    del data
    series = rp.samples
    assert len(series) >= 3
    ts = np.ascontiguousarray(series["timestamp"])
    checked = 0
    for column in series.columns:
        values = np.ascontiguousarray(series[column])
        counter = column in COUNTER_COLUMNS
        for qs in ((50, 90, 95, 99), (0, 12.5, 100), ()):
            kwargs = dict(timestamps=ts if counter else None, percentiles=qs, counter=counter)
            same(twin_stats(values, **kwargs), native.series_stats(values, **kwargs))
        checked += 1
    assert checked == len(series.columns) > 20


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.floats(-1e9, 1e9, allow_nan=False), st.just(math.nan)),
                max_size=80),
       st.lists(st.floats(0, 100), max_size=5))
def test_series_statistics_match_on_arbitrary_values(values, qs):
    v = np.array(values, dtype=np.float64)
    t = np.cumsum(np.ones(len(v)))
    for counter in (False, True):
        same(twin_stats(v, timestamps=t, percentiles=qs, counter=counter),
             native.series_stats(v, timestamps=t, percentiles=qs, counter=counter))


@pytest.mark.parametrize("bad", [np.arange(3), np.ones((2, 2)), [1.0, 2.0]])
def test_bad_buffers_are_type_errors_in_both(bad):
    with pytest.raises(TypeError):
        native.series_stats(bad)
    with pytest.raises(TypeError):
        twin_stats(bad)


def test_task_reading_twin_agrees_with_the_extension():
    a = native.task_reading()
    b = pure_readings.task_reading()
    c = native.task_reading()
    assert len(a) == len(b) == 21
    assert a[20] == b[20] == 0                  # nothing missing on this Linux
    for i in list(range(0, 8)) + [8]:           # clocks, CPU times, ru_maxrss: ordered
        assert a[i] - 1e-6 <= b[i] <= c[i] + 1e-6, i   # timeval to float rounding
    for i in list(range(10, 20)):                # I/O and network counters only grow
        assert a[i] <= b[i] <= c[i], i
    assert abs(b[9] - a[9]) < 64 << 20           # RSS within the noise of one import


def test_raise_counter_twin_counts_what_the_extension_counts():
    from dprof.pure import raises as twin

    def inner():
        raise KeyError("x")

    def outer():
        inner()

    try:
        outer()
    except KeyError as exc:
        propagated = exc            # its traceback has three entries: not a first event
    try:
        raise ValueError("y")
    except ValueError as exc:
        first = exc                 # one entry: the first frame that saw it
    events = [first, propagated, ValueError("fresh"), "not an exception", first]
    before = (native.raise_counts(), twin.raise_counts())
    for exc in events:
        native.count_raise(None, 0, exc)
        twin.count_raise(None, 0, exc)
    after = (native.raise_counts(), twin.raise_counts())
    native_delta = tuple(a - b for a, b in zip(after[0], before[0]))
    twin_delta = tuple(a - b for a, b in zip(after[1], before[1]))
    assert native_delta == twin_delta == (3, 3)
