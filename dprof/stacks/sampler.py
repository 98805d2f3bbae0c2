"""StackSampler: records where the time of every thread goes, by Python call stack.

The sampling itself runs in a native thread (csrc/stack_sampler.c) that takes the GIL
only for the instant of each sample; this module configures it, keeps thread names,
and turns what it hands back into a ``StackProfile``. Without the C extension
(DPROF_NO_NATIVE=1, or no build) a Python thread samples instead
(dprof.stacks.pysampler; ``meta["reader"]`` says which ran). See docs/how-it-works.md,
"Stack sampling", for the method and its limits.
"""
from __future__ import annotations

import atexit
import dis
import threading
import time
import weakref
from typing import Dict, Optional

from dprof._native_loader import native as _load_native
from dprof.limits import STACK_HZ, check_range
from dprof.stacks.model import StackProfile
from dprof.stacks.native import from_table


def call_opcode_flags() -> bytes:
    """One byte per opcode: 1 for the call family of this interpreter's bytecode.

    A thread whose innermost frame is on one of these instructions is inside native
    code called from Python (or about to be). Names differ by version (CALL_FUNCTION
    and CALL_METHOD up to 3.10, PRECALL and CALL on 3.11, CALL from 3.12)."""
    flags = bytearray(256)
    for name, op in dis.opmap.items():
        if op < 256 and (name.startswith("CALL") or name == "PRECALL"):
            flags[op] = 1
    return bytes(flags)


_live: "weakref.WeakSet[StackSampler]" = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    # A sampler thread must not try to take the GIL while the interpreter finalizes.
    for sampler in list(_live):
        if sampler.running:
            try:
                sampler.stop()
            except Exception:       # never let the profiler break interpreter exit
                pass


#: Threads whose name starts with this are dprof's own and left out of profiles.
OWN_THREAD_PREFIX = "dprof-"


def _own_frame_keys():
    """(file, function) of this sampler's own methods as the sampler names them:
    co_qualname on 3.11+ (what the C reader interns), co_name before."""
    keys = set()
    for method in (StackSampler.start, StackSampler.stop,
                   StackSampler.__enter__, StackSampler.__exit__):
        code = method.__code__
        keys.add((code.co_filename, getattr(code, "co_qualname", code.co_name)))
    return frozenset(keys)


def _without_own_frames(profile: StackProfile) -> StackProfile:
    """The profile with this sampler's own frames cut off: the last tick can find the
    calling thread inside stop() (waiting for the sampler thread), and that time is
    shown on the caller's line, where stop() was called, as the Python sampler shows
    it (dprof.stacks.pysampler). A stack that is only the sampler's own is dropped."""
    own = _OWN_FRAMES
    own_ids = {i for i, f in enumerate(profile.frames) if (f.filename, f.function) in own}
    if not own_ids or not any(own_ids.intersection(s) for s in profile.stacks):
        return profile
    out = StackProfile(thread_names=dict(profile.thread_names), meta=dict(profile.meta))
    for row in profile.rows:
        ids = profile.stacks[row.stack_id]
        cut = next((k for k, i in enumerate(ids) if i in own_ids), len(ids))
        if cut == 0:
            continue
        out.add(row.thread_id, [profile.frames[i] for i in ids[:cut]], row.category,
                row.seconds, row.samples)
    return out


class StackSampler:
    """Samples the Python stacks of every thread of this process.

    ``hz`` is the requested rate (each interval is drawn uniformly within
    ``period * (1 +/- jitter)``); ``overhead_budget`` is the fraction of the program's
    time the sampler may cost (measured: its time holding the GIL and its CPU); over
    it, the rate is lowered. 0 turns the budget off.
    """

    def __init__(self, hz: float = 100.0, overhead_budget: float = 0.01,
                 jitter: float = 0.5) -> None:
        for name, value in (("hz", hz), ("overhead_budget", overhead_budget),
                            ("jitter", jitter)):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"{name} must be a number, not {type(value).__name__}")
        check_range("hz", hz, STACK_HZ, " samples per second")
        if not 0 <= overhead_budget < 1:
            raise ValueError(f"overhead_budget must be in [0, 1), got {overhead_budget!r}")
        if not 0 <= jitter < 1:
            raise ValueError(f"jitter must be in [0, 1), got {jitter!r}")
        self.hz = float(hz)
        self.overhead_budget = float(overhead_budget)
        self.jitter = float(jitter)
        self._native = None     # _native.StackSampler, or PythonStackSampler
        self._names: Dict[int, str] = {}
        self._started_at = 0.0
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._native is not None and self._native.running

    def start(self) -> "StackSampler":
        with self._lock:
            if self.running:
                raise RuntimeError("this StackSampler is already running")
            self._names = {}
            self._remember_thread_names()
            native = _load_native()
            if native is not None:
                engine = native.StackSampler
            else:
                from dprof.stacks.pysampler import PythonStackSampler as engine
            self._native = engine(self.hz, self.jitter, self.overhead_budget,
                                  call_opcode_flags())
            self._started_at = time.time()
            self._native.start()
            _live.add(self)
        return self

    def stop(self) -> StackProfile:
        with self._lock:
            if self._native is None:
                raise RuntimeError("this StackSampler was not started")
            self._remember_thread_names()
            native, self._native = self._native, None
            table, stats = native.stop()
            _live.discard(self)
        profile = table if isinstance(table, StackProfile) else from_table(table, StackProfile())
        profile = _without_own_frames(profile)
        names = dict(self._names)
        names.update(stats.pop("thread_names"))     # names seen by the sampler win
        # dprof's own helper threads (all named "dprof-...") are not the program
        own = {tid for tid, name in names.items() if name.startswith(OWN_THREAD_PREFIX)}
        if own:
            profile.rows = [r for r in profile.rows if r.thread_id not in own]
        seen = {r.thread_id for r in profile.rows}
        profile.thread_names = {tid: names.get(tid, f"thread {tid}") for tid in seen}
        duration = stats["duration_seconds"]
        profile.duration_seconds = duration
        profile.requested_hz = self.hz
        profile.effective_hz = stats["ticks"] / duration if duration > 0 else 0.0
        profile.overhead_seconds = stats["overhead_seconds"]
        meta = dict(stats)
        meta["overhead_fraction"] = (stats["overhead_seconds"] / duration
                                     if duration > 0 else None)
        meta["overhead_budget"] = self.overhead_budget
        meta["jitter"] = self.jitter
        meta["started_at"] = self._started_at
        meta["excluded_own_threads"] = sorted(names[t] for t in own)
        profile.meta = meta
        return profile

    def __enter__(self) -> "StackSampler":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.profile = self.stop()

    def _remember_thread_names(self) -> None:
        for t in threading.enumerate():
            if t.native_id is not None:
                self._names[t.native_id] = t.name


_OWN_FRAMES = _own_frame_keys()
