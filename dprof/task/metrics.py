"""The metrics of a task profile, one function each, from the task's readings.

``TaskRecorder`` (recorder.py) takes a ``Reading`` (readings.py) at the task's start
and end and, when resources are on, a ``ResourceWindow`` (monitor.py) of the samples
in between; each function here turns those into one metric of the ``Profile``:

    runtime_seconds      cpu_utilization      file_io_bytes      network_bytes
    memory_peak_mb       memory_allocations   io_wait_seconds    exceptions_raised

A function returns ``Measured(value, source)`` or ``Missing(reason, source)``, never a
made-up 0; ``source`` (None where the scope's default entry stands) says where the
number came from, or was to come from. Metrics measured in pairs (user and system
CPU, bytes read and written, sent and received) return the pair as the value.

The functions read nothing but their arguments, except where noted (the peak memory
may read /proc/self/status; the exception count asks the raise counter why it is
off): each can be tested alone with known readings. They run on every decorated
call, so they stay plain: no validation, no allocation beyond their result.
"""
from __future__ import annotations

from typing import Callable, Optional, Tuple, Union

from dprof.task import exceptions, readings

# RSS may grow between the high-water reset and the start reading that checks it
RSS_SLACK = 1 << 20
_MIB = 1024 * 1024


class Measured:
    """A measured value, and where it came from (None: the scope's default source)."""

    __slots__ = ("value", "source")

    def __init__(self, value, source: Optional[str] = None):
        self.value = value
        self.source = source

    def __eq__(self, other) -> bool:
        return (type(other) is Measured and other.value == self.value
                and other.source == self.source)

    def __repr__(self) -> str:
        return f"Measured({self.value!r}, source={self.source!r})"


class Missing:
    """A metric that could not be measured: why, and what was tried (or None)."""

    __slots__ = ("reason", "source")

    def __init__(self, reason: str, source: Optional[str] = None):
        self.reason = reason
        self.source = source

    def __eq__(self, other) -> bool:
        return (type(other) is Missing and other.reason == self.reason
                and other.source == self.source)

    def __repr__(self) -> str:
        return f"Missing({self.reason!r}, source={self.source!r})"


Result = Union[Measured, Missing]

NO_SAMPLES = "no resource samples: enable resources or run longer than one sampling interval"
TOO_SHORT = "runtime too short to measure"
CHILDREN_ALLOCATIONS = ("not counted for external commands: the counter sees only Python "
                        "allocations in this interpreter")
CHILDREN_PEAK_SOURCE = "children ru_maxrss and sampled tree RSS"


def runtime_seconds(start, end) -> float:
    """Monotonic seconds from the start reading to the end one (never missing)."""
    return max(0.0, end.monotonic - start.monotonic)


def cpu_utilization(start, end, *, runtime: float, cores: int, subject: str,
                    thread_scope: bool) -> Result:
    """(user, system) CPU time as a fraction of ``runtime`` x ``cores``: of the
    process and its reaped children, of the calling thread alone (``thread_scope``:
    other threads ran meanwhile), or of the reaped children alone (``subject`` is
    "children": the task is external commands)."""
    if subject == "children":
        user = end.children_cpu_user - start.children_cpu_user
        system = end.children_cpu_system - start.children_cpu_system
    elif thread_scope:
        if start.thread_cpu_user is None or end.thread_cpu_user is None:
            return Missing(start.missing.get("thread_cpu", "thread CPU time not available"))
        user = end.thread_cpu_user - start.thread_cpu_user
        system = end.thread_cpu_system - start.thread_cpu_system
    else:
        user = (end.process_cpu_user - start.process_cpu_user
                + end.children_cpu_user - start.children_cpu_user)
        system = (end.process_cpu_system - start.process_cpu_system
                  + end.children_cpu_system - start.children_cpu_system)
    if runtime <= 0:
        return Missing(TOO_SHORT)
    whole = runtime * cores
    return Measured((user / whole, system / whole))


def file_io_bytes(start, end, *, thread_scope: bool) -> Result:
    """(read, written) bytes that went to or came from storage, not page-cache hits:
    the process's, or the calling thread's with ``thread_scope``."""
    if thread_scope:
        r0, r1 = start.thread_read_bytes, end.thread_read_bytes
        w0, w1 = start.thread_write_bytes, end.thread_write_bytes
        key = "thread_io"
    else:
        r0, r1 = start.process_read_bytes, end.process_read_bytes
        w0, w1 = start.process_write_bytes, end.process_write_bytes
        key = "process_io"
    if r0 is None or r1 is None:
        return Missing(start.missing.get(key) or end.missing.get(key)
                       or "I/O counters unavailable")
    return Measured((r1 - r0, w1 - w0))


