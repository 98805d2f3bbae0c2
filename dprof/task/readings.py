"""Point readings taken at a task's start and end.

A thin wrapper over ``_native.task_reading()`` (csrc/task_readings.c): clocks, CPU
time of the process, its reaped children and the calling thread, I/O counters of
the process and of the thread, the network namespace's byte counters and the
RSS high-water mark, in one native call of about ten microseconds. The calling
thread's allocation counts come from the native allocation counter.

Nothing here raises on a missing source: a value that could not be read is
``None`` and the reason is in ``Reading.missing``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Dict, Optional

from dprof import _native

_MISSING_BITS = (
    (1, "process_io", "/proc/self/io could not be read"),
    (2, "thread_io", "/proc/thread-self/io could not be read"),
    (4, "net", "/proc/self/net/dev could not be read"),
    (8, "thread_cpu", "getrusage(RUSAGE_THREAD) is not available"),
)


@dataclass
class Reading:
    """One set of point readings. Fields are None where the source was missing."""

    monotonic: float
    wall: float
    process_cpu_user: float
    process_cpu_system: float
    children_cpu_user: float
    children_cpu_system: float
    thread_cpu_user: Optional[float]
    thread_cpu_system: Optional[float]
    max_rss_bytes: int
    rss_bytes: Optional[int]
    process_io: Optional[Dict[str, int]]   # rchar, wchar, read_bytes, write_bytes
    thread_io: Optional[Dict[str, int]]
    net_sent: Optional[int]
    net_received: Optional[int]
    allocations: int
    allocated_bytes: int
    missing: Dict[str, str] = field(default_factory=dict)


def take() -> Reading:
    """Take every point reading now."""
    r = _native.task_reading()
    allocations, allocated_bytes = _native.alloc_counts()
    bits = r[20]
    missing = {name: reason for bit, name, reason in _MISSING_BITS if bits & bit}
    keys = ("rchar", "wchar", "read_bytes", "write_bytes")
    return Reading(
        monotonic=r[0], wall=r[1],
        process_cpu_user=r[2], process_cpu_system=r[3],
        children_cpu_user=r[4], children_cpu_system=r[5],
        thread_cpu_user=None if bits & 8 else r[6],
        thread_cpu_system=None if bits & 8 else r[7],
        max_rss_bytes=r[8],
        rss_bytes=None if r[9] < 0 else r[9],
        process_io=None if bits & 1 else dict(zip(keys, r[10:14])),
        thread_io=None if bits & 2 else dict(zip(keys, r[14:18])),
        net_sent=None if bits & 4 else r[18],
        net_received=None if bits & 4 else r[19],
        allocations=allocations, allocated_bytes=allocated_bytes,
        missing=missing,
    )


_clear_refs = {"fd": None, "pid": -1}


def max_rss_bytes() -> int:
    """The process's RSS high-water mark now (ru_maxrss, which follows resets)."""
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_status = {"fd": None, "pid": -1}


def vmhwm_bytes() -> Optional[int]:
    """The mm's own RSS high-water mark (VmHWM in /proc/self/status), or None."""
    pid = os.getpid()
    try:
        if _status["fd"] is None or _status["pid"] != pid:
            _status["fd"] = os.open("/proc/self/status", os.O_RDONLY | os.O_CLOEXEC)
            _status["pid"] = pid
        data = os.pread(_status["fd"], 8192, 0)
    except OSError:
        _status["fd"] = None
        return None
    start = data.find(b"VmHWM:")
    if start < 0:
        return None
    return int(data[start + 6:data.index(b"\n", start)].split()[0]) * 1024


def children_max_rss_bytes() -> int:
    """The largest RSS high-water mark among reaped child processes."""
    import resource
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def reset_peak_rss() -> Optional[str]:
    """Reset the kernel's RSS high-water mark (VmHWM, and with it ru_maxrss) to the
    current RSS, so that the peak read at a task's end is the task's own peak.

    Returns None on success or the reason it could not be done. Writing "5" to
    /proc/self/clear_refs (Linux 4.0+) resets only the high-water mark.
    """
    pid = os.getpid()
    try:
        if _clear_refs["fd"] is None or _clear_refs["pid"] != pid:
            _clear_refs["fd"] = os.open("/proc/self/clear_refs", os.O_WRONLY | os.O_CLOEXEC)
            _clear_refs["pid"] = pid
        os.write(_clear_refs["fd"], b"5")
        return None
    except OSError as exc:
        _clear_refs["fd"] = None
        return f"/proc/self/clear_refs cannot be written: {exc.strerror}"
