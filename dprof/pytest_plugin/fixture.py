"""The ``dprof_bench`` fixture: time a function in rounds and record their resources.

``dprof_bench(fn, *args, **kwargs)`` calibrates (``calibration.py``), warms up, then
runs the measured rounds inside one dprof TaskRecorder, so that the rounds get a
resource profile (CPU user/system, peak memory, allocations, file I/O) as any
profiled task does. Around each round it also reads the thread's allocation count,
outside the timed region, so that allocations have per-round values for the
regression gate's statistics; a few untimed calls under tracemalloc then give each
call's peak memory.

Who fails: an exception raised by the benchmarked function (or by ``setup``) is the
test's and propagates unchanged. Anything that goes wrong in the plugin itself is
turned into a ``ProfilerWarning``; the function is then called plainly and its
result returned, so a broken measurement never fails a user's test.
"""
from __future__ import annotations

import itertools
import time
import warnings
from typing import Any, Callable, Dict, Optional, Tuple

from dprof.pytest_plugin import calibration
from dprof.pytest_plugin.result import PROFILE_FIELDS, BenchResult

STAGE = "dprof-bench"
#: Untimed single-call rounds that measure peak memory (under tracemalloc).
MEMORY_ROUNDS = 15


class _UserFailure(Exception):
    """Carries an exception raised by the user's code through the plugin's frames,
    so that it is told apart from the plugin's own errors."""

    def __init__(self, exc: BaseException):
        super().__init__(repr(exc))
        self.exc = exc


class DprofBench:
    """What a test gets as ``dprof_bench``. One benchmark per test."""

    def __init__(self, name: str, *, sink: Optional[Callable[[BenchResult, Any], None]],
                 group: Optional[str] = None, disabled: bool = False,
                 max_time: float = calibration.DEFAULT_MAX_TIME,
                 min_rounds: int = calibration.DEFAULT_MIN_ROUNDS,
                 max_rounds: int = calibration.DEFAULT_MAX_ROUNDS,
                 warmup: bool = True, worker: Optional[str] = None):
        self.name = name
        self.group = group
        self.disabled = disabled
        self.max_time = max_time
        self.min_rounds = min_rounds
        self.max_rounds = max_rounds
        self.warmup = warmup
        self.worker = worker
        self._sink = sink
        self._used = False
        #: the BenchResult of this test's benchmark once it ran (None when disabled)
        self.result: Optional[BenchResult] = None
        #: the dprof Profile of the measured rounds
        self.profile = None

    # -- the two ways to run a benchmark ---------------------------------------------
    def __call__(self, fn: Callable, *args, **kwargs):
        """Benchmark ``fn(*args, **kwargs)`` with calibrated rounds; return its result."""
        self._claim(fn)
        if self.disabled:
            return fn(*args, **kwargs)
        return self._run(fn, args, kwargs, pedantic=None)

    def pedantic(self, fn: Callable, args: Tuple = (), kwargs: Optional[Dict] = None, *,
                 rounds: int = 1, iterations: int = 1, setup: Optional[Callable] = None,
                 warmup_rounds: int = 0):
        """Benchmark with exactly ``rounds`` x ``iterations`` calls, no calibration.

        ``setup``, if given, is called before every round (untimed); when it returns
        ``(args, kwargs)`` those are the round's arguments (then ``args``/``kwargs``
        must not be given, and ``iterations`` must be 1: one setup per call)."""
        self._claim(fn)
        kwargs = {} if kwargs is None else kwargs
        for label, value, least in (("rounds", rounds, 1), ("iterations", iterations, 1),
                                    ("warmup_rounds", warmup_rounds, 0)):
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ValueError(f"dprof_bench.pedantic: {label} must be an int >= {least}, "
                                 f"got {value!r}")
        if setup is not None and not callable(setup):
            raise TypeError(f"dprof_bench.pedantic: setup must be callable, got {setup!r}")
        if setup is not None and iterations != 1:
            raise ValueError("dprof_bench.pedantic: with setup, iterations must be 1 "
                             "(setup runs once per round, before its single call)")
        if not isinstance(args, (tuple, list)) or not isinstance(kwargs, dict):
            raise TypeError("dprof_bench.pedantic: args must be a tuple and kwargs a dict")
        if self.disabled:
            if setup is not None:
                made = setup()
                if made is not None:
                    args, kwargs = made
            return fn(*args, **kwargs)
        return self._run(fn, tuple(args), kwargs, pedantic=(rounds, iterations, setup,
                                                            warmup_rounds))

    def _claim(self, fn) -> None:
        if self._used:
            raise RuntimeError("dprof_bench can run one benchmark per test; this test "
                               "already ran one (use parametrize for several)")
        if not callable(fn):
            raise TypeError(f"dprof_bench needs a callable, got {type(fn).__name__}")
        self._used = True

    # -- measuring --------------------------------------------------------------------
    def _run(self, fn, args, kwargs, pedantic):
        try:
            result, bench, profile = _measure(self, fn, args, kwargs, pedantic)
        except _UserFailure as failure:
            raise failure.exc from None      # the test's own failure, unchanged
        except Exception as err:             # dprof's failure: warn, run plainly
            from dprof.task.recorder import ProfilerWarning
            warnings.warn(f"dprof_bench could not measure {self.name!r}: "
                          f"{type(err).__name__}: {err}; the function ran unmeasured",
                          ProfilerWarning, stacklevel=3)
            return _call_user(fn, args, kwargs)
        self.result, self.profile = bench, profile
        if self._sink is not None:
            try:
                self._sink(bench, profile)
            except Exception as err:
                from dprof.task.recorder import ProfilerWarning
                warnings.warn(f"dprof_bench could not keep the result of {self.name!r}: "
                              f"{err!r}", ProfilerWarning, stacklevel=3)
        return result


