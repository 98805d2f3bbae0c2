"""Record one task: readings at start and end, the resource series in between,
and the Profile built from them.

A ``TaskRecorder`` is what ``profile()`` and ``@profiler`` drive. It must never make
the task fail: every step that can go wrong is caught, the number it would have
given is reported missing with the reason, and a warning names what happened.
"""
from __future__ import annotations

import os
import platform
import socket
import sys
import warnings
from datetime import datetime, timezone
from typing import Any, Dict, Optional

from dprof import _native
from dprof.task import readings, scope


class ProfilerWarning(RuntimeWarning):
    """Something inside dprof failed; the task ran on and the profile says what."""


_HOST = socket.gethostname()
_PYTHON = platform.python_version()


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
                 interval: float = 0.01, stacks: bool = False, stack_hz: float = 100.0):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a profile needs a non-empty name, got {name!r}")
        if not (isinstance(interval, (int, float)) and interval > 0):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.name = name
        self.env = env
        self.stage = stage
        self.parameters = dict(parameters or {})
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

    # -- lifecycle --------------------------------------------------------------
    def start(self) -> None:
        self._scope = scope.enter()
        try:
            _native.alloc_counter_acquire()
            self._alloc_acquired = True
        except Exception as exc:   # never let the task see it
            self._note_failure("memory_allocations", exc)
        reason = readings.reset_peak_rss()
        if reason is None:
            self.sources["memory_usage_peak_mb"] = "vmhwm_reset"
        else:
            self.sources["memory_usage_peak_mb"] = "sampled"
            self._peak_reset_failed = reason
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
        end = readings.take()
        from dprof.profile import Profile

        stacks_profile = None
        if self._stack_sampler is not None:
            try:
                stacks_profile = self._stack_sampler.stop()
            except Exception as err:
                self._note_failure("stacks", err)
        series = None
        if self._monitor_handle is not None:
            try:
                from dprof.task import monitor
                series = monitor.release(self._monitor_handle, self._start.monotonic,
                                         end.monotonic)
            except Exception as err:
                self._note_failure("resources", err)
        if self._alloc_acquired:
            try:
                _native.alloc_counter_release()
            except Exception as err:
                self._note_failure("memory_allocations", err)
        scope.leave(self._scope)
        try:
            return self._build(Profile, end, exc, series, stacks_profile)
        except Exception as err:   # a bug of ours: still give the caller a record
            self._note_failure("profile", err)
            start = self._start
            return Profile(
                process_name=self.name, env=self.env, stage=self.stage,
                task_start_time=datetime.fromtimestamp(start.wall, timezone.utc),
                task_end_time=datetime.fromtimestamp(end.wall, timezone.utc),
                runtime_seconds=max(0.0, end.monotonic - start.monotonic),
                status="failed" if exc is not None else "ok",
                exception_type=type(exc).__name__ if exc is not None else None,
                exception_message=str(exc) if exc is not None else None,
                host=_HOST, pid=os.getpid(), python_version=_PYTHON,
                parameters=self.parameters, tags=self.tags,
                missing=dict(self.missing), sources=dict(self.sources))

    # -- building -----------------------------------------------------------------
    def _build(self, Profile, end, exc, series, stacks_profile):
        start = self._start
        entry = self._scope
        runtime = max(0.0, end.monotonic - start.monotonic)
        cores = _cores()
        missing = self.missing
        sources = self.sources

        thread_scope = entry.other_threads
        scope_name = "thread" if thread_scope else "process"
        if entry.interleaved:
            scope_name += "_shared_with_interleaved_tasks"
        sources["scope"] = scope_name

        # CPU: the process (and its reaped children), or the thread
        if thread_scope:
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
        sources["cpu"] = f"getrusage ({scope_name})"

        # file I/O: bytes that went to or came from storage (not page-cache hits)
        io_key = "thread_io" if thread_scope else "process_io"
        io_start, io_end = getattr(start, io_key), getattr(end, io_key)
        if io_start is None or io_end is None:
            read_bytes = write_bytes = None
            reason = start.missing.get(io_key) or end.missing.get(io_key) or "I/O counters unavailable"
            missing["file_read_bytes"] = missing["file_write_bytes"] = reason
        else:
            read_bytes = io_end["read_bytes"] - io_start["read_bytes"]
            write_bytes = io_end["write_bytes"] - io_start["write_bytes"]
        sources["file_io"] = f"/proc io read_bytes/write_bytes ({scope_name})"

        # network: Linux keeps no per-process counters, only the namespace's
        if start.net_sent is None or end.net_sent is None:
            sent = received = None
            missing["network_data_sent_bytes"] = missing["network_data_received_bytes"] = \
                start.missing.get("net") or end.missing.get("net") or "network counters unavailable"
        else:
            sent = end.net_sent - start.net_sent
            received = end.net_received - start.net_received
        sources["network"] = "network namespace totals (/proc/net/dev, all interfaces but lo)"

        # peak memory during the task
        peak_bytes = None
        if sources.get("memory_usage_peak_mb") == "vmhwm_reset":
            peak_bytes = end.max_rss_bytes
        if series is not None and "rss_bytes" in series:
            import numpy as np
            rss = series["rss_bytes"]
            if len(rss) and not np.all(np.isnan(rss)):
                sampled = float(np.nanmax(rss))
                peak_bytes = sampled if peak_bytes is None else max(peak_bytes, sampled)
        if peak_bytes is None:
            missing["memory_usage_peak_mb"] = getattr(
                self, "_peak_reset_failed", "no RSS sample fell inside the task")
        peak_mb = None if peak_bytes is None else peak_bytes / (1024 * 1024)

        # allocations: the calling thread's count (see csrc/allocs_binding.c)
        allocations = None
        if self._alloc_acquired:
            allocations = end.allocations - start.allocations
            sources["memory_allocations"] = (
                "PyMem/PyObject allocations by the task's thread"
                + (" (shared with interleaved tasks)" if entry.interleaved else ""))
        else:
            missing.setdefault("memory_allocations", "allocation counter unavailable")

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

        status = "ok" if exc is None else "failed"
        sources["exceptions_raised"] = "exceptions that escaped the task"
        resources = None
        if series is not None:
            resources = {k: v for k, v in series.items() if not k.startswith("_")}
        return Profile(
            process_name=self.name, env=self.env, stage=self.stage,
            task_start_time=datetime.fromtimestamp(start.wall, timezone.utc),
            task_end_time=datetime.fromtimestamp(end.wall, timezone.utc),
            runtime_seconds=runtime, cpu_cores=cores,
            cpu_user_utilization=cpu_user, cpu_system_utilization=cpu_system,
            memory_usage_peak_mb=peak_mb, memory_allocations=allocations,
            file_read_bytes=read_bytes, file_write_bytes=write_bytes,
            io_wait_time_seconds=io_wait,
            network_data_sent_bytes=sent, network_data_received_bytes=received,
            exceptions_raised=0 if exc is None else 1,
            status=status,
            exception_type=None if exc is None else type(exc).__qualname__,
            exception_message=None if exc is None else str(exc),
            host=_HOST, pid=os.getpid(), python_version=_PYTHON,
            parameters=self.parameters, tags=self.tags,
            missing=dict(missing), sources=dict(sources),
            resources=resources, stacks=stacks_profile,
        )

    def _note_failure(self, what: str, exc: BaseException) -> None:
        self.missing[what] = f"dprof failed to measure it: {type(exc).__name__}: {exc}"
        warnings.warn(f"dprof could not measure {what} for {self.name!r}: {exc}",
                      ProfilerWarning, stacklevel=3)
