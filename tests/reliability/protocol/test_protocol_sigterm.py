"""dprof's SIGTERM handling never recurses and never writes to the program's stderr.

``dprof run --follow-children`` with a ``multiprocessing.Pool``: ``with Pool()``
ends its workers with SIGTERM, and each forked worker inherited the follow handler
of the process that forked it (it used to call itself until RecursionError, 2,000
lines in the user's stderr). Real Pool scripts, run through the real CLI and
without dprof, compared.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import dprof

pytestmark = pytest.mark.core

_PACKAGE_ROOT = str(Path(dprof.__file__).resolve().parent.parent)

POOL_SCRIPT = textwrap.dedent('''\
    import multiprocessing as mp
    import sys

    def square(x):
        return x * x

    if __name__ == "__main__":
        mp.set_start_method(sys.argv[1])
        with mp.Pool(2) as pool:
            print(sum(pool.map(square, range(200))))
    ''')

# a program with its own SIGTERM handler in a forked child: it must still run there
HANDLER_SCRIPT = textwrap.dedent('''\
    import multiprocessing as mp
    import os
    import signal
    import sys
    import time

    def on_term(signum, frame):
        print("handler ran in the child", flush=True)
        os._exit(9)

    def child(ready):
        signal.signal(signal.SIGTERM, on_term)
        ready.set()
        while True:
            time.sleep(0.01)

    if __name__ == "__main__":
        mp.set_start_method("fork")
        ready = mp.Event()
        proc = mp.Process(target=child, args=(ready,))
        proc.start()
        ready.wait()
        proc.terminate()
        proc.join()
        print("child exit code", proc.exitcode)
    ''')


# Python 3.12+ warns (DeprecationWarning, shown when os.fork() is called from
# __main__) that a process with more than one thread forks; dprof's native sampler
# threads count, so a script that forks directly prints two lines it would not print
# unprofiled. A known limit (docs/reliability.md), not what these tests are about:
# that one warning is turned off, everything else must stay quiet.
QUIET_FORK = "ignore:This process:DeprecationWarning"


def env_for(tmp_path):
    return dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p),
        DPROF_DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
        DPROF_SPOOL_DIR=str(tmp_path / "spool"), PYTHONWARNINGS=QUIET_FORK)


def run(tmp_path, argv, timeout=180):
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                          env=env_for(tmp_path), cwd=tmp_path)


def assert_quiet(done):
    assert "Traceback" not in done.stderr, done.stderr[:3000]
    assert "RecursionError" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) <= 1, done.stderr[:3000]


@pytest.mark.parametrize("how", ["command", "script"])
@pytest.mark.parametrize("start_method", ["fork", "forkserver"])
def test_pool_through_dprof_run_follow_children(tmp_path, how, start_method):
    script = tmp_path / "mp_pool.py"
    script.write_text(POOL_SCRIPT)
    plain = run(tmp_path, [sys.executable, str(script), start_method])
    assert plain.returncode == 0, plain.stderr
    target = (["--", sys.executable, str(script)] if how == "command" else [str(script)])
    argv = [sys.executable, "-m", "dprof", "run", "-q", "--follow-children", *target,
            start_method]
    try:
        done = run(tmp_path, argv, timeout=90)
    except subprocess.TimeoutExpired:
        # A known open hang (docs/reliability.md, "Pool hangs"): the forkserver case
        # hung once in a clean-clone CI run on 3.10 (0 in the runs before), cause not
        # yet found. One more try, so that CI tells a rare race from a regression: a
        # hang every time still fails here.
        done = run(tmp_path, argv, timeout=90)
    assert done.returncode == plain.returncode
    assert done.stdout == plain.stdout == f"{sum(x * x for x in range(200))}\n"
    assert_quiet(done)


def test_summary_has_no_traceback(tmp_path):
    """Without -q: dprof's own summary only, no traceback, every worker merged or
    its reason given in one line."""
    script = tmp_path / "mp_pool.py"
    script.write_text(POOL_SCRIPT)
    done = run(tmp_path, [sys.executable, "-m", "dprof", "run", "--follow-children",
                          "--", sys.executable, str(script), "fork"])
    assert done.returncode == 0
    assert "Traceback" not in done.stderr and "RecursionError" not in done.stderr
    assert len(done.stderr.splitlines()) < 30, done.stderr[:3000]
    assert "children" in done.stderr


def test_childs_own_sigterm_handler_still_runs(tmp_path):
    script = tmp_path / "handler.py"
    script.write_text(HANDLER_SCRIPT)
    plain = run(tmp_path, [sys.executable, str(script)])
    done = run(tmp_path, [sys.executable, "-m", "dprof", "run", "-q", "--follow-children",
                          "--", sys.executable, str(script)])
    assert plain.stdout == "handler ran in the child\nchild exit code 9\n", plain.stderr
    assert (done.returncode, done.stdout) == (plain.returncode, plain.stdout)
    assert_quiet(done)


def test_forked_child_of_followed_process_ends_by_sigterm(tmp_path):
    """A bare os.fork() child of a followed process, sent SIGTERM: it ends by the
    signal (as it would without dprof), quietly, once."""
    script = tmp_path / "forked.py"
    script.write_text(textwrap.dedent('''\
        import os, signal, sys, time
        pid = os.fork()
        if pid == 0:
            while True:
                time.sleep(0.01)
        time.sleep(0.3)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
        print("child ended by", -os.waitstatus_to_exitcode(status))
        '''))
    plain = run(tmp_path, [sys.executable, str(script)])
    done = run(tmp_path, [sys.executable, "-m", "dprof", "run", "-q", "--follow-children",
                          "--", sys.executable, str(script)])
    assert plain.stdout == done.stdout == f"child ended by {int(signal.SIGTERM)}\n"
    assert done.returncode == plain.returncode == 0
    assert_quiet(done)


def test_sigterm_before_sampling_started_is_reported_not_lost(tmp_path):
    """SIGTERM in the window between a followed child's start record and its
    sampler (a Pool worker terminated at once): the process still ends by SIGTERM,
    and the parent is told why there are no stacks."""
    directory = tmp_path / "follow"
    directory.mkdir()
    script = tmp_path / "early.py"
    script.write_text(textwrap.dedent('''\
        import os, signal, sys
        from dprof.follow import child
        state = child._state = child._Followed(sys.argv[1], "fork")
        child._write(state, "start", child._identity(state))
        state.previous_sigterm = signal.SIG_DFL
        signal.signal(signal.SIGTERM, child._on_sigterm)
        os.kill(os.getpid(), signal.SIGTERM)
        print("still running")
        '''))
    done = run(tmp_path, [sys.executable, str(script), str(directory)])
    assert done.returncode == -signal.SIGTERM
    assert done.stdout == "" and done.stderr == ""
    from dprof.follow import collect
    children = collect.read_children(str(directory), wait_seconds=0)
    assert [c.problem for c in children.not_merged] == [
        "not followed: RuntimeError: ended by SIGTERM before its stack sampling started"]
