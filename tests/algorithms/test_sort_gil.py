"""Buffer sorts and the int/float fast paths of list sorts run without the GIL:
another Python thread makes progress while one sort is in the middle of its
work. Nothing here depends on speed: the check is that the other thread ran at
all during the middle half of the sort, which a held GIL forbids."""
import threading
import time

import numpy as np
import pytest

from dprof import _native

pytestmark = pytest.mark.native


def other_thread_progress_during(sort_call):
    """Runs sort_call() in a thread; returns (progress stamps of the main thread,
    start and end of the sort)."""
    window = {}
    started = threading.Event()

    def worker():
        started.set()
        window["t0"] = time.monotonic()
        sort_call()
        window["t1"] = time.monotonic()

    thread = threading.Thread(target=worker)
    stamps = []
    thread.start()
    started.wait()
    i = 0
    while thread.is_alive():
        i += 1
        if i % 256 == 0:
            stamps.append(time.monotonic())
    thread.join()
    return stamps, window["t0"], window["t1"]


def ran_in_middle(stamps, t0, t1):
    lo, hi = t0 + 0.25 * (t1 - t0), t0 + 0.75 * (t1 - t0)
    return any(lo <= s <= hi for s in stamps)


def test_buffer_sort_releases_the_gil():
    data = np.arange(20000, 0, -1, dtype=np.int64)     # reversed: bubble's worst case
    stamps, t0, t1 = other_thread_progress_during(
        lambda: _native.sort_buffer("bubble_sort", data))
    assert data.tolist() == list(range(1, 20001))
    assert ran_in_middle(stamps, t0, t1), f"no progress during a {t1 - t0:.3f} s sort"


def test_int_list_fast_path_releases_the_gil():
    items = list(range(15000, 0, -1))
    stamps, t0, t1 = other_thread_progress_during(
        lambda: _native.sort_list("insertion_sort", items))
    assert items == list(range(1, 15001))
    assert ran_in_middle(stamps, t0, t1), f"no progress during a {t1 - t0:.3f} s sort"


def test_the_check_sees_a_sort_that_holds_the_gil():
    # str lists are compared with the GIL held (their objects are read): the
    # same check must then see no progress, or it proves nothing above
    items = [f"{i:06d}" for i in range(6000, 0, -1)]
    stamps, t0, t1 = other_thread_progress_during(
        lambda: _native.sort_list("insertion_sort", items))
    assert items == sorted(items)
    assert not ran_in_middle(stamps, t0, t1)


def test_list_changed_by_another_thread_while_sorted_without_the_gil():
    # while detached the list looks empty; a thread that appends to it then is
    # told, as list.sort tells it, and the sorted elements are all kept
    items = list(range(20000, 0, -1))
    errors = []

    def worker():
        try:
            _native.sort_list("bubble_sort", items)
        except ValueError as exc:
            errors.append(str(exc))

    thread = threading.Thread(target=worker)
    thread.start()
    appended = False
    while thread.is_alive() and not appended:
        if len(items) == 0:             # the sort has the items
            items.append(-1)
            appended = True
    thread.join()
    if not appended:
        pytest.skip("the sort ended before this thread saw it running")
    assert errors == ["list modified during sort"]
    assert items == list(range(1, 20001))
