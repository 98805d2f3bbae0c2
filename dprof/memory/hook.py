"""The task recorder's use of the memory sampler: start and stop it without ever
letting the task see a failure (a failure becomes ``missing["memory"]``)."""
from __future__ import annotations

import warnings


def start_memory(recorder):
    """A started MemorySampler for ``recorder`` (a TaskRecorder), or None with the
    reason recorded in ``recorder.missing["memory"]``."""
    from dprof.memory.sampler import MemorySampler
    from dprof.task.recorder import ProfilerWarning
    if recorder.subject != "self":
        recorder.missing["memory"] = ("not sampled for external commands: the hooks see "
                                      "only this interpreter's allocations")
        return None
    options = recorder.want_memory if isinstance(recorder.want_memory, dict) else {}
    try:
        sampler = MemorySampler(**options)
        sampler.start()
    except ImportError as exc:        # no extension (NativeUnavailable): said, not warned
        recorder.missing["memory"] = f"not sampled: {exc}"
        return None
    except RuntimeError as exc:       # another session already samples this process
        recorder.missing["memory"] = f"not sampled: {exc}"
        return None
    except Exception as exc:
        recorder.missing["memory"] = f"dprof failed to measure it: {type(exc).__name__}: {exc}"
        warnings.warn(f"dprof could not sample memory for {recorder.name!r}: {exc}",
                      ProfilerWarning, stacklevel=4)
        return None
    recorder.sources["memory"] = (f"sampled allocations (PyMem, PyObject"
                                  f"{', NumPy data' if sampler.numpy_reason is None else ''}),"
                                  f" one sample per {sampler.mean:.0f} bytes on average,"
                                  f" seed {sampler.seed}")
    return sampler


def stop_memory(recorder, sampler):
    """The MemoryProfile, or None with the reason in ``recorder.missing``."""
    try:
        result = sampler.stop()
    except Exception as exc:
        recorder.missing["memory"] = f"dprof failed to measure it: {type(exc).__name__}: {exc}"
        return None
    if result is None:
        recorder.missing["memory"] = "the task ended in a forked child of the process that started sampling"
    elif result.totals.get("hooks_replaced"):
        recorder.sources["memory"] = (recorder.sources.get("memory", "sampled allocations")
                                      + "; incomplete: " + REPLACED_DURING)
    return result


#: what a memory profile lacks when its hooks were taken out during the task
REPLACED_DURING = ("the allocator hooks were replaced during the task (tracemalloc.stop() "
                   "restores the allocators it saw at its start), so allocations and frees "
                   "after that were not sampled")
