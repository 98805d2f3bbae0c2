"""``dprof run script.py`` watched from outside: a profile even when the program
never comes back through dprof (``os._exit``, SIGKILL, the OOM killer, an exec).

The CLI process forks before the profile starts. The child goes on exactly as an
unwatched ``dprof run`` would (same interpreter state, same stdin/stdout/stderr, same
tracebacks, the profile stored and the summary printed by it); the parent only waits
for it with ``wait4`` and then leaves with the child's exit status (its exit code, or
the same signal re-raised on itself). While the program runs, the child rewrites
``flush.json`` (an interim profile, ``TaskRecorder.snapshot``) every
``$DPROF_RUN_FLUSH_SECONDS`` (default 5) seconds, and notes (in a ``state`` file
and on a pipe, so that one of them gets through a full /tmp or a program that
closes every descriptor) the id of its profile and, once stored, spooled or said
lost, that it is done.

When the child ends without saying it is done, the parent builds the
profile itself: identity and runtime from what it knows, CPU, peak memory and
storage I/O from the child's ``wait4`` rusage (measured from outside), the resource
series and stacks from the last flush, with ``sources`` saying up to when, and every
figure it cannot have (allocations, exceptions, I/O wait, network) missing with the
reason. It stores that under the child's profile id (so that a profile the child had
committed just before dying is not stored twice) and says what happened in one line.

Costs (docs/watched-runs.md): one fork (a few ms), a sleeping parent process sharing
the child's pages copy-on-write, one interim profile written every flush period,
and two differences a program can see: its pid is not the pid the shell started
(``os.getppid()`` is dprof's parent process), and SIGINT/SIGQUIT sent to that pid
alone are not passed on (from a terminal they reach the program directly, as the
whole foreground group gets them); SIGTERM, SIGHUP, SIGUSR1 and SIGUSR2 are passed on.
``DPROF_RUN_WATCH=0`` runs the program in the CLI process as before.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from datetime import datetime, timezone
from typing import Dict, List, Optional
from dprof._threads import background_thread

ENV_WATCH = "DPROF_RUN_WATCH"
ENV_FLUSH_SECONDS = "DPROF_RUN_FLUSH_SECONDS"
DEFAULT_FLUSH_SECONDS = 5.0

# passed on to the program; SIGINT and SIGQUIT come from the terminal to the whole
# process group, so passing them on would deliver them twice
_FORWARDED = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGUSR2)
_BLOCKED = _FORWARDED + (signal.SIGINT, signal.SIGQUIT)


def enabled() -> bool:
    return os.environ.get(ENV_WATCH, "1").strip() not in ("0", "no", "false", "off")


def flush_seconds() -> float:
    text = os.environ.get(ENV_FLUSH_SECONDS, "")
    if not text.strip():
        return DEFAULT_FLUSH_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if 0.01 <= value <= 86400:
        return value
    print(f"dprof: ${ENV_FLUSH_SECONDS} must be a number of seconds from 0.01 to 86400, "
          f"got {text!r}; flushing every {DEFAULT_FLUSH_SECONDS:g} s", file=sys.stderr)
    return DEFAULT_FLUSH_SECONDS


class Identity:
    """What the parent needs to name a profile it builds itself."""

    def __init__(self, name: str, env, stage, tags: Dict[str, str],
                 parameters: Dict[str, object], repo, store: bool,
                 output: Optional[str] = None, output_format: Optional[str] = None) -> None:
        self.name, self.env, self.stage = name, env, stage
        self.tags, self.parameters = dict(tags), dict(parameters)
        self.repo, self.store = repo, store
        self.output, self.output_format = output, output_format   # dprof run -o
        self.flush_seconds = DEFAULT_FLUSH_SECONDS


class Child:
    """The forked child's side: the flush writer and the state notes."""

    def __init__(self, directory: str, interval: float, pipe: int) -> None:
        self.flush_path = os.path.join(directory, "flush.json")
        self._state_path = os.path.join(directory, "state")
        self._pipe = pipe
        # the number may be reused for a file of the program's if it closes ours:
        # notes go to the pipe only while the descriptor is still this pipe
        self._pipe_inode = os.fstat(pipe).st_ino
        self._pid = os.getpid()
        self._interval = interval
        self._recorder = None
        self._lock = threading.Lock()       # held while a flush is written
        self._stopped = False
        self._released = threading.Event()
        self._thread: Optional[threading.Thread] = None

    # the flush writer has PeriodicWriter's start/stop (see run._writing)
    def watching(self, recorder) -> "Child":
        self._recorder = recorder
        return self

    def start(self) -> None:
        self._thread = background_thread(self._loop, "dprof-run-flush")
        self._thread.start()

    def stop(self) -> None:
        """No flush after this (waits for one being written). The thread itself
        lives on, asleep, until :meth:`release`: alive when the stack sampler stops,
        it is known by its name as dprof's own and left out of the stacks."""
        with self._lock:
            self._stopped = True

    def release(self) -> None:
        self._released.set()

    def _loop(self) -> None:
        from dprof.cli.periodic import write_profile
        while not self._released.wait(self._interval):
            with self._lock:
                if self._stopped:
                    break
                try:
                    profile = self._recorder.snapshot()
                    if profile is not None:
                        write_profile(profile, self.flush_path)
                except Exception:   # a flush that fails only makes a lost run's
                    pass            # profile poorer; the program must not see it
        self._released.wait()

    def note(self, line: str) -> None:
        """Tell the parent one line, through the state file and the pipe (either
        may fail: a full /tmp, a program that closed every descriptor); never raises.
        Only this process's notes count, not those of a child it forked."""
        if os.getpid() != self._pid:
            return
        data = (line + "\n").encode("utf-8", "backslashreplace")
        try:
            fd = os.open(self._state_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)
        except OSError:
            pass
        try:
            if os.fstat(self._pipe).st_ino == self._pipe_inode:
                os.write(self._pipe, data)   # a few bytes: never blocks (64 KiB)
        except OSError:                      # closed by the program, or no reader
            pass


