"""CPU time goes to the code that used it, not to the line a thread later blocks on.

A loop alternating a compute function and a sleep (the shape of a request handler
that computes and then waits) is sampled at a rate close to its own period, the
worst case for a sampler that charges an interval's CPU to whatever stack it sees
at the end of the interval.
"""
import statistics
import time

import pytest

from dprof.stacks import CPU_CATEGORIES, StackSampler, WAIT_SLEEP

pytestmark = pytest.mark.native


def crunch(deadline):
    x = 0
    while time.thread_time() < deadline:
        x += 1
    return x


def alternate(seconds, compute_s=0.012, sleep_s=0.008):
    """Returns the timer-measured seconds spent computing and sleeping, and the
    median time a sleep overran (how long a woken thread waited for a CPU)."""
    computing = sleeping = 0.0
    overruns = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        t0 = time.perf_counter()
        crunch(time.thread_time() + compute_s)
        t1 = time.perf_counter()
        time.sleep(sleep_s)
        t2 = time.perf_counter()
        computing += t1 - t0
        sleeping += t2 - t1
        overruns.append(t2 - t1 - sleep_s)
    return computing, sleeping, statistics.median(overruns)


# A woken thread that waits milliseconds for a CPU (other processes running) is
# runnable on the sleep line, and the sampler's own ticks come late: the split the
# test checks is then not the sampler's to see. On an idle machine the median
# overrun is under 0.2 ms.
LOADED_OVERRUN_S = 0.001
ATTEMPTS = 3


def test_cpu_of_a_compute_then_sleep_loop_goes_to_the_compute_function():
    for _ in range(ATTEMPTS):
        with StackSampler(hz=100) as sampler:
            computing, sleeping, overrun = alternate(2.0)
        if overrun < LOADED_OVERRUN_S:
            break
    else:
        pytest.skip(f"the machine is loaded: sleeps overran by {overrun * 1e3:.1f} ms "
                    f"(median) in each of {ATTEMPTS} runs")
    profile = sampler.profile
    in_crunch = on_sleep_line_cpu = on_sleep_line_wait = in_loop = 0.0
    for row in profile.rows:
        names = [f.function for f in profile.stack_frames(row.stack_id)]
        leaf = profile.stack_frames(row.stack_id)[-1]
        if "alternate" in names:
            in_loop += row.seconds
        if "crunch" in names and row.category in CPU_CATEGORIES:
            in_crunch += row.seconds
        elif names[-1] == "alternate" and "time.sleep" in _source(leaf):
            if row.category in CPU_CATEGORIES:
                on_sleep_line_cpu += row.seconds
            elif row.category == WAIT_SLEEP:
                on_sleep_line_wait += row.seconds
    # Shares of the time charged inside the loop. The last interval of the thread
    # that calls stop() (up to a budget-stretched period, 150 ms seen) is charged
    # where stop() was called, the `with` line, outside the loop: it is no part of
    # the split this test checks, and counting it in the total moved both shares
    # by up to 8 points.
    total = computing + sleeping
    assert in_loop > 0.8 * total
    # Charging each interval to the stack seen at its end put about a fifth of
    # this run's time on the sleep line as "CPU in native code"; the time left
    # on it now is the sampler's remaining blind spot (intervals whose split it
    # cannot see): 0 to 6 points idle, bounded here with room for a loaded machine.
    assert on_sleep_line_cpu / in_loop < 0.10
    assert in_crunch / in_loop == pytest.approx(computing / total, abs=0.10)
    assert on_sleep_line_wait / in_loop == pytest.approx(sleeping / total, abs=0.10)


def _source(frame):
    import linecache
    return linecache.getline(frame.filename, frame.line)
