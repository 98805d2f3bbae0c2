"""Accuracy and cost of the Python stack sampler (the fallback without the C extension),
measured against the native sampler in the same run.

Accuracy: a workload whose answer is timed (``with_helper`` and ``inlined`` from
tests/stacks/stack_workloads.py, run for known shares of 1.2 s); the error is the
measured share of ``with_helper`` minus its timed share, in percentage points. A
second workload (0.4 s of CPU-bound Python, then 0.4 s of sleep) checks that CPU and
waiting are told apart: the error is the CPU share measured minus 50 %.

Cost: the same CPU-bound loop timed unprofiled, under the native sampler and under
the Python sampler, both at 100 Hz with no overhead budget (so neither lowers its
rate); configurations alternate within each round so that load drifts hit all alike.
Ratios are medians over rounds divided by the unprofiled median.

    PYTHONPATH=. python benchmarks/python_stack_sampler.py [--rounds 5]

(from the repository root, so that this tree's dprof is the one imported).
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "stacks"))
import stack_workloads as w  # noqa: E402

from dprof._native_loader import native  # noqa: E402
from dprof.stacks import CPU_CATEGORIES  # noqa: E402
from dprof.stacks.pysampler import PythonStackSampler  # noqa: E402
from dprof.stacks.sampler import call_opcode_flags  # noqa: E402


def engines():
    out = {"python": lambda hz: PythonStackSampler(hz, 0.5, 0.0, call_opcode_flags())}
    ext = native()
    if ext is not None:
        out["native"] = lambda hz: ext.StackSampler(hz, 0.5, 0.0, call_opcode_flags())
    return out


def profile_of(engine, run):
    from dprof.stacks.native import from_table
    from dprof.stacks.model import StackProfile
    sampler = engine
    sampler.start()
    truth = run()
    table, _ = sampler.stop()
    profile = table if isinstance(table, StackProfile) else from_table(table, StackProfile())
    return profile, truth


def seconds_in(profile, name, categories=None):
    return sum(r.seconds for r in profile.rows
               if (categories is None or r.category in categories)
               and any(f.function.split(".")[-1] == name for f in profile.stack_frames(r.stack_id)))


def calibrate(fn, seconds):
    n = 20000
    while True:
        t = time.perf_counter()
        fn(n)
        took = time.perf_counter() - t
        if took > 0.05:
            return max(1, int(n * seconds / took))
        n *= 4


def share_error(make, share):
    n_helper = calibrate(w.with_helper, 1.2 * share)
    n_inline = calibrate(w.inlined, 1.2 * (1 - share))

    def run():
        truth = {}
        for name, fn, n in (("with_helper", w.with_helper, n_helper),
                            ("inlined", w.inlined, n_inline)):
            t = time.perf_counter()
            fn(n)
            truth[name] = time.perf_counter() - t
        return truth
    profile, truth = profile_of(make(500), run)
    measured = {k: seconds_in(profile, k) for k in truth}
    return 100 * (measured["with_helper"] / sum(measured.values())
                  - truth["with_helper"] / sum(truth.values()))


def cpu_wait_error(make):
    n = calibrate(w.pure_python, 0.4)

    def run():
        w.pure_python(n)
        w.sleeping(0.4)
    profile, _ = profile_of(make(300), run)
    total = seconds_in(profile, "pure_python") + seconds_in(profile, "sleeping")
    cpu = seconds_in(profile, "pure_python", CPU_CATEGORIES) + \
        seconds_in(profile, "sleeping", CPU_CATEGORIES)
    return 100 * (cpu / total - 0.5)


def timed_loop(n):
    t = time.perf_counter()
    w.pure_python(n)
    return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args()
    makers = engines()
    errors = {name: {"helper 30%": [], "helper 50%": [], "helper 70%": [], "cpu/sleep": []}
              for name in makers}
    n_loop = calibrate(w.pure_python, 0.5)
    times = {"unprofiled": []}
    times.update({f"{name} 100 Hz": [] for name in makers})
    own = {name: [] for name in makers}      # the sampler's own time / wall time
    for _ in range(args.rounds):
        for name, make in makers.items():
            for share in (0.3, 0.5, 0.7):
                errors[name][f"helper {int(share * 100)}%"].append(share_error(make, share))
            errors[name]["cpu/sleep"].append(cpu_wait_error(make))
        for config in times:
            if config == "unprofiled":
                times[config].append(timed_loop(n_loop))
                continue
            sampler = makers[config.split()[0]](100)
            sampler.start()
            times[config].append(timed_loop(n_loop))
            _, stats = sampler.stop()
            own[config.split()[0]].append(stats["overhead_seconds"] / stats["duration_seconds"])
    print(f"accuracy: measured share minus true share, percentage points "
          f"(median [min, max] over {args.rounds} rounds)")
    print(f"{'engine':8} " + " ".join(f"{k:>22}" for k in next(iter(errors.values()))))
    for name, cols in errors.items():
        cells = [f"{statistics.median(v):+6.1f} [{min(v):+5.1f},{max(v):+5.1f}]" for v in cols.values()]
        print(f"{name:8} " + " ".join(f"{c:>22}" for c in cells))
    base = statistics.median(times["unprofiled"])
    print(f"\ncost: CPU-bound loop of {base:.3f} s, median time / unprofiled median "
          f"[min, max of the rounds / unprofiled median]")
    for config, values in times.items():
        print(f"{config:18} {statistics.median(values) / base:.3f} "
              f"[{min(values) / base:.3f}, {max(values) / base:.3f}]")
    print("\nthe sampler's own measured time (overhead_seconds: its CPU, and for the native "
          "one its GIL hold) / wall time, median [min, max]")
    for name, values in own.items():
        print(f"{name + ' 100 Hz':18} {100 * statistics.median(values):.2f} % "
              f"[{100 * min(values):.2f}, {100 * max(values):.2f}]")


if __name__ == "__main__":
    main()
