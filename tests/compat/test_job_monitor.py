"""dprof.JobMonitor: Keystone's job monitor around in-process work and around a
command with its children; each job is stored as a Profile whose job profile
(dprof show --format job, dprof export --format jsonl) is what the monitor gave."""
from __future__ import annotations

import json
import textwrap
import subprocess
import sys
import time
from datetime import datetime

import pytest

import dprof
from dprof.jobs.shape import job_profile
from dprof.repo import ProfileRepo

pytestmark = pytest.mark.core

MB = 1 << 20
JOB_KEYS = {"task_id", "start_time", "end_time", "duration_seconds", "status", "returncode",
            "resource_usage", "detailed_profile"}
USAGE_KEYS = {"cpu_user_seconds", "cpu_system_seconds", "cpu_total_seconds", "memory_peak_mb"}

# a child that burns ~0.5 s of user CPU after touching 64 MiB, then prints its own
# CPU clock (the truth the test compares with)
CHILD = """
import os, sys, time
block = b"x" * (64 << 20)
end = time.process_time() + 0.5
x = 0
while time.process_time() < end:
    x += 1
t = os.times()
print(t.user, t.system)
sys.exit(int(sys.argv[1]))
"""


@pytest.fixture
def repo(tmp_path):
    r = ProfileRepo(tmp_path / "jobs.db")
    yield r
    r.close()


def burn(cpu_seconds):
    # this thread's CPU, so that the wall time is at least cpu_seconds too (the
    # process's CPU also counts dprof's sampler threads and can outrun the wall clock)
    end = time.thread_time() + cpu_seconds
    while time.thread_time() < end:
        pass


def test_in_process_job_gives_the_complete_job_profile_and_stores_it(repo):
    monitor = dprof.JobMonitor(enable_profiling=True, repo=repo, interval=0.01)
    cpu0 = time.process_time()
    monitor.start_monitoring(task_id="nightly-42")
    burn(0.4)
    job = monitor.stop_monitoring()
    cpu_truth = time.process_time() - cpu0

    assert JOB_KEYS <= set(job)
    assert job["task_id"] == "nightly-42" and job["status"] == "completed"
    assert job["returncode"] == 0
    usage = job["resource_usage"]
    assert USAGE_KEYS <= set(usage)
    # at least the 0.4 s burned, at most all the CPU from before start to after stop
    # (starting and stopping take some too); getrusage advances in clock ticks
    assert 0.4 - 0.02 <= usage["cpu_total_seconds"] <= cpu_truth + 0.02
    assert usage["cpu_total_seconds"] == pytest.approx(
        usage["cpu_user_seconds"] + usage["cpu_system_seconds"])
    assert usage["memory_peak_mb"] > 1
    start, end = (datetime.fromisoformat(job[k]) for k in ("start_time", "end_time"))
    assert (end - start).total_seconds() == pytest.approx(job["duration_seconds"], abs=0.01)
    assert job["duration_seconds"] >= 0.4
    detail = job["detailed_profile"]
    assert detail["process_cpu"]["mean_percent"] > 0
    # stored: the job profile of the stored record is the one returned
    stored = repo.get(job["profile_id"])
    assert stored.tags["task_id"] == "nightly-42"
    assert json.loads(json.dumps(job_profile(stored))) == json.loads(json.dumps(job))


def test_a_command_and_its_children_are_measured_by_their_own_clocks(repo):
    monitor = dprof.JobMonitor(enable_profiling=True, repo=repo, interval=0.02)
    monitor.start_monitoring(command=[sys.executable, "-c", CHILD, "0"],
                             stdout=subprocess.PIPE, text=True)
    child = monitor._child
    job = monitor.stop_monitoring()
    user, system = map(float, child.stdout.read().split())
    child.stdout.close()
    usage = job["resource_usage"]
    assert job["status"] == "completed" and job["returncode"] == 0
    # RUSAGE_CHILDREN: the child's own clock, to the tick (its exit adds a little)
    assert usage["cpu_user_seconds"] == pytest.approx(user, abs=0.05)
    assert usage["cpu_system_seconds"] == pytest.approx(system, abs=0.05)
    assert usage["memory_peak_mb"] >= 64                      # the 64 MiB it touched
    assert usage["memory_peak_mb"] < 64 + 200
    assert job["detailed_profile"]["samples_collected"] >= 2


