"""Leak checks of every native API, in the style of psutil's test_memleaks.py.

Each test calls one API (or one start/stop cycle) many times after a warm-up and
checks that what it could leak stays bounded:

- open file descriptors: exactly as many after as before (the samplers keep /proc
  files open while they run, so a missed close shows at once);
- memory that tracemalloc sees (Python objects and PyMem/PyMem_Raw blocks: the
  stack sampler's code cache, tables, dicts and tuples built by the bindings):
  the number of live blocks must not grow with the number of calls;
- reference counts of the extension's types (a missed Py_DECREF in a dealloc);
- resident memory, for the malloc() blocks of the C engines (sample arrays,
  readers, call-tree tables): skipped under AddressSanitizer, whose allocator
  keeps freed memory in quarantine (DPROF_UNDER_SANITIZER=1 in CI's sanitizer
  stage, where LeakSanitizer-style checks belong to the C test instead).
"""
import array
import gc
import os
import subprocess
import sys
import threading
import time
import tracemalloc

import pytest

from dprof import _native

pytestmark = pytest.mark.native

UNDER_SANITIZER = os.environ.get("DPROF_UNDER_SANITIZER") == "1"
# Sanitized builds are several times slower; fewer rounds still show a leak of
# one object or one descriptor per call.
SCALE = 4 if UNDER_SANITIZER else 1
PAGE = os.sysconf("SC_PAGE_SIZE")
RSS_SLACK = 6 * 1024 * 1024    # malloc arenas and thread stacks settle in this
# tracemalloc: one leaked object per call is one more traced block per call. The
# interpreter makes a few one-off blocks (a free list, a dict or arena table
# growing, one of them 400 KB; the tuple free lists holding up to 2,000 each), so
# blocks are counted, over at least 200 calls, and bytes are checked loosely.
BLOCK_SLACK = 64
TRACED_BYTES_SLACK = 1024 * 1024
# Under ASan a stack-sampler run takes a varying number of ticks, and the count of
# blocks live after it varies by a few hundred without growing; the plain runs
# (every interpreter in CI) keep the strict count.
STACK_BLOCK_SLACK = 1024 if UNDER_SANITIZER else BLOCK_SLACK


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def fd_growth(before, timeout=2.0):
    """Descriptors open now beyond ``before``, once the count has had ``timeout``
    seconds to come back down. Other threads of the test process (a sampler an
    earlier test left lingering) open /proc files of their own for a few ms at a
    time: 3.12 in CI counted one more at the end of each of three rounds. A leak in
    the cycles grows with the number of calls (hundreds here) and stays. As
    test_sampler_robustness.fds_back_to does, the count must come back all the way."""
    deadline = time.monotonic() + timeout
    while fd_count() > before and time.monotonic() < deadline:
        time.sleep(0.05)
    return fd_count() - before


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


