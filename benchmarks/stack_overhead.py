"""Slowdown of small pyperformance-style programs under stack profilers.

Each measurement is a fresh subprocess; configurations are interleaved round by round,
in an order shuffled afresh each round (seeded: --seed), so machine load drifts and
whatever favours the first or last run of a round hit all of them alike. Every program
times its own workload (the same code runs under every tool and reports perf_counter
around itself), so the first table compares what the profilers cost the work itself;
the second compares whole process wall times, which add each tool's start-up
(importing it, attaching).

A ratio is paired: each round's time of a configuration over that round's unprofiled
time, and the cell is the median of those ratios over the rounds. The unprofiled
program runs twice each round, and its second run is a column of its own
("unprofiled again", an A/A control): its distance from 1.000, and the spread that
--spread prints (the quartiles of the per-round ratios), say how large a slowdown
this run can resolve. A table whose control is off by more than a target is not
evidence for or against it.

    python benchmarks/stack_overhead.py [--rounds 5] [--programs nbody,fannkuch]
        [--only "dprof run 100 Hz,part: stack sampler 100 Hz,py-spy 100 Hz"]
        [--compare-root /path/to/other/dprof] [--seed 1] [--spread]

Besides the stack sampler alone, `dprof run` as a whole (defaults, and --stack-hz 1000)
and each of its always-on parts alone (allocation counting, exception counting, the
resource sampler, the stack sampler) get their own columns.

pyinstrument, py-spy and Scalene are measured when importable / on PATH (install them
in a venv, e.g. python3 -m venv --system-site-packages /tmp/bench-venv).
"""
import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import textwrap
import time

PROGRAMS = {
    "fannkuch": """
        def fannkuch(n):
            count = list(range(1, n + 1)); perm1 = list(range(n)); max_flips = 0; r = n
            while True:
                while r != 1:
                    count[r - 1] = r; r -= 1
                perm = perm1[:]; flips = 0
                k = perm[0]
                while k:
                    perm[:k + 1] = perm[k::-1]; flips += 1; k = perm[0]
                max_flips = max(max_flips, flips)
                while r != n:
                    perm1.insert(r, perm1.pop(0)); count[r] -= 1
                    if count[r] > 0: break
                    r += 1
                else:
                    return max_flips
        fannkuch(9)
    """,
    "nbody": """
        import math
        def run(n):
            b = [[0.0,0.0,0.0,0.0,0.0,0.0,39.47], [4.84,-1.16,-0.10,0.60,2.81,-0.02,0.037],
                 [8.34,4.12,-0.40,-1.01,1.82,0.008,0.011], [12.89,-15.11,-0.22,1.08,0.86,-0.01,0.0017],
                 [15.37,-25.9,0.17,0.97,0.59,-0.03,0.002]]
            pairs = [(b[i], b[j]) for i in range(5) for j in range(i + 1, 5)]
            for _ in range(n):
                for (p1, p2) in pairs:
                    dx = p1[0]-p2[0]; dy = p1[1]-p2[1]; dz = p1[2]-p2[2]
                    mag = 0.01 * (dx*dx + dy*dy + dz*dz) ** -1.5
                    m1 = p1[6]*mag; m2 = p2[6]*mag
                    p1[3] -= dx*m2; p1[4] -= dy*m2; p1[5] -= dz*m2
                    p2[3] += dx*m1; p2[4] += dy*m1; p2[5] += dz*m1
                for p in b:
                    p[0] += 0.01*p[3]; p[1] += 0.01*p[4]; p[2] += 0.01*p[5]
        run(100000)
    """,
    "raytrace": """
        import math
        class V:
            __slots__ = ("x", "y", "z")
            def __init__(s, x, y, z): s.x, s.y, s.z = x, y, z
            def dot(s, o): return s.x*o.x + s.y*o.y + s.z*o.z
            def sub(s, o): return V(s.x-o.x, s.y-o.y, s.z-o.z)
            def scale(s, k): return V(s.x*k, s.y*k, s.z*k)
            def norm(s): return s.scale(1.0 / math.sqrt(s.dot(s)))
        def hit(orig, d, c, r):
            oc = orig.sub(c); b = oc.dot(d); disc = b*b - oc.dot(oc) + r*r
            return disc > 0
        spheres = [(V(i, 0, 5 + i), 1.0) for i in range(-3, 4)]
        n = 0
        for y in range(90):
            for x in range(90):
                d = V(x / 45 - 1, y / 45 - 1, 1).norm()
                n += any(hit(V(0, 0, 0), d, c, r) for c, r in spheres)
    """,
    "richards": """
        class Task:
            def __init__(self, nxt, prio): self.nxt, self.prio, self.count = nxt, prio, 0
            def run(self, depth):
                self.count += 1
                if depth and self.nxt is not None:
                    return self.nxt.run(depth - 1) + self.step()
                return self.step()
            def step(self): return self.prio & 3
        t = None
        for i in range(12): t = Task(t, i)
        s = 0
        for _ in range(60000): s += t.run(10)
    """,
    # Four threads trading the GIL, then hashing without it. Ten times the work it once
    # had: at 0.07 s, its unprofiled run moved 10 points from round to round.
    "threads": """
        import threading, hashlib
        def worker(k):
            s = 0
            for i in range(3_000_000): s += i % k
            hashlib.sha256(b"x" * 50_000_000).digest()
        ts = [threading.Thread(target=worker, args=(k + 2,)) for k in range(4)]
        for t in ts: t.start()
        for t in ts: t.join()
    """,
    "async_tree": """
        import asyncio
        async def leaf(i):
            await asyncio.sleep(0)
            return sum(range(i % 50))
        async def tree(depth):
            if depth == 0:
                return await leaf(depth)
            return sum(await asyncio.gather(*(tree(depth - 1) for _ in range(4))))
        asyncio.run(tree(6))
    """,
}
try:
    import docutils  # noqa: F401
    PROGRAMS["docutils"] = """
        from docutils.core import publish_string
        text = "\\n\\n".join("Title %d\\n=========\\n\\nSome *text* with ``code`` and a list:\\n\\n- a\\n- b\\n" % i for i in range(150))
        publish_string(text, writer_name="html")
    """
