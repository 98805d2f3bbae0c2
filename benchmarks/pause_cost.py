"""How long the stack sampler holds a running thread still for each read.

The sampler stops a thread that runs Python (a real-time signal whose handler waits
until the read is done, csrc/thread_pause.c) and reads its frames meanwhile. This
prints, for a thread busy in Python at several stack depths, the mean time it was
held per read (`meta["pause_held_seconds"] / meta["paused_samples"]`), the time it
spent in the pause handler per read and as a share of the run
(`meta["pause_handler_seconds"]`: the program's own cost), how many older data-stack
chunks each read copied, and the busy loop's slowdown against an unprofiled run and
the same sampler with pausing off (`DPROF_STACKS_PAUSE=0`), alternating the three,
medians over rounds.

    python benchmarks/pause_cost.py [--hz 1000] [--seconds 2] [--rounds 5]
"""
import argparse
import os
import statistics
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import json, os, sys, time
    from dprof.stacks import StackSampler
    depth, seconds, hz = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])

    def spin(n, until):
        if n > 1:
            return spin(n - 1, until)
        loops = 0
        while time.perf_counter() < until:
            for i in range(1000):
                loops += i & 1
        return loops

    if hz == 0:
        loops = spin(depth, time.perf_counter() + seconds)
        print(json.dumps({"loops_per_s": loops / seconds}))
        sys.exit(0)
    with StackSampler(hz=hz, overhead_budget=0) as s:
        loops = spin(depth, time.perf_counter() + seconds)
    m = s.profile.meta
    print(json.dumps({"loops_per_s": loops / seconds, "paused": m["paused_samples"],
                      "held_s": m["pause_held_seconds"],
                      "handler_s": m["pause_handler_seconds"], "seconds": m["duration_seconds"], "missed": m["pause_missed"],
                      "overran": m["pause_overran"], "pause": m["pause"],
                      "older_chunk_reads": m["older_chunk_reads"]}))
""")


def run(depth, seconds, hz, pause):
    env = dict(os.environ, DPROF_STACKS_PAUSE="1" if pause else "0")
    if pause is None:
        hz = 0          # no sampler at all
    out = subprocess.run([sys.executable, "-c", CHILD, str(depth), str(seconds), str(hz)],
                         env=env, check=True, capture_output=True, text=True).stdout
    import json
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=int, default=1000)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--depths", default="5,50,200,900")
    args = ap.parse_args()
    print(f"{args.hz} Hz, {args.seconds:g} s per run, {args.rounds} rounds, "
          f"Python {sys.version.split()[0]}")
    print("held: from the thread's answer to its release (the read); handler: the whole")
    print("stop as the thread sees it, signal handler entry to return; share: handler time")
    print("over the run's time. slowdown: the loop's rate bare over its rate sampled, held")
    print("and read running (DPROF_STACKS_PAUSE=0): whole-process, and on a shared VM noisy")
    print(f"{'depth':>6} {'held us':>8} {'handler us':>11} {'(min-max)':>13} {'share':>7} "
          f"{'chunks/read':>12} {'slowdown held':>14} {'running':>8}")
    for depth in (int(d) for d in args.depths.split(",")):
        held_us, handler_us, share, chunks, slow_held, slow_free = [], [], [], [], [], []
        for _ in range(args.rounds):
            bare = run(depth, args.seconds, args.hz, None)
            held = run(depth, args.seconds, args.hz, True)
            free = run(depth, args.seconds, args.hz, False)
            if not held["paused"]:
                sys.exit(f"no held reads at depth {depth}: {held['pause']}")
            held_us.append(held["held_s"] / held["paused"] * 1e6)
            handler_us.append(held["handler_s"] / held["paused"] * 1e6)
            share.append(held["handler_s"] / held["seconds"])
            chunks.append(held["older_chunk_reads"] / held["paused"])
            slow_held.append(bare["loops_per_s"] / held["loops_per_s"] - 1)
            slow_free.append(bare["loops_per_s"] / free["loops_per_s"] - 1)
        med = statistics.median
        print(f"{depth:>6} {med(held_us):>8.1f} {med(handler_us):>11.1f} "
              f"{min(handler_us):>6.1f}-{max(handler_us):<6.1f} {med(share) * 100:>6.2f}% "
              f"{med(chunks):>12.2f} {med(slow_held) * 100:>+13.1f}% {med(slow_free) * 100:>+7.1f}%")

if __name__ == "__main__":
    main()
