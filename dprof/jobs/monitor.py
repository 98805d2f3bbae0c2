"""``JobMonitor``: Keystone's job monitor, measuring with dprof and storing a Profile.

    monitor = JobMonitor(enable_profiling=True)
    monitor.start_monitoring()                      # this process's work ...
    run_the_job()
    job = monitor.stop_monitoring()                 # ... the "complete job profile"

    monitor.start_monitoring(command=["make", "all"])   # or a command and its children
    job = monitor.stop_monitoring()                 # waits for it

    job = JobMonitor().run_command(["python", "train.py"])

In-process, the measuring is ``dprof.session.ProfileRun``'s (as ``@profiler``):
CPU and peak memory are this process's during the job, the series
(``detailed_profile``) this process's and its descendants'.

For a command, the job is the command's process tree alone: its CPU comes from
``wait4()`` on it (the command and the descendants it waited for, nothing else
this process reaped meanwhile), its series from a ``ResourceProfiler`` on its pid
with ``children=True``, and its peak memory from that series: the command's own
VmHWM and its tree's summed RSS, read every interval. ``ru_maxrss`` is not used,
because exec() copies the launching process's high-water mark into it (a 30 MB
command started from a 400 MB process would report 400 MB).
"""
from __future__ import annotations

import json
import os
import subprocess
import uuid
import warnings
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from . import shape


