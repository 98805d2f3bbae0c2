"""The results dict of a resource profile, computed from a `ResourceSeries`.

Pure functions of a series: no sampling, no state. Units: percent, MB (2**20 bytes),
seconds, counts. A value the system could not give is None and its reason is in the
section's ``missing`` dict (or ``reason`` when the whole section is unavailable),
never 0. See docs/resources.md for where each number comes from.
"""
import numpy as np

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
    for key in ("read_count", "write_count"):
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


def gpu_section(series):
    columns = ("gpu_util_percent", "gpu_mem_used_bytes", "gpu_mem_total_bytes")
    if all(c in series.missing or c not in series for c in columns):
        return {"available": False,
                "reason": series.missing.get("gpu_util_percent", "GPU columns not sampled")}
    total = series.stats("gpu_mem_total_bytes", percentiles=(), counter=False)["max"]
    return {"available": True,
            "utilization_percent": _mean_max_min(series, "gpu_util_percent"),
            "memory_used_mb": _mean_max_min(series, "gpu_mem_used_bytes", MB),
            "memory_total_mb": _scaled(total, MB),
            "missing": _missing(series, columns)}


_CGROUP = ("cgroup_cpu_usage_s", "cgroup_cpu_user_s", "cgroup_cpu_system_s",
           "cgroup_mem_current_bytes", "cgroup_mem_peak_bytes", "cgroup_mem_events_high",
           "cgroup_mem_events_max", "cgroup_mem_events_oom_kill", "cgroup_io_read_bytes",
           "cgroup_io_write_bytes")


def container_section(series):
    if all(c in series.missing or c not in series for c in _CGROUP):
        return {"available": False,
                "reason": series.missing.get("cgroup_cpu_usage_s", "cgroup columns not sampled")}
    usage = _delta(series, "cgroup_cpu_usage_s")
    elapsed = _delta(series, "timestamp")
    peak = series.stats("cgroup_mem_peak_bytes", percentiles=(), counter=False)["max"]
    events = {}
    for name in ("high", "max", "oom_kill"):
        d = _delta(series, f"cgroup_mem_events_{name}")
        events[name] = None if d is None else int(round(d))
    return {
        "available": True,
        "cpu_seconds": usage,
        "cpu_user_seconds": _delta(series, "cgroup_cpu_user_s"),
        "cpu_system_seconds": _delta(series, "cgroup_cpu_system_s"),
        "cpu_percent": None if usage is None or not elapsed else 100.0 * usage / elapsed,
        "memory_current_mb": _mean_max_min(series, "cgroup_mem_current_bytes", MB),
        "memory_peak_mb": _scaled(peak, MB),
        "memory_events": events,
        "io_read_mb": _scaled(_delta(series, "cgroup_io_read_bytes"), MB),
        "io_write_mb": _scaled(_delta(series, "cgroup_io_write_bytes"), MB),
        "missing": _missing(series, _CGROUP),
    }


def network_section(series):
    return {"sent_bytes": _delta(series, "net_sent_bytes"),
            "recv_bytes": _delta(series, "net_recv_bytes"),
            "scope": "network namespace (Linux has no per-process network counters)",
            "missing": _missing(series, ("net_sent_bytes", "net_recv_bytes"))}


def summarize(series, duration_seconds, backend):
    """The results dict of `ResourceProfiler.stop_profiling()`."""
    info = series.info
    system_cpu, process_cpu = cpu_sections(series)
    process_memory = _mean_max_min(series, "rss_bytes", MB)
    peak = series.stats("rss_peak_bytes", percentiles=(), counter=False)["max"]
    process_memory["peak"] = _scaled(peak, MB)   # VmHWM: true peak, not just sampled
    return {
        "duration_seconds": duration_seconds,
        "samples_collected": len(series),
        "sampling_interval_seconds": _nan_to_none(info.get("interval")),
        "cpu": system_cpu,
        "process_cpu": process_cpu,
        "cpu_window_seconds": CPU_WINDOW_S,
        "memory": _mean_max_min(series, "sys_mem_used_bytes", MB),
        "process_memory": process_memory,
        "io_stats": io_section(series),
        "io_wait": io_wait_section(series),
        "network_stats": network_section(series),
        "gpu_stats": gpu_section(series),
        "container_stats": container_section(series),
        "backend": backend,
        "sampler_errors": info.get("errors", 0),
        "sampler_last_error": info.get("last_error"),
        "overflow_halvings": info.get("overflow_halvings", 0),
        "missing": dict(series.missing),
    }
