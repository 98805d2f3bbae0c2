"""Resource profiling: a process's CPU, memory, I/O, system, cgroup and GPU series.

`ResourceProfiler` samples a process (by default this one) from a native thread
(``dprof._native.Sampler``, Linux) or, where that is not available, from a psutil
thread (`dprof.resources.fallback`), and summarises the run; `ResourceSeries` holds
the samples as columnar numpy arrays.
"""
from .profiler import ResourceProfiler
from .series import ResourceSeries

__all__ = ["ResourceProfiler", "ResourceSeries"]