def _call_user(fn, args, kwargs):
    return fn(*args, **kwargs)


def _timed(fn, args, kwargs, n: int):
    """(nanoseconds that n back-to-back calls took, the last call's result). The loop
    is the whole timed region: two clock reads around n calls."""
    clock = time.perf_counter_ns
    # repeat(), not range(): iterating a range makes a new int object per step past
    # 256, which would count as the function's allocations
    loop = itertools.repeat(None, n)
    value = None
    try:
        t0 = clock()
        for _ in loop:
            value = fn(*args, **kwargs)
        t1 = clock()
    except BaseException as exc:
        raise _UserFailure(exc) from None
    return t1 - t0, value


def _noop():
    return None


def _harness_allocations(count) -> int:
    """Allocations one timed round makes around the calls themselves (the loop's
    iterator, the clock's ints, the result tuple): the fewest of three rounds of a function
    that allocates nothing. Subtracted from every round, so that allocations per
    call are the function's."""
    counts = []
    last = [None]
    for _ in range(3):
        a0 = count()
        elapsed, last[0] = _timed(_noop, (), {}, 1)
        a1 = count()
        counts.append(a1 - a0)
    return min(counts)


def _memory_rounds(fn, arguments, rounds: int, missing: Dict[str, str]):
    """Peak memory of single calls: bytes traced by tracemalloc at the call's peak
    above what was traced when it began, one value per round (a list), or None with
    the reason in ``missing``.

    An RSS high-water mark cannot see memory the process reuses (glibc and pymalloc
    keep freed blocks, so from the second call on a function's buffers cost no new
    pages); tracemalloc sees every Python allocation, NumPy's buffers included, but
    slows calls several times over, so these rounds are separate from the timed ones
    and few. If tracemalloc was already tracing (the user's), it is left running."""
    import tracemalloc
    if not hasattr(tracemalloc, "reset_peak"):
        missing["peak_memory"] = "tracemalloc.reset_peak needs Python 3.9+"
        return None
    started = not tracemalloc.is_tracing()
    if started:
        tracemalloc.start()
    peaks = []
    try:
        for _ in range(rounds):
            args, kwargs = arguments()
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            try:
                value = fn(*args, **kwargs)
            except BaseException as exc:
                raise _UserFailure(exc) from None
            peaks.append(float(max(0, tracemalloc.get_traced_memory()[1] - before)))
            del value
    finally:
        if started:
            tracemalloc.stop()
    return peaks


