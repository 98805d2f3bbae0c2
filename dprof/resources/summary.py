"""The results dict of a resource profile, computed from a `ResourceSeries`.

Pure functions of a series: no sampling, no state. Units: percent, MB (2**20 bytes),
seconds, counts. A value the system could not give is None and its reason is in the
section's ``missing`` dict (or ``reason`` when the whole section is unavailable),
never 0. See docs/resources.md for where each number comes from.

Each section also carries the Keystone resource profiler's key names beside
dprof's own (``cpu.mean_percent`` beside ``cpu.mean``, ...), so that code written
for Keystone reads its numbers unchanged; docs/compat.md lists them.
"""
import numpy as np

from .columns import NOT_RECORDED

MB = float(1 << 20)
#: CPU times advance in clock ticks (10 ms on Linux), so per-interval CPU percent is
#: only meaningful over windows well above that; min/max use windows this long.
CPU_WINDOW_S = 0.1


def _nan_to_none(x):
    return None if x is None or x != x else float(x)


def _scaled(value, scale):
    return None if value is None else value / scale


def _mean_max_min(series, name, scale=1.0):
    s = series.stats(name, percentiles=(), counter=False)
    return {"mean": _scaled(s["mean"], scale), "max": _scaled(s["max"], scale),
            "min": _scaled(s["min"], scale)}


def _delta(series, column):
    """Last minus first non-NaN value of a counter, or None."""
    if column not in series or column in series.missing:
        return None
    return series.stats(column, percentiles=(), counter=True)["delta"]


def _ratio_percent(num, den):
    """100 * (num[-1] - num[0]) / (den[-1] - den[0]) over samples where both are known."""
    ok = ~(np.isnan(num) | np.isnan(den))
    if ok.sum() < 2:
        return None
    n, d = num[ok], den[ok]
    span = d[-1] - d[0]
    return None if span <= 0 else float(100.0 * (n[-1] - n[0]) / span)


def _percent_section(series, windows, num, den, per_window):
    """mean over the whole run (time-weighted), min/max over windows.

    CPU times advance in clock ticks, so a window's percentage is quantised and
    can land on the far side of the whole-run mean (every window "100 %" while
    the run averaged 99.2 %). The mean is the exact figure; min and max are
    bounded by it so that min <= mean <= max always holds."""
    mean = _ratio_percent(num, den)
    s = windows.stats(per_window, percentiles=(), counter=False) if len(windows) >= 2 else {}
    low, high = s.get("min"), s.get("max")
    if mean is not None:
        low = mean if low is None else min(low, mean)
        high = mean if high is None else max(high, mean)
    return {"mean": mean, "max": high, "min": low}


def _with_aliases(section, aliases):
    """``section`` with each ``alias: dprof_key`` pair added (same value)."""
    for alias, key in aliases.items():
        section[alias] = section[key]
    return section


_PERCENT_ALIASES = {"mean_percent": "mean", "max_percent": "max", "min_percent": "min"}


def _missing(series, columns):
    return {c: series.missing[c] for c in columns if c in series.missing}


def cpu_sections(series):
    windows = series.thin(CPU_WINDOW_S)
    t = series["timestamp"]
    system = _percent_section(series, windows, series["sys_cpu_busy_s"],
                              series["sys_cpu_total_s"], "system_cpu_percent")
    process = _percent_section(series, windows, series["cpu_user_s"] + series["cpu_system_s"],
                               t, "cpu_percent")
    return system, process


def io_section(series):
    out = {}
    for key, column, scale in (("read_mb", "read_bytes", MB), ("write_mb", "write_bytes", MB),
                               ("read_count", "read_syscalls", 1.0),
                               ("write_count", "write_syscalls", 1.0),
                               ("read_chars_mb", "read_chars", MB),
                               ("write_chars_mb", "write_chars", MB)):
        out[key] = _scaled(_delta(series, column), scale)
    # Keystone's names (those of psutil's io_counters): whole counts and bytes
    for key, column in (("read_bytes", "read_bytes"), ("write_bytes", "write_bytes"),
                        ("read_chars", "read_chars"), ("write_chars", "write_chars")):
        out[key] = _delta(series, column)
    for key in ("read_count", "write_count", "read_bytes", "write_bytes", "read_chars",
                "write_chars"):
        if out[key] is not None:
            out[key] = int(round(out[key]))
    both = (out["read_mb"], out["write_mb"])
    out["total_io_mb"] = None if None in both else both[0] + both[1]
    out["missing"] = _missing(series, ("read_bytes", "write_bytes", "read_syscalls",
                                       "write_syscalls", "read_chars", "write_chars"))
    return out


