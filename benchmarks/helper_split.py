"""Split between a loop that calls a helper and the same loop inlined, against timers.

The stack sampler's share of time in ``with_helper`` (tests/stacks/stack_workloads.py)
is compared with perf_counter's, in repeated runs, with the GIL-free reader and with
the GIL-holding walk (DPROF_STACKS_GIL_WALK=1), alternating. Prints each run's error
in points and the worst per mode. Issue 16's target: within 2 points in every run.

    python benchmarks/helper_split.py [--runs 6] [--hz 1000] [--seconds 4]
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

CHILD = """
import json, sys, time
sys.path[:0] = [{stacks!r}, {root!r}]
from dprof.stacks import StackSampler
import stack_workloads as w
from test_stack_sampler_accuracy import calibrate, seconds_in
share, total, hz = {share}, {seconds}, {hz}
nh = calibrate(w.with_helper, total * share)
ni = calibrate(w.inlined, total * (1 - share))
truth = {{}}
with StackSampler(hz=hz, overhead_budget=0) as s:
    for name, fn, n in (("with_helper", w.with_helper, nh), ("inlined", w.inlined, ni)):
        t = time.perf_counter(); fn(n); truth[name] = time.perf_counter() - t
p = s.profile
got = {{k: seconds_in(p, k) for k in truth}}
print(json.dumps({{"truth": truth["with_helper"] / sum(truth.values()),
                  "got": got["with_helper"] / sum(got.values()),
                  "reader": p.meta["reader"]}}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6)
    ap.add_argument("--hz", type=float, default=1000)
    ap.add_argument("--seconds", type=float, default=4.0)
    args = ap.parse_args()
    worst = {}
    for i in range(args.runs):
        share = (0.3, 0.5, 0.7)[i % 3]
        for mode in ("gil-free", "gil-walk"):
            env = dict(os.environ)
            env.pop("DPROF_STACKS_GIL_WALK", None)
            if mode == "gil-walk":
                env["DPROF_STACKS_GIL_WALK"] = "1"
            code = CHILD.format(stacks=os.path.join(ROOT, "tests", "stacks"), root=ROOT,
                                share=share, seconds=args.seconds, hz=args.hz)
            out = subprocess.run([sys.executable, "-c", code], env=env, check=True,
                                 capture_output=True, text=True).stdout
            r = json.loads(out.strip().splitlines()[-1])
            err = 100 * (r["got"] - r["truth"])
            worst[mode] = max(worst.get(mode, 0.0), abs(err))
            print(f"run {i + 1} share {share:.1f} {mode:8s} truth {r['truth']:.3f} "
                  f"got {r['got']:.3f} error {err:+.2f} points  ({r['reader']})", flush=True)
    for mode, w in worst.items():
        print(f"worst |error| {mode}: {w:.2f} points over {args.runs} runs")


if __name__ == "__main__":
    main()
