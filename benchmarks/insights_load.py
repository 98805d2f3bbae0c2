"""How long dprof.insights.report() takes over 100,000 stored profiles (SQLite file).

The history is benchmarks/repo_load.py's (50 tasks, 2,000 runs each), with a 20%
runtime step in five tasks, a stack profile on every 100th run and a one-hour
resource series on the latest run of ten tasks, so that every analysis has work.
Prints the time of report() and, as a baseline measured in the same run on the same
file, the time of ProfileRepo.query() (the load report() starts with).

    python3 benchmarks/insights_load.py [N]
"""
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))   # this tree's dprof
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "insights"))

from histories import leaking_series, stacks  # noqa: E402
from repo_load import make_profiles  # noqa: E402

import dprof.insights as insights  # noqa: E402
from dprof.repo import ProfileRepo  # noqa: E402


def build(n):
    profiles = make_profiles(n)
    last = {}
    for i, p in enumerate(profiles):
        task = i % 50
        if task < 5 and i >= n // 2:                 # a 20% step half way
            p.runtime_seconds *= 1.2
            p.task_end_time = p.task_start_time + timedelta(seconds=p.runtime_seconds)
        if i % 100 == 0:
            p.stacks = stacks(p.runtime_seconds * 0.6, p.runtime_seconds * 0.4)
        last[task] = i
    for task in range(10):
        p = profiles[last[task]]
        p.runtime_seconds = 3600.0
        p.task_end_time = p.task_start_time + timedelta(seconds=3600)
        p.resources = leaking_series(1, 80 if task < 3 else 0, interval=1.0, seed=task)
    return profiles


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        repo = ProfileRepo(Path(tmp) / "profiles.db", spool_dir=tmp)
        profiles = build(n)
        for i in range(0, n, 10_000):
            repo.add_many(profiles[i:i + 10_000])
        del profiles
        loads, reports, cpus = [], [], []
        for _ in range(3):        # alternate baseline and report, keep every figure
            t = time.perf_counter()
            df = repo.query()
            loads.append(time.perf_counter() - t)
            t, c = time.perf_counter(), time.process_time()
            rep = insights.report(repo)
            reports.append(time.perf_counter() - t)
            cpus.append(time.process_time() - c)
        assert len(df) == n and rep.profiles == n
        repo.close()
    load, wall, cpu = np.median(loads), np.median(reports), np.median(cpus)
    print(f"profiles:                    {n}")
    print(f"findings: {len(rep.regressions)} changes "
          f"({rep.regressions['process_name'].nunique() if len(rep.regressions) else 0} "
          f"tasks), {len(rep.drift)} drifting series, {len(rep.rightsizing)} sized, "
          f"{len(rep.where_to_look)} looked at")
    print(f"baseline ProfileRepo.query() {load:.3f} s wall (median of 3; "
          f"{min(loads):.3f}-{max(loads):.3f})")
    print(f"insights.report()            {wall:.3f} s wall, {cpu:.3f} s CPU (median of 3; "
          f"wall {min(reports):.3f}-{max(reports):.3f})  x{wall / load:.2f} the baseline")
    print(f"target: under 5 s -> {'reached' if wall < 5 else 'NOT reached'}")


if __name__ == "__main__":
    main()