except ImportError:
    pass
PROGRAMS["pprint"] = """
    import pprint
    data = [{"k%d" % i: list(range(i % 20)), "s": "x" * (i % 30)} for i in range(4000)]
    for _ in range(3): pprint.pformat(data)
"""

DPROF_WRAP = """
import sys
sys.path.insert(0, {root!r})
from dprof.stacks import StackSampler
_s = StackSampler(hz={hz}, overhead_budget={budget}).start()
try:
    exec(compile({code!r}, "<bench>", "exec"), {{"__name__": "__main__"}})
finally:
    _p = _s.stop()
    sys.stderr.write("DPROF effective_hz=%.0f overhead=%.4f\\n" % (_p.effective_hz, _p.meta["overhead_fraction"]))
"""


# `dprof run` as a user types it, without storing (the store is not part of the
# program's run time).
RUN_WRAP = """
import sys
sys.path.insert(0, {root!r})
from dprof.cli import main
sys.exit(main(["run", "--no-store", "-q", "--stack-hz", "{hz}", {path!r}]))
"""


# One always-on part of `dprof run` alone around the program (issue 16: each part gets
# its own row). `start`/`stop` are statements run before and after it.
PART_WRAP = """
import sys
sys.path.insert(0, {root!r})
{start}
try:
    exec(compile({code!r}, "<bench>", "exec"), {{"__name__": "__main__"}})
finally:
    {stop}
"""

PARTS = {
    # The same exec() wrapper with nothing started: the fair baseline for every
    # configuration run through `python -c` (the module-level code of the program
    # runs from exec() there, not from a file, which alone moves timings a few %).
    "wrapper only": ("pass", "pass"),
    "part: allocation counting": (
        "from dprof import _native; _native.alloc_counter_acquire()",
        "_native.alloc_counter_release()"),
    "part: exception counting": (
        "from dprof.task import exceptions as _e\n"
        "if not _e.acquire(): sys.stderr.write('PART unavailable: %s\\n' % _e.reason())",
        "_e.release()"),
    "part: resource sampler": (
        "from dprof.task import monitor as _m; _h = _m.acquire(0.01)",
        "_m.release(_h, 0.0, 0.0)"),
    "part: stack sampler 100 Hz": (
        "from dprof.stacks import StackSampler; _s = StackSampler(hz=100).start()",
        "_s.stop()"),
}


