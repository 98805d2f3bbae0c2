"""Point readings taken at a task's start and end.

A thin wrapper over ``_native.task_reading()`` (csrc/task_binding.c): clocks, CPU
time of the process, its reaped children and the calling thread, I/O counters of
the process and of the thread, the network namespace's byte counters and the
RSS high-water mark, in one native call of about ten microseconds. The native
call returns a ``TaskReading`` struct sequence whose fields are read by name here
(the names are defined in C next to the struct they come from). The calling
thread's allocation counts come from the native allocation counter.

Nothing here raises on a missing source: a value that could not be read is
``None`` and the reason is in ``Reading.missing``.
"""
from __future__ import annotations

import os
from typing import Dict, Optional

from dprof._native_loader import runtime as _runtime
from dprof._procfile import KeptFile

_native = _runtime()   # the extension, or its pure-Python twins (DPROF_NO_NATIVE)

# TaskReading.missing bits (csrc/task_readings.h) -> (source name, reason)
_MISSING_BITS = (
    (1, "process_io", "/proc/self/io could not be read"),
    (2, "thread_io", "/proc/thread-self/io could not be read"),
    (4, "net", "/proc/self/net/dev could not be read"),
    (8, "thread_cpu", "getrusage(RUSAGE_THREAD) is not available"),
)
_PROCESS_IO, _THREAD_IO, _NET, _THREAD_CPU = 1, 2, 4, 8


class Reading:
    """One set of point readings. Fields are None where the source was missing.

    Seconds: ``monotonic`` (CLOCK_MONOTONIC), ``wall`` (since the epoch) and the CPU
    times (``process_*`` of this process, ``children_*`` of its reaped children,
    ``thread_*`` of the calling thread). Bytes: ``max_rss_bytes`` (ru_maxrss),
    ``rss_bytes``, ``*_read_bytes`` / ``*_write_bytes`` (storage I/O of the process
    or of the thread, /proc/.../io), ``net_sent`` / ``net_received`` (the network
    namespace's). Counts: ``allocations`` / ``allocated_bytes`` of the calling
    thread, ``raises_process`` / ``raises_thread`` (exceptions raised so far).
    ``missing`` maps a source ("process_io", "thread_io", "net", "thread_cpu") to
    why it could not be read.

    A plain class with __slots__: two are built per decorated call, so it stays
    cheap."""

    __slots__ = ("monotonic", "wall", "process_cpu_user", "process_cpu_system",
                 "children_cpu_user", "children_cpu_system", "thread_cpu_user",
                 "thread_cpu_system", "max_rss_bytes", "rss_bytes",
                 "process_read_bytes", "process_write_bytes", "thread_read_bytes",
                 "thread_write_bytes", "net_sent", "net_received", "allocations",
                 "allocated_bytes", "raises_process", "raises_thread", "missing")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"Reading({fields})"


_NO_MISSING: Dict[str, str] = {}


def take() -> Reading:
    """Take every point reading now."""
    r = _native.task_reading()
    allocations, allocated_bytes = _native.alloc_counts()
    raises_process, raises_thread = _native.raise_counts()
    out = Reading()
    out.monotonic = r.monotonic
    out.wall = r.wall
    out.process_cpu_user = r.process_user
    out.process_cpu_system = r.process_system
    out.children_cpu_user = r.children_user
    out.children_cpu_system = r.children_system
    out.max_rss_bytes = r.max_rss_bytes
    out.rss_bytes = None if r.rss_bytes < 0 else r.rss_bytes
    out.allocations = allocations
    out.allocated_bytes = allocated_bytes
    out.raises_process = raises_process
    out.raises_thread = raises_thread
    bits = r.missing
    if not bits:        # the usual case: every source was read
        out.thread_cpu_user = r.thread_user
        out.thread_cpu_system = r.thread_system
        out.process_read_bytes = r.process_read_bytes
        out.process_write_bytes = r.process_write_bytes
        out.thread_read_bytes = r.thread_read_bytes
        out.thread_write_bytes = r.thread_write_bytes
        out.net_sent = r.net_sent
        out.net_received = r.net_received
        out.missing = _NO_MISSING
        return out
    out.missing = {name: reason for bit, name, reason in _MISSING_BITS if bits & bit}
    thread_cpu = not bits & _THREAD_CPU
    out.thread_cpu_user = r.thread_user if thread_cpu else None
    out.thread_cpu_system = r.thread_system if thread_cpu else None
    process_io = not bits & _PROCESS_IO
    out.process_read_bytes = r.process_read_bytes if process_io else None
    out.process_write_bytes = r.process_write_bytes if process_io else None
    thread_io = not bits & _THREAD_IO
    out.thread_read_bytes = r.thread_read_bytes if thread_io else None
    out.thread_write_bytes = r.thread_write_bytes if thread_io else None
    net = not bits & _NET
    out.net_sent = r.net_sent if net else None
    out.net_received = r.net_received if net else None
    return out


_status = KeptFile("/proc/self/status")
_clear_refs = KeptFile("/proc/self/clear_refs", os.O_WRONLY)


def vmhwm_bytes() -> Optional[int]:
    """The mm's own RSS high-water mark (VmHWM in /proc/self/status), or None."""
    try:
        data = _status.read(8192)
    except OSError:
        _status.close()
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
    try:
        os.write(_clear_refs.descriptor(), b"5")
        return None
    except OSError as exc:
        _clear_refs.close()
        return f"/proc/self/clear_refs cannot be written: {exc.strerror}"
