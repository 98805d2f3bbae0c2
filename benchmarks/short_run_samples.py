"""Stack samples that a short program gets under ``dprof run``: the sampler's start-up.

A program of about 0.1 s (the memory CLI test's: a growing cache, then big temporaries)
is run under ``dprof run --memory`` N times, each into a fresh SQLite file; for each
run this prints the ticks the stack sampler took, its effective rate against the
requested 100 Hz, its own cost, and the seconds of stack time charged to the program's
file against those left to the launcher (``meta["launcher_seconds"]``).

    python benchmarks/short_run_samples.py [--runs 8] [--root OTHER_DPROF_TREE]

``--root`` runs another dprof tree (built in place) the same way, for a before/after.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

PROGRAM = """\
cache = []
def grow():
    for i in range(2000):
        cache.append(bytes(60_000))
def temp():
    for i in range(500):
        x = bytes(1_000_000)
grow()
temp()
"""

READ = """
import json, sys
from dprof.repo import ProfileRepo
repo = ProfileRepo(sys.argv[1])
stacks = repo.get(repo.get_all().iloc[0]["id"]).stacks
program = sum(r.seconds for r in stacks.rows
              if any(f.filename.endswith("prog.py") for f in stacks.stack_frames(r.stack_id)))
print(json.dumps({"ticks": stacks.meta.get("ticks"), "hz": stacks.effective_hz,
                  "overhead_ms": stacks.overhead_seconds * 1e3, "program_s": program,
                  "launcher_s": stacks.meta.get("launcher_seconds", 0.0),
                  "duration_s": stacks.duration_seconds}))
"""


def one_run(root: str, work: str, i: int) -> dict:
    import json
    db = f"sqlite:///{work}/run{i}.db"
    env = dict(os.environ, PYTHONPATH=root, DPROF_DATABASE_URL=db,
               DPROF_SPOOL_DIR=os.path.join(work, f"spool{i}"))
    subprocess.run([sys.executable, "-m", "dprof", "run", "-q", "--memory", "prog.py"],
                   cwd=work, env=env, check=True, capture_output=True)
    out = subprocess.run([sys.executable, "-c", READ, db], cwd=work, env=env, check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=8)
    ap.add_argument("--root", default=ROOT, help="the dprof tree to run (default: this one)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dprof-short-") as work:
        with open(os.path.join(work, "prog.py"), "w") as fh:
            fh.write(PROGRAM)
        runs = [one_run(os.path.abspath(args.root), work, i) for i in range(args.runs)]
    print(f"# dprof run --memory of a ~0.1 s program, {args.runs} runs, dprof from {args.root}")
    print("ticks  Hz    cost ms  program s  launcher s  duration s")
    for r in runs:
        print(f"{r['ticks']:5}  {r['hz']:5.1f}  {r['overhead_ms']:7.2f}  {r['program_s']:9.3f}"
              f"  {r['launcher_s']:10.3f}  {r['duration_s']:10.3f}")
    print(f"median: {statistics.median(r['ticks'] for r in runs)} ticks, "
          f"{statistics.median(r['hz'] for r in runs):.1f} Hz, program charged "
          f"{statistics.median(r['program_s'] for r in runs):.3f} s; runs with no program "
          f"time: {sum(1 for r in runs if r['program_s'] == 0)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
