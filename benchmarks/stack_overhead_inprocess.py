"""What `dprof run` and each of its always-on parts cost, paired chunk by chunk in one process.

stack_overhead.py runs every configuration as a fresh process, which is what a user
sees, but on a shared VM its unprofiled A/A control has moved by 10 to 20 points
between rounds: neighbours come and go over seconds, and a process-level ratio cannot
resolve the 1-2 % the targets of issue 16 are about. This script trades start-up cost
(not measured here; stack_overhead.py's process table has it) for resolution.

For each program of stack_overhead.py, in this process:

- one *chunk* is the program's module code executed enough times to take about
  --chunk seconds (compiled once; each execution gets fresh globals);
- a *round* times one chunk per configuration, in an order shuffled afresh each round
  (seeded): unprofiled, unprofiled again (the A/A control), ``dprof run`` as its
  defaults are (the ProfileRun that ``dprof run --no-store`` opens: resource sampler
  every 10 ms, allocation and exception counting, stacks at 100 Hz), the same at
  1 kHz, each always-on part alone (the same start and stop statements as
  stack_overhead.py's part rows), and py-spy at 100 Hz attached to this process
  with ``--pid`` (when it is on PATH; it needs ptrace permission);
- each configuration is started before its chunk's clock starts and stopped after it
  stops, so only the steady state is timed; ``gc.collect()`` runs before every chunk;
- a cell is the median over the rounds of (that round's chunk time / that round's
  unprofiled chunk time), with the quartiles of those ratios beside it.

Neighbours that change over seconds hit every configuration of a round alike, since
a round lasts a few seconds. The first --warmup rounds are run and dropped (code
objects interned, caches filled).

    python benchmarks/stack_overhead_inprocess.py [--rounds 21] [--chunk 0.3]
        [--programs nbody,fannkuch] [--only "dprof run 100 Hz,part: stack sampler 100 Hz"]
"""
from __future__ import annotations

import argparse
import gc
import math
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)
from stack_overhead import PARTS, PROGRAMS  # noqa: E402  (the same workloads and parts)


class Part:
    """One of stack_overhead.py's part rows: start and stop statements, run here."""

    def __init__(self, start: str, stop: str):
        self._start = compile(start, "<part start>", "exec")
        self._stop = compile(stop, "<part stop>", "exec")
        self._ns: dict = {}

    def start(self) -> None:
        self._ns = {"sys": sys}
        exec(self._start, self._ns)

    def stop(self) -> None:
        exec(self._stop, self._ns)


class DprofRun:
    """The ProfileRun `dprof run --no-store --stack-hz HZ` opens, with the CLI's defaults."""

    def __init__(self, hz: float):
        self.hz = hz
        self._run = None

    def start(self) -> None:
        from dprof.session import ProfileRun
        self._run = ProfileRun("bench", store=False, interval=0.01, stacks=True,
                               stack_hz=self.hz)
        self._run.__enter__()

    def stop(self) -> None:
        self._run.__exit__(None, None, None)


class PySpy:
    """py-spy attached to this process (``py-spy record --pid``) at hz, its defaults
    otherwise (it stops the process for each read), as stack_overhead.py runs it."""

    def __init__(self, exe: str, hz: int):
        self.exe, self.hz = exe, hz
        self._proc = None
        self._log = None

    def start(self) -> None:
        self._log = tempfile.NamedTemporaryFile("w+", prefix="dprof-pyspy-", suffix=".log")
        self._proc = subprocess.Popen(
            [self.exe, "record", "--pid", str(os.getpid()), "-r", str(self.hz),
             "-o", os.devnull, "-f", "raw"],
            stdout=self._log, stderr=subprocess.STDOUT)     # it reports on stdout
        deadline = time.monotonic() + 20
        while "Sampling process" not in self._said():
            if self._proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"py-spy did not attach: {self._said()!r}")
            time.sleep(0.01)
        time.sleep(0.05)    # the line comes once it has found the interpreter; let it settle

    def _said(self) -> str:
        self._log.seek(0)
        return self._log.read()

    def stop(self) -> None:
        self._proc.send_signal(signal.SIGINT)
        self._proc.wait(timeout=30)
        self._log.close()


