"""Accuracy of the stack sampler on workloads whose true answer is measured by timers.

Every test runs a second or two at a few hundred Hz. On a loaded machine a thread
waiting for a CPU is counted as wanting to run what it was running (run-queue time),
so the truths are wall-clock timers around each phase.
"""
import inspect
import sys
import threading
import time

import pytest

from dprof.stacks import CPU_NATIVE, CPU_PYTHON, WAIT_SLEEP, StackSampler
import stack_workloads as w

pytestmark = pytest.mark.native


def seconds_in(profile, function, thread_id=None, categories=None):
    total = 0.0
    for r in profile.rows:
        if thread_id is not None and r.thread_id != thread_id:
            continue
        if categories is not None and r.category not in categories:
            continue
        if any(f.function.endswith(function) for f in profile.stack_frames(r.stack_id)):
            total += r.seconds
    return total


def calibrate(fn, seconds):
    """An iteration count for which fn takes about `seconds`."""
    n = 20000
    while True:
        t = time.perf_counter()
        fn(n)
        took = time.perf_counter() - t
        if took > 0.05:
            return max(1, int(n * seconds / took))
        n *= 4


@pytest.mark.parametrize("helper_share", [0.3, 0.5, 0.7])
def test_helper_call_and_inlined_loop_get_their_true_shares(helper_share):
    total = 1.2
    n_helper = calibrate(w.with_helper, total * helper_share)
    n_inline = calibrate(w.inlined, total * (1 - helper_share))
    truth = {}
    with StackSampler(hz=500, overhead_budget=0) as s:
        for name, fn, n in (("with_helper", w.with_helper, n_helper),
                            ("inlined", w.inlined, n_inline)):
            t = time.perf_counter()
            fn(n)
            truth[name] = time.perf_counter() - t
    p = s.profile
    measured = {name: seconds_in(p, name) for name in truth}
    true_share = truth["with_helper"] / sum(truth.values())
    got_share = measured["with_helper"] / sum(measured.values())
    # Within 2 points where stacks are read without the GIL (issue 16's target); the
    # GIL-holding walk, biased to safe points, was measured up to 5.6 points off.
    tolerance = (0.02 if sys.version_info >= (3, 11)
                 and p.meta["gil_free_samples"] > 0.8 * p.meta["ticks"] else 0.03)
    assert abs(got_share - true_share) < tolerance, (truth, measured, p.meta["reader"])
    # The helper's own frame is seen under with_helper.
    assert seconds_in(p, "helper") > 0


def test_python_native_with_gil_native_without_gil_and_sleep_are_told_apart():
    data = w.shuffled(1_000_000)
    blob = b"\x5a" * 150_000_000
    n_py = calibrate(w.pure_python, 0.4)
    truth = {}
    with StackSampler(hz=300, overhead_budget=0) as s:
        for key, call in ((CPU_PYTHON, lambda: w.pure_python(n_py)),
                          ("sorted", lambda: [w.native_holding_gil(data) for _ in range(2)]),
                          ("sha", lambda: w.native_releasing_gil(blob)),
                          (WAIT_SLEEP, lambda: w.sleeping(0.4))):
            t = time.perf_counter()
            call()
            truth[key] = time.perf_counter() - t
    p = s.profile
    true_total = sum(truth.values())
    true = {CPU_PYTHON: truth[CPU_PYTHON] / true_total,
            CPU_NATIVE: (truth["sorted"] + truth["sha"]) / true_total,
            WAIT_SLEEP: truth[WAIT_SLEEP] / true_total}
    by_cat = p.seconds_by_category()
    got_total = sum(by_cat.values())
    for cat, share in true.items():
        assert abs(by_cat[cat] / got_total - share) < 0.05, (cat, truth, by_cat)
    # And each phase's own function carries its class.
    assert seconds_in(p, "native_holding_gil", categories={CPU_NATIVE}) \
        > 0.8 * truth["sorted"]
    assert seconds_in(p, "native_releasing_gil", categories={CPU_NATIVE}) \
        > 0.7 * truth["sha"]
    assert seconds_in(p, "pure_python", categories={CPU_PYTHON}) > 0.8 * truth[CPU_PYTHON]


def test_each_thread_is_charged_with_its_own_work():
    ids = {}
    deadline = time.perf_counter() + 1.0

    def run(name, fn):
        ids[name] = threading.get_native_id()
        fn(deadline)

    threads = [threading.Thread(target=run, args=("spin", w.spin_until), name="spinner"),
               threading.Thread(target=run, args=("nap", w.nap_until), name="napper")]
    with StackSampler(hz=300, overhead_budget=0) as s:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    p = s.profile
    spin, nap = ids["spin"], ids["nap"]
    assert seconds_in(p, "spin_until", thread_id=spin) > 0.7
    assert seconds_in(p, "nap_until", thread_id=spin) == 0
    assert seconds_in(p, "spin_until", thread_id=nap) == 0
    assert seconds_in(p, "nap_until", thread_id=nap, categories={WAIT_SLEEP}) > 0.7
    assert p.thread_names[spin] == "spinner" and p.thread_names[nap] == "napper"


def test_hottest_line_is_the_loop_body():
    n = calibrate(w.pure_python, 0.8)
    with StackSampler(hz=500, overhead_budget=0) as s:
        w.pure_python(n)
    p = s.profile
    by_leaf = {}
    for r in p.rows:
        frames = p.stack_frames(r.stack_id)
        if frames:
            by_leaf[frames[-1]] = by_leaf.get(frames[-1], 0.0) + r.seconds
    hottest = max(by_leaf, key=by_leaf.get)
    source, first = inspect.getsourcelines(w.pure_python)
    hot_line = first + next(i for i, text in enumerate(source) if "HOT-LINE" in text)
    assert hottest.function.endswith("pure_python")
    assert hottest.filename == w.__file__
    assert hottest.line == hot_line
    assert by_leaf[hottest] > 0.5 * sum(by_leaf.values())
