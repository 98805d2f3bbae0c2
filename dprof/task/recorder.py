"""Record one task: readings at start and end, the resource series in between,
and the Profile built from them.

A ``TaskRecorder`` is what ``profile()`` and ``@profiler`` drive. It must never make
the task fail: every step that can go wrong is caught, the number it would have
given is reported missing with the reason, and a warning names what happened.
"""
from __future__ import annotations

import functools
import os
import platform
import socket
import sys
import threading
import warnings
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from dprof import _native
# imported here, not on a profile's first stop: importing numpy and the record
# module inside the first task's window would be counted as that task's work
# (its allocations and the exceptions importlib raises and catches)
from dprof.record import METRICS, Profile
from dprof.task import exceptions, readings, scope


# RSS may grow between the high-water reset and the start reading that checks it
_RSS_SLACK = 1 << 20


class ProfilerWarning(RuntimeWarning):
    """Something inside dprof failed; the task ran on and the profile says what."""


_HOST = socket.gethostname()
_PYTHON = platform.python_version()


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
                 subject: str = "self"):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a profile needs a non-empty name, got {name!r}")
        if not (isinstance(interval, (int, float)) and interval > 0):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
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

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        """Begin measuring (never raises: a failure is recorded and warned about)."""
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
        self._start = readings.take()

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

    def _release_all(self) -> None:
        """Give back everything start() took; safe to call more than once."""
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
                monitor.release(handle, 0.0, 0.0)
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
        with self._snapshot_lock:
            if self._start is None or self._failed_start is not None or self._scope is None:
                return None
            end = readings.take()
            stacks = self._collect_stacks(restart=True)
            series = None
            if self._monitor_handle is not None:
                from dprof.task import monitor
                series = monitor.peek(self._monitor_handle, self._start.monotonic,
                                      end.monotonic)
            profile = self._build(
                Profile, end, None, series, stacks, self._scope,
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
        series = None
        handle, self._monitor_handle = self._monitor_handle, None
        if handle is not None:
            try:
                from dprof.task import monitor
                series = monitor.release(handle, self._start.monotonic, end.monotonic)
            except Exception as err:
                self._note_failure("resources", err)
        counted = self._alloc_acquired
        raises_counted = self._raises_acquired
        self._release_all()
        return self._build(Profile, end, exc, series, stacks_profile, entry,
                           uncounted_allocations=None if counted else
                           "allocation counter unavailable",
                           raises_counted=raises_counted)

    # -- building -----------------------------------------------------------------
    def _build(self, Profile, end, exc, series, stacks_profile, entry,
               uncounted_allocations: Optional[str], raises_counted: bool):
        """The Profile from the start and end readings. ``uncounted_allocations`` is
        None when the allocation counter ran for the whole task, else why it did not;
        ``raises_counted`` says whether RAISE events were counted throughout.
        Works on copies of ``missing``/``sources``: snapshot() calls it mid-task."""
        start = self._start
        runtime = max(0.0, end.monotonic - start.monotonic)
        cores = _cores()
        missing = dict(self.missing)
        sources = dict(self.sources)

        thread_scope = entry.other_threads
        scope_name = "thread" if thread_scope else "process"
        if entry.interleaved:
            scope_name += "_shared_with_interleaved_tasks"

        # CPU: the process (and its reaped children), the thread, or only the children
        if self.subject == "children":
            user = end.children_cpu_user - start.children_cpu_user
            system = end.children_cpu_system - start.children_cpu_system
            scope_name = "children"
        elif thread_scope:
            if start.thread_cpu_user is None or end.thread_cpu_user is None:
                user = system = None
                missing["cpu_user_utilization"] = missing["cpu_system_utilization"] = \
                    start.missing.get("thread_cpu", "thread CPU time not available")
            else:
                user = end.thread_cpu_user - start.thread_cpu_user
                system = end.thread_cpu_system - start.thread_cpu_system
        else:
            user = (end.process_cpu_user - start.process_cpu_user
                    + end.children_cpu_user - start.children_cpu_user)
            system = (end.process_cpu_system - start.process_cpu_system
                      + end.children_cpu_system - start.children_cpu_system)
        if user is not None and runtime > 0:
            cpu_user = user / (runtime * cores)
            cpu_system = system / (runtime * cores)
        else:
            cpu_user = cpu_system = None
            if runtime <= 0:
                missing.setdefault("cpu_user_utilization", "runtime too short to measure")
                missing.setdefault("cpu_system_utilization", "runtime too short to measure")
        sources.update(_scope_sources(scope_name))

        # file I/O: bytes that went to or came from storage (not page-cache hits)
        io_key = "thread_io" if thread_scope else "process_io"
        io_start, io_end = getattr(start, io_key), getattr(end, io_key)
        if io_start is None or io_end is None:
            read_bytes = write_bytes = None
            reason = start.missing.get(io_key) or end.missing.get(io_key) or "I/O counters unavailable"
            missing["file_read_bytes"] = missing["file_write_bytes"] = reason
        else:
            read_bytes = io_end[readings.IO_READ_BYTES] - io_start[readings.IO_READ_BYTES]
            write_bytes = io_end[readings.IO_WRITE_BYTES] - io_start[readings.IO_WRITE_BYTES]

        # network: Linux keeps no per-process counters, only the namespace's
        if start.net_sent is None or end.net_sent is None:
            sent = received = None
            missing["network_data_sent_bytes"] = missing["network_data_received_bytes"] = \
                start.missing.get("net") or end.missing.get("net") or "network counters unavailable"
        else:
            sent = end.net_sent - start.net_sent
            received = end.net_received - start.net_received

        # peak memory during the task
        peak_bytes = None
        if self.subject == "children":
            # ru_maxrss of RUSAGE_CHILDREN: the largest peak among reaped children
            # (the sampled series below adds the live process tree's summed RSS)
            peak_bytes = readings.children_max_rss_bytes() or None
            sources["memory_usage_peak_mb"] = "children ru_maxrss and sampled tree RSS"
        elif sources.get("memory_usage_peak_mb") == "vmhwm_reset":
            # the high-water mark since the last reset, and those handed over by
            # resets that nested or concurrent profiles made meanwhile. ru_maxrss
            # is that mark unless exec() from a bigger image latched a higher one
            # into signal->maxrss (it then exceeded the RSS right after the reset):
            # read VmHWM then.
            latched = (start.rss_bytes is None
                       or start.max_rss_bytes > start.rss_bytes + _RSS_SLACK)
            mark = readings.vmhwm_bytes() if latched else end.max_rss_bytes
            if mark is None:
                mark = end.max_rss_bytes if not latched else None
            if mark is not None:
                peak_bytes = max(mark, entry.peak_seen)
            else:
                sources["memory_usage_peak_mb"] = "sampled"
        if series is not None and "rss_bytes" in series:
            import numpy as np
            rss = series["rss_bytes"]
            if len(rss) and not np.all(np.isnan(rss)):
                sampled = float(np.nanmax(rss))
                peak_bytes = sampled if peak_bytes is None else max(peak_bytes, sampled)
        if peak_bytes is None:
            missing["memory_usage_peak_mb"] = (
                self._peak_reset_failed or "no RSS sample fell inside the task")
        peak_mb = None if peak_bytes is None else peak_bytes / (1024 * 1024)

        # allocations: the calling thread's count (see csrc/allocs_binding.c)
        allocations = None
        if uncounted_allocations is None:
            allocations = end.allocations - start.allocations
            sources["memory_allocations"] = (
                "PyMem/PyObject allocations by the task's thread"
                + (" (shared with interleaved tasks)" if entry.interleaved else ""))
        elif self.subject == "children":
            missing["memory_allocations"] = ("not counted for external commands: the "
                                             "counter sees only Python allocations in "
                                             "this interpreter")
        else:
            missing.setdefault("memory_allocations", uncounted_allocations)

        # I/O wait
        io_wait = None
        if series is not None and series.get("_io_wait_seconds") is not None:
            io_wait = series["_io_wait_seconds"]
            sources["io_wait_time_seconds"] = series.get("_io_wait_source", "dstate_samples")
        else:
            missing["io_wait_time_seconds"] = (
                series.get("_io_wait_missing") if series is not None and
                series.get("_io_wait_missing") else
                "no resource samples: enable resources or run longer than one sampling interval")

        exceptions_raised = self._exceptions_raised(start, end, exc, raises_counted,
                                                    thread_scope, scope_name, sources)

        status = "ok" if exc is None else "failed"
        resources = None
        resources_missing: Dict[str, str] = {}
        if series is not None:
            resources = {k: v for k, v in series.items() if not k.startswith("_")}
            # why the sampler could not give a column (its all-NaN values say nothing
            # once stored); a new dict, the sampler's is shared between profiles
            reasons = series.get("_missing") or {}
            resources_missing = {k: str(v) for k, v in reasons.items() if k in resources}
        return Profile._from_measurement(
            process_name=self.name, env=self.env, stage=self.stage,
            task_start_time=datetime.fromtimestamp(start.wall, timezone.utc),
            task_end_time=datetime.fromtimestamp(end.wall, timezone.utc),
            runtime_seconds=runtime, cpu_cores=cores,
            cpu_user_utilization=cpu_user, cpu_system_utilization=cpu_system,
            memory_usage_peak_mb=peak_mb, memory_allocations=allocations,
            file_read_bytes=read_bytes, file_write_bytes=write_bytes,
            io_wait_time_seconds=io_wait,
            network_data_sent_bytes=sent, network_data_received_bytes=received,
            exceptions_raised=exceptions_raised,
            status=status,
            exception_type=None if exc is None else type(exc).__qualname__,
            exception_message=None if exc is None else str(exc),
            host=_HOST, pid=os.getpid(), python_version=_PYTHON,
            parameters=self.parameters, tags=self.tags,
            missing=missing, sources=sources,
            resources=resources, resources_missing=resources_missing,
            stacks=stacks_profile,
        )

    def _exceptions_raised(self, start, end, exc, counted, thread_scope, scope_name,
                           sources) -> int:
        """Exceptions raised in the task, caught ones included where sys.monitoring
        counted them (3.12+); else only the one that escaped. An escaped exception
        that never passed through a Python frame of the task (raised by a C callable)
        had no RAISE event: it still counts."""
        escaped = 0 if exc is None else 1
        if counted and self.subject == "self":
            if thread_scope:
                raised = end.raises_thread - start.raises_thread
            else:
                raised = end.raises_process - start.raises_process
            sources["exceptions_raised"] = (f"sys.monitoring RAISE events ({scope_name}), "
                                            "caught exceptions included")
            return max(raised, escaped)
        if self.subject == "children":
            why = "the commands' own exceptions are not visible to dprof"
        else:
            why = exceptions.reason() or "the raise counter was not available"
        sources["exceptions_raised"] = f"only an exception that escaped the task ({why})"
        return escaped

    def _note_failure(self, what: str, exc: BaseException) -> None:
        """Record that measuring ``what`` (a metric or an attachment) failed."""
        self.missing[what] = f"dprof failed to measure it: {type(exc).__name__}: {exc}"
        warnings.warn(f"dprof could not measure {what} for {self.name!r}: {exc}",
                      ProfilerWarning, stacklevel=3)
