"""strip_launcher: what ran before the program's first line is nobody's code.

Stacks made by hand, in the shapes ``dprof run`` samples: the program under runpy's
``_run_code``, runpy at work finding the script (a sample that landed in pkgutil and
zipimport before the program's first line, seen once in CI), ``-m pkg.mod`` importing
its own package first, and dprof entering a context manager inside the window.
"""
import os
import runpy

import pytest

import dprof
from dprof.stacks.model import CPU_PYTHON, Frame, StackProfile
from dprof.stacks.user_code import roots_for_run, strip_launcher

pytestmark = pytest.mark.core

RUN_PY = os.path.join(os.path.dirname(dprof.__file__), "cli", "run.py")
RUNPY = runpy.__file__
PKGUTIL = os.path.join(os.path.dirname(RUNPY), "pkgutil.py")
CONTEXTLIB = os.path.join(os.path.dirname(RUNPY), "contextlib.py")


def dprof_frames():
    return [Frame(RUN_PY, "main", 10), Frame(RUN_PY, "_run_python", 470)]


def profile_of(rows):
    stacks = StackProfile(thread_names={1: "MainThread"}, duration_seconds=1.0,
                          requested_hz=100, effective_hz=100, overhead_seconds=0.0, meta={})
    for frames, seconds in rows:
        stacks.add(1, frames, CPU_PYTHON, seconds, 1)
    return stacks


def kept_stacks(stacks):
    return sorted((tuple(stacks.stack_frames(r.stack_id)) for r in stacks.rows), key=repr)


def test_runpy_finding_a_script_is_launcher_time_and_the_program_starts_at_its_first_line(tmp_path):
    job = str(tmp_path / "job.py")
    program = [Frame(job, "<module>", 12), Frame(job, "main", 5)]
    stacks = profile_of([
        (dprof_frames() + [Frame(RUNPY, "run_path", 290), Frame(RUNPY, "_run_module_code", 97),
                           Frame(RUNPY, "_run_code", 86)] + program, 0.75),
        (dprof_frames() + [Frame(RUNPY, "run_path", 280), Frame(PKGUTIL, "get_importer", 416),
                           Frame("<frozen zipimport>", "__init__", 70)], 0.125),
        (dprof_frames() + [Frame(CONTEXTLIB, "__enter__", 135)], 0.0625),
    ])
    out = strip_launcher(stacks, cwd=str(tmp_path),
                         user_roots=roots_for_run("script", job, cwd=str(tmp_path)))
    assert kept_stacks(out) == [tuple(program)]
    assert out.meta["launcher_seconds"] == pytest.approx(0.1875)
    # without the user's roots only whole-launcher stacks can be told apart
    legacy = strip_launcher(stacks, cwd=str(tmp_path))
    assert len(kept_stacks(legacy)) == 3


def test_a_package_that_minus_m_imports_before_its_first_line_is_the_programs(tmp_path):
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("")
    init = str(pkg / "__init__.py")
    importing = [Frame("<frozen importlib._bootstrap>", "_find_and_load", 1176),
                 Frame(init, "<module>", 3)]
    stacks = profile_of([
        (dprof_frames() + [Frame(RUNPY, "run_module", 222),
                           Frame(RUNPY, "_get_module_details", 129)] + importing, 0.5),
    ])
    roots = roots_for_run("module", "pkg.mod", cwd=str(tmp_path))
    out = strip_launcher(stacks, cwd=str(tmp_path), user_roots=roots)
    assert kept_stacks(out) == [tuple(importing)]
    assert out.meta["launcher_seconds"] == 0.0


def test_threads_of_the_program_are_left_whole(tmp_path):
    # a thread's stack starts in threading, not under the launcher: nothing to cut
    threading_py = os.path.join(os.path.dirname(RUNPY), "threading.py")
    frames = [Frame(threading_py, "_bootstrap", 995), Frame(threading_py, "run", 975)]
    stacks = profile_of([(frames, 0.25)])
    out = strip_launcher(stacks, cwd=str(tmp_path),
                         user_roots=roots_for_run("script", str(tmp_path / "job.py"),
                                                  cwd=str(tmp_path)))
    assert kept_stacks(out) == [tuple(frames)]
