"""The sampler's numbers against workloads whose true answer is known, and
against psutil reading the same process."""
import os
import subprocess
import sys
import textwrap
import time

import numpy as np
import psutil
import pytest

from dprof import _native

pytestmark = pytest.mark.native

MB = 1 << 20


def burn_cpu(seconds):
    """Spin in user space until this thread has used `seconds` of CPU time.

    The clock is read only every 100k additions: reading it is a system call,
    and the test wants user time."""
    start = time.thread_time()
    x = 0
    while time.thread_time() - start < seconds:
        for i in range(100_000):
            x += i
    return x


def test_busy_loop_shows_in_cpu_user():
    s = _native.Sampler()
    before = s.sample_once()
    burn_cpu(0.5)
    after = s.sample_once()
    user = after["cpu_user_s"] - before["cpu_user_s"]
    total = user + after["cpu_system_s"] - before["cpu_system_s"]
    # clock ticks are 10 ms; the loop itself may spend a little in the kernel
    assert 0.4 <= user <= 0.7
    assert 0.48 <= total <= 0.7


def test_touched_allocation_shows_in_rss_and_peak():
    s = _native.Sampler()
    before = s.sample_once()
    block = bytearray(b"\x01") * (200 * MB)  # every byte written: all pages resident
    during = s.sample_once()
    del block
    after = s.sample_once()
    assert during["rss_bytes"] - before["rss_bytes"] >= 190 * MB
    assert during["rss_peak_bytes"] >= during["rss_bytes"]
    assert during["vms_bytes"] - before["vms_bytes"] >= 190 * MB
    # freed: RSS falls back (unless AddressSanitizer quarantines freed memory),
    # the peak remembers
    if "asan" not in os.environ.get("LD_PRELOAD", ""):
        assert after["rss_bytes"] < during["rss_bytes"] - 150 * MB
    assert after["rss_peak_bytes"] >= before["rss_bytes"] + 190 * MB
    assert during["minor_faults"] - before["minor_faults"] >= 190 * MB / 4096 / 2


def test_file_written_and_read_back_shows_in_io_counters(tmp_path):
    size = 8 * MB
    path = tmp_path / "data.bin"
    s = _native.Sampler()
    before = s.sample_once()
    with open(path, "wb") as f:
        f.write(os.urandom(size))
        f.flush()
        os.fsync(f.fileno())
    written = s.sample_once()
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # next read from storage
        while os.read(fd, MB):
            pass
    finally:
        os.close(fd)
    read = s.sample_once()
    assert size <= written["write_chars"] - before["write_chars"] <= size + 64 * 1024
    assert written["write_syscalls"] > before["write_syscalls"]
    assert size <= read["read_chars"] - written["read_chars"] <= size + 256 * 1024
    assert read["read_syscalls"] - written["read_syscalls"] >= 8
    # storage bytes: ext4 and most disk file systems report them; tmpfs does not
    fs = subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True,
                        text=True).stdout.strip()
    if fs in ("ext2/ext3", "xfs", "btrfs"):
        assert written["write_bytes"] - before["write_bytes"] >= size
        assert read["read_bytes"] - written["read_bytes"] >= size


def test_readings_agree_with_psutil():
    proc = psutil.Process()
    s = _native.Sampler()
    burn_cpu(0.1)
    row = s.sample_once()
    mem = proc.memory_info()
    cpu = proc.cpu_times()
    ctx = proc.num_ctx_switches()
    io = proc.io_counters()
    threads = proc.num_threads()
    row2 = s.sample_once()
    assert abs(row["rss_bytes"] - mem.rss) <= 2 * MB
    assert abs(row["vms_bytes"] - mem.vms) <= 2 * MB
    assert row["cpu_user_s"] - 0.02 <= cpu.user <= row2["cpu_user_s"] + 0.02
    assert row["cpu_system_s"] - 0.02 <= cpu.system <= row2["cpu_system_s"] + 0.02
    assert row["num_threads"] == threads
    assert row["ctx_voluntary"] <= ctx.voluntary <= row2["ctx_voluntary"]
    assert row["ctx_involuntary"] <= ctx.involuntary <= row2["ctx_involuntary"]
    assert row["read_chars"] <= io.read_chars <= row2["read_chars"]
    assert row["write_chars"] <= io.write_chars <= row2["write_chars"]
    assert row["read_syscalls"] <= io.read_count <= row2["read_syscalls"]
    assert row["write_bytes"] <= io.write_bytes <= row2["write_bytes"]
    vm = psutil.virtual_memory()
    assert row["sys_mem_total_bytes"] == vm.total
    assert abs(row["sys_mem_available_bytes"] - vm.available) <= 64 * MB


