"""Cost of dprof's pytest plugin on a suite that does not use it.

A generated suite of ``--tests`` trivial tests (no fixture, no marker) runs as
``python -m pytest -q`` with and without the plugin, alternating the two in one run
so that the machine's load drifts over both alike. Each run is a fresh process, so
the figure includes the plugin's import and configure; it reports the median wall
time of each configuration, the spread (min-max), the ratio with/without and the
median of the per-pair differences in milliseconds.

    python benchmarks/pytest_plugin_overhead.py [--tests 2000] [--repeats 7]

Target (from the issue): inert unless a test uses it, i.e. no measurable cost: the
difference should be within the run-to-run spread.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from importlib.metadata import entry_points
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _installed() -> bool:
    try:
        eps = entry_points(group="pytest11")
    except TypeError:
        eps = entry_points().get("pytest11", [])
    return any(ep.value == "dprof.pytest_plugin.plugin" for ep in eps)


def write_suite(directory: Path, tests: int) -> None:
    lines = [f"def test_{i}():\n    assert {i} == {i}\n" for i in range(tests)]
    (directory / "test_suite.py").write_text("\n".join(lines))
    (directory / "pytest.ini").write_text("[pytest]\n")


def run_once(directory: Path, with_plugin: bool, tests: int):
    """(wall seconds, CPU seconds user+system) of one pytest process."""
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-p", "no:xdist", "-p", "no:hypothesispytest"]
    if _installed():
        args += [] if with_plugin else ["-p", "no:dprof"]
    elif with_plugin:
        args += ["-p", "dprof.pytest_plugin.plugin"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    # bytecode is cached, as for an installed package (some shells set this)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=directory, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0 or f"{tests} passed" not in done.stdout:
        raise SystemExit(f"the suite failed ({'with' if with_plugin else 'without'} the "
                         f"plugin):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    return elapsed, cpu


_IMPORT_PROBE = """
import time, pytest
t0 = time.perf_counter()
import dprof.pytest_plugin.plugin
print((time.perf_counter() - t0) * 1000)
"""


def import_ms(env) -> float:
    """Milliseconds to import the plugin module after pytest, in a fresh process:
    the plugin's whole fixed cost besides its option and marker registration."""
    done = subprocess.run([sys.executable, "-c", _IMPORT_PROBE], env=env,
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def _env():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _line(label, values, unit="s"):
    return (f"{label}: median {statistics.median(values):.3f} {unit}  "
            f"(min {min(values):.3f}, max {max(values):.3f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        write_suite(directory, args.tests)
        run_once(directory, True, args.tests)          # warm the file cache, both ways
        run_once(directory, False, args.tests)
        without, with_ = [], []
        for i in range(args.repeats):
            # alternate which goes first, so neither always follows the other
            order = (False, True) if i % 2 == 0 else (True, False)
            for plugin in order:
                (with_ if plugin else without).append(run_once(directory, plugin,
                                                               args.tests))
    print(f"{args.tests} trivial tests, {args.repeats} runs of each, alternating "
          f"(plugin {'installed' if _installed() else 'loaded with -p'})")
    for index, what in ((0, "wall"), (1, "CPU")):
        off = [r[index] for r in without]
        on = [r[index] for r in with_]
        diffs = [(w - o) * 1000 for w, o in zip(on, off)]
        print(_line(f"{what} without plugin", off))
        print(_line(f"{what} with plugin   ", on))
        print(f"{what} ratio with/without (medians): "
              f"{statistics.median(on) / statistics.median(off):.3f}; per-pair difference "
              f"median {statistics.median(diffs):+.1f} ms (min {min(diffs):+.1f}, "
              f"max {max(diffs):+.1f})")
    imports = [import_ms(_env()) for _ in range(args.repeats)]
    print(_line("import of dprof.pytest_plugin.plugin after pytest", imports, "ms"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
