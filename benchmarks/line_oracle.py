"""dprof's lines against an outside oracle: py-spy, at the same rate, per running line.

Each program runs twice (or three times): under `py-spy record --format raw` and
under dprof's StackSampler (GIL-free reader; optionally also the GIL-holding walk,
DPROF_STACKS_GIL_WALK=1), both at --hz. For each run the share of CPU time per
innermost frame's (file, line) is computed (py-spy: its non-idle samples; dprof:
its cpu_python + cpu_native seconds), and the total variation distance (half the sum
of absolute differences, in points) between dprof and py-spy is printed (TVD, and
TVD#2 for a second dprof run; TVD(n) counts dprof's samples instead of weighing them
by time). The two dprof runs against each other give the noise floor. Issue 16's target: at most 5
points on at least five pyperformance programs, the helper workload and black
(mypyc-compiled).

    python benchmarks/line_oracle.py [--hz 250] [--seconds 8] [--programs nbody,helper]
        [--gil-walk] [--nonblocking] [--no-pause] [--json out.json]

py-spy pauses the program for each sample (its default), so its samples are snapshots;
dprof holds a running thread still for its read too (csrc/thread_pause.c);
``--no-pause`` adds dprof reading it running (DPROF_STACKS_PAUSE=0): TVDnp.
``--nonblocking`` adds py-spy reading a running thread too (``py-spy record
--nonblocking``): TVDnb is dprof against that, nb-spy that against the pausing
py-spy (what reading without a pause costs an outside reader).

Needs py-spy on PATH with ptrace permitted (as root here); programs whose sources are
missing (pyperformance, black) are reported as skipped with the reason.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def pyperformance_dir():
    try:
        import pyperformance
    except ImportError:
        return None
    d = os.path.join(os.path.dirname(pyperformance.__file__), "data-files", "benchmarks")
    return d if os.path.isdir(d) else None


# name -> (call, needs): `call` runs one unit of work with the benchmark module as m.
PYPERFORMANCE = {
    "nbody": "m.bench_nbody(1, 'sun', 20000)",
    "richards": "m.Richards().run(1)",
    "float": "m.benchmark(m.POINTS)",
    "nqueens": "m.bench_n_queens(8)",
    "fannkuch": "m.fannkuch(9)",
    "spectral_norm": "m.bench_spectral_norm(1)",
    "raytrace": "m.bench_raytrace(1, 100, 100, None)",
    "deltablue": "m.delta_blue(10000)",
    "go": "m.versus_cpu()",
}

HELPER = """
def helper(x):
    return x * x + 1

def loop(n):
    s = 0
    for i in range(n):
        s += helper(i)
    return s
"""


# Generators and generator expressions, as pyperformance's nqueens uses them: on
# 3.11 each resume runs in a nested eval loop whose _PyCFrame lives on the C stack,
# so a reader holding a stale thread state reads frames that have already yielded.
GENERATORS = """
def orderings(items):
    a = list(items)
    c = [0] * len(a)
    yield tuple(x for x in a)
    i = 0
    while i < len(a):
        if c[i] < i:
            j = 0 if i % 2 == 0 else c[i]
            a[j], a[i] = a[i], a[j]
            yield tuple(x for x in a)
            c[i] += 1
            i = 0
        else:
            c[i] = 0
            i += 1

def queens(n):
    found = 0
    for p in orderings(range(n)):
        if n == len(set(p[k] + k for k in range(n))) == len(set(p[k] - k for k in range(n))):
            found += 1
    return found
"""


def driver_source(name, seconds):
    """A script that runs program `name` for about `seconds`, or (None, reason)."""
    head = f"import time\nEND = time.perf_counter() + {seconds}\n"
    if name == "helper":
        return head + HELPER + "while time.perf_counter() < END:\n    loop(100000)\n", None
    if name == "generators":
        return head + GENERATORS + "while time.perf_counter() < END:\n    queens(7)\n", None
    if name == "black":
        try:
            import black
        except ImportError:
            return None, "black is not installed (pip install black)"
        if not black.__file__.endswith(".so"):
            return None, "black is installed but not mypyc-compiled"
        import typing
        return head + textwrap.dedent(f"""
            import black
            src = open({typing.__file__!r}).read()
            while time.perf_counter() < END:
                black.format_str(src, mode=black.Mode())
        """), None
    d = pyperformance_dir()
    if d is None:
        return None, "pyperformance is not installed"
    path = os.path.join(d, f"bm_{name}", "run_benchmark.py")
    if name not in PYPERFORMANCE or not os.path.exists(path):
        return None, f"no pyperformance benchmark {name}"
    return head + textwrap.dedent(f"""
        import importlib.util
        spec = importlib.util.spec_from_file_location("bm_{name}", {path!r})
        m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(m)
        while time.perf_counter() < END:
            {PYPERFORMANCE[name]}
    """), None


DPROF_CHILD = """
import json, os, runpy, sys
sys.path.insert(0, {root!r})
from dprof.stacks import CPU_CATEGORIES, StackSampler
s = StackSampler(hz={hz}, overhead_budget=0).start()
try:
    runpy.run_path({script!r}, run_name="__main__")
