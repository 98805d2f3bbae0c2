"""One resource sampler shared by every active task profile.

Starting a sampler thread per decorated call would cost more than the call budget
allows, so profiles share one native ``Sampler``: the first profile starts it, each
profile takes the samples that fall inside its own [start, end] window when it
ends, and the sampler keeps running for ``LINGER_SECONDS`` after the last profile
so that a decorated function called in a loop does not start a thread per call.

Overflow: the native sampler halves its resolution when its buffer fills (see
docs/resources.md). The shared sampler is restarted with a fresh buffer whenever no
profile is active and the buffer has been halved, so the resolution a profile sees
only degrades while profiles overlap continuously for longer than the buffer holds.

A profile that asks for another interval than the running sampler's gets a private
sampler of its own.

What a profile gets back is a ``ResourceWindow``: the columns of the samples inside
its window and the I/O wait derived from them, each with its reason when missing.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional


from dprof.task.linger import Linger

LINGER_SECONDS = 2.0
CAPACITY = 1 << 15     # samples; 32768 x 10 ms = 5.5 minutes before the first halving


class _Shared:
    def __init__(self):
        self.sampler = None
        self.interval = None
        self.users = 0
        self.missing: Dict[str, str] = {}          # sampler.missing() of the current run
        self.halved = False     # the current run's buffer has been halved (seen at a release)


_shared = _Shared()


def _stop_shared() -> None:
    if _shared.sampler is not None and _shared.sampler.running:
        _shared.sampler.stop()


# its lock guards _shared
_linger = Linger("dprof-monitor-reaper", lambda: LINGER_SECONDS,
                 lambda: _shared.users > 0, _stop_shared)
if hasattr(os, "register_at_fork"):
    # the native sampler does not run on in a child (pthread_atfork); the lock
    # must not stay held by a thread the child does not have
    os.register_at_fork(after_in_child=_linger.after_fork_in_child)


@dataclass(frozen=True)
class ResourceWindow:
    """The resource samples that fell inside one task's [start, end] window.

    columns: sample column name -> float64 numpy array, one value per sample, in
        the units dprof/resources/columns.py gives (``timestamp`` in monotonic
        seconds, ``rss_bytes`` in bytes, ...); empty when no sample fell inside.
        NaN where the sampler could not read a value.
    missing: column name -> why the sampler could not fill it (the sampler's
        reasons for its current run; shared between windows, do not modify).
    io_wait_seconds: seconds the task's threads waited for I/O inside the window,
        or None; then ``io_wait_missing`` says why.
    io_wait_source: "delayacct" (kernel delay accounting) or "dstate_samples"
        (D-state time of sampled threads) when ``io_wait_seconds`` is set.
    """

    __slots__ = ("columns", "missing", "io_wait_seconds", "io_wait_source",
                 "io_wait_missing")
    columns: Dict[str, Any]
    missing: Mapping[str, str]
    io_wait_seconds: Optional[float]
    io_wait_source: Optional[str]
    io_wait_missing: Optional[str]


class Handle:
    __slots__ = ("sampler", "private", "interval")

    def __init__(self, sampler, private: bool, interval: float):
        self.sampler = sampler
        self.private = private
        self.interval = interval


def _new_sampler(interval: float):
    from dprof._native_loader import runtime
    Sampler = runtime().Sampler     # the psutil thread without the extension
    return Sampler(pid=0, interval=interval, capacity=CAPACITY, children=True)


def acquire(interval: float) -> Handle:
    """Make sure a sampler at ``interval`` runs for the caller; returns a handle."""
    with _linger.lock:
        _linger.busy()
        s = _shared.sampler
        if s is not None and s.running and _shared.interval != interval and _shared.users:
            private = _new_sampler(interval)
            private.start()
            return Handle(private, True, interval)
        if s is not None and s.running and (_shared.interval != interval
                                            or (not _shared.users and _shared.halved)):
            s.stop()
        if s is None or _shared.interval != interval:
            s = _shared.sampler = _new_sampler(interval)
            _shared.interval = interval
        if not s.running:
            s.start()
            _shared.halved = False
            # what the system cannot give is settled when the sampler opens its
            # sources; asking once per run keeps it off every task's path
            _shared.missing = s.missing()
        _shared.users += 1
        return Handle(s, False, interval)


def release(handle: Handle, start: float, end: float) -> ResourceWindow:
    """Give back a handle; returns the samples in [start, end] (monotonic seconds)."""
    sampler = handle.sampler
    if handle.private:
        sampler.stop()
        return _window(sampler, start, end, sampler.missing(), handle.interval)
    window = _window(sampler, start, end, _shared.missing, handle.interval)
    with _linger.lock:
        _shared.users -= 1
        if _shared.users == 0 and _shared.sampler is sampler:
            _linger.idle()
    return window


def peek(handle: Handle, start: float, end: float) -> ResourceWindow:
    """The samples in [start, end] while keeping the handle (an interim look)."""
    missing = handle.sampler.missing() if handle.private else _shared.missing
    return _window(handle.sampler, start, end, missing, handle.interval)


def _no_sample(missing: Mapping[str, str], interval) -> ResourceWindow:
    return ResourceWindow({}, missing, None, None,
                          "no resource sample fell inside the task "
                          f"(sampling interval {interval} s)")


def _window(sampler, start: float, end: float, missing: Mapping[str, str],
            interval: float) -> ResourceWindow:
    if sampler.count_since(start) == 0:
        # a task shorter than one interval (most decorated calls): no columns at all
        return _no_sample(missing, interval)
    # numpy only now: a call shorter than one interval (the first decorated call of
    # a process, most often) never pays for its import
    import numpy as np
    # only the samples from `start` on are copied (under the sampler's lock)
    columns = sampler.columns(since=start)
    ts = np.asarray(columns["timestamp"], dtype=np.float64)
    hi = int(np.searchsorted(ts, end, "right"))
    info = sampler.info()
    if sampler is _shared.sampler and info.get("overflow_halvings"):
        _shared.halved = True
    if hi == 0:     # every sample since start came after the end
        return _no_sample(missing, info.get("interval"))
    inside = {name: np.array(col[:hi], dtype=np.float64) for name, col in columns.items()}
    # I/O wait inside the window: delay accounting when on, else D-state time
    source = info.get("io_wait_source", "dstate_samples")
    column = "iowait_delayacct_s" if source == "delayacct" else "iowait_dstate_s"
    values = inside.get(column)
    if values is None or hi < 2 or np.all(np.isnan(values)):
        return ResourceWindow(inside, missing, None, None,
                              missing.get(column) or
                              "fewer than two resource samples fell inside the task "
                              f"(sampling interval {info.get('interval')} s)")
    return ResourceWindow(inside, missing, float(np.nanmax(values) - np.nanmin(values)),
                          source, None)
