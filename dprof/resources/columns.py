"""The columns of a resource series: names, units and kinds.

One table shared by both samplers (the native `_native.Sampler` and the psutil
fallback) and by `ResourceSeries`, so the three agree on what a column means.
Order is the order of the native sampler's `column_names`.

Kinds: ``"counter"`` columns are cumulative values as read (CPU seconds, bytes,
events); their meaning over a run is a difference or a rate. ``"gauge"`` columns are
levels at the moment of the sample (RSS, thread counts, memory available).
"""

# name: (unit, kind, description)
COLUMNS = {
    "timestamp": ("s", "clock", "CLOCK_MONOTONIC seconds when the sample was taken"),
    "cpu_user_s": ("s", "counter", "process user CPU time"),
    "cpu_system_s": ("s", "counter", "process system CPU time"),
    "rss_bytes": ("B", "gauge", "resident set size"),
    "rss_peak_bytes": ("B", "gauge", "peak resident set size so far (VmHWM)"),
    "vms_bytes": ("B", "gauge", "virtual memory size"),
    "read_bytes": ("B", "counter", "bytes read from storage"),
    "write_bytes": ("B", "counter", "bytes sent to storage"),
    "read_chars": ("B", "counter", "bytes read by read-like system calls"),
    "write_chars": ("B", "counter", "bytes written by write-like system calls"),
    "read_syscalls": ("count", "counter", "read-like system calls"),
    "write_syscalls": ("count", "counter", "write-like system calls"),
    "ctx_voluntary": ("count", "counter", "voluntary context switches"),
    "ctx_involuntary": ("count", "counter", "involuntary context switches"),
    "minor_faults": ("count", "counter", "minor page faults"),
    "major_faults": ("count", "counter", "major page faults"),
    "num_threads": ("count", "gauge", "threads of the process"),
    "threads_running": ("count", "gauge", "threads in state R"),
    "threads_sleeping": ("count", "gauge", "threads in state S"),
    "threads_disk_wait": ("count", "gauge", "threads in state D (uninterruptible, usually I/O)"),
    "iowait_delayacct_s": ("s", "counter", "block I/O delay from kernel delay accounting"),
    "iowait_dstate_s": ("s", "counter", "interval x threads seen in state D, accumulated"),
    "sys_cpu_busy_s": ("s", "counter", "system-wide non-idle CPU time, all CPUs"),
    "sys_cpu_total_s": ("s", "counter", "system-wide CPU time, all CPUs"),
    "sys_mem_total_bytes": ("B", "gauge", "system memory"),
    "sys_mem_available_bytes": ("B", "gauge", "system memory available"),
    "net_sent_bytes": ("B", "counter", "bytes sent by the network namespace, without lo"),
    "net_recv_bytes": ("B", "counter", "bytes received by the network namespace, without lo"),
    "cgroup_cpu_usage_s": ("s", "counter", "cgroup v2 cpu.stat usage_usec"),
    "cgroup_cpu_user_s": ("s", "counter", "cgroup v2 cpu.stat user_usec"),
    "cgroup_cpu_system_s": ("s", "counter", "cgroup v2 cpu.stat system_usec"),
    "cgroup_mem_current_bytes": ("B", "gauge", "cgroup v2 memory.current"),
    "cgroup_mem_peak_bytes": ("B", "gauge", "cgroup v2 memory.peak"),
    "cgroup_mem_events_high": ("count", "counter", "cgroup v2 memory.events high"),
    "cgroup_mem_events_max": ("count", "counter", "cgroup v2 memory.events max"),
    "cgroup_mem_events_oom_kill": ("count", "counter", "cgroup v2 memory.events oom_kill"),
    "cgroup_io_read_bytes": ("B", "counter", "cgroup v2 io.stat rbytes, all devices"),
    "cgroup_io_write_bytes": ("B", "counter", "cgroup v2 io.stat wbytes, all devices"),
    "gpu_util_percent": ("%", "gauge", "GPU utilisation, averaged over devices (NVML)"),
    "gpu_mem_used_bytes": ("B", "gauge", "GPU memory used, summed over devices (NVML)"),
    "gpu_mem_total_bytes": ("B", "gauge", "GPU memory, summed over devices (NVML)"),
    "gpu_temperature_c": ("C", "gauge", "GPU die temperature of the hottest device (NVML)"),
    "gpu_power_w": ("W", "gauge", "GPU power draw, summed over devices (NVML)"),
}

COLUMN_NAMES = tuple(COLUMNS)

#: Columns the sampler gained after its first release, each with a column stored
#: beside it since before: a stored series that has the older column but not the
#: newer one was recorded by a dprof without it (it still loads; readers report
#: the column missing with `NOT_RECORDED`).
ADDED_LATER = {"gpu_temperature_c": "gpu_util_percent", "gpu_power_w": "gpu_util_percent"}
NOT_RECORDED = "not recorded by this profile's dprof (its sampler had no {} column)"
COUNTER_COLUMNS = frozenset(n for n, (_, kind, _) in COLUMNS.items() if kind == "counter")


def unit(column):
    """The unit of a column: "s", "B", "count", "%", "C" (degrees Celsius) or "W"."""
    return COLUMNS[column][0]
