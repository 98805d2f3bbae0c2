"""The Python stack sampler: what ``StackSampler`` runs without the C extension.

A daemon thread (named ``dprof-stack-sampler``, so its own frames are left out)
wakes at the requested rate, jittered as the native one is, reads every other
thread's frames with ``sys._current_frames()`` and adds each stack to a
``StackProfile``. It must hold the GIL to do so, so it sees a busy thread only where
the interpreter lets go of the GIL (every switch interval, at eval-breaker checks):
like the native sampler's GIL-holding walk, lines are biased to those points (see
docs/reliability.md, "No C extension needed", for its measured accuracy).

Time is counted, not ticks: each sample stands for the time since the previous one.
On Linux that time is split by the thread's own clocks
(``/proc/self/task/TID/schedstat``: nanoseconds on a CPU and waiting for one): the
part the thread ran or was runnable is CPU time (``cpu_native`` when the innermost frame is on a call instruction,
else ``cpu_python``), the rest waiting (``wait_io`` when the thread is in state D,
else ``wait_sleep``; waiting for the GIL cannot be told apart from sleeping here, so
``wait_gil`` stays 0). Without ``/proc`` every sample counts as CPU time and
``meta["thread_cpu"]`` says why.

Its cost is the Python it runs while holding the GIL; ``overhead_seconds`` is the
sampler thread's CPU time, and past ``overhead_budget`` the rate is halved.
"""
from __future__ import annotations

import os
import random
import sys
import threading
import time
from typing import Dict, Optional, Tuple

from dprof._threads import background_thread
from dprof.stacks.model import (CPU_NATIVE, CPU_PYTHON, WAIT_IO, WAIT_SLEEP, Frame,
                                StackProfile)

MAX_DEPTH = 512
THREAD_NAME = "dprof-stack-sampler"
_HAS_SCHEDSTAT = os.path.exists(f"/proc/self/task/{threading.get_native_id()}/schedstat") \
    if hasattr(threading, "get_native_id") else False


def _thread_cpu_ns(tid: int) -> Optional[int]:
    """Nanoseconds the thread ran plus those it waited on a run queue (runnable but
    no CPU free): on a loaded machine a busy thread is counted as wanting to run what
    it was running, as the native sampler counts it."""
    try:
        with open(f"/proc/self/task/{tid}/schedstat", "rb") as f:
            fields = f.read().split()
        return int(fields[0]) + int(fields[1])
    except (OSError, ValueError, IndexError):
        return None


def _in_disk_wait(tid: int) -> bool:
    try:
        with open(f"/proc/self/task/{tid}/stat", "rb") as f:
            text = f.read()
        return text[text.rindex(b")") + 2:][:1] == b"D"
    except (OSError, ValueError):
        return False


def _code_name(code) -> str:
    return getattr(code, "co_qualname", code.co_name)


