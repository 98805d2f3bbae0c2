"""dprof._native.Sampler: arguments, the shape of what it returns, missing columns."""
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from dprof import _native

pytestmark = pytest.mark.native

CONTRACT_COLUMNS = (
    "timestamp", "cpu_user_s", "cpu_system_s", "rss_bytes", "rss_peak_bytes", "vms_bytes",
    "read_bytes", "write_bytes", "read_chars", "write_chars", "read_syscalls",
    "write_syscalls", "ctx_voluntary", "ctx_involuntary", "minor_faults", "major_faults",
    "num_threads", "threads_running", "threads_sleeping", "threads_disk_wait",
    "iowait_delayacct_s", "iowait_dstate_s", "sys_cpu_busy_s", "sys_cpu_total_s",
    "sys_mem_total_bytes", "sys_mem_available_bytes", "net_sent_bytes", "net_recv_bytes",
    "cgroup_cpu_usage_s", "cgroup_cpu_user_s", "cgroup_cpu_system_s",
    "cgroup_mem_current_bytes", "cgroup_mem_peak_bytes", "cgroup_mem_events_high",
    "cgroup_mem_events_max", "cgroup_mem_events_oom_kill", "cgroup_io_read_bytes",
    "cgroup_io_write_bytes", "gpu_util_percent", "gpu_mem_used_bytes", "gpu_mem_total_bytes",
    "gpu_temperature_c", "gpu_power_w",
)


def test_column_names_follow_the_contract_in_order():
    s = _native.Sampler()
    assert s.column_names == CONTRACT_COLUMNS
    assert tuple(s.sample_once()) == CONTRACT_COLUMNS
    assert tuple(s.columns()) == CONTRACT_COLUMNS


@pytest.mark.parametrize("interval", [0, -0.5, float("nan"), float("inf")])
def test_interval_must_be_positive_and_finite(interval):
    with pytest.raises(ValueError, match="interval"):
        _native.Sampler(interval=interval)


@pytest.mark.parametrize("capacity", [0, -1])
def test_capacity_must_be_positive(capacity):
    with pytest.raises(ValueError, match="capacity"):
        _native.Sampler(capacity=capacity)


def test_negative_pid_is_a_value_error():
    with pytest.raises(ValueError, match="pid"):
        _native.Sampler(pid=-5)


def test_nonexistent_pid_is_a_process_lookup_error():
    # Above the largest pid_max Linux allows (2**22), so it can never exist.
    with pytest.raises(ProcessLookupError, match="4194305"):
        _native.Sampler(pid=4194305)


def test_wrong_argument_types_are_type_errors():
    with pytest.raises(TypeError):
        _native.Sampler(interval="fast")
    with pytest.raises(TypeError):
        _native.Sampler(bogus=1)


def test_start_twice_raises_and_stop_is_idempotent():
    s = _native.Sampler(interval=0.01)
    s.stop()  # never started: nothing to do
    s.start()
    try:
        assert s.running
        with pytest.raises(RuntimeError, match="already running"):
            s.start()
    finally:
        s.stop()
    assert not s.running
    s.stop()
    assert not s.running


def test_info_describes_the_run():
    s = _native.Sampler(interval=0.005, capacity=1000)
    info = s.info()
    assert info["samples"] == 0 and info["started_at"] is None
    s.start()
    while s.info()["taken"] < 3:
        pass
    s.stop()
    info = s.info()
    assert info["samples"] == info["taken"] >= 3
    assert info["interval"] == info["requested_interval"] == 0.005
    assert info["capacity"] == 1000 and info["overflow_halvings"] == 0
    assert info["errors"] == 0 and info["last_error"] is None
    assert info["stopped_at"] > info["started_at"]
    assert info["pid"] == 0 and info["children"] is False and info["running"] is False
    assert info["io_wait_source"] in ("delayacct", "dstate_samples")
    assert 0 < info["sample_cost_ns_mean"] <= info["sample_cost_ns_max"]
    assert 0 < info["full_sample_cost_ns_mean"] <= info["sample_cost_ns_max"]
    assert info["sampler_thread_cpu_s"] > 0


def test_columns_are_float64_buffers_numpy_can_read():
    s = _native.Sampler(interval=0.002, capacity=500)
    s.start()
    while s.info()["taken"] < 5:
        pass
    s.stop()
    cols = s.columns()
    n = s.info()["samples"]
    for name, view in cols.items():
        assert isinstance(view, memoryview)
        assert view.format == "d" and view.itemsize == 8 and view.readonly
        assert len(view) == n, name
    ts = np.asarray(cols["timestamp"])
    assert ts.dtype == np.float64 and np.all(np.diff(ts) > 0)
    assert np.all(np.asarray(cols["rss_bytes"]) > 0)


