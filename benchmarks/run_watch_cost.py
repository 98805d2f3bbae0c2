"""What watching ``dprof run script.py`` from outside costs (dprof/cli/watch.py).

Since issue 15, ``dprof run script.py`` forks: the child runs the program as
before and rewrites an interim profile every ``$DPROF_RUN_FLUSH_SECONDS`` (default
5 s), the parent waits, so that a program ending in ``os._exit`` or SIGKILL still
gets a profile. ``DPROF_RUN_WATCH=0`` runs the program in dprof's process, as
before. Configurations alternate round by round (same machine load for all):

- ``python prog.py``: the baseline;
- ``dprof run`` in-process (``DPROF_RUN_WATCH=0``), the pre-issue-15 behaviour;
- ``dprof run`` watched, flush every 5 s (the default), 1 s and 0.25 s.

Two programs: ``trivial`` (``pass``: start-up cost, whole-process wall time) and
``cpu`` (a fixed amount of pure-Python work, calibrated to take about --seconds,
timing itself: what the flushes cost the work). For ``cpu`` the table also gives the stacks' coverage: the seconds
the final profile's stacks account for, as a share of the workload's own time (the
flushes stop and restart the stack sampler; this shows whether samples go missing).

    python benchmarks/run_watch_cost.py [--rounds 5] [--seconds 4]

Medians, min-max and each median over the baseline's. ``--no-store`` and ``-q``
throughout: storing is the same in every configuration.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CPU = """import sys, time
t0 = time.perf_counter()
def work(n):
    total = 0
    for i in range(n):
        total += i * i % 7
    return total
for _ in range({calls}):       # a fixed amount of work (calibrated to --seconds)
    work(20000)
sys.stderr.write("WORKLOAD %.6f\\n" % (time.perf_counter() - t0))
"""

CONFIGS = {
    "in-process (DPROF_RUN_WATCH=0)": {"DPROF_RUN_WATCH": "0"},
    "watched, flush 5 s (default)": {},
    "watched, flush 1 s": {"DPROF_RUN_FLUSH_SECONDS": "1"},
    "watched, flush 0.25 s": {"DPROF_RUN_FLUSH_SECONDS": "0.25"},
}


def run_once(cmd, env, cwd):
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{cmd} failed ({done.returncode}):\n{done.stderr}")
    work = [float(x.split()[1]) for x in done.stderr.splitlines() if x.startswith("WORKLOAD ")]
    return wall, (work[-1] if work else None)


def coverage(path: Path, workload: float):
    with open(path) as fh:
        stacks = json.load(fh).get("stacks") or {}
    seconds = sum(row[4] for row in stacks.get("rows", []))
    return seconds / workload if workload else None


def _calls_for(seconds: float) -> int:
    """How many work(20000) calls take about ``seconds`` here, now."""
    def work(n):
        total = 0
        for i in range(n):
            total += i * i % 7
        return total
    t0 = time.perf_counter()
    for _ in range(20):
        work(20000)
    return max(1, int(seconds / ((time.perf_counter() - t0) / 20)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="dprof-watch-bench-"))
    (tmp / "trivial.py").write_text("pass\n")
    (tmp / "cpu.py").write_text(CPU.format(calls=_calls_for(args.seconds)))
    base_env = dict(os.environ, PYTHONPATH=str(ROOT), DPROF_DATABASE_URL=f"sqlite:///{tmp}/p.db",
                    DPROF_SPOOL_DIR=str(tmp / "spool"))
    base_env.pop("DPROF_RUN_WATCH", None)
    names = ["baseline"] + list(CONFIGS)
    results = {(prog, n): [] for prog in ("trivial", "cpu") for n in names}
    cover = {n: [] for n in names[1:]}
    for r in range(args.rounds):
        for prog in ("trivial", "cpu"):
            for name in names:
                out = tmp / "prof.json"
                if name == "baseline":
                    cmd, env = [sys.executable, f"{prog}.py"], base_env
                else:
                    cmd = [sys.executable, "-m", "dprof", "run", "--no-store", "-q"]
                    if prog == "cpu":
                        cmd += ["-o", str(out)]
                    cmd.append(f"{prog}.py")
                    env = dict(base_env, **CONFIGS[name])
                wall, work = run_once(cmd, env, tmp)
                results[(prog, name)].append(wall if prog == "trivial" else work)
                if prog == "cpu" and name != "baseline":
                    cover[name].append(coverage(out, work))
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr)
    for prog, what in (("trivial", "whole-process wall time"), ("cpu", "workload time")):
        base = statistics.median(results[(prog, "baseline")])
        print(f"\n{prog}: {what}, median over {args.rounds} rounds")
        print(f"{'configuration':34} {'median':>9} {'min-max':>17} {'x baseline':>10}"
              + (f" {'stack coverage':>15}" if prog == "cpu" else ""))
        for name in names:
            vals = results[(prog, name)]
            med = statistics.median(vals)
            line = (f"{name:34} {med:8.3f}s {min(vals):7.3f}-{max(vals):7.3f}s "
                    f"{med / base:10.3f}")
            if prog == "cpu" and name != "baseline":
                line += f" {statistics.median(cover[name]) * 100:14.1f}%"
            print(line)


if __name__ == "__main__":
    main()