finally:
    p = s.stop()
shares, counts = {{}}, {{}}
for r in p.rows:
    frames = p.stack_frames(r.stack_id)
    if frames and r.category in CPU_CATEGORIES:
        key = os.path.basename(frames[-1].filename) + ":" + str(frames[-1].line)
        shares[key] = shares.get(key, 0.0) + r.seconds
        counts[key] = counts.get(key, 0) + r.samples
json.dump({{"shares": shares, "counts": counts, "reader": p.meta["reader"],
           "gil_free": p.meta["gil_free_samples"], "ticks": p.meta["ticks"]}},
          open({out!r}, "w"))
"""


def dprof_root():
    """The directory holding the dprof this process imports (the tree, or an
    installed copy), else the tree this script is in."""
    try:
        import dprof
    except ImportError:
        return ROOT
    return os.path.dirname(os.path.dirname(os.path.abspath(dprof.__file__)))


def run_dprof(script, hz, out, gil_walk=False, pause=True):
    env = dict(os.environ)
    env.pop("DPROF_STACKS_GIL_WALK", None)
    env.pop("DPROF_STACKS_PAUSE", None)
    if gil_walk:
        env["DPROF_STACKS_GIL_WALK"] = "1"
    if not pause:
        env["DPROF_STACKS_PAUSE"] = "0"
    code = DPROF_CHILD.format(root=dprof_root(), hz=hz, script=script, out=out)
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    with open(out) as f:
        return json.load(f)


def line_key(filename, line):
    """'basename:line': py-spy shortens paths (drops the sys.path prefix), dprof
    keeps co_filename whole, so only the base name is compared."""
    return f"{os.path.basename(filename)}:{line}"


def parse_py_spy_raw(path, script):
    """Samples per innermost 'file:line' from py-spy's raw (collapsed) output."""
    counts = {}
    with open(path) as f:
        for line in f:
            stack, _, n = line.rstrip("\n").rpartition(" ")
            if not stack.strip():
                continue
            leaf = stack.split(";")[-1]
            # "function (file:line)"
            loc = leaf[leaf.rfind("(") + 1:-1] if leaf.endswith(")") else leaf
            key = line_key(*loc.rsplit(":", 1)) if ":" in loc else loc
            counts[key] = counts.get(key, 0) + int(n)
    return counts


def run_py_spy(script, hz, out, nonblocking=False):
    """py-spy pauses the program for each sample unless ``nonblocking``: then it reads
    a running thread, as dprof does (its reads can straddle a frame change)."""
    cmd = ["py-spy", "record", "-r", str(int(hz)), "-f", "raw", "-o", out,
           *(["--nonblocking"] if nonblocking else []), "--", sys.executable, script]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"py-spy failed ({proc.returncode}): {proc.stderr[-500:]}")
    return parse_py_spy_raw(out, script)


def normalise(d):
    total = sum(d.values())
    return {k: v / total for k, v in d.items()} if total > 0 else {}


def tvd(p, q):
    """Total variation distance in points (0-100) between two share maps."""
    p, q = normalise(p), normalise(q)
    return 50.0 * sum(abs(p.get(k, 0.0) - q.get(k, 0.0)) for k in set(p) | set(q))


def py_spy_usable():
    """None when `py-spy record` works here, else the reason it does not."""
    if shutil.which("py-spy") is None:
        return "py-spy is not on PATH"
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "probe.py")
        with open(script, "w") as f:
            f.write("import time\nend = time.perf_counter() + 0.3\n"
                    "while time.perf_counter() < end: pass\n")
        try:
            counts = run_py_spy(script, 100, os.path.join(d, "out.txt"))
        except RuntimeError as e:
            return f"py-spy record does not work here: {e}"
        if not counts:
            return "py-spy record took no samples"
    return None