def fork(identity: Identity) -> Optional[Child]:
    """Fork the watcher. Returns a Child in the child; in the parent, waits for the
    child and never returns: it exits with the child's status. Returns None (no
    watcher: run in this process) when the fork fails."""
    try:
        directory = tempfile.mkdtemp(prefix="dprof-run-")
        read_end, write_end = os.pipe()
    except OSError:
        return None
    interval = identity.flush_seconds = flush_seconds()
    for stream in (sys.stdout, sys.stderr):   # nothing buffered is written twice
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    # signals wait until each side has its handlers (the child: the program's own)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED)
    try:
        pid = os.fork()
    except OSError:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        shutil.rmtree(directory, ignore_errors=True)
        os.close(read_end)
        os.close(write_end)
        return None
    if pid == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        os.close(read_end)
        return Child(directory, interval, write_end)
    os.close(write_end)
    start_wall, start_mono = time.time(), time.monotonic()
    for sig in _FORWARDED:
        signal.signal(sig, lambda signum, frame: _forward(pid, signum))
    for sig in (signal.SIGINT, signal.SIGQUIT):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
    status, rusage = _wait(pid)
    end_wall, end_mono = time.time(), time.monotonic()
    try:
        state = _read_state(os.path.join(directory, "state"), read_end)
        if "done" not in state:
            _profile_the_lost_run(identity, directory, state, pid, status, rusage,
                                  (start_wall, start_mono, end_wall, end_mono))
    except Exception as err:   # the program's exit status passes through regardless
        print(f"dprof: the program ended without its profile, and dprof could not "
              f"build one from outside: {err!r}", file=sys.stderr)
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    _exit_like(status)


