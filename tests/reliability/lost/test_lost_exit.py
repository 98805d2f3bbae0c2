"""A program that ends without coming back through dprof (``os._exit``, SIGKILL)
still gets a profile from ``dprof run``: measured from outside by the watcher
(dprof/cli/watch.py), stacks up to the last flush, what is missing said. And a
program that ends normally behaves exactly as without the watcher."""
from __future__ import annotations

import os
import signal
import sqlite3
import time

import pytest

from lost_helpers import dprof_env, run_dprof, sqlite_url, stored_profiles, text

SPIN = ("import os, signal, sys, time\n"
        "def spin(seconds):\n"
        "    t = time.time()\n"
        "    while time.time() - t < seconds:\n"
        "        pass\n"
        "spin(0.8)\n"
        "print('about to end', flush=True)\n")


def _setup(tmp_path, body):
    (tmp_path / "job.py").write_text(SPIN + body)
    db, spool = sqlite_url(tmp_path / "p.db"), tmp_path / "spool"
    return db, spool, dprof_env(db, spool, DPROF_RUN_FLUSH_SECONDS="0.2")


def _the_profile(db, spool):
    profiles = stored_profiles(db, spool)
    assert len(profiles) == 1, [p.process_name for p in profiles]
    return profiles[0]


def _check_measured_from_outside(p, how):
    assert p.process_name == "job.py" and p.status == "failed"
    assert p.exception_type == how
    # resources measured from outside: CPU from the child's wait4 rusage
    assert p.cpu_user_utilization is not None and p.cpu_user_utilization > 0
    assert "wait4 rusage" in p.sources["cpu_user_utilization"]
    assert p.memory_usage_peak_mb is not None and p.memory_usage_peak_mb > 1
    assert p.runtime_seconds >= 0.8
    # what cannot be had from outside is missing with the reason, never 0
    for name in ("memory_allocations", "exceptions_raised", "io_wait_time_seconds"):
        assert getattr(p, name) is None and how in p.missing[name]
    # stacks up to the last flush (every 0.2 s of a 0.8 s spin), and said so
    assert p.stacks is not None and p.stacks.rows
    functions = {f.function for f in p.stacks.frames}
    assert "spin" in functions
    assert "last flush" in p.sources["stacks"]
    assert p.pid != os.getpid()


@pytest.mark.core
def test_os_exit_gets_a_profile_and_its_exit_code(tmp_path):
    db, spool, env = _setup(tmp_path, "os._exit(4)\n")
    done = run_dprof(["run", "job.py"], tmp_path, env)
    err = text(done.stderr)
    assert done.returncode == 4, err
    assert done.stdout == b"about to end\n"
    p = _the_profile(db, spool)
    _check_measured_from_outside(p, "os._exit")
    assert "exit code 4" in p.exception_message
    said, = [line for line in err.splitlines() if "measured from outside" in line]
    assert f"profile {p.id[:12]}" in said and "stored in sqlite:///" in said


@pytest.mark.core
def test_os_exit_before_the_first_flush_says_the_stacks_are_missing(tmp_path):
    (tmp_path / "quick.py").write_text("import os\nos._exit(0)\n")
    db, spool = sqlite_url(tmp_path / "p.db"), tmp_path / "spool"
    done = run_dprof(["run", "quick.py"], tmp_path, dprof_env(db, spool))
    assert done.returncode == 0
    p = _the_profile(db, spool)
    assert p.exception_type == "os._exit" and p.stacks is None and p.resources is None
    assert "before its first flush" in p.missing["stacks"]
    assert "no stacks or series" in text(done.stderr)


@pytest.mark.core
def test_sigkill_gets_a_profile_and_dies_by_the_same_signal(tmp_path):
    db, spool, env = _setup(tmp_path, "os.kill(os.getpid(), signal.SIGKILL)\n")
    done = run_dprof(["run", "-q", "job.py"], tmp_path, env)
    assert done.returncode == -signal.SIGKILL, text(done.stderr)
    p = _the_profile(db, spool)
    _check_measured_from_outside(p, "SIGKILL")
    assert "measured from outside" in text(done.stderr)       # said even with -q


