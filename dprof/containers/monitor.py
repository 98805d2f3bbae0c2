"""``ContainerResourceMonitor``: sample a container's cgroup v2 from outside it.

    mon = ContainerResourceMonitor("my-container")    # or "/sys/fs/cgroup/x.scope"
    mon.start_monitoring()
    ...
    stats = mon.stop_monitoring()      # container_stats keys, see summary.py
    mon.get_stats()                    # one docker-stats-like reading, now

Readings come from the native cgroup reader (``dprof._native.cgroup_read``: cpu.stat,
memory.current, memory.peak, memory.max, memory.events, io.stat) and, for net_io,
``/proc/PID/net/dev`` of a process of the cgroup (its network namespace). The
sampling thread is a Python thread in the *monitoring* process: the container's
processes never share its GIL, so a native thread would buy nothing here.
"""
from __future__ import annotations

import os
import threading
import time
from typing import Dict, List, Optional, Tuple

import numpy as np

from dprof.resources.series import ResourceSeries
from dprof.resources.summary import MB, container_section

from .resolve import resolve_cgroup
from dprof._threads import background_thread

#: native reading key -> series column (the sampler's names for its own cgroup)
_KEYS = {
    "cpu_usage_s": "cgroup_cpu_usage_s", "cpu_user_s": "cgroup_cpu_user_s",
    "cpu_system_s": "cgroup_cpu_system_s", "mem_current_bytes": "cgroup_mem_current_bytes",
    "mem_peak_bytes": "cgroup_mem_peak_bytes", "mem_events_high": "cgroup_mem_events_high",
    "mem_events_max": "cgroup_mem_events_max",
    "mem_events_oom_kill": "cgroup_mem_events_oom_kill",
    "io_read_bytes": "cgroup_io_read_bytes", "io_write_bytes": "cgroup_io_write_bytes",
}
COLUMNS = ("timestamp",) + tuple(_KEYS.values()) + ("net_sent_bytes", "net_recv_bytes",
                                                    "sys_mem_total_bytes")