def io_wait_section(series):
    source = series.io_wait_source
    if source is None:
        reasons = sorted({series.missing.get(c, "not sampled")
                          for c in ("iowait_delayacct_s", "iowait_dstate_s")})
        return {"seconds": None, "source": None, "reason": "; ".join(reasons)}
    column = "iowait_delayacct_s" if source == "delayacct" else "iowait_dstate_s"
    return {"seconds": _delta(series, column), "source": source}


#: Keystone's gpu_stats["nvidia"] keys, and the column each is computed from.
NVIDIA_KEYS = ("utilization_percent", "memory_used_mb", "memory_total_mb",
               "temperature_c", "power_w")
_NVIDIA_COLUMNS = {"utilization_percent": "gpu_util_percent",
                   "memory_used_mb": "gpu_mem_used_bytes",
                   "memory_total_mb": "gpu_mem_total_bytes",
                   "temperature_c": "gpu_temperature_c",
                   "power_w": "gpu_power_w"}


def _gpu_reason(series, column):
    """Why ``column`` gave nothing: the sampler's reason, or that it was not recorded."""
    if column not in series:
        return NOT_RECORDED.format(column)
    return series.missing.get(column, "no sample read it (see sampler_last_error)")


def _gauge(series, column, scale=1.0):
    """{mean, max, min} of a gauge column, all None when the series lacks it."""
    if column not in series:
        return dict.fromkeys(("mean", "max", "min"))
    return _mean_max_min(series, column, scale)


def gpu_section(series):
    columns = tuple(_NVIDIA_COLUMNS.values())
    needed = columns[:3]            # utilisation and memory: what every NVML reading has
    if all(c in series.missing or c not in series for c in needed):
        reason = series.missing.get("gpu_util_percent", "GPU columns not sampled")
        return {"available": False, "reason": reason,
                "nvidia": dict.fromkeys(NVIDIA_KEYS),
                "missing": {f"nvidia.{k}": reason for k in NVIDIA_KEYS}}
    util = _gauge(series, "gpu_util_percent")
    used = _gauge(series, "gpu_mem_used_bytes", MB)
    total = _gauge(series, "gpu_mem_total_bytes", MB)["max"]
    temperature = _gauge(series, "gpu_temperature_c")
    power = _gauge(series, "gpu_power_w")
    missing = _missing(series, columns)
    for column in columns:
        if column not in series:
            missing[column] = NOT_RECORDED.format(column)
    # Keystone's flat figures: mean utilisation, peak memory used, the hottest
    # temperature sampled, mean power draw
    nvidia = {"utilization_percent": util["mean"], "memory_used_mb": used["max"],
              "memory_total_mb": total, "temperature_c": temperature["max"],
              "power_w": power["mean"]}
    for key, column in _NVIDIA_COLUMNS.items():
        if nvidia[key] is None:
            missing[f"nvidia.{key}"] = _gpu_reason(series, column)
    return {"available": True,
            "utilization_percent": util, "memory_used_mb": used,
            "memory_total_mb": total, "temperature_c": temperature, "power_w": power,
            "nvidia": nvidia, "missing": missing}


_CGROUP = ("cgroup_cpu_usage_s", "cgroup_cpu_user_s", "cgroup_cpu_system_s",
           "cgroup_mem_current_bytes", "cgroup_mem_peak_bytes", "cgroup_mem_events_high",
           "cgroup_mem_events_max", "cgroup_mem_events_oom_kill", "cgroup_io_read_bytes",
           "cgroup_io_write_bytes")


def docker_style(series, cpu_percent, memory_limit_bytes, limit_reason):
    """Keystone's container_stats keys, named as ``docker stats`` names its columns:
    cpu_percent (100 = one core), memory_usage (MB, largest memory.current
    sampled), memory_percent (of memory.max, or of the machine's memory when the
    cgroup has no limit, as docker stats does), net_io {rx_bytes, tx_bytes} (the
    network namespace), block_io {read_bytes, write_bytes} (io.stat)."""
    missing = {}
    usage = series.stats("cgroup_mem_current_bytes", percentiles=(), counter=False)["max"] \
        if "cgroup_mem_current_bytes" in series else None
    if usage is None:
        missing["memory_usage"] = series.missing.get("cgroup_mem_current_bytes", "not sampled")
    limit = memory_limit_bytes
    if limit is not None and limit == float("inf"):
        limit = series.stats("sys_mem_total_bytes", percentiles=(), counter=False)["max"] \
            if "sys_mem_total_bytes" in series else None
    percent = None
    if usage is not None and limit:
        percent = 100.0 * usage / limit
    elif usage is not None:
        missing["memory_percent"] = limit_reason or "no memory limit nor machine total known"
    else:
        missing["memory_percent"] = missing["memory_usage"]
    if cpu_percent is None:
        missing["cpu_percent"] = series.missing.get("cgroup_cpu_usage_s", "not sampled")
    rx, tx = _delta(series, "net_recv_bytes"), _delta(series, "net_sent_bytes")
    rd, wr = _delta(series, "cgroup_io_read_bytes"), _delta(series, "cgroup_io_write_bytes")
    for key, value, column in (("net_io.rx_bytes", rx, "net_recv_bytes"),
                               ("net_io.tx_bytes", tx, "net_sent_bytes"),
                               ("block_io.read_bytes", rd, "cgroup_io_read_bytes"),
                               ("block_io.write_bytes", wr, "cgroup_io_write_bytes")):
        if value is None:
            missing[key] = series.missing.get(column, "not sampled")
    return {"cpu_percent": cpu_percent,
            "memory_usage": _scaled(usage, MB),
            "memory_percent": percent,
            "net_io": {"rx_bytes": _int(rx), "tx_bytes": _int(tx)},
            "block_io": {"read_bytes": _int(rd), "write_bytes": _int(wr)}}, missing


