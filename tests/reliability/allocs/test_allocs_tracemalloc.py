"""The allocation counter survives tracemalloc starting and stopping around and
inside profiles (issue 15, "Silently wrong numbers"), or says it could not count.

tracemalloc wraps the allocators it finds at ``start()`` and restores them at
``stop()``, which takes out any hook installed on top of it meanwhile. For every
order of tracemalloc's start and stop relative to a profile, a profile that makes a
known number of allocations either reports a count within bounds of the same
workload profiled with tracemalloc off (the reference, itself checked against the
oracle "at least one allocation per object kept") or reports the count missing
with the reason; never a wrong number or 0. Profiles after it are right again.
"""
import tracemalloc

import pytest

import dprof
from dprof import _native
from dprof.memory.counter import REPLACED

pytestmark = pytest.mark.native

N = 20_000


class Item:
    __slots__ = ("v",)

    def __init__(self, v):
        self.v = v


def workload(n=N):
    """n objects kept alive: at least n allocations, and the same count every run."""
    keep = [Item(None) for _ in range(n)]
    return len(keep)


def profiled(body):
    with dprof.profile("allocs-tracemalloc", resources=False, store=False) as run:
        body()
    return run.profile


@pytest.fixture
def reference():
    """The workload's count with tracemalloc off (median of three runs)."""
    assert not tracemalloc.is_tracing()
    counts = sorted(profiled(workload).memory_allocations for _ in range(3))
    ref = counts[1]
    assert N <= ref <= 3 * N             # the oracle: one block per object, a list
    yield ref
    if tracemalloc.is_tracing():
        tracemalloc.stop()


def close_to(count, ref, extra=0):
    """dprof's own calls at the window's edges and tracemalloc's own start()/stop()
    inside it allocate a few hundred blocks at most."""
    return count is not None and abs(count - (ref + extra)) <= 0.02 * ref + 300


def assert_right_or_missing(profile, ref, extra=0):
    if profile.memory_allocations is None:
        assert profile.missing["memory_allocations"] == REPLACED
        return "missing"
    assert close_to(profile.memory_allocations, ref, extra), (profile.memory_allocations, ref)
    assert "memory_allocations" not in profile.missing
    return "counted"


def assert_later_profiles_right(ref):
    for _ in range(2):
        later = profiled(workload)
        assert close_to(later.memory_allocations, ref), (later.memory_allocations, ref)


def test_start_before_stop_inside_reports_missing_not_a_low_count(reference):
    """The issue's case: before the fix the count was half (what came before the
    stop) and every later profile in the process reported 0."""
    tracemalloc.start()

    def body():
        workload()
        tracemalloc.stop()
        workload()              # not seen by anyone: dprof's hook was taken out

    p = profiled(body)
    assert p.memory_allocations is None
    assert p.missing["memory_allocations"] == REPLACED
    assert "tracemalloc" in p.missing["memory_allocations"]
    assert_later_profiles_right(reference)


def test_start_inside_stop_after_is_counted(reference):
    def body():
        tracemalloc.start()
        workload()

    p = profiled(body)
    assert assert_right_or_missing(p, reference) == "counted"
    assert tracemalloc.is_tracing()
    during = profiled(workload)              # tracemalloc on top of dprof's hook
    assert close_to(during.memory_allocations, reference)
    tracemalloc.stop()                       # restores dprof's hook, on top again
    assert_later_profiles_right(reference)


def test_start_and_stop_inside_is_counted(reference):
    def body():
        tracemalloc.start()
        workload()
        tracemalloc.stop()
        workload()

    p = profiled(body)
    assert assert_right_or_missing(p, reference, extra=reference) == "counted"
    assert_later_profiles_right(reference)


def test_start_before_stop_after_is_counted(reference):
    tracemalloc.start()
    p = profiled(workload)
    tracemalloc.stop()
    assert assert_right_or_missing(p, reference) == "counted"
    assert_later_profiles_right(reference)


def test_repeated_starts_and_stops_are_never_wrong(reference):
    """Twenty rounds mixing the orders; each profile counted right or missing with
    the reason, the missing ones exactly those where a stop dropped the hook."""
    outcomes = []
    for i in range(20):
        pattern = i % 4
        if pattern == 0:                 # start before, stop inside
            tracemalloc.start()
            body = lambda: (workload(), tracemalloc.stop())      # noqa: E731
        elif pattern == 1:               # start and stop inside, twice
            body = lambda: [(tracemalloc.start(), workload(), tracemalloc.stop())
                            for _ in range(2)]                  # noqa: E731
        elif pattern == 2:               # start inside, stop after
            body = lambda: (tracemalloc.start(), workload())     # noqa: E731
        else:                            # (stop of pattern 2's tracing) before
            tracemalloc.stop()
            body = workload
        p = profiled(body)
        extra = reference if pattern == 1 else 0
        outcomes.append(assert_right_or_missing(p, reference, extra))
    assert outcomes == ["missing", "counted", "counted", "counted"] * 5
    assert_later_profiles_right(reference)


def test_nested_profiles_the_outer_one_says_it_missed_a_window(reference):
    tracemalloc.start()
    with dprof.profile("outer", resources=False, store=False) as outer:
        inner1 = profiled(lambda: (workload(), tracemalloc.stop()))
        inner2 = profiled(workload)        # starts after the drop: installs afresh
    assert inner1.memory_allocations is None
    assert close_to(inner2.memory_allocations, reference)
    assert outer.profile.memory_allocations is None
    assert outer.profile.missing["memory_allocations"] == REPLACED
    assert_later_profiles_right(reference)


# --- the native functions against the truth ------------------------------------------

def counted(fn):
    a = _native.alloc_counts()[0]
    fn()
    return _native.alloc_counts()[0] - a


def test_alloc_counter_intact_agrees_with_what_was_really_counted():
    """The oracle of alloc_counter_intact: whether a known allocation moved the
    count. False exactly when allocations went uncounted."""
    import time
    tracemalloc.start()
    _native.alloc_counter_acquire()
    try:
        t0 = time.monotonic()
        assert counted(workload) >= N
        assert _native.alloc_counter_intact(t0) is True
        tracemalloc.stop()
        assert counted(workload) == 0               # really not counted ...
        assert _native.alloc_counter_intact(t0) is False   # ... and it says so
        _native.alloc_counter_acquire()             # a second user installs afresh
        t1 = time.monotonic()
        assert counted(workload) >= N
        assert _native.alloc_counter_intact(t1) is True
        assert _native.alloc_counter_intact(t0) is False   # that window stays lost
        _native.alloc_counter_release()
    finally:
        _native.alloc_counter_release()
        if tracemalloc.is_tracing():
            tracemalloc.stop()
    assert counted(workload) == 0                   # no user: the hooks are out


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -1.0])
def test_alloc_counter_intact_rejects_a_time_that_is_not_monotonic(bad):
    with pytest.raises(ValueError, match="time.monotonic"):
        _native.alloc_counter_intact(bad)


def test_alloc_counter_intact_rejects_a_non_number():
    with pytest.raises(TypeError):
        _native.alloc_counter_intact("now")
