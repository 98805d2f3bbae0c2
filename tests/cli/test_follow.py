"""``dprof run --follow-children``: Python child processes (multiprocessing with each
start method, subprocess running python) are sampled and merged into the profile,
as real runs; and the sitecustomize shim on its own (inert without the variable,
chains to the user's sitecustomize, never breaks the child)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest

from dprof.follow.parent import SHIM_DIR

pytestmark = pytest.mark.core

# Each task burns this much CPU time (not wall time: the machine may be loaded); the
# merged stacks must give child_work at least half of it (the sampler counts time,
# and time waiting for a CPU counts in the CPU classes, so more is fine).
TASK_CPU_SECONDS = 0.3

CHILD_WORK = f"""
import os, time

def child_work(i):
    start = time.process_time()
    while time.process_time() - start < {TASK_CPU_SECONDS}:
        pass
    return os.getpid()
"""


def write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def child_work_seconds(stacks):
    """Seconds of child_work by thread name."""
    out = {}
    for r in stacks.rows:
        if any(f.function == "child_work" for f in stacks.stack_frames(r.stack_id)):
            name = stacks.thread_names[r.thread_id]
            out[name] = out.get(name, 0.0) + r.seconds
    return out


def pool_script(cli, method):
    write(cli.workdir / "work.py", CHILD_WORK)
    return write(cli.workdir / "pool.py", f"""
        import json, multiprocessing, sys
        from work import child_work
        if __name__ == "__main__":
            with multiprocessing.get_context({method!r}).Pool(2) as pool:
                pids = pool.map(child_work, range(2), chunksize=1)
            json.dump(pids, open("pids.json", "w"))
    """)


@pytest.mark.parametrize("method", ["fork", "forkserver", "spawn"])
def test_pool_workers_are_merged_with_their_pids_in_thread_names(cli, method):
    pool_script(cli, method)
    done = cli("run", "--follow-children", "pool.py", check=0)
    worker_pids = set(json.loads((cli.workdir / "pids.json").read_text()))
    [profile] = cli.profiles()
    stacks = profile.stacks
    by_thread = child_work_seconds(stacks)
    # the work happened in the workers only, under their pids' names
    assert by_thread, f"child_work missing from the merged stacks; stderr:\n{done.stderr}"
    assert all(name.startswith("pid ") for name in by_thread)
    assert {int(name.split(":")[0][4:]) for name in by_thread} <= worker_pids
    assert sum(by_thread.values()) >= 0.5 * 2 * TASK_CPU_SECONDS
    children = stacks.meta["children"]
    assert worker_pids <= set(children["pids"]) and profile.pid not in children["pids"]
    assert children["not_merged"] == {}
    assert {f"pid {p}: MainThread" for p in worker_pids} <= set(stacks.thread_names.values())
    assert "followed and merged" in done.stderr
    # the parent's own rows and duration are still the parent's
    assert stacks.duration_seconds <= profile.runtime_seconds + 0.5


def test_without_follow_children_the_workers_are_not_in_the_profile(cli):
    pool_script(cli, "fork")
    cli("run", "pool.py", check=0)
    [profile] = cli.profiles()
    assert child_work_seconds(profile.stacks) == {}
    assert "children" not in profile.stacks.meta


def test_subprocess_running_python_is_merged(cli):
    write(cli.workdir / "work.py", CHILD_WORK)
    write(cli.workdir / "sub.py", """
        import subprocess, sys
        code = "from work import child_work; print(child_work(0))"
        done = subprocess.run([sys.executable, "-c", code], check=True,
                              capture_output=True, text=True)
        open("child.txt", "w").write(done.stdout + "|" + done.stderr)
    """)
    cli("run", "--follow-children", "sub.py", check=0)
    out, err = (cli.workdir / "child.txt").read_text().split("|")
    assert err == ""                       # nothing of dprof's reached the child's stderr
    [profile] = cli.profiles()
    by_thread = child_work_seconds(profile.stacks)
    assert list(by_thread) == [f"pid {int(out)}: MainThread"]
    assert by_thread[f"pid {int(out)}: MainThread"] >= 0.5 * TASK_CPU_SECONDS


def test_command_running_python_gets_the_childs_stacks(cli):
    write(cli.workdir / "work.py", CHILD_WORK)
    write(cli.workdir / "job.py", "from work import child_work\nchild_work(0)\n")
    cli("run", "--follow-children", "--", sys.executable, "job.py", check=0)
    [profile] = cli.profiles()
    by_thread = child_work_seconds(profile.stacks)
    assert len(by_thread) == 1 and sum(by_thread.values()) >= 0.5 * TASK_CPU_SECONDS


def test_sigterm_still_ends_the_child_by_sigterm_and_its_profile_is_kept(cli):
    write(cli.workdir / "work.py", CHILD_WORK)
    write(cli.workdir / "term.py", """
        import subprocess, sys
        code = ("import sys; from work import child_work; child_work(0); "
                "print('ready', flush=True); sys.stdin.read()")
        child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
        assert child.stdout.readline() == "ready\\n"
        child.terminate()
        open("code.txt", "w").write(str(child.wait()))
    """)
    cli("run", "--follow-children", "term.py", check=0)
    assert (cli.workdir / "code.txt").read_text() == "-15"
    [profile] = cli.profiles()
    assert sum(child_work_seconds(profile.stacks).values()) >= 0.5 * TASK_CPU_SECONDS


def test_children_that_cannot_be_merged_are_named_with_the_reason(cli):
    write(cli.workdir / "lost.py", """
        import signal, subprocess, sys
        wait = "import sys; print('ready', flush=True); sys.stdin.read()"
        killed = subprocess.Popen([sys.executable, "-c", wait], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        running = subprocess.Popen([sys.executable, "-c", wait], stdin=subprocess.PIPE,
                                   stdout=subprocess.PIPE, text=True)
        assert killed.stdout.readline() == running.stdout.readline() == "ready\\n"
        killed.kill()
        killed.wait()
        open("pids.txt", "w").write(f"{killed.pid} {running.pid}")
    """)
    try:
        done = cli("run", "--follow-children", "lost.py", check=0)
    finally:
        text = (cli.workdir / "pids.txt").read_text() if (cli.workdir / "pids.txt").exists() \
            else ""
        killed, running = (int(p) for p in text.split()) if text else (None, None)
        if running:
            os.kill(running, 9)       # its stdin pipe may be held open; do not rely on EOF
    [profile] = cli.profiles()
    not_merged = profile.stacks.meta["children"]["not_merged"]
    assert "killed by SIGKILL" in not_merged[str(killed)]
    assert "still running" in not_merged[str(running)]
    assert f"child {running}: still running" in done.stderr


def test_follow_children_with_no_stacks_is_a_clear_error(cli):
    write(cli.workdir / "x.py", "pass\n")
    done = cli("run", "--follow-children", "--no-stacks", "x.py", check=2)
    assert "--follow-children" in done.stderr and "--no-stacks" in done.stderr
    assert cli.profiles() == []


# -- the shim alone ------------------------------------------------------------------
PROBE = ("import json, sys, threading; "
         "print(json.dumps({'dprof': sorted(m for m in sys.modules if m.startswith('dprof')),"
         " 'threads': threading.active_count(),"
         " 'site': getattr(sys.modules.get('sitecustomize'), '__file__', None),"
         " 'mark': getattr(sys.modules.get('sitecustomize'), 'MARK', None)}))")


def run_python(tmp_path, pythonpath, extra_env=None, code=PROBE):
    env = {k: v for k, v in os.environ.items() if not k.startswith("DPROF_")}
    import dprof
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(dprof.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(pythonpath + [package_root])
    env.update(extra_env or {})
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)


def test_shim_without_the_variable_starts_nothing(tmp_path):
    done = run_python(tmp_path, [SHIM_DIR])
    assert done.returncode == 0 and done.stderr == ""
    seen = json.loads(done.stdout)
    assert seen["dprof"] == [] and seen["threads"] == 1
    assert seen["site"] == os.path.join(SHIM_DIR, "sitecustomize.py")
    assert os.listdir(tmp_path) == []


def test_shim_runs_the_users_sitecustomize_with_and_without_following(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    write(user / "sitecustomize.py", "MARK = 'user sitecustomize ran'\n")
    follow_dir = tmp_path / "follow"
    follow_dir.mkdir()
    for extra in ({}, {"DPROF_FOLLOW_DIR": str(follow_dir)}):
        done = run_python(tmp_path, [SHIM_DIR, str(user)], extra)
        assert done.returncode == 0 and done.stderr == "", done.stderr
        seen = json.loads(done.stdout)
        assert seen["mark"] == "user sitecustomize ran"
        assert seen["site"] == str(user / "sitecustomize.py")
    assert "dprof.stacks.sampler" in seen["dprof"]           # followed the second time
    [record] = [n for n in os.listdir(follow_dir) if n.endswith(".json")]
    assert "stacks" in json.loads((follow_dir / record).read_text())


def test_users_failing_sitecustomize_is_reported_as_without_the_shim(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    write(user / "sitecustomize.py", "raise RuntimeError('broken site')\n")
    plain = run_python(tmp_path, [str(user)], code="print('ran')")
    shimmed = run_python(tmp_path, [SHIM_DIR, str(user)], code="print('ran')")
    assert plain.stdout == shimmed.stdout == "ran\n"
    assert "broken site" in plain.stderr
    assert shimmed.stderr == plain.stderr


def test_a_child_dprof_cannot_follow_still_runs_and_says_why(tmp_path):
    follow_dir = tmp_path / "follow"
    follow_dir.mkdir()
    done = run_python(tmp_path, [SHIM_DIR], {"DPROF_FOLLOW_DIR": str(follow_dir),
                                             "DPROF_FOLLOW_HZ": "not a rate"},
                      code="print('ran')")
    assert (done.returncode, done.stdout, done.stderr) == (0, "ran\n", "")
    from dprof.follow.collect import read_children
    children = read_children(str(follow_dir), wait_seconds=0)
    assert children.merged == []
    [child] = children.not_merged
    assert "ValueError" in child.problem and "not a rate" in child.problem


# -- merging (pure) -------------------------------------------------------------------
def test_merge_keeps_the_parents_duration_and_renames_only_colliding_thread_ids():
    from dprof.follow.collect import Child, Children, merge_children
    from dprof.stacks.model import Frame, StackProfile
    parent = StackProfile(duration_seconds=2.0, requested_hz=100.0, effective_hz=90.0,
                          meta={"ticks": 180}, thread_names={100: "MainThread"})
    parent.add(100, [Frame("p.py", "main", 1)], "cpu_python", 1.5, 150)
    forked = StackProfile(duration_seconds=1.0, effective_hz=50.0, overhead_seconds=0.01,
                          thread_names={100: "MainThread"})      # the parent's TID again
    forked.add(100, [Frame("w.py", "child_work", 3)], "cpu_python", 0.75, 75)
    spawned = StackProfile(duration_seconds=1.0, thread_names={300: "MainThread"})
    spawned.add(300, [Frame("w.py", "child_work", 3)], "cpu_native", 0.25, 25)
    children = Children(merged=[Child(200, 1, "fork", [], forked),
                                Child(300, 1, "exec", [], spawned)],
                        not_merged=[Child(400, 1, "exec", [], problem="still running")])
    out = merge_children(parent, children)
    assert (out.duration_seconds, out.requested_hz, out.effective_hz) == (2.0, 100.0, 90.0)
    assert out.thread_names == {100: "MainThread", (200 << 32) | 100: "pid 200: MainThread",
                                300: "pid 300: MainThread"}
    seconds = {(out.thread_names[r.thread_id], r.category): r.seconds for r in out.rows}
    assert seconds == {("MainThread", "cpu_python"): 1.5,
                       ("pid 200: MainThread", "cpu_python"): 0.75,
                       ("pid 300: MainThread", "cpu_native"): 0.25}
    assert out.meta["ticks"] == 180
    assert out.meta["children"] == {"merged": 2, "pids": [200, 300], "overhead_seconds": 0.01,
                                    "not_merged": {"400": "still running"}}
    # the inputs are untouched
    assert forked.rows[0].thread_id == 100 and forked.thread_names == {100: "MainThread"}