def test_threads_are_counted_by_state():
    import threading

    stop = threading.Event()
    threads = [threading.Thread(target=stop.wait) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.2)  # let every thread reach its wait
    try:
        row = _native.Sampler().sample_once()
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert row["num_threads"] >= 5
    assert row["threads_sleeping"] >= 4
    # the thread reading the states (here this one) is in the total, not in a state
    assert (row["threads_running"] + row["threads_sleeping"] + row["threads_disk_wait"]
            <= row["num_threads"] - 1)


def test_the_sampler_thread_is_not_counted_as_running():
    """A program whose only thread sleeps has no thread running: the sampler's own
    thread, always running while it reads the states, is not counted."""
    import statistics
    sampler = _native.Sampler(interval=0.005)
    sampler.start()
    time.sleep(0.4)
    sampler.stop()
    running = [v for v in np.asarray(sampler.columns()["threads_running"]) if v == v]
    assert len(running) >= 5
    assert statistics.median(running) == 0


# A child that burns 0.4 s of CPU, starts a grandchild that burns 0.4 s and
# waits for it (so the grandchild is reaped into the child's cutime), prints
# "done" and then stays alive until its stdin closes.
TREE = textwrap.dedent(f"""
    import subprocess, sys, time
    def burn(s):
        t = time.process_time()
        while time.process_time() - t < s:
            pass
    grandchild = subprocess.Popen([sys.executable, "-c",
        "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.4: pass"])
    burn(0.4)
    grandchild.wait()
    print("done", flush=True)
    sys.stdin.read()
""")


def _cpu(row):
    return row["cpu_user_s"] + row["cpu_system_s"]


def test_children_true_counts_the_process_tree_and_false_does_not():
    with_tree = _native.Sampler(children=True)
    alone = _native.Sampler(children=False)
    base_tree, base_alone = with_tree.sample_once(), alone.sample_once()
    child = subprocess.Popen([sys.executable, "-c", TREE], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "done"
        live_tree, live_alone = with_tree.sample_once(), alone.sample_once()
        # child alive (own 0.4 s + interpreter start-up), grandchild reaped
        assert _cpu(live_tree) - _cpu(base_tree) >= 0.75
        assert _cpu(live_alone) - _cpu(base_alone) < 0.2
        assert live_tree["num_threads"] > live_alone["num_threads"]
        assert live_tree["rss_bytes"] > live_alone["rss_bytes"]
    finally:
        child.stdin.close()
        child.wait()
    # reaped: the tree's time moved into this process's cutime/cstime
    after_tree, after_alone = with_tree.sample_once(), alone.sample_once()
    assert _cpu(after_tree) - _cpu(base_tree) >= 0.75
    assert _cpu(after_alone) - _cpu(base_alone) < 0.2


def test_sampling_another_process_matches_psutil():
    code = "import time, sys\nt = time.process_time()\nwhile time.process_time() - t < 0.3: pass\nsys.stdin.read()"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE)
    try:
        proc = psutil.Process(child.pid)
        while proc.cpu_times().user + proc.cpu_times().system < 0.3:
            pass
        s = _native.Sampler(pid=child.pid)
        row = s.sample_once()
        cpu = proc.cpu_times()
        mem = proc.memory_info()
        assert abs(row["cpu_user_s"] - cpu.user) <= 0.02
        assert abs(row["cpu_system_s"] - cpu.system) <= 0.02
        assert abs(row["rss_bytes"] - mem.rss) <= MB
        assert row["num_threads"] == proc.num_threads()
        assert s.info()["pid"] == child.pid
    finally:
        child.stdin.close()
        child.wait()
