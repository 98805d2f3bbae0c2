"""The resource monitor shared by concurrent task profiles."""
import time

import numpy as np
import pytest

from dprof.task import monitor

pytestmark = pytest.mark.core


@pytest.fixture(autouse=True)
def fast_linger(monkeypatch):
    monkeypatch.setattr(monitor, "LINGER_SECONDS", 0.2)
    yield
    # leave no sampler running for the next test
    deadline = time.monotonic() + 2
    while monitor._shared.sampler is not None and monitor._shared.sampler.running \
            and time.monotonic() < deadline:
        time.sleep(0.05)


def test_window_holds_only_samples_inside_the_task():
    handle = monitor.acquire(0.005)
    start = time.monotonic()
    time.sleep(0.15)
    end = time.monotonic()
    time.sleep(0.05)          # samples after the end must not be included
    window = monitor.release(handle, start, end)
    ts = window.columns["timestamp"]
    assert len(ts) >= 5
    assert ts.min() >= start and ts.max() <= end
    assert np.all(np.diff(ts) > 0)
    assert set(window.missing) <= set(window.columns)


def test_profiles_share_one_sampler_and_it_lingers_then_stops():
    a = monitor.acquire(0.01)
    b = monitor.acquire(0.01)
    assert a.sampler is b.sampler and not a.private
    t = time.monotonic()
    monitor.release(a, t, t)
    assert b.sampler.running          # b still holds it
    monitor.release(b, t, t)
    assert b.sampler.running          # lingering for the next call
    again = monitor.acquire(0.01)
    assert again.sampler is b.sampler  # reused, no new thread
    monitor.release(again, t, t)
    time.sleep(0.6)
    assert not b.sampler.running      # stopped once idle past the linger


def test_another_interval_while_shared_gets_a_private_sampler():
    shared = monitor.acquire(0.01)
    private = monitor.acquire(0.002)
    assert private.private and private.sampler is not shared.sampler
    t = time.monotonic()
    monitor.release(private, t, t)
    assert not private.sampler.running     # a private sampler stops at once
    monitor.release(shared, t, t)


def test_short_task_reports_io_wait_missing_with_the_interval():
    handle = monitor.acquire(0.5)
    t = time.monotonic()
    window = monitor.release(handle, t + 0.0001, t + 0.001)
    assert window.io_wait_seconds is None
    assert window.columns == {}                # no sample inside: no arrays
    assert "0.5" in window.io_wait_missing