def _measure(bench: DprofBench, fn, args, kwargs, pedantic):
    """Calibrate, warm up and run the rounds. Returns (fn's last result, BenchResult,
    Profile). The user's exceptions come out wrapped in _UserFailure."""
    from dprof._native_loader import runtime
    from dprof.task.recorder import TaskRecorder
    _native = runtime()

    last = [None]

    def time_round(n: int) -> int:
        elapsed, last[0] = _timed(fn, args, kwargs, n)
        return elapsed

    setup = None
    given_args = bool(args or kwargs)
    if pedantic is None:
        plan = calibration.calibrate(time_round, max_time=bench.max_time,
                                     min_rounds=bench.min_rounds,
                                     max_rounds=bench.max_rounds, warmup=bench.warmup)
        iterations, rounds, warmup_rounds = plan.iterations, plan.rounds, plan.warmup_rounds
        resolution = plan.resolution_ns
    else:
        rounds, iterations, setup, warmup_rounds = pedantic
        resolution = calibration.timer_resolution_ns()

    def prepare():
        """The round's arguments: setup's, when it gives them."""
        nonlocal args, kwargs
        if setup is None:
            return
        try:
            made = setup()
        except BaseException as exc:
            raise _UserFailure(exc) from None
        if made is not None:
            if given_args:
                raise _UserFailure(ValueError(
                    "dprof_bench.pedantic: setup returned arguments, so args and kwargs "
                    "must not be given as well"))
            try:
                args, kwargs = tuple(made[0]), dict(made[1])
            except Exception:
                raise _UserFailure(TypeError(
                    f"dprof_bench.pedantic: setup must return None or (args, kwargs), "
                    f"got {made!r}")) from None

    for _ in range(warmup_rounds):
        prepare()
        time_round(iterations)

    missing: Dict[str, str] = {}
    times = []
    allocs = []
    recorder = TaskRecorder(bench.name[:255], stage=STAGE, resources=True)
    recorder.start()
    count_allocs = _native.alloc_counter_active()
    if not count_allocs:
        missing["allocations"] = "the allocation counter is not active"
    user_exc = None
    try:
        if count_allocs:
            def count():
                return _native.alloc_counts()[0]
            overhead = _harness_allocations(count)
        for _ in range(rounds):
            prepare()
            if count_allocs:
                # read right around the round, as _harness_allocations does
                a0 = count()
                elapsed = time_round(iterations)
                a1 = count()
                allocs.append(max(0, a1 - a0 - overhead) / iterations)
            else:
                elapsed = time_round(iterations)
            times.append(elapsed / iterations)
    except _UserFailure as failure:
        user_exc = failure
    finally:
        profile = recorder.stop(user_exc.exc if user_exc is not None else None)
    if user_exc is not None:
        raise user_exc
    # after the recorder stopped: tracemalloc's own allocations are not the rounds'
    peaks = _memory_rounds(fn, lambda: (prepare(), (args, kwargs))[1],
                           min(rounds, MEMORY_ROUNDS), missing)
    summary = {name: getattr(profile, name) for name in PROFILE_FIELDS}
    summary["id"] = profile.id
    summary["missing"] = {k: v for k, v in profile.missing.items() if k in PROFILE_FIELDS}
    result = BenchResult(
        name=bench.name, group=bench.group, iterations=iterations, rounds=len(times),
        warmup_rounds=warmup_rounds, resolution_ns=resolution,
        pedantic=pedantic is not None, times_ns=times,
        allocations=allocs if count_allocs else None, peak_memory=peaks,
        missing=missing, profile=summary, worker=bench.worker)
    return last[0], result, profile