def _machine_memory_bytes() -> float:
    try:
        return float(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return float("nan")


class ContainerResourceMonitor:
    """Resource monitor of one container (or any cgroup v2), seen from outside.

    ``name_or_cgroup``: a cgroup v2 directory (absolute, or relative to the cgroup2
    mount), or a Docker/Podman container name or id (resolved with ``docker
    inspect`` / ``podman inspect``). ``ContainerNotFound`` when it is neither.
    ``interval``: seconds between samples while monitoring.
    """

    def __init__(self, name_or_cgroup, interval: float = 1.0):
        from dprof.limits import INTERVAL_S, check_range     # ranges: dprof/limits.py
        interval = check_range("ContainerResourceMonitor interval", interval, INTERVAL_S,
                               " seconds")
        from dprof._native_loader import require
        self._native = require("ContainerResourceMonitor (the cgroup reader)")
        self.name = os.fspath(name_or_cgroup) if isinstance(name_or_cgroup, os.PathLike) \
            else name_or_cgroup
        self.cgroup, self.found_by = resolve_cgroup(name_or_cgroup)
        self.interval = float(interval)
        self.results: Optional[Dict] = None
        self.samples: Optional[ResourceSeries] = None
        self._rows: List[Tuple[float, ...]] = []
        self._missing: Dict[str, str] = {}
        self._limit: Optional[float] = None
        self._limit_reason: Optional[str] = None
        self._thread: Optional[threading.Thread] = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._started_at: Optional[float] = None
        self._last = self._read()          # baseline of get_stats()

    # -- one reading ---------------------------------------------------------------
    def _member_pid(self) -> Optional[int]:
        """A process of the cgroup (or of a cgroup below it), for its net namespace."""
        for root, _dirs, _files in os.walk(self.cgroup):
            try:
                with open(os.path.join(root, "cgroup.procs")) as fh:
                    for line in fh:
                        if line.strip().isdigit():
                            return int(line)
            except OSError:
                continue
        return None

    def _read(self) -> Tuple[Tuple[float, ...], Dict[str, str]]:
        """(row of COLUMNS, missing reasons of this reading)."""
        now = time.monotonic()
        values, why = self._native.cgroup_read(self.cgroup)
        missing = {_KEYS[k]: v for k, v in why.items() if k in _KEYS}
        if not os.path.isdir(self.cgroup):
            reason = f"the cgroup {self.cgroup} is gone (the container stopped)"
            missing.update({c: reason for c in _KEYS.values()})
        nan = float("nan")
        sent = recv = nan
        pid = self._member_pid()
        if pid is None:
            reason = f"no process in {self.cgroup} to read its network namespace from"
            missing["net_sent_bytes"] = missing["net_recv_bytes"] = reason
        else:
            try:
                sent, recv = self._native.netdev_read(f"/proc/{pid}/net/dev")
            except (OSError, ValueError) as exc:
                missing["net_sent_bytes"] = missing["net_recv_bytes"] = (
                    f"cannot read the network namespace of pid {pid}: {exc}")
        with self._lock:
            if "mem_max_bytes" in values:
                self._limit, self._limit_reason = values["mem_max_bytes"], None
            elif self._limit is None:
                self._limit_reason = why.get("mem_max_bytes")
        row = (now,) + tuple(values.get(k, nan) for k in _KEYS) + (
            sent, recv, _machine_memory_bytes())
        return row, missing

    def _series(self, rows, missing) -> ResourceSeries:
        data = np.array(rows, dtype=np.float64).reshape(len(rows), len(COLUMNS))
        columns = {name: data[:, i] for i, name in enumerate(COLUMNS)}
        # a column is missing only when no reading gave it
        gone = {c: r for c, r in missing.items() if np.isnan(columns[c]).all()}
        return ResourceSeries(columns, gone, {"interval": self.interval})

    def get_stats(self) -> Dict:
        """One reading now, as ``docker stats`` shows it: cpu_percent since the
        previous get_stats() (or construction), memory_usage (MB, now),
        memory_percent, net_io and block_io (totals since the container started)."""
        prev_row, _ = self._last
        row, missing = self._read()
        self._last = (row, missing)
        series = self._series([prev_row, row], missing)
        out = container_section(series, self._limit, self._limit_reason)
        # a reading is a level, not a run: totals instead of deltas
        col = dict(zip(COLUMNS, row))
        out["memory_usage"] = None if np.isnan(col["cgroup_mem_current_bytes"]) \
            else col["cgroup_mem_current_bytes"] / MB
        for key, name in (("rx_bytes", "net_recv_bytes"), ("tx_bytes", "net_sent_bytes")):
            out["net_io"][key] = None if np.isnan(col[name]) else int(col[name])
        for key, name in (("read_bytes", "cgroup_io_read_bytes"),
                          ("write_bytes", "cgroup_io_write_bytes")):
            out["block_io"][key] = None if np.isnan(col[name]) else int(col[name])
        out["cgroup"] = self.cgroup
        return out

    # -- monitoring ----------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._thread is not None

    def start_monitoring(self) -> None:
        """Start sampling every ``interval`` seconds (RuntimeError if running)."""
        if self._thread is not None:
            raise RuntimeError("ContainerResourceMonitor is already monitoring")
        self.results = self.samples = None
        self._stop.clear()
        first, missing = self._read()
        self._rows, self._missing = [first], dict(missing)
        self._started_at = time.monotonic()
        self._thread = background_thread(self._loop, "dprof-container-monitor")
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                row, missing = self._read()
            except Exception as exc:      # never kill the thread: record and go on
                self._missing.setdefault("timestamp", f"a reading failed: {exc!r}")
                continue
            with self._lock:
                self._rows.append(row)
                for k, v in missing.items():
                    self._missing.setdefault(k, v)

    def stop_monitoring(self) -> Dict:
        """Stop, take a last reading, and return the summary: container_stats' keys
        (cpu_percent, memory_usage, memory_percent, net_io, block_io, and dprof's
        cpu_seconds, memory_current_mb, memory_peak_mb, ...) plus cgroup,
        found_by, duration_seconds, samples_collected."""
        if self._thread is None:
            raise RuntimeError("ContainerResourceMonitor.stop_monitoring() called "
                               "before start_monitoring()")
        self._stop.set()
        self._thread.join()
        self._thread = None
        row, missing = self._read()
        with self._lock:
            self._rows.append(row)
            for k, v in missing.items():
                self._missing.setdefault(k, v)
            rows, reasons = list(self._rows), dict(self._missing)
        reasons.pop("timestamp", None)
        self.samples = self._series(rows, reasons)
        summary = container_section(self.samples, self._limit, self._limit_reason)
        summary.update(cgroup=self.cgroup, found_by=self.found_by,
                       duration_seconds=time.monotonic() - self._started_at,
                       samples_collected=len(rows),
                       net_io_scope="the network namespace of a process of the cgroup "
                                    "(every process in that namespace counts)")
        self.results = summary
        return summary

    def __enter__(self) -> "ContainerResourceMonitor":
        self.start_monitoring()
        return self

    def __exit__(self, *exc_info) -> bool:
        self.stop_monitoring()
        return False

    def __repr__(self) -> str:
        return f"<ContainerResourceMonitor {self.cgroup} ({self.found_by})>"
