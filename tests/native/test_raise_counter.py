"""The native raise counter (csrc/raises_binding.c) against its Python rule.

count_raise() is the sys.monitoring RAISE callback; its rule, written here in
Python, is: count an exception when its traceback is absent or has one entry (the
first Python frame that saw it), not when it has more (it is propagating). The
callback is called directly here, so this runs on every interpreter, 3.9 to 3.13;
the events themselves are tested in tests/task/test_exceptions.py.
"""
import sys
import threading

import pytest

from dprof import _native

pytestmark = pytest.mark.native


def python_rule(exc):
    tb = exc.__traceback__
    return tb is None or tb.tb_next is None


def raised_through(depth):
    """An exception caught after passing through `depth` Python frames (its
    traceback has `depth` entries)."""
    def inner(n):
        if n == 1:
            raise ValueError("deep")
        inner(n - 1)

    if depth == 1:
        try:
            raise ValueError("here")
        except ValueError as exc:
            return exc
    try:
        inner(depth - 1)
    except ValueError as exc:
        return exc


def traceback_length(exc):
    n, tb = 0, exc.__traceback__
    while tb is not None:
        n, tb = n + 1, tb.tb_next
    return n


def test_counts_follow_the_python_rule():
    cases = [KeyError("never raised"), raised_through(1), raised_through(2), raised_through(5),
             # a Python-level object that is not an exception: ignored, never an error
             "not an exception", None]
    for case in cases:
        before = _native.raise_counts()
        assert _native.count_raise(None, 0, case) is None
        after = _native.raise_counts()
        expected = int(isinstance(case, BaseException) and python_rule(case))
        assert (after[0] - before[0], after[1] - before[1]) == (expected, expected), case
    assert [traceback_length(c) for c in cases[:4]] == [0, 1, 2, 5]
    assert [python_rule(c) for c in cases[:4]] == [True, True, False, False]


def test_thread_count_is_the_calling_threads_own_and_process_count_sums_all():
    before = _native.raise_counts()
    done = []

    def other():
        start = _native.raise_counts()[1]
        for _ in range(7):
            _native.count_raise(None, 0, ValueError())
        done.append(_native.raise_counts()[1] - start)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    for _ in range(3):
        _native.count_raise(None, 0, ValueError())
    after = _native.raise_counts()
    assert done == [7]
    assert after[1] - before[1] == 3
    assert after[0] - before[0] == 10


def test_wrong_argument_count_is_a_clear_error():
    with pytest.raises(TypeError, match=r"takes 3 arguments \(code, offset, exception\)"):
        _native.count_raise(ValueError())


@pytest.mark.skipif(not hasattr(sys, "monitoring"), reason="sys.monitoring is 3.12+")
def test_as_a_monitoring_callback_it_counts_each_exception_once():
    def counted_by_others():
        # dprof's own counter may still be lingering from an earlier profile in this
        # process: what this tool adds is the difference with it off and on
        before = _native.raise_counts()[1]
        for depth in (1, 2, 6):
            raised_through(depth)          # one exception each, however deep
        return _native.raise_counts()[1] - before

    monitoring = sys.monitoring
    tool = next(i for i in (3, 4) if monitoring.get_tool(i) is None)
    without = counted_by_others()
    monitoring.use_tool_id(tool, "dprof-test")
    try:
        monitoring.register_callback(tool, monitoring.events.RAISE, _native.count_raise)
        monitoring.set_events(tool, monitoring.events.RAISE)
        with_tool = counted_by_others()
    finally:
        monitoring.set_events(tool, 0)
        monitoring.register_callback(tool, monitoring.events.RAISE, None)
        monitoring.free_tool_id(tool)
    assert with_tool - without == 3