def traced():
    """(blocks, bytes) that tracemalloc sees now."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    return len(snapshot.traces), sum(t.size for t in snapshot.traces)


def check_bounded(fn, times, *, warmup=10, rss_per_call=1024, types=(),
                  block_slack=BLOCK_SLACK, attempts=3):
    """Calls fn() `times` times per round and asserts nothing grows with the count.

    The first round settles one-off growth (caches, free lists, the first thread
    stacks); leaks are measured over the next. As psutil does, a round that grew
    is retried: a leak grows in every round, noise does not.
    """
    times = max(times // SCALE, 200)
    for _ in range(warmup):
        fn()
    tracemalloc.start()
    try:
        for _ in range(times):
            fn()
        for attempt in range(attempts):
            blocks_before, bytes_before = traced()
            refs_before = [sys.getrefcount(t) for t in types]
            fds_before = fd_count()
            rss_before = rss_bytes()
            for _ in range(times):
                fn()
            blocks_after, bytes_after = traced()
            rss_growth = rss_bytes() - rss_before
            problems = []
            fds_grown = fd_growth(fds_before)
            if fds_grown > 0:
                problems.append(f"{fds_grown} file descriptors leaked")
            if [sys.getrefcount(t) for t in types] != refs_before:
                problems.append("type references leaked")
            if blocks_after - blocks_before > block_slack + times // 10:
                problems.append(f"{blocks_after - blocks_before} more traced blocks")
            if bytes_after - bytes_before > TRACED_BYTES_SLACK + 16 * times:
                problems.append(f"{bytes_after - bytes_before} more traced bytes")
            if not UNDER_SANITIZER and rss_growth > RSS_SLACK + rss_per_call * times:
                problems.append(f"RSS grew {rss_growth} bytes")
            if not problems:
                return
    finally:
        tracemalloc.stop()
    raise AssertionError(f"after {times} calls, {attempts} rounds: " + "; ".join(problems))


# ---- resource sampler -------------------------------------------------------

def test_sampler_start_stop_cycles():
    # capacity 64: a leaked sample block is 64 * 43 * 8 = 22 KB per cycle
    s = _native.Sampler(interval=0.001, capacity=64)

    def cycle():
        s.start()
        s.stop()

    check_bounded(cycle, 1000, types=(_native.Sampler,))


def test_sampler_objects_created_and_dropped():
    def cycle():
        s = _native.Sampler(interval=0.001, capacity=64)
        s.start()
        s.info()
        del s   # freed while running: the engine joins its own thread

    check_bounded(cycle, 300, types=(_native.Sampler,))


def test_sampler_columns_outliving_the_sampler():
    column_type = type(_native.Sampler().columns()["timestamp"].obj)

    def cycle():
        s = _native.Sampler(interval=0.001, capacity=64)
        s.start()
        running = s.columns()          # snapshot copy
        s.stop()
        stopped = s.columns(since=0.0)  # the sampler's own block
        s.start()                       # the views keep the old block alive
        del s
        assert len(running["rss_bytes"]) >= 1
        assert len(stopped["timestamp"]) >= 1
        sum(stopped["rss_bytes"])

    check_bounded(cycle, 300, types=(_native.Sampler, column_type))


def test_sampler_queries():
    s = _native.Sampler(interval=0.001, capacity=64)
    s.start()
    try:
        def calls():
            s.sample_once()
            s.missing()
            s.info()
            s.columns(since=float("inf"))
            s.running  # noqa: B018 - the getter is what is checked

        check_bounded(calls, 1000)
    finally:
        s.stop()


def test_sampler_with_children_start_stop():
    # A sleeping child makes the engine open (and must close) its readers.
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        s = _native.Sampler(interval=0.001, capacity=64, children=True)

        def cycle():
            s.start()
            s.sample_once()
            s.stop()

        check_bounded(cycle, 300)
    finally:
        child.kill()
        child.wait()


# ---- stack sampler and tables -----------------------------------------------

def _call_flags():
    import dis

    flags = bytearray(256)
    for name, op in dis.opmap.items():
        if name.startswith("CALL"):
            flags[op] = 1
    return bytes(flags)


def test_stack_sampler_start_stop_cycles():
    s = _native.StackSampler(2000.0, 0.1, 0.0, _call_flags())

    def cycle():
        s.start()
        table, stats = s.stop()
        # (to_data() is checked with fixed content below: what a run samples
        # varies, and so does how far its tuples fill the free lists)
        assert stats["errors"] == 0

    check_bounded(cycle, 200, types=(_native.StackSampler, _native.StackTable),
                  block_slack=STACK_BLOCK_SLACK)


def test_stack_sampler_freed_while_running():
    flags = _call_flags()

    def cycle():
        s = _native.StackSampler(2000.0, 0.1, 0.0, flags)
        s.start()
        del s

    check_bounded(cycle, 100, types=(_native.StackSampler, _native.StackTable),
                  block_slack=STACK_BLOCK_SLACK)


def test_stack_table_merge():
    frames = [("a.py", "main", 1), ("b.py", "work", 10), ("c.py", "leaf", 100)]

    def calls():
        a = _native.StackTable()
        b = _native.StackTable()
        for i in range(20):
            a.add(1, frames[: 1 + i % 3], i % 5, 0.001 * i, 1)
            b.add(2, frames[i % 3:], (i + 1) % 5, 0.002 * i)
        a.merge(b)
        a.merge(a)
        a.to_data()
        with pytest.raises(TypeError):
            a.add(1, [("a.py", 2, 3)], 0, 1.0)

    check_bounded(calls, 500, types=(_native.StackTable,))


# ---- statistics, allocation counter, task readings --------------------------

def test_series_stats():
    values = array.array("d", [float(i % 97) for i in range(1000)] + [float("nan")])
    stamps = array.array("d", [0.01 * i for i in range(1001)])

    def calls():
        _native.series_stats(values)
        _native.series_stats(values, stamps, percentiles=[1, 50.5, 99], counter=True)
        with pytest.raises(ValueError):
            _native.series_stats(values, percentiles=[101])

    check_bounded(calls, 1000)


def test_alloc_counter_acquire_release():
    def calls():
        _native.alloc_counter_acquire()
        _native.alloc_counts()
        _native.alloc_counter_acquire()
        _native.alloc_counter_release()
        _native.alloc_counter_release()
        _native.alloc_counter_active()

    # tracemalloc wraps the allocator over the counter's hooks while it runs;
    # the counter must still balance and never leave them half-installed.
    check_bounded(calls, 1000)
    assert not _native.alloc_counter_active() or _native.alloc_counts()[0] >= 0


def test_raise_counter():
    def propagated():
        try:
            int("x")
        except ValueError as exc:
            return exc

    fresh, seen = ValueError("fresh"), propagated()

    def calls():
        _native.count_raise(None, 0, fresh)     # counted: the no-traceback path
        _native.count_raise(None, 0, seen)      # its traceback is read and released
        _native.raise_counts()

    check_bounded(calls, 1000)
    # the traceback reference taken in count_raise is given back
    tb = seen.__traceback__
    refs = sys.getrefcount(tb)
    for _ in range(100):
        _native.count_raise(None, 0, seen)
    assert sys.getrefcount(tb) == refs


def test_task_reading_from_many_threads():
    # Each thread keeps its /proc/thread-self/io open until it exits.
    def in_threads():
        threads = [threading.Thread(target=_native.task_reading) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        _native.task_reading()

    check_bounded(in_threads, 100, rss_per_call=4096)


def test_cgroup_and_netdev_readers():
    # each call opens and closes the cgroup's files: a missed close shows as an fd
    directory = _native.cgroup_dir(os.getpid())[0] or "/nonexistent-cgroup"

    def calls():
        _native.cgroup_dir(os.getpid())
        _native.cgroup_read(directory)                 # values and missing reasons
        _native.cgroup_read("/nonexistent-cgroup")     # every file missing
        _native.netdev_read("/proc/self/net/dev")
        with pytest.raises(FileNotFoundError):
            _native.netdev_read("/nonexistent/net/dev")
        with pytest.raises(TypeError):
            _native.cgroup_read(None)

    check_bounded(calls, 500)
