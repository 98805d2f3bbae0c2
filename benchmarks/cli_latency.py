"""How long the command line takes to answer, against starting Python at all.

Cases, each a fresh process, alternated round by round so that all see the same
machine load:

- ``python -c pass``: the baseline (interpreter start-up on this machine, now);
- ``dprof history``, ``dprof show ID``, ``dprof stats`` on a SQLite database of
  1,000 profiles;
- ``dprof run -q -- true``;
- the first ``@profiler`` call in a process (decorating and calling a trivial
  function, storing into an existing database), timed inside the process.

    python benchmarks/cli_latency.py [--rounds 7] [--profiles 1000]

Targets (issue 12): history, show and stats under 0.3 s each; ``dprof run -- true``
under 0.4 s in all; the first ``@profiler`` call under 50 ms. The table gives
medians, min-max, and each median as a multiple of the baseline's.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

FIRST_CALL = """
import time
t0 = time.perf_counter()
import dprof
@dprof.profiler
def task(x):
    return x + 1
task(1)
print(time.perf_counter() - t0)
"""


def make_database(directory: Path, n: int) -> str:
    sys.path.insert(0, str(ROOT))
    from dprof.record import Profile
    from dprof.repo import ProfileRepo
    now = datetime.now(timezone.utc)
    repo = ProfileRepo(f"sqlite:///{directory / 'profiles.db'}", spool_dir=directory / "spool")
    repo.add_many(Profile(
        process_name=f"task{i % 25}", stage=f"stage{i % 4}", status="failed" if i % 17 == 0 else "ok",
        exception_type="ValueError" if i % 17 == 0 else None,
        task_start_time=now - timedelta(minutes=i),
        task_end_time=now - timedelta(minutes=i) + timedelta(seconds=1 + i % 7),
        runtime_seconds=1.0 + i % 7, cpu_cores=2.0, cpu_user_utilization=0.3,
        cpu_system_utilization=0.05, memory_usage_peak_mb=50.0 + i % 300,
        file_read_bytes=4096 * i, file_write_bytes=512 * i) for i in range(n))
    some_id = str(repo.query(limit=1)["id"].iloc[0])
    repo.close()
    return some_id


def timed(argv, env, cwd) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return elapsed


def first_call(env, cwd) -> float:
    done = subprocess.run([sys.executable, "-c", FIRST_CALL], env=env, cwd=cwd,
                          capture_output=True, text=True, check=True)
    return float(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profiles", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dprof-latency-") as tmp:
        tmp = Path(tmp)
        some_id = make_database(tmp, args.profiles)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
            DPROF_DATABASE_URL=f"sqlite:///{tmp / 'profiles.db'}",
            DPROF_SPOOL_DIR=str(tmp / "spool"))
        dprof = [sys.executable, "-m", "dprof"]
        cases = {
            "python -c pass (baseline)": (lambda: timed([sys.executable, "-c", "pass"], env, tmp), None),
            "dprof history": (lambda: timed(dprof + ["history"], env, tmp), 0.3),
            "dprof show ID": (lambda: timed(dprof + ["show", some_id[:12]], env, tmp), 0.3),
            "dprof stats": (lambda: timed(dprof + ["stats"], env, tmp), 0.3),
            "dprof run -q -- true": (lambda: timed(dprof + ["run", "-q", "--", "true"], env, tmp), 0.4),
            "first @profiler call (in-process)": (lambda: first_call(env, tmp), 0.05),
        }
        for measure, _ in cases.values():      # warm the page cache and the database
            measure()
        results = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, (measure, _) in cases.items():
                results[name].append(measure())
    base = statistics.median(results["python -c pass (baseline)"])
    print(f"{args.rounds} rounds, {args.profiles} profiles; load average "
          f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'case':36} {'median s':>9} {'min-max s':>15} {'x baseline':>10} {'target s':>9}  met")
    for name, (_, target) in cases.items():
        values = results[name]
        med = statistics.median(values)
        spread = f"{min(values):.3f}-{max(values):.3f}"
        verdict = "" if target is None else ("yes" if med < target else "NO")
        print(f"{name:36} {med:9.3f} {spread:>15} {med / base:10.1f} "
              f"{'' if target is None else f'{target:.2f}':>9}  {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