class PythonStackSampler:
    """``PythonStackSampler(hz, jitter, overhead_budget)``: the interface of
    ``_native.StackSampler`` that ``StackSampler`` drives; ``stop()`` returns
    ``(StackProfile, stats)``."""

    def __init__(self, hz: float, jitter: float, overhead_budget: float,
                 call_flags: bytes = b"") -> None:
        self.hz, self.jitter, self.budget = float(hz), float(jitter), float(overhead_budget)
        self._call = call_flags
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._profile = StackProfile()
        self._stats: Dict[str, object] = {}

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        self._profile = StackProfile()
        self._stats = {"ticks": 0, "thread_samples": 0, "truncated_stacks": 0, "errors": 0,
                       "first_error": "", "thread_names": {}, "gil_free_samples": 0,
                       "reader": "python sampler thread (sys._current_frames)",
                       "thread_cpu": ("schedstat" if _HAS_SCHEDSTAT else
                                      "no /proc/self/task/TID/schedstat here: every sample "
                                      "is counted as CPU time"),
                       "duration_seconds": 0.0, "overhead_seconds": 0.0,
                       "sampler_cpu_seconds": 0.0, "last_period_seconds": 1.0 / self.hz,
                       "forked": False}
        self._pid = os.getpid()
        self._started = time.perf_counter()
        self._stop.clear()
        self._thread = background_thread(self._run, THREAD_NAME)
        self._thread.start()

    def stop(self) -> Tuple[StackProfile, Dict[str, object]]:
        thread, self._thread = self._thread, None
        if thread is not None:
            self._stop.set()
            thread.join()
        stats = self._stats
        if os.getpid() != self._pid:
            # a forked child has no sampler thread: what it holds is the parent's
            stats["forked"] = True
        if not stats["duration_seconds"]:
            stats["duration_seconds"] = time.perf_counter() - self._started
        return self._profile, dict(stats)

    # -- the sampler thread -----------------------------------------------------------
    def _run(self) -> None:
        me = threading.get_ident()
        period = 1.0 / self.hz
        rng = random.Random()
        stats = self._stats
        cpu_seen: Dict[int, int] = {}
        started = last = window_at = self._started
        own_cpu0 = window_cpu = time.thread_time()
        while not self._stop.wait(period * (1.0 + self.jitter * (2.0 * rng.random() - 1.0))):
            now = time.perf_counter()
            try:
                self._sample(me, now - last, cpu_seen, stats)
            except Exception as exc:          # never raise inside the sampler
                stats["errors"] += 1
                stats["first_error"] = stats["first_error"] or f"{type(exc).__name__}: {exc}"
            last = now
            stats["ticks"] += 1
            if self.budget and now - window_at >= 0.5:
                # over budget in the last half second: halve the rate
                cpu = time.thread_time()
                if cpu - window_cpu > self.budget * (now - window_at):
                    period = min(period * 2.0, 1.0)
                window_at, window_cpu = now, cpu
        end = time.perf_counter()
        stats["duration_seconds"] = end - started
        stats["overhead_seconds"] = time.thread_time() - own_cpu0
        stats["sampler_cpu_seconds"] = stats["overhead_seconds"]
        stats["last_period_seconds"] = period

    def _sample(self, me: int, dt: float, cpu_seen: Dict[int, int], stats) -> None:
        threads = {t.ident: t for t in threading.enumerate()}
        names = stats["thread_names"]
        profile = self._profile
        for ident, frame in sys._current_frames().items():
            if ident == me:
                continue
            thread = threads.get(ident)
            tid = getattr(thread, "native_id", None) or ident
            if thread is not None:
                names[tid] = thread.name
            leaf = frame
            stack = []
            while frame is not None:
                if frame.f_code in _OWN_CODE:
                    # a thread inside this sampler's start() or stop() (a tick that
                    # began just before stop() set the event): the sample shows its
                    # caller at the call, not the sampler's own frames
                    stack.clear()
                    leaf = frame.f_back
                else:
                    stack.append(Frame(frame.f_code.co_filename, _code_name(frame.f_code),
                                       frame.f_lineno or 0))
                frame = frame.f_back
            if not stack or leaf is None:
                continue
            if len(stack) > MAX_DEPTH:
                stats["truncated_stacks"] += 1
                stack = stack[:MAX_DEPTH]          # the innermost frames are kept
            stack.reverse()
            on_cpu = dt
            if _HAS_SCHEDSTAT:
                ns = _thread_cpu_ns(tid)
                if ns is not None:
                    before = cpu_seen.get(tid)
                    cpu_seen[tid] = ns
                    ran = (ns - before) / 1e9 if before is not None else dt
                    on_cpu = max(0.0, min(dt, ran))
            stats["thread_samples"] += 1
            counted = 0
            if on_cpu > 0:
                code = leaf.f_code.co_code
                lasti = leaf.f_lasti
                on_call = (len(self._call) == 256 and 0 <= lasti < len(code)
                           and self._call[code[lasti]] == 1)
                profile.add(tid, stack, CPU_NATIVE if on_call else CPU_PYTHON, on_cpu)
                counted = 1
            if dt - on_cpu > 0:     # one observation: its samples count is on one row
                profile.add(tid, stack, WAIT_IO if _in_disk_wait(tid) else WAIT_SLEEP,
                            dt - on_cpu, samples=1 - counted)


# The code of the methods a program's thread runs inside this sampler (see _sample).
_OWN_CODE = frozenset({PythonStackSampler.start.__code__, PythonStackSampler.stop.__code__})
