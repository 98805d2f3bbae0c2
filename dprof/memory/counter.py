"""Whether the allocation counter counted a whole task (csrc/allocs_binding.c).

The counter's hooks sit in the PyMem/PyObject allocator chains, where another tool
can take them out: ``tracemalloc.stop()`` restores the allocators it saw at
``tracemalloc.start()``, dropping a hook installed on top of it since. The native
side notices (a probe allocation at each start and end) and installs the hooks
afresh at the next start; a task whose window they were out of for a while gets
its count reported missing with the reason below, never a number that is too low.
"""
from __future__ import annotations

from typing import Optional

from dprof._native_loader import runtime as _runtime

_native = _runtime()   # the extension, or its pure-Python twins (DPROF_NO_NATIVE)

#: the reason a task's allocation count is missing when the hooks were taken out
REPLACED = ("not counted: the allocator hooks were replaced during the task "
            "(tracemalloc.stop() restores the allocators it saw at tracemalloc.start(), "
            "which takes dprof's counter out), so allocations after that were not seen")


def uncounted_reason(acquired: bool, start_monotonic: float) -> Optional[str]:
    """None when the counter ran for the whole task that began at
    ``start_monotonic`` (its start reading's ``time.monotonic()``), else why not.
    Call it before giving the counter back. Never raises."""
    if not acquired:
        return "allocation counter unavailable"
    try:
        intact = _native.alloc_counter_intact(start_monotonic)
    except Exception as exc:      # never let the task see it
        return f"allocation counter could not be checked: {type(exc).__name__}: {exc}"
    return None if intact else REPLACED
