"""The ranges of dprof's numeric arguments, checked where each is read.

One table, so that the command line, the public constructors and the C bindings
(csrc/argcheck.h holds the same numbers) accept the same values and word their errors
the same way: "NAME must be from LOW to HIGH UNIT, got VALUE". A value outside its
range is an error at once, never a sampler that silently records nothing (a stack
rate of 1e9) or spins (a resource interval of 1e-9 s). docs/reliability.md lists them.
"""
from __future__ import annotations

import math
from typing import Any

#: Stack samples per second: 1 (one a second) to 10,000 (a 100 us period, about what
#: the sampler's 1 % overhead budget can hold on a small stack; above it, the budget
#: lowers the rate anyway).
STACK_HZ = (1.0, 10_000.0)
#: Resource sampling interval in seconds: 1 ms (a sample costs about 5 us) to an hour.
INTERVAL_S = (0.001, 3600.0)
#: ``dprof run --profile-interval``: rewriting the -o file from every 0.1 s to a day.
REWRITE_INTERVAL_S = (0.1, 86_400.0)


def check_range(name: str, value: Any, bounds: tuple, unit: str = "") -> float:
    """``value`` as a float when it is a number within ``bounds`` (inclusive); else
    TypeError (not a number) or ValueError naming ``name``, the range and the value."""
    low, high = bounds
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number, not {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not low <= number <= high:          # NaN is never inside
        raise ValueError(f"{name} must be from {low:g} to {high:g}{unit}, got {value!r}")
    return number
