"""Each seed tool's documented workflow, run as written with only the import line
changed to dprof: the Task Profiler's task class with @profiler on run and its
repository calls; Keystone's resource profiler, job monitor and job history; and
the Scalene guide's `run --profile-interval 60 -o profile.json server.py`, then
hotspots above a threshold on the terminal and in a browser.

Each workflow is a script run in its own interpreter, against its own database."""
from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import textwrap

import pytest

import dprof

pytestmark = pytest.mark.core

_ROOT = str(pathlib.Path(dprof.__file__).resolve().parent.parent)


@pytest.fixture
def run(tmp_path):
    """run(code or argv) -> CompletedProcess, in tmp_path, with its own database."""
    env = dict(os.environ, DPROF_DATABASE_URL=f"sqlite:///{tmp_path / 'profiles.db'}",
               DPROF_SPOOL_DIR=str(tmp_path / "spool"), TZ="America/New_York",
               PYTHONPATH=os.pathsep.join(p for p in (_ROOT, os.environ.get("PYTHONPATH"))
                                          if p))

    def runner(script=None, argv=None, timeout=120):
        cmd = [sys.executable, "-c", textwrap.dedent(script)] if script is not None \
            else [sys.executable, "-m", "dprof", *argv]
        done = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"{cmd[-1][:200]}\nstdout:\n{done.stdout}\n" \
                                     f"stderr:\n{done.stderr}"
        return done
    return runner


def test_task_profiler_readme(run):
    done = run("""
        from datetime import datetime, timedelta
        from dprof import Profile, ProfileRepo, profiler   # was: from task_profiler ...

        # a profile built by hand, with naive local times as the README does
        start = datetime.now()
        profile = Profile(env="dev", stage="extract", process_name="load_users",
                          task_start_time=start,
                          task_end_time=start + timedelta(seconds=2),
                          runtime_seconds=2.0, cpu_cores=4.0,
                          cpu_user_utilization=0.25, memory_usage_peak_mb=128.0)
        repo = ProfileRepo()
        repo.add(profile)

        class LoadUsers:
            env = "dev"
            stage = "extract"
            process_name = "load_users"

            @profiler
            def run(self):
                return sum(i * i for i in range(200_000))

        LoadUsers().run()

        df = repo.get_by_process(process_name="load_users")
        print(len(df), sorted(set(df["stage"])), sorted(set(df["env"])))
        print(repo.exists(profile_id=profile.id), repo.exists(profile_id=123))
        back = repo.get(profile_id=profile.id)
        # stored as UTC, the same instant as the naive local start
        print(back.task_start_time.utcoffset().total_seconds(),
              back.task_start_time == start.astimezone())
        print(repo.remove(profile_id=profile.id))
        print(repo.remove_by_process(process_name="load_users"))
        print(repo.count())
    """)
    assert done.stdout.split("\n")[:6] == ["2 ['extract'] ['dev']", "True False",
                                           "0.0 True", "True", "1", "0"]


def test_keystone_resource_profiler_readme(run):
    done = run("""
        from dprof import ResourceProfiler      # was: from keystone import ...

        profiler = ResourceProfiler(interval=0.1)
        profiler.start_profiling()
        data = [bytearray(1 << 20) for _ in range(64)]     # the workload
        total = sum(i for i in range(2_000_000))
        profile = profiler.stop_profiling()

        print(f"CPU mean: {profile['cpu']['mean_percent']:.1f}%")
        print(f"CPU max: {profile['cpu']['max_percent']:.1f}%")
        print(f"Memory peak: {profile['memory']['max_used_mb']:.1f} MB")
        print(f"Process CPU: {profile['process_cpu']['mean_percent']:.1f}%")
        print(f"Process memory peak: {profile['process_memory']['max_mb']:.1f} MB")
        print(f"Process memory min: {profile['process_memory']['min_mb']:.1f} MB")
        print(f"Writes: {profile['io_stats']['write_count']}")
        print(f"GPU: {profile['gpu_stats']['nvidia']['utilization_percent']}")
        print(f"Container CPU: {profile['container_stats']['cpu_percent']}")
    """)
    lines = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert float(lines["Process memory peak"].split()[0]) - \
        float(lines["Process memory min"].split()[0]) >= 50          # the 64 MiB
    assert float(lines["Process CPU"].rstrip("%")) > 0
    assert lines["GPU"] == "None" or float(lines["GPU"]) >= 0       # None: no GPU here