class JobMonitor:
    """Measure one job at a time; each finished job is stored as a Profile.

    ``enable_profiling``: sample the resource series (``detailed_profile``); when
    False only the start/end readings are taken and ``detailed_profile`` is None.
    ``interval``: sampling interval in seconds. ``process_name``, ``env``,
    ``stage``: the stored Profile's (default process name: the command, or
    "job"). ``repo``: a ProfileRepo, URL or path (default: dprof's database);
    ``store=False`` keeps it out of the database. ``history_file``: also append
    each job profile as one JSON line to this file (Keystone's job history).
    """

    def __init__(self, enable_profiling: bool = True, *, interval: float = 0.01,
                 process_name: Optional[str] = None, env: Optional[str] = None,
                 stage: Optional[str] = None, repo=None, store: bool = True,
                 history_file: Optional[str] = None):
        from dprof.limits import INTERVAL_S, check_range     # ranges: dprof/limits.py
        interval = check_range("JobMonitor interval", interval, INTERVAL_S, " seconds")
        self.enable_profiling = bool(enable_profiling)
        self.interval = float(interval)
        self.process_name = process_name
        self.env, self.stage = env, stage
        self.repo, self.store = repo, store
        self.history_file = history_file
        self.profile = None            # the last job's stored Profile
        self.job_profile: Optional[Dict[str, Any]] = None
        self._run = None
        self._child: Optional[subprocess.Popen] = None
        self._child_profiler = None        # ResourceProfiler on the command's pid
        self._task_id: Optional[str] = None

    @property
    def monitoring(self) -> bool:
        return self._run is not None

    def start_monitoring(self, task_id: Optional[str] = None,
                         command: Optional[Sequence[str]] = None, **popen_kwargs) -> None:
        """Begin a job. ``task_id``: its id (default: a fresh uuid4 hex). ``command``:
        an argument list to start as a child process (``popen_kwargs`` go to
        ``subprocess.Popen``); without it the job is whatever this process does
        until ``stop_monitoring()``. RuntimeError if a job is already running;
        FileNotFoundError/OSError if the command cannot be started (nothing is
        stored then)."""
        from dprof.session import ProfileRun
        if self._run is not None:
            raise RuntimeError("JobMonitor is already monitoring a job; "
                               "call stop_monitoring() first")
        argv: Optional[List[str]] = None
        if command is not None:
            if isinstance(command, (str, bytes)):
                raise TypeError("JobMonitor command must be a list of arguments, "
                                "e.g. ['make', 'all'], not a string")
            argv = [os.fspath(a) for a in command]
            if not argv:
                raise ValueError("JobMonitor command is empty")
        self._task_id = str(task_id) if task_id is not None else uuid.uuid4().hex
        name = self.process_name or (" ".join(argv) if argv else "job")
        tags = {shape.TASK_ID_TAG: self._task_id}
        limit = _memory_limit_tag()
        if limit is not None:
            tags[shape.MEMORY_LIMIT_TAG] = limit
        # stored here, not by the run: a command's figures are corrected first
        run = ProfileRun(name, env=self.env, stage=self.stage, repo=self.repo,
                         store=False, interval=self.interval,
                         resources=self.enable_profiling and not argv, tags=tags,
                         parameters={"kind": "job", "argv": argv} if argv else {"kind": "job"},
                         subject="children" if argv else "self")
        run.__enter__()
        if argv:
            try:
                self._child = subprocess.Popen(argv, **popen_kwargs)
            except BaseException:
                run.__exit__(None, None, None)     # nothing ran; nothing is stored
                raise
            self._child_profiler = _start_tree_profiler(self._child.pid, self.interval)
        self._run = run

    def stop_monitoring(self, exc: Optional[BaseException] = None,
                        timeout: Optional[float] = None) -> Dict[str, Any]:
        """End the job and return its job profile (also kept in ``job_profile``;
        the stored Profile is ``profile``). With a command, waits for it (at most
        ``timeout`` seconds, then it is killed and the job is failed). ``exc``: the
        exception that ended an in-process job, if any (the job is then failed)."""
        if self._run is None:
            raise RuntimeError("JobMonitor.stop_monitoring() called before start_monitoring()")
        run, child, tree = self._run, self._child, self._child_profiler
        self._run = self._child = self._child_profiler = None
        rusage = None
        if child is not None:
            try:
                rusage = _reap(child, timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                rusage = _reap(child, None)
                run.tag("timed_out", str(timeout))
            except BaseException:
                child.kill()
                _reap(child, None)
                raise
            run.tag(shape.RETURNCODE_TAG, str(child.returncode))
            if child.returncode != 0 and exc is None:
                exc = _CommandFailed(child.returncode)
        run.__exit__(type(exc) if exc else None, exc, None)
        profile = run.profile
        if child is not None:
            _command_figures(profile, rusage, _stop_tree_profiler(tree),
                             keep_series=self.enable_profiling)
        self.profile = profile
        self._store_profile(profile)
        self.job_profile = shape.job_profile(self.profile, detailed=self.enable_profiling)
        if self.history_file is not None:
            with open(self.history_file, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(self.job_profile, allow_nan=False) + "\n")
        return self.job_profile

    def _store_profile(self, profile) -> None:
        """Store as ProfileRun does: never raise into the job's code."""
        if not self.store:
            return
        from dprof.session import ProfilerWarning, _resolve_repo
        try:
            _resolve_repo(self.repo).add(profile)
        except Exception as err:
            warnings.warn(f"dprof could not store the job profile of "
                          f"{profile.process_name!r}: {err}", ProfilerWarning, stacklevel=3)

    def run_command(self, command: Sequence[str], task_id: Optional[str] = None,
                    timeout: Optional[float] = None, **popen_kwargs) -> Dict[str, Any]:
        """Start ``command``, wait for it, and return its job profile."""
        self.start_monitoring(task_id=task_id, command=command, **popen_kwargs)
        return self.stop_monitoring(timeout=timeout)

    def __enter__(self) -> "JobMonitor":
        self.start_monitoring()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        self.stop_monitoring(exc)
        return False

    def __repr__(self) -> str:
        state = f"monitoring {self._task_id}" if self._run is not None else "idle"
        return f"<JobMonitor {state}>"


class _CommandFailed(Exception):
    """A command that exited non-zero: the failed job's exception."""

    def __init__(self, returncode: int):
        super().__init__(f"command exited with {returncode}")


def _reap(child: subprocess.Popen, timeout: Optional[float]):
    """Wait for ``child`` with wait4() and return its rusage (its own and that of
    the descendants it waited for), setting ``child.returncode``."""
    if timeout is not None:
        # Popen's wait polls until the child is a zombie without reaping it
        # only via its own waitpid; wait here for the exit, then reap with wait4
        import time
        deadline = time.monotonic() + timeout
        while True:
            pid, status, rusage = os.wait4(child.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() >= deadline:
                raise subprocess.TimeoutExpired(child.args, timeout)
            time.sleep(0.005)
    else:
        while True:
            try:
                pid, status, rusage = os.wait4(child.pid, 0)
                break
            except InterruptedError:       # retried by Python since 3.5; kept safe
                continue
    child.returncode = os.waitstatus_to_exitcode(status) if hasattr(
        os, "waitstatus_to_exitcode") else _exit_code(status)
    return rusage


def _exit_code(status: int) -> int:
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return os.WEXITSTATUS(status)


def _start_tree_profiler(pid: int, interval: float):
    """A started ResourceProfiler on the command's process tree, or None (a
    failure here must not fail the job; the figures then say what is missing)."""
    try:
        from dprof.resources import ResourceProfiler
        rp = ResourceProfiler(interval=interval, pid=pid, children=True)
        rp.start_profiling()
        return rp
    except Exception as exc:
        return exc


def _stop_tree_profiler(tree):
    """The command tree's ResourceSeries, or the exception that prevented it."""
    if tree is None or isinstance(tree, BaseException):
        return tree
    try:
        tree.stop_profiling()
        return tree.samples
    except Exception as exc:
        return exc


_MB = float(1 << 20)


def _command_figures(profile, rusage, series, keep_series: bool) -> None:
    """Replace the run's figures with the command tree's own (see the module
    docstring): CPU from wait4's rusage, peak memory and series from the tree
    profiler."""
    runtime, cores = profile.runtime_seconds, profile.cpu_cores
    if rusage is not None and runtime and cores:
        for name, seconds in (("cpu_user_utilization", rusage.ru_utime),
                              ("cpu_system_utilization", rusage.ru_stime)):
            setattr(profile, name, seconds / (runtime * cores))
            profile.missing.pop(name, None)
            profile.sources[name] = "wait4 rusage of the command (and the descendants it waited for)"
    peak = None
    if isinstance(series, BaseException) or series is None:
        why = f"the command's process tree could not be sampled: {series!r}"
    else:
        why = "no sample of the command's process tree (it ended within one interval)"
        marks = [series[c] for c in ("rss_peak_bytes", "rss_bytes")
                 if c in series.columns and c not in series.missing]
        values = np.concatenate(marks) if marks else np.array([])
        if values.size and not np.isnan(values).all():
            peak = float(np.nanmax(values)) / _MB
    profile.memory_usage_peak_mb = peak
    if peak is None:
        profile.missing["memory_usage_peak_mb"] = why
        profile.sources.pop("memory_usage_peak_mb", None)
    else:
        profile.missing.pop("memory_usage_peak_mb", None)
        profile.sources["memory_usage_peak_mb"] = (
            "the command's VmHWM and its tree's summed RSS, sampled (a lower bound: "
            "growth in the last interval before it exited is not seen)")
    if keep_series and not isinstance(series, BaseException) and series is not None \
            and len(series):
        profile.resources = {c: np.array(series[c]) for c in series.columns}
        profile.resources_missing = {c: r for c, r in series.missing.items()
                                     if c in profile.resources}
        profile.missing.pop("resources", None)
    profile.validate()


def _memory_limit_tag() -> Optional[str]:
    """memory.max of this process's cgroup, as text (the job's children are in it
    too unless moved), or None when it cannot be read."""
    from dprof.resources.profiler import memory_limit
    limit, _ = memory_limit(os.getpid())
    return None if limit is None else repr(limit)


# Used by `dprof run -- COMMAND` too, so that both give a command the same figures.
reap = _reap
start_tree_profiler = _start_tree_profiler
stop_tree_profiler = _stop_tree_profiler
command_figures = _command_figures
