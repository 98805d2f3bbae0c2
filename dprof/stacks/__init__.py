"""Stack profiles: the data model, the sampler that fills it, and its aggregation."""
from dprof.stacks.model import (CATEGORIES, CPU_CATEGORIES, CPU_NATIVE, CPU_PYTHON,
                                WAIT_CATEGORIES, WAIT_GIL, WAIT_IO, WAIT_SLEEP, Frame,
                                StackProfile, StackRow)


def diff(base: StackProfile, other: StackProfile):
    """Seconds per stack (all threads and categories) as (base, other):
    ``{(Frame, ...): (seconds in base, seconds in other)}``."""
    for name, p in (("base", base), ("other", other)):
        if not isinstance(p, StackProfile):
            raise TypeError(f"diff() takes StackProfile objects, not {type(p).__name__} "
                            f"as {name}")
    return other.diff(base)


def __getattr__(name):
    # The sampler and the native merge load dprof._native on first use only.
    if name == "StackSampler":
        from dprof.stacks.sampler import StackSampler
        return StackSampler
    if name == "merge":
        from dprof.stacks.native import merge
        return merge
    raise AttributeError(f"module 'dprof.stacks' has no attribute {name!r}")


__all__ = ["CATEGORIES", "CPU_CATEGORIES", "CPU_NATIVE", "CPU_PYTHON", "WAIT_CATEGORIES",
           "WAIT_GIL", "WAIT_IO", "WAIT_SLEEP", "Frame", "StackProfile", "StackRow",
           "StackSampler", "merge", "diff"]
