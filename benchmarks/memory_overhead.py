"""Overhead of dprof's sampled memory profiling against memray and Scalene (memory on).

For each allocation-heavy program (a deepcopy, a json.loads and a pickle workload in
the manner of pyperformance's benchmarks of those names, and a NumPy pipeline) it
runs, alternating within each round: the bare program, the program under dprof's
allocation sampler at the default rate (512 KiB), under ``memray run`` and under
``scalene run`` (memory profiling on: its default). Each run times only its workload
(wall clock and the process's CPU time, all threads, around it, written to a file),
so interpreter and profiler start-up are left out for every tool alike. Prints per
program the median workload time of each configuration and the median slowdown
(time / that round's bare time - 1) with its spread, for CPU time (the verdict: on
a loaded machine it is far steadier than wall time) and for wall time.

    python benchmarks/memory_overhead.py [--rounds 5] [--only deepcopy,json_loads]
    python benchmarks/memory_overhead.py --in-process [--rounds 15]

``--in-process`` measures dprof alone, steadier on a loaded machine: each program's
workload runs in this process, alternating bare, counted (the allocation counter
every profile installs) and counted + sampled (what ``profile(memory=True)``
installs: the counter and MemorySampler); the order rotates between rounds. It
prints the median per-round CPU-time ratio of each against bare, and of counted +
sampled against counted alone: the cost of sampling on top of counting.

The subprocess mode's "dprof" is MemorySampler alone; "dprof+count" adds the
allocation counter, as a memory profile has it.

``--dprof-root PATH`` measures the dprof tree at PATH instead of this one (built
in place), so that two builds can be compared with the same script, alternating;
in the subprocess mode ``--compare-root PATH`` adds PATH's "dprof" and "dprof+count"
as configurations of the same rounds (named "other:dprof", "other:dprof+count").

Tools that are not installed are reported as missing, not as zero.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PRELUDE = textwrap.dedent('''
    import os, time
    if os.environ.get("BENCH_IMPORT_NUMPY") == "1":
        import numpy        # what MemorySampler does at start to hook NumPy
    def run_timed(work):
        sampler = None
        if os.environ.get("BENCH_DPROF") in ("1", "count"):
            from dprof.memory import MemorySampler
            if os.environ["BENCH_DPROF"] == "count":
                from dprof import _native
                _native.alloc_counter_acquire()     # what every profile installs
            sampler = MemorySampler(seed=1)
            sampler.start()
        t0, c0 = time.perf_counter(), time.process_time()
        work()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        if sampler is not None:
            sampler.stop()
        with open(os.environ["BENCH_TIME_FILE"], "w") as fh:
            fh.write(repr((dt, dc)))
''')

PROGRAMS = {
    "deepcopy": '''
        import copy
        base = {"list": [1, 2, 3, 43.5, "x", (1, 2)] * 20, "str": "abc" * 20,
                "nested": {"a": [{"b": i, "c": [i] * 5} for i in range(50)]},
                "tuple": tuple(range(30))}
        def work():
            for _ in range(2500):
                copy.deepcopy(base)
        run_timed(work)
    ''',
    "json_loads": '''
        import json
        doc = json.dumps({"k%d" % i: [{"id": j, "name": "n" * 20, "v": j * 1.5,
                          "tags": ["a", "b", "c"]} for j in range(20)] for i in range(50)})
        def work():
            for _ in range(120):
                json.loads(doc)
        run_timed(work)
    ''',
    "pickle": '''
        import pickle
        data = [{"id": i, "name": "item%d" % i, "values": list(range(20)),
                 "t": (i, str(i), float(i))} for i in range(5000)]
        def work():
            for _ in range(25):
                pickle.loads(pickle.dumps(data, protocol=4))
        run_timed(work)
    ''',
    "numpy_pipeline": '''
        import numpy as np
        rng = np.random.default_rng(0)
        def work():
            for _ in range(40):
                a = rng.random(400_000)
                b = np.sqrt(a) * 2.0 + a ** 2
                c = np.sort(b)
                d = np.cumsum(c)[::3].copy()
                e = (d - d.mean()) / d.std()
                chunks = [e[i:i + 1000].sum() for i in range(0, len(e), 1000)]
                del a, b, c, d, e, chunks
        run_timed(work)
    ''',
}


def commands(script: str, out_dir: str, compare_root=None):
    py = sys.executable
    configs = {"bare": ([py, script], {})}
    # the bare program with NumPy imported, as MemorySampler imports it: importing
    # NumPy alone slows the later workload of a fresh process (its heap and caches)
    configs["bare+numpy"] = ([py, script], {"BENCH_IMPORT_NUMPY": "1"})
    configs["dprof"] = ([py, script], {"BENCH_DPROF": "1"})
    configs["dprof+count"] = ([py, script], {"BENCH_DPROF": "count"})
    if compare_root:
        other = {"PYTHONPATH": compare_root}
        configs["other:dprof"] = ([py, script], dict(other, BENCH_DPROF="1"))
        configs["other:dprof+count"] = ([py, script], dict(other, BENCH_DPROF="count"))
    if shutil.which("memray") or _importable("memray"):
        configs["memray"] = ([py, "-m", "memray", "run", "-q", "-f", "-o",
                              os.path.join(out_dir, "m.bin"), script], {})
    if _importable("scalene"):
        configs["scalene"] = ([py, "-m", "scalene", "run", "-o",
                               os.path.join(out_dir, "s.json"), script], {})
    return configs


def _importable(name: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {name}"],
                          capture_output=True).returncode == 0


def in_process(names, rounds: int) -> None:
    import time
    sys.path.insert(0, ROOT)
    from dprof import _native
    from dprof.memory import MemorySampler
    print(f"# in-process, CPU time, {rounds} rounds of bare / counted / counted+sampled "
          f"per program (order rotating); dprof from {ROOT}; load average "
          f"{os.getloadavg()[0]:.1f}")
    configs = ("bare", "count", "count+sample")
    for name in names:
        captured = {}
        namespace = {"run_timed": lambda work: captured.setdefault("work", work)}
        exec(textwrap.dedent(PROGRAMS[name]), namespace)
        work = captured["work"]
        work()                                   # warm-up
        ratios = {"count": [], "count+sample": [], "sample_on_count": []}
        for r in range(rounds):
            # the order rotates: a run finds the heap (and NumPy's cache) as the
            # previous one left it
            got = {}
            for cfg in configs[r % 3:] + configs[:r % 3]:
                sampler = None
                if cfg != "bare":
                    _native.alloc_counter_acquire()
                if cfg == "count+sample":
                    sampler = MemorySampler(seed=1)
                    sampler.start()
                c0 = time.process_time()
                work()
                got[cfg] = time.process_time() - c0
                if sampler is not None:
                    sampler.stop()
                if cfg != "bare":
                    _native.alloc_counter_release()
            ratios["count"].append(got["count"] / got["bare"] - 1)
            ratios["count+sample"].append(got["count+sample"] / got["bare"] - 1)
            ratios["sample_on_count"].append(got["count+sample"] / got["count"] - 1)
        line = f"  {name:15s}"
        for key, values in ratios.items():
            q = statistics.quantiles(values, n=4)
            line += (f"  {key} {statistics.median(values) * 100:+6.1f}% "
                     f"[{q[0] * 100:+.1f}, {q[2] * 100:+.1f}]")
        print(line, flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--only", help="comma-separated program names")
    ap.add_argument("--in-process", action="store_true",
                    help="dprof only, bare and sampled alternating in this process")
    ap.add_argument("--dprof-root", help="the dprof tree to measure (default: this one)")
    ap.add_argument("--compare-root", help="another dprof tree, measured in the same rounds")
    args = ap.parse_args()
    if args.dprof_root:
        global ROOT
        ROOT = os.path.abspath(args.dprof_root)
    names = args.only.split(",") if args.only else list(PROGRAMS)
    if args.in_process:
        in_process(names, args.rounds)
        return 0
    tmp = tempfile.mkdtemp(prefix="dprof-membench-")
    env_base = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    print(f"# {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} "
          f"(figures from a loaded machine are noisy); {args.rounds} rounds")
    summary = []
    for name in names:
        script = os.path.join(tmp, f"bench_{name}.py")   # not the module's own name
        with open(script, "w") as fh:
            fh.write(PRELUDE + textwrap.dedent(PROGRAMS[name]))
        configs = commands(script, tmp, args.compare_root and os.path.abspath(args.compare_root))
        times = {c: [] for c in configs}
        for _ in range(args.rounds):
            for cfg, (cmd, extra) in configs.items():   # alternate within a round
                tf = os.path.join(tmp, "t")
                env = dict(env_base, BENCH_TIME_FILE=tf, **extra)
                proc = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tmp)
                if proc.returncode != 0 or not os.path.exists(tf):
                    print(f"{name}/{cfg} failed: {proc.stderr[-400:]}", file=sys.stderr)
                    continue
                with open(tf) as fh:
                    times[cfg].append(eval(fh.read()))      # (wall, cpu), our own file
                os.unlink(tf)
        if not times["bare"]:
            continue
        bare_wall = statistics.median(t[0] for t in times["bare"])
        bare_cpu = statistics.median(t[1] for t in times["bare"])
        print(f"\n{name}: bare {bare_cpu * 1000:.0f} ms CPU, {bare_wall * 1000:.0f} ms wall")
        for cfg in configs:
            if cfg == "bare" or not times[cfg]:
                continue
            # slowdown per round against that round's bare run, then median and spread
            line = f"  {cfg:8s}"
            for k, what in ((1, "CPU"), (0, "wall")):
                ratios = [t[k] / b[k] - 1 for t, b in zip(times[cfg], times["bare"])]
                med = statistics.median(ratios)
                line += (f"  {what} {statistics.median(t[k] for t in times[cfg]) * 1000:6.0f} ms "
                         f"{med * 100:+6.1f}% [{min(ratios) * 100:+.1f}, {max(ratios) * 100:+.1f}]")
                if k == 1:
                    summary.append((name, cfg, med))
            if "dprof" in cfg and times.get("bare+numpy"):
                ratios = [t[1] / b[1] - 1 for t, b in zip(times[cfg], times["bare+numpy"])]
                q = (min(ratios) * 100, max(ratios) * 100)
                line += (f"  vs bare+numpy CPU {statistics.median(ratios) * 100:+.1f}% "
                         f"[{q[0]:+.1f}, {q[1]:+.1f}]")
            print(line)
        for missing in ("memray", "scalene"):
            if missing not in configs:
                print(f"  {missing:8s} missing: not installed")
    print("\n# verdict on CPU-time slowdown (target: dprof < 5% and below memray and "
          "Scalene on every program)")
    for name in names:
        got = {cfg: med for n, cfg, med in summary if n == name}
        others = {c: v for c, v in got.items() if "dprof" not in c and c != "bare+numpy"}
        for ours in ("dprof", "dprof+count", "other:dprof", "other:dprof+count"):
            d = got.get(ours)
            if d is None:
                continue
            ok = d < 0.05 and all(d < v for v in others.values())
            print(f"  {name:15s} {ours:11s} {d * 100:+.1f}%  "
                  + "  ".join(f"{c} {v * 100:+.1f}%" for c, v in others.items())
                  + f"  -> {'met' if ok else 'NOT met'}")
    shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