@pytest.mark.core
def test_program_that_ends_normally_is_unchanged_by_the_watcher(tmp_path):
    """Same stdout, stderr (traceback included), exit code and one profile, with
    and without the watcher (DPROF_RUN_WATCH=0 runs the program in dprof's process)."""
    body = ("print('to stderr', file=sys.stderr)\n"
            "def fail():\n    raise ValueError('boom')\nfail()\n")
    db, spool, env = _setup(tmp_path, body)
    watched = run_dprof(["run", "-q", "job.py"], tmp_path, env)
    unwatched = run_dprof(["run", "-q", "job.py"], tmp_path, dict(env, DPROF_RUN_WATCH="0"))
    assert watched.returncode == unwatched.returncode == 1
    assert watched.stdout == unwatched.stdout == b"about to end\n"
    assert watched.stderr == unwatched.stderr
    assert b'raise ValueError(\'boom\')' in watched.stderr and b"dprof/" not in watched.stderr
    profiles = stored_profiles(db, spool)
    assert len(profiles) == 2                       # one each: the watcher added none
    assert all(p.exception_type == "ValueError" for p in profiles)
    assert all(p.memory_allocations is not None for p in profiles)


@pytest.mark.core
def test_a_program_closing_every_descriptor_gets_one_profile(tmp_path):
    """The child tells the watcher it is done through a file and a pipe: a program
    that closes every descriptor (as daemons do) still gets exactly one profile."""
    db, spool, env = _setup(tmp_path, "os.closerange(3, 65536)\n")
    done = run_dprof(["run", "-q", "job.py"], tmp_path, env)
    assert done.returncode == 0, text(done.stderr)
    assert "measured from outside" not in text(done.stderr)
    p = _the_profile(db, spool)
    assert p.status == "ok" and p.memory_allocations is not None


@pytest.mark.core
def test_sigterm_to_dprof_reaches_the_program(tmp_path):
    """The shell's pid is the watcher's: SIGTERM sent to it is passed on, and the
    program's profile is stored as SIGTERM as it was without the watcher."""
    db, spool, env = _setup(tmp_path, "time.sleep(30)\n")
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "dprof", "run", "-q", "job.py"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout.readline() == b"about to end\n"
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    p = _the_profile(db, spool)
    assert p.exception_type == "SIGTERM" and p.memory_allocations is not None


def _children(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as fh:
        return [int(x) for x in fh.read().split()]


@pytest.mark.core
def test_sigkill_while_the_profile_is_being_written(tmp_path):
    """Fault: the program is killed while dprof stores its profile (the database is
    locked by another writer, so the store is waiting). The watcher stores the
    profile under the id the child was storing: one profile, none lost."""
    db, spool, env = _setup(tmp_path, "")
    # a database that exists (schema made by a first run), then locked by a writer
    (tmp_path / "first.py").write_text("pass\n")
    assert run_dprof(["run", "-q", "first.py"], tmp_path, env).returncode == 0
    lock = sqlite3.connect(str(tmp_path / "p.db"), isolation_level=None)
    lock.execute("BEGIN IMMEDIATE")
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-m", "dprof", "run", "-q", "job.py"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        assert proc.stdout.readline() == b"about to end\n"
        time.sleep(1.0)                       # the child is now waiting for the lock
        child, = _children(proc.pid)
        os.kill(child, signal.SIGKILL)
        time.sleep(0.5)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL, err
    profiles = [p for p in stored_profiles(db, spool) if p.process_name == "job.py"]
    assert len(profiles) == 1
    assert profiles[0].exception_type == "SIGKILL"
    assert b"measured from outside" in err
