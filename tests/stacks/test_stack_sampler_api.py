"""StackSampler's contract: arguments, start/stop, the overhead budget, fork safety."""
import os
import time

import pytest

from dprof.stacks import StackSampler
import stack_workloads as w

pytestmark = pytest.mark.native


@pytest.mark.parametrize("kwargs, error", [
    ({"hz": 0}, ValueError), ({"hz": -5}, ValueError), ({"hz": "100"}, TypeError),
    ({"overhead_budget": 1.5}, ValueError), ({"jitter": 1.0}, ValueError),
])
def test_bad_arguments_are_named(kwargs, error):
    with pytest.raises(error, match=next(iter(kwargs))):
        StackSampler(**kwargs)


def test_stop_without_start_and_double_start_raise():
    s = StackSampler()
    with pytest.raises(RuntimeError, match="not started"):
        s.stop()
    s.start()
    try:
        with pytest.raises(RuntimeError, match="already running"):
            s.start()
    finally:
        s.stop()
    assert not s.running


def test_repeated_cycles_report_rate_and_overhead():
    for _ in range(5):
        with StackSampler(hz=200) as s:
            w.spin_until(time.perf_counter() + 0.15)
        p = s.profile
        assert p.requested_hz == 200
        assert 0 < p.effective_hz <= 400
        assert p.overhead_seconds > 0
        assert p.meta["errors"] == 0, p.meta["first_error"]
        assert p.total_seconds() > 0.1


def test_budget_lowers_the_rate():
    with StackSampler(hz=1000, overhead_budget=0.0005, jitter=0.0) as s:
        w.spin_until(time.perf_counter() + 0.6)
    p = s.profile
    free_rate = 1000
    assert p.effective_hz < free_rate / 3
    assert p.meta["last_period_seconds"] > 0.002
    # and the time is still all there: counting time, not ticks
    assert p.total_seconds() == pytest.approx(0.6, rel=0.25)


def test_forked_child_does_not_inherit_a_running_sampler():
    s = StackSampler(hz=500).start()
    pid = os.fork()
    if pid == 0:    # child: stop must not hang or join a thread that is not there
        code = 1
        try:
            p = s.stop()
            code = 0 if p.meta["forked"] else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    p = s.stop()
    assert os.WEXITSTATUS(status) == 0
    assert not p.meta["forked"]


def _threads_signal_masks():
    """{tid: the SigBlk mask of that thread of this process}"""
    masks = {}
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("SigBlk:"):
                        masks[int(tid)] = int(line.split()[1], 16)
        except FileNotFoundError:       # a thread that ended meanwhile
            pass
    return masks


def test_the_sampler_thread_blocks_every_signal():
    """A signal sent to the process must reach one of the program's threads: one
    delivered to the sampler's thread waits for the main thread's next check, which
    a main thread blocked in sem_wait (a Pool worker told to terminate) never makes."""
    before = _threads_signal_masks()
    s = StackSampler(hz=100)
    s.start()
    try:
        new = {tid: mask for tid, mask in _threads_signal_masks().items()
               if tid not in before}
    finally:
        s.stop()
    assert new, "the sampler started no thread of its own"
    # SIGKILL and SIGSTOP cannot be blocked; every other standard signal is
    standard = (1 << 31) - 1
    for tid, mask in new.items():
        assert mask & standard == standard & ~((1 << 8) | (1 << 18)), (tid, hex(mask))