def test_a_failing_command_is_a_failed_job_with_its_returncode(repo, tmp_path):
    history = tmp_path / "history.jsonl"
    monitor = dprof.JobMonitor(repo=repo, interval=0.02, history_file=str(history))
    job = monitor.run_command([sys.executable, "-c", CHILD, "3"], stdout=subprocess.DEVNULL)
    assert job["status"] == "failed" and job["returncode"] == 3
    assert repo.get(job["profile_id"]).status == "failed"
    job2 = monitor.run_command([sys.executable, "-c", "pass"], task_id="second")
    lines = [json.loads(line) for line in history.read_text().splitlines()]
    assert [j["task_id"] for j in lines] == [job["task_id"], "second"]
    assert lines[1]["returncode"] == 0 and lines[1] == json.loads(json.dumps(job2))


def test_an_exception_in_an_in_process_job_fails_it_and_passes_through(repo):
    monitor = dprof.JobMonitor(repo=repo, interval=0.01)
    with pytest.raises(KeyError):
        with monitor:
            raise KeyError("boom")
    assert monitor.job_profile["status"] == "failed"
    assert monitor.job_profile["returncode"] == 1
    assert monitor.profile.exception_type == "KeyError"


def test_without_profiling_there_is_no_detailed_profile_but_usage_stays(repo):
    monitor = dprof.JobMonitor(enable_profiling=False, repo=repo)
    monitor.start_monitoring()
    burn(0.1)
    job = monitor.stop_monitoring()
    assert job["detailed_profile"] is None
    assert "enable_profiling=False" in job["missing"]["detailed_profile"]
    assert job["resource_usage"]["cpu_total_seconds"] >= 0.09


def test_misuse_is_a_clear_error_and_stores_nothing(repo):
    monitor = dprof.JobMonitor(repo=repo)
    with pytest.raises(RuntimeError, match="before start_monitoring"):
        monitor.stop_monitoring()
    with pytest.raises(TypeError, match="list of arguments"):
        monitor.start_monitoring(command="make all")
    with pytest.raises(FileNotFoundError):
        monitor.start_monitoring(command=["/no/such/program"])
    assert not monitor.monitoring and repo.count() == 0
    monitor.start_monitoring()
    with pytest.raises(RuntimeError, match="already monitoring"):
        monitor.start_monitoring()
    monitor.stop_monitoring()
    with pytest.raises(ValueError, match="interval"):
        dprof.JobMonitor(interval=0)


def test_cli_show_format_job_and_export_jsonl(repo, tmp_path):
    url = repo.url
    monitor = dprof.JobMonitor(repo=repo, interval=0.02)
    jobs = [monitor.run_command([sys.executable, "-c", "pass"], task_id=f"t{i}")
            for i in range(2)]
    env = _cli_env(url, tmp_path)
    shown = subprocess.run([sys.executable, "-m", "dprof", "show", jobs[0]["profile_id"][:10],
                            "--json", "--format", "job"], env=env, capture_output=True,
                           text=True, check=True, cwd=tmp_path)
    assert json.loads(shown.stdout) == json.loads(json.dumps(jobs[0]))
    out = tmp_path / "jobs.jsonl"
    subprocess.run([sys.executable, "-m", "dprof", "export", "-o", str(out)], env=env,
                   check=True, capture_output=True, cwd=tmp_path)
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [j["task_id"] for j in lines] == ["t0", "t1"]
    assert lines == json.loads(json.dumps(jobs))
    bad = subprocess.run([sys.executable, "-m", "dprof", "show", jobs[0]["profile_id"],
                          "--format", "job"], env=env, capture_output=True, text=True,
                         cwd=tmp_path)
    assert bad.returncode == 2 and "add --json" in bad.stderr


def _cli_env(url, tmp_path):
    import os
    import pathlib
    root = str(pathlib.Path(dprof.__file__).resolve().parent.parent)
    return dict(os.environ, DPROF_DATABASE_URL=url, DPROF_SPOOL_DIR=str(tmp_path / "spool"),
                PYTHONPATH=os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p))


def test_a_small_command_from_a_big_process_reports_its_own_peak(tmp_path):
    # exec() copies the launcher's high-water mark into the child's ru_maxrss, so a
    # 32 MiB command started from a 400 MiB process would read 400 MiB there
    code = textwrap.dedent("""
        import sys
        import dprof
        big = bytearray(400 << 20); big[::4096] = b"x" * len(big[::4096])
        child = ("import time; b = bytearray(32 << 20); b[::4096] = b'y' * len(b[::4096]);"
                 " time.sleep(0.3)")
        job = dprof.JobMonitor(store=False).run_command([sys.executable, "-c", child])
        print(job["resource_usage"]["memory_peak_mb"])
    """)
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True,
                         text=True, env=_cli_env(f"sqlite:///{tmp_path / 'p.db'}", tmp_path),
                         cwd=tmp_path)
    peak = float(out.stdout)
    assert 32 <= peak < 150
