"""dprof's own threads never take a signal meant for the program.

A process-directed signal goes to any thread that does not block it; Python then
runs the handler in the main thread only when that thread gets back to the
interpreter, which a main thread blocked in sem_wait never does. So each thread dprof
starts blocks every signal, and the program's threads receive them as without dprof.
"""
import os
import sys
import threading
import time

import pytest

from dprof import ResourceProfiler
from dprof._threads import background_thread

pytestmark = [pytest.mark.core,
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="reads /proc/self/task/*/status")]

# SIGKILL (9) and SIGSTOP (19) cannot be blocked; every other signal 1-31 must be
STANDARD = ((1 << 31) - 1) & ~((1 << 8) | (1 << 18))


def blocked_mask(tid):
    with open(f"/proc/self/task/{tid}/status") as f:
        for line in f:
            if line.startswith("SigBlk:"):
                return int(line.split()[1], 16)
    raise AssertionError("no SigBlk line")


def test_a_background_thread_blocks_every_signal_and_the_caller_keeps_its_mask():
    seen, go = {}, threading.Event()

    def body():
        seen["tid"] = threading.get_native_id()
        seen["mask"] = blocked_mask(seen["tid"])
        go.wait(5)

    t = background_thread(body, "dprof-test")
    t.start()
    try:
        deadline = time.monotonic() + 5
        while "mask" not in seen and time.monotonic() < deadline:
            time.sleep(0.01)
        assert seen["mask"] & STANDARD == STANDARD, hex(seen["mask"])
        assert t.daemon and t.name == "dprof-test"
        # the thread that started it is untouched
        assert blocked_mask(threading.get_native_id()) & STANDARD == 0
    finally:
        go.set()
        t.join(5)


def test_the_psutil_samplers_thread_blocks_every_signal():
    before = set(os.listdir("/proc/self/task"))
    with ResourceProfiler(interval=0.01, backend="psutil"):
        time.sleep(0.05)
        new = set(os.listdir("/proc/self/task")) - before
        masks = {tid: blocked_mask(tid) for tid in new}
    assert masks, "the psutil sampler started no thread"
    for tid, mask in masks.items():
        assert mask & STANDARD == STANDARD, (tid, hex(mask))
