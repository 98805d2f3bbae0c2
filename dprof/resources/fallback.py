"""The psutil fallback sampler: the same columns as the native sampler, from psutil.

This is what `ResourceProfiler` uses on platforms without ``/proc`` (macOS, Windows,
the BSDs), where the native sampler (``dprof._native.Sampler``, Linux only) is not
available, and what ``backend="psutil"`` forces anywhere. It follows the native
sampler's contract: same constructor, same methods, same column names, units and
meaning (counters are cumulative values as read), NaN plus a reason in
``missing()`` for every column psutil cannot give on this platform, and the same
overflow policy (when ``capacity`` samples are held, keep every second sample and
double the interval; never grow, never fail).

It costs more than the native sampler: it is a Python thread, so every sample takes
the GIL from the profiled program and runs hundreds of us of Python (see
``benchmarks/sampler_overhead.py``). Differences from the native sampler:

- ``columns()`` returns copies, not views of the sampler's own arrays;
- ``start()`` takes the first sample and ``stop()`` one last sample synchronously, so
  the whole run is covered and a run shorter than the interval still has two;
- per-thread states (``threads_*``, ``iowait_dstate_s``), cgroup and GPU columns are
  always missing; ``rss_peak_bytes`` and the page-fault columns are only given for
  the profiler's own process (from ``getrusage``); network bytes are those of the
  profiler's own network namespace.

Nothing raised while sampling reaches the profiled program: failures are counted in
``info()["errors"]`` with the last one in ``info()["last_error"]``.
"""
import math
import os
import re
import sys
import threading
import time

import numpy as np
import psutil

try:
    import resource     # POSIX only
except ImportError:     # pragma: no cover - Windows
    resource = None

from .columns import COLUMN_NAMES
from dprof._threads import background_thread

_NAN = math.nan
_INDEX = {name: i for i, name in enumerate(COLUMN_NAMES)}
_LOOPBACK = re.compile(r"lo\d*$")
# ru_maxrss is in KiB on Linux and the BSDs, in bytes on macOS.
_MAXRSS_UNIT = 1 if sys.platform == "darwin" else 1024
_US = 1_000_000

_NO_THREAD_STATES = ("per-thread states need /proc/PID/task (read by the native sampler); "
                     "psutil gives no per-thread state")
_NO_CGROUP = ("cgroup accounting is read by the native sampler only (cgroup v2 on Linux); "
              "the psutil fallback has no cgroup reader")
_NO_GPU = "GPUs are read by the native sampler only (NVML); the psutil fallback has none"


def _us(seconds):
    """CPU seconds as whole microseconds.

    psutil hands CPU times over as float seconds. Summing and subtracting floats
    rounds, so a counter that did not move can seem to move backwards by 1e-10
    (busy = total - idle, with idle grown). Counting in integer microseconds keeps
    every sum exact: an unchanged counter gives the identical float again."""
    return round(seconds * _US)


def system_cpu_seconds(cpu_times):
    """(total, busy) system CPU seconds from psutil.cpu_times(), exact to the µs.

    On Linux guest time is already counted in user/nice: it is not counted twice.
    Idle is idle plus iowait (a CPU waiting for I/O runs nothing)."""
    fields = cpu_times._asdict()
    total = sum(_us(v) for k, v in fields.items() if k not in ("guest", "guest_nice"))
    idle = _us(fields.get("idle", 0.0)) + _us(fields.get("iowait", 0.0))
    return total / _US, (total - idle) / _US


def _delayacct_reason():
    """None when kernel delay accounting is on, else why per-process I/O wait is missing."""
    try:
        with open("/proc/sys/kernel/task_delayacct") as f:
            on = f.read().strip() == "1"
    except OSError:
        return "kernel delay accounting is not available on this platform"
    if not on:
        return ("kernel delay accounting is off (/proc/sys/kernel/task_delayacct is 0; "
                "sysctl kernel.task_delayacct=1 turns it on)")
    return None