def test_views_outlive_a_restart_and_the_sampler():
    s = _native.Sampler(interval=0.002, capacity=500)
    s.start()
    while s.info()["taken"] < 5:
        pass
    s.stop()
    old = s.columns()["timestamp"]
    before = old.tolist()
    s.start()
    while s.info()["taken"] < 3:
        pass
    s.stop()
    del s
    assert old.tolist() == before  # still the first run's data, memory still valid


def test_columns_while_running_are_a_consistent_snapshot():
    s = _native.Sampler(interval=0.001, capacity=64)
    s.start()
    try:
        for _ in range(50):
            cols = s.columns()
            ts = np.asarray(cols["timestamp"])
            assert len({len(v) for v in cols.values()}) == 1
            assert np.all(np.diff(ts) > 0)
    finally:
        s.stop()


def test_columns_before_any_run_are_empty():
    cols = _native.Sampler().columns()
    assert all(len(v) == 0 for v in cols.values())
    assert np.asarray(cols["timestamp"]).shape == (0,)


def test_gpu_columns_missing_with_reason_without_nvml():
    import ctypes

    try:
        ctypes.CDLL("libnvidia-ml.so.1")
        pytest.skip("NVML is installed here")
    except OSError:
        pass
    s = _native.Sampler()
    missing = s.missing()
    row = s.sample_once()
    for col in ("gpu_util_percent", "gpu_mem_used_bytes", "gpu_mem_total_bytes",
                "gpu_temperature_c", "gpu_power_w"):
        assert "libnvidia-ml.so.1" in missing[col]
        assert math.isnan(row[col])


def _cgroup2_dir():
    """Oracle: the directory of this process's cgroup v2, or None."""
    path = None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                path = line[3:].strip()
    if path is None:
        return None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            if " - cgroup2 " in line:
                mount = line.split()[4]
                return mount if path == "/" else mount + path
    return None


def test_cgroup_columns_present_exactly_when_the_v2_files_exist():
    s = _native.Sampler()
    missing = s.missing()
    row = s.sample_once()
    directory = _cgroup2_dir()
    files = {
        "cgroup_cpu_usage_s": "cpu.stat",
        "cgroup_mem_current_bytes": "memory.current",
        "cgroup_mem_peak_bytes": "memory.peak",
        "cgroup_mem_events_oom_kill": "memory.events",
        "cgroup_io_write_bytes": "io.stat",
    }
    for col, name in files.items():
        exists = directory is not None and os.path.exists(os.path.join(directory, name))
        if exists:
            assert col not in missing
            assert not math.isnan(row[col])
        else:
            assert "cgroup v2" in missing[col] and name in missing[col]
            assert math.isnan(row[col])


def test_cgroup_memory_missing_names_v1_on_a_hybrid_machine():
    directory = _cgroup2_dir()
    if directory is not None and os.path.exists(os.path.join(directory, "memory.current")):
        pytest.skip("cgroup v2 memory controller is enabled here")
    reason = _native.Sampler().missing()["cgroup_mem_current_bytes"]
    assert "memory.current not available" in reason and "cgroup v1" in reason


def test_iowait_source_follows_the_delay_accounting_switch():
    try:
        with open("/proc/sys/kernel/task_delayacct") as f:
            on = f.read().strip() == "1"
    except OSError:
        on = False
    s = _native.Sampler()
    row = s.sample_once()
    assert not math.isnan(row["iowait_dstate_s"])
    if on:
        assert s.info()["io_wait_source"] == "delayacct"
        assert "iowait_delayacct_s" not in s.missing()
    else:
        assert s.info()["io_wait_source"] == "dstate_samples"
        assert "task_delayacct" in s.missing()["iowait_delayacct_s"]
        assert math.isnan(row["iowait_delayacct_s"])


def test_available_columns_are_never_nan_in_a_full_sample():
    s = _native.Sampler()
    missing = s.missing()
    row = s.sample_once()
    for col, value in row.items():
        assert math.isnan(value) == (col in missing), col


def test_docstrings_on_every_method():
    for name in ("start", "stop", "sample_once", "columns", "missing", "info"):
        assert getattr(_native.Sampler, name).__doc__, name
    assert "overflow" in _native.Sampler.__doc__ or "doubles" in _native.Sampler.__doc__


def test_sampling_a_process_that_exits():
    child = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"],
                             stdin=subprocess.PIPE)
    s = _native.Sampler(pid=child.pid, interval=0.002)
    assert s.sample_once()["num_threads"] >= 1
    s.start()
    child.communicate()
    for _ in range(1000):
        if not s.running:
            break
        import time
        time.sleep(0.005)
    assert not s.running  # the thread ended by itself
    info = s.info()
    assert "exited" in info["last_error"]
    assert info["samples"] >= 1
    s.stop()
    with pytest.raises(ProcessLookupError):
        s.sample_once()
