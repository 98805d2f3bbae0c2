"""Pure-Python stand-ins for the parts of ``dprof._native`` a profiled task needs.

``dprof._native_loader.runtime()`` hands this package out in place of the extension
when ``DPROF_NO_NATIVE=1`` is set or the extension cannot be imported (see
docs/reliability.md, "No C extension needed"). Each name here has the extension's
signature and meaning, and the extension's tests compare the two:

    task_reading()            point readings (dprof.pure.readings; getrusage, /proc or psutil)
    series_stats(...)         series statistics (dprof.pure.stats; numpy)
    count_raise, raise_counts the sys.monitoring RAISE counter (dprof.pure.raises)
    Sampler                   the resource sampler: the psutil thread of dprof.resources

What has no twin (the allocation counter, memory sampling, cgroup readers, the sort
engines) is not faked: the allocation counter reports itself inactive and
``alloc_counter_acquire`` raises ``NativeUnavailable`` so that the metric is reported
missing with the reason, and any other extension name raises AttributeError naming it.
"""
from dprof._native_loader import NativeUnavailable, reason as _reason
from dprof.pure.raises import count_raise, raise_counts
from dprof.pure.readings import task_reading

__all__ = ["task_reading", "series_stats", "count_raise", "raise_counts", "alloc_counts",
           "alloc_counter_active", "alloc_counter_acquire", "alloc_counter_release",
           "alloc_counter_intact", "Sampler"]


def series_stats(values, timestamps=None, percentiles=(50, 90, 95, 99), counter=False):
    """See dprof.pure.stats (imported on first use: it needs numpy, which a
    decorated call does not otherwise import)."""
    from dprof.pure.stats import series_stats as stats
    return stats(values, timestamps=timestamps, percentiles=percentiles, counter=counter)


def alloc_counts():
    """(None, None): allocations cannot be counted without the extension's hook."""
    return None, None


def alloc_counter_active() -> bool:
    return False


def alloc_counter_acquire() -> None:
    raise NativeUnavailable(f"allocation counting needs the C extension: {_reason()}")


def alloc_counter_release() -> None:
    """Nothing to give back: acquire never succeeds here."""


def alloc_counter_intact(since: float) -> bool:
    """False: no counter ran, so no count is whole."""
    return False


def __getattr__(name):
    if name == "Sampler":
        from dprof.resources.fallback import PsutilSampler
        return PsutilSampler
    if name.startswith("__"):
        raise AttributeError(name)
    raise AttributeError(f"dprof._native.{name} has no pure-Python twin and the extension "
                         f"is not in use: {_reason()}")
