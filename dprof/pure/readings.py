"""Pure-Python twin of ``dprof._native.task_reading()`` (csrc/task_readings.c).

The same 21-tuple: monotonic and wall clocks; user and system CPU of the process, of
its reaped children and of the calling thread; ru_maxrss and the current RSS in
bytes; (rchar, wchar, read_bytes, write_bytes) of the process and of the thread; the
network namespace's sent and received bytes (loopback left out, read at most every
millisecond); and the bits saying which of those could not be read (1 process I/O,
2 thread I/O, 4 network, 8 thread CPU), whose values are then -1.

Sources: ``resource.getrusage`` and ``/proc`` on Linux, psutil where there is no
``/proc`` (the thread's I/O then stays missing). Each reading costs tens of
microseconds instead of the extension's ten.
"""
import os
import sys
import threading
import time
from collections import namedtuple

from dprof._procfile import KeptFile

try:
    import resource
except ImportError:           # pragma: no cover - Windows
    resource = None

MISSING_PROCESS_IO, MISSING_THREAD_IO, MISSING_NET, MISSING_THREAD_CPU = 1, 2, 4, 8
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
_NET_MAX_AGE_S = 0.001
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_HAS_PROC = os.path.exists("/proc/self/io")
_THREAD_USAGE = getattr(resource, "RUSAGE_THREAD", None)

#: The extension's TaskReading field names, so that a reading reads by name or index.
TaskReading = namedtuple("TaskReading", (
    "monotonic", "wall", "process_user", "process_system", "children_user",
    "children_system", "thread_user", "thread_system", "max_rss_bytes", "rss_bytes",
    "process_rchar", "process_wchar", "process_read_bytes", "process_write_bytes",
    "thread_rchar", "thread_wchar", "thread_read_bytes", "thread_write_bytes",
    "net_sent", "net_received", "missing"))


_kept = {}
_per_thread = threading.local()


def _read(path):
    f = _kept.get(path)
    if f is None:
        f = _kept.setdefault(path, KeptFile(path))
    return f.read()


def _parse_io(text):
    fields = dict(line.split(b":", 1) for line in text.splitlines() if b":" in line)
    return (int(fields[b"rchar"]), int(fields[b"wchar"]),
            int(fields[b"read_bytes"]), int(fields[b"write_bytes"]))


def _process_io():
    if _HAS_PROC:
        return _parse_io(_read("/proc/self/io"))
    import psutil
    io = psutil.Process().io_counters()
    return (getattr(io, "read_chars", io.read_bytes), getattr(io, "write_chars", io.write_bytes),
            io.read_bytes, io.write_bytes)


def _thread_io():
    f = getattr(_per_thread, "io", None)
    if f is None:
        f = _per_thread.io = KeptFile("/proc/thread-self/io")
    return _parse_io(f.read())


def parse_netdev(text):
    """(sent, received) bytes summed over every interface but loopback."""
    sent = received = 0
    for line in text.splitlines()[2:]:
        name, _, rest = line.partition(b":")
        if name.strip() == b"lo" or not rest:
            continue
        cols = rest.split()
        received += int(cols[0])
        sent += int(cols[8])
    return sent, received


class _Net:
    lock = threading.Lock()
    at = -1.0
    pid = 0
    value = (-1, -1)


def _net(now):
    with _Net.lock:
        pid = os.getpid()
        if _Net.at < 0 or now - _Net.at >= _NET_MAX_AGE_S or now < _Net.at or _Net.pid != pid:
            try:
                if _HAS_PROC:
                    _Net.value = parse_netdev(_read("/proc/self/net/dev"))
                else:
                    import psutil
                    nics = psutil.net_io_counters(pernic=True)
                    _Net.value = (sum(c.bytes_sent for n, c in nics.items() if not n.startswith("lo")),
                                  sum(c.bytes_recv for n, c in nics.items() if not n.startswith("lo")))
            except Exception:
                _Net.value = (-1, -1)
            _Net.at, _Net.pid = now, pid
        return _Net.value


def _rss():
    try:
        if _HAS_PROC:
            return int(_read("/proc/self/statm").split()[1]) * _PAGE
        import psutil
        return psutil.Process().memory_info().rss
    except Exception:
        return -1


def task_reading():
    """Every point reading now, as the extension's 21 fields."""
    missing = 0
    monotonic = time.monotonic()
    wall = time.time()
    if resource is not None:
        ru = resource.getrusage(resource.RUSAGE_SELF)
        p_user, p_sys, max_rss = ru.ru_utime, ru.ru_stime, ru.ru_maxrss * _MAXRSS_UNIT
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        c_user, c_sys = ru.ru_utime, ru.ru_stime
    else:                     # pragma: no cover - Windows
        import psutil
        cpu = psutil.Process().cpu_times()
        p_user, p_sys, c_user, c_sys = cpu.user, cpu.system, 0.0, 0.0
        max_rss = psutil.Process().memory_info().peak_wset
    if _THREAD_USAGE is not None:
        ru = resource.getrusage(_THREAD_USAGE)
        t_user, t_sys = ru.ru_utime, ru.ru_stime
    else:
        t_user = t_sys = -1.0
        missing |= MISSING_THREAD_CPU
    try:
        pio = _process_io()
    except Exception:
        pio = (-1, -1, -1, -1)
        missing |= MISSING_PROCESS_IO
    try:
        tio = _thread_io()
    except Exception:
        tio = (-1, -1, -1, -1)
        missing |= MISSING_THREAD_IO
    sent, received = _net(monotonic)
    if sent < 0:
        missing |= MISSING_NET
    return TaskReading(monotonic, wall, p_user, p_sys, c_user, c_sys, t_user, t_sys,
                       max_rss, _rss(), *pio, *tio, sent, received, missing)
