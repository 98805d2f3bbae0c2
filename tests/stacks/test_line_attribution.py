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


def _measure_split():
    """One 2 s run of the loop under the sampler: the overrun, and the shares of the
    time charged inside the loop to computing, to CPU on the sleep line and to
    sleeping, beside the shares the loop's own timers measured."""
    with StackSampler(hz=100) as sampler:
        computing, sleeping, overrun = alternate(2.0)
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
    return {
        "overrun_ms": round(overrun * 1e3, 2),
        "in_loop_of_total": in_loop / total,
        "sleep_line_cpu": on_sleep_line_cpu / max(in_loop, 1e-9),
        "crunch": in_crunch / max(in_loop, 1e-9),
        "crunch_timed": computing / total,
        "sleep_line_wait": on_sleep_line_wait / max(in_loop, 1e-9),
        "sleep_timed": sleeping / total,
    }


def _split_problems(m):
    """What is wrong with one run's split (empty when it is right)."""
    problems = []
    if m["in_loop_of_total"] <= 0.8:
        problems.append("under 80% of the loop's time charged inside it")
    # Charging each interval to the stack seen at its end put about a fifth of the
    # time on the sleep line as "CPU in native code"; what is left there now is the
    # sampler's remaining blind spot (intervals whose split it cannot see): 0 to 6
    # points on an idle machine, 10.2 seen once under CI.
    if m["sleep_line_cpu"] >= 0.10:
        problems.append("10% or more of the time as CPU on the sleep line")
    if abs(m["crunch"] - m["crunch_timed"]) > 0.10:
        problems.append("computing share off by more than 10 points")
    if abs(m["sleep_line_wait"] - m["sleep_timed"]) > 0.10:
        problems.append("sleeping share off by more than 10 points")
    return problems


def test_cpu_of_a_compute_then_sleep_loop_goes_to_the_compute_function():
    # The bug this guards against puts about 20% on the sleep line in every run; a
    # right sampler is inside the bounds in nearly every run, and a run that missed
    # them by a point (once in CI) is measured again, up to ATTEMPTS runs in all.
    seen = []
    for _ in range(ATTEMPTS):
        m = _measure_split()
        if m["overrun_ms"] >= LOADED_OVERRUN_S * 1e3:
            seen.append((m, ["loaded machine"]))
            continue
        problems = _split_problems(m)
        if not problems:
            return
        seen.append((m, problems))
    if all(problems == ["loaded machine"] for _, problems in seen):
        pytest.skip(f"the machine is loaded: sleeps overran by "
                    f"{[m['overrun_ms'] for m, _ in seen]} ms (median) in each run")
    report = "\n".join(f"{problems}: " + ", ".join(
        f"{k}={v:.3f}" for k, v in m.items()) for m, problems in seen)
    pytest.fail(f"the split was wrong in every run:\n{report}")


def _source(frame):
    import linecache
    return linecache.getline(frame.filename, frame.line)
