"""A child forked inside a profile never runs its parent's profile exit path.

Real forks in a fresh interpreter (a script per test, so that pytest's own threads
are not forked), real SQLite files. The child reports through a pipe what its exit
path did; the parent's database must hold exactly the parent's profile.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dprof

pytestmark = pytest.mark.core

_PACKAGE_ROOT = str(Path(dprof.__file__).resolve().parent.parent)

HEADER = textwrap.dedent('''\
    import json, os, sys, time
    import dprof
    DB = sys.argv[1]

    def report(w, **what):
        os.write(w, json.dumps(what).encode())
        os.close(w)

    def wait(pid, r):
        _, status = os.waitpid(pid, 0)
        child = json.loads(os.read(r, 65536).decode() or "{}")
        return os.waitstatus_to_exitcode(status), child
    ''')


def run_script(tmp_path, body: str) -> dict:
    script = tmp_path / "forker.py"
    script.write_text(HEADER + textwrap.dedent(body))
    db = tmp_path / "profiles.db"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p),
        DPROF_SPOOL_DIR=str(tmp_path / "spool"))
    done = subprocess.run([sys.executable, str(script), str(db)], capture_output=True,
                          text=True, timeout=120, env=env)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["stderr"] = done.stderr
    out["rows"] = stored(db)
    return out


def stored(db: Path):
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT process_name, pid, status, exception_type FROM profiles "
                            "ORDER BY task_start_time_us").fetchall()


def test_child_sys_exit_inside_profile_block_stores_nothing(tmp_path):
    out = run_script(tmp_path, '''
        calls = []
        with dprof.profile("parent", repo=DB, on_profile=calls.append) as run:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                os.close(w)
                sys.exit(3)
            os.close(w)
        code, _ = wait(pid, r)
        print(json.dumps({"child_code": code, "parent_pid": os.getpid(),
                          "profile": run.profile.status, "calls": len(calls)}))
        ''')
    # the child's SystemExit went through the parent's `with` block and ended it:
    # its status is the child's own, and nothing of it reached the parent's database
    assert out["child_code"] == 3
    assert out["rows"] == [("parent", out["parent_pid"], "ok", None)]
    assert (out["profile"], out["calls"]) == ("ok", 1)


def test_child_exit_path_does_no_profile_work(tmp_path):
    """What the child's exit path did, seen from inside it: no profile built or
    stored (the database layer is not even imported), the callback not called; and
    the child takes as long to exit as one forked outside any profile."""
    out = run_script(tmp_path, '''
        def child_exit_time(inside):
            r, w = os.pipe()
            calls = []
            run = dprof.profile("parent", repo=DB, on_profile=calls.append, stacks=True)
            if inside:
                run.__enter__()
            t0 = time.perf_counter()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                try:
                    if inside:
                        run.__exit__(SystemExit, SystemExit(0), None)
                    report(w, profile=run.profile is None, calls=len(calls),
                           sqlalchemy="sqlalchemy" in sys.modules,
                           exit_path=time.perf_counter() - t0)
                finally:
                    os._exit(0)
            os.close(w)
            _, child = wait(pid, r)
            if inside:
                run.__exit__(None, None, None)
            child["wall"] = time.perf_counter() - t0
            return child

        outside = child_exit_time(False)
        inside = child_exit_time(True)
        print(json.dumps({"outside": outside, "inside": inside}))
        ''')
    inside, outside = out["inside"], out["outside"]
    assert inside["profile"] is True and inside["calls"] == 0
    assert inside["sqlalchemy"] is False
    assert [row[0] for row in out["rows"]] == ["parent"]
    print(f"child exit: {inside['exit_path'] * 1e3:.1f} ms inside a profile, "
          f"{outside['exit_path'] * 1e3:.1f} ms outside")


def test_decorated_call_forking_child(tmp_path):
    out = run_script(tmp_path, '''
        @dprof.profiler(repo=DB)
        def task(how):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                if how == "exit":
                    report(w, before="exit")
                    sys.exit(5)
                return ("child", w)
            os.close(w)
            return ("parent", wait(pid, r))

        results = {}
        for how in ("exit", "return"):
            before = task.last_profile
            who, value = task(how)
            if who == "child":
                # a child returned from the decorated call: it did not end the profile
                report(value, last_profile_unchanged=task.last_profile is before)
                os._exit(0)
            results[how] = value
        print(json.dumps({"results": results, "parent_pid": os.getpid()}))
        ''')
    assert out["results"]["exit"][0] == 5
    assert out["results"]["return"] == [0, {"last_profile_unchanged": True}]
    assert out["rows"] == [("__main__.task", out["parent_pid"], "ok", None)] * 2


def test_child_profiles_of_its_own_are_stored_and_not_overlapping(tmp_path):
    """A profile the child starts inside the parent's block is the child's: stored
    with its pid, and with process scope (the parent's profile does not run there)."""
    out = run_script(tmp_path, '''
        with dprof.profile("parent", repo=DB):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                with dprof.profile("child", repo=DB) as run:
                    sum(range(1000))
                report(w, scope=run.profile.sources["scope"], pid=os.getpid())
                os._exit(0)
            os.close(w)
            code, child = wait(pid, r)
        print(json.dumps({"child": child, "parent_pid": os.getpid()}))
        ''')
    child = out["child"]
    assert child["scope"] == "process"
    assert sorted(out["rows"]) == sorted([("child", child["pid"], "ok", None),
                                          ("parent", out["parent_pid"], "ok", None)])


def test_dprof_run_script_whose_child_exits(tmp_path):
    """Through the real CLI: the script's forked child ends with sys.exit inside
    dprof run's profile; one profile is stored, the script's."""
    script = tmp_path / "forks.py"
    script.write_text(textwrap.dedent('''\
        import os, sys
        pid = os.fork()
        if pid == 0:
            sys.exit(7)
        _, status = os.waitpid(pid, 0)
        print("child exit code", os.waitstatus_to_exitcode(status))
        '''))
    db = tmp_path / "run.db"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p),
        DPROF_DATABASE_URL=f"sqlite:///{db}", DPROF_SPOOL_DIR=str(tmp_path / "spool"),
        # 3.12+'s fork-with-threads DeprecationWarning (see test_protocol_sigterm.py)
        PYTHONWARNINGS="ignore:This process:DeprecationWarning")
    done = subprocess.run([sys.executable, "-m", "dprof", "run", "-q", str(script)],
                          capture_output=True, text=True, timeout=120, env=env,
                          cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "child exit code 7"
    assert done.stderr == ""
    rows = stored(db)
    assert [(name, status) for name, _, status, _ in rows] == [("forks.py", "ok")]
