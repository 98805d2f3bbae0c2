"""Stack profiles: the data model, the sampler that fills it, and its aggregation."""
from dprof.stacks.model import (CATEGORIES, CPU_CATEGORIES, CPU_NATIVE, CPU_PYTHON,
                                WAIT_CATEGORIES, WAIT_GIL, WAIT_IO, WAIT_SLEEP, Frame,
                                StackProfile, StackRow)


def __getattr__(name):
    # The sampler and the native merge/diff load dprof._native on first use only.
    if name == "StackSampler":
        from dprof.stacks.sampler import StackSampler
        return StackSampler
    if name in ("merge", "diff"):
        from dprof.stacks import native
        return getattr(native, name)
    raise AttributeError(f"module 'dprof.stacks' has no attribute {name!r}")


__all__ = ["CATEGORIES", "CPU_CATEGORIES", "CPU_NATIVE", "CPU_PYTHON", "WAIT_CATEGORIES",
           "WAIT_GIL", "WAIT_IO", "WAIT_SLEEP", "Frame", "StackProfile", "StackRow",
           "StackSampler", "merge", "diff"]
