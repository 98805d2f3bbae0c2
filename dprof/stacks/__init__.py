"""Stack profiles: the data model, the sampler that fills it, and its aggregation."""
from dprof.stacks.model import (CATEGORIES, CPU_CATEGORIES, CPU_NATIVE, CPU_PYTHON,
                                WAIT_CATEGORIES, WAIT_GIL, WAIT_IO, WAIT_SLEEP, Frame,
                                StackProfile, StackRow)

__all__ = ["CATEGORIES", "CPU_CATEGORIES", "CPU_NATIVE", "CPU_PYTHON", "WAIT_CATEGORIES",
           "WAIT_GIL", "WAIT_IO", "WAIT_SLEEP", "Frame", "StackProfile", "StackRow"]