def _forward(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass


def _wait(pid: int):
    while True:
        try:
            _, status, rusage = os.wait4(pid, 0)
            return status, rusage
        except InterruptedError:
            continue


def _exit_like(status: int):
    """Leave as the child did: its exit code, or killed by the same signal."""
    sys.stdout.flush()
    sys.stderr.flush()
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            signal.signal(sig, signal.SIG_DFL)
        except (OSError, ValueError):     # SIGKILL and SIGSTOP cannot be handled
            pass
        signal.pthread_sigmask(signal.SIG_UNBLOCK, [sig])
        os.kill(os.getpid(), sig)
        os._exit(128 + sig)        # a signal whose default action is not to end
    os._exit(os.WEXITSTATUS(status))


def _read_state(path: str, pipe: int) -> Dict[str, str]:
    """``id`` (the child's profile id, once built) and ``done`` (its profile was
    stored, spooled or said to be lost: nothing for the watcher to do)."""
    text = ""
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read()
    except OSError:
        pass
    os.set_blocking(pipe, False)   # a grandchild may hold the write end open
    try:
        text += os.read(pipe, 65536).decode("utf-8", "replace")
    except (BlockingIOError, OSError):
        pass
    state: Dict[str, str] = {}
    for line in text.splitlines():
        key, _, value = line.partition(" ")
        state[key] = value
    return state


def _how_it_ended(status: int):
    """(exception_type, exception_message) for a child that did not return."""
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        name = signal.Signals(sig).name
        return name, f"the program was killed by {name} (signal {sig}) before dprof could record it"
    code = os.WEXITSTATUS(status)
    return ("os._exit", f"the program ended with exit code {code} without returning "
                        f"through dprof (os._exit, or an exec)")


def _profile_the_lost_run(identity: Identity, directory: str, state: Dict[str, str],
                          pid: int, status: int, rusage, times) -> None:
    start_wall, start_mono, end_wall, end_mono = times
    profile, flushed_at = _last_flush(os.path.join(directory, "flush.json"))
    exc_type, message = _how_it_ended(status)
    profile = outside_profile(identity, profile, flushed_at, rusage, exc_type, message,
                              start_wall, end_wall, end_mono - start_mono, pid)
    if state.get("id"):
        profile.id = state["id"]       # the profile the child was storing, if it got far
    profile.validate()
    if identity.output:
        _write_output(profile, identity)
    where = (f"stacks and series up to {flushed_at:.2f} s of {profile.runtime_seconds:.2f} s "
             f"(its last flush)" if flushed_at is not None
             else "no stacks or series (it ended before the first flush)")
    if not identity.store:
        print(f"dprof: {profile.process_name} ended without returning through dprof "
              f"({message}); measured from outside: {where}", file=sys.stderr)
        return
    import warnings
    from dprof.session import _store
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")     # the outcome is said below, in one line
        outcome = _store(identity.repo, profile)
    if not outcome and "already stored" in (outcome.reason or ""):
        print(f"dprof: {profile.process_name}: {message}; its profile {profile.id[:12]} "
              f"had been stored", file=sys.stderr)
        return
    print(f"dprof: {profile.process_name}: {message}; profile {profile.id[:12]} measured "
          f"from outside, {outcome.describe()}: {where}", file=sys.stderr)


def _write_output(profile, identity: Identity) -> None:
    """``-o FILE`` gets the profile built here, as it would have got the program's."""
    from dprof.cli.errors import CliError
    from dprof.cli.files import write_profile_file
    try:
        written = write_profile_file(profile, identity.output, identity.output_format)
        print(f"dprof: wrote {written}", file=sys.stderr)
    except (CliError, ValueError, OSError) as err:
        print(f"dprof: could not write {identity.output}: {err}", file=sys.stderr)


def _last_flush(path: str):
    """(the last interim Profile, its runtime in seconds), or (None, None)."""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError):
        return None, None
    from dprof.record import Profile
    try:
        profile = Profile.from_dict(data)
    except (ValueError, TypeError, KeyError):
        return None, None
    return profile, profile.runtime_seconds


