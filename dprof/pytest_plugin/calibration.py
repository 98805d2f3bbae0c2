"""How many iterations per round and how many rounds a benchmark runs.

A round times ``iterations`` back-to-back calls with ``time.perf_counter_ns`` and
divides; the count is chosen so that one round lasts at least ``resolution x
PRECISION`` (the timer's own granularity then stays under 1/PRECISION of a round)
and at least ``min_time``. Rounds fill ``max_time``, within ``min_rounds`` and
``max_rounds``.

The resolution is measured once per process, in a few milliseconds: the smallest
positive step between two consecutive timer reads (pytest-benchmark spends up to a
second on the same question; a few hundred reads find the step on Linux, where
perf_counter_ns has a nanosecond clock and the step is the cost of the call).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Optional

#: A round is at least this many timer resolutions long.
PRECISION = 1000
#: Defaults of the command-line options.
DEFAULT_MAX_TIME = 0.5        # seconds of measured rounds per benchmark
DEFAULT_MIN_TIME = 20e-6      # seconds: the shortest round
DEFAULT_MIN_ROUNDS = 5
DEFAULT_MAX_ROUNDS = 10_000   # keeps the stored rounds (JSON) small

_resolution_ns: Optional[int] = None


def timer_resolution_ns() -> int:
    """The smallest positive difference between two consecutive reads of
    ``time.perf_counter_ns`` (nanoseconds), measured once per process."""
    global _resolution_ns
    if _resolution_ns is None:
        clock = time.perf_counter_ns
        best = None
        for _ in range(1000):
            t1 = clock()
            t2 = clock()
            if t2 > t1 and (best is None or t2 - t1 < best):
                best = t2 - t1
        if best is None:
            # a coarse clock: two reads in a row were always equal; the step is then
            # the wait for the reading to change
            t1 = clock()
            t2 = clock()
            while t2 == t1:
                t2 = clock()
            best = t2 - t1
        _resolution_ns = best
    return _resolution_ns


@dataclass(frozen=True)
class Plan:
    """What calibration chose: ``iterations`` per round, ``rounds`` measured rounds,
    ``warmup_rounds`` unmeasured ones first, and the round estimate it used."""
    iterations: int
    rounds: int
    warmup_rounds: int
    round_ns_estimate: float
    resolution_ns: int


def calibrate(time_round: Callable[[int], int], *, max_time: float = DEFAULT_MAX_TIME,
              min_time: float = DEFAULT_MIN_TIME, min_rounds: int = DEFAULT_MIN_ROUNDS,
              max_rounds: int = DEFAULT_MAX_ROUNDS, warmup: bool = True) -> Plan:
    """Choose iterations and rounds for a function timed by ``time_round(n)`` (the
    nanoseconds that n back-to-back calls took).

    The iteration count grows tenfold until a round is near the target, then is
    scaled to it from the measured duration (one more tenfold step would overshoot
    a slow function by up to ten times). Each candidate is timed twice and the
    shorter kept, which discards one interruption by the scheduler."""
    resolution = timer_resolution_ns()
    target_ns = max(resolution * PRECISION, min_time * 1e9)
    iterations = 1
    while True:
        duration = max(1, min(time_round(iterations), time_round(iterations)))
        if duration >= target_ns:
            break
        if duration * 10 >= target_ns or iterations >= 10**8:
            iterations = max(iterations + 1, math.ceil(iterations * target_ns / duration))
            duration = max(1, time_round(iterations))
            break
        iterations *= 10
    rounds = int(max_time * 1e9 // duration)
    rounds = max(min_rounds, min(max_rounds, rounds))
    # warm-up: a tenth of the rounds, at least one, at most 0.1 s worth of them
    warmup_rounds = 0
    if warmup:
        warmup_rounds = max(1, min(rounds // 10, int(0.1e9 // duration)))
    return Plan(iterations=iterations, rounds=rounds, warmup_rounds=warmup_rounds,
                round_ns_estimate=float(duration), resolution_ns=resolution)
