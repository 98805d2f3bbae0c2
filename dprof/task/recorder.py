"""Record one task: readings at start and end, the resource series in between,
and the Profile built from them.

The path of a measurement: ``readings.take()`` (a ``Reading``, fields by name) at
the start and end, ``monitor.release()`` (a ``ResourceWindow``) for the samples in
between, one function per metric in ``metrics`` over those, and ``_build`` putting
their values, sources and reasons into the Profile.

A ``TaskRecorder`` is what ``profile()`` and ``@profiler`` drive. It must never make
the task fail: every step that can go wrong is caught, the number it would have
given is reported missing with the reason, and a warning names what happened.
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import warnings
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from dprof._native_loader import runtime as _runtime
_native = _runtime()   # the extension, or its pure-Python twins (DPROF_NO_NATIVE)
# imported here, not on a profile's first stop: importing numpy and the record
# module inside the first task's window would be counted as that task's work
# (its allocations and the exceptions importlib raises and catches)
from dprof.record import METRICS, Profile, this_host, this_python
from dprof.task import exceptions, metrics, readings, scope


class ProfilerWarning(RuntimeWarning):
    """Something inside dprof failed; the task ran on and the profile says what."""


_HOST = this_host()
_PYTHON = this_python()

# Recordings garbage-collected while still running: their task's frame died without
# ending them (a generator that ignored GeneratorExit, one dropped by a crashed event
# loop). What they hold is given back by release_abandoned(), at the next start(), not
# in __del__ itself: a collection can run inside dprof's own locked sections (an
# allocation in exceptions.acquire(), say), where taking those locks again would
# deadlock. list.append and list.pop are atomic, so no lock is needed here.
_abandoned: list = []


def release_abandoned() -> int:
    """Give back the counters, monitor handles and samplers of recordings collected
    while running; returns how many there were."""
    released = 0
    while _abandoned:
        try:
            recorder = _abandoned.pop()
        except IndexError:      # another thread took the last one
            break
        try:
            recorder._release_all(abandoned=True)
        except Exception:       # never let a task see it
            pass
        released += 1
    return released


@functools.lru_cache(maxsize=None)
def _scope_sources(scope_name: str) -> Dict[str, str]:
    """The ``sources`` entries that depend only on the scope (built once per scope,
    not on every decorated call)."""
    network = ("network namespace totals (/proc/net/dev, all interfaces but lo, "
               "read at most every 1 ms)")
    return {
        "scope": scope_name,
        "cpu_user_utilization": f"getrusage ({scope_name})",
        "cpu_system_utilization": f"getrusage ({scope_name})",
        "file_read_bytes": f"/proc io read_bytes ({scope_name})",
        "file_write_bytes": f"/proc io write_bytes ({scope_name})",
        "network_data_sent_bytes": network,
        "network_data_received_bytes": network,
    }


def _note(result, names, missing: Dict[str, str], sources: Dict[str, str]) -> None:
    """Record a metric's source, or its reason for being missing, under ``names``.
    A reason already recorded (a failure noted while measuring) is kept."""
    if result.source is not None:
        for name in names:
            sources[name] = result.source
    if type(result) is metrics.Missing:
        for name in names:
            missing.setdefault(name, result.reason)


def _value(result):
    return result.value if type(result) is metrics.Measured else None


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


class TaskRecorder:
    """Measures one run of a task. ``start()`` then ``stop(exc)`` -> Profile."""

    def __init__(self, name: str, *, env: Optional[str] = None, stage: Optional[str] = None,
                 parameters: Optional[Dict[str, Any]] = None,
                 tags: Optional[Dict[str, str]] = None, resources: bool = True,
                 interval: float = 0.01, stacks: bool = False, stack_hz: float = 100.0,
                 subject: str = "self", memory: Any = False):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a profile needs a non-empty name, got {name!r}")
        from dprof.limits import INTERVAL_S, STACK_HZ, check_range   # ranges: dprof/limits.py
        interval = check_range("interval", interval, INTERVAL_S, " seconds")
        stack_hz = check_range("stack_hz", stack_hz, STACK_HZ, " samples per second")
        if subject not in ("self", "children"):
            raise ValueError(f"subject must be 'self' or 'children', got {subject!r}")
        self.name = name
        # "children": the task is external commands this process waits for (dprof run
        # -- CMD); CPU and peak memory are the reaped children's, and allocations in
        # this interpreter are not the task's.
        self.subject = subject
        # Profile's convention: an unset env or stage is "default"
        self.env = "default" if env is None else str(env)
        self.stage = "default" if stage is None else str(stage)
        self.parameters = dict(parameters or {})
        if self.parameters:
            import json
            try:
                json.dumps(self.parameters)
            except (TypeError, ValueError) as exc:
                raise ValueError(f"profile parameters must be JSON-serialisable: {exc}") from None
        self.tags = {str(k): str(v) for k, v in (tags or {}).items()}
        self.want_resources = resources
        self.interval = float(interval)
        self.want_stacks = stacks
        self.stack_hz = stack_hz
        # memory: False, True (default rate) or a dict of MemorySampler options
        self.want_memory = memory
        self._memory_sampler = None
        self.missing: Dict[str, str] = {}
        self.sources: Dict[str, str] = {}
        self._start: Optional[readings.Reading] = None
        self._scope: Optional[scope.ScopeEntry] = None
        self._monitor_handle = None
        self._stack_sampler = None
        self._alloc_acquired = False
        self._raises_acquired = False       # caught exceptions counted (3.12+)
        self._failed_start: Optional[BaseException] = None
        self._stacks_so_far = None          # stacks of earlier snapshot periods
        self._snapshot_lock = threading.Lock()
        self._peak_reset_failed: Optional[str] = None   # why VmHWM could not be reset
        self._generation: Optional[int] = None          # scope.generation at start()

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        """Begin measuring (never raises: a failure is recorded and warned about)."""
        self._generation = scope.generation
        if _abandoned:
            release_abandoned()
        try:
            self._start_measuring()
        except Exception as exc:
            self._failed_start = exc
            warnings.warn(f"dprof could not start profiling {self.name!r}: {exc!r}; "
                          f"the task runs unprofiled", ProfilerWarning, stacklevel=3)
            if self._start is None:
                try:
                    self._start = readings.take()
                except Exception:
                    self._start = None

    def _start_measuring(self) -> None:
        reset_reason = []

        def reset_peak(need_mark):
            # VmHWM, not ru_maxrss: the latter may hold a mark latched at exec()
            before = readings.vmhwm_bytes() if need_mark else None
            reason = readings.reset_peak_rss()
            if reason is not None:
                reset_reason.append(reason)
            return before

        self._scope = scope.enter(reset_peak)
        if reset_reason:
            self.sources["memory_usage_peak_mb"] = "sampled"
            self._peak_reset_failed = reset_reason[0]
        else:
            self.sources["memory_usage_peak_mb"] = "vmhwm_reset"
        if self.subject == "self":
            try:
                _native.alloc_counter_acquire()
                self._alloc_acquired = True
            except ImportError as exc:     # no extension: missing with the reason, no warning
                self.missing["memory_allocations"] = str(exc)
            except Exception as exc:   # never let the task see it
                self._note_failure("memory_allocations", exc)
            try:
                self._raises_acquired = exceptions.acquire()
            except Exception:      # the escaped-only count still stands, and says so
                self._raises_acquired = False
        if self.want_resources:
            try:
                from dprof.task import monitor
                self._monitor_handle = monitor.acquire(self.interval)
            except Exception as exc:
                self._note_failure("resources", exc)
        if self.want_stacks:
            try:
                from dprof.stacks.sampler import StackSampler
                self._stack_sampler = StackSampler(hz=self.stack_hz)
                self._stack_sampler.start()
            except Exception as exc:
                self._stack_sampler = None
                self._note_failure("stacks", exc)
        if self.want_memory:
            from dprof.memory.hook import start_memory
            self._memory_sampler = start_memory(self)
        self._start = readings.take()

    @property
    def forked_away(self) -> bool:
        """True in a forked child of the process that started this recording: the
        profile is the parent's, and the child must not end it (see abandon())."""
        return self._generation is not None and self._generation != scope.generation

    def abandon(self) -> None:
        """In a forked child: let go of the copy of the parent's recording without
        measuring, building or warning. What is this process's own bookkeeping (the
        allocation counter, the raise counter, the monitor's user count, the
        profile scope) is given back; the samplers' threads are the parent's (their
        copies here read as stopped) and are dropped, not stopped and read."""
        self._stack_sampler = None
        self._stacks_so_far = None
        self._release_all()

    def stop(self, exc: Optional[BaseException] = None):
        """End the measurement and build the Profile (never raises)."""
        if self._failed_start is not None or self._start is None:
            self._release_all()
            return self._minimal_profile(Profile, exc, f"dprof could not start measuring: "
                                         f"{type(self._failed_start).__name__}: {self._failed_start}")
        try:
            return self._stop_measuring(Profile, exc)
        except Exception as err:
            warnings.warn(f"dprof could not finish profiling {self.name!r}: {err!r}",
                          ProfilerWarning, stacklevel=3)
            self._release_all()
            return self._minimal_profile(Profile, exc, f"dprof failed while measuring: "
                                         f"{type(err).__name__}: {err}")

    def __del__(self):
        # Collected unfinished (see _abandoned): queue it, which keeps it alive
        # until released. A forked-away copy is the parent's and holds nothing here
        # that abandon() has not given back.
        try:
            if (self._alloc_acquired or self._raises_acquired or self._scope is not None
                    or self._monitor_handle is not None or self._stack_sampler is not None
                    or self._memory_sampler is not None):
                _abandoned.append(self)
        except Exception:       # late in interpreter shutdown: module globals gone
            pass

    def _release_all(self, abandoned: bool = False) -> None:
        """Give back everything start() took; safe to call more than once.
        ``abandoned``: called from another context than the task's (see
        release_abandoned), whose current-profile variable is not touched."""
        if self._memory_sampler is not None:
            sampler, self._memory_sampler = self._memory_sampler, None
            try:
                sampler.stop()
            except Exception:
                pass
        if self._stack_sampler is not None:
            sampler, self._stack_sampler = self._stack_sampler, None
            try:
                sampler.stop()
            except Exception:
                pass
        if self._monitor_handle is not None:
            handle, self._monitor_handle = self._monitor_handle, None
            try:
                from dprof.task import monitor
                # an empty window: nothing is copied out of the sampler
                monitor.release(handle, float("inf"), float("inf"))
            except Exception:
                pass
        if self._alloc_acquired:
            self._alloc_acquired = False
            try:
                _native.alloc_counter_release()
            except Exception:
                pass
        if self._raises_acquired:
            self._raises_acquired = False
            try:
                exceptions.release()
            except Exception:
                pass
        if self._scope is not None:
            entry, self._scope = self._scope, None
            if abandoned:
                scope.forget(entry)
            else:
                scope.leave(entry)

    def _minimal_profile(self, Profile, exc, reason: str):
        """A record with identity, outcome and runtime, every metric missing."""
        now = datetime.now(timezone.utc)
        start = self._start
        start_time = datetime.fromtimestamp(start.wall, timezone.utc) if start else now
        return Profile(
            process_name=self.name, env=self.env, stage=self.stage,
            task_start_time=start_time, task_end_time=max(now, start_time),
            runtime_seconds=(now - start_time).total_seconds() if start else None,
            status="failed" if exc is not None else "ok",
            exception_type=type(exc).__qualname__ if exc is not None else None,
            exception_message=str(exc) if exc is not None else None,
            exceptions_raised=0 if exc is None else 1,
            host=_HOST, pid=os.getpid(), python_version=_PYTHON,
            parameters=self.parameters, tags=self.tags,
            missing={m: reason for m in METRICS
                     if m not in ("runtime_seconds", "exceptions_raised")
                     or (m == "runtime_seconds" and not start)})

    def snapshot(self):
        """An interim Profile of the task so far; the task and the measuring go on.

        For long-running programs (``dprof run --profile-interval``). It may be
        called from another thread: the stack sampler is stopped, its profile merged
        (natively) into what earlier periods gathered, and a new one started; the
        resource series so far is copied. CPU, I/O and memory come from the process;
        the allocation count is the task thread's own and cannot be read from another
        thread, so an interim snapshot reports it missing.
        """
        if self.forked_away:
            return None           # the recording is the parent's
        with self._snapshot_lock:
            if self._start is None or self._failed_start is not None or self._scope is None:
                return None
            end = readings.take()
            stacks = self._collect_stacks(restart=True)
            window = None
            if self._monitor_handle is not None:
                from dprof.task import monitor
                window = monitor.peek(self._monitor_handle, self._start.monotonic,
                                      end.monotonic)
            profile = self._build(
                Profile, end, None, window, stacks, self._scope,
                uncounted_allocations=("not available in an interim snapshot: the count is "
                                       "the task thread's own"),
                raises_counted=self._raises_acquired)
            profile.tags = dict(profile.tags, snapshot="interim")
            return profile

    def _collect_stacks(self, restart: bool):
        """Stop the stack sampler and merge what it saw into the earlier periods'."""
        sampler, self._stack_sampler = self._stack_sampler, None
        if sampler is None:
            return self._stacks_so_far
        try:
            part = sampler.stop()
        except Exception as err:
            self._note_failure("stacks", err)
            return self._stacks_so_far
        if self._stacks_so_far is not None:
            from dprof.stacks import merge
            part = merge([self._stacks_so_far, part])      # durations add up
        self._stacks_so_far = part
        if restart:
            from dprof.stacks.sampler import StackSampler
            self._stack_sampler = StackSampler(hz=self.stack_hz)
            self._stack_sampler.start()
        return part

    def _stop_measuring(self, Profile, exc):
        with self._snapshot_lock:
            return self._stop_measuring_locked(Profile, exc)

    def _stop_measuring_locked(self, Profile, exc):
        end = readings.take()
        entry = self._scope
        # each attachment is handed back and forgotten, so that _release_all (on the
        # error path) never gives anything back twice
        stacks_profile = self._collect_stacks(restart=False)
        memory_profile = None
        if self._memory_sampler is not None:
            from dprof.memory.hook import stop_memory
            sampler, self._memory_sampler = self._memory_sampler, None
            memory_profile = stop_memory(self, sampler)
        window = None
        handle, self._monitor_handle = self._monitor_handle, None
        if handle is not None:
            try:
                from dprof.task import monitor
                window = monitor.release(handle, self._start.monotonic, end.monotonic)
            except Exception as err:
                self._note_failure("resources", err)
        from dprof.memory.counter import uncounted_reason   # hooks still held here
        uncounted = uncounted_reason(self._alloc_acquired, self._start.monotonic)
        raises_counted = self._raises_acquired
        self._release_all()
        profile = self._build(Profile, end, exc, window, stacks_profile, entry,
                              uncounted_allocations=uncounted,
                              raises_counted=raises_counted)
        profile.memory = memory_profile
        return profile

    # -- building -----------------------------------------------------------------
    def _build(self, Profile, end, exc, window, stacks_profile, entry,
               uncounted_allocations: Optional[str], raises_counted: bool):
        """The Profile from the start and end readings and the resource window (a
        ``monitor.ResourceWindow`` or None); each metric comes from its own function
        in ``metrics``. ``uncounted_allocations`` is None when the allocation counter
        ran for the whole task, else why it did not; ``raises_counted`` says whether
        RAISE events were counted throughout. Works on copies of ``missing`` and
        ``sources``: snapshot() calls it mid-task."""
        start = self._start
        subject = self.subject
        runtime = metrics.runtime_seconds(start, end)
        cores = _cores()
        missing = dict(self.missing)
        sources = dict(self.sources)

        thread_scope = entry.other_threads
        if subject == "children":
            scope_name = "children"
        else:
            scope_name = "thread" if thread_scope else "process"
            if entry.interleaved:
                scope_name += "_shared_with_interleaved_tasks"

        cpu = metrics.cpu_utilization(start, end, runtime=runtime, cores=cores,
                                      subject=subject, thread_scope=thread_scope)
        _note(cpu, ("cpu_user_utilization", "cpu_system_utilization"), missing, sources)
        sources.update(_scope_sources(scope_name))
        file_io = metrics.file_io_bytes(start, end, thread_scope=thread_scope)
        _note(file_io, ("file_read_bytes", "file_write_bytes"), missing, sources)
        net = metrics.network_bytes(start, end)
        _note(net, ("network_data_sent_bytes", "network_data_received_bytes"),
              missing, sources)
        peak = metrics.memory_peak_mb(
            start, end, window, subject=subject,
            peak_source=sources.get("memory_usage_peak_mb"), peak_seen=entry.peak_seen,
            reset_failed=self._peak_reset_failed)
        _note(peak, ("memory_usage_peak_mb",), missing, sources)
        allocations = metrics.memory_allocations(start, end, subject=subject,
                                                 uncounted=uncounted_allocations,
                                                 interleaved=entry.interleaved)
        _note(allocations, ("memory_allocations",), missing, sources)
        io_wait = metrics.io_wait_seconds(window)
        _note(io_wait, ("io_wait_time_seconds",), missing, sources)
        raised = metrics.exceptions_raised(start, end, exc, counted=raises_counted,
                                           subject=subject, thread_scope=thread_scope,
                                           scope_name=scope_name)
        _note(raised, ("exceptions_raised",), missing, sources)

        cpu_user, cpu_system = metrics.pair(cpu)
        read_bytes, write_bytes = metrics.pair(file_io)
        sent, received = metrics.pair(net)
        resources = None
        resources_missing: Dict[str, str] = {}
        if window is not None:
            resources = window.columns
            # why the sampler could not give a column (its all-NaN values say nothing
            # once stored); a new dict, the sampler's is shared between profiles
            resources_missing = {k: str(v) for k, v in window.missing.items()
                                 if k in resources}
        return Profile._from_measurement(
            process_name=self.name, env=self.env, stage=self.stage,
            task_start_time=datetime.fromtimestamp(start.wall, timezone.utc),
            task_end_time=datetime.fromtimestamp(end.wall, timezone.utc),
            runtime_seconds=runtime, cpu_cores=cores,
            cpu_user_utilization=cpu_user, cpu_system_utilization=cpu_system,
            memory_usage_peak_mb=_value(peak), memory_allocations=_value(allocations),
            file_read_bytes=read_bytes, file_write_bytes=write_bytes,
            io_wait_time_seconds=_value(io_wait),
            network_data_sent_bytes=sent, network_data_received_bytes=received,
            exceptions_raised=raised.value,
            status="ok" if exc is None else "failed",
            exception_type=None if exc is None else type(exc).__qualname__,
            exception_message=None if exc is None else str(exc),
            host=_HOST, pid=os.getpid(), python_version=_PYTHON,
            parameters=self.parameters, tags=self.tags,
            missing=missing, sources=sources,
            resources=resources, resources_missing=resources_missing,
            stacks=stacks_profile,
        )

    def _note_failure(self, what: str, exc: BaseException) -> None:
        """Record that measuring ``what`` (a metric or an attachment) failed."""
        self.missing[what] = f"dprof failed to measure it: {type(exc).__name__}: {exc}"
        warnings.warn(f"dprof could not measure {what} for {self.name!r}: {exc}",
                      ProfilerWarning, stacklevel=3)