def compare(name, hz, seconds, gil_walk, nonblocking=False, no_pause=False):
    source, reason = driver_source(name, seconds)
    if source is None:
        return {"program": name, "skipped": reason}
    return compare_source(name, source, hz, gil_walk, nonblocking, no_pause)


def compare_source(name, source, hz, gil_walk=False, nonblocking=False, no_pause=False):
    """Runs `source` under py-spy and twice under dprof; the row of TVDs."""
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, f"{name}_driver.py")
        with open(script, "w") as f:
            f.write(source)
        spy = run_py_spy(script, hz, os.path.join(d, "spy.txt"))
        a = run_dprof(script, hz, os.path.join(d, "a.json"))
        b = run_dprof(script, hz, os.path.join(d, "b.json"))
        row = {"program": name, "py_spy_samples": sum(spy.values()),
               "reader": a["reader"], "tvd": tvd(a["shares"], spy),
               "tvd_second_run": tvd(b["shares"], spy),
               "tvd_counts": tvd(a["counts"], spy),
               "noise_floor": tvd(a["shares"], b["shares"]),
               "top_py_spy": sorted(normalise(spy).items(), key=lambda kv: -kv[1])[:3],
               "top_dprof": sorted(normalise(a["shares"]).items(), key=lambda kv: -kv[1])[:3]}
        if gil_walk:
            g = run_dprof(script, hz, os.path.join(d, "g.json"), gil_walk=True)
            row["tvd_gil_walk"] = tvd(g["shares"], spy)
        if no_pause:
            np_ = run_dprof(script, hz, os.path.join(d, "np.json"), pause=False)
            row["tvd_no_pause"] = tvd(np_["shares"], spy)
        if nonblocking:
            nb = run_py_spy(script, hz, os.path.join(d, "spy-nb.txt"), nonblocking=True)
            row["tvd_vs_nonblocking"] = tvd(a["shares"], nb)
            row["nonblocking_vs_blocking"] = tvd(nb, spy)
        return row


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hz", type=float, default=250)
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--programs",
                    default=",".join(list(PYPERFORMANCE) + ["helper", "generators", "black"]))
    ap.add_argument("--gil-walk", action="store_true",
                    help="also measure the GIL-holding walk (the old reader)")
    ap.add_argument("--nonblocking", action="store_true",
                    help="also run py-spy --nonblocking (reads a running thread, as dprof "
                         "does): TVDnb is dprof against it, nb-spy it against py-spy")
    ap.add_argument("--no-pause", action="store_true",
                    help="also measure dprof reading running threads without holding "
                         "them still (DPROF_STACKS_PAUSE=0): TVDnp")
    ap.add_argument("--json", help="write the rows here")
    args = ap.parse_args()
    reason = py_spy_usable()
    if reason:
        print(f"skipped: {reason}")
        return 0
    rows = []
    print(f"{'program':14s} {'TVD':>6s} {'TVD#2':>6s} {'TVD(n)':>6s} {'noise':>6s}"
          + (f" {'GILwalk':>7s}" if args.gil_walk else "")
          + (f" {'TVDnp':>6s}" if args.no_pause else "")
          + (f" {'TVDnb':>6s} {'nb-spy':>6s}" if args.nonblocking else "")
          + "  hottest (py-spy | dprof)")
    for name in args.programs.split(","):
        row = compare(name, args.hz, args.seconds, args.gil_walk, args.nonblocking,
                      args.no_pause)
        rows.append(row)
        if "skipped" in row:
            print(f"{name:14s} skipped: {row['skipped']}")
            continue
        top = lambda t: f"{t[0][0]} {100 * t[0][1]:.0f}%" if t else "-"
        print(f"{name:14s} {row['tvd']:6.1f} {row['tvd_second_run']:6.1f} "
              f"{row['tvd_counts']:6.1f} "
              f"{row['noise_floor']:6.1f}"
              + (f" {row['tvd_gil_walk']:7.1f}" if args.gil_walk else "")
              + (f" {row['tvd_no_pause']:6.1f}" if args.no_pause else "")
              + (f" {row['tvd_vs_nonblocking']:6.1f} {row['nonblocking_vs_blocking']:6.1f}"
                 if args.nonblocking else "")
              + f"  {top(row['top_py_spy'])} | {top(row['top_dprof'])}", flush=True)
    done = [r for r in rows if "tvd" in r]
    if done:
        within = [r["program"] for r in done if r["tvd"] <= 5.0]
        print(f"within 5 points: {len(within)} of {len(done)} ({', '.join(within)})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rows, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
