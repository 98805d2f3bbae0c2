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
from typing import Dict, Optional

from dprof import _native

_MISSING_BITS = (
    (1, "process_io", "/proc/self/io could not be read"),
    (2, "thread_io", "/proc/thread-self/io could not be read"),
    (4, "net", "/proc/self/net/dev could not be read"),
    (8, "thread_cpu", "getrusage(RUSAGE_THREAD) is not available"),
)


class Reading:
    """One set of point readings. Fields are None where the source was missing.

    ``process_io`` and ``thread_io`` are tuples ``(rchar, wchar, read_bytes,
    write_bytes)`` (index with IO_READ_BYTES etc.). A plain class with __slots__:
    two are built per decorated call, so it stays cheap."""

    __slots__ = ("monotonic", "wall", "process_cpu_user", "process_cpu_system",
                 "children_cpu_user", "children_cpu_system", "thread_cpu_user",
                 "thread_cpu_system", "max_rss_bytes", "rss_bytes", "process_io",
                 "thread_io", "net_sent", "net_received", "allocations",
                 "allocated_bytes", "raises_process", "raises_thread", "missing")

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.__slots__)
        return f"Reading({fields})"


IO_RCHAR, IO_WCHAR, IO_READ_BYTES, IO_WRITE_BYTES = range(4)
_NO_MISSING: Dict[str, str] = {}


def take() -> Reading:
    """Take every point reading now."""
    r = _native.task_reading()
    allocations, allocated_bytes = _native.alloc_counts()
    raises_process, raises_thread = _native.raise_counts()
    bits = r[20]
    out = Reading()
    out.raises_process, out.raises_thread = raises_process, raises_thread
    (out.monotonic, out.wall, out.process_cpu_user, out.process_cpu_system,
     out.children_cpu_user, out.children_cpu_system) = r[:6]
    out.max_rss_bytes = r[8]
    out.allocations = allocations
    out.allocated_bytes = allocated_bytes
    if not bits:
        out.thread_cpu_user, out.thread_cpu_system = r[6], r[7]
        out.rss_bytes = None if r[9] < 0 else r[9]
        out.process_io, out.thread_io = r[10:14], r[14:18]
        out.net_sent, out.net_received = r[18], r[19]
        out.missing = _NO_MISSING
        return out
    out.missing = {name: reason for bit, name, reason in _MISSING_BITS if bits & bit}
    out.thread_cpu_user = None if bits & 8 else r[6]
    out.thread_cpu_system = None if bits & 8 else r[7]
    out.rss_bytes = None if r[9] < 0 else r[9]
    out.process_io = None if bits & 1 else r[10:14]
    out.thread_io = None if bits & 2 else r[14:18]
    out.net_sent = None if bits & 4 else r[18]
    out.net_received = None if bits & 4 else r[19]
    return out




class _SelfFile:
    """A /proc/self file kept open across calls. "/proc/self" is resolved at open(),
    so a forked child reopens it on first use (the parent's descriptor is closed)."""

    def __init__(self, path: str, flags: int):
        self.path, self.flags = path, flags | os.O_CLOEXEC
        self.fd: Optional[int] = None
        self.pid = -1

    def get(self) -> int:
        """The descriptor, opened if needed (OSError if it cannot be)."""
        pid = os.getpid()
        if self.fd is None or self.pid != pid:
            self.close()
            self.fd, self.pid = os.open(self.path, self.flags), pid
        return self.fd

    def close(self) -> None:
        if self.fd is not None:
            try:
                os.close(self.fd)
            except OSError:
                pass
            self.fd = None


_status = _SelfFile("/proc/self/status", os.O_RDONLY)
_clear_refs = _SelfFile("/proc/self/clear_refs", os.O_WRONLY)


def vmhwm_bytes() -> Optional[int]:
    """The mm's own RSS high-water mark (VmHWM in /proc/self/status), or None."""
    try:
        data = os.pread(_status.get(), 8192, 0)
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
        os.write(_clear_refs.get(), b"5")
        return None
    except OSError as exc:
        _clear_refs.close()
        return f"/proc/self/clear_refs cannot be written: {exc.strerror}"
