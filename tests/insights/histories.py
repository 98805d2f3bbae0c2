"""Synthetic histories with known answers for the insights tests (imported as
``histories``; pytest puts this directory on sys.path)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Dict, Optional, Sequence

import numpy as np

from dprof.record import Profile
from dprof.stacks.model import CPU_NATIVE, CPU_PYTHON, WAIT_IO, Frame, StackProfile

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
APP = "/srv/app/etl.py"     # a user-code path (not under a site or stdlib directory)


def stacks(read_s: float, parse_s: float, extra_s: float = 0.0, hz: float = 100.0):
    """A run's stacks: reading (disk wait) at etl.py:10, parsing (Python CPU) at
    etl.py:20 (a tenth of it in native code at :21), and optionally a new line :30."""
    sp = StackProfile(requested_hz=hz, effective_hz=hz)
    main = Frame(APP, "main", 5)
    for line, fn, cat, sec in ((10, "read", WAIT_IO, read_s),
                               (20, "parse", CPU_PYTHON, parse_s * 0.9),
                               (21, "parse", CPU_NATIVE, parse_s * 0.1),
                               (30, "validate", CPU_PYTHON, extra_s)):
        if sec > 0:
            sp.add(1, [main, Frame(APP, fn, line)], cat, sec, samples=max(1, int(sec * hz)))
    sp.duration_seconds = sp.total_seconds()
    return sp


def profile(i: int, runtime: float, *, process: str = "etl", stage: str = "load",
            env: str = "prod", every: timedelta = timedelta(hours=1), cores: float = 4.0,
            cpu_util: float = 0.2, peak_mb: float = 500.0, read_bytes: int = 10**8,
            status: str = "ok", stack: Optional[StackProfile] = None,
            resources: Optional[Dict[str, np.ndarray]] = None,
            tags: Optional[Dict[str, str]] = None) -> Profile:
    start = T0 + every * i
    return Profile(process_name=process, stage=stage, env=env, task_start_time=start,
                   task_end_time=start + timedelta(seconds=runtime), runtime_seconds=runtime,
                   cpu_cores=cores, cpu_user_utilization=cpu_util, cpu_system_utilization=0.0,
                   memory_usage_peak_mb=peak_mb, memory_allocations=1000,
                   file_read_bytes=read_bytes, file_write_bytes=0, io_wait_time_seconds=0.1,
                   network_data_sent_bytes=None, network_data_received_bytes=None,
                   exceptions_raised=0, status=status,
                   exception_type="RuntimeError" if status == "failed" else None,
                   stacks=stack, resources=resources, tags=tags or {})


def step_runtimes(n: int, at: int, step: float, cv: float, seed: int,
                  base: float = 100.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = base * (1 + cv * rng.standard_normal(n))
    x[at:] *= 1 + step
    return np.abs(x)


def leaking_series(hours: float, mb_per_hour: float, *, interval: float = 1.0,
                   base_mb: float = 300.0, seed: int = 0) -> Dict[str, np.ndarray]:
    """RSS growing linearly under noise and a GC sawtooth; a steady thread count."""
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, hours * 3600, interval)
    saw = 20.0 * ((t % 300.0) / 300.0)            # 20 MiB collected every 5 minutes
    rss_mb = base_mb + mb_per_hour * t / 3600 + saw + 3.0 * rng.standard_normal(len(t))
    return {"timestamp": t, "rss_bytes": rss_mb * 2**20,
            "num_threads": np.full(len(t), 8.0)}