def test_keystone_job_monitor_and_job_history(run, tmp_path):
    done = run("""
        import json, sys
        from dprof import JobMonitor            # was: from keystone import ...

        monitor = JobMonitor(enable_profiling=True)
        monitor.start_monitoring()
        result = sum(i * i for i in range(500_000))      # the job
        job_profile = monitor.stop_monitoring()
        print(json.dumps({k: job_profile[k] for k in
                          ("task_id", "status", "returncode", "resource_usage")}))

        # a job that is a command
        job = monitor.run_command([sys.executable, "-c", "print('hello')"],
                                  task_id="hello-job")
        # a job shorter than one sampling interval has no series, and says why
        print(job["task_id"], job["status"], job["returncode"],
              job["detailed_profile"] is not None or bool(job["missing"]["detailed_profile"]))
    """)
    first = json.loads(done.stdout.splitlines()[0])
    assert first["status"] == "completed" and first["returncode"] == 0
    assert first["resource_usage"]["cpu_total_seconds"] > 0
    assert done.stdout.splitlines()[-1] == "hello-job completed 0 True"
    assert "hello" in done.stdout
    # the job history: one job profile per line
    run(argv=["export", "--format", "jsonl", "-o", "job_history.jsonl"])
    history = [json.loads(line)
               for line in (tmp_path / "job_history.jsonl").read_text().splitlines()]
    assert [j["task_id"] for j in history] == [first["task_id"], "hello-job"]
    assert history[0]["resource_usage"] == first["resource_usage"]
    shown = run(argv=["show", history[1]["profile_id"], "--json", "--format", "job"])
    assert json.loads(shown.stdout) == history[1]


SERVER = '''
def handle_heavy(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def handle_light(n):
    return sum(range(n))


def serve(requests):
    for _ in range(requests):
        handle_heavy(200_000)
        handle_light(2_000)


if __name__ == "__main__":
    serve(30)
'''


def _hotspot_rows(text):
    """(location, total percent) of each row of the hotspot table."""
    rows = []
    for line in text.split("\n\n")[0].splitlines()[2:]:
        m = re.match(r"(\S+:\d+)\s.*?\s(\d+\.\d)%\s{2}", line)
        if m:
            rows.append((m.group(1), float(m.group(2))))
    return rows


def test_scalene_guide_run_then_hotspots_above_a_threshold(run, tmp_path):
    (tmp_path / "server.py").write_text(SERVER)
    run(argv=["run", "--profile-interval", "60", "-o", "profile.json", "server.py"])
    assert json.loads((tmp_path / "profile.json").read_text())["process_name"] == "server.py"

    shown = run(argv=["view", "profile.json", "--cpu-percent-threshold", "5"]).stdout
    rows = _hotspot_rows(shown)
    assert rows and rows[0][0] == "server.py:5"            # the heavy loop's line
    assert all(total >= 5 for _, total in rows)
    everything = _hotspot_rows(run(argv=["view", "profile.json", "--threshold", "0"]).stdout)
    assert len(everything) >= len(rows)
    assert {loc for loc, _ in rows} <= {loc for loc, _ in everything}


def test_scalene_guide_hotspots_in_a_browser(run, tmp_path):
    (tmp_path / "server.py").write_text(SERVER)
    run(argv=["run", "--profile-interval", "60", "-o", "profile.json", "server.py"])
    run(argv=["view", "profile.json", "--cpu-percent-threshold", "5", "-o", "profile.html"])
    page = (tmp_path / "profile.html").read_text()
    hot = re.search(r'<table id="hotspots">(.*?)</table>', page, re.S).group(1)
    assert "server.py:5" in hot
    exe = next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                "google-chrome"))), None)
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required for the browser tests in CI")
        pytest.skip("chromium is not installed (apt-get install chromium); "
                    "the page's content was checked above")
    dom = subprocess.run([exe, "--headless", "--no-sandbox", "--disable-gpu",
                          "--disable-dev-shm-usage",
                          f"--user-data-dir={tmp_path / 'chromium-profile'}",
                          "--virtual-time-budget=10000", "--dump-dom",
                          (tmp_path / "profile.html").as_uri()],
                         capture_output=True, text=True, timeout=180)
    assert dom.returncode == 0, dom.stderr[-2000:]
    status = re.search(r'<output[^>]*id="dprof-status"[^>]*>', dom.stdout)
    assert status and re.search(r'data-frames="[1-9]', status.group(0)), dom.stdout[-500:]
    assert "handle_heavy" in dom.stdout