# Wraps every program so that it reports its own workload time on stderr.
TIMED = """import sys as _bench_sys, time as _bench_time
_bench_t0 = _bench_time.perf_counter()
{code}
_bench_sys.stderr.write("WORKLOAD %.6f\\n" % (_bench_time.perf_counter() - _bench_t0))
"""


def workload_seconds(stderr: str):
    lines = [x for x in stderr.splitlines() if x.startswith("WORKLOAD ")]
    return float(lines[-1].split()[1]) if lines else None


def configs(root, code, tmp, compare_root=None):
    path = os.path.join(tmp, "prog.py")
    with open(path, "w") as f:
        f.write(code)
    out = {"baseline": [sys.executable, path],
           # the A/A control: the same unprofiled run, a second time each round
           "unprofiled again": [sys.executable, path]}
    for hz in (100, 1000):
        out[f"dprof {hz} Hz"] = [sys.executable, "-c",
                                 DPROF_WRAP.format(root=root, hz=hz, budget=0.01, code=code)]
        if compare_root:
            # the same configuration from another dprof tree (built in place)
            out[f"other: dprof {hz} Hz"] = [
                sys.executable, "-c",
                DPROF_WRAP.format(root=compare_root, hz=hz, budget=0.01, code=code)]
    out["dprof 1000 Hz, no budget"] = [sys.executable, "-c",
                                       DPROF_WRAP.format(root=root, hz=1000, budget=0,
                                                         code=code)]
    # The whole of `dprof run` with its defaults (stacks at 100 Hz), and at 1 kHz.
    for hz in (100, 1000):
        out[f"dprof run {hz} Hz"] = [sys.executable, "-c",
                                     RUN_WRAP.format(root=root, hz=hz, path=path)]
    for name, (start, stop) in PARTS.items():
        out[name] = [sys.executable, "-c",
                     PART_WRAP.format(root=root, start=start, stop=stop, code=code)]
    try:
        import pyinstrument  # noqa: F401
        out["pyinstrument"] = [sys.executable, "-m", "pyinstrument", "-o", os.devnull, path]
    except ImportError:
        pass
    pyspy = shutil.which("py-spy")
    if pyspy:
        out["py-spy 100 Hz"] = [pyspy, "record", "-r", "100", "-o", os.devnull, "-f", "raw",
                                "--", sys.executable, path]
    try:
        import scalene  # noqa: F401
        out["scalene"] = [sys.executable, "-m", "scalene", "run", "--cli", "--cpu-only",
                          "--outfile", os.devnull, path]
    except ImportError:
        pass
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--only", help="comma-separated configurations to run (and baseline)")
    ap.add_argument("--compare-root", metavar="PATH",
                    help="also run the dprof N Hz configurations from the dprof tree at PATH "
                         "(built in place), as 'other: dprof N Hz', in the same rounds")
    ap.add_argument("--seed", type=int, default=1, help="seed of the per-round order")
    ap.add_argument("--spread", action="store_true",
                    help="also print the quartiles of each cell's per-round ratios")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    import tempfile
    tmp = tempfile.mkdtemp(prefix="dprof-bench-")
    results = {}
    notes = []
    names = [p for p in args.programs.split(",") if p]
    for prog in names:
        code = TIMED.format(code=textwrap.dedent(PROGRAMS[prog]))
        cfg = configs(root, code, tmp, args.compare_root)
        if args.only:
            keep = set(args.only.split(",")) | {"baseline", "unprofiled again"}
            keep |= {"other: " + c for c in keep}      # --compare-root's twins
            cfg = {c: v for c, v in cfg.items() if c in keep}
        # per round: {config: seconds}; ratios are taken within a round (paired)
        times = []
        work = []
        for _ in range(args.rounds):
            order = list(cfg)
            rng.shuffle(order)
            round_times, round_work = {}, {}
            for c in order:
                cmd = cfg[c]
                t = time.perf_counter()
                r = subprocess.run(cmd, capture_output=True, text=True)
                took = time.perf_counter() - t
                if r.returncode != 0:
                    notes.append(f"{prog} / {c}: exit {r.returncode}: {r.stderr.strip()[-200:]}")
                    continue
                round_times[c] = took
                w = workload_seconds(r.stderr)
                if w is None:
                    notes.append(f"{prog} / {c}: no WORKLOAD line on stderr")
                else:
                    round_work[c] = w
                if "DPROF" in r.stderr and c.startswith(("dprof", "other: dprof")):
                    line = [x for x in r.stderr.splitlines() if x.startswith("DPROF")][-1]
                    fields = dict(kv.split("=") for kv in line[6:].split())
                    results.setdefault((prog, c + " info"), []).append(
                        (float(fields["effective_hz"]), float(fields["overhead"])))
            times.append(round_times)
            work.append(round_work)
        base = statistics.median(t["baseline"] for t in times if "baseline" in t)
        base_work = statistics.median(w["baseline"] for w in work if "baseline" in w)
        for kind, rounds in (("process", times), ("workload", work)):
            for c in cfg:
                ratios = [r[c] / r["baseline"] for r in rounds if c in r and "baseline" in r]
                if ratios:
                    results[(prog, c, kind)] = statistics.median(ratios)
                    results[(prog, c, kind, "all")] = ratios
        results[(prog, "baseline s")] = base
        results[(prog, "baseline workload s")] = base_work
        print(f"done {prog} (baseline {base:.2f} s)", file=sys.stderr, flush=True)
    cols = [c for c in cfg if c != "baseline"]
    for kind, title, base_key in (
            ("workload", "Slowdown of the workload itself (its own perf_counter)",
             "baseline workload s"),
            ("process", "Slowdown of the whole process (wall time, start-up included)",
             "baseline s")):
        print(f"{title}: median over {args.rounds} rounds of each round's time / that "
              f"round's unprofiled time, Python {sys.version.split()[0]}, "
              f"{os.cpu_count()} CPUs\n")
        print("| program | baseline (s) | " + " | ".join(cols) + " |")
        print("|---" * (len(cols) + 2) + "|")
        for prog in names:
            cells = [f"{results.get((prog, c, kind), float('nan')):.3f}" for c in cols]
            print(f"| {prog} | {results[(prog, base_key)]:.2f} | " + " | ".join(cells) + " |")
        meds = []
        for c in cols:
            vals = [results[(p, c, kind)] for p in names if (p, c, kind) in results]
            meds.append(statistics.median(vals) if vals else float("nan"))
        print("| **median** | | " + " | ".join(f"**{m:.3f}**" for m in meds) + " |\n")
        if args.spread:
            print(f"quartiles of the per-round ratios ({kind}):\n")
            print("| program | " + " | ".join(cols) + " |")
            print("|---" * (len(cols) + 1) + "|")
            for prog in names:
                cells = []
                for c in cols:
                    v = results.get((prog, c, kind, "all"))
                    if v and len(v) >= 2:
                        q = statistics.quantiles(v, n=4, method="inclusive")
                        cells.append(f"{q[0]:.3f}-{q[2]:.3f}")
                    else:
                        cells.append("n/a")
                print(f"| {prog} | " + " | ".join(cells) + " |")
            print()
    print("\ndprof's own report (median over the rounds, [min, max]): ")
    for key, v in results.items():
        if len(key) == 2 and key[1].endswith(" info"):
            hz = [h for h, _ in v]
            cost = [o * 100 for _, o in v]
            print(f"- {key[0]} / {key[1][:-5]}: effective {statistics.median(hz):.0f} Hz "
                  f"[{min(hz):.0f}, {max(hz):.0f}], own cost {statistics.median(cost):.2f} % "
                  f"[{min(cost):.2f}, {max(cost):.2f}] of a core")
    for n in notes:
        print("note:", n)


if __name__ == "__main__":
    main()
