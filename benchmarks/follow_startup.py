"""What --follow-children costs a child Python process at start and exit.

Starts ``python -c CODE`` many times in each configuration, interleaved, and prints
the median CPU time (user + system of the reaped child, which a loaded machine
disturbs less than wall time) and wall time per start, with ratios to the baseline:
  - baseline: no shim;
  - shim, no DPROF_FOLLOW_DIR: what a process pays when the shim is on its path but
    it is not followed (the shim finds and runs no other sitecustomize);
  - followed: the shim starts a stack sampler and writes the profile at exit.
Run: PYTHONPATH=. python3 benchmarks/follow_startup.py [RUNS] [CODE]
"""
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from dprof.follow.parent import SHIM_DIR


def one_run(env, code):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    code = sys.argv[2] if len(sys.argv) > 2 else "pass"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    base = {k: v for k, v in os.environ.items() if not k.startswith("DPROF_")}
    base["PYTHONPATH"] = root
    follow_dir = tempfile.mkdtemp(prefix="dprof-follow-bench-")
    configs = {
        "baseline": dict(base),
        "shim, no DPROF_FOLLOW_DIR": dict(base, PYTHONPATH=SHIM_DIR + os.pathsep + root),
        "followed": dict(base, PYTHONPATH=SHIM_DIR + os.pathsep + root,
                         DPROF_FOLLOW_DIR=follow_dir),
    }
    results = {name: ([], []) for name in configs}
    try:
        for _ in range(runs):
            for name, env in configs.items():
                cpu, wall = one_run(env, code)
                results[name][0].append(cpu)
                results[name][1].append(wall)
    finally:
        shutil.rmtree(follow_dir, ignore_errors=True)
    base_cpu = statistics.median(results["baseline"][0])
    base_wall = statistics.median(results["baseline"][1])
    print(f"{runs} runs each of python -c {code!r}; medians")
    for name, (cpu, wall) in results.items():
        c, w = statistics.median(cpu), statistics.median(wall)
        print(f"  {name:28s} cpu {c * 1e3:7.1f} ms ({c / base_cpu:4.2f}x)"
              f"   wall {w * 1e3:7.1f} ms ({w / base_wall:4.2f}x)")


if __name__ == "__main__":
    main()
