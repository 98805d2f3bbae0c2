"""`ResourceProfiler`: sample a process while some work runs, then summarise it.

    rp = ResourceProfiler(interval=0.01)
    rp.start_profiling()
    work()
    results = rp.stop_profiling()      # dict, see dprof.resources.summary
    rp.samples                         # ResourceSeries
    rp.dataframe()                     # pandas DataFrame

    with ResourceProfiler() as rp:
        work()
    rp.results

Backends: ``"native"`` is ``dprof._native.Sampler`` (a C thread that never takes
the GIL; Linux, reads /proc); ``"psutil"`` is `dprof.resources.fallback.PsutilSampler`
(a Python thread, for platforms without /proc); ``"auto"`` picks native when it is
available. Both give the same columns.
"""
import os
import sys
import time

import numpy as np

from dprof.limits import INTERVAL_S, check_range

from .fallback import PsutilSampler
from .series import ResourceSeries
from .summary import summarize

BACKENDS = ("auto", "native", "psutil")


def native_unavailable_reason():
    """None when the native sampler can be used here, else why not."""
    if not sys.platform.startswith("linux"):
        return f"the native sampler reads /proc and runs on Linux only (this is {sys.platform})"
    from dprof._native_loader import native, reason
    _native = native()
    if _native is None:
        return reason()
    # Until the sampler branch lands, the extension may be built without it.
    if not hasattr(_native, "Sampler"):
        return "this build of dprof._native has no Sampler"
    return None


def _make_sampler(backend, pid, interval, capacity, children):
    if backend == "psutil":
        return PsutilSampler(pid=pid, interval=interval, capacity=capacity, children=children)
    from dprof._native_loader import require
    return require("the native resource sampler").Sampler(pid=pid, interval=interval, capacity=capacity, children=children)


def memory_limit(pid):
    """(memory.max of ``pid``'s cgroup v2 in bytes, inf when unlimited, None) or
    (None, why not). Read once at stop, for container_stats' memory_percent."""
    try:
        from dprof._native_loader import require
        _native = require("the cgroup reader")
        directory, why = _native.cgroup_dir(pid)
        if directory is None:
            return None, why
        values, missing = _native.cgroup_read(directory)
    except (ImportError, AttributeError) as exc:
        return None, f"the cgroup reader of dprof._native is not available: {exc}"
    except (OSError, ValueError) as exc:
        return None, f"cannot read the cgroup of pid {pid}: {exc}"
    if "mem_max_bytes" in values:
        return values["mem_max_bytes"], None
    return None, missing.get("mem_max_bytes", "memory.max not read")


class ResourceProfiler:
    """Resource profiler of one process (this one by default).

    ``ResourceProfiler(interval=0.01, pid=None, children=False, capacity=65536,
    backend="auto")``: sample every `interval` seconds; `pid` None is this process;
    `children` also counts the target's descendants; at most `capacity` samples are
    held (past that the resolution is halved, see docs/resources.md); `backend` is
    "auto", "native" or "psutil".
    """

    def __init__(self, interval=0.01, pid=None, children=False, capacity=65536,
                 backend="auto"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}, got {backend!r}")
        if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0):
            raise ValueError(f"pid must be None (this process) or a positive int, got {pid!r}")
        interval = check_range("interval", interval, INTERVAL_S, " seconds")
        reason = native_unavailable_reason() if backend != "psutil" else None
        if backend == "native" and reason is not None:
            raise RuntimeError(f"backend='native' is not available: {reason}")
        self.backend = "psutil" if backend == "psutil" or reason is not None else "native"
        self.interval = interval
        self.pid = pid
        self.children = children
        self.capacity = capacity
        # Built now so that bad arguments and a missing pid fail here, not at start.
        self._sampler = _make_sampler(self.backend, pid or 0, interval, capacity, children)
        self._started_at = None
        self.results = None
        self.samples = None

    @property
    def running(self):
        return self._started_at is not None

    def start_profiling(self):
        """Start sampling (RuntimeError if already started)."""
        if self.running:
            raise RuntimeError("ResourceProfiler is already profiling")
        self.results = None
        self.samples = None
        self._sampler.start()
        self._started_at = time.monotonic()

    def stop_profiling(self):
        """Stop sampling and return the results dict (also kept in `.results`)."""
        if not self.running:
            raise RuntimeError("ResourceProfiler.stop_profiling() called before start_profiling()")
        self._sampler.stop()
        duration = time.monotonic() - self._started_at
        self._started_at = None
        self.samples = self._collect()
        limit, why = memory_limit(self.pid or os.getpid())
        self.results = summarize(self.samples, duration, self.backend, limit, why)
        return self.results

    def _collect(self):
        """The run's series. Both backends take the first sample inside start()
        and the last inside stop(), so what the work did right after start and
        right before stop (the first writes, a child reaped just before stop,
        whose CPU moves from the live tree to the parent's cutime) is counted."""
        sampler = self._sampler
        columns = {name: np.asarray(values) for name, values in sampler.columns().items()}
        return ResourceSeries(columns, sampler.missing(), sampler.info())

    def dataframe(self, derived=False):
        """The samples as a pandas DataFrame (see `ResourceSeries.to_dataframe`)."""
        if self.samples is None:
            raise RuntimeError("no samples yet: call stop_profiling() (or leave the with block)")
        return self.samples.to_dataframe(derived=derived)

    def __enter__(self):
        self.start_profiling()
        return self

    def __exit__(self, exc_type, exc, tb):
        self.stop_profiling()
        return False

    def __repr__(self):
        state = "running" if self.running else "stopped"
        return f"<ResourceProfiler {self.backend} interval={self.interval} {state}>"
