"""The extension survives callers that misbehave: Python code run from inside a
native call that changes the call's own arguments, stop() from several threads at
once, fork() after readings. Each of these crashed, hung or leaked before the fix
named in its test."""
import array
import os
import threading

import pytest

from dprof import _native

pytestmark = pytest.mark.native


def test_stack_table_add_survives_frames_list_shrunk_by_index():
    # __index__ of the first line number empties the list being read: the frames
    # are taken from a snapshot (before: read past the list's new end, SEGV).
    frames = []

    class ShrinksTheList:
        def __index__(self):
            frames.clear()
            return 7

    frames.extend([("a.py", "f", ShrinksTheList())] + [("b.py", "g", i) for i in range(50)])
    table = _native.StackTable()
    table.add(1, frames, 0, 1.5)
    stored_frames, stacks, rows = table.to_data()
    assert len(stacks) == 1 and len(stacks[0]) == 51
    assert stored_frames[stacks[0][0]] == ("a.py", "f", 7)
    assert rows == [(1, 0, 0, 1, 1.5)]


def test_series_stats_survives_percentile_list_shrunk_by_float():
    qs = []

    class ShrinksTheList:
        def __float__(self):
            qs.clear()
            return 50.0

    first = ShrinksTheList()
    qs.extend([first, 0.0, 100.0])
    result = _native.series_stats(array.array("d", [1.0, 2.0, 3.0]), percentiles=qs)
    assert result["percentiles"] == {first: 2.0, 0.0: 1.0, 100.0: 3.0}


def test_stack_sampler_stopped_from_several_threads_at_once():
    # Before: every caller joined the same pthread (undefined; it hung here).
    sampler = _native.StackSampler(2000.0, 0.1, 0.0, bytes(256))
    for _ in range(20):
        sampler.start()
        results, errors = [], []
        barrier = threading.Barrier(3)

        def stop():
            barrier.wait()
            try:
                results.append(sampler.stop())
            except RuntimeError as exc:
                errors.append(str(exc))

        threads = [threading.Thread(target=stop) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        assert not any(t.is_alive() for t in threads), "stop() hung"
        assert len(results) == 1, (results, errors)
        assert len(errors) == 2 and all("not running" in e or "stopped" in e for e in errors)
        table, stats = results[0]
        assert isinstance(table, _native.StackTable) and stats["errors"] == 0
        assert not sampler.running


def test_thread_names_are_found_for_threads_that_ended():
    sampler = _native.StackSampler(2000.0, 0.0, 0.0, bytes(256))
    gate = threading.Event()
    worker = threading.Thread(target=gate.wait, name="named-worker")
    worker.start()
    sampler.start()
    gate.set()
    worker.join()
    _, stats = sampler.stop()
    assert stats["thread_names"].get(worker.native_id) == "named-worker"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_task_reading_in_a_forked_child_keeps_no_parent_descriptor():
    _native.task_reading()   # the parent opens and keeps its /proc/self files
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:   # child: report the descriptor counts, then leave at once
        try:
            before = len(os.listdir("/proc/self/fd"))
            _native.task_reading()
            _native.task_reading()
            after = len(os.listdir("/proc/self/fd"))
            os.write(write_end, f"{before} {after}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    before, after = map(int, os.read(read_end, 100).split())
    os.close(read_end)
    os.waitpid(pid, 0)
    # the inherited descriptors are replaced, not kept alongside new ones
    assert after == before