def network_bytes(start, end) -> Result:
    """(sent, received) bytes of the network namespace: Linux keeps no per-process
    counters."""
    if start.net_sent is None or end.net_sent is None:
        return Missing(start.missing.get("net") or end.missing.get("net")
                       or "network counters unavailable")
    return Measured((end.net_sent - start.net_sent, end.net_received - start.net_received))


def memory_peak_mb(start, end, window, *, subject: str, peak_source: Optional[str],
                   peak_seen: int, reset_failed: Optional[str],
                   read_vmhwm: Callable[[], Optional[int]] = readings.vmhwm_bytes,
                   read_children_peak: Callable[[], int] = readings.children_max_rss_bytes
                   ) -> Result:
    """The peak RSS during the task in MiB.

    ``peak_source`` is how the start prepared it: "vmhwm_reset" (the kernel's
    high-water mark was reset at the start, so the mark at the end is the task's) or
    "sampled" (it could not be reset: ``reset_failed`` says why). ``peak_seen`` is
    the highest mark handed over by resets that nested or concurrent profiles made
    meanwhile. The sampled RSS in ``window`` (a ResourceWindow or None) raises the
    peak where it saw more. For external commands (``subject`` "children") it is
    the largest ru_maxrss among reaped children and the sampled tree RSS."""
    peak_bytes = None
    source = peak_source
    if subject == "children":
        peak_bytes = read_children_peak() or None
        source = CHILDREN_PEAK_SOURCE
    elif peak_source == "vmhwm_reset":
        # ru_maxrss is the mark since the reset unless exec() from a bigger image
        # latched a higher one into signal->maxrss (it then exceeded the RSS right
        # after the reset): read VmHWM then
        latched = (start.rss_bytes is None
                   or start.max_rss_bytes > start.rss_bytes + RSS_SLACK)
        mark = read_vmhwm() if latched else end.max_rss_bytes
        if mark is None and not latched:
            mark = end.max_rss_bytes
        if mark is not None:
            peak_bytes = max(mark, peak_seen)
        else:
            source = "sampled"
    if window is not None:
        rss = window.columns.get("rss_bytes")
        if rss is not None and len(rss):
            import numpy as np
            if not np.all(np.isnan(rss)):
                sampled = float(np.nanmax(rss))
                peak_bytes = sampled if peak_bytes is None else max(peak_bytes, sampled)
    if peak_bytes is None:
        return Missing(reset_failed or "no RSS sample fell inside the task", source)
    return Measured(peak_bytes / _MIB, source)


def memory_allocations(start, end, *, subject: str, uncounted: Optional[str],
                       interleaved: bool) -> Result:
    """Allocations (PyMem/PyObject) by the task's thread, from the native counter
    (csrc/allocs_binding.c). ``uncounted`` is None when the counter ran for the
    whole task, else why it did not."""
    if uncounted is None:
        return Measured(end.allocations - start.allocations,
                        "PyMem/PyObject allocations by the task's thread"
                        + (" (shared with interleaved tasks)" if interleaved else ""))
    if subject == "children":
        return Missing(CHILDREN_ALLOCATIONS)
    return Missing(uncounted)


def io_wait_seconds(window) -> Result:
    """Seconds the task waited for I/O, from the resource samples in ``window`` (a
    ResourceWindow, or None when resources were off or failed)."""
    if window is None:
        return Missing(NO_SAMPLES)
    if window.io_wait_seconds is not None:
        return Measured(window.io_wait_seconds, window.io_wait_source or "dstate_samples")
    return Missing(window.io_wait_missing or NO_SAMPLES)


def exceptions_raised(start, end, exc: Optional[BaseException], *, counted: bool,
                      subject: str, thread_scope: bool, scope_name: str) -> Measured:
    """Exceptions raised in the task, caught ones included where sys.monitoring
    counted them (3.12+, ``counted``); else only the one that escaped (``exc``). An
    escaped exception that never passed through a Python frame of the task (raised
    by a C callable) had no RAISE event: it still counts. Never missing."""
    escaped = 0 if exc is None else 1
    if counted and subject == "self":
        if thread_scope:
            raised = end.raises_thread - start.raises_thread
        else:
            raised = end.raises_process - start.raises_process
        return Measured(max(raised, escaped), f"sys.monitoring RAISE events ({scope_name}), "
                                              "caught exceptions included")
    if subject == "children":
        why = "the commands' own exceptions are not visible to dprof"
    else:
        why = exceptions.reason() or "the raise counter was not available"
    return Measured(escaped, f"only an exception that escaped the task ({why})")


def pair(result: Result) -> Tuple[Optional[float], Optional[float]]:
    """The two values of a paired metric, or (None, None) when it is missing."""
    return result.value if type(result) is Measured else (None, None)
