"""Task profile numbers against workloads whose true answer is known."""
import os
import resource
import threading
import time

import pytest

from dprof.session import profile

pytestmark = pytest.mark.core


def busy(seconds):
    """Burn CPU in this thread for about `seconds` of thread CPU time."""
    end = time.thread_time() + seconds
    x = 0
    while time.thread_time() < end:
        x += 1
    return x


def test_cpu_time_of_a_busy_loop(repo_url):
    with profile("busy", store=False, resources=False) as run:
        t0 = time.thread_time()
        busy(0.3)
        burned = time.thread_time() - t0
    p = run.profile
    cpu = (p.cpu_user_utilization + p.cpu_system_utilization) * p.runtime_seconds * p.cpu_cores
    # process scope: this thread's 0.3 s plus whatever else ran; never less
    assert cpu == pytest.approx(burned, abs=0.05) or cpu > burned
    assert cpu >= burned - 0.02


def test_concurrent_threads_each_claim_only_their_own_cpu(repo_url):
    results = {}
    barrier = threading.Barrier(2)

    def worker(name, seconds):
        barrier.wait()
        with profile(name, store=False, resources=False) as run:
            busy(seconds)
            barrier_wait_end.wait()
        results[name] = run.profile

    barrier_wait_end = threading.Barrier(2)
    threads = [threading.Thread(target=worker, args=("short", 0.1)),
               threading.Thread(target=worker, args=("long", 0.4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for name, expected in (("short", 0.1), ("long", 0.4)):
        p = results[name]
        assert p.sources["scope"] == "thread"
        cpu = (p.cpu_user_utilization + p.cpu_system_utilization) * p.runtime_seconds * p.cpu_cores
        assert cpu == pytest.approx(expected, abs=0.06), name


def test_child_process_cpu_is_counted_in_process_scope(repo_url):
    import subprocess
    import sys
    code = ("import time\nend=time.process_time()+0.4\nwhile time.process_time()<end: pass")
    with profile("children", store=False, resources=False) as run:
        subprocess.run([sys.executable, "-c", code], check=True)
    p = run.profile
    cpu = (p.cpu_user_utilization + p.cpu_system_utilization) * p.runtime_seconds * p.cpu_cores
    assert cpu >= 0.38


@pytest.mark.needs_native(reason="counts allocations (C only)")
def test_allocation_count_of_known_objects(repo_url):
    n = 50_000
    slots = [None] * n      # iterate over this, not range(): ints past 256 allocate
    with profile("allocs", store=False, resources=False) as run:
        keep = [object() for _ in slots]
    del keep
    count = run.profile.memory_allocations
    # n objects plus the list's growth and a little interpreter bookkeeping
    assert n <= count < n * 1.2 + 1000


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def test_peak_memory_is_the_tasks_not_the_processes(repo_url):
    # a bigger allocation before the task must not show in the task's peak
    big = bytearray(300 * 2**20)
    big[::4096] = b"x" * len(big[::4096])
    del big
    baseline = rss_mb()
    with profile("peak", store=False, resources=False) as run:
        block = bytearray(100 * 2**20)
        block[::4096] = b"y" * len(block[::4096])
        del block
    p = run.profile
    assert p.sources["memory_usage_peak_mb"] == "vmhwm_reset"
    # the process's RSS at the start plus the task's 100 MB, not the earlier 300 MB
    assert baseline + 95 <= p.memory_usage_peak_mb < baseline + 100 + 30


def test_file_bytes_written_and_read_from_storage(repo_url, tmp_path):
    path = tmp_path / "data.bin"
    size = 4 * 2**20
    payload = os.urandom(size)
    with profile("write", store=False, resources=False) as wrun:
        with open(path, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
    # drop the file from the page cache so that reading goes to storage
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    os.close(fd)
    with profile("read", store=False, resources=False) as rrun:
        with open(path, "rb") as f:
            assert len(f.read()) == size
    w, r = wrun.profile, rrun.profile
    if w.file_write_bytes == 0 and r.file_read_bytes == 0:
        pytest.skip("this filesystem does not account storage I/O per process (tmpfs/overlay)")
    assert w.file_write_bytes >= size
    assert r.file_read_bytes >= size * 0.9


def test_short_task_reports_io_wait_missing_not_zero(repo_url):
    with profile("tiny", store=False, resources=False) as run:
        pass
    p = run.profile
    assert p.io_wait_time_seconds is None
    assert "io_wait_time_seconds" in p.missing and p.missing["io_wait_time_seconds"]


def test_nested_profile_resets_do_not_hide_the_outer_peak(repo_url):
    with profile("outer", store=False, resources=False) as outer:
        block = bytearray(150 * 2**20)
        block[::4096] = b"x" * len(block[::4096])
        del block
        with profile("inner", store=False, resources=False) as inner:
            small = bytearray(20 * 2**20)
            small[::4096] = b"y" * len(small[::4096])
            del small
    assert outer.profile.memory_usage_peak_mb >= 150
    assert inner.profile.memory_usage_peak_mb < outer.profile.memory_usage_peak_mb - 100


def test_command_subject_counts_the_child_not_this_interpreter(repo_url):
    import subprocess
    import sys
    from dprof.session import ProfileRun
    code = "b = bytearray(120 * 2**20); b[::4096] = b'x' * len(b[::4096])"
    run = ProfileRun("child", store=False, resources=False, subject="children")
    with run:
        subprocess.run([sys.executable, "-c", code], check=True)
    p = run.profile
    assert p.memory_usage_peak_mb >= 120
    assert p.memory_allocations is None and "external commands" in p.missing["memory_allocations"]
    assert p.sources["scope"] == "children"


def test_peak_is_the_tasks_in_a_process_execed_from_a_bigger_one(tmp_path):
    # exec() copies the old image's high-water mark into signal->maxrss, which no
    # reset clears: ru_maxrss would report the parent's peak; VmHWM must be used.
    import subprocess
    import sys
    script = tmp_path / "small_task.py"
    script.write_text(
        "import os\n"
        "os.environ['DPROF_DATABASE_URL'] = 'sqlite:///' + os.environ['DB']\n"
        "from dprof.session import profile\n"
        "with profile('small', store=False, resources=False) as run:\n"
        "    b = bytearray(10 * 2**20); b[::4096] = b'y' * len(b[::4096])\n"
        "print(run.profile.memory_usage_peak_mb)\n")
    launcher = ("import os, sys\n"
                "big = bytearray(400 * 2**20); big[::4096] = b'x' * len(big[::4096])\n"
                "os.execv(sys.executable, [sys.executable, sys.argv[1]])\n")
    out = subprocess.run([sys.executable, "-c", launcher, str(script)], check=True,
                         capture_output=True, text=True,
                         env=dict(os.environ, DB=str(tmp_path / "p.db"))).stdout
    assert float(out) < 150
