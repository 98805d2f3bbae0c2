"""exceptions_raised against tasks whose true count is known.

On 3.12+ every exception the task raised is counted once, caught ones included,
however deep it was raised; before 3.12 only an exception that escaped the task is,
and the profile's ``sources`` says which of the two it is.
"""
import sys
import threading
import time

import pytest

from dprof.session import profile, profiler
from dprof.task import exceptions

pytestmark = pytest.mark.core

HAS_MONITORING = hasattr(sys, "monitoring")
needs_monitoring = pytest.mark.skipif(not HAS_MONITORING, reason="sys.monitoring is 3.12+")


def deep(n):
    if n == 0:
        raise ValueError("deep")
    deep(n - 1)


def numbers():
    yield 1
    raise LookupError("from a generator")


def known_exceptions():
    """Raises and catches exactly 11 distinct exceptions."""
    for key in range(5):                       # 5: raised and caught in this frame
        try:
            {}[key]
        except KeyError:
            pass
    for depth in (1, 4, 9):                    # 3: propagated through many frames
        try:
            deep(depth)
        except ValueError:
            pass
    for _ in range(2):                         # 2: raised in a generator
        try:
            for _ in numbers():
                pass
        except LookupError:
            pass
    try:                                       # 1: caught, re-raised, caught again
        try:
            int("not a number")                # raised by C code, seen in this frame
        except ValueError:
            raise
    except ValueError:
        pass
    return 11


@needs_monitoring
def test_caught_exceptions_are_counted_once_each():
    with profile("known", store=False, resources=False) as run:
        truth = known_exceptions()
    p = run.profile
    assert p.exceptions_raised == truth
    assert "sys.monitoring" in p.sources["exceptions_raised"]
    assert "caught exceptions included" in p.sources["exceptions_raised"]


@needs_monitoring
def test_a_failed_task_counts_its_caught_exceptions_and_the_escaped_one():
    @profiler(store=False, resources=False)
    def fails():
        known_exceptions()
        raise RuntimeError("escapes")

    with pytest.raises(RuntimeError, match="escapes"):
        fails()
    p = fails.last_profile
    assert (p.status, p.exceptions_raised) == ("failed", 12)


@needs_monitoring
def test_concurrent_profiles_on_threads_count_their_own_thread():
    started = threading.Barrier(2)
    finishing = threading.Barrier(2)
    results = {}

    def worker(name, n_deep_raises):
        with profile(name, store=False, resources=False) as run:
            started.wait(timeout=30)           # both profiles active: thread scope
            for _ in range(n_deep_raises):
                try:
                    deep(3)
                except ValueError:
                    pass
            finishing.wait(timeout=30)
        results[name] = run.profile

    threads = [threading.Thread(target=worker, args=(f"t{n}", n)) for n in (10, 25)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n in (10, 25):
        p = results[f"t{n}"]
        assert p.sources["scope"].startswith("thread")
        assert p.exceptions_raised == n, p.sources


@needs_monitoring
def test_counting_switches_off_after_the_linger_period(monkeypatch):
    monkeypatch.setattr(exceptions, "LINGER_SECONDS", 0.05)
    with profile("short", store=False, resources=False):
        pass
    deadline = time.monotonic() + 10
    while exceptions._state.enabled and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not exceptions._state.enabled
    assert all(sys.monitoring.get_tool(i) != exceptions.TOOL_NAME for i in range(6))
    before = exceptions.counts()
    known_exceptions()
    assert exceptions.counts() == before      # nothing is counted outside profiles


@needs_monitoring
def test_taken_tool_ids_fall_back_to_the_escaped_count_and_say_why(monkeypatch):
    monkeypatch.setattr(exceptions, "LINGER_SECONDS", 0.05)
    deadline = time.monotonic() + 10
    while exceptions._state.enabled and time.monotonic() < deadline:
        time.sleep(0.02)
    monitoring = sys.monitoring
    taken = [i for i in exceptions._CANDIDATE_TOOL_IDS if monitoring.get_tool(i) is None]
    for i in taken:
        monitoring.use_tool_id(i, "someone-else")
    try:
        with profile("crowded", store=False, resources=False) as run:
            known_exceptions()
    finally:
        for i in taken:
            monitoring.free_tool_id(i)
    p = run.profile
    assert p.exceptions_raised == 0
    assert "tool ids" in p.sources["exceptions_raised"]
    assert "someone-else" in p.sources["exceptions_raised"]
    # the next profile, with the ids free again, counts
    with profile("free again", store=False, resources=False) as run:
        known_exceptions()
    assert run.profile.exceptions_raised == 11


@pytest.mark.skipif(HAS_MONITORING, reason="3.12+ counts caught exceptions")
def test_before_312_only_the_escaped_exception_is_counted_and_sources_say_so():
    with profile("caught", store=False, resources=False) as run:
        known_exceptions()
    p = run.profile
    assert p.exceptions_raised == 0
    assert "escaped" in p.sources["exceptions_raised"]
    assert "3.12" in p.sources["exceptions_raised"]

    @profiler(store=False, resources=False)
    def fails():
        known_exceptions()
        raise RuntimeError("escapes")

    with pytest.raises(RuntimeError):
        fails()
    assert fails.last_profile.exceptions_raised == 1
