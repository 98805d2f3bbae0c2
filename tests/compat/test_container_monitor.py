"""dprof.ContainerResourceMonitor on a real cgroup v2 made by the test (as root:
a directory under the cgroup2 mount, a child process moved into it), resolution
of a path, a relative name and an engine's container name, and a clear error
when nothing is found. Where the machine does not allow making a cgroup the
tests skip with the reason."""
from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid

import pytest

import dprof
from dprof import _native
from dprof.containers import ContainerNotFound, resolve_cgroup
from dprof.containers.resolve import cgroup2_mount

pytestmark = [pytest.mark.core, pytest.mark.needs_native(reason="the cgroup reader is C only")]

# waits for a line, burns ~0.4 s of CPU, prints its CPU time before and after,
# waits for another line and exits
CHILD = """
import os, sys, time
sys.stdin.readline()
t0 = os.times()
end = time.process_time() + 0.4
while time.process_time() < end:
    pass
t1 = os.times()
print(t0.user + t0.system, t1.user + t1.system, flush=True)
sys.stdin.readline()
"""


def _cgroup_unavailable_reason():
    mount = cgroup2_mount()
    if mount is None:
        return "no cgroup2 file system is mounted"
    if os.geteuid() != 0:
        return "making a cgroup needs root"
    if not os.access(mount, os.W_OK):
        return f"{mount} is not writable here"
    return None


@pytest.fixture
def cgroup():
    """A fresh cgroup v2 directory, removed afterwards (its processes moved out)."""
    reason = _cgroup_unavailable_reason()
    if reason:
        pytest.skip(reason)
    mount = cgroup2_mount()
    path = os.path.join(mount, f"dprof-test-{uuid.uuid4().hex[:12]}")
    try:
        os.mkdir(path)
    except OSError as exc:
        pytest.skip(f"cannot make a cgroup under {mount}: {exc}")
    yield path
    with open(os.path.join(path, "cgroup.procs")) as fh:
        pids = [line.strip() for line in fh if line.strip()]
    for pid in pids:
        try:
            with open(os.path.join(mount, "cgroup.procs"), "w") as fh:
                fh.write(pid)
        except OSError:
            pass
    os.rmdir(path)


@pytest.fixture
def child_in(cgroup):
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    try:
        with open(os.path.join(cgroup, "cgroup.procs"), "w") as fh:
            fh.write(str(proc.pid))
    except OSError as exc:
        proc.kill()
        proc.wait()
        pytest.skip(f"cannot move a process into {cgroup}: {exc}")
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    for f in (proc.stdin, proc.stdout):
        f.close()


def test_cpu_of_a_process_in_the_cgroup_is_counted_from_outside(cgroup, child_in):
    mon = dprof.ContainerResourceMonitor(cgroup, interval=0.05)
    assert mon.cgroup == cgroup and mon.found_by == "cgroup path"
    mon.start_monitoring()
    child_in.stdin.write("go\n")
    child_in.stdin.flush()
    before, after = map(float, child_in.stdout.readline().split())
    stats = mon.stop_monitoring()
    truth = after - before
    assert truth >= 0.35
    # cpu.stat usage counts every task of the cgroup: the burn plus a little
    assert stats["cpu_seconds"] == pytest.approx(truth, abs=0.05)
    assert stats["cpu_user_seconds"] + stats["cpu_system_seconds"] == pytest.approx(
        stats["cpu_seconds"], abs=0.002)
    assert stats["cpu_percent"] == pytest.approx(
        100.0 * stats["cpu_seconds"] / (mon.samples["timestamp"][-1]
                                        - mon.samples["timestamp"][0]))
    assert stats["samples_collected"] >= 3
    # memory: real figures where the memory controller is on v2, else missing
    if stats["memory_usage"] is None:
        assert "memory.current" in stats["missing"]["memory_usage"]
        assert stats["memory_percent"] is None and stats["missing"]["memory_percent"]
    else:
        assert stats["memory_usage"] > 1
        assert 0 < stats["memory_percent"] <= 100
    # net_io from the namespace of the child (this machine's here): whole counts
    assert isinstance(stats["net_io"]["rx_bytes"], int) and stats["net_io"]["rx_bytes"] >= 0
    for key in ("read_bytes", "write_bytes"):
        value = stats["block_io"][key]
        assert value is not None or "io.stat" in stats["missing"][f"block_io.{key}"]