_AFTER_FLUSH = ("counted in the program's process up to its end, which it did not "
                "reach through dprof ({how}); dprof's watcher cannot read it from outside")


def outside_profile(identity: Identity, flushed, flushed_at: Optional[float], rusage,
                    exc_type: str, message: str, start_wall: float, end_wall: float,
                    runtime: float, pid: int):
    """The Profile of a run that ended without dprof: ``flushed`` (the last interim
    profile, or None) for the series and stacks, ``rusage`` (the child's, from
    wait4) for CPU, peak memory and storage I/O; everything else missing."""
    from dprof.record import METRICS, Profile
    from dprof.task.recorder import _cores
    how = exc_type
    cores = (flushed.cpu_cores if flushed is not None and flushed.cpu_cores else None) \
        or float(_cores())
    start = datetime.fromtimestamp(start_wall, timezone.utc)
    end = max(start, datetime.fromtimestamp(end_wall, timezone.utc))
    from_rusage = "wait4 rusage of the program's process, read by dprof run's watcher"
    missing = {m: _AFTER_FLUSH.format(how=how) for m in METRICS}
    sources: Dict[str, str] = {}
    values: Dict[str, object] = {"runtime_seconds": runtime, "cpu_cores": cores}
    missing.pop("runtime_seconds")
    missing.pop("cpu_cores")
    sources["runtime_seconds"] = "dprof run's watcher: fork to the end of the program"
    if runtime > 0:
        values["cpu_user_utilization"] = rusage.ru_utime / (runtime * cores)
        values["cpu_system_utilization"] = rusage.ru_stime / (runtime * cores)
        for m in ("cpu_user_utilization", "cpu_system_utilization"):
            missing.pop(m)
            sources[m] = from_rusage + " (with the children it waited for)"
    peak = rusage.ru_maxrss / 1024.0            # KiB on Linux
    if flushed is not None and flushed.memory_usage_peak_mb is not None:
        peak = max(peak, flushed.memory_usage_peak_mb)
    values["memory_usage_peak_mb"] = peak
    missing.pop("memory_usage_peak_mb")
    sources["memory_usage_peak_mb"] = (from_rusage + ": ru_maxrss, the process's peak "
                                       "RSS over its whole life, dprof's start-up included")
    # ru_inblock/ru_oublock are the kernel's read_bytes/write_bytes of /proc/PID/io
    # in 512-byte units: the same counters the in-process figures read
    values["file_read_bytes"] = int(rusage.ru_inblock) * 512
    values["file_write_bytes"] = int(rusage.ru_oublock) * 512
    for m in ("file_read_bytes", "file_write_bytes"):
        missing.pop(m)
        sources[m] = from_rusage + " (blocks of 512 bytes)"
    tags = dict(identity.tags, ended="outside dprof")
    profile = Profile(
        process_name=identity.name, env=identity.env or "default",
        stage=identity.stage or "default", task_start_time=start, task_end_time=end,
        status="failed", exception_type=exc_type, exception_message=message,
        parameters=identity.parameters, tags=tags, missing=missing, sources=sources,
        pid=pid, **values)
    if flushed is not None:
        profile.pid, profile.host = flushed.pid, flushed.host
        profile.python_version = flushed.python_version
        profile.resources = flushed.resources
        profile.resources_missing = dict(flushed.resources_missing)
        profile.stacks = flushed.stacks
        profile.memory = flushed.memory
        note = (f"the program's last flush, at {flushed_at:.2f} s of {runtime:.2f} s: "
                f"the last {max(0.0, runtime - flushed_at):.2f} s are not in it ({how})")
        for attachment in ("resources", "stacks", "memory"):
            if getattr(profile, attachment) is not None:
                profile.sources[attachment] = note
    else:
        reason = (f"the program ended ({how}) before its first flush (every "
                  f"{identity.flush_seconds:g} s, ${ENV_FLUSH_SECONDS})")
        for attachment in ("resources", "stacks"):
            profile.missing[attachment] = reason
    return profile
