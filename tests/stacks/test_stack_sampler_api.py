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


def test_the_samplers_own_frames_are_cut_and_their_time_goes_to_the_call():
    """The last tick finds the thread that called stop() inside it (waiting for the
    sampler thread): that time belongs on the caller's line, as the Python sampler
    shows it, never on StackSampler.stop (seen on every 2 s run at 100 Hz before)."""
    import dprof.stacks.sampler as sampler_module
    own_file = sampler_module.__file__
    seen_own, totals = 0, []
    for _ in range(3):
        with StackSampler(hz=200) as s:
            w.spin_until(time.perf_counter() + 0.3)
        profile = s.profile
        seen_own += sum(f.filename == own_file for f in profile.frames)
        totals.append((profile.total_seconds(), profile.duration_seconds))
    assert seen_own == 0
    for total, duration in totals:      # the cut time is kept, not dropped
        assert total == pytest.approx(duration, rel=0.05)


def test_cutting_own_frames_keeps_the_callers_stack_and_merges_rows():
    from dprof.stacks import Frame, StackProfile
    from dprof.stacks.sampler import _OWN_FRAMES, _without_own_frames
    own_file, own_stop = next((f, n) for f, n in _OWN_FRAMES if n.endswith("stop"))
    own_exit = next(n for f, n in _OWN_FRAMES if n.endswith("__exit__"))
    main, work = Frame("job.py", "main", 3), Frame("job.py", "work", 9)
    inside = [main, Frame(own_file, own_exit, 140), Frame(own_file, own_stop, 112)]
    p = StackProfile()
    p.add(1, [main], "wait_sleep", 0.5, 5)
    p.add(1, inside, "wait_sleep", 0.25, 2)
    p.add(1, [main, work], "cpu_python", 1.0, 10)
    p.add(2, inside[1:], "wait_sleep", 0.125, 1)     # nothing of the caller's: dropped
    out = _without_own_frames(p)
    got = {(r.thread_id, tuple(out.stack_frames(r.stack_id)), r.category): (r.seconds, r.samples)
           for r in out.rows}
    assert got == {(1, (main,), "wait_sleep"): (0.75, 7),
                   (1, (main, work), "cpu_python"): (1.0, 10)}
    assert _without_own_frames(out) is out      # nothing left to cut: the same object