def test_get_stats_is_one_reading_now(cgroup, child_in):
    mon = dprof.ContainerResourceMonitor(os.path.basename(cgroup))   # relative to mount
    assert mon.cgroup == cgroup and mon.found_by.startswith("cgroup path under")
    child_in.stdin.write("go\n")
    child_in.stdin.flush()
    child_in.stdout.readline()
    reading = mon.get_stats()
    assert reading["cgroup"] == cgroup
    assert reading["cpu_percent"] > 0                      # it burned since the baseline
    assert reading["net_io"]["rx_bytes"] is not None


def test_an_empty_cgroup_has_no_network_namespace_to_read(cgroup):
    stats = dprof.ContainerResourceMonitor(cgroup).get_stats()
    assert stats["net_io"] == {"rx_bytes": None, "tx_bytes": None}
    assert "no process in" in stats["missing"]["net_io.rx_bytes"]
    assert stats["cpu_percent"] == 0.0


def test_a_container_name_is_resolved_through_the_engine_cli(cgroup, child_in, tmp_path,
                                                             monkeypatch):
    # No container engine daemon runs here, so a stand-in `docker` on PATH answers
    # `docker inspect --format {{.State.Pid}} NAME` for one name, as the real one does.
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n"
                    f'[ "$4" = "web-1" ] && {{ echo {child_in.pid}; exit 0; }}\n'
                    'echo "Error: No such object: $4" >&2; exit 1\n')
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}{os.pathsep}{os.environ['PATH']}")
    directory, how = resolve_cgroup("web-1")
    assert directory == cgroup and how == f"docker container web-1 (pid {child_in.pid})"
    with pytest.raises(ContainerNotFound, match=r"docker: Error: No such object: web-2"):
        dprof.ContainerResourceMonitor("web-2")


def test_an_unknown_name_is_a_clear_error_naming_what_was_tried():
    with pytest.raises(ContainerNotFound) as info:
        dprof.ContainerResourceMonitor(f"no-such-container-{uuid.uuid4().hex[:6]}")
    text = str(info.value)
    assert "is not a cgroup directory" in text
    assert "docker" in text and "podman" in text           # each engine says why
    with pytest.raises(TypeError, match="cgroup path or a container name"):
        dprof.ContainerResourceMonitor(42)
    with pytest.raises(ValueError, match="interval"):
        dprof.ContainerResourceMonitor("/", interval=-1)


@pytest.mark.native
def test_native_cgroup_read_agrees_with_the_files():
    """The Python oracle: parse cpu.stat and net/dev here and compare."""
    directory, why = _native.cgroup_dir(os.getpid())
    if directory is None:
        pytest.skip(f"no cgroup v2 here: {why}")

    def usage_s():
        with open(os.path.join(directory, "cpu.stat")) as fh:
            return dict(line.split() for line in fh)["usage_usec"]

    # cgroup_dir: the "0::" path of /proc/self/cgroup under a cgroup2 mount point
    with open("/proc/self/cgroup") as fh:
        rel = next(line[3:].strip() for line in fh if line.startswith("0::"))
    with open("/proc/self/mountinfo") as fh:
        mounts = [line.split()[4] for line in fh if " - cgroup2 " in line]
    assert any(directory == (m if rel in ("", "/") else m + rel) for m in mounts), \
        (directory, rel, mounts)

    before = float(usage_s()) / 1e6
    values, missing = _native.cgroup_read(directory)
    after = float(usage_s()) / 1e6
    assert before <= values["cpu_usage_s"] <= after
    for name in ("memory.current", "memory.max", "io.stat"):
        present = os.path.exists(os.path.join(directory, name))
        key = {"memory.current": "mem_current_bytes", "memory.max": "mem_max_bytes",
               "io.stat": "io_read_bytes"}[name]
        assert (key in values) == present and (key in missing) != present
    if "mem_max_bytes" in values:
        with open(os.path.join(directory, "memory.max")) as fh:
            text = fh.read().strip()
        assert values["mem_max_bytes"] == (float("inf") if text == "max" else float(text))

    def oracle():
        with open("/proc/self/net/dev") as fh:
            rows = [line.split(":", 1) for line in fh.readlines()[2:]]
        fields = {name.strip(): data.split() for name, data in rows}
        return (sum(int(f[8]) for n, f in fields.items() if n != "lo"),
                sum(int(f[0]) for n, f in fields.items() if n != "lo"))

    low = oracle()
    sent, recv = _native.netdev_read("/proc/self/net/dev")
    high = oracle()
    assert low[0] <= sent <= high[0] and low[1] <= recv <= high[1]   # counters only grow
    with pytest.raises(FileNotFoundError):
        _native.netdev_read("/proc/999999999/net/dev")
    with pytest.raises(TypeError):
        _native.cgroup_read(b"/sys")
    assert _native.cgroup_dir(2 ** 22 + 12345)[0] is None