def _int(value):
    return None if value is None else int(round(value))


def container_section(series, memory_limit_bytes=None, limit_reason=None):
    if all(c in series.missing or c not in series for c in _CGROUP):
        reason = series.missing.get("cgroup_cpu_usage_s", "cgroup columns not sampled")
        keys, missing = docker_style(series, None, None, reason)
        return {"available": False, "reason": reason, **keys, "missing": missing}
    usage = _delta(series, "cgroup_cpu_usage_s")
    elapsed = _delta(series, "timestamp")
    peak = series.stats("cgroup_mem_peak_bytes", percentiles=(), counter=False)["max"]
    events = {}
    for name in ("high", "max", "oom_kill"):
        d = _delta(series, f"cgroup_mem_events_{name}")
        events[name] = None if d is None else int(round(d))
    cpu_percent = None if usage is None or not elapsed else 100.0 * usage / elapsed
    keys, keys_missing = docker_style(series, cpu_percent, memory_limit_bytes, limit_reason)
    return {
        **keys,
        "available": True,
        "cpu_seconds": usage,
        "cpu_user_seconds": _delta(series, "cgroup_cpu_user_s"),
        "cpu_system_seconds": _delta(series, "cgroup_cpu_system_s"),
        "memory_current_mb": _mean_max_min(series, "cgroup_mem_current_bytes", MB),
        "memory_peak_mb": _scaled(peak, MB),
        "memory_events": events,
        "io_read_mb": _scaled(_delta(series, "cgroup_io_read_bytes"), MB),
        "io_write_mb": _scaled(_delta(series, "cgroup_io_write_bytes"), MB),
        "missing": {**_missing(series, _CGROUP), **keys_missing},
    }


def network_section(series):
    return {"sent_bytes": _delta(series, "net_sent_bytes"),
            "recv_bytes": _delta(series, "net_recv_bytes"),
            "scope": "network namespace (Linux has no per-process network counters)",
            "missing": _missing(series, ("net_sent_bytes", "net_recv_bytes"))}


def summarize(series, duration_seconds, backend, memory_limit_bytes=None,
              limit_reason=None):
    """The results dict of `ResourceProfiler.stop_profiling()`. ``memory_limit_bytes``
    (the cgroup's memory.max, inf when unlimited) gives container_stats its
    memory_percent; ``limit_reason`` says why it is None."""
    info = series.info
    system_cpu, process_cpu = cpu_sections(series)
    _with_aliases(system_cpu, _PERCENT_ALIASES)
    _with_aliases(process_cpu, _PERCENT_ALIASES)
    memory = _with_aliases(_mean_max_min(series, "sys_mem_used_bytes", MB),
                           {"mean_used_mb": "mean", "max_used_mb": "max",
                            "min_used_mb": "min"})
    process_memory = _with_aliases(_mean_max_min(series, "rss_bytes", MB),
                                   {"mean_mb": "mean", "max_mb": "max", "min_mb": "min"})
    peak = series.stats("rss_peak_bytes", percentiles=(), counter=False)["max"]
    process_memory["peak"] = _scaled(peak, MB)   # VmHWM: true peak, not just sampled
    return {
        "duration_seconds": duration_seconds,
        "samples_collected": len(series),
        "sampling_interval_seconds": _nan_to_none(info.get("interval")),
        "cpu": system_cpu,
        "process_cpu": process_cpu,
        "cpu_window_seconds": CPU_WINDOW_S,
        "memory": memory,
        "process_memory": process_memory,
        "io_stats": io_section(series),
        "io_wait": io_wait_section(series),
        "network_stats": network_section(series),
        "gpu_stats": gpu_section(series),
        "container_stats": container_section(series, memory_limit_bytes, limit_reason),
        "backend": backend,
        "sampler_errors": info.get("errors", 0),
        "sampler_last_error": info.get("last_error"),
        "overflow_halvings": info.get("overflow_halvings", 0),
        "missing": dict(series.missing),
    }
