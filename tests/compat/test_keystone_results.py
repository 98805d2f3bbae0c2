"""ResourceProfiler.stop_profiling() carries the Keystone keys exactly, with the
same numbers as dprof's own keys beside them, and both are right for workloads
whose answer the test knows (its own CPU clock, an allocation of known size,
bytes it wrote). CPU is compared with CPU time, not wall time, so that the
checks hold on a loaded machine."""
from __future__ import annotations

import os
import time

import pytest

from dprof import ResourceProfiler
from dprof.resources.profiler import native_unavailable_reason
from dprof.resources.summary import CPU_WINDOW_S, NVIDIA_KEYS

pytestmark = pytest.mark.core

BACKENDS = [
    "psutil",
    pytest.param("native", marks=pytest.mark.skipif(
        native_unavailable_reason() is not None,
        reason=f"native sampler: {native_unavailable_reason()}")),
]
MB = 1 << 20

# Keystone README key -> dprof's key in the same section
ALIASES = {
    "cpu": {"mean_percent": "mean", "max_percent": "max", "min_percent": "min"},
    "process_cpu": {"mean_percent": "mean", "max_percent": "max"},
    "memory": {"mean_used_mb": "mean", "max_used_mb": "max", "min_used_mb": "min"},
    "process_memory": {"mean_mb": "mean", "max_mb": "max", "min_mb": "min"},
}
IO_KEYS = ("read_bytes", "write_bytes", "read_count", "write_count", "read_chars",
           "write_chars")
CONTAINER_KEYS = ("cpu_percent", "memory_usage", "memory_percent", "net_io", "block_io")


def burn_one_core(cpu_seconds: float) -> None:
    end = time.process_time() + cpu_seconds
    x = 0
    while time.process_time() < end:
        for i in range(1000):
            x += i * i