class PsutilSampler:
    """A sampling thread over psutil with the interface of ``_native.Sampler``.

    ``PsutilSampler(pid=0, interval=0.01, capacity=65536, children=False)``: pid 0 is
    this process; ``children`` adds the target's live descendants (and, for CPU, the
    reaped children it waited for).
    """

    backend = "psutil"
    column_names = COLUMN_NAMES

    def __init__(self, pid=0, interval=0.01, capacity=65536, children=False):
        if not isinstance(pid, int) or pid < 0:
            raise ValueError(f"pid must be 0 (this process) or a positive int, got {pid!r}")
        if not (isinstance(interval, (int, float)) and interval > 0 and math.isfinite(interval)):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        if not isinstance(capacity, int) or capacity <= 0:
            raise ValueError(f"capacity must be a positive int, got {capacity!r}")
        self._pid = pid or os.getpid()
        try:
            self._proc = psutil.Process(self._pid)
        except psutil.NoSuchProcess:
            raise ProcessLookupError(f"no process with pid {pid}") from None
        self._self = self._pid == os.getpid()
        self._children = bool(children)
        self._requested_interval = float(interval)
        self._capacity = capacity
        self._lock = threading.Lock()       # guards _data/_held against columns()
        self._stop_event = threading.Event()
        self._thread = None
        self._data = np.full((len(COLUMN_NAMES), 0), _NAN)
        self._held = 0
        self._reset_counts()
        self._started_at = self._stopped_at = None
        self._missing = self._probe()

    # -- contract -----------------------------------------------------------------

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def start(self):
        """Start the sampling thread (RuntimeError if already running)."""
        if self.running:
            raise RuntimeError("sampler is already running")
        with self._lock:
            self._data = np.full((len(COLUMN_NAMES), self._capacity), _NAN)
            self._held = 0
        self._reset_counts()
        self._stop_event.clear()
        self._started_at = time.monotonic()
        self._stopped_at = None
        # The first sample is taken here, not by the thread: a thread needs the GIL
        # to begin, and the profiled work would run unrecorded until it got it.
        self._record()
        self._thread = background_thread(self._run, "dprof-psutil-sampler")
        self._thread.start()

    def stop(self):
        """Stop and join the thread, then take one last sample. Idempotent."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stop_event.set()
        thread.join()
        self._record()
        self._stopped_at = time.monotonic()

    def sample_once(self):
        """One sample taken now, as {column: float}."""
        return dict(zip(COLUMN_NAMES, self._read()))

    def columns(self, since=None):
        """{column: memoryview of float64} of the samples held (copies); with
        ``since`` (monotonic seconds), only those taken at or after it."""
        with self._lock:
            first = 0 if since is None else self._first_at_or_after(since)
            block = self._data[:, first:self._held].copy()
        return {name: memoryview(block[i]) for i, name in enumerate(COLUMN_NAMES)}

    def count_since(self, since):
        """How many samples held were taken at or after ``since`` (monotonic s)."""
        with self._lock:
            return self._held - self._first_at_or_after(since)

    def _first_at_or_after(self, since):
        # lock held; timestamps only grow
        stamps = self._data[_INDEX["timestamp"], :self._held]
        return int(np.searchsorted(stamps, since, side="left"))

    def missing(self):
        """{column: reason} for the columns psutil cannot give here (always NaN)."""
        return dict(self._missing)

    def info(self):
        if "iowait_delayacct_s" not in self._missing:
            source = "delayacct"
        elif "iowait_dstate_s" not in self._missing:
            source = "dstate_samples"
        else:
            source = None
        return {
            "samples": self._held,
            "taken": self._taken,
            "interval": self._interval,
            "requested_interval": self._requested_interval,
            "capacity": self._capacity,
            "overflow_halvings": self._halvings,
            "errors": self._errors,
            "last_error": self._last_error,
            "started_at": self._started_at,
            "stopped_at": self._stopped_at,
            "io_wait_source": source,
            "pid": self._pid,
            "children": self._children,
            "backend": self.backend,
        }

    # -- sampling thread ----------------------------------------------------------

    def _reset_counts(self):
        self._taken = 0
        self._halvings = 0
        self._errors = 0
        self._last_error = None
        self._interval = self._requested_interval

    def _run(self):
        next_at = time.monotonic()
        while True:
            next_at += self._interval
            now = time.monotonic()
            if next_at < now:           # fell behind: do not burst to catch up
                next_at = now + self._interval
            if self._stop_event.wait(next_at - now):
                return
            if not self._record():
                return      # the target is gone; the reason is in last_error

    def _record(self):
        """Take one sample into the buffer; False when sampling cannot go on."""
        try:
            row = self._read()
        except psutil.NoSuchProcess:
            self._fail(f"target process {self._pid} exited")
            return False
        except Exception as exc:    # never let the profiler break the program
            self._fail(f"{type(exc).__name__}: {exc}")
            return True
        with self._lock:
            if self._held == self._capacity:
                # Overflow: halve the resolution. Keep samples 0, 2, 4, ... in place
                # and double the interval, so any run length fits in `capacity`.
                keep = (self._held + 1) // 2
                self._data[:, :keep] = self._data[:, 0:self._held:2]
                self._data[:, keep:] = _NAN
                self._held = keep
                self._interval *= 2
                self._halvings += 1
            self._data[:, self._held] = row
            self._held += 1
        self._taken += 1
        return True

    def _fail(self, message):
        self._errors += 1
        self._last_error = message

    # -- readers --------------------------------------------------------------------

    def _probe(self):
        """Decide once which columns this platform and psutil can give."""
        missing = {}
        for name in ("threads_running", "threads_sleeping", "threads_disk_wait",
                     "iowait_dstate_s"):
            missing[name] = _NO_THREAD_STATES
        for name in COLUMN_NAMES:
            if name.startswith("cgroup_"):
                missing[name] = _NO_CGROUP
            elif name.startswith("gpu_"):
                missing[name] = _NO_GPU

        p = self._proc
        try:
            io = p.io_counters() if hasattr(p, "io_counters") else None
        except psutil.AccessDenied:
            io = None
            why = f"psutil: access denied to the I/O counters of pid {self._pid}"
        else:
            why = "psutil has no per-process I/O counters on this platform"
        if io is None:
            for name in ("read_bytes", "write_bytes", "read_chars", "write_chars",
                         "read_syscalls", "write_syscalls"):
                missing[name] = why
        elif not hasattr(io, "read_chars"):
            missing["read_chars"] = missing["write_chars"] = \
                "psutil gives read/write chars on Linux only"
        self._has_io = io is not None

        mem = p.memory_info()
        self._peak_field = "peak_wset" if hasattr(mem, "peak_wset") else None
        # getrusage(RUSAGE_SELF) answers for this process alone.
        own_tree = self._self and not self._children and resource is not None
        self._rusage = own_tree
        if self._peak_field is None and not own_tree:
            missing["rss_peak_bytes"] = ("psutil gives no peak RSS; getrusage covers the "
                                         "profiler's own process only (not other pids or "
                                         "children)")
        if not own_tree:
            missing["minor_faults"] = missing["major_faults"] = (
                "psutil gives no page-fault counts; getrusage covers the profiler's own "
                "process only (not other pids or children)")

        reason = _delayacct_reason()
        if reason is None and not hasattr(p.cpu_times(), "iowait"):
            reason = "psutil gives no per-process I/O wait on this platform"
        if reason is not None:
            missing["iowait_delayacct_s"] = reason
        return missing

    def _tree(self):
        """The target and, with children=True, its live descendants."""
        procs = [self._proc]
        if self._children:
            procs += self._proc.children(recursive=True)
        return procs

    def _read(self):
        row = [_NAN] * len(COLUMN_NAMES)
        missing = self._missing
        ix = _INDEX
        row[ix["timestamp"]] = time.monotonic()

        user_us = system_us = iowait_us = 0
        rss = vms = peak = 0.0
        vol = invol = threads = 0
        io = [0.0] * 6
        for i, proc in enumerate(self._tree()):
            try:
                with proc.oneshot():
                    cpu = proc.cpu_times()
                    mem = proc.memory_info()
                    ctx = proc.num_ctx_switches()
                    nthreads = proc.num_threads()
                    pio = proc.io_counters() if self._has_io else None
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                if i == 0:
                    raise       # the target itself: NoSuchProcess ends sampling
                continue        # a child that exited or that we may not read
            user_us += _us(cpu.user)
            system_us += _us(cpu.system)
            if i == 0 and self._children:
                # reaped descendants the target waited for
                user_us += _us(cpu.children_user)
                system_us += _us(cpu.children_system)
            iowait_us += _us(getattr(cpu, "iowait", 0.0))
            rss += mem.rss
            vms += mem.vms
            if self._peak_field:
                peak += getattr(mem, self._peak_field)
            vol += ctx.voluntary
            invol += ctx.involuntary
            threads += nthreads
            if pio is not None:
                io[0] += pio.read_bytes
                io[1] += pio.write_bytes
                io[2] += getattr(pio, "read_chars", 0)
                io[3] += getattr(pio, "write_chars", 0)
                io[4] += pio.read_count
                io[5] += pio.write_count

        row[ix["cpu_user_s"]] = user_us / _US
        row[ix["cpu_system_s"]] = system_us / _US
        row[ix["rss_bytes"]] = rss
        row[ix["vms_bytes"]] = vms
        row[ix["ctx_voluntary"]] = vol
        row[ix["ctx_involuntary"]] = invol
        row[ix["num_threads"]] = threads
        if self._has_io:
            for name, value in zip(("read_bytes", "write_bytes", "read_chars", "write_chars",
                                    "read_syscalls", "write_syscalls"), io):
                if name not in missing:
                    row[ix[name]] = value
        if "iowait_delayacct_s" not in missing:
            row[ix["iowait_delayacct_s"]] = iowait_us / _US
        if self._peak_field:
            row[ix["rss_peak_bytes"]] = peak
        if self._rusage:
            ru = resource.getrusage(resource.RUSAGE_SELF)
            if not self._peak_field:
                row[ix["rss_peak_bytes"]] = ru.ru_maxrss * _MAXRSS_UNIT
            row[ix["minor_faults"]] = ru.ru_minflt
            row[ix["major_faults"]] = ru.ru_majflt

        total, busy = system_cpu_seconds(psutil.cpu_times())
        row[ix["sys_cpu_total_s"]] = total
        row[ix["sys_cpu_busy_s"]] = busy
        vm = psutil.virtual_memory()
        row[ix["sys_mem_total_bytes"]] = vm.total
        row[ix["sys_mem_available_bytes"]] = vm.available

        sent = recv = 0
        for nic, counters in psutil.net_io_counters(pernic=True).items():
            if not _LOOPBACK.match(nic):
                sent += counters.bytes_sent
                recv += counters.bytes_recv
        row[ix["net_sent_bytes"]] = sent
        row[ix["net_recv_bytes"]] = recv
        return row
