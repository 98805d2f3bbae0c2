"""Leak checks of the sort bindings, in the style of tests/native/test_memleaks.py:
each case runs many times after a warm-up, and neither the blocks tracemalloc
sees (Python objects, the PyMem_Raw pair arrays), the elements' reference counts,
the malloc() bytes in use (glibc's mallinfo2: the engines' buffers, 16 KiB or
more per call here, counted even where their pages were never touched) nor the
resident memory may grow with the number of calls. Error paths are included: a leak is
likeliest where a sort stops half-way."""
import ctypes
import gc
import os
import sys
import tracemalloc

import numpy as np
import pytest

from dprof import _native
from sort_cases import Box, ints

pytestmark = pytest.mark.native

UNDER_SANITIZER = os.environ.get("DPROF_UNDER_SANITIZER") == "1"
PAGE = os.sysconf("SC_PAGE_SIZE")
RSS_SLACK = 6 * 1024 * 1024
BLOCK_SLACK = 64
N = 8192                 # 8192 pairs: 128 KiB of pairs + 64 KiB of merge buffer per call


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


class _Mallinfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]


def _malloc_in_use_reader():
    """glibc's mallinfo2(): bytes of malloc() blocks in use (heap + mmapped),
    counted whether or not their pages were touched, so a leaked buffer shows
    in full. None where it is missing (other libcs, glibc < 2.33) or under ASan
    (its own allocator)."""
    if UNDER_SANITIZER:
        return None
    try:
        fn = ctypes.CDLL(None).mallinfo2
    except (OSError, AttributeError):
        return None
    fn.restype = _Mallinfo2

    def read():
        info = fn()
        return info.uordblks + info.hblkhd
    return read


MALLOC_IN_USE = _malloc_in_use_reader()
MALLOC_SLACK = 2 * 1024 * 1024


def traced_blocks():
    gc.collect()
    return len(tracemalloc.take_snapshot().traces)


def check_bounded(fn, times, watched=(), attempts=3):
    times = max(times // (4 if UNDER_SANITIZER else 1), 50)
    for _ in range(10):
        fn()
    tracemalloc.start()
    try:
        for _ in range(times):
            fn()
        for _ in range(attempts):
            blocks, rss = traced_blocks(), rss_bytes()
            heap = MALLOC_IN_USE() if MALLOC_IN_USE else 0
            refs = [sys.getrefcount(x) for x in watched]
            for _ in range(times):
                fn()
            problems = []
            grown = traced_blocks() - blocks
            if grown > BLOCK_SLACK + times // 10:
                problems.append(f"{grown} more traced blocks")
            if [sys.getrefcount(x) for x in watched] != refs:
                problems.append("element references leaked")
            rss_growth = rss_bytes() - rss
            if not UNDER_SANITIZER and rss_growth > RSS_SLACK + 1024 * times:
                problems.append(f"RSS grew {rss_growth} bytes")
            if MALLOC_IN_USE:
                heap_growth = MALLOC_IN_USE() - heap
                if heap_growth > MALLOC_SLACK + 256 * times:
                    problems.append(f"malloc() blocks in use grew {heap_growth} bytes")
            if not problems:
                return
    finally:
        tracemalloc.stop()
    raise AssertionError(f"after {times} calls: " + "; ".join(problems))


INTS = ints(N, "random", seed=1, lo=-2**19, hi=2**19)   # within counting sort's bound
FLOATS = [x / 3 for x in INTS]
STRS = [str(x) for x in INTS[:2000]]
BOXES = [Box(x) for x in INTS[:2000]]
ARRAY = np.array(INTS, dtype=np.int64)


@pytest.mark.parametrize("algorithm", ["merge_sort", "merge_sort_bottom_up", "quick_sort",
                                       "heap_sort", "counting_sort", "radix_sort"])
def test_sort_list_int_and_float_paths(algorithm):
    def call():
        _native.sort_list(algorithm, list(INTS))
        if algorithm not in ("counting_sort", "radix_sort"):
            _native.sort_list(algorithm, list(FLOATS))

    check_bounded(call, 300, watched=INTS[:20])


@pytest.mark.parametrize("algorithm", ["merge_sort", "merge_sort_bottom_up", "quick_sort"])
def test_sort_list_object_paths(algorithm):
    def call():
        _native.sort_list(algorithm, list(STRS))
        _native.sort_list(algorithm, list(BOXES))

    check_bounded(call, 60, watched=BOXES[:20] + STRS[:20])


class Boom(Exception):
    pass


class Bomb:
    """Raises from any comparison, also the reflected one (int < Bomb)."""

    def __lt__(self, other):
        raise Boom("lt")

    def __gt__(self, other):
        raise Boom("gt")


# Ints beyond int64 take the rich-compare path but compare in C (fast); the bomb
# sits late, so the sort fails with its merge buffer (32 KiB) allocated.
BIG = [x * 2**70 for x in INTS]
LATE = BIG[:6000] + [Bomb()] + BIG[6000:]
EARLY = BIG[:200] + [Bomb()] + BIG[200:2000]       # insertion sort: quadratic


@pytest.mark.parametrize("algorithm", ["merge_sort", "merge_sort_bottom_up", "insertion_sort",
                                       "quick_sort", "heap_sort", "selection_sort"])
def test_sort_list_failing_comparison(algorithm):
    items = EARLY if algorithm in ("insertion_sort", "selection_sort") else LATE

    def call():
        try:
            _native.sort_list(algorithm, list(items))
        except Boom:
            pass
        else:
            raise AssertionError("the comparison with the bomb should have raised")

    check_bounded(call, 300, watched=items[195:205])


@pytest.mark.parametrize("algorithm", ["merge_sort", "merge_sort_bottom_up", "counting_sort",
                                       "radix_sort", "quick_sort"])
def test_sort_buffer(algorithm):
    def call():
        _native.sort_buffer(algorithm, ARRAY.copy())

    check_bounded(call, 300)


def test_sort_errors():
    nan = np.array([1.0, np.nan] * 100)
    wide = np.array([0, 2**62] * 100, dtype=np.int64)
    readonly = np.frombuffer(b"\x00" * 64, dtype=np.int64)

    def call():
        for args in (("merge_sort", nan), ("counting_sort", wide), ("heap_sort", readonly),
                     ("radix_sort", nan), ("nope", ARRAY)):
            try:
                _native.sort_buffer(*args)
            except (TypeError, ValueError):
                pass
        for items in ([1, "a"], [1.5], [2**64]):
            try:
                _native.sort_list("radix_sort", items)
            except (TypeError, OverflowError):
                pass

    check_bounded(call, 500)