@pytest.mark.parametrize("backend", BACKENDS)
def test_every_keystone_key_is_there_and_equals_dprofs(backend):
    rp = ResourceProfiler(interval=0.01, backend=backend)
    rp.start_profiling()
    burn_one_core(0.2)
    profile = rp.stop_profiling()
    for section, aliases in ALIASES.items():
        for keystone, ours in aliases.items():
            assert profile[section][keystone] == profile[section][ours], (section, keystone)
            assert isinstance(profile[section][keystone], float)
    assert set(IO_KEYS) <= set(profile["io_stats"])
    assert tuple(profile["gpu_stats"]["nvidia"]) == NVIDIA_KEYS
    assert set(CONTAINER_KEYS) <= set(profile["container_stats"])
    assert set(profile["container_stats"]["net_io"]) == {"rx_bytes", "tx_bytes"}
    assert set(profile["container_stats"]["block_io"]) == {"read_bytes", "write_bytes"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_busy_core_shows_in_process_cpu_mean_percent(backend):
    rp = ResourceProfiler(interval=0.01, backend=backend)
    wall0, cpu0 = time.monotonic(), time.process_time()
    rp.start_profiling()
    burn_one_core(0.6)
    profile = rp.stop_profiling()
    truth = 100.0 * (time.process_time() - cpu0) / (time.monotonic() - wall0)
    assert truth > 10                       # the test itself got CPU
    pc = profile["process_cpu"]
    assert pc["mean_percent"] == pytest.approx(truth, abs=10)
    assert pc["max_percent"] >= pc["mean_percent"] - 1e-6
    # never more than one core's worth in a window beyond rounding. Both backends read
    # the process's CPU times from /proc/PID/stat, in clock ticks (10 ms); min and max
    # are over windows CPU_WINDOW_S long (0.1 s), and each end of a window can be off by
    # up to a tick, so a window can show two ticks more than it ran (120 %). The
    # sampler's own thread runs in this process too, hence the margin.
    tick = 1.0 / os.sysconf("SC_CLK_TCK")
    assert pc["max_percent"] <= 100.0 * (1 + 2 * tick / CPU_WINDOW_S) + 15
    cpu = profile["cpu"]
    assert 0 <= cpu["min_percent"] <= cpu["mean_percent"] + 1e-6 <= cpu["max_percent"] + 2e-6
    assert cpu["max_percent"] <= 100.0 + 1e-6


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_known_allocation_shows_in_process_memory_max_mb(backend):
    size_mb = 128
    rp = ResourceProfiler(interval=0.01, backend=backend)
    rp.start_profiling()
    time.sleep(0.05)
    block = b"x" * (size_mb * MB)          # written, so resident
    time.sleep(0.15)
    del block
    time.sleep(0.05)
    profile = rp.stop_profiling()
    pm = profile["process_memory"]
    assert pm["max_mb"] - pm["min_mb"] == pytest.approx(size_mb, rel=0.15)
    assert pm["min_mb"] <= pm["mean_mb"] <= pm["max_mb"]
    mem = profile["memory"]
    # the machine held at least our block while it lived
    assert mem["max_used_mb"] >= size_mb
    assert mem["min_used_mb"] <= mem["mean_used_mb"] <= mem["max_used_mb"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_io_stats_count_the_bytes_and_calls_written(backend, tmp_path):
    chunk, n = b"\1" * (256 * 1024), 16
    with ResourceProfiler(interval=0.01, backend=backend) as rp:
        fd = os.open(tmp_path / "data.bin", os.O_WRONLY | os.O_CREAT)
        for _ in range(n):
            os.write(fd, chunk)
        os.fsync(fd)
        os.close(fd)
    io = rp.results["io_stats"]
    assert io["write_chars"] >= n * len(chunk)
    assert io["write_count"] >= n
    assert io["write_bytes"] >= (n - 1) * len(chunk)        # the fsync forced it out
    assert isinstance(io["write_bytes"], int) and isinstance(io["read_count"], int)
    assert io["write_bytes"] == round(io["write_mb"] * MB)


def test_gpu_keys_are_missing_with_the_reason_never_zero():
    rp = ResourceProfiler(interval=0.01)
    rp.start_profiling()
    time.sleep(0.05)
    gpu = rp.stop_profiling()["gpu_stats"]
    nvidia = gpu["nvidia"]
    for key in NVIDIA_KEYS:
        if nvidia[key] is None:
            assert gpu["missing"][f"nvidia.{key}"], key
        else:                         # a machine with a GPU: a real figure
            assert gpu["available"] and nvidia[key] >= 0
    if not gpu["available"]:
        assert all(v is None for v in nvidia.values())
        assert set(gpu["missing"]) == {f"nvidia.{k}" for k in NVIDIA_KEYS}
        # temperature and power are missing for the same reason as the rest (no
        # NVML here), not because dprof does not read them
        reason = gpu["missing"]["nvidia.utilization_percent"]
        assert gpu["missing"]["nvidia.temperature_c"] == reason
        assert gpu["missing"]["nvidia.power_w"] == reason
        assert "does not read" not in reason


def test_container_stats_are_missing_with_reasons_or_consistent():
    rp = ResourceProfiler(interval=0.01)
    rp.start_profiling()
    burn_one_core(0.2)
    cs = rp.stop_profiling()["container_stats"]
    for key in ("cpu_percent", "memory_usage", "memory_percent"):
        assert cs[key] is not None or cs["missing"][key]
    for group in ("net_io", "block_io"):
        for key, value in cs[group].items():
            assert value is not None or cs["missing"][f"{group}.{key}"]
    if cs["memory_usage"] is not None:
        assert cs["memory_usage"] == cs["memory_current_mb"]["max"]
    if cs["cpu_percent"] is not None and cs["available"]:
        assert cs["cpu_percent"] >= 0


def _series_of_an_older_dprof(samples=20):
    """A resource series as a dprof before gpu_temperature_c / gpu_power_w stored it,
    on a machine with a GPU: every earlier column, those two absent."""
    import numpy as np
    from dprof.resources.columns import COLUMN_NAMES
    t = 1000.0 + 0.01 * np.arange(samples)
    columns = {c: np.zeros(samples) for c in COLUMN_NAMES
               if c not in ("gpu_temperature_c", "gpu_power_w")}
    columns["timestamp"] = t
    columns["gpu_util_percent"] = np.full(samples, 25.0)
    columns["gpu_mem_used_bytes"] = np.full(samples, 512.0 * MB)
    columns["gpu_mem_total_bytes"] = np.full(samples, 8192.0 * MB)
    return columns


def test_a_stored_series_from_before_gpu_temperature_and_power_loads_with_reasons(tmp_path):
    from datetime import datetime, timedelta, timezone

    import numpy as np
    from dprof.jobs.shape import job_profile
    from dprof.record import Profile
    from dprof.repo import ProfileRepo
    from dprof.report.resource_panel import panel
    from dprof.resources.columns import NOT_RECORDED

    start = datetime.now(timezone.utc)
    old = Profile(process_name="train", task_start_time=start,
                  task_end_time=start + timedelta(seconds=0.19),
                  resources=_series_of_an_older_dprof())
    repo = ProfileRepo(tmp_path / "old.db")          # a real SQLite file, round trip
    try:
        repo.add(old)
        stored = repo.get(old.id)
    finally:
        repo.close()
    assert "gpu_temperature_c" not in stored.resources

    gpu = job_profile(stored)["detailed_profile"]["gpu_stats"]
    assert gpu["available"] is True
    assert gpu["nvidia"]["utilization_percent"] == pytest.approx(25.0)
    assert gpu["nvidia"]["memory_used_mb"] == pytest.approx(512.0)
    assert gpu["nvidia"]["memory_total_mb"] == pytest.approx(8192.0)
    for key, column in (("temperature_c", "gpu_temperature_c"), ("power_w", "gpu_power_w")):
        assert gpu["nvidia"][key] is None
        assert gpu["missing"][f"nvidia.{key}"] == NOT_RECORDED.format(column)
        assert "not recorded by this profile's dprof" in gpu["missing"][column]

    # the report's resource panel shows those charts missing, with the same reason
    series, why = panel(stored.resources, stored.resources_missing)
    assert why == {"GPU temperature (°C, hottest)": NOT_RECORDED.format("gpu_temperature_c"),
                   "GPU power (W)": NOT_RECORDED.format("gpu_power_w")}
    assert np.isnan(series["GPU power (W)"]).all()
    assert series["GPU utilisation (%)"][1:] == pytest.approx(25.0)
