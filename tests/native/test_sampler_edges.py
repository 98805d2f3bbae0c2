"""A run's first and last samples are taken by start() and stop() themselves,
and columns(since=) returns exactly the samples of a window."""
import os
import time

import numpy as np
import pytest

from dprof import _native

pytestmark = pytest.mark.native


def test_start_and_stop_sample_the_edges_of_a_run(tmp_path):
    s = _native.Sampler(interval=10.0)   # the thread itself would never sample
    before = time.monotonic()
    s.start()
    # written right after start() returns: must be after the first sample
    (tmp_path / "f").write_bytes(b"x" * 2**20)
    s.stop()
    after = time.monotonic()
    cols = {k: np.asarray(v) for k, v in s.columns().items()}
    assert len(cols["timestamp"]) == 2
    assert before <= cols["timestamp"][0] < cols["timestamp"][1] <= after
    assert cols["write_chars"][1] - cols["write_chars"][0] >= 2**20


def test_columns_since_returns_the_window_running_and_stopped():
    s = _native.Sampler(interval=0.002)
    s.start()
    time.sleep(0.05)
    cut = time.monotonic()
    time.sleep(0.05)
    running = np.asarray(s.columns(since=cut)["timestamp"])
    s.stop()
    stopped = np.asarray(s.columns(since=cut)["timestamp"])
    everything = np.asarray(s.columns()["timestamp"])
    assert len(running) >= 1 and running.min() >= cut
    assert stopped.min() >= cut and len(stopped) >= len(running)
    assert np.array_equal(stopped, everything[everything >= cut])
    assert len(np.asarray(s.columns(since=everything[-1] + 1)["timestamp"])) == 0
    with pytest.raises(ValueError, match="NaN"):
        s.columns(since=float("nan"))
    with pytest.raises(TypeError):
        s.columns(since="soon")


def test_a_run_that_ended_with_its_process_gets_no_closing_sample():
    pid = os.fork()
    if pid == 0:
        time.sleep(0.1)
        os._exit(0)
    s = _native.Sampler(pid=pid, interval=0.01)
    s.start()
    os.waitpid(pid, 0)
    deadline = time.monotonic() + 5
    while s.running and time.monotonic() < deadline:
        time.sleep(0.01)
    n = s.info()["samples"]
    s.stop()
    assert s.info()["samples"] == n
