"""How ``dprof view`` time grows with the depth of a stack: a recursion 500, 5,000
and 50,000 frames deep, shown on the terminal and written as HTML.

Each case is a fresh ``python -m dprof view FILE`` process on a profile JSON file
written here (one recursive function, a CPU row at full depth and an I/O-wait row at
half depth, as a real recursion gives), alternated round by round so that all see
the same machine load. The baseline is ``python -m dprof --version`` (interpreter and
import start-up), measured in the same rounds; "render" is a case's median minus the
baseline's. Linear growth shows as a render ratio of about 10 per 10x depth.

    python benchmarks/deep_stacks.py [--rounds 5] [--depths 500,5000,50000]

Target (issue 15): a 50,000-frame stack in seconds, in both (before: over 20 s on the
terminal and over 60 s as HTML; the HTML report of 500 frames raised RecursionError).
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


def profile_file(directory: Path, depth: int) -> Path:
    sys.path.insert(0, str(ROOT))
    from datetime import datetime, timezone
    from dprof.record import Profile
    from dprof.stacks.model import Frame, StackProfile
    stacks = StackProfile(duration_seconds=1.5, requested_hz=100.0, effective_hz=100.0)
    frames = [Frame("/home/u/app.py", "main", 1)] + [Frame("/home/u/app.py", "rec", 5)] * depth
    stacks.add(1, frames, "cpu_python", 1.0, 100)
    stacks.add(1, frames[: depth // 2], "wait_io", 0.5, 50)
    start = datetime(2026, 1, 1, tzinfo=timezone.utc)
    profile = Profile(process_name="deep", task_start_time=start, task_end_time=start,
                      stacks=stacks)
    path = directory / f"deep-{depth}.json"
    path.write_text(json.dumps(profile.to_dict()), encoding="utf-8")
    return path


def timed(cmd, env, cwd) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                          cwd=cwd, timeout=600)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(map(str, cmd))} failed: {done.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--depths", default="500,5000,50000")
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    work = Path(tempfile.mkdtemp(prefix="dprof-deep-"))
    env = dict(os.environ, PYTHONPATH=str(ROOT), DPROF_DATABASE_URL=str(work / "db.sqlite"),
               DPROF_SPOOL_DIR=str(work / "spool"))
    files = {d: profile_file(work, d) for d in depths}
    py = [sys.executable, "-m", "dprof"]
    cases = {"baseline (dprof --version)": py + ["--version"]}
    for d in depths:
        cases[f"view, terminal @ {d:,}"] = py + ["view", str(files[d])]
        cases[f"view -o x.html @ {d:,}"] = py + ["view", str(files[d]), "-o",
                                                 str(work / "x.html")]
    times = {name: [] for name in cases}
    for _ in range(args.rounds):
        for name, cmd in cases.items():
            times[name].append(timed(cmd, env, work))
    base = statistics.median(times["baseline (dprof --version)"])
    print(f"{args.rounds} rounds; baseline {base:.3f} s; python {sys.version.split()[0]}; "
          f"{os.cpu_count()} CPUs")
    print(f"{'case':32} {'median s':>9} {'min-max s':>14} {'render s':>9} {'x per 10x':>10}")
    previous = {}
    for name, values in times.items():
        med = statistics.median(values)
        render = max(med - base, 0.0)
        kind = name.split(" @ ")[0]
        ratio = f"{render / previous[kind]:.1f}" if previous.get(kind) else ""
        if kind != name:
            previous[kind] = render
        print(f"{name:32} {med:9.3f} {min(values):6.3f}-{max(values):<7.3f} "
              f"{render:9.3f} {ratio:>10}")


if __name__ == "__main__":
    main()
