"""Instructions the allocation hooks add, counted by callgrind: a measure load cannot move.

Wall and CPU time of the memory benchmarks (memory_overhead.py) move by several points
from run to run on a shared machine; the number of instructions a program executes
does not, once the hash seed and the address layout are fixed (PYTHONHASHSEED=0,
``setarch -R``). For each program of memory_overhead.py this runs, under
``valgrind --tool=callgrind``, the bare program, MemorySampler alone ("dprof") and
MemorySampler with the allocation counter ("dprof+count", what ``memory=True``
installs), each once with its workload and once without it; the difference is the
workload's count, start-up and dprof's own start and stop taken out.

memray is counted the same way when it is installed: ``memray.Tracker`` (what ``memray
run`` starts, its defaults: every allocation of the system allocator, Python's
small-object allocator not traced) around the workload, and again with
``trace_python_allocators=True`` ("memray+pyalloc", ``--trace-python-allocators``: every
allocation, as dprof's hooks see them), its start and stop taken out as dprof's are; its
RSS thread's period is scaled by valgrind's slowdown. By default memray does not see
the small objects pymalloc serves: 20 ``json.loads`` of this benchmark's document are
161 allocations to it. Its cost is per allocation and per Python call, so
instructions measure it fairly. Scalene is not counted: its CPU timer fires on CPU
time, and valgrind's slowdown makes it fire some fifty times as often as on real
hardware.

    python benchmarks/memory_instructions.py [--only json_loads,pickle] [--compare-root TREE]

``--compare-root TREE`` counts another dprof tree (built in place) in the same run,
as "other:dprof" and "other:dprof+count". Needs valgrind; says so and exits 2 without.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from memory_overhead import PROGRAMS  # noqa: E402  (the same workloads, not a copy)

# run_timed as memory_overhead.py has it, without the timing, and able to skip the work
PRELUDE = textwrap.dedent('''
    import os
    def run_timed(work):
        stop = None             # what ends the tool's session, once the work is done
        if os.environ.get("BENCH_DPROF") in ("1", "count"):
            from dprof.memory import MemorySampler
            if os.environ["BENCH_DPROF"] == "count":
                from dprof import _native
                _native.alloc_counter_acquire()
            sampler = MemorySampler(seed=1)
            sampler.start()
            stop = sampler.stop
        elif os.environ.get("BENCH_DPROF") in ("memray", "memray+pyalloc"):
            import memray
            out = os.path.join(os.environ["BENCH_OUT_DIR"], "memray.bin")
            # its RSS thread wakes every 10 ms of wall time; under valgrind's ~50x
            # slowdown that is every 500 ms, so it wakes as often per unit of work
            tracker = memray.Tracker(
                destination=memray.FileDestination(out, overwrite=True), memory_interval_ms=500,
                trace_python_allocators=os.environ["BENCH_DPROF"] == "memray+pyalloc")
            tracker.__enter__()
            stop = lambda: tracker.__exit__(None, None, None)
        if os.environ.get("BENCH_SKIP_WORK") != "1":
            work()
        if stop is not None:
            stop()
''')

DEFAULT_PROGRAMS = ("json_loads", "pickle", "deepcopy")   # the NumPy one is slow under valgrind


def instructions(script: str, env: dict, out_dir: str) -> int:
    """Instructions callgrind counted for one run of script."""
    out = os.path.join(out_dir, "callgrind.out")
    cmd = ["setarch", "-R", "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
           sys.executable, script]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=out_dir)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or m is None:
        raise RuntimeError(f"callgrind run failed ({proc.returncode}): {proc.stderr[-600:]}")
    return int(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated program names "
                    f"(default: {','.join(DEFAULT_PROGRAMS)})")
    ap.add_argument("--compare-root", help="another dprof tree, counted in the same run")
    args = ap.parse_args()
    if shutil.which("valgrind") is None or shutil.which("setarch") is None:
        print("valgrind and setarch are needed (Debian: valgrind, util-linux)", file=sys.stderr)
        return 2
    names = args.only.split(",") if args.only else list(DEFAULT_PROGRAMS)
    unknown = [n for n in names if n not in PROGRAMS]
    if unknown:
        print(f"unknown program(s) {unknown}; known: {sorted(PROGRAMS)}", file=sys.stderr)
        return 2
    configs = {"bare": (ROOT, None), "dprof": (ROOT, "1"), "dprof+count": (ROOT, "count")}
    if importlib.util.find_spec("memray") is not None:
        configs["memray"] = (ROOT, "memray")
        configs["memray+pyalloc"] = (ROOT, "memray+pyalloc")
    else:
        print("# memray is not installed: not counted (pip install memray)")
    if args.compare_root:
        other = os.path.abspath(args.compare_root)
        configs["other:dprof"] = (other, "1")
        configs["other:dprof+count"] = (other, "count")
    tmp = tempfile.mkdtemp(prefix="dprof-meminstr-")
    print(f"# instructions of the workload (a run without it subtracted), "
          f"PYTHONHASHSEED=0, no ASLR; dprof from {ROOT}")
    for name in names:
        script = os.path.join(tmp, f"bench_{name}.py")
        with open(script, "w") as fh:
            fh.write(PRELUDE + textwrap.dedent(PROGRAMS[name]))
        counts = {}
        for cfg, (root, mode) in configs.items():
            env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=root, BENCH_OUT_DIR=tmp)
            env.pop("BENCH_DPROF", None)
            if mode is not None:
                env["BENCH_DPROF"] = mode
            full = instructions(script, env, tmp)
            bare_start = instructions(script, dict(env, BENCH_SKIP_WORK="1"), tmp)
            counts[cfg] = full - bare_start
        base = counts["bare"]
        print(f"\n{name}: bare {base / 1e6:.1f} M instructions")
        for cfg, n in counts.items():
            if cfg != "bare":
                print(f"  {cfg:18s} {n / 1e6:8.1f} M  {(n / base - 1) * 100:+.2f}%")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