class Nothing:
    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def configurations() -> dict:
    out = {"unprofiled": Nothing(), "unprofiled again": Nothing(),
           "dprof run 100 Hz": DprofRun(100), "dprof run 1000 Hz": DprofRun(1000)}
    for name, (start, stop) in PARTS.items():
        if name != "wrapper only":      # the exec() wrapper is what every chunk is here
            out[name] = Part(start, stop)
    from dprof.task import exceptions
    if exceptions.acquire():
        exceptions.release()
    else:       # reported once, as missing, not timed as a part that costs nothing
        print(f"# part: exception counting is not measured: {exceptions.reason()}")
        del out["part: exception counting"]
    pyspy = shutil.which("py-spy")
    if pyspy:
        out["py-spy 100 Hz"] = PySpy(pyspy, 100)
    else:
        print("# py-spy is not on PATH: not measured")
    out["part: stack sampler 1000 Hz"] = Part(
        "from dprof.stacks import StackSampler; _s = StackSampler(hz=1000).start()",
        "_s.stop()")
    return out


def chunk_runner(source: str, chunk_s: float):
    """A callable that executes the program's code enough times for about chunk_s."""
    code = compile(textwrap.dedent(source), "<bench>", "exec")
    t = time.perf_counter()
    exec(code, {"__name__": "__main__"})
    once = time.perf_counter() - t
    times = max(1, math.ceil(chunk_s / max(once, 1e-6)))

    def chunk():
        for _ in range(times):
            exec(code, {"__name__": "__main__"})
    return chunk, times


def timed(cfg, chunk) -> float:
    gc.collect()
    cfg.start()
    try:
        t = time.perf_counter()
        chunk()
        return time.perf_counter() - t
    finally:
        cfg.stop()


def quartiles(values):
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--chunk", type=float, default=0.3, help="seconds per chunk (about)")
    ap.add_argument("--programs", default=",".join(PROGRAMS))
    ap.add_argument("--only", help="comma-separated configurations (the unprofiled pair "
                                   "always runs)")
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    if args.rounds < 3:
        ap.error("--rounds must be at least 3 (quartiles of the per-round ratios)")
    names = [p for p in args.programs.split(",") if p]
    unknown = [p for p in names if p not in PROGRAMS]
    if unknown:
        ap.error(f"unknown program(s) {unknown}; known: {sorted(PROGRAMS)}")
    cfgs = configurations()
    if args.only:
        keep = set(args.only.split(",")) | {"unprofiled", "unprofiled again"}
        missing = keep - set(cfgs)
        if missing:
            ap.error(f"unknown configuration(s) {sorted(missing)}; known: {sorted(cfgs)}")
        cfgs = {k: v for k, v in cfgs.items() if k in keep}
    rng = random.Random(args.seed)
    cols = [c for c in cfgs if c != "unprofiled"]
    ratios = {}         # (program, config) -> per-round ratios
    chunk_info = {}
    for prog in names:
        chunk, times = chunk_runner(PROGRAMS[prog], args.chunk)
        base_times = []
        for r in range(args.warmup + args.rounds):
            order = list(cfgs)
            rng.shuffle(order)
            took = {c: timed(cfgs[c], chunk) for c in order}
            if r < args.warmup:
                continue
            base_times.append(took["unprofiled"])
            for c in cols:
                ratios.setdefault((prog, c), []).append(took[c] / took["unprofiled"])
        chunk_info[prog] = (times, statistics.median(base_times))
        print(f"done {prog}", file=sys.stderr, flush=True)

    print(f"Slowdown per chunk, in-process and paired: median over {args.rounds} rounds of "
          f"(chunk time / that round's unprofiled chunk time) [quartiles], Python "
          f"{sys.version.split()[0]}, {os.cpu_count()} CPUs, seed {args.seed}\n")
    print("| program | chunk (runs × s) | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 2) + "|")
    for prog in names:
        times, base = chunk_info[prog]
        cells = []
        for c in cols:
            v = ratios[(prog, c)]
            lo, hi = quartiles(v)
            cells.append(f"{statistics.median(v):.3f} [{lo:.3f}-{hi:.3f}]")
        print(f"| {prog} | {times} × {base / times:.3f} | " + " | ".join(cells) + " |")
    meds = [statistics.median(statistics.median(ratios[(p, c)]) for p in names) for c in cols]
    worst = [max(statistics.median(ratios[(p, c)]) for p in names) for c in cols]
    print("| **median of programs** | | " + " | ".join(f"**{m:.3f}**" for m in meds) + " |")
    print("| **worst program** | | " + " | ".join(f"{w:.3f}" for w in worst) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
